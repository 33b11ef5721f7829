using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// Pooling over the windows of each channel of NCHW batches, as PyTorch's <c>nn.MaxPool2d</c>, <c>nn.AvgPool2d</c>
/// (no padding, floor mode) and global average pooling. Max pooling records, per output, the position of the first
/// maximum of its window in the sample (an <see cref="int"/> index buffer), which its backward pass routes the
/// gradient to, as PyTorch does.
/// </summary>
public static class Pooling
{
    /// <summary>Max pooling: <c>y = max</c> over each window, and the sample offset of the (first) maximum in <paramref name="indices"/>.</summary>
    /// <param name="input">The batch, [batch, channels, height, width].</param>
    /// <param name="output">[batch, channels, output height, output width].</param>
    /// <param name="indices">The same shape as <paramref name="output"/>.</param>
    /// <param name="batch">The samples.</param>
    /// <param name="window">The geometry (no padding).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxForward(ReadOnlySpan<float> input, Span<float> output, Span<int> indices, int batch, Window2D window)
    {
        Check(window, "Pooling.MaxForward", input.Length, output.Length, batch);
        if (indices.Length < batch * window.Channels * window.OutputPlane)
        {
            throw new ArgumentException("Pooling.MaxForward: the index buffer does not fit the output.");
        }
        int oh = window.OutputHeight, ow = window.OutputWidth, h = window.Height, w = window.Width, k = window.Kernel, s = window.Stride;
        int planes = window.Channels, sample = window.InputLength, outputs = planes * oh * ow;
        ref float x = ref MemoryMarshal.GetReference(input);
        ref float y = ref MemoryMarshal.GetReference(output);
        ref int at = ref MemoryMarshal.GetReference(indices);
        for (int n = 0; n < batch; n++)
        {
            ref float xs = ref Unsafe.Add(ref x, n * sample);
            ref float ys = ref Unsafe.Add(ref y, n * outputs);
            ref int ats = ref Unsafe.Add(ref at, n * outputs);
            int o = 0;
            for (int c = 0; c < planes; c++)
            {
                int plane = c * h * w;
                for (int oy = 0; oy < oh; oy++)
                {
                    int top = plane + oy * s * w;
                    if (k == 2)
                    {
                        int done = 0;
                        if (s == 2 && Avx512F.IsSupported)
                        {
                            // Reads stay inside the input span; writes inside this call's outputs (a data-parallel shard
                            // owns only its rows).
                            done = Max2x2Stride2Row512(ref xs, ref Unsafe.Add(ref ys, o), ref Unsafe.Add(ref ats, o), top, w, ow,
                                input.Length - n * sample, (batch - n) * outputs - o);
                        }
                        else if (s == 2 && Avx2.IsSupported)
                        {
                            done = Max2x2Stride2Row256(ref xs, ref Unsafe.Add(ref ys, o), ref Unsafe.Add(ref ats, o), top, w, ow,
                                input.Length - n * sample, (batch - n) * outputs - o);
                        }
                        Max2x2Row(ref xs, ref Unsafe.Add(ref ys, o + done), ref Unsafe.Add(ref ats, o + done), top + done * s, w, s, ow - done);
                        o += ow;
                        continue;
                    }
                    for (int ox = 0; ox < ow; ox++, o++)
                    {
                        int corner = top + ox * s, best = corner;
                        float max = Unsafe.Add(ref xs, corner);
                        for (int ky = 0; ky < k; ky++)
                        {
                            int row = corner + ky * w;
                            for (int kx = 0; kx < k; kx++)
                            {
                                float v = Unsafe.Add(ref xs, row + kx);
                                // As PyTorch: strictly greater (the first maximum is kept), or NaN. Selects, not branches:
                                // on real data which element wins is unpredictable, and a mispredicted branch per element
                                // made this pass 3x slower.
                                bool take = (v > max) | float.IsNaN(v);
                                max = take ? v : max;
                                best = take ? row + kx : best;
                            }
                        }
                        Unsafe.Add(ref ys, o) = max;
                        Unsafe.Add(ref ats, o) = best;
                    }
                }
            }
        }
    }

