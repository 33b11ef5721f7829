using System;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// Inverted dropout (<c>nn.Dropout</c>): in training mode each value is kept with probability <c>1 - rate</c> and
/// scaled by <c>1 / (1 - rate)</c>, or zeroed; in inference mode the layer is the identity. The mask of a value is a
/// pure function of (seed, the layer's stream, the training pass, the sample's index in the batch, the value's index),
/// a counter-based draw, so it does not depend on the thread count or on how a batch is cut into shards.
/// </summary>
public static class Dropout
{
    /// <summary>The forward pass of samples [<paramref name="first"/>, <paramref name="first"/> + <paramref name="batch"/>) of a batch.</summary>
    /// <param name="input">The samples' inputs.</param>
    /// <param name="output">The samples' outputs.</param>
    /// <param name="mask">Training mode: receives each value's factor (0 or 1 / (1 - rate)) for the backward pass; unused otherwise.</param>
    /// <param name="batch">The samples of this pass.</param>
    /// <param name="size">Values per sample.</param>
    /// <param name="rate">The probability of zeroing a value, in [0, 1).</param>
    /// <param name="seed">The network's seed.</param>
    /// <param name="stream">The layer's stream (from its name).</param>
    /// <param name="pass">The training pass's number (one per training call).</param>
    /// <param name="first">The index in the whole batch of the first sample of this pass.</param>
    /// <param name="training">Training mode (masks) or inference mode (identity).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(
        ReadOnlySpan<float> input, Span<float> output, Span<float> mask, int batch, int size, float rate,
        int seed, int stream, long pass, int first, bool training)
    {
        int count = batch * size;
        if (size < 1 || input.Length < count || output.Length < count || (training && mask.Length < count) || !(rate >= 0f && rate < 1f))
        {
            throw new ArgumentException($"Dropout.Forward: {batch} samples of {size} values at rate {rate} do not fit the buffers.");
        }
        if (!training || rate == 0f)
        {
            input[..count].CopyTo(output);
            if (training)
            {
                mask[..count].Fill(1f);
            }
            return;
        }
        float scale = 1f / (1f - rate);
        // Keep when the draw's top 24 bits, as a fraction of 2^24, are at least the rate.
        uint threshold = (uint)Math.Min(Math.Ceiling(rate * 16777216.0), 16777216.0);
        for (int n = 0; n < batch; n++)
        {
            ulong key = Mix(((ulong)(uint)seed << 32 | (uint)stream) ^ Mix((ulong)pass * 0x9E3779B97F4A7C15UL + (ulong)(first + n)));
            int offset = n * size;
            for (int i = 0; i < size; i++)
            {
                uint draw = (uint)(Mix(key + (ulong)i * 0xD1B54A32D192ED03UL) >> 40);
                float factor = draw >= threshold ? scale : 0f;
                mask[offset + i] = factor;
                output[offset + i] = input[offset + i] * factor;
            }
        }
    }

    /// <summary>The input gradient: <c>∂L/∂x = ∂L/∂y · mask</c> (the factors the training-mode forward pass drew).</summary>
    public static void Backward(ReadOnlySpan<float> delta, ReadOnlySpan<float> mask, Span<float> inputDelta, int batch, int size)
    {
        int count = batch * size;
        if (delta.Length < count || mask.Length < count || inputDelta.Length < count)
        {
            throw new ArgumentException($"Dropout.Backward: {batch} samples of {size} values do not fit the buffers.");
        }
        for (int i = 0; i < count; i++)
        {
            inputDelta[i] = delta[i] * mask[i];
        }
    }

    /// <summary>SplitMix64's finalizer: a bijection of 64-bit values that mixes every input bit into every output bit.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
