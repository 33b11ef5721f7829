using System;
using System.IO;
using Backprop.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Backprop.Tests;

/// <summary>Every kind of bad input gives a clear exception that names the sizes; nothing changes.</summary>
public class BadInputTests
{
    private readonly SoftmaxNet _net = new(maxBatch: 4, seed: 1);

    [Theory]
    [InlineData(2.5f, "token id 2.5")]
    [InlineData(5f, "token id 5")]
    [InlineData(-1f, "token id -1")]
    [InlineData(float.NaN, "token id NaN")]
    public void Token_ids_that_are_not_integers_in_range_name_the_sample_and_step(float id, string expected)
    {
        var net = new EmbeddingLstm(maxBatch: 4, seed: 1);
        var before = new float[EmbeddingLstm.ParameterCount];
        net.Parameters.CopyTo(before);
        var inputs = new float[2 * 6];
        inputs[6 + 4] = id;
        var optimizer = new Adam(0.01f);
        foreach (Action call in new Action[]
        {
            () => net.Predict(inputs, new float[2 * 2]),
            () => net.ComputeGradients(inputs, new[] { 0, 1 }),
            () => net.TrainStep(inputs, new[] { 0, 1 }, optimizer),
            () => net.ComputeLoss(inputs, new[] { 0, 1 }),
        })
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal("inputs", e.ParamName);
            if (float.IsNaN(id) && !e.Message.Contains("token id", StringComparison.Ordinal))
            {
                // The training calls refuse non-finite inputs before they look at ids.
                Assert.Contains("sample 1", e.Message);
                Assert.Contains("NaN", e.Message);
                continue;
            }
            Assert.Contains(expected, e.Message);
            Assert.Contains("sample 1, step 4", e.Message);
            Assert.Contains("[0, 5)", e.Message);
        }
        Assert.Equal(before, net.Parameters.ToArray());
        Assert.Equal(0, optimizer.StepCount);
    }

    [Fact]
    public void Input_length_not_a_multiple_of_InputSize()
    {
        var e = Assert.Throws<ArgumentException>(() => _net.Predict(new float[10], new float[5]));
        Assert.Contains("10 values", e.Message);
        Assert.Contains("InputSize = 7", e.Message);
        Assert.Equal("inputs", e.ParamName);
        Assert.Throws<ArgumentException>(() => _net.Predict(ReadOnlySpan<float>.Empty, Span<float>.Empty));
    }

    [Fact]
    public void Batch_over_maxBatch()
    {
        var e = Assert.Throws<ArgumentException>(() => _net.Predict(new float[5 * 7], new float[5 * 5]));
        Assert.Contains("batch of 5", e.Message);
        Assert.Contains("maxBatch = 4", e.Message);
    }

    [Fact]
    public void Outputs_of_the_wrong_length()
    {
        var e = Assert.Throws<ArgumentException>(() => _net.Predict(new float[2 * 7], new float[9]));
        Assert.Contains("outputs hold 9 values", e.Message);
        Assert.Contains("2 x 5 = 10", e.Message);
    }

    [Fact]
    public void Labels_of_the_wrong_length_or_out_of_range()
    {
        var e = Assert.Throws<ArgumentException>(() => _net.ComputeGradients(new float[2 * 7], new int[3]));
        Assert.Contains("3 labels for a batch of 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => _net.ComputeGradients(new float[2 * 7], new[] { 0, 5 }));
        Assert.Contains("label 5 at index 1", e.Message);
        Assert.Contains("0 to 4", e.Message);
        Assert.Throws<ArgumentException>(() => _net.TrainStep(new float[7], new[] { -1 }, new Sgd(0.1f)));
    }

    [Fact]
    public void Targets_of_the_wrong_length_and_the_wrong_overload()
    {
        var regression = new RegressionNet(maxBatch: 4);
        var e = Assert.Throws<ArgumentException>(() => regression.ComputeGradients(new float[2 * 3], new float[3]));
        Assert.Contains("targets hold 3 values", e.Message);
        // A direct call of the wrong overload does not compile (see below); through INetwork it still throws.
        INetwork asRegression = regression, asSoftmax = _net;
        var wrong = Assert.Throws<InvalidOperationException>(() => asRegression.ComputeGradients(new float[3], new int[1]));
        Assert.Contains("MeanSquaredError", wrong.Message);
        wrong = Assert.Throws<InvalidOperationException>(() => asSoftmax.ComputeGradients(new float[7], new float[5]));
        Assert.Contains("labels", wrong.Message);
        wrong = Assert.Throws<InvalidOperationException>(() => asSoftmax.TrainStep(new float[7], new float[5], new Sgd(0.1f)));
        Assert.Contains("labels", wrong.Message);
    }

    [Theory]
    [InlineData("SoftmaxCrossEntropy", "net.ComputeGradients(new float[4], new float[3])",
        "Net is trained with SoftmaxCrossEntropy, which takes integer class labels: call ComputeGradients(inputs, labels) with a ReadOnlySpan<int>.")]
    [InlineData("SoftmaxCrossEntropy", "net.TrainStep(new float[4], new float[3], new Backprop.Sgd(0.1f))",
        "Net is trained with SoftmaxCrossEntropy, which takes integer class labels: call TrainStep(inputs, labels, optimizer) with a ReadOnlySpan<int>.")]
    [InlineData("MeanSquaredError", "net.ComputeGradients(new float[4], new int[1])",
        "Net is trained with MeanSquaredError, which takes float targets: call ComputeGradients(inputs, targets) with a ReadOnlySpan<float> of batch × OutputSize values.")]
    [InlineData("BinaryCrossEntropy", "net.TrainStep(new float[4], new int[1], new Backprop.Sgd(0.1f))",
        "Net is trained with BinaryCrossEntropy, which takes float targets: call TrainStep(inputs, targets, optimizer) with a ReadOnlySpan<float> of batch × OutputSize values.")]
    public void Calling_the_overload_that_does_not_fit_the_loss_is_a_build_error_naming_the_right_one(string loss, string call, string message)
    {
        var (output, _) = Compiler.Generate($$"""
            using Backprop;
            [Network(Loss = Loss.{{loss}})]
            [Input(4)]
            [Dense(3)]
            public partial class Net;
            public static class Use
            {
                public static float Run(Net net) => {{call}};
            }
            """);
        var error = Assert.Single(Compiler.Problems(output));
        Assert.Equal("CS0619", error.Id);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.EndsWith($"is obsolete: '{message}'", error.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Unknown_tensor_names_and_wrong_tensor_lengths()
    {
        var e = Assert.Throws<ArgumentException>(() => _net.CopyTensor("dense9.weight", new float[1]));
        Assert.Contains("no tensor 'dense9.weight'", e.Message);
        Assert.Contains("dense1.weight, dense1.bias, dense2.weight, dense2.bias", e.Message);
        Assert.Throws<ArgumentException>(() => _net.SetTensor("nope", new float[1]));
        Assert.Throws<ArgumentException>(() => _net.CopyGradient("nope", new float[1]));
        e = Assert.Throws<ArgumentException>(() => _net.SetTensor("dense1.weight", new float[90]));
        Assert.Contains("[13, 7] has 91 values; the buffer holds 90", e.Message);
    }

    [Fact]
    public void Invalid_constructor_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxNet(maxBatch: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(-1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1.5f));
        Assert.Throws<ArgumentException>(() => new Sgd(0.1f, nesterov: true));
    }

    [Fact]
    public void A_NaN_loss_refuses_the_update_and_leaves_the_parameters()
    {
        // A NaN weight, written through Parameters (the finite inputs pass the network's checks).
        _net.Parameters[3 * 13] = float.NaN; // input 3's weight to unit 0 (stored [inputs, units])
        float[] before = _net.Parameters.ToArray();
        var inputs = new float[7];
        inputs[3] = 1;
        var optimizer = new Adam();
        var e = Assert.Throws<ArithmeticException>(() => _net.TrainStep(inputs, new[] { 1 }, optimizer));
        Assert.Contains("NaN", e.Message);
        Assert.Equal(before, _net.Parameters.ToArray());
        Assert.Equal(0, optimizer.StepCount);
        // Gradients hold that batch's gradients, for inspection (the NaN went through them).
        Assert.Contains(_net.Gradients.ToArray(), float.IsNaN);
    }

    [Fact]
    public void One_optimizer_serves_one_parameter_block()
    {
        var optimizer = new Adam();
        _net.TrainStep(new float[7], new[] { 0 }, optimizer);
        var other = new DeepNet(maxBatch: 1);
        var e = Assert.Throws<ArgumentException>(() => other.TrainStep(new float[20], new[] { 0 }, optimizer));
        Assert.Contains("one optimizer per network", e.Message);
    }

    [Fact]
    public void An_optimizer_refuses_a_second_network_of_the_same_size()
    {
        var optimizer = new Adam();
        _net.TrainStep(new float[7], new[] { 0 }, optimizer);
        var twin = new SoftmaxNet(maxBatch: 4, seed: 2);
        float[] before = twin.Parameters.ToArray();
        var e = Assert.Throws<ArgumentException>(() => twin.TrainStep(new float[7], new[] { 1 }, optimizer));
        Assert.Contains("another network (SoftmaxNet", e.Message);
        Assert.Contains("one optimizer per network", e.Message);
        Assert.Equal("optimizer", e.ParamName);
        Assert.Equal(before, twin.Parameters.ToArray());
        Assert.Equal(1, optimizer.StepCount);
        // The first network goes on with it.
        _net.TrainStep(new float[7], new[] { 0 }, optimizer);
        Assert.Equal(2, optimizer.StepCount);
    }

    [Fact]
    public void Detach_hands_an_optimizer_and_its_state_to_another_network()
    {
        var optimizer = new Sgd(0.1f, momentum: 0.9f);
        _net.TrainStep(new float[7], new[] { 0 }, optimizer);
        var copy = new SoftmaxNet(maxBatch: 4, seed: 1);
        optimizer.Detach();
        copy.TrainStep(new float[7], new[] { 0 }, optimizer);
        Assert.Equal(2, optimizer.StepCount);
        // Now it is the copy's.
        var e = Assert.Throws<ArgumentException>(() => _net.TrainStep(new float[7], new[] { 0 }, optimizer));
        Assert.Equal("optimizer", e.ParamName);
    }

    [Fact]
    public void After_Detach_a_network_of_another_size_is_refused_without_taking_the_optimizer()
    {
        var optimizer = new Adam();
        _net.TrainStep(new float[7], new[] { 0 }, optimizer);
        optimizer.Detach();
        var other = new DeepNet(maxBatch: 1);
        var e = Assert.Throws<ArgumentException>(() => other.TrainStep(new float[DeepNet.InputSize], new[] { 0 }, optimizer));
        Assert.Contains("holds state for", e.Message);
        // The optimizer is still free: the first network takes it back.
        _net.TrainStep(new float[7], new[] { 0 }, optimizer);
        Assert.Equal(2, optimizer.StepCount);
    }

    [Fact]
    public void Step_refuses_a_block_of_another_length()
    {
        var optimizer = new Adam();
        optimizer.Step(new float[10], new float[10]);
        var e = Assert.Throws<ArgumentException>(() => optimizer.Step(new float[11], new float[11]));
        Assert.Contains("holds state for 10 parameters", e.Message);
        Assert.Equal(1, optimizer.StepCount);
    }

    [Fact]
    public void A_failed_TrainStep_does_not_bind_the_optimizer()
    {
        var optimizer = new Adam();
        var other = new SoftmaxNet(maxBatch: 4, seed: 2);
        Assert.Throws<ArgumentException>(() => other.TrainStep(new float[6], new[] { 0 }, optimizer));
        _net.TrainStep(new float[7], new[] { 0 }, optimizer);
        Assert.Equal(1, optimizer.StepCount);
    }

    [Fact]
    public void Loading_a_missing_file_throws_FileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => _net.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".safetensors")));
    }
}
