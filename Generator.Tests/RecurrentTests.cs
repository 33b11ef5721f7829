using System;
using System.Linq;
using Xunit;

namespace Backprop.Tests;

/// <summary>The adding problem: 20 steps of (value, marker); the target is the sum of the two marked values.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(20, 2)]
[Gru(16)]
[Dense(1)]
public partial class AddingGru;

/// <summary>The adding problem for an LSTM.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(20, 2)]
[Lstm(16)]
[Dense(1)]
public partial class AddingLstm;

/// <summary>
/// Recurrent networks on a task that needs memory over time: the adding problem (Hochreiter and Schmidhuber 1997). A
/// model that does not know which values are marked can do no better than predicting the mean sum, 1, whose mean
/// squared error is the variance of a sum of two uniforms, 1/6.
/// </summary>
public class RecurrentTests
{
    private const int Steps = 20, Batch = 32;

    /// <summary>
    /// Inference keeps only the hidden (and LSTM cell) states, training every gate (<c>Recurrent.Forward</c>'s
    /// <c>training</c>): the two give the same loss bit for bit, on whole vectors of units (16, 90: five vectors of 16 and a
    /// tail) and on tails alone (3–5 units), for GRU, LSTM and SimpleRnn cells, stacked and per-step layers.
    /// </summary>
    [Fact]
    public void Inference_gives_the_training_pass_loss_bit_for_bit()
    {
        var random = new Random(11);
        foreach (var net in new INetwork[] { new WideGru(maxBatch: 7, seed: 3), new RnnNet(maxBatch: 7, seed: 3), new OneStepRecurrent(maxBatch: 7, seed: 3) })
        {
            var inputs = Enumerable.Range(0, 7 * net.InputSize).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
            var labels = Enumerable.Range(0, 7).Select(_ => random.Next(net.OutputSize)).ToArray();
            float inference = net.ComputeLoss(inputs, labels), training = net.ComputeGradients(inputs, labels);
            Assert.True(BitConverter.SingleToInt32Bits(training) == BitConverter.SingleToInt32Bits(inference), $"{net.GetType().Name}: inference {inference}, training {training}");
        }
        foreach (var net in new INetwork[] { new AddingGru(maxBatch: 7, seed: 3), new AddingLstm(maxBatch: 7, seed: 3), new StackedLstm(maxBatch: 7, seed: 3), new GruSequence(maxBatch: 7, seed: 3), new PerStepDense(maxBatch: 7, seed: 3) })
        {
            var inputs = Enumerable.Range(0, 7 * net.InputSize).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
            var targets = Enumerable.Range(0, 7 * net.OutputSize).Select(_ => (float)random.NextDouble()).ToArray();
            float inference = net.ComputeLoss(inputs, targets), training = net.ComputeGradients(inputs, targets);
            Assert.True(BitConverter.SingleToInt32Bits(training) == BitConverter.SingleToInt32Bits(inference), $"{net.GetType().Name}: inference {inference}, training {training}");
        }
    }

    private static (float[] Inputs, float[] Targets) AddingBatch(Random random, int batch)
    {
        var inputs = new float[batch * Steps * 2];
        var targets = new float[batch];
        for (int b = 0; b < batch; b++)
        {
            int first = random.Next(Steps / 2), second = Steps / 2 + random.Next(Steps / 2);
            for (int t = 0; t < Steps; t++)
            {
                float value = (float)random.NextDouble();
                inputs[(b * Steps + t) * 2] = value;
                if (t == first || t == second)
                {
                    inputs[(b * Steps + t) * 2 + 1] = 1f;
                    targets[b] += value;
                }
            }
        }
        return (inputs, targets);
    }

    private static (float[] Losses, float TestError) Train(INetwork network, int steps)
    {
        var random = new Random(2026);
        var optimizer = new Adam(0.01f);
        var losses = new float[steps];
        for (int step = 0; step < steps; step++)
        {
            var (inputs, targets) = AddingBatch(random, Batch);
            losses[step] = network.TrainStep(inputs, targets, optimizer);
        }
        var (testInputs, testTargets) = AddingBatch(new Random(7), Batch);
        return (losses, network.ComputeLoss(testInputs, testTargets));
    }

