using System;
using System.Linq;
using Backprop.Kernels;
using Xunit;

namespace Backprop.Tests;

/// <summary>Dropout's masks, modes and streams; ComputeLoss in inference mode.</summary>
public class DropoutTests
{
    [Fact]
    public void Masks_zero_the_rate_scale_the_rest_and_depend_only_on_seed_stream_pass_and_sample()
    {
        const int Batch = 40, Size = 2500;
        var x = new float[Batch * Size];
        var random = new Random(1);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)random.NextDouble() + 0.5f;
        }
        var y = new float[x.Length];
        var mask = new float[x.Length];
        Dropout.Forward(x, y, mask, Batch, Size, 0.25f, seed: 3, stream: 11, pass: 7, first: 0, training: true);
        int zeros = y.Count(v => v == 0f);
        // 100,000 draws at p = 0.25: the standard deviation of the count is about 137.
        Assert.InRange(zeros, 25_000 - 700, 25_000 + 700);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(y[i] == 0f ? mask[i] == 0f : y[i] == x[i] * (1f / 0.75f) && mask[i] == 1f / 0.75f, $"value {i}: {x[i]} -> {y[i]}, mask {mask[i]}");
        }

        // The same samples cut into two passes at another offset (two shards) draw the same masks.
        var halves = new float[x.Length];
        var halfMask = new float[x.Length];
        Dropout.Forward(x.AsSpan(0, 13 * Size), halves.AsSpan(0, 13 * Size), halfMask.AsSpan(0, 13 * Size), 13, Size, 0.25f, 3, 11, 7, first: 0, training: true);
        Dropout.Forward(x.AsSpan(13 * Size), halves.AsSpan(13 * Size), halfMask.AsSpan(13 * Size), Batch - 13, Size, 0.25f, 3, 11, 7, first: 13, training: true);
        Assert.Equal(y, halves);

        // Another pass, stream or seed draws other masks; inference mode is the identity.
        foreach (var (seed, stream, pass) in new[] { (3, 11, 8L), (3, 12, 7L), (4, 11, 7L) })
        {
            var other = new float[x.Length];
            Dropout.Forward(x, other, new float[x.Length], Batch, Size, 0.25f, seed, stream, pass, 0, training: true);
            Assert.InRange(other.Zip(y, (a, b) => (a == 0f) != (b == 0f)).Count(differs => differs), 30_000, 45_000);
        }
        var inference = new float[x.Length];
        Dropout.Forward(x, inference, default, Batch, Size, 0.25f, 3, 11, 7, 0, training: false);
        Assert.Equal(x, inference);
        Assert.Throws<ArgumentException>(() => Dropout.Forward(x, y, mask, Batch, Size, 1f, 3, 11, 7, 0, training: true));
    }

    [Fact]
    public void The_backward_pass_routes_the_gradient_through_the_same_mask()
    {
        var mask = new[] { 0f, 2f, 2f, 0f, 2f, 0f };
        var delta = new[] { 1f, 2f, 3f, 4f, 5f, 6f };
        var dx = new float[6];
        Dropout.Backward(delta, mask, dx, 2, 3);
        Assert.Equal(new[] { 0f, 4f, 6f, 0f, 10f, 0f }, dx);
    }

    /// <summary>
    /// Half the hidden values dropped: a training pass's loss is the same for one thread and two (the masks follow the
    /// sample, not the shard), differs from the next pass's (new masks), and from the inference-mode loss.
    /// </summary>
    [Fact]
    public void Training_masks_do_not_depend_on_the_thread_count_and_change_every_pass()
    {
        const int Batch = 64;
        var random = new Random(9);
        var inputs = Infrastructure.TestData.Uniform(random, Batch * HalfDropoutNet.InputSize);
        var targets = Infrastructure.TestData.Uniform(random, Batch * HalfDropoutNet.OutputSize);
        var one = new HalfDropoutNet(maxBatch: Batch, seed: 5) { MaxThreads = 1 };
        var two = new HalfDropoutNet(maxBatch: Batch, seed: 5) { MaxThreads = 2 };
        float first = one.ComputeGradients(inputs, targets);
        float firstTwo = two.ComputeGradients(inputs, targets);
        Assert.True(Math.Abs(first - firstTwo) <= 1e-5f * Math.Abs(first), $"one thread {first}, two threads {firstTwo}");
        var g1 = one.Gradients.ToArray();
        var g2 = two.Gradients.ToArray();
        for (int i = 0; i < g1.Length; i++)
        {
            Assert.True(Math.Abs(g1[i] - g2[i]) <= 1e-4f * (1 + Math.Abs(g1[i])), $"gradient {i}: {g1[i]} and {g2[i]}");
        }

        float second = one.ComputeGradients(inputs, targets);
        Assert.NotEqual(first, second);
        float evaluation = one.ComputeLoss(inputs, targets);
        Assert.NotEqual(first, evaluation);
        Assert.NotEqual(second, evaluation);
    }

    /// <summary>ComputeLoss is the loss of Predict's outputs, and changes nothing (gradients included).</summary>
    [Fact]
    public void ComputeLoss_is_the_inference_loss_and_touches_nothing()
    {
        const int Batch = 10;
        var random = new Random(2);
        var net = new HalfDropoutNet(maxBatch: Batch, seed: 1);
        var inputs = Infrastructure.TestData.Uniform(random, Batch * HalfDropoutNet.InputSize);
        var targets = Infrastructure.TestData.Uniform(random, Batch * HalfDropoutNet.OutputSize);
        net.ComputeGradients(inputs, targets);
        var gradients = net.Gradients.ToArray();
        var parameters = net.Parameters.ToArray();
        var outputs = new float[Batch * HalfDropoutNet.OutputSize];
        net.Predict(inputs, outputs);
        double expected = 0;
        for (int i = 0; i < outputs.Length; i++)
        {
            expected += (double)(outputs[i] - targets[i]) * (outputs[i] - targets[i]);
        }
        expected /= outputs.Length;
        float loss = net.ComputeLoss(inputs, targets);
        Assert.True(Math.Abs(loss - expected) <= 1e-6 * Math.Max(1, expected), $"ComputeLoss {loss}, from Predict {expected}");
        Assert.Equal(gradients, net.Gradients.ToArray());
        Assert.Equal(parameters, net.Parameters.ToArray());

        var labelled = new SoftmaxNet(maxBatch: 4, seed: 1);
        var x = Infrastructure.TestData.Uniform(random, 4 * SoftmaxNet.InputSize);
        int[] labels = [0, 1, 2, 0];
        Assert.Equal(labelled.ComputeGradients(x, labels), labelled.ComputeLoss(x, labels), 6);
        Assert.Throws<InvalidOperationException>(() => ((INetwork)labelled).ComputeLoss(x, new float[4 * SoftmaxNet.OutputSize]));
        Assert.Throws<ArgumentException>(() => labelled.ComputeLoss(x, [0, 1, 2, 99]));
        Assert.Throws<ArgumentException>(() => labelled.ComputeLoss(x.AsSpan(1), labels));
    }

    /// <summary>A layer's initial weights come from its name: inserting a Dropout changes no other layer's.</summary>
    [Fact]
    public void Inserting_a_layer_keeps_every_other_layers_initial_weights()
    {
        var with = new DropoutNet(seed: 4);
        var without = new DropoutTwinNet(seed: 4);
        foreach (var tensor in without.Tensors)
        {
            var a = new float[tensor.Length];
            var b = new float[tensor.Length];
            with.CopyTensor(tensor.Name, a);
            without.CopyTensor(tensor.Name, b);
            Assert.Equal(b, a);
        }
    }
}
