using System;
using Xunit;

namespace Backprop.Tests;

/// <summary>After the first step, training steps and predictions allocate nothing.</summary>
public class AllocationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    public void TrainStep_and_Predict_allocate_nothing_after_the_first_call(int batch)
    {
        var net = new FashionMlp(maxBatch: 32, seed: 1);
        var random = new Random(4);
        var inputs = new float[batch * FashionMlp.InputSize];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)random.NextDouble();
        }
        var labels = new int[batch];
        var outputs = new float[batch * FashionMlp.OutputSize];
        foreach (Optimizer optimizer in new Optimizer[] { new Sgd(0.01f, momentum: 0.9f), new Adam(1e-3f), new AdamW(1e-3f) })
        {
            // Warm up: the first step allocates the optimizer's state, and the JIT compiles every tier.
            for (int i = 0; i < 50; i++)
            {
                net.TrainStep(inputs, labels, optimizer);
                net.Predict(inputs, outputs);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                net.TrainStep(inputs, labels, optimizer);
            }
            long training = GC.GetAllocatedBytesForCurrentThread() - before;

            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                net.Predict(inputs, outputs);
            }
            long prediction = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.True(training == 0, $"1,000 TrainStep calls with {optimizer.GetType().Name} allocated {training} bytes.");
            Assert.True(prediction == 0, $"1,000 Predict calls allocated {prediction} bytes.");
        }
    }
}
