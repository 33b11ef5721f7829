using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// The generated source of representative networks against committed golden files in <c>Snapshots/</c>, compared
/// exactly (line endings normalized). Set UPDATE_SNAPSHOTS=1 to rewrite them; review the diff like code.
/// </summary>
public class SnapshotTests
{
    [Fact]
    public void FashionCnn_with_every_image_layer() => Verify("FashionCnn", """
        using Backprop;

        namespace Demo;

        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
        [MaxPool2D(2)]
        [Conv2D(32, 3, padding: 1, Activation = Activation.Tanh)]
        [AvgPool2D(2, Stride = 1)]
        [Conv2D(8, 1, Bias = false)]
        [Flatten]
        [Dense(10)]
        public partial class FashionCnn;
        """);

    [Fact]
    public void FashionCnnBn_with_batch_normalization_and_dropout() => Verify("FashionCnnBn", """
        using Backprop;

        namespace Demo;

        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
        [MaxPool2D(2)]
        [Conv2D(32, 3, padding: 1)]
        [BatchNorm(Activation = Activation.Relu)]
        [MaxPool2D(2)]
        [Flatten]
        [Dense(128, Activation = Activation.Relu)]
        [Dropout(0.25f)]
        [Dense(10)]
        public partial class FashionCnnBn;
        """);

    [Fact]
    public void SequenceGru_with_a_recurrent_layer() => Verify("SequenceGru", """
        using Backprop;

        namespace Demo;

        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(28, 28)]
        [Gru(128)]
        [Dense(10)]
        public partial class SequenceGru;
        """);

    [Fact]
    public void TextLstm_with_an_embedding_and_stacked_sequences() => Verify("TextLstm", """
        using Backprop;

        namespace Demo;

        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(12)]
        [Embedding(50, 8)]
        [Lstm(16, ReturnSequences = true)]
        [Lstm(16)]
        [Dense(2)]
        public partial class TextLstm;
        """);

    [Fact]
    public void FashionMlp_in_a_file_scoped_namespace() => Verify("FashionMlp", """
        using Backprop;

        namespace Demo;

        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(784)]
        [Dense(256, Activation = Activation.Relu)]
        [Dense(128, Activation = Activation.Relu)]
        [Dense(10)]
        public partial class FashionMlp;
        """);

    [Fact]
    public void Multi_label_classifier_without_a_namespace() => Verify("MultiLabel", """
        using Backprop;

        [Network(Loss = Loss.BinaryCrossEntropy)]
        [Input(12)]
        [Dense(20, Activation = Activation.Gelu, Name = "encoder")]
        [Dense(3, Activation = Activation.Sigmoid, Name = "head")]
        partial class MultiLabel;
        """);

    [Fact]
    public void Regression_nested_in_partial_types() => Verify("Regression", """
        using Backprop;

        namespace Forecasts.Models
        {
            public static partial class Catalog
            {
                internal partial class Regression
                {
                    [Network(Loss = Loss.MeanSquaredError)]
                    [Input(5)]
                    [Dense(16, Activation = Activation.Tanh)]
                    [Dense(8, Activation = Activation.LeakyRelu)]
                    [Dense(1)]
                    public partial class Forecaster;
                }
            }
        }
        """);

    private static void Verify(string name, string source, [CallerFilePath] string testFile = "")
    {
        var (output, result) = Compiler.Generate(source);
        Assert.Empty(Compiler.Problems(output));
        var generated = Assert.Single(result.GeneratedTrees);
        string actual = Normalize(generated.ToString());

        string path = Path.Combine(Path.GetDirectoryName(testFile)!, "Snapshots", name + ".verified.cs");
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"No snapshot {path}; run the tests with UPDATE_SNAPSHOTS=1 to create it, then review it.");
        string expected = Normalize(File.ReadAllText(path));
        if (expected != actual)
        {
            Assert.Fail($"The generated source of {name} differs from {path} (UPDATE_SNAPSHOTS=1 rewrites it):\n{Diff(expected, actual)}");
        }
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n").TrimStart('\uFEFF');

    private static string Diff(string expected, string actual)
    {
        string[] left = expected.Split('\n'), right = actual.Split('\n');
        for (int i = 0; i < Math.Max(left.Length, right.Length); i++)
        {
            string l = i < left.Length ? left[i] : "<end>", r = i < right.Length ? right[i] : "<end>";
            if (l != r)
            {
                return $"first difference at line {i + 1}:\n- {l}\n+ {r}\n(expected {left.Length} lines, got {right.Length})";
            }
        }
        return "(no line differs)";
    }
}
