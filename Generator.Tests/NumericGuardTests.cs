using System;
using System.IO;
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
