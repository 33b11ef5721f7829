using System.Linq;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using Backprop.Tests.Infrastructure;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Backprop.Tests;

/// <summary>What the generator emits, and what it refuses to emit, for valid and invalid declarations.</summary>
public class GeneratorTests
{
    [Theory]
    [InlineData("namespace A; [Network] [Input(4)] [Dense(2)] public partial class N;")]
    [InlineData("namespace A { [Network] [Input(4)] [Dense(2)] internal sealed partial class N { } }")]
    [InlineData("[Network] [Input(4)] [Dense(2)] partial class N;")]
    [InlineData("namespace A; public partial class O { private partial class M { [Network] [Input(4)] [Dense(2)] protected internal partial class N; } }")]
    [InlineData("namespace A; public partial record R { [Network] [Input(4)] [Dense(2)] public partial class N; }")]
    [InlineData("namespace A; public partial struct S { [Network] [Input(4)] [Dense(2)] public partial class N; }")]
    [InlineData("namespace A; public partial class N { public int Extra => 1; } [Network(Loss = Loss.MeanSquaredError)] [Input(4)] [Dense(3, Activation = Activation.Softmax)] public partial class N;")]
    public void Generated_code_compiles_without_warnings_in_every_context(string source)
    {
        var (output, result) = Compiler.Generate("using Backprop;\n" + source);
        Assert.Single(result.GeneratedTrees);
        Assert.Empty(Compiler.Problems(output));
    }

    [Fact]
    public void Constants_take_values_from_other_files_casts_and_nameof()
    {
        var (output, result) = Compiler.Generate(
            """
            using Backprop;
            [Network(Loss = (Loss)2)]
            [Input(Sizes.Features)]
            [Dense(Sizes.Hidden * 2, Activation = (Activation)1, Name = nameof(Sizes))]
            [Dense(1)]
            partial class N;
            """,
            "static class Sizes { public const int Features = 6; public const int Hidden = 5; }");
        Assert.Empty(Compiler.Problems(output));
        string code = result.GeneratedTrees.Single().ToString();
        Assert.Contains("public const int InputSize = 6;", code);
        Assert.Contains("\"Sizes.weight\"", code);
        Assert.Contains("Dense 6 → 10, Relu", code);
        Assert.Contains("MeanSquaredError", code);
    }

