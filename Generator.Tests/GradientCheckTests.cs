using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Every backward pass against central finite differences of an independent double-precision implementation
/// (<see cref="ReferenceNetwork"/>) on the same weights and inputs.
/// </summary>
public class GradientCheckTests
{
    public static TheoryData<string> Networks => new(TestData.GradientCheckNetworks);

    [Theory]
    [MemberData(nameof(Networks))]
    public void Backward_matches_finite_differences(string name)
    {
        var random = new Random(name.Length * 7919);
        var network = TestData.Create(name, maxBatch: 4, seed: 11);
        // BatchNorm1d needs two samples per training batch (one value per feature has no variance).
        foreach (int batch in name is nameof(BatchNormMlp) or nameof(BatchNormCnn) ? new[] { 2, 3, 4 } : new[] { 1, 3, 4 })
        {
            Check(network, random, batch, name);
        }
    }

    /// <summary>
    /// Random architectures compiled in memory: depths 1 to 3, sizes from 1 to 40 (most not multiples of the
    /// vector width), every activation and every loss that fits.
    /// </summary>
    [Fact]
    public void Backward_matches_finite_differences_on_random_shapes()
    {
        var random = new Random(20261125);
        var source = new StringBuilder("using Backprop;\nnamespace Random;\n");
        string[] hidden = ["Linear", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu"];
        int[] sizes = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 31, 33, 40];
        const int Count = 16;
        for (int n = 0; n < Count; n++)
        {
            int depth = random.Next(1, 4);
            int loss = n % 3;
            int outputs = sizes[random.Next(sizes.Length)];
            if (loss == 0 && outputs == 1)
            {
                outputs = 2;
            }
            string last = loss switch
            {
                0 => random.Next(2) == 0 ? "Softmax" : hidden[random.Next(hidden.Length)],
                1 => random.Next(2) == 0 ? "Sigmoid" : hidden[random.Next(hidden.Length)],
                _ => random.Next(3) == 0 ? "Softmax" : hidden[random.Next(hidden.Length)],
            };
            source.Append(CultureInfo.InvariantCulture, $"[Network(Loss = Loss.{new[] { "SoftmaxCrossEntropy", "BinaryCrossEntropy", "MeanSquaredError" }[loss]})]\n");
            source.Append(CultureInfo.InvariantCulture, $"[Input({(n == 0 ? 1 : sizes[random.Next(sizes.Length)])})]\n");
            for (int d = 1; d < depth; d++)
            {
                source.Append(CultureInfo.InvariantCulture, $"[Dense({(n == 1 ? 1 : sizes[random.Next(sizes.Length)])}, Activation = Activation.{hidden[random.Next(hidden.Length)]})]\n");
            }
            source.Append(CultureInfo.InvariantCulture, $"[Dense({outputs}, Activation = Activation.{last})]\n");
            source.Append(CultureInfo.InvariantCulture, $"public partial class Net{n};\n");
        }

        var assembly = Compiler.Load(source.ToString());
        for (int n = 0; n < Count; n++)
        {
            var network = Compiler.Create(assembly, "Random.Net" + n, maxBatch: 3, seed: n);
            Check(network, random, batch: 1 + n % 3, "Net" + n);
        }
    }

    private static void Check(INetwork network, Random random, int batch, string name)
    {
        var (inputs, labels, targets) = TestData.Batch(network, random, batch);
        float loss = TestData.ComputeGradients(network, inputs, labels, targets);

        var reference = ReferenceNetwork.From(network);
        double[] x = TestData.ToDouble(inputs);
        double[]? t = targets is null ? null : TestData.ToDouble(targets);
        // The training-mode loss (batch statistics), as ComputeGradients computed it; ComputeGradients also moved the running
        // statistics, which the reference read from the network for the inference-mode outputs below.
        double expectedLoss = reference.LossOf(x, batch, labels, t);
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * Math.Max(1, Math.Abs(expectedLoss)),
            $"{name}, batch {batch}: loss {loss} but the reference gives {expectedLoss}.");

        // The forward pass too: Predict against the reference's outputs.
        var outputs = new float[batch * network.OutputSize];
        network.Predict(inputs, outputs);
        double[] expectedOutputs = reference.Forward(x, batch).Output;
        for (int i = 0; i < outputs.Length; i++)
        {
            Assert.True(Math.Abs(outputs[i] - expectedOutputs[i]) <= 1e-5 * Math.Max(1, Math.Abs(expectedOutputs[i])),
                $"{name}, batch {batch}: output {i} is {outputs[i]} but the reference gives {expectedOutputs[i]}.");
        }

        var numeric = reference.NumericGradients(x, batch, labels, t);
        double scale = Math.Max(numeric.Values.SelectMany(g => g).Select(Math.Abs).DefaultIfEmpty(0).Max(), 1e-3);
        var failures = new List<string>();
        foreach (var tensor in network.Tensors.Where(t => t.Trainable))
        {
            var analytic = new float[tensor.Length];
            network.CopyGradient(tensor.Name, analytic);
            double[] expected = numeric[tensor.Name];
            for (int i = 0; i < analytic.Length; i++)
            {
                double error = Math.Abs(analytic[i] - expected[i]);
                if (error > 1e-3 * Math.Abs(expected[i]) + 1e-5 * scale)
                {
                    failures.Add($"{tensor.Name}[{i}]: backward {analytic[i]:G9}, finite differences {expected[i]:G9}");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{name}, batch {batch}: {failures.Count} gradients differ:\n{string.Join("\n", failures.Take(20))}");
    }
}
