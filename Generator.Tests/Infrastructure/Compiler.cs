using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Backprop.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Backprop.Tests.Infrastructure;

/// <summary>In-memory compilations with the generator: no dotnet child processes, no network.</summary>
internal static class Compiler
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly MetadataReference[] s_references =
        [.. Basic.Reference.Assemblies.Net100.References.All, MetadataReference.CreateFromFile(typeof(INetwork).Assembly.Location)];

    public static CSharpCompilation Compilation(params string[] sources) => CSharpCompilation.Create(
        "TestAssembly" + Guid.NewGuid().ToString("N")[..8],
        sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Source{i}.cs")),
        s_references,
        new CSharpCompilationOptions(
            OutputKind.DynamicallyLinkedLibrary,
            nullableContextOptions: NullableContextOptions.Enable,
            generalDiagnosticOption: ReportDiagnostic.Error,
            specificDiagnosticOptions: new Dictionary<string, ReportDiagnostic> { ["CS1591"] = ReportDiagnostic.Suppress }));

    public static GeneratorDriver Driver(bool trackSteps = false) => CSharpGeneratorDriver.Create(
        [new NetworkGenerator().AsSourceGenerator()],
        parseOptions: ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator; returns the generated sources and the compilation with them.</summary>
    public static (Compilation Output, GeneratorDriverRunResult Result) Generate(params string[] sources)
    {
        var compilation = Compilation(sources);
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.Empty(diagnostics);
        var result = driver.GetRunResult();
        foreach (var generator in result.Results)
        {
            Assert.Null(generator.Exception);
        }
        return (output, result);
    }

    /// <summary>Compile errors and warnings (warnings are errors here, as under TreatWarningsAsErrors).</summary>
    public static ImmutableArray<Diagnostic> Problems(Compilation compilation)
        => compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToImmutableArray();

    /// <summary>Generates, compiles and loads an assembly (in a collectible context).</summary>
    public static Assembly Load(params string[] sources)
    {
        var (output, _) = Generate(sources);
        using var image = new MemoryStream();
        var emit = output.Emit(image);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        image.Position = 0;
        return new AssemblyLoadContext("networks", isCollectible: true).LoadFromStream(image);
    }

    /// <summary>Creates a network from a loaded assembly through its (maxBatch, seed) constructor.</summary>
    public static INetwork Create(Assembly assembly, string typeName, int maxBatch, int seed)
        => (INetwork)Activator.CreateInstance(assembly.GetType(typeName, throwOnError: true)!, maxBatch, seed)!;
}
