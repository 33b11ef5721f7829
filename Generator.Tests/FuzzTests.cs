using System;
using System.Collections.Generic;
using System.Linq;
using Backprop.Tests.Infrastructure;
using CsCheck;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Random, partly invalid declarations through generator and analyzers: for each, either generated code that
/// compiles or at least one diagnostic; never an exception, never generated code that fails to compile. Each test runs
/// a fixed corpus (the same samples on every run) and then fresh samples, whose seed a failure prints.
/// </summary>
public class FuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Constants = "static class Sizes { public const int A = 5; public const int Zero = 0; }";

    // Valid choices are weighted up so that a fair share of declarations is a working network.
    private static Gen<string> Mostly(string[] valid, string[] invalid, int validWeight = 6)
        => Gen.Frequency((validWeight, Gen.OneOf(valid)), (1, Gen.OneOf(invalid)));

    private static readonly Gen<string> s_size = Mostly(
        ["784", "1", "3", "17", "33", "Sizes.A", "units: 4", "2 * Sizes.A", "(int)Activation.Relu"],
        ["0", "-1", "int.MaxValue", "\"x\"", "1.5f", "nameof(Sizes)", "", "Sizes.Missing", "Sizes.Zero", "int.MaxValue / 2", "1 << 26", "46341"]);

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
        ["[Input(0)]", "[Input()]", "[Input(\"x\")]", "", "[Input(-5)]", "[Input(1, 0, 4)]", "[Input(new[] { 2, 2 })]", "[Input(null)]",
         "[Input(46341, 46341)]", "[Input(3, 4096, 4096)]", "[Input(int.MaxValue)]", "[Input(1 << 29)]"]);

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

    // Where a network sits and what it is called: namespaces (dotted, differing by case, non-ASCII, @-escaped keywords),
    // containers of every kind (class, struct, record, record struct, interface, static class; generic, file-local and
    // non-partial ones), class names that differ by case, keywords, and names of the members the generator adds.
    private static readonly Gen<string> s_namespace = Mostly(
        ["", "", "Acme", "Acme.Models", "Acme.models", "Ünïcode.Nets"],
        ["Acme.@internal", "@class", "Acme.@namespace.Deep"], validWeight: 4);

    private static readonly Gen<string> s_className = Mostly(
        ["N", "Net", "NET", "Mlp", "@class", "@record", "Ñet", "N_1", "Outer"],
        ["Forward", "Shard", "Architecture", "Parameters", "Activations", "Predict", "_state"], validWeight: 5);

    private static readonly Gen<string> s_container = Mostly(
        // One name per kind: partial declarations of one name but different kinds are the user's own error (CS0261).
        ["partial class Outer", "partial struct Holder", "partial record Record", "partial record struct Pair", "partial interface IHolder", "public static partial class Models"],
        ["partial class Generic<T>", "file partial class Hidden", "class Closed", "partial class outer"]);

    private static readonly HashSet<string> s_clashes = ["CS0542", "CS0101", "CS0102", "CS0260", "CS0261", "CS0262", "CS0263", "BPG0014"];

    private sealed record Placed(string Namespace, string[] Containers, string Attributes, string LastAttribute, string Keyword, string Name);

    // Mostly working networks here (the attribute fuzz below covers broken arguments): flat or image inputs and layers
    // that fit them, ending in a dense layer; one network in five from the attribute fuzz's generators.
    private static readonly Gen<(string Network, string Input, string[] Layers)> s_working =
        from network in Gen.OneOf("[Network(Loss = Loss.MeanSquaredError)]", "[Network]", "[Network(Loss = Loss.BinaryCrossEntropy)]")
        from image in Gen.Bool
        from hidden in Gen.OneOf<string>(image
            ? ["[Conv2D(2, 3, padding: 1)]", "[MaxPool2D(2)]", "[BatchNorm(Activation = Activation.Relu)]", "[AvgPool2D(2, Stride = 1)]", "[Dropout(0.2f)]"]
            : ["[Dense(4, Activation = Activation.Relu)]", "[Dense(3, Activation = Activation.Tanh, Name = \"hidden\")]", "[BatchNorm]", "[Dropout(0.1f)]"]).Array[0, 3]
        select (network, image ? "[Input(1, 6, 6)]" : "[Input(8)]", hidden.Append("[Dense(2)]").ToArray());

    private static readonly Gen<(string Network, string Input, string[] Layers)> s_attributes =
        from network in s_network
        from input in s_input
        from layers in s_layer.Array[1, 4]
        select (network, input, layers);

    private static readonly Gen<Placed> s_placed =
        from ns in s_namespace
        from containers in Gen.Frequency((5, s_container.Array[0, 0]), (3, s_container.Array[1, 1]), (1, s_container.Array[2, 2]))
        from parts in Gen.Frequency((4, s_working), (1, s_attributes))
        let network = parts.Network
        let input = parts.Input
        let layers = parts.Layers
        from keyword in s_class
        from name in s_className
        select new Placed(ns, containers, string.Join("\n", new[] { network, input }.Concat(layers[..^1]).Where(a => a.Length > 0)), layers[^1], keyword, name);

    /// <summary>Up to three networks in one compilation, perhaps each with its last layer in a second file, perhaps used.</summary>
    private static readonly Gen<string[]> s_compilation =
        from networks in s_placed.Array[1, 3]
        from split in Gen.Frequency((4, Gen.Const(false)), (1, Gen.Const(true)))
        from use in Gen.Frequency((3, Gen.Const(false)), (1, Gen.Const(true)))
        from length in Gen.OneOf(Gen.Const(784), Gen.Const(3), Gen.Const(4), Gen.Const(10))
        select Files(networks, split, use, length);

    private static string[] Files(Placed[] networks, bool split, bool use, int length)
    {
        var first = new System.Text.StringBuilder("using Backprop;\n");
        var second = new System.Text.StringBuilder("using Backprop;\n");
        foreach (var network in networks)
        {
            string attributes = split ? network.Attributes : network.Attributes + "\n" + network.LastAttribute;
            first.Append(Place(network, $"{attributes}\n{network.Keyword} {network.Name} {{ }}"));
            if (split)
            {
                second.Append(Place(network, $"{network.LastAttribute}\n{network.Keyword} {network.Name} {{ }}"));
            }
            if (use && network.Namespace.Length == 0 && network.Containers.Length == 0)
            {
                // The call-site analyzer's buffers of constant length (BPG0013) on a network that may not exist.
                first.Append($"static class Use{Math.Abs(network.Name.GetHashCode() % 1000)}{first.Length} {{ static void M({network.Name} n) {{ n.Predict(new float[{length}], new float[{length}]); }} }}\n");
            }
        }
        return split ? [first.ToString(), second.ToString()] : [first.ToString()];
    }

    private static string Place(Placed network, string declaration)
    {
        foreach (string container in network.Containers.Reverse())
        {
            declaration = $"{container}\n{{\n{declaration}\n}}";
        }
        return network.Namespace.Length > 0 ? $"namespace {network.Namespace}\n{{\n{declaration}\n}}\n" : declaration + "\n";
    }

    /// <summary>
    /// Compilations of several networks in namespaces and containers of every kind, spread over files, used from code:
    /// the generator never throws (CS8785 would drop every generated file of the project), every generated file
    /// compiles, a compilation without a generated file for each network explains why, and every code fix offered
    /// (one sample in eight) applies without an exception. A fixed corpus, then a fresh seed that a failure prints.
    /// </summary>
    [Fact]
    public void Networks_in_every_namespace_container_and_file_layout_compile_or_explain_and_every_fix_applies()
    {
        int generated = 0, explained = 0, fixes = 0, sample = 0, networksGenerated = 0, clean = 0;
        void Check(string[] sources)
        {
            string shown = string.Join("\n// ---- next file ----\n", sources);
            var result = Analysis.Run(sources);
            Assert.True(result.Exceptions.Count == 0, $"{shown}\n{string.Join("\n", result.Exceptions)}");
            // Where the user's own declarations clash (a nested class named like its container, CS0542; a namespace and a type
            // of one name, CS0101; partial declarations that disagree, CS0260-CS0263), the generated code may inherit the
            // confusion: the user has an error to fix first. So does a member of the user's named like a generated one, which
            // BPG0014 reports on the user's member. Any other error of the user's excuses nothing.
            bool userErrors = result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error && s_clashes.Contains(d.Id)
                && d.Location.SourceTree is { } tree && !result.Generated.Contains(tree));
            var broken = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree is { } tree && result.Generated.Contains(tree)).ToList();
            Assert.True(broken.Count == 0 || userErrors, $"generated code does not compile for:\n{shown}\n{string.Join("\n", broken)}");
            if (!userErrors)
            {
                System.Threading.Interlocked.Increment(ref clean);
            }
            int networks = sources.Sum(source => source.Split("[Network").Length - 1);
            System.Threading.Interlocked.Add(ref networksGenerated, result.Generated.Length);
            if (result.Generated.Length < networks)
            {
                Assert.True(result.Diagnostics.Any(d => d.Severity >= DiagnosticSeverity.Warning), $"a network got no generated code and no diagnostic:\n{shown}");
                System.Threading.Interlocked.Increment(ref explained);
            }
            else
            {
                System.Threading.Interlocked.Increment(ref generated);
            }
            if (System.Threading.Interlocked.Increment(ref sample) % 8 == 0)
            {
                System.Threading.Interlocked.Add(ref fixes, Fixes.ApplyAll(sources));
            }
        }
        // The fixed corpus: the same 2,000 compilations every run (CsCheck's seed fixes only a sample's first draw).
        System.Threading.Tasks.Parallel.ForEach(Corpus(s_compilation, 2_000), Check);
        // Then fresh ones; a failure prints the seed that replays it (CsCheck_Seed).
        s_compilation.Sample(Check, iter: 500);
        output.WriteLine($"{generated} compilations generated code for every network; {explained} explained a missing one; {networksGenerated} networks generated in all; {clean} without clashing declarations in the user's code; {fixes} code fixes applied.");
        Assert.True(generated >= 50 && networksGenerated >= 200 && explained >= 200 && clean >= 1000 && fixes >= 20,
            $"{generated} generated, {networksGenerated} networks, {explained} explained, {clean} clean, {fixes} fixes applied");
    }

    /// <summary>A fixed list of samples of <paramref name="gen"/>: the same on every run and machine.</summary>
    private static List<T> Corpus<T>(Gen<T> gen, int count)
    {
        var random = new PCG(17, 20261206);
        var corpus = new List<T>(count);
        for (int i = 0; i < count; i++)
        {
            corpus.Add(gen.Generate(random, null, out _));
        }
        return corpus;
    }

    [Fact]
    public void Ten_thousand_random_declarations_never_throw_and_always_compile_or_explain()
    {
        int generated = 0, explained = 0;
        void Check(string source)
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
        }
        // A fixed corpus of 8,000 declarations, the same every run, then 2,000 fresh ones (a failure prints its seed).
        System.Threading.Tasks.Parallel.ForEach(Corpus(s_declaration, 8_000), Check);
        s_declaration.Sample(Check, iter: 2_000);

        output.WriteLine($"{generated} declarations generated code that compiles; {explained} got at least one diagnostic.");
        // The generator must see both kinds in earnest: valid networks that compile, and invalid ones.
        Assert.Equal(10_000, generated + explained);
        Assert.True(generated >= 300 && explained >= 3000, $"{generated} generated, {explained} explained by a diagnostic");
    }
}
