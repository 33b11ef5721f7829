using System;
using System.IO;
using System.Linq;
using Backprop.Kernels;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Non-finite numbers never reach the weights: a training batch with a NaN or an infinity is refused before anything
/// changes, SetTensor and Load refuse non-finite tensors, the optimizers keep a NaN a NaN (never a silent 0), and the
/// hyperparameters that would make one (epsilon = 0) are refused by name.
/// </summary>
public class NumericGuardTests
{
    private static float[] Inputs(int batch, int size, int seed)
    {
        var random = new Random(seed);
        var values = new float[batch * size];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }
        return values;
    }

    public static TheoryData<string> Optimizers => new() { "sgd", "momentum", "adam", "adamw" };

    private static Optimizer Create(string name) => name switch
    {
        "sgd" => new Sgd(0.1f),
        "momentum" => new Sgd(0.1f, momentum: 0.9f),
        "adam" => new Adam(1e-3f),
        _ => new AdamW(1e-3f),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void An_infinite_or_NaN_input_is_refused_by_sample_and_feature_and_changes_nothing(string optimizerName)
    {
        foreach (float bad in new[] { float.PositiveInfinity, float.NegativeInfinity, float.NaN })
        {
            foreach (int batch in new[] { 4, 64 }) // one pass, and data-parallel shards
            {
                var net = new FashionMlp(maxBatch: 64, seed: 3);
                var optimizer = Create(optimizerName);
                var inputs = Inputs(batch, FashionMlp.InputSize, 1);
                var labels = new int[batch];
                net.TrainStep(inputs, labels, optimizer);
                var parameters = net.Parameters.ToArray();
                var gradients = net.Gradients.ToArray();
                long steps = optimizer.StepCount;

                inputs[2 * FashionMlp.InputSize + 17] = bad;
                var e = Assert.Throws<ArgumentException>(() => net.TrainStep(inputs, labels, optimizer));
                Assert.Equal("inputs", e.ParamName);
                Assert.StartsWith($"FashionMlp: inputs[{2 * 784 + 17}] (sample 2, value 17 of 784) is {bad.ToString(System.Globalization.CultureInfo.InvariantCulture)}", e.Message);
                Assert.Throws<ArgumentException>(() => net.ComputeGradients(inputs, labels));
                Bitwise.AssertEqual(parameters, net.Parameters.ToArray());
                Bitwise.AssertEqual(gradients, net.Gradients.ToArray());
                Assert.Equal(steps, optimizer.StepCount);

                // The optimizer's state is untouched too: the next good step matches a twin that never saw the bad batch.
                var twin = new FashionMlp(maxBatch: 64, seed: 3);
                var twinOptimizer = Create(optimizerName);
                var good = Inputs(batch, FashionMlp.InputSize, 1);
                twin.TrainStep(good, labels, twinOptimizer);
                twin.TrainStep(good, labels, twinOptimizer);
                net.TrainStep(good, labels, optimizer);
                Bitwise.AssertEqual(twin.Parameters.ToArray(), net.Parameters.ToArray());
            }
        }
    }

    [Fact]
    public void A_non_finite_target_is_refused_by_sample()
    {
        var net = new RegressionNet(maxBatch: 4, seed: 1);
        var targets = new float[3 * RegressionNet.OutputSize];
        targets[5] = float.NaN;
        var before = net.Parameters.ToArray();
        var e = Assert.Throws<ArgumentException>(() => net.TrainStep(Inputs(3, RegressionNet.InputSize, 2), targets, new Sgd(0.1f)));
        Assert.Equal("targets", e.ParamName);
        Assert.StartsWith("RegressionNet: targets[5] (sample 2, value 1 of 2) is NaN", e.Message);
        Bitwise.AssertEqual(before, net.Parameters.ToArray());
    }

    [Fact]
    public void A_gradient_that_is_not_finite_is_named_by_its_tensor()
    {
        var net = new SoftmaxNet(seed: 1);
        var gradients = new float[SoftmaxNet.ParameterCount];
        NetworkGuard.FiniteGradients("SoftmaxNet", gradients, net.Tensors, step: 4);
        gradients[7 * 13 + 2] = float.PositiveInfinity; // dense1.bias follows dense1.weight's 91 values
        var e = Assert.Throws<ArithmeticException>(() => NetworkGuard.FiniteGradients("SoftmaxNet", gradients, net.Tensors, step: 4));
        Assert.StartsWith("SoftmaxNet: the gradient of 'dense1.bias' is Infinity at optimizer step 5", e.Message);
    }

    public static TheoryData<string, string, int> Saturations()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string network in new[] { "dense", "cnn" })
        {
            foreach (string optimizer in new[] { "sgd", "momentum", "adam", "adamw" })
            {
                foreach (int batch in new[] { 1, 5, 64 }) // a fused SGD step, a blocked one, data-parallel shards
                {
                    data.Add(network, optimizer, batch);
                }
            }
        }
        return data;
    }

    /// <summary>
    /// Huge first-layer weights make the Relu outputs +∞ and the Sigmoid layer after them saturate: the loss is finite,
    /// the output layer's gradient (computed first) too, but the Sigmoid layer's weight gradient is NaN. The step is
    /// refused naming that tensor, and changes nothing: parameters, the optimizer's state and its step count. The
    /// infinite activation makes the dense layers' bound infinite, so the step checks every gradient before stepping; one
    /// thread and data-parallel alike.
    /// </summary>
    [Theory]
    [MemberData(nameof(Saturations))]
    public void A_non_finite_gradient_under_a_finite_loss_is_refused_and_changes_nothing(string network, string optimizerName, int batch)
    {
        INetwork Create() => network == "dense"
            ? new SaturatingNet(maxBatch: 64, seed: 2) { MaxThreads = 2 }
            : new SaturatingCnn(maxBatch: 64, seed: 2) { MaxThreads = 2 };
        string first = network == "dense" ? "dense1.weight" : "conv1.weight";
        string saturated = network == "dense" ? "dense2.weight" : "dense1.weight";
        var net = Create();
        var twin = Create();
        var optimizer = NumericGuardTests.Create(optimizerName);
        var twinOptimizer = NumericGuardTests.Create(optimizerName);
        var inputs = Inputs(batch, net.InputSize, 5);
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] += 1f; // positive inputs: with positive weights every Relu output overflows
        }
        var targets = Inputs(batch, net.OutputSize, 6);
        net.TrainStep(inputs, targets, optimizer);
        twin.TrainStep(inputs, targets, twinOptimizer);

        int length = net.Tensors.First(tensor => tensor.Name == first).Shape.Aggregate(1, (a, b) => a * b);
        var kept = new float[length];
        net.CopyTensor(first, kept);
        var huge = new float[length];
        Array.Fill(huge, 3e38f);
        net.SetTensor(first, huge);
        var saturatedLength = net.Tensors.First(tensor => tensor.Name == saturated).Shape.Aggregate(1, (a, b) => a * b);
        var positive = new float[saturatedLength];
        Array.Fill(positive, 0.5f);
        net.SetTensor(saturated, positive);
        twin.SetTensor(saturated, positive);
        var parameters = net.Parameters.ToArray();
        long steps = optimizer.StepCount;

        float loss = net.ComputeLoss(inputs, targets);
        Assert.True(float.IsFinite(loss), $"the loss should stay finite, was {loss}");
        var e = Assert.Throws<ArithmeticException>(() => net.TrainStep(inputs, targets, optimizer));
        Assert.StartsWith($"{net.GetType().Name}: the gradient of '{saturated}' is NaN at optimizer step {steps + 1} (the loss was finite); the parameters were not updated.", e.Message);
        Bitwise.AssertEqual(parameters, net.Parameters.ToArray());
        Assert.Equal(steps, optimizer.StepCount);

        // The optimizer's state is untouched too: with the first layer put back, the next step matches the twin's.
        net.SetTensor(first, kept);
        net.TrainStep(inputs, targets, optimizer);
        twin.TrainStep(inputs, targets, twinOptimizer);
        Bitwise.AssertEqual(twin.Parameters.ToArray(), net.Parameters.ToArray());
    }

    /// <summary>
    /// A gradient that overflows while every activation and δ is finite, so that only the bound itself can catch it
    /// before the in-pass update: in a first dense layer, an input of 3e38 that reaches no unit (the bound takes the
    /// input's magnitude from its check, not from the layer's input); in a convolution with tiny weights, a pixel of
    /// 3e38 (the convolution's gradients are checked as they are written). Targets far off make δ large. Refused,
    /// nothing changed, at batch 1 and data-parallel.
    /// </summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void A_gradient_that_overflows_from_finite_activations_is_refused_and_changes_nothing(string optimizerName)
    {
        foreach (int batch in new[] { 1, 64 })
        {
            foreach (string network in new[] { "dense", "cnn" })
            {
                INetwork net = network == "dense"
                    ? new RegressionNet(maxBatch: 64, seed: 4) { MaxThreads = 2 }
                    : new SaturatingCnn(maxBatch: 64, seed: 4) { MaxThreads = 2 };
                string first = network == "dense" ? "dense1.weight" : "conv1.weight";
                int length = net.Tensors.First(tensor => tensor.Name == first).Shape.Aggregate(1, (a, b) => a * b);
                var weight = new float[length];
                if (network == "dense")
                {
                    net.CopyTensor(first, weight);
                    for (int unit = 0; unit < 24; unit++)
                    {
                        weight[unit * 3 + 1] = 0f; // input 1 reaches no unit
                    }
                }
                else
                {
                    Array.Fill(weight, 1e-38f); // the huge pixel gives outputs of about 3, the others about 0
                }
                net.SetTensor(first, weight);
                var inputs = Inputs(batch, net.InputSize, 9);
                inputs[1] = 3e38f;
                var targets = new float[batch * net.OutputSize];
                Array.Fill(targets, 1e6f);
                var optimizer = Create(optimizerName);
                Assert.True(float.IsFinite(net.ComputeLoss(inputs, targets)));
                var parameters = net.Parameters.ToArray();
                var e = Assert.Throws<ArithmeticException>(() => net.TrainStep(inputs, targets, optimizer));
                Assert.Contains($"the gradient of '{first}' is", e.Message);
                Bitwise.AssertEqual(parameters, net.Parameters.ToArray());
                Assert.Equal(0, optimizer.StepCount);
            }
        }
    }

    /// <summary>
    /// Values so large that <see cref="GradientBound"/> cannot prove the gradients finite at batch 1 (an input of 3e37
    /// that reaches no unit, and targets far off), although they are: the step checks them all, finds them finite, and
    /// steps the whole block, exactly as ComputeGradients followed by Step does; at larger batches, whichever way the
    /// step goes, the same.
    /// </summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Huge_finite_gradients_step_as_a_whole_block_step_does(string optimizerName)
    {
        foreach (int batch in new[] { 1, 5, 64 })
        {
            var net = new RegressionNet(maxBatch: 64, seed: 4) { MaxThreads = 2 };
            var twin = new RegressionNet(maxBatch: 64, seed: 4) { MaxThreads = 2 };
            var weight = new float[24 * 3];
            net.CopyTensor("dense1.weight", weight);
            for (int unit = 0; unit < 24; unit++)
            {
                weight[unit * 3 + 1] = 0f; // input 1 reaches no unit: the outputs stay small, its weight gradients do not
            }
            net.SetTensor("dense1.weight", weight);
            twin.SetTensor("dense1.weight", weight);
            var inputs = Inputs(batch, RegressionNet.InputSize, 7);
            inputs[1] = 3e37f;
            var targets = new float[batch * RegressionNet.OutputSize];
            Array.Fill(targets, 10f);
            var optimizer = Create(optimizerName);
            net.TrainStep(inputs, targets, optimizer);
            Assert.Equal(1, optimizer.StepCount);
            Assert.All(net.Gradients.ToArray(), g => Assert.True(float.IsFinite(g)));
            Assert.Contains(net.Gradients.ToArray(), g => Math.Abs(g) > 1e36f);

            var reference = Create(optimizerName);
            twin.ComputeGradients(inputs, targets);
            reference.Step(twin.Parameters, twin.Gradients);
            Bitwise.AssertEqual(twin.Parameters.ToArray(), net.Parameters.ToArray());
        }
    }

    [Fact]
    public void GradientBound_covers_every_product_and_sum_and_is_infinite_for_a_non_finite_value()
    {
        // Two rows: a = [[1, -3], [0.5, 2]], b = [[4, -1, 0], [-2, 1, 1]]: rows · max(1, max|a|) · max|b| = 2 · 3 · 4 = 24.
        float[] a = [1f, -3f, 0.5f, 2f];
        float[] b = [4f, -1f, 0f, -2f, 1f, 1f];
        Assert.Equal(24.0, GradientBound.Rows(a, 2, b, 3, 2));
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                Assert.True(Math.Abs(a[i] * b[j] + a[2 + i] * b[3 + j]) <= 24.0);
                Assert.True(Math.Abs(b[j] + b[3 + j]) <= 24.0);
            }
        }
        Assert.Equal(8.0, GradientBound.Sums(b, 3, 2));
        Assert.Equal(3.0 * 8.0, GradientBound.Scaled(3f, b, 3, 2));
        Assert.Equal(8.0, GradientBound.Scaled(0.25f, b, 3, 2)); // magnitudes under 1 count as 1 (the bias gradient)
        Assert.Equal(double.PositiveInfinity, GradientBound.Scaled(float.NaN, b, 3, 2));
        Assert.Equal(4.0, GradientBound.Exact(b)); // a magnitude, so that shards' bounds add up

        // A non-finite value anywhere, in a or in b, and whichever lane (vector body or scalar tail) holds it.
        foreach (int length in new[] { 5, 16, 37, 100 })
        {
            var values = new float[length];
            Assert.Equal(0f, GradientBound.MaxAbs(values));
            values[length / 2] = -7f;
            Assert.Equal(7f, GradientBound.MaxAbs(values));
            foreach (int at in new[] { 0, length / 3, length - 1 })
            {
                foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                {
                    var copy = values.ToArray();
                    copy[at] = bad;
                    Assert.Equal(float.PositiveInfinity, GradientBound.MaxAbs(copy));
                    Assert.Equal(double.PositiveInfinity, GradientBound.Rows(copy, length, [0f], 1, 1)); // ∞ · 0 is NaN
                    Assert.Equal(double.PositiveInfinity, GradientBound.Rows([1f], 1, copy, length, 1));
                    Assert.Equal(double.PositiveInfinity, GradientBound.Sums(copy, length, 1));
                    Assert.Equal(double.PositiveInfinity, GradientBound.Exact(copy));
                }
            }
        }
    }

    [Theory]
    [InlineData(0, -1)]
    [InlineData(1, -1)]
    [InlineData(33, 32)]
    [InlineData(40, 39)]
    public void IndexOfNonFinite_finds_the_first_bad_value_anywhere(int length, int bad)
    {
        var values = new float[length];
        Assert.Equal(-1, NetworkGuard.IndexOfNonFinite(values));
        if (bad >= 0)
        {
            values[bad] = float.NaN;
            Assert.Equal(bad, NetworkGuard.IndexOfNonFinite(values));
            values[bad / 2] = float.NegativeInfinity;
            Assert.Equal(bad / 2, NetworkGuard.IndexOfNonFinite(values));
        }
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Optimizers_keep_a_NaN_gradient_a_NaN(string optimizerName)
    {
        // Called directly (past the network's checks): the parameter becomes NaN, loud, never a silent 0.
        var parameters = new float[40];
        Array.Fill(parameters, 0.5f);
        var gradients = new float[40];
        gradients[3] = float.NaN;
        gradients[37] = float.NaN;
        var optimizer = Create(optimizerName);
        optimizer.Step(parameters, gradients);
        Assert.True(float.IsNaN(parameters[3]) && float.IsNaN(parameters[37]), $"{parameters[3]}, {parameters[37]}");
        Assert.True(float.IsFinite(parameters[4]));
    }

    [Fact]
    public void Hyperparameters_that_would_make_NaN_are_refused_by_name()
    {
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: 0f)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(epsilon: -1e-8f)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: float.PositiveInfinity)).ParamName);
        Assert.Equal("beta1", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1f)).ParamName);
        Assert.Equal("beta2", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta2: float.NaN)).ParamName);
        Assert.Equal("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(weightDecay: -1f)).ParamName);
        Assert.Equal("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1f, momentum: 1.5f)).ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(float.NaN)).ParamName);
        Assert.Equal("nesterov", Assert.Throws<ArgumentException>(() => new Sgd(0.1f, nesterov: true)).ParamName);
    }

    [Fact]
    public void SetTensor_and_Load_refuse_non_finite_tensors_and_keep_the_model()
    {
        var net = new SoftmaxNet(seed: 1);
        var before = net.Parameters.ToArray();
        var bias = new float[5];
        bias[4] = float.NegativeInfinity;
        var e = Assert.Throws<ArgumentException>(() => net.SetTensor("dense2.bias", bias));
        Assert.StartsWith("SoftmaxNet: tensor 'dense2.bias' holds -Infinity at index 4; parameters must be finite, and nothing was changed.", e.Message);
        Bitwise.AssertEqual(before, net.Parameters.ToArray());

        // A file written from a network whose memory was made NaN through Parameters (Save does not judge it).
        var poisoned = new SoftmaxNet(seed: 2);
        poisoned.Parameters[SoftmaxNet.ParameterCount - 1] = float.NaN;
        var file = new MemoryStream();
        poisoned.Save(file);
        file.Position = 0;
        var load = Assert.Throws<InvalidDataException>(() => net.Load(file));
        Assert.Equal("Tensor 'dense2.bias' holds NaN at index 4; SoftmaxNet loads finite parameters only (the model was not changed).", load.Message);
        Bitwise.AssertEqual(before, net.Parameters.ToArray());
    }

    [Fact]
    public void A_maxBatch_too_large_for_the_buffers_is_refused_with_the_limit()
    {
        // WideNet's largest buffer holds 100 floats per sample.
        int limit = Kernels.AlignedBuffer.MaxLength / 100;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new WideNet(maxBatch: limit + 1));
        Assert.Equal("maxBatch", e.ParamName);
        Assert.Contains($"maxBatch can be at most {limit}", e.Message);
        Assert.Contains("100 floats per sample", e.Message);
        Assert.Equal("maxBatch", Assert.Throws<ArgumentOutOfRangeException>(() => new WideNet(maxBatch: int.MaxValue)).ParamName);
        Assert.Equal("maxBatch", Assert.Throws<ArgumentOutOfRangeException>(() => new WideNet(maxBatch: 0)).ParamName);
    }

    [Fact]
    public void Trainer_names_the_dataset_row_and_the_network()
    {
        var net = new SoftmaxNet(maxBatch: 4, seed: 1);
        var inputs = Inputs(10, SoftmaxNet.InputSize, 3);
        var labels = new int[10];
        labels[7] = 9;
        var e = Assert.Throws<ArgumentException>(() => Trainer.TrainEpoch(net, inputs, labels, new Sgd(0.1f), 4, new Random(1)));
        Assert.StartsWith("SoftmaxNet: the label of dataset row 7 is 9", e.Message);
        labels[7] = 1;
        inputs[6 * SoftmaxNet.InputSize + 3] = float.NaN;
        e = Assert.Throws<ArgumentException>(() => Trainer.TrainEpoch(net, inputs, labels, new Sgd(0.1f), 4, new Random(1)));
        Assert.StartsWith("SoftmaxNet: dataset row 6, feature 3 is NaN", e.Message);
        inputs[6 * SoftmaxNet.InputSize + 3] = 0;

        // NaN outputs are refused by Accuracy (they used to count as class 0).
        net.Parameters[SoftmaxNet.ParameterCount - 1] = float.NaN;
        var nan = Assert.Throws<ArithmeticException>(() => Trainer.Accuracy(net, inputs, labels));
        Assert.StartsWith("SoftmaxNet: the output for dataset row 0 is NaN", nan.Message);
    }
}
