using System.Linq;
using System.Threading.Tasks;
using Backprop.Generator.Analyzers;
using Backprop.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Backprop.Tests;

/// <summary>Every diagnostic fires on the right span (markup <c>{|ID:span|}</c>) and not on valid code.</summary>
public class AnalyzerTests
{
    private static Task Verify(string source) => new AnalyzerTest<NetworkAnalyzer>("using Backprop;\n" + source).RunAsync();

    private static Task VerifyCalls(string source) => new AnalyzerTest<CallSiteAnalyzer>("using Backprop;\n" + source).RunAsync();

    [Fact]
    public Task Valid_networks_have_no_diagnostics() => Verify("""
        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(784)]
        [Dense(256, Activation = Activation.Relu)]
        [Dense(10)]
        public partial class Mlp;

        [Network(Loss = Loss.BinaryCrossEntropy)]
        [Input(3)]
        [Dense(1, Activation = Activation.Sigmoid, Name = "head")]
        public partial class Binary;

        public partial class Outer { [Network(Loss = Loss.MeanSquaredError)] [Input(2)] [Dense(2)] private partial class Inner; }
        """);

    [Fact]
    public Task BPG0001_class_not_partial() => Verify("""
        [Network] [Input(4)] [Dense(2)]
        public class {|BPG0001:N|} { }
        """);

    [Fact]
    public Task BPG0001_containing_type_not_partial() => Verify("""
        public class Outer
        {
            [Network] [Input(4)] [Dense(2)]
            public partial class {|BPG0001:N|} { }
        }
        """);

    [Fact]
    public Task BPG0002_no_input() => Verify("""
        [{|BPG0002:Network|}] [Dense(2)]
        public partial class N;
        """);

    [Fact]
    public Task BPG0003_no_layers() => Verify("""
        [{|BPG0003:Network|}] [Input(4)]
        public partial class N;
        """);

    [Fact]
    public Task BPG0004_layers_without_network() => Verify("""
        [{|BPG0004:Input(4)|}]
        [{|BPG0004:Dense(2)|}]
        public partial class N;
        """);

    [Fact]
    public Task BPG0005_layers_split_over_partial_declarations() => Verify("""
        [Network] [Input(4)] [Dense(8)]
        public partial class N;

        [{|BPG0005:Dense(2)|}]
        public partial class N;
        """);

    [Fact]
    public Task BPG0006_non_positive_sizes() => Verify("""
        [Network] [Input({|BPG0006:0|})] [Dense(2)]
        public partial class A;

        [Network] [Input(4)] [Dense({|BPG0006:-3|})]
        public partial class B;

        [Network] [Input(4)] [Dense({|BPG0006:units: 0|})]
        public partial class C;
        """);

    [Fact]
    public Task BPG0006_non_positive_sizes_of_image_layers() => Verify("""
        [Network] [Input(1, 8, 8)] [Conv2D({|BPG0006:0|}, 3)] [Flatten] [Dense(2)]
        public partial class B;

        [Network] [Input(1, 8, 8)] [Conv2D(4, {|BPG0006:0|})] [Flatten] [Dense(2)]
        public partial class C;

        [Network] [Input(1, 8, 8)] [Conv2D(4, 3, {|BPG0006:stride: 0|})] [Flatten] [Dense(2)]
        public partial class D;

        [Network] [Input(1, 8, 8)] [Conv2D(4, 3, {|BPG0006:padding: -1|})] [Flatten] [Dense(2)]
        public partial class E;

        [Network] [Input(1, 8, 8)] [MaxPool2D({|BPG0006:0|})] [Flatten] [Dense(2)]
        public partial class F;

        [Network] [Input(1, 8, 8)] [AvgPool2D(2, {|BPG0006:Stride = -2|})] [Flatten] [Dense(2)]
        public partial class G;
        """);

    [Fact]
    public Task BPG0006_a_dimension_of_a_multi_dimensional_input_is_reported_on_itself() => Verify("""
        [Network] [Input(1, {|BPG0006:0|}, 8)] [Flatten] [Dense(2)]
        public partial class A;
        """);

