using System.Linq;
using Backprop.Tests.Infrastructure;
using CsCheck;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Random, partly invalid declarations through generator and analyzers: for each, either generated code that
/// compiles or at least one diagnostic; never an exception, never generated code that fails to compile.
/// </summary>
public class FuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Constants = "static class Sizes { public const int A = 5; public const int Zero = 0; }";

    // Valid choices are weighted up so that a fair share of declarations is a working network.
    private static Gen<string> Mostly(string[] valid, string[] invalid, int validWeight = 6)
        => Gen.Frequency((validWeight, Gen.OneOf(valid)), (1, Gen.OneOf(invalid)));

    private static readonly Gen<string> s_size = Mostly(
        ["784", "1", "3", "17", "33", "Sizes.A", "units: 4", "2 * Sizes.A", "(int)Activation.Relu"],
        ["0", "-1", "int.MaxValue", "\"x\"", "1.5f", "nameof(Sizes)", "", "Sizes.Missing", "Sizes.Zero"]);

    private static readonly Gen<string> s_activation = Mostly(
        ["", ", Activation = Activation.Relu", ", Activation = Activation.Sigmoid", ", Activation = (Activation)1",
         ", Activation = Activation.Gelu", ", Activation = Activation.Tanh", ", Activation = Activation.LeakyRelu"],
        [", Activation = Activation.Softmax", ", Activation = (Activation)99", ", Activation = 3", ", Activation = Activation.", ", Activatio = Activation.Relu"]);

    private static readonly Gen<string> s_name = Mostly(
        ["", "", "", ", Name = null", ", Name = nameof(Sizes)"],
        [", Name = \"a\"", ", Name = \"dense1\"", ", Name = \"x.y\"", ", Name = \"\"", ", Name = 5"]);

    private static readonly Gen<string> s_dense =
        from size in s_size
        from activation in s_activation
        from name in s_name
        select $"[Dense({size}{activation}{name})]";

    private static readonly Gen<string> s_small = Mostly(["1", "2", "3", "Sizes.A"], ["0", "-1", "int.MaxValue", "\"x\"", ""]);

    private static readonly Gen<string> s_convolution =
        from filters in s_small
        from kernel in s_small
        from options in Mostly(["", ", 2", ", padding: 1", ", stride: 2, padding: 2", ", 1, 0"], [", padding: -1", ", stride: 0", ", 1, 2, 3"])
        from bias in Mostly(["", ", Bias = false", ", Bias = true"], [", Bias = 1"])
        from activation in s_activation
        from name in s_name
        select $"[Conv2D({filters}, {kernel}{options}{bias}{activation}{name})]";

    private static readonly Gen<string> s_pooling =
        from kind in Gen.OneOf("MaxPool2D", "AvgPool2D")
        from size in s_small
        from stride in Mostly(["", ", Stride = 1", ", Stride = 3"], [", Stride = -1", ", Stride = 1.5f"])
        from name in s_name
        select $"[{kind}({size}{stride}{name})]";

    private static readonly Gen<string> s_batchNorm =
        from momentum in Mostly(["", ", Momentum = 0.3f", ", Momentum = 0", ", Momentum = 1"], [", Momentum = -0.1f", ", Momentum = 2f", ", Momentum = float.NaN", ", Momentum = \"x\""])
        from epsilon in Mostly(["", ", Epsilon = 1e-3f", ", Epsilon = 1"], [", Epsilon = 0", ", Epsilon = -1e-5f", ", Epsilon = float.PositiveInfinity"])
        from activation in s_activation
        from name in s_name
        select $"[BatchNorm({momentum}{epsilon}{activation}{name})]".Replace("BatchNorm(, ", "BatchNorm(");

    private static readonly Gen<string> s_layer = Gen.Frequency(
        (6, s_dense), (3, s_convolution), (2, s_pooling), (2, s_batchNorm),
        (1, Gen.OneOf("[Flatten]", "[GlobalAvgPool2D]", "[Flatten(Name = \"f\")]", "[GlobalAvgPool2D(Name = \"dense1\")]")));

    private static readonly Gen<string> s_input = Mostly(
        ["[Input(784)]", "[Input(4)]", "[Input(1)]", "[Input(Sizes.A)]", "[Input(1, 28, 28)]", "[Input(3, 7, 6)]", "[Input(2, Sizes.A, 5)]", "[Input(2, 3)]"],
        ["[Input(0)]", "[Input()]", "[Input(\"x\")]", "", "[Input(-5)]", "[Input(1, 0, 4)]", "[Input(new[] { 2, 2 })]", "[Input(null)]"]);

    private static readonly Gen<string> s_network = Mostly(
        ["[Network(Loss = Loss.BinaryCrossEntropy)]", "[Network(Loss = Loss.MeanSquaredError)]", "[Network(Loss = Loss.MeanSquaredError)]", "[Network()]"],
        ["[Network(Loss = (Loss)5)]", "[Network(Loss = 1)]", "", "[Network]", "[Network(Loss = Loss.SoftmaxCrossEntropy)]"]);

    private static readonly Gen<string> s_class = Mostly(
        ["public partial class", "partial class", "sealed partial class", "internal partial class"],
        ["class", "static partial class", "abstract partial class", "partial record", "public partial struct"]);

    private static readonly Gen<string> s_declaration =
        from network in s_network
        from input in s_input
        from layers in Gen.Frequency((8, s_layer.Array[1, 4]), (1, s_layer.Array[0, 0]))
        from keyword in s_class
        from generic in Mostly([""], ["<T>"])
        from nested in Mostly(["", "", "partial class Outer"], ["class Outer"])
        from split in Gen.Frequency((6, Gen.Const(false)), (1, Gen.Const(true)))
        from cut in Gen.Frequency((6, Gen.Const(0)), (1, Gen.Int[1, 200]))
        select Build(network, input, layers, keyword, generic, nested, split, cut);

    private static string Build(string network, string input, string[] layers, string keyword, string generic, string nested, bool split, int cut)
    {
        if (network.Length == 0 && input.Length == 0 && layers.Length == 0)
        {
            network = "[Network]";
        }
        var attributes = new[] { network, input }.Concat(layers).Where(a => a.Length > 0).ToList();
        string extra = "";
        if (split && attributes.Count > 2)
        {
            extra = $"\n{attributes[^1]}\n{keyword} N{generic} {{ }}";
            attributes.RemoveAt(attributes.Count - 1);
        }
        string text = string.Join("\n", attributes);
        if (cut > 0 && cut < text.Length)
        {
            // Half-typed code: the attributes end in the middle of one.
            text = text[..cut];
        }
        string declaration = $"{text}\n{keyword} N{generic} {{ }}{extra}";
        if (nested.Length > 0)
        {
            declaration = $"{nested}\n{{\n{declaration}\n}}";
        }
        return "using Backprop;\n" + declaration;
    }

    [Fact]
    public void Ten_thousand_random_declarations_never_throw_and_always_compile_or_explain()
    {
        int generated = 0, explained = 0;
        s_declaration.Sample(source =>
        {
            var result = Analysis.Run(source + "\n" + Constants);
            Assert.True(result.Exceptions.Count == 0, $"{source}\n{string.Join("\n", result.Exceptions)}");
            if (result.Generated.Length > 0)
            {
                var broken = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree is { } tree && result.Generated.Contains(tree)).ToList();
                Assert.True(broken.Count == 0, $"generated code does not compile for:\n{source}\n{string.Join("\n", broken)}");
                System.Threading.Interlocked.Increment(ref generated);
            }
            else
            {
                Assert.True(result.Diagnostics.Any(d => d.Severity >= DiagnosticSeverity.Warning),
                    $"no generated code and no diagnostic for:\n{source}");
                System.Threading.Interlocked.Increment(ref explained);
            }
        }, iter: 10_000, seed: "0N0XIzNsQ0O2");

        output.WriteLine($"{generated} declarations generated code that compiles; {explained} got at least one diagnostic.");
        // The generator must see both kinds in earnest: valid networks that compile, and invalid ones.
        Assert.Equal(10_000, generated + explained);
        Assert.True(generated >= 300 && explained >= 3000, $"{generated} generated, {explained} explained by a diagnostic");
    }
}