    [Theory]
    [InlineData(nameof(AddingGru))]
    [InlineData(nameof(AddingLstm))]
    public void Solves_the_adding_problem_deterministically(string name)
    {
        INetwork Create() => name == nameof(AddingGru) ? new AddingGru(Batch, seed: 5) : new AddingLstm(Batch, seed: 5);
        var (losses, error) = Train(Create(), 1500);
        // The baseline that ignores the markers has an error of 1/6; a model that remembers the marked values goes far below it.
        Assert.True(error < 0.01f, $"{name}: test mean squared error {error} after 1,500 steps (baseline 0.167); last losses {string.Join(", ", losses[^5..])}.");

        var (again, errorAgain) = Train(Create(), 1500);
        Assert.True(losses.SequenceEqual(again), $"{name}: a second run from the same seed took another path.");
        Assert.Equal(error, errorAgain);
    }

    [Fact]
    public void Gradient_clipping_reports_the_norm_and_leaves_the_fused_update_when_off()
    {
        var optimizer = new Sgd(0.1f);
        Assert.Null(optimizer.MaxGradientNorm);
        Assert.True(float.IsNaN(optimizer.LastGradientNorm));
        foreach (float bad in new[] { 0f, -1f, float.NaN, float.PositiveInfinity })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.MaxGradientNorm = bad);
        }

        var network = new AddingGru(Batch, seed: 5);
        var (inputs, targets) = AddingBatch(new Random(3), Batch);
        network.ComputeGradients(inputs, targets);
        double squares = 0;
        foreach (float g in network.Gradients)
        {
            squares += (double)g * g;
        }
        float norm = (float)Math.Sqrt(squares);

        // Clipping at half the norm: the step moves the parameters by exactly half the unclipped SGD step.
        var clipped = new AddingGru(Batch, seed: 5);
        var before = clipped.Parameters.ToArray();
        var sgd = new Sgd(0.1f) { MaxGradientNorm = norm / 2 };
        clipped.TrainStep(inputs, targets, sgd);
        Assert.Equal(norm, sgd.LastGradientNorm, 4);
        var after = clipped.Parameters.ToArray();
        var gradients = network.Gradients.ToArray();
        for (int i = 0; i < before.Length; i++)
        {
            float expected = before[i] - 0.1f * gradients[i] * (norm / 2) / (norm + 1e-6f);
            Assert.True(Math.Abs(after[i] - expected) <= 1e-6f + 1e-5f * Math.Abs(expected), $"parameter {i}: {after[i]}, expected {expected}.");
        }

        // Off again: the fused update inside the backward pass takes over.
        sgd.MaxGradientNorm = null;
        Assert.True(sgd.BeginPartialStep(AddingGru.ParameterCount));
    }

    /// <summary>The recurrent weight's column panels hold every element once, for widths of one panel, several, and a partial last one.</summary>
    [Theory]
    [InlineData(3, 9)]
    [InlineData(128, 384)]
    [InlineData(90, 270)]
    [InlineData(7, 600)]
    public void Recurrent_weight_panels_round_trip(int units, int width)
    {
        var source = Enumerable.Range(0, units * width).Select(i => (float)i).ToArray();
        var packed = new float[units * width];
        Kernels.Recurrent.PackRecurrentWeight(source, packed, units, width);
        Assert.Equal(source.Order(), packed.Order());
        // Element (gate row r, unit i) of PyTorch's [width, units] is W_hhᵀ[i, r]: in panel r / 256, row i, column r % 256.
        int row = width - 1, unit = units - 1, panel = row / Kernels.Recurrent.PanelWidth, columns = Math.Min(Kernels.Recurrent.PanelWidth, width - panel * Kernels.Recurrent.PanelWidth);
        Assert.Equal(source[row * units + unit], packed[units * panel * Kernels.Recurrent.PanelWidth + unit * columns + row % Kernels.Recurrent.PanelWidth]);
        var back = new float[units * width];
        Kernels.Recurrent.UnpackRecurrentWeight(packed, back, units, width);
        Assert.Equal(source, back);
    }
}