    /// <summary>
    /// One output row of 2×2 windows with stride 2, sixteen outputs a vector: the row pair's 32 inputs de-interleaved into
    /// even and odd columns, the first maximum kept as the scalar loop does (a later element only when strictly greater,
    /// or NaN). A row shorter than a vector is still one vector: the lanes past the row read the next row (or the next
    /// plane) and their results fall on outputs that a later row overwrites. Returns how many outputs it wrote; the
    /// scalar loop does the rest (the last row of a call, whose lanes would read or write past its buffers).
    /// </summary>
    /// <param name="x">The sample's input.</param>
    /// <param name="y">The row's first output.</param>
    /// <param name="at">The row's first index.</param>
    /// <param name="top">The row's first window's top-left input.</param>
    /// <param name="w">The input's width.</param>
    /// <param name="count">Outputs in the row.</param>
    /// <param name="readable">Floats readable from <paramref name="x"/>.</param>
    /// <param name="writable">Outputs writable from <paramref name="y"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Max2x2Stride2Row512(ref float x, ref float y, ref int at, int top, int w, int count, int readable, int writable)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = even + Vector512<int>.One;
        int ox = 0;
        for (; ox < count; ox += 16)
        {
            int a = top + 2 * ox;
            if (a + w + 32 > readable || ox + 16 > writable)
            {
                break;
            }
            Vector512<float> a0 = Vector512.LoadUnsafe(ref x, (nuint)a), a1 = Vector512.LoadUnsafe(ref x, (nuint)(a + 16));
            Vector512<float> b0 = Vector512.LoadUnsafe(ref x, (nuint)(a + w)), b1 = Vector512.LoadUnsafe(ref x, (nuint)(a + w + 16));
            Vector512<float> ae = Avx512F.PermuteVar16x32x2(a0, even, a1), ao = Avx512F.PermuteVar16x32x2(a0, odd, a1);
            Vector512<float> be = Avx512F.PermuteVar16x32x2(b0, even, b1), bo = Avx512F.PermuteVar16x32x2(b0, odd, b1);
            Vector512<int> corner = Vector512.Create(a) + even;
            Vector512<int> right = Vector512.GreaterThan(ao, ae).AsInt32() | IsNaN(ao);
            Vector512<float> upper = Vector512.ConditionalSelect(right.AsSingle(), ao, ae);
            Vector512<int> upperAt = corner - right; // right is -1 where the odd column wins
            Vector512<int> lowerRight = Vector512.GreaterThan(bo, be).AsInt32() | IsNaN(bo);
            Vector512<float> lower = Vector512.ConditionalSelect(lowerRight.AsSingle(), bo, be);
            Vector512<int> lowerAt = corner + Vector512.Create(w) - lowerRight;
            Vector512<int> down = Vector512.GreaterThan(lower, upper).AsInt32() | IsNaN(lower);
            Vector512.ConditionalSelect(down.AsSingle(), lower, upper).StoreUnsafe(ref y, (nuint)ox);
            Vector512.ConditionalSelect(down, lowerAt, upperAt).StoreUnsafe(ref at, (nuint)ox);
        }
        return Math.Min(ox, count);

