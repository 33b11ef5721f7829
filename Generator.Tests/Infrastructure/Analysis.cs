using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Backprop.Generator.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace Backprop.Tests.Infrastructure;

/// <summary>Runs the generator, then the analyzers, on an in-memory compilation; collects analyzer exceptions.</summary>
internal static class Analysis
{
    public sealed record Result(ImmutableArray<Diagnostic> Diagnostics, ImmutableArray<SyntaxTree> Generated, Compilation Output, IReadOnlyList<Exception> Exceptions);

    public static Result Run(string source, bool summary = false) => Run([source], summary);

    /// <summary>The same over several files (partial declarations spread over them), with optional additional files.</summary>
    public static Result Run(string[] sources, bool summary = false, ImmutableArray<AdditionalText> additional = default)
    {
        additional = additional.IsDefault ? [] : additional;
        var compilation = Compiler.Compilation(sources);
        if (summary)
        {
            compilation = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(
                compilation.Options.SpecificDiagnosticOptions.SetItem("BPG0100", ReportDiagnostic.Info)));
        }
        var driver = Compiler.Driver().AddAdditionalTexts(additional).RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var exceptions = new List<Exception>();
        if (driver.GetRunResult().Results.Single().Exception is { } generatorException)
        {
            exceptions.Add(generatorException);
        }
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(additional),
            (exception, _, _) => { lock (exceptions) { exceptions.Add(exception); } },
            concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new NetworkAnalyzer(), new CallSiteAnalyzer());
        var diagnostics = output.WithAnalyzers(analyzers, options).GetAllDiagnosticsAsync(CancellationToken.None).GetAwaiter().GetResult();
        return new Result(diagnostics, driver.GetRunResult().GeneratedTrees, output, exceptions);
    }
}

/// <summary>
/// The Roslyn analyzer/code-fix test harness, offline: .NET 10 reference assemblies from
/// Basic.Reference.Assemblies (the mirror lacks the package the Net100 preset downloads) plus the runtime, and the
/// generator running inside, as in a real build.
/// </summary>
internal static class Harness
{
    public static void Configure(SolutionState state)
    {
        state.AdditionalReferences.AddRange(Basic.Reference.Assemblies.Net100.References.All);
        state.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(INetwork).Assembly.Location));
    }

    public static readonly ReferenceAssemblies None = new("net10.0");
}

internal sealed class AnalyzerTest<TAnalyzer> : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> where TAnalyzer : DiagnosticAnalyzer, new()
{
    public AnalyzerTest(string source)
    {
        TestCode = source;
        ReferenceAssemblies = Harness.None;
        Harness.Configure(TestState);
        TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        DisabledDiagnostics.Add("BPG0100"); // off by default in real builds; the harness would turn it on
        // A rule has one descriptor per message (the diagnostics table); {|BPG0017:...|} names the rule, not the wording.
        MarkupOptions = MarkupOptions.UseFirstDescriptor;
    }

    protected override IEnumerable<Type> GetSourceGenerators() => [typeof(Backprop.Generator.NetworkGenerator)];
}

internal sealed class CodeFixTest<TAnalyzer, TFix> : CSharpCodeFixTest<TAnalyzer, TFix, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new() where TFix : Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider, new()
{
    public CodeFixTest(string source, string fixedSource)
    {
        TestCode = source;
        FixedCode = fixedSource;
        ReferenceAssemblies = Harness.None;
        Harness.Configure(TestState);
        Harness.Configure(FixedState);
        TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        DisabledDiagnostics.Add("BPG0100");
        MarkupOptions = MarkupOptions.UseFirstDescriptor;
    }

    protected override IEnumerable<Type> GetSourceGenerators() => [typeof(Backprop.Generator.NetworkGenerator)];
}

/// <summary>
/// Every code fix on every diagnostic it offers to fix, in a workspace of the given files: the generator and the
/// analyzers run on the workspace's own compilation, each fix's actions are computed and applied. Any exception
/// escapes (the fuzz turns it into a failure with the declaration).
/// </summary>
internal static class Fixes
{
    private static readonly Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider[] s_providers =
    [
        new Backprop.CodeFixes.MakePartialCodeFix(), new Backprop.CodeFixes.AddNetworkAttributeCodeFix(),
        new Backprop.CodeFixes.LossMismatchCodeFix(), new Backprop.CodeFixes.MoveLayerAttributesCodeFix(),
    ];

    /// <summary>Applies every offered fix; returns how many fixes were applied.</summary>
    public static int ApplyAll(params string[] sources)
    {
        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject("Fuzz", LanguageNames.CSharp)
            .WithParseOptions(Compiler.ParseOptions)
            .WithCompilationOptions(Compiler.Compilation().Options)
            .WithMetadataReferences(Compiler.Compilation().References);
        for (int i = 0; i < sources.Length; i++)
        {
            project = project.AddDocument($"Source{i}.cs", sources[i]).Project;
        }
        var compilation = project.GetCompilationAsync().GetAwaiter().GetResult()!;
        Compiler.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new NetworkAnalyzer(), new CallSiteAnalyzer());
        var diagnostics = output.WithAnalyzers(analyzers).GetAnalyzerDiagnosticsAsync(CancellationToken.None).GetAwaiter().GetResult();
        int applied = 0;
        foreach (var diagnostic in diagnostics)
        {
            var document = diagnostic.Location.SourceTree is { } tree ? project.GetDocument(tree) : null;
            if (document is null)
            {
                continue;
            }
            foreach (var provider in s_providers.Where(p => p.FixableDiagnosticIds.Contains(diagnostic.Id)))
            {
                var actions = new List<Microsoft.CodeAnalysis.CodeActions.CodeAction>();
                var context = new Microsoft.CodeAnalysis.CodeFixes.CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
                provider.RegisterCodeFixesAsync(context).GetAwaiter().GetResult();
                foreach (var action in actions)
                {
                    foreach (var operation in action.GetOperationsAsync(CancellationToken.None).GetAwaiter().GetResult())
                    {
                        if (operation is Microsoft.CodeAnalysis.CodeActions.ApplyChangesOperation change)
                        {
                            foreach (var changed in change.ChangedSolution.Projects.SelectMany(p => p.Documents))
                            {
                                _ = changed.GetTextAsync().GetAwaiter().GetResult();
                            }
                            applied++;
                        }
                    }
                }
            }
        }
        return applied;
    }
}