    [Fact]
    public Task BPG0017_layers_that_do_not_fit_their_shape() => Verify("""
        [Network] [Input(784)] [{|BPG0017:Conv2D(8, 3)|}] [Flatten] [Dense(10)]
        public partial class Flat;

        [Network] [Input(1, 4, 4)] [Conv2D(2, {|BPG0017:5|})] [Flatten] [Dense(10)]
        public partial class BigKernel;

        [Network] [Input(1, 4, 4)] [Conv2D(2, 5, padding: 1)] [Flatten] [Dense(10)]
        public partial class PaddedEnough;

        [Network] [Input(1, 4, 4)] [MaxPool2D({|BPG0017:5|})] [Flatten] [Dense(10)]
        public partial class BigWindow;

        [Network] [Input(1, 4, 4)] [Conv2D(2, 3)] [{|BPG0017:Flatten|}]
        public partial class FlattenLast;

        [Network] [Input(8)] [Dense(4)] [{|BPG0017:GlobalAvgPool2D|}] [Dense(2)]
        public partial class PoolOnFlat;

        [Network] [Input(3, 8, 8)] [Conv2D(4, 3)] [Dense(8)] [{|BPG0017:MaxPool2D(2)|}] [Dense(2)]
        public partial class PoolAfterDense;
        """);

    [Fact]
    public Task BatchNorm_rules_are_reported_on_the_argument_or_the_attribute() => Verify("""
        [Network] [Input(3, 4)] [{|BPG0017:BatchNorm|}] [Flatten] [Dense(2)]
        public partial class Sequence;

        [Network] [Input(4)] [Dense(3)] [BatchNorm({|BPG0011:Momentum = 2f|})] [Dense(2)]
        public partial class Momentum;

        [Network] [Input(1, 4, 4)] [BatchNorm({|BPG0011:Epsilon = -1e-5f|})] [Flatten] [Dense(2)]
        public partial class Epsilon;

        [Network] [Input(1, 4, 4)] [BatchNorm(Momentum = 0, Epsilon = 1e-3f, Activation = Activation.Relu)] [Flatten] [Dense(2)]
        public partial class Valid;
        """);

    [Fact]
    public Task Recurrent_and_embedding_rules_are_reported_on_the_argument_or_the_attribute() => Verify("""
        [Network] [Input(784)] [{|BPG0017:Lstm(8)|}] [Dense(2)]
        public partial class NoSteps;

        [Network] [Input(1, 28, 28)] [{|BPG0017:Gru(8)|}] [Dense(2)]
        public partial class Image;

        [Network] [Input(5, 3)] [SimpleRnn(4)] [{|BPG0017:Gru(8)|}] [Dense(2)]
        public partial class StackedWithoutSequences;

        [Network] [Input(5, 3)] [Gru({|BPG0006:0|})] [Dense(2)]
        public partial class NoUnits;

        [Network] [Input(5, 3)] [Dense(4)] [{|BPG0017:Embedding(10, 4)|}] [Dense(2)]
        public partial class EmbeddingNotFirst;

        [Network] [Input(5, 3)] [{|BPG0017:Embedding(10, 4)|}] [Lstm(3)] [Dense(2)]
        public partial class EmbeddingOnSteps;

        [Network] [Input(5)] [Embedding({|BPG0011:20000000|}, 4)] [Lstm(3)] [Dense(2)]
        public partial class VocabularyTooLarge;

        [Network] [Input(5)] [Embedding(10, {|BPG0006:-4|})] [Lstm(3)] [Dense(2)]
        public partial class NegativeDimensions;

        [Network] [Input(5)] [Embedding(10, 4)] [Lstm(3, ReturnSequences = true)] [SimpleRnn(3)] [Dense(2)]
        public partial class Valid;
        """);

