using System;
using System.Collections.Generic;
using System.Linq;
using Backprop.Generator.Emit;
using Backprop.Generator.Shapes;
using Backprop.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Names the generator must survive: classes and namespaces that differ only by case, <c>@</c>-escaped keywords,
/// file-local classes, and classes named like a member the generator declares.
/// </summary>
public class GeneratorNameTests
{
    private static (Compilation Output, GeneratorDriverRunResult Result) Run(params string[] sources)
    {
        var compilation = Compiler.Compilation(sources.Select(s => "using Backprop;\n" + s).ToArray());
        var driver = Compiler.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.Empty(diagnostics); // CS8785 (a generator exception) would be here
        var result = driver.GetRunResult();
        Assert.Null(result.Results.Single().Exception);
        return (output, result);
    }

    private static IEnumerable<Diagnostic> Errors(Compilation output)
        => output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error
            // Lower-case type names (@class, @internal) are legal; the compiler only warns about them.
            || (d.Severity == DiagnosticSeverity.Warning && d.Id != "CS8981"));

    [Fact]
    public void Networks_whose_names_differ_only_by_case_all_generate_and_compile()
    {
        var (output, result) = Run(
            "namespace Acme.Models { [Network] [Input(4)] [Dense(2)] public partial class Mlp; }",
            "namespace Acme.models { [Network] [Input(3)] [Dense(2)] public partial class Mlp; }",
            "namespace Acme.Models { [Network] [Input(5)] [Dense(2)] public partial class MLP; }",
            "[Network] [Input(4)] [Dense(2)] public partial class Net; [Network] [Input(6)] [Dense(2)] public partial class NET;",
            "public partial class Outer { [Network] [Input(4)] [Dense(2)] public partial class Net; }",
            "public partial class outer { [Network] [Input(4)] [Dense(2)] public partial class Net; }");
        Assert.Empty(Errors(output));
        var hints = result.Results.Single().GeneratedSources.Select(s => s.HintName).ToList();
        Assert.Equal(7, hints.Count);
        Assert.Equal(7, hints.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("Acme.Models.Mlp.1201.g.cs", hints);
        Assert.Contains("Net.1.g.cs", hints);
        Assert.Contains("NET.7.g.cs", hints);
        Assert.Contains("Outer-002bNet.1040.g.cs", hints);
    }

    [Fact]
    public void Escaped_keywords_work_in_namespaces_containers_and_class_names()
    {
        var (output, result) = Run(
            "namespace Acme.@internal { public partial class @struct { [Network] [Input(4)] [Dense(2)] public partial class @class; } }",
            "namespace @namespace.@record { [Network] [Input(4)] [Dense(2)] public partial class @var; }",
            "namespace Ünïcode { [Network] [Input(4)] [Dense(2)] public partial class Ñet; }");
        Assert.Empty(Errors(output));
        Assert.Equal(3, result.GeneratedTrees.Length);
        string code = result.GeneratedTrees[0].ToString();
        Assert.Contains("namespace Acme.@internal", code);
        Assert.Contains("partial class @struct", code);
        Assert.Contains("public @class(int maxBatch = 32, int seed = 0)", code);
        // Non-ASCII letters are spelled as hex in the hint name: Ü is U+00DC, ï U+00EF, Ñ U+00D1.
        Assert.Contains("-00dcn-00efcode.-00d1et.000000.g.cs", result.Results.Single().GeneratedSources.Select(s => s.HintName));
    }

    [Theory]
    [InlineData("[Network] [Input(4)] [Dense(2)] file partial class N;")]
    [InlineData("file partial class O { [Network] [Input(4)] [Dense(2)] partial class N; }")]
    public void A_file_local_network_is_refused_with_BPG0009(string source)
    {
        var analysis = Analysis.Run("using Backprop;\n" + source);
        Assert.Empty(analysis.Exceptions);
        Assert.Empty(analysis.Generated);
        var diagnostic = Assert.Single(analysis.Diagnostics, d => d.Id == DiagnosticIds.UnsupportedClass);
        Assert.Contains("file-local type", diagnostic.GetMessage());
    }

    [Theory]
    [InlineData("Forward")]
    [InlineData("Shard")]
    [InlineData("Architecture")]
    [InlineData("Activations")]
    [InlineData("Predict")]
    [InlineData("Dense1Units")]
    [InlineData("_gate")]
    public void A_class_named_like_a_generated_member_gets_BPG0014_and_no_code(string name)
    {
        var analysis = Analysis.Run($"using Backprop;\n[Network] [Input(4)] [Dense(3)] [Dense(2)] public partial class {name};");
        Assert.Empty(analysis.Exceptions);
        Assert.Empty(analysis.Generated);
        var diagnostic = Assert.Single(analysis.Diagnostics, d => d.Id == DiagnosticIds.GeneratedMemberCollision);
        Assert.Contains($"named like a member the generator adds to the network ('{name}')", diagnostic.GetMessage());
        Assert.Empty(analysis.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != DiagnosticIds.GeneratedMemberCollision));
    }

    /// <summary>The list shape inference checks is exactly what the emitter declares, for networks of every loss and depth.</summary>
    [Theory]
    [InlineData("[Network] [Input(784)] [Dense(128, Activation = Activation.Relu)] [Dense(10, Activation = Activation.Softmax)] public partial class N;")]
    [InlineData("[Network(Loss = Loss.MeanSquaredError)] [Input(3)] [Dense(8, Activation = Activation.Tanh, Name = \"hidden\")] [Dense(4)] [Dense(2)] public partial class N;")]
    [InlineData("[Network(Loss = Loss.BinaryCrossEntropy)] [Input(5)] [Dense(1, Activation = Activation.Sigmoid)] public partial class N;")]
    public void The_generated_name_list_matches_the_emitted_members(string source)
    {
        var (output, result) = Run(source);
        var tree = result.GeneratedTrees.Single();
        var network = tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().First(c => c.Identifier.ValueText == "N");
        var emitted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in network.Members)
        {
            switch (member)
            {
                case BaseFieldDeclarationSyntax field:
                    emitted.UnionWith(field.Declaration.Variables.Select(v => v.Identifier.ValueText));
                    break;
                case MethodDeclarationSyntax method:
                    emitted.Add(method.Identifier.ValueText);
                    break;
                case PropertyDeclarationSyntax property:
                    emitted.Add(property.Identifier.ValueText);
                    break;
                case BaseTypeDeclarationSyntax type:
                    emitted.Add(type.Identifier.ValueText);
                    break;
                case ConstructorDeclarationSyntax:
                    break;
                default:
                    Assert.Fail($"an emitted member of an unexpected kind: {member.Kind()}");
                    break;
            }
        }
        var user = output.SyntaxTrees.First();
        var model = output.GetSemanticModel(user);
        var declaration = user.GetRoot().DescendantNodes().OfType<TypeDeclarationSyntax>().Single(c => c.Identifier.ValueText == "N");
        var parsed = Backprop.Generator.NetworkGenerator.Parse((INamedTypeSymbol)model.GetDeclaredSymbol(declaration)!, declaration, default);
        var plan = ShapeInference.Infer(parsed).Plan!;
        Assert.Equal(emitted.Order(StringComparer.Ordinal), GeneratedNames.Of(plan).Order(StringComparer.Ordinal));
    }
}
