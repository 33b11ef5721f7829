using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace Backprop.Tests;

/// <summary><see cref="ImageAugmentation"/>: each output is one of the transforms of its sample, drawn evenly and reproducibly, without allocation.</summary>
public class AugmentationTests
{
    private const int Channels = 2, Height = 5, Width = 7;

    /// <summary>A sample whose every value says where it came from: channel, row and column.</summary>
    private static float[] Sample(int n) => Enumerable.Range(0, Channels * Height * Width).Select(i => (float)(n * 1000 + i)).ToArray();

    /// <summary>The transform by its definition: shifted by (dy, dx) with edges repeated, then mirrored.</summary>
    private static float[] Expected(float[] x, int dy, int dx, bool flip)
    {
        var y = new float[x.Length];
        for (int c = 0; c < Channels; c++)
        {
            for (int r = 0; r < Height; r++)
            {
                for (int k = 0; k < Width; k++)
                {
                    int column = flip ? Width - 1 - k : k;
                    int sourceRow = Math.Clamp(r - dy, 0, Height - 1), sourceColumn = Math.Clamp(column - dx, 0, Width - 1);
                    y[(c * Height + r) * Width + k] = x[(c * Height + sourceRow) * Width + sourceColumn];
                }
            }
        }
        return y;
    }

    [Fact]
    public void Every_output_is_a_shift_or_flip_of_its_sample_and_every_one_occurs()
    {
        const int Batch = 50, Shift = 2;
        var augmentation = new ImageAugmentation(Channels, Height, Width, maxShift: Shift, horizontalFlip: true, seed: 3);
        var seen = new HashSet<(int, int, bool)>();
        for (int round = 0; round < 20; round++)
        {
            float[] batch = Enumerable.Range(0, Batch).SelectMany(Sample).ToArray();
            augmentation.Apply(batch, Batch);
            for (int n = 0; n < Batch; n++)
            {
                float[] output = batch.AsSpan(n * Channels * Height * Width, Channels * Height * Width).ToArray();
                var matches = (from dy in Enumerable.Range(-Shift, 2 * Shift + 1)
                               from dx in Enumerable.Range(-Shift, 2 * Shift + 1)
                               from flip in new[] { false, true }
                               where Expected(Sample(n), dy, dx, flip).SequenceEqual(output)
                               select (dy, dx, flip)).ToList();
                Assert.True(matches.Count > 0, $"round {round}, sample {n} is no shift or flip of its input");
                seen.Add(matches[0]);
            }
        }
        Assert.Equal(5 * 5 * 2, seen.Count);
    }

    [Fact]
    public void The_draws_depend_on_the_seed_only_and_a_zero_shift_without_flips_changes_nothing()
    {
        float[] Run(int seed)
        {
            var augmentation = new ImageAugmentation(Channels, Height, Width, maxShift: 1, seed: seed);
            float[] batch = Enumerable.Range(0, 8).SelectMany(Sample).ToArray();
            augmentation.Apply(batch, 8);
            augmentation.Apply(batch, 8);
            return batch;
        }
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));

        float[] original = Enumerable.Range(0, 4).SelectMany(Sample).ToArray();
        float[] copy = (float[])original.Clone();
        new ImageAugmentation(Channels, Height, Width, maxShift: 0, horizontalFlip: false).Apply(copy, 4);
        Assert.Equal(original, copy);
    }

    [Fact]
    public void Bad_arguments_are_refused_and_a_call_allocates_nothing()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(0, 5, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, 5, 5, maxShift: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, 5, 9, maxShift: 5));
        var augmentation = new ImageAugmentation(Channels, Height, Width);
        Assert.Throws<ArgumentException>(() => augmentation.Apply(new float[Channels * Height * Width], 2));

        var batch = new float[16 * Channels * Height * Width];
        augmentation.Apply(batch, 16);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            augmentation.Apply(batch, 16);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