    [Fact]
    public void Recurrent_messages_say_what_to_declare()
    {
        var messages = Analysis.Run("""
            using Backprop;
            [Network] [Input(784)] [Lstm(8)] [Dense(2)] public partial class A;
            [Network] [Input(5, 3)] [SimpleRnn(4)] [Gru(8)] [Dense(2)] public partial class B;
            [Network] [Input(5, 3)] [Dense(4)] [Embedding(10, 4)] [Dense(2)] public partial class C;
            """).Diagnostics.Where(d => d.Id == "BPG0017").Select(d => d.GetMessage()).OrderBy(m => m, System.StringComparer.Ordinal).ToList();
        Assert.Equal(
        [
            "Embedding 'embedding1' must be the first layer: it reads token ids from the input, but here it follows 'dense1'.",
            "Gru 'gru1' needs [steps, features] samples, but 'rnn1' gives [4], which has no step dimension. Give the layer before it ReturnSequences = true, or feed it [steps, features] inputs.",
            "Lstm 'lstm1' needs [steps, features] samples, but the input gives [784], which has no step dimension. Declare the input as [Input(steps, features)] (for example [Input(784, 1)] for one value per step), or put an Embedding first for token ids.",
        ], messages);
    }

    [Fact]
    public Task BPG0007_softmax_on_a_convolution() => Verify("""
        [Network] [Input(1, 8, 8)] [Conv2D(4, 3, {|BPG0007:Activation = Activation.Softmax|})] [Flatten] [Dense(2)]
        public partial class N;
        """);

    [Fact]
    public void Image_layer_messages_name_the_layer_and_both_shapes()
    {
        var messages = Analysis.Run("""
            using Backprop;
            [Network] [Input(784)] [Conv2D(8, 3)] [Flatten] [Dense(10)] public partial class A;
            [Network] [Input(8, 3, 3)] [MaxPool2D(2)] [Conv2D(2, 5)] [Flatten] [Dense(10)] public partial class B;
            """).Diagnostics.Where(d => d.Id == "BPG0017").Select(d => d.GetMessage()).OrderBy(m => m, System.StringComparer.Ordinal).ToList();
        Assert.Equal(
        [
            "Conv2D 'conv1' has a 5×5 kernel, larger than its 1×1 input ('pool1' gives [8, 1, 1]); use a smaller kernel or more padding.",
            "Conv2D 'conv1' needs [channels, height, width] samples, but the input gives [784]; declare the input as [Input(channels, height, width)], or put the layer before Flatten and Dense.",
        ], messages);
    }

    [Fact]
    public Task BPG0007_softmax_not_last() => Verify("""
        [Network] [Input(4)] [Dense(5, {|BPG0007:Activation = Activation.Softmax|})] [Dense(2)]
        public partial class N;
        """);

    [Fact]
    public Task BPG0008_loss_does_not_fit() => Verify("""
        [Network({|BPG0008:Loss = Loss.SoftmaxCrossEntropy|})] [Input(4)] [Dense(1)]
        public partial class OneOutput;

        [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(3, {|BPG0008:Activation = Activation.Softmax|})]
        public partial class SoftmaxBce;
        """);

    [Fact]
    public Task BPG0009_unsupported_classes() => Verify("""
        [Network] [Input(4)] [Dense(2)]
        public static partial class {|BPG0009:S|} { }

        [Network] [Input(4)] [Dense(2)]
        public partial class {|BPG0009:G|}<T> { }

        [Network] [Input(4)] [Dense(2)]
        public abstract partial class {|BPG0009:A|} { }

        [Network] [Input(4)] [Dense(2)]
        public partial record {|BPG0009:R|};
        """);

    [Fact]
    public Task BPG0010_duplicate_names() => Verify("""
        [Network] [Input(4)] [Dense(3, Name = "a")] [Dense(2, {|BPG0010:Name = "a"|})]
        public partial class N;

        [Network] [Input(4)] [Dense(3)] [Dense(2, {|BPG0010:Name = "dense1"|})]
        public partial class M;
        """);

    [Fact]
    public Task BPG0011_invalid_arguments() => Verify("""
        [Network] [Input(4)] [Dense(3, {|BPG0011:Name = "a.b"|})]
        public partial class BadName;

        [Network] [Input(4)] [Dense(3, {|BPG0011:Activation = (Activation)42|})]
        public partial class BadActivation;

        [Network({|BPG0011:Loss = (Loss)9|})] [Input(4)] [Dense(3)]
        public partial class BadLoss;
        """);

