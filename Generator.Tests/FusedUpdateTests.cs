using System;
using System.Collections.Generic;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// <c>TrainStep</c> applies element-wise optimizers layer by layer inside the backward pass; the result must be
/// exactly <c>ComputeGradients</c> followed by <c>Optimizer.Step</c>, for every optimizer, batch size and thread count.
/// </summary>
public class FusedUpdateTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (int batch in new[] { 1, 5, 32, 256 })
        {
            foreach (int threads in new[] { 1, 2 })
            {
                for (int optimizer = 0; optimizer < Optimizers.Length; optimizer++)
                {
                    yield return [batch, threads, optimizer];
                }
            }
        }
    }

    private static readonly Func<Optimizer>[] Optimizers =
    [
        () => new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f),
        () => new Sgd(0.1f),
        () => new Sgd(0.1f, weightDecay: 0.01f),
        () => new Adam(1e-3f, weightDecay: 1e-4f),
        () => new AdamW(1e-3f),
        () => new SignDescent(1e-3f),
        () => new ClippedAdam(1e-3f),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainStep_equals_ComputeGradients_then_Step(int batch, int threads, int optimizerIndex)
    {
        var random = new Random(batch * 7 + optimizerIndex);
        var inputs = new float[batch * FashionMlp.InputSize];
        var labels = new int[batch];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)random.NextDouble();
        }
        for (int i = 0; i < batch; i++)
        {
            labels[i] = random.Next(FashionMlp.OutputSize);
        }

        var fused = new FashionMlp(maxBatch: batch, seed: 5) { MaxThreads = threads };
        var separate = new FashionMlp(maxBatch: batch, seed: 5) { MaxThreads = threads };
        Optimizer fusedOptimizer = Optimizers[optimizerIndex](), separateOptimizer = Optimizers[optimizerIndex]();
        for (int step = 0; step < 3; step++)
        {
            float a = fused.TrainStep(inputs, labels, fusedOptimizer);
            float b = separate.ComputeGradients(inputs, labels);
            separateOptimizer.Step(separate.Parameters, separate.Gradients);
            Assert.Equal(b, a);
        }
        Assert.Equal(separateOptimizer.StepCount, fusedOptimizer.StepCount);
        Infrastructure.Bitwise.AssertEqual(separate.Parameters, fused.Parameters);
        Infrastructure.Bitwise.AssertEqual(separate.Gradients, fused.Gradients);
        // The parameters did move.
        Assert.False(new FashionMlp(maxBatch: batch, seed: 5).Parameters.SequenceEqual(fused.Parameters));
    }

    [Fact]
    public void Only_element_wise_optimizers_take_partial_steps()
    {
        Assert.True(new Sgd(0.1f).BeginPartialStep(10));
        Assert.True(new Adam().BeginPartialStep(10));
        Assert.True(new AdamW().BeginPartialStep(10));
        var custom = new SignDescent(0.1f);
        Assert.False(custom.BeginPartialStep(10));
        Assert.Equal(0, custom.StepCount);
        // A subclass of a built-in optimizer may override its rule: whole-block steps too.
        Assert.False(new ClippedAdam(0.1f).BeginPartialStep(10));
    }

    [Fact]
    public void A_subclass_of_Adam_has_its_own_rule_applied_by_TrainStep()
    {
        var net = new FashionMlp(maxBatch: 1, seed: 2);
        var optimizer = new ClippedAdam(1e-3f);
        net.TrainStep(new float[FashionMlp.InputSize], new[] { 3 }, optimizer);
        Assert.Equal(1, optimizer.Calls);
    }

    /// <summary>Adam on gradients clipped to [-0.01, 0.01]: overrides the rule of a built-in optimizer.</summary>
    private sealed class ClippedAdam(float learningRate) : Adam(learningRate)
    {
        private float[] _clipped = [];

        public int Calls { get; private set; }

        protected override void AllocateState(int length)
        {
            base.AllocateState(length);
            _clipped = new float[length];
        }

        protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
        {
            Calls++;
            for (int i = 0; i < gradients.Length; i++)
            {
                _clipped[i] = Math.Clamp(gradients[i], -0.01f, 0.01f);
            }
            base.Update(parameters, _clipped, step);
        }
    }

    /// <summary>An optimizer from outside the runtime: TrainStep must fall back to a whole-block Step.</summary>
    private sealed class SignDescent(float learningRate) : Optimizer(learningRate)
    {
        protected override void AllocateState(int length)
        {
        }

        protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                parameters[i] -= LearningRate * MathF.Sign(gradients[i]);
            }
        }
    }
}
