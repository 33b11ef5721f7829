using System;
using System.Collections.Generic;
using Xunit;

namespace Backprop.Tests;

/// <summary>After the first step, training steps and predictions allocate nothing.</summary>
public class AllocationTests
{
    /// <summary>
    /// Rounds of 1,000 calls, measured one by one: an allocation per call (even one byte's worth per call) shows in
    /// every round, while a one-off allocation the runtime makes on the test's thread during some round (a method
    /// reaching its optimized tier while other tests keep the JIT busy, a thread-static slot growing) shows in one.
    /// So a round of 0 bytes is required, in at most three.
    /// </summary>
    private static (bool Clean, string Rounds) Measure(Action call)
    {
        var rounds = new List<long>();
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                call();
            }
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            if (rounds[^1] == 0)
            {
                return (true, "");
            }
        }
        return (false, string.Join(", ", rounds));
    }

    [Theory]
    [InlineData(nameof(FashionMlp), 1)]
    [InlineData(nameof(FashionMlp), 32)]
    [InlineData(nameof(SmallCnn), 1)]
    [InlineData(nameof(SmallCnn), 32)]
    [InlineData(nameof(PointwiseCnn), 32)]
    [InlineData(nameof(PoolFirstCnn), 32)]
    [InlineData(nameof(BatchNormCnn), 32)]
    [InlineData(nameof(BatchNormMlp), 2)]
    [InlineData(nameof(RnnNet), 1)]
    [InlineData(nameof(StackedLstm), 32)]
    [InlineData(nameof(GruSequence), 32)]
    [InlineData(nameof(EmbeddingLstm), 1)]
    [InlineData(nameof(SequenceToSequence), 32)]
    public void TrainStep_and_Predict_allocate_nothing_after_the_first_call(string name, int batch)
    {
        var net = Infrastructure.TestData.Create(name, maxBatch: 32, seed: 1);
        var random = new Random(4);
        var inputs = new float[batch * net.InputSize];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = Infrastructure.TestData.Vocabularies.TryGetValue(name, out int vocabulary) ? random.Next(vocabulary) : (float)random.NextDouble();
        }
        var labels = new int[batch];
        var targets = new float[batch * net.OutputSize];
        var outputs = new float[batch * net.OutputSize];
        foreach (Optimizer optimizer in new Optimizer[] { new Sgd(0.01f, momentum: 0.9f), new Adam(1e-3f), new AdamW(1e-3f) })
        {
            // Warm up: the first step allocates the optimizer's state, and the JIT compiles every tier.
            for (int i = 0; i < 50; i++)
            {
                Step(net, inputs, labels, targets, optimizer);
                net.Predict(inputs, outputs);
            }

            var training = Measure(() => Step(net, inputs, labels, targets, optimizer));
            var prediction = Measure(() => net.Predict(inputs, outputs));

            Assert.True(training.Clean, $"{name}, batch {batch}: every round of 1,000 TrainStep calls with {optimizer.GetType().Name} allocated: {training.Rounds} bytes.");
            Assert.True(prediction.Clean, $"{name}, batch {batch}: every round of 1,000 Predict calls allocated: {prediction.Rounds} bytes.");
        }
    }

    private static void Step(INetwork net, float[] inputs, int[] labels, float[] targets, Optimizer optimizer)
    {
        if (net.Loss == Loss.SoftmaxCrossEntropy)
        {
            net.TrainStep(inputs, labels, optimizer);
        }
        else
        {
            net.TrainStep(inputs, targets, optimizer);
        }
    }
}