    [Fact]
    public Task BPG0014_members_that_collide_with_generated_ones()
    {
        // The compiler also rejects these in the generated file (CS0102, CS0111); BPG0014 says why, on the user's
        // member. Overloads with other parameters, and a constructor that chains to the generated one, compile.
        var test = new AnalyzerTest<NetworkAnalyzer>("""
            using Backprop;
            [Network] [Input(4)] [Dense(3)] [Dense(2, Name = "head")]
            public partial class N
            {
                private int {|BPG0014:_scratch|};
                public int {|BPG0014:Predict|} => 1;
                private static readonly float[] {|BPG0014:_training|} = [];
                private sealed class {|BPG0014:Activations|} { }
                public {|BPG0014:N|}(int a, int b) { }
                public N(int maxBatch) : this(maxBatch, 0) { }
                private void Forward(string text) { }
                private void Shard() { }
                public int Units => HeadUnits;
            }
            """);
        test.CompilerDiagnostics = Microsoft.CodeAnalysis.Testing.CompilerDiagnostics.None;
        return test.RunAsync();
    }

    [Fact]
    public Task BPG0012_mean_squared_error_on_softmax() => Verify("""
        [Network({|BPG0012:Loss = Loss.MeanSquaredError|})] [Input(4)] [Dense(3, Activation = Activation.Softmax)]
        public partial class N;
        """);

    [Fact]
    public Task BPG0015_softmax_cross_entropy_on_a_squashed_or_rectified_output() => Verify("""
        [Network] [Input(4)] [Dense(3, {|BPG0015:Activation = Activation.Sigmoid|})] public partial class S;
        [Network] [Input(4)] [Dense(3, {|BPG0015:Activation = Activation.Tanh|})] public partial class T;
        [Network] [Input(4)] [Dense(5)] [Dense(3, {|BPG0015:Activation = Activation.Relu|})] public partial class R;
        [Network] [Input(4)] [Dense(3, Activation = Activation.Relu)] [Dense(3)] public partial class Logits;
        [Network] [Input(4)] [Dense(3, Activation = Activation.Softmax)] public partial class Fused;
        [Network] [Input(4)] [Dense(3, Activation = Activation.Gelu)] public partial class Gelu;
        """);

    [Fact]
    public Task BPG0016_binary_cross_entropy_on_a_relu_or_tanh_output() => Verify("""
        [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(2, {|BPG0016:Activation = Activation.Relu|})] public partial class R;
        [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(1, {|BPG0016:Activation = Activation.Tanh|})] public partial class T;
        [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(1, Activation = Activation.Sigmoid)] public partial class Fused;
        [Network(Loss = Loss.BinaryCrossEntropy)] [Input(4)] [Dense(1)] public partial class Logits;
        [Network(Loss = Loss.MeanSquaredError)] [Input(4)] [Dense(1, Activation = Activation.Relu)] public partial class Regression;
        """);

    [Fact]
    public Task BPG0013_constant_length_buffers_that_do_not_fit() => VerifyCalls("""
        using System;

        [Network] [Input(4)] [Dense(3)]
        public partial class N;

        public static class Use
        {
            public static void Run(N net, float[] any)
            {
                net.Predict({|BPG0013:new float[6]|}, new float[3]);
                net.Predict(new float[8], {|BPG0013:new float[3]|});
                net.Predict([1f, 2f, 3f, 4f], {|BPG0013:stackalloc float[4]|});
                net.ComputeGradients(new float[8], {|BPG0013:new[] { 0, 1, 2 }|});
                net.TrainStep({|BPG0013:[1f, 2f]|}, new[] { 0 }, new Sgd(0.1f));

                // Fine: whole samples, or lengths not known at compile time.
                net.Predict(new float[8], new float[6]);
                net.Predict(any, new float[3]);
                net.Predict(stackalloc float[] { 1, 2, 3, 4 }, stackalloc float[3]);
                net.ComputeGradients(new float[4], new[] { 2 });
            }
        }
        """);

