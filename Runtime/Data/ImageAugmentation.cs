using System;

namespace Backprop;

/// <summary>
/// Transforms a training batch in place before the step (for example <see cref="ImageAugmentation.Apply"/>):
/// <paramref name="inputs"/> holds <paramref name="batch"/> samples, row-major.
/// </summary>
public delegate void BatchTransform(Span<float> inputs, int batch);

/// <summary>
/// Simple image augmentation for training batches of [channels, height, width] samples: each sample is shifted by a
/// random whole number of pixels in each direction (up to <see cref="MaxShift"/>; the pixels shifted in repeat the
/// nearest edge pixel, the background of centred images such as Fashion-MNIST's, whatever the normalization) and, with
/// <see cref="HorizontalFlip"/>, mirrored left to right with probability ½. The draws depend only on the seed, the
/// number of batches transformed so far and the sample's index in the batch, so a run is reproducible; nothing is
/// allocated after construction. Not thread-safe: one instance per training loop.
/// </summary>
public sealed class ImageAugmentation
{
    private readonly float[] _sample;
    private readonly ulong _seed;
    private long _batches;

    /// <summary>Creates the augmentation for samples of the given shape.</summary>
    /// <param name="channels">Channels per sample.</param>
    /// <param name="height">Rows per channel.</param>
    /// <param name="width">Columns per row.</param>
    /// <param name="maxShift">The largest shift, in pixels, in each direction (0 for none).</param>
    /// <param name="horizontalFlip">Whether to mirror half of the samples left to right (not for digits or text).</param>
    /// <param name="seed">The seed of the draws.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or <paramref name="maxShift"/> is negative or not smaller than the image.</exception>
    public ImageAugmentation(int channels, int height, int width, int maxShift = 2, bool horizontalFlip = true, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxShift);
        if (maxShift >= Math.Min(height, width))
        {
            throw new ArgumentOutOfRangeException(nameof(maxShift), maxShift, $"A shift of {maxShift} pixels would move a {height}×{width} image out of itself.");
        }
        if ((long)channels * height * width > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), "The sample is too large.");
        }
        Channels = channels;
        Height = height;
        Width = width;
        MaxShift = maxShift;
        HorizontalFlip = horizontalFlip;
        Seed = seed;
        _seed = Mix((ulong)(uint)seed ^ 0x6A09E667F3BCC909UL);
        _sample = new float[channels * height * width];
    }

    /// <summary>The seed of the draws.</summary>
    public int Seed { get; }

    /// <summary>Channels per sample.</summary>
    public int Channels { get; }

    /// <summary>Rows per channel.</summary>
    public int Height { get; }

    /// <summary>Columns per row.</summary>
    public int Width { get; }

    /// <summary>The largest shift in each direction, in pixels.</summary>
    public int MaxShift { get; }

    /// <summary>Whether half of the samples are mirrored left to right.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>Values per sample.</summary>
    public int SampleSize => _sample.Length;

    /// <summary>
    /// The batches transformed so far: the next batch's draws depend on it (and the seed). <c>Fit</c>'s checkpoints keep
    /// it, so that a resumed run augments its batches as the uninterrupted run would.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long BatchesTransformed
    {
        get => _batches;
        set => _batches = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The count cannot be negative.");
    }

    /// <summary>Transforms the first <paramref name="batch"/> samples of <paramref name="inputs"/> in place (a <see cref="BatchTransform"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="inputs"/> holds fewer than <paramref name="batch"/> samples.</exception>
    public void Apply(Span<float> inputs, int batch)
    {
        if (batch < 0 || inputs.Length < (long)batch * SampleSize)
        {
            throw new ArgumentException($"ImageAugmentation: {inputs.Length} values cannot hold {batch} samples of {Channels}×{Height}×{Width}.", nameof(inputs));
        }
        ulong key = Mix(_seed + (ulong)_batches++ * 0x9E3779B97F4A7C15UL);
        int span = 2 * MaxShift + 1;
        for (int n = 0; n < batch; n++)
        {
            ulong draw = Mix(key ^ ((ulong)n * 0xD1B54A32D192ED03UL));
            int dy = (int)(draw % (ulong)span) - MaxShift;
            int dx = (int)((draw >> 16) % (ulong)span) - MaxShift;
            bool flip = HorizontalFlip && ((draw >> 63) & 1) == 1;
            if (dx == 0 && dy == 0 && !flip)
            {
                continue;
            }
            Span<float> sample = inputs.Slice(n * SampleSize, SampleSize);
            sample.CopyTo(_sample);
            Transform(_sample, sample, dy, dx, flip);
        }
    }

    /// <summary>
    /// <c>y[c, r, k] = x[c, clamp(r − dy), clamp(k' − dx)]</c> with <c>k' = width − 1 − k</c> when flipped, else
    /// <c>k</c>: the shifted image, edges repeated, then mirrored.
    /// </summary>
    private void Transform(ReadOnlySpan<float> source, Span<float> destination, int dy, int dx, bool flip)
    {
        int plane = Height * Width;
        for (int c = 0; c < Channels; c++)
        {
            ReadOnlySpan<float> x = source.Slice(c * plane, plane);
            Span<float> y = destination.Slice(c * plane, plane);
            for (int r = 0; r < Height; r++)
            {
                ReadOnlySpan<float> row = x.Slice(Math.Clamp(r - dy, 0, Height - 1) * Width, Width);
                Span<float> output = y.Slice(r * Width, Width);
                for (int k = 0; k < Width; k++)
                {
                    int column = flip ? Width - 1 - k : k;
                    output[k] = row[Math.Clamp(column - dx, 0, Width - 1)];
                }
            }
        }
    }

    /// <summary>SplitMix64's finalizer.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