        static Vector512<int> IsNaN(Vector512<float> v) => (~Vector512.Equals(v, v)).AsInt32();
    }

    /// <summary>
    /// <see cref="Max2x2Stride2Row512"/> with eight outputs a vector (AVX2). The even and odd columns come from in-lane
    /// shuffles, which leave the outputs in the order 0, 1, 4, 5, 2, 3, 6, 7; the windows are compared in that order
    /// (each lane is one window, so the order changes nothing), and one cross-lane permute of 64-bit pairs puts the
    /// values and the indices in order before they are stored.
    /// </summary>
    /// <inheritdoc cref="Max2x2Stride2Row512"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Max2x2Stride2Row256(ref float x, ref float y, ref int at, int top, int w, int count, int readable, int writable)
    {
        // Shuffle control: from each 128-bit lane of the two sources, elements 0 and 2 (even) or 1 and 3 (odd).
        const byte Even = 0b10_00_10_00, Odd = 0b11_01_11_01;
        // The permute that moves 64-bit pairs (0, 1), (4, 5), (2, 3), (6, 7) into output order: pairs 0, 2, 1, 3.
        const byte InOrder = 0b11_01_10_00;
        var columns = Vector256.Create(0, 2, 8, 10, 4, 6, 12, 14); // each lane's window's left column, in shuffled order
        int ox = 0;
        for (; ox < count; ox += 8)
        {
            int a = top + 2 * ox;
            if (a + w + 16 > readable || ox + 8 > writable)
            {
                break;
            }
            Vector256<float> a0 = Vector256.LoadUnsafe(ref x, (nuint)a), a1 = Vector256.LoadUnsafe(ref x, (nuint)(a + 8));
            Vector256<float> b0 = Vector256.LoadUnsafe(ref x, (nuint)(a + w)), b1 = Vector256.LoadUnsafe(ref x, (nuint)(a + w + 8));
            Vector256<float> ae = Avx.Shuffle(a0, a1, Even), ao = Avx.Shuffle(a0, a1, Odd);
            Vector256<float> be = Avx.Shuffle(b0, b1, Even), bo = Avx.Shuffle(b0, b1, Odd);
            Vector256<int> corner = Vector256.Create(a) + columns;
            Vector256<int> right = Vector256.GreaterThan(ao, ae).AsInt32() | IsNaN(ao);
            Vector256<float> upper = Vector256.ConditionalSelect(right.AsSingle(), ao, ae);
            Vector256<int> upperAt = corner - right; // right is -1 where the odd column wins
            Vector256<int> lowerRight = Vector256.GreaterThan(bo, be).AsInt32() | IsNaN(bo);
            Vector256<float> lower = Vector256.ConditionalSelect(lowerRight.AsSingle(), bo, be);
            Vector256<int> lowerAt = corner + Vector256.Create(w) - lowerRight;
            Vector256<int> down = Vector256.GreaterThan(lower, upper).AsInt32() | IsNaN(lower);
            Vector256<float> value = Vector256.ConditionalSelect(down.AsSingle(), lower, upper);
            Vector256<int> index = Vector256.ConditionalSelect(down, lowerAt, upperAt);
            Avx2.Permute4x64(value.AsDouble(), InOrder).AsSingle().StoreUnsafe(ref y, (nuint)ox);
            Avx2.Permute4x64(index.AsInt64(), InOrder).AsInt32().StoreUnsafe(ref at, (nuint)ox);
        }
        return Math.Min(ox, count);

        static Vector256<int> IsNaN(Vector256<float> v) => (~Vector256.Equals(v, v)).AsInt32();
    }

    /// <summary>
    /// One output row of 2×2 windows without a branch per element: which element wins is unpredictable on real data,
    /// and a mispredicted branch per comparison made the general loop 8x slower than the loads. The first maximum wins
    /// as in PyTorch (a later element only when strictly greater, or NaN: a NaN propagates to the value, and its index
    /// is the NaN's).
    /// </summary>
    private static void Max2x2Row(ref float x, ref float y, ref int at, int top, int w, int s, int count)
    {
        for (int ox = 0; ox < count; ox++)
        {
            int i = top + ox * s;
            float a = Unsafe.Add(ref x, i), b = Unsafe.Add(ref x, i + 1), c = Unsafe.Add(ref x, i + w), d = Unsafe.Add(ref x, i + w + 1);
            // As PyTorch: a later element wins when strictly greater or NaN (so a NaN's index is kept). Integer flags and
            // MathF.Max (which propagates NaN) rather than conditional expressions, which may compile to branches.
            int right = (b > a ? 1 : 0) | (float.IsNaN(b) ? 1 : 0), lowerRight = (d > c ? 1 : 0) | (float.IsNaN(d) ? 1 : 0);
            float first = MathF.Max(a, b), second = MathF.Max(c, d);
            int upper = i + right, lower = i + w + lowerRight;
            int take = -((second > first ? 1 : 0) | (float.IsNaN(second) ? 1 : 0));
            Unsafe.Add(ref y, ox) = MathF.Max(first, second);
            Unsafe.Add(ref at, ox) = upper + ((lower - upper) & take);
        }
    }

    /// <summary>Max pooling's input gradient: <paramref name="inputDelta"/> overwritten, each output's gradient added at its maximum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxBackward(ReadOnlySpan<float> delta, ReadOnlySpan<int> indices, Span<float> inputDelta, int batch, Window2D window)
    {
        Check(window, "Pooling.MaxBackward", inputDelta.Length, delta.Length, batch);
        int outputs = window.Channels * window.OutputPlane, length = window.InputLength;
        inputDelta[..(batch * length)].Clear();
        for (int n = 0; n < batch; n++)
        {
            Span<float> dx = inputDelta.Slice(n * length, length);
            ReadOnlySpan<float> dy = delta.Slice(n * outputs, outputs);
            ReadOnlySpan<int> at = indices.Slice(n * outputs, outputs);
            for (int o = 0; o < outputs; o++)
            {
                dx[at[o]] += dy[o];
            }
        }
    }

    /// <summary>Average pooling: <c>y</c> = the mean of each window (every window lies inside the input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AverageForward(ReadOnlySpan<float> input, Span<float> output, int batch, Window2D window)
    {
        Check(window, "Pooling.AverageForward", input.Length, output.Length, batch);
        int oh = window.OutputHeight, ow = window.OutputWidth, h = window.Height, w = window.Width, k = window.Kernel, s = window.Stride;
        float scale = 1f / (k * k);
        int o = 0;
        for (int p = 0; p < batch * window.Channels; p++)
        {
            ReadOnlySpan<float> plane = input.Slice(p * h * w, h * w);
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++, o++)
                {
                    float sum = 0;
                    for (int ky = 0; ky < k; ky++)
                    {
                        int row = (oy * s + ky) * w + ox * s;
                        for (int kx = 0; kx < k; kx++)
                        {
                            sum += plane[row + kx];
                        }
                    }
                    output[o] = sum * scale;
                }
            }
        }
    }

    /// <summary>Average pooling's input gradient: each output's gradient spread evenly over its window; <paramref name="inputDelta"/> overwritten.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AverageBackward(ReadOnlySpan<float> delta, Span<float> inputDelta, int batch, Window2D window)
    {
        Check(window, "Pooling.AverageBackward", inputDelta.Length, delta.Length, batch);
        int oh = window.OutputHeight, ow = window.OutputWidth, h = window.Height, w = window.Width, k = window.Kernel, s = window.Stride;
        float scale = 1f / (k * k);
        inputDelta[..(batch * window.InputLength)].Clear();
        int o = 0;
        for (int p = 0; p < batch * window.Channels; p++)
        {
            Span<float> plane = inputDelta.Slice(p * h * w, h * w);
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++, o++)
                {
                    float share = delta[o] * scale;
                    for (int ky = 0; ky < k; ky++)
                    {
                        int row = (oy * s + ky) * w + ox * s;
                        for (int kx = 0; kx < k; kx++)
                        {
                            plane[row + kx] += share;
                        }
                    }
                }
            }
        }
    }

    /// <summary>Global average pooling: <c>y[n, c]</c> = the mean of channel <c>c</c> of sample <c>n</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAverageForward(ReadOnlySpan<float> input, Span<float> output, int batch, int channels, int plane)
    {
        if (channels < 1 || plane < 1 || input.Length < batch * channels * plane || output.Length < batch * channels)
        {
            throw new ArgumentException("Pooling.GlobalAverageForward: a buffer does not fit the batch and the channels.");
        }
        float scale = 1f / plane;
        for (int p = 0; p < batch * channels; p++)
        {
            output[p] = Vectors.Sum(input.Slice(p * plane, plane)) * scale;
        }
    }

    /// <summary>Global average pooling's input gradient: <c>∂L/∂x[n, c, ·] = ∂L/∂y[n, c] / plane</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAverageBackward(ReadOnlySpan<float> delta, Span<float> inputDelta, int batch, int channels, int plane)
    {
        if (channels < 1 || plane < 1 || inputDelta.Length < batch * channels * plane || delta.Length < batch * channels)
        {
            throw new ArgumentException("Pooling.GlobalAverageBackward: a buffer does not fit the batch and the channels.");
        }
        float scale = 1f / plane;
        for (int p = 0; p < batch * channels; p++)
        {
            inputDelta.Slice(p * plane, plane).Fill(delta[p] * scale);
        }
    }

    private static void Check(Window2D window, string kernel, int inputLength, int outputLength, int batch)
    {
        window.Check(kernel);
        if (window.Padding != 0 || inputLength < batch * window.InputLength || outputLength < batch * window.Channels * window.OutputPlane)
        {
            throw new ArgumentException($"{kernel}: a buffer does not fit {batch} samples and the {window} (pooling takes no padding).");
        }
    }
}