    [Fact]
    public void BPG0100_summary_is_off_by_default_and_shows_the_shapes_when_enabled()
    {
        const string Source = """
            using Backprop;
            [Network] [Input(784)] [Dense(256, Activation = Activation.Relu)] [Dense(10)]
            public partial class Mlp;
            """;
        Assert.DoesNotContain(Analysis.Run(Source).Diagnostics, d => d.Id == "BPG0100");
        var summary = Assert.Single(Analysis.Run(Source, summary: true).Diagnostics, d => d.Id == "BPG0100");
        Assert.Equal("Mlp: input [784] → dense1 [256] → dense2 [10]; 203,530 parameters, loss SoftmaxCrossEntropy", summary.GetMessage());
        Assert.Equal("Mlp", summary.Location.SourceTree!.GetText().ToString(summary.Location.SourceSpan));
    }

    [Fact]
    public void Messages_name_the_layers_and_shapes()
    {
        var result = Analysis.Run("""
            using Backprop;
            [Network] [Input(4)] [Dense(5, Activation = Activation.Softmax)] [Dense(1)]
            public partial class N;
            """);
        var messages = result.Diagnostics.Where(d => d.Id.StartsWith("BPG", System.StringComparison.Ordinal)).Select(d => d.GetMessage()).ToList();
        Assert.Contains(messages, m => m.Contains("Dense 'dense1' uses Softmax", System.StringComparison.Ordinal));
        Assert.All(result.Diagnostics, d => Assert.NotEqual(DiagnosticSeverity.Hidden, d.Severity));
    }

    [Fact]
    public Task BPG0019_networks_too_large_for_one_buffer() => Verify("""
        [Network] [Input({|BPG0019:100000|}, 100000)] [Dense(2)]
        public partial class A;

        [Network] [Input(60000)] [Dense({|BPG0019:60000|})] [Dense(2)]
        public partial class B;

        [Network] [Input(1, 5, 40000)] [{|BPG0019:Conv2D(40000, 3, padding: 1)|}] [Flatten] [Dense(2)]
        public partial class C;
        """);