    [Theory]
    [InlineData("[Network] [Input(4)] [Dense(2)] class N { }", DiagnosticIds.NotPartial)]
    [InlineData("[Network] [Input(4)] [Dense(2)] partial class N<T> { }", DiagnosticIds.UnsupportedClass)]
    [InlineData("[Network] [Input(4)] [Dense(2)] static partial class N { }", DiagnosticIds.UnsupportedClass)]
    [InlineData("[Network] [Input(4)] [Dense(2)] abstract partial class N { }", DiagnosticIds.UnsupportedClass)]
    [InlineData("[Network] [Input(4)] [Dense(2)] partial record N;", DiagnosticIds.UnsupportedClass)]
    [InlineData("[Network] [Input(4)] [Dense(2)] file partial class N;", DiagnosticIds.UnsupportedClass)]
    [InlineData("class O { [Network] [Input(4)] [Dense(2)] partial class N { } }", DiagnosticIds.NotPartial)]
    [InlineData("[Network] [Dense(2)] partial class N;", DiagnosticIds.MissingInput)]
    [InlineData("[Network] [Input(4)] partial class N;", DiagnosticIds.NoLayers)]
    [InlineData("[Network] [Input(0)] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(4)] [Dense(-3)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(4)] [Dense(5, Activation = Activation.Softmax)] [Dense(2)] partial class N;", DiagnosticIds.SoftmaxNotLast)]
    [InlineData("[Network] [Input(4)] [Dense(1)] partial class N;", DiagnosticIds.LossMismatch)]
    [InlineData("[Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(3, Activation = Activation.Softmax)] partial class N;", DiagnosticIds.LossMismatch)]
    [InlineData("[Network] [Input(4)] [Dense(3, Name = \"a\")] [Dense(2, Name = \"a\")] partial class N;", DiagnosticIds.DuplicateName)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [Dense(2, Name = \"dense1\")] partial class N;", DiagnosticIds.DuplicateName)]
    [InlineData("[Network] [Input(4)] [Dense(3, Name = \"h\")] [Dense(2, Name = \"H\")] partial class N;", DiagnosticIds.DuplicateName)]
    [InlineData("[Network] [Input(4)] [Dense(3, Name = \"a_b\")] [Dense(2, Name = \"aB\")] partial class N;", DiagnosticIds.DuplicateName)]
    [InlineData("[Network] [Input(4)] [Custom] [Dense(2)] partial class N; class CustomAttribute : LayerAttribute { }", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3, Name = \"a.b\")] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3, Activation = (Activation)42)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network(Loss = (Loss)7)] [Input(4)] [Dense(3)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3)] partial class N; [Dense(2)] partial class N;", DiagnosticIds.SplitDeclaration)]
    [InlineData("[Network] [Input(4)] [Dense(\"x\")] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input()] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(1, 0, 4)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(100000, 100000)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.TooLarge)]
    [InlineData("[Network] [Input(784)] [Conv2D(8, 3)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(1, 4, 4)] [Conv2D(8, 7, padding: 1)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(1, 4, 3)] [MaxPool2D(4)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(1, 4, 4)] [AvgPool2D(2)] [Flatten] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(4)] [GlobalAvgPool2D] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(1, 4, 4)] [Conv2D(0, 3)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(1, 4, 4)] [Conv2D(2, 3, stride: -1)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(1, 4, 4)] [Conv2D(2, 3, padding: -2)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(1, 4, 4)] [MaxPool2D(2, Stride = -1)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(1, 4, 4)] [Conv2D(2, 3, Activation = Activation.Softmax)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.SoftmaxNotLast)]
    [InlineData("[Network] [Input(1, 4, 4)] [Conv2D(2, 3, Activation = (Activation)9)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(16, 4000, 4000)] [Conv2D(64, 3, padding: 1)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.TooLarge)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [Dropout(1f)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [Dropout(-0.1f)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [Dropout(float.NaN)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [Dropout(0.5f)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(3, 4)] [BatchNorm] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [BatchNorm(Momentum = 1.5f)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [BatchNorm(Momentum = float.NaN)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [BatchNorm(Epsilon = 0)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(4)] [Dense(3)] [BatchNorm(Epsilon = float.PositiveInfinity)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(1, 4, 4)] [BatchNorm(Activation = Activation.Softmax)] [Flatten] [Dense(2)] partial class N;", DiagnosticIds.SoftmaxNotLast)]
    [InlineData("[Network] [Input(784)] [Lstm(8)] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(1, 28, 28)] [Gru(8)] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(5, 3)] [SimpleRnn(4)] [Gru(8)] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(5, 3)] [Gru(0)] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(5, 3)] [Lstm(-2, ReturnSequences = true)] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(100000, 3)] [Lstm(4000)] [Dense(2)] partial class N;", DiagnosticIds.TooLarge)]
    [InlineData("[Network] [Input(5, 3)] [Dense(4)] [Embedding(10, 4)] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(5, 3)] [Embedding(10, 4)] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(5)] [Embedding(20000000, 4)] [Dense(2)] partial class N;", DiagnosticIds.InvalidArgument)]
    [InlineData("[Network] [Input(5)] [Embedding(10, 0)] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(5)] [Embedding(0, 3)] [Dense(2)] partial class N;", DiagnosticIds.NonPositiveSize)]
    [InlineData("[Network] [Input(5)] [Embedding(16000000, 200)] [Dense(2)] partial class N;", DiagnosticIds.TooLarge)]
    [InlineData("[Network] [Input(12)] [Dense(4, PerStep = true)] [Dense(2)] partial class N;", DiagnosticIds.ShapeMismatch)]
    [InlineData("[Network] [Input(3, 4)] [Dense(4, PerStep = true, Activation = Activation.Softmax)] partial class N;", DiagnosticIds.SoftmaxNotLast)]
    [InlineData("[Network(Loss = Loss.MeanSquaredError)] [Input(3)] [Dense(3)] [Normalization] partial class N;", DiagnosticIds.ShapeMismatch)]
    public void Invalid_networks_get_a_rule_and_no_generated_code(string source, string id)
    {
        var compilation = Compiler.Compilation("using Backprop;\n" + source);
        var driver = Compiler.Driver().RunGenerators(compilation);
        var result = driver.GetRunResult();
        Assert.Null(result.Results.Single().Exception);
        Assert.Empty(result.GeneratedTrees);

        // The same parse and shape inference the generator runs: the rule broken is the one expected.
        var tree = compilation.SyntaxTrees.Single();
        var model = compilation.GetSemanticModel(tree);
        var declaration = tree.GetRoot().DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax>()
            .First(c => c.Identifier.Text == "N");
        var symbol = (Microsoft.CodeAnalysis.INamedTypeSymbol)model.GetDeclaredSymbol(declaration)!;
        var parsed = Backprop.Generator.NetworkGenerator.Parse(symbol, declaration, default);
        var errors = ShapeInference.Infer(parsed).Errors;
        Assert.Contains(errors, error => error.Id == id && !error.IsWarning);
        Assert.All(errors, error => Assert.False(string.IsNullOrWhiteSpace(error.Message)));
    }

    [Fact]
    public void Mean_squared_error_on_softmax_is_a_warning_that_still_generates()
    {
        var declaration = new NetworkDeclaration("", EquatableArray<ContainingType>.Empty, "N", EquatableArray<DeclarationProblem>.Empty, 0, Names.MeanSquaredError,
            new AttributeSpec(Names.InputAttribute, 1, new EquatableArray<ArgumentSpec>([new ArgumentSpec("shape", ArgumentKind.Array, 1, null, new EquatableArray<ArgumentSpec>([new ArgumentSpec("shape", ArgumentKind.Integer, 4, null)]))]), false),
            new EquatableArray<AttributeSpec>([new AttributeSpec("Backprop.DenseAttribute", 2,
                new EquatableArray<ArgumentSpec>([new ArgumentSpec("units", ArgumentKind.Integer, 3, null), new ArgumentSpec("Activation", ArgumentKind.Enum, Names.Softmax, null)]), false)]),
            0);
        var result = ShapeInference.Infer(declaration);
        Assert.NotNull(result.Plan);
        var warning = Assert.Single(result.Errors);
        Assert.True(warning.IsWarning);
        Assert.Equal(DiagnosticIds.MeanSquaredErrorOnSoftmax, warning.Id);
    }

    [Fact]
    public void Generator_enum_mirrors_match_the_runtime()
    {
        Assert.Equal(System.Enum.GetNames<Activation>(), Names.Activations);
        Assert.Equal(System.Enum.GetNames<Loss>(), Names.Losses);
        Assert.Equal(Names.NetworkAttribute, typeof(NetworkAttribute).FullName);
        Assert.Equal(Names.InputAttribute, typeof(InputAttribute).FullName);
        // Every concrete layer attribute of the runtime (RecurrentAttribute is an abstract base) has a unit, and every unit an attribute of its name and kind.
        var attributes = typeof(LayerAttribute).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(LayerAttribute)) && !t.IsAbstract).Select(t => t.FullName!).Order(System.StringComparer.Ordinal);
        Assert.Equal(attributes, Backprop.Generator.Layers.LayerRegistry.All.Select(unit => unit.AttributeName).Order(System.StringComparer.Ordinal));
        Assert.All(Backprop.Generator.Layers.LayerRegistry.All, unit => Assert.Equal($"Backprop.{unit.Kind}Attribute", unit.AttributeName));
    }
}
