using System;
using Xunit;

namespace Backprop.Tests;

/// <summary>Products split over threads give bit-identical results for any thread count.</summary>
public class ThreadingTests
{
    [Fact]
    public void Training_is_bit_identical_with_one_or_two_threads()
    {
        float[] Train(int threads)
        {
            var net = new FashionMlp(maxBatch: 256, seed: 3) { MaxThreads = threads };
            var random = new Random(9);
            var inputs = new float[256 * FashionMlp.InputSize];
            var labels = new int[256];
            for (int i = 0; i < inputs.Length; i++)
            {
                inputs[i] = (float)random.NextDouble();
            }
            for (int i = 0; i < labels.Length; i++)
            {
                labels[i] = random.Next(10);
            }
            var optimizer = new Adam(1e-3f);
            for (int step = 0; step < 5; step++)
            {
                net.TrainStep(inputs, labels, optimizer);
            }
            var outputs = new float[256 * FashionMlp.OutputSize];
            net.Predict(inputs, outputs);
            return [.. net.Parameters.ToArray(), .. outputs];
        }

        float[] one = Train(1);
        Assert.Equal(one, Train(2));
        Assert.Equal(one, Train(4));
    }

    [Fact]
    public void MaxThreads_must_be_positive()
    {
        var net = new FashionMlp(maxBatch: 1);
        Assert.Equal(Environment.ProcessorCount, net.MaxThreads);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.MaxThreads = 0);
    }
}