    [Fact]
    public void Too_large_is_not_reported_as_a_non_positive_size()
    {
        var result = Analysis.Run("""
            using Backprop;
            [Network] [Input(60000)] [Dense(60000)] [Dense(2)]
            public partial class N;
            """);
        var diagnostic = Assert.Single(result.Diagnostics, d => d.Id.StartsWith("BPG0", System.StringComparison.Ordinal));
        Assert.Equal("BPG0019", diagnostic.Id);
        Assert.Equal("Dense 'dense1' (60000 inputs x 60000 units) makes the network too large for one parameter block.", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The table is the one source: every rule has a docs section, a help link to it, and exactly its line in
    /// AnalyzerReleases.Unshipped.md (the release-tracking analyzer cannot follow the table, so this test does its job);
    /// every message is a format with numbered arguments, and every row is used by the generator.
    /// </summary>
    [Fact]
    public void The_diagnostics_table_matches_the_docs_the_release_file_and_the_descriptors()
    {
        string root = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.AppContext.BaseDirectory, "../../../.."));
        string docs = System.IO.File.ReadAllText(System.IO.Path.Combine(root, "docs", "diagnostics.md"));
        var releases = System.IO.File.ReadAllLines(System.IO.Path.Combine(root, "Generator", "AnalyzerReleases.Unshipped.md"))
            .Where(line => line.StartsWith("BPG", System.StringComparison.Ordinal)).ToList();
        var rules = Backprop.Generator.Diagnostics.DiagnosticTable.Rules;

        Assert.Equal(rules.Select(r => r.Id).Distinct().Count(), rules.Length);
        Assert.Equal(releases.Count, rules.Length);
        foreach (var rule in rules)
        {
            Assert.Contains("## " + rule.Id + "\n", docs);
            Assert.Contains($"[{rule.Id}](#{rule.Id.ToLowerInvariant()})", docs);
            Assert.EndsWith("docs/diagnostics.md#" + rule.Id.ToLowerInvariant(), rule.HelpLink);
            string severity = rule.EnabledByDefault ? rule.Severity.ToString() : "Disabled";
            Assert.Contains($"{rule.Id} | {rule.Category} | {severity} | {rule.Title}", releases);
            Assert.NotEmpty(rule.Messages);
            foreach (var message in rule.Messages)
            {
                var descriptor = message.Descriptor;
                Assert.Equal((rule.Id, rule.Title, rule.Category, rule.Severity, rule.HelpLink),
                    (descriptor.Id, descriptor.Title.ToString(System.Globalization.CultureInfo.InvariantCulture), descriptor.Category, descriptor.DefaultSeverity, descriptor.HelpLinkUri));
                // Arguments {0}..{n-1}, each used, and words around them (not a bare "{0}").
                var used = System.Text.RegularExpressions.Regex.Matches(message.Format, @"\{(\d+)\}").Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().OrderBy(i => i).ToList();
                Assert.Equal(Enumerable.Range(0, used.Count), used);
                Assert.True(message.Format.Length > 20, message.Format);
            }
        }

        // Each message of the table is reported somewhere (its field is named outside the table).
        string sources = string.Join("\n", System.IO.Directory.GetFiles(System.IO.Path.Combine(root, "Generator"), "*.cs", System.IO.SearchOption.AllDirectories)
            .Where(path => !path.Contains(System.IO.Path.DirectorySeparatorChar + "obj" + System.IO.Path.DirectorySeparatorChar, System.StringComparison.Ordinal)
                && !path.EndsWith("DiagnosticTable.cs", System.StringComparison.Ordinal))
            .Select(System.IO.File.ReadAllText));
        var fields = typeof(Backprop.Generator.Diagnostics.DiagnosticTable).GetFields()
            .Where(f => f.FieldType == typeof(Backprop.Generator.Diagnostics.DiagnosticMessage)).ToList();
        Assert.Equal(rules.Sum(r => r.Messages.Count), fields.Count);
        Assert.All(fields, field => Assert.Matches(@"\b" + field.Name + @"\b", sources));

        // Every example message in a rule's docs section is one of that rule's messages (an argument stands for any text).
        var sections = System.Text.RegularExpressions.Regex.Split(docs, @"^## ", System.Text.RegularExpressions.RegexOptions.Multiline);
        int examples = 0;
        foreach (var rule in rules.Where(r => r.Id != "BPG0100"))
        {
            string section = sections.Single(x => x.StartsWith(rule.Id + "\n", System.StringComparison.Ordinal));
            var formats = rule.Messages.Select(m => new System.Text.RegularExpressions.Regex(
                "^" + string.Join(".*?", System.Text.RegularExpressions.Regex.Split(m.Format, @"\{\d+\}").Select(System.Text.RegularExpressions.Regex.Escape)) + "$")).ToList();
            foreach (System.Text.RegularExpressions.Match example in System.Text.RegularExpressions.Regex.Matches(section, "`([^`\n]{25,}[.)])`"))
            {
                string text = example.Groups[1].Value;
                if (!text.Contains('\'') || text.StartsWith("[Network]", System.StringComparison.Ordinal))
                {
                    continue; // code, not a message
                }
                examples++;
                Assert.True(formats.Any(f => f.IsMatch(text)), $"{rule.Id}'s docs show a message the table does not have: {text}");
            }
        }
        Assert.True(examples >= 30, $"{examples} example messages found in docs/diagnostics.md");

        // The analyzers support exactly the table's descriptors.
        var supported = new NetworkAnalyzer().SupportedDiagnostics.Concat(new CallSiteAnalyzer().SupportedDiagnostics).ToList();
        Assert.Equal(fields.Count, supported.Count);
        Assert.Equal(rules.Select(r => r.Id).OrderBy(id => id), supported.Select(d => d.Id).Distinct().OrderBy(id => id));
    }
}
