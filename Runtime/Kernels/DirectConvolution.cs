using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// Stride-1 convolutions without a column matrix. Each sample's input is copied once into a zero-padded plane per
/// channel (pitch <c>W + 2p</c>), and an output row segment of one vector, <c>y[f, oy, ox..ox+w)</c>, is
/// <c>Σ_(c, ky, kx) W[f, c, ky, kx] · xp[c, oy + ky, ox + kx .. ox + kx + w)</c>: every term is a contiguous load from
/// the padded input at a constant offset, so the product runs straight from it (an implicit GEMM whose B rows are shifted
/// views of the input), register-tiled over filters × output segments. The same kernel gives the input gradient (the
/// output gradient padded by <c>k - 1 - p</c>, correlated with the weights flipped and transposed), and the weight
/// gradient is the dot product of the output gradient, laid on the padded input's grid, with the same shifted views.
/// </summary>
/// <remarks>
/// The tiles are compiled fully optimized on first use (<c>AggressiveOptimization</c>, as the GEMM's); the drivers that loop
/// over them are not: with the attribute on them too, the CNN's training step took 2.31–2.45 ms against 1.90–1.98 ms
/// without (alternated runs of <c>Benchmarks --cnn</c>), as such methods lose the tiered compiler's profile-guided code.
/// Compared with unfolding (im2col, nine copies of each input value for a 3×3 kernel, in lines as short as an output row)
/// and folding back (col2im), this reads and writes each activation about once. Every padded buffer ends with
/// <see cref="Slack"/> zeros: vector loads of the last segments run past the last plane, and those lanes only ever feed
/// results that are discarded (or, in the weight gradient, are multiplied by zeros).
/// </remarks>
internal static class DirectConvolution
{
    /// <summary>Zeros after a padded buffer's last plane: the widest vector plus the kernel's reach.</summary>
    public static int Slack(int kernel) => 16 + kernel;

    /// <summary>Whether <see cref="Convolution"/> takes this path: stride 1, a window wider than one pixel or with padding,
    /// padding below the kernel (so the input gradient's padding <c>k - 1 - p</c> is not negative), and buffers that fit. The generator's
    /// <c>Conv2DUnit</c> makes the same choice to size the scratch.</summary>
    public static bool Applies(Window2D w, int filters)
        => w.Stride == 1 && !w.IsPointwise && w.Padding <= w.Kernel - 1
            && PaddedSlot(w) <= int.MaxValue / 2 && ScratchLayout(w, filters, inputGradient: true).Length <= int.MaxValue / 2;

    /// <summary>One sample's slot in the column buffer: the padded length rounded up to a cache line (so every sample's
    /// padded planes start aligned).</summary>
    public static long PaddedSlot(Window2D w) => ToLine(PaddedLength(w));

    /// <summary>Floats of one padded sample: the planes and the slack.</summary>
    public static long PaddedLength(Window2D w)
        => (long)w.Channels * (w.Height + 2 * w.Padding) * (w.Width + 2 * w.Padding) + Slack(w.Kernel);

    /// <summary>The output gradient of one sample and filter on the padded input's grid: <c>outHeight × pitch</c>, rounded up to 16.</summary>
    public static int GridLength(Window2D w) => (int)ToLine((long)w.OutputHeight * (w.Width + 2 * w.Padding));

    /// <summary>Samples whose weight-gradient products share one pass (so each dot product is summed over enough vectors
    /// to pay for its horizontal reduction): about 160 vectors of 16, at most 12 samples (twelve at conv2's 14 × 16 grid;
    /// measured in docs/performance.md, 2026-12-08). Mirrored in the generator's <c>Conv2DUnit.DirectScratch</c>.</summary>
    public static int Group(Window2D w) => Math.Clamp((160 * 16 + GridLength(w) - 1) / GridLength(w), 1, 12);

    /// <summary>
    /// The backward pass's scratch, each region on a cache line (so the grids' loads are aligned): the flipped weight at 0,
    /// the padded output gradient at <c>Delta</c> (both only for the input gradient), one group's output gradients on the
    /// grid at <c>Grids</c>, <c>Length</c> floats in all.
    /// </summary>
    public static (long Delta, long Grids, long Length) ScratchLayout(Window2D w, int filters, bool inputGradient)
    {
        long delta = ToLine((long)filters * w.Patch);
        long grids = delta + (inputGradient ? DeltaPaddedLength(w, filters) : 0);
        return (delta, grids, grids + (long)Group(w) * filters * GridLength(w));
    }

    /// <summary>The padded output gradient's floats, rounded up to a cache line.</summary>
    public static long DeltaPaddedLength(Window2D w, int filters)
    {
        int q = w.Kernel - 1 - w.Padding;
        return ToLine((long)filters * (w.OutputHeight + 2 * q) * (w.OutputWidth + 2 * q) + Slack(w.Kernel));
    }

    /// <summary>Floats rounded up to a whole number of 64-byte lines.</summary>
    private static long ToLine(long floats) => (floats + 15) / 16 * 16;

    /// <summary>Copies [channels, height, width] into planes of <c>(height + 2p) × (width + 2p)</c> with a zero border, then the slack zeros.</summary>
    /// <remarks>Row by row with short vector copies: the rows are short (14 floats in the CNN's conv2), and a call to the
    /// runtime's copy and clear per row cost as much as the convolution's products.</remarks>
    public static void Pad(ReadOnlySpan<float> x, Span<float> padded, int channels, int height, int width, int padding, int kernel)
    {
        int pitch = width + 2 * padding, rows = height + 2 * padding, plane = rows * pitch, total = channels * height * width;
        int length = channels * plane + Slack(kernel);
        if (x.Length < total || padded.Length < length)
        {
            throw new ArgumentException("DirectConvolution.Pad: a buffer does not fit the window.");
        }
        ref float source = ref MemoryMarshal.GetReference(x);
        ref float target = ref MemoryMarshal.GetReference(padded);
        for (int c = 0; c < channels; c++)
        {
            int at = c * plane;
            padded.Slice(at, padding * pitch + padding).Clear();
            for (int y = 0; y < height; y++)
            {
                int from = (c * height + y) * width, to = at + (y + padding) * pitch + padding;
                CopyRow(ref Unsafe.Add(ref source, from), ref Unsafe.Add(ref target, to), width, x.Length - from, length - to);
                // The right border of this row and the left border of the next are adjacent; written after the row, whose
                // last vector may have run over them (the next row's values are written later still).
                for (int i = width; i < width + 2 * padding; i++)
                {
                    Unsafe.Add(ref target, to + i) = 0f;
                }
            }
            padded[(at + (height + padding) * pitch)..(at + plane)].Clear();
        }
        padded.Slice(channels * plane, Slack(kernel)).Clear();
    }

    /// <summary>
    /// Copies <paramref name="count"/> floats, four at a time while the source has <paramref name="readable"/> floats and the
    /// target <paramref name="writable"/> (so the last vector may write up to three floats past the count), then one by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(ref float source, ref float target, int count, int readable, int writable)
    {
        int limit = Math.Min(readable, writable), i = 0;
        for (; i < count && i + 4 <= limit; i += 4)
        {
            Vector128.LoadUnsafe(ref source, (nuint)i).StoreUnsafe(ref target, (nuint)i);
        }
        for (; i < count; i++)
        {
            Unsafe.Add(ref target, i) = Unsafe.Add(ref source, i);
        }
    }

    /// <summary>
    /// <c>y[f, oy, ox] = f(bias[f] + Σ_(c, ky, kx) w[f, (c k + ky) k + kx] · xp[c, oy + ky, ox + kx])</c> over a padded input
    /// (<paramref name="planeStride"/> floats per channel, rows of <paramref name="pitch"/>, <see cref="Slack"/> zeros after),
    /// <c>y</c> compact [filters, outHeight, outWidth], overwritten.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Correlate<TA>(
        ReadOnlySpan<float> padded, int channels, int planeStride, int pitch, int kernel,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, int filters, Span<float> y, int outHeight, int outWidth)
        where TA : struct, IActivation
    {
        if (padded.Length < (long)channels * planeStride + Slack(kernel) || weights.Length < filters * channels * kernel * kernel
            || (!bias.IsEmpty && bias.Length < filters) || y.Length < filters * outHeight * outWidth
            || (outHeight - 1 + kernel - 1) * pitch + outWidth + kernel - 1 > planeStride || outWidth + kernel - 1 > pitch)
        {
            throw new ArgumentException("DirectConvolution.Correlate: a buffer does not fit the window.");
        }
        ref float x = ref MemoryMarshal.GetReference(padded);
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float b = ref MemoryMarshal.GetReference(bias);
        ref float o = ref MemoryMarshal.GetReference(y);
        var shape = new Shape(channels, planeStride, pitch, kernel, outHeight, outWidth, !bias.IsEmpty);
        if (Vector512.IsHardwareAccelerated)
        {
            Correlate<Simd512, Vector512<float>, TA>(ref x, ref w, ref b, filters, ref o, shape);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Correlate<Simd256, Vector256<float>, TA>(ref x, ref w, ref b, filters, ref o, shape);
        }
        else
        {
            Correlate<Simd128, Vector128<float>, TA>(ref x, ref w, ref b, filters, ref o, shape);
        }
    }

    /// <summary>The geometry the tiles share.</summary>
    private readonly record struct Shape(int Channels, int PlaneStride, int Pitch, int Kernel, int OutHeight, int OutWidth, bool HasBias)
    {
        public int Depth => Channels * Kernel * Kernel;
    }

    private static void Correlate<TS, TV, TA>(ref float x, ref float w, ref float bias, int filters, ref float y, Shape s)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        int width = TS.Count, perRow = (s.OutWidth + width - 1) / width, segments = s.OutHeight * perRow, depth = s.Depth;
        int plane = s.OutHeight * s.OutWidth;
        int f = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; f + 8 <= filters; f += 8)
            {
                for (int t = 0; t < segments; t += 2)
                {
                    var (g0, o0, v0) = Segment(t, perRow, TS.Count, s);
                    var (g1, o1, v1) = Segment(Math.Min(t + 1, segments - 1), perRow, TS.Count, s);
                    Tile8x2<TS, TV, TA, Segments>(ref x, ref Unsafe.Add(ref w, f * depth), ref Unsafe.Add(ref bias, f), ref Unsafe.Add(ref y, f * plane), s, g0, g1,
                        new Segments(o0, v0, o1, v1, plane));
                }
            }
        }
        for (; f + 4 <= filters; f += 4)
        {
            for (int t = 0; t < segments; t += 2)
            {
                Tile4x2<TS, TV, TA>(ref x, ref Unsafe.Add(ref w, f * depth), ref Unsafe.Add(ref bias, f), ref Unsafe.Add(ref y, f * plane), s, perRow, t, Math.Min(t + 1, segments - 1), plane);
            }
        }
        for (; f < filters; f++)
        {
            for (int t = 0; t < segments; t++)
            {
                Tile1x1<TS, TV, TA>(ref x, ref Unsafe.Add(ref w, f * depth), ref Unsafe.Add(ref bias, f), ref Unsafe.Add(ref y, f * plane), s, perRow, t, plane);
            }
        }
    }

    /// <summary>Segment <paramref name="t"/>'s offset on the padded grid, in the compact output, and its valid lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Grid, int Output, int Valid) Segment(int t, int perRow, int width, in Shape s)
    {
        int oy = t / perRow, ox = (t - oy * perRow) * width;
        return (oy * s.Pitch + ox, oy * s.OutWidth + ox, Math.Min(width, s.OutWidth - ox));
    }

    /// <summary>
    /// Stores a segment. A full vector is stored whenever it stays inside the filter's plane: lanes past the row's end fall
    /// on the next row's first outputs, which a later segment overwrites. Near the plane's end the valid lanes go through
    /// the stack.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TS, TV, TA>(TV value, ref float plane, int output, int valid, int planeLength)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        if (output + TS.Count <= planeLength)
        {
            Gemm.Put<TS, TV, TA>(value, ref Unsafe.Add(ref plane, output));
            return;
        }
        // Not stackalloc, and no call: either would keep this from inlining, and a call after the tile's loop makes the
        // register allocator spill every accumulator inside the loop.
        Lanes lanes = default;
        ref float first = ref Unsafe.As<Lanes, float>(ref lanes);
        Gemm.Put<TS, TV, TA>(value, ref first);
        for (int i = 0; i < valid; i++)
        {
            Unsafe.Add(ref plane, output + i) = Unsafe.Add(ref first, i);
        }
    }

    /// <summary>One vector's lanes on the stack (the widest vector).</summary>
    [InlineArray(16)]
    private struct Lanes
    {
        private float _element;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Start<TS, TV>(ref float bias, int row, bool hasBias) where TS : struct, ISimd<TV> where TV : struct
        => hasBias ? TS.Broadcast(Unsafe.Add(ref bias, row)) : TS.Zero;

    // Eight filters × two segments: sixteen accumulators, two loads of the padded input and eight broadcast weights per
    // term (512-bit path, 32 registers). The segments start at g0 and g1 on the padded grid; TOut puts each filter's two
    // results (stores them as they are, or pools them).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8x2<TS, TV, TA, TOut>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int g0, int g1, TOut output)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation where TOut : struct, ITileOutput
    {
        int depth = s.Depth, k = s.Kernel;
        TV c00 = Start<TS, TV>(ref bias, 0, s.HasBias), c10 = Start<TS, TV>(ref bias, 1, s.HasBias), c20 = Start<TS, TV>(ref bias, 2, s.HasBias), c30 = Start<TS, TV>(ref bias, 3, s.HasBias);
        TV c40 = Start<TS, TV>(ref bias, 4, s.HasBias), c50 = Start<TS, TV>(ref bias, 5, s.HasBias), c60 = Start<TS, TV>(ref bias, 6, s.HasBias), c70 = Start<TS, TV>(ref bias, 7, s.HasBias);
        TV c01 = c00, c11 = c10, c21 = c20, c31 = c30, c41 = c40, c51 = c50, c61 = c60, c71 = c70;
        ref float w1 = ref Unsafe.Add(ref w, depth);
        ref float w2 = ref Unsafe.Add(ref w, 2 * depth);
        ref float w3 = ref Unsafe.Add(ref w, 3 * depth);
        ref float w4 = ref Unsafe.Add(ref w, 4 * depth);
        ref float w5 = ref Unsafe.Add(ref w, 5 * depth);
        ref float w6 = ref Unsafe.Add(ref w, 6 * depth);
        ref float w7 = ref Unsafe.Add(ref w, 7 * depth);
        int p = 0;
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float row = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    TV b0 = TS.Load(ref Unsafe.Add(ref row, g0 + kx));
                    TV b1 = TS.Load(ref Unsafe.Add(ref row, g1 + kx));
                    TV a = TS.Broadcast(Unsafe.Add(ref w, p)); c00 = TS.MultiplyAdd(a, b0, c00); c01 = TS.MultiplyAdd(a, b1, c01);
                    a = TS.Broadcast(Unsafe.Add(ref w1, p)); c10 = TS.MultiplyAdd(a, b0, c10); c11 = TS.MultiplyAdd(a, b1, c11);
                    a = TS.Broadcast(Unsafe.Add(ref w2, p)); c20 = TS.MultiplyAdd(a, b0, c20); c21 = TS.MultiplyAdd(a, b1, c21);
                    a = TS.Broadcast(Unsafe.Add(ref w3, p)); c30 = TS.MultiplyAdd(a, b0, c30); c31 = TS.MultiplyAdd(a, b1, c31);
                    a = TS.Broadcast(Unsafe.Add(ref w4, p)); c40 = TS.MultiplyAdd(a, b0, c40); c41 = TS.MultiplyAdd(a, b1, c41);
                    a = TS.Broadcast(Unsafe.Add(ref w5, p)); c50 = TS.MultiplyAdd(a, b0, c50); c51 = TS.MultiplyAdd(a, b1, c51);
                    a = TS.Broadcast(Unsafe.Add(ref w6, p)); c60 = TS.MultiplyAdd(a, b0, c60); c61 = TS.MultiplyAdd(a, b1, c61);
                    a = TS.Broadcast(Unsafe.Add(ref w7, p)); c70 = TS.MultiplyAdd(a, b0, c70); c71 = TS.MultiplyAdd(a, b1, c71);
                }
            }
        }
        output.Put<TS, TV, TA>(c00, c01, ref y, 0);
        output.Put<TS, TV, TA>(c10, c11, ref y, 1);
        output.Put<TS, TV, TA>(c20, c21, ref y, 2);
        output.Put<TS, TV, TA>(c30, c31, ref y, 3);
        output.Put<TS, TV, TA>(c40, c41, ref y, 4);
        output.Put<TS, TV, TA>(c50, c51, ref y, 5);
        output.Put<TS, TV, TA>(c60, c61, ref y, 6);
        output.Put<TS, TV, TA>(c70, c71, ref y, 7);
    }

    /// <summary>Where a tile's results go: one call per filter with its two accumulators.</summary>
    private interface ITileOutput
    {
        void Put<TS, TV, TA>(TV first, TV second, ref float planes, int filter)
            where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation;
    }

    /// <summary>Two output row segments stored as they are: segment 0 before 1 in every plane (0's lanes past its row fall where 1, or a later segment, writes).</summary>
    private readonly struct Segments(int output0, int valid0, int output1, int valid1, int plane) : ITileOutput
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Put<TS, TV, TA>(TV first, TV second, ref float planes, int filter)
            where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
        {
            ref float y = ref Unsafe.Add(ref planes, filter * plane);
            Store<TS, TV, TA>(first, ref y, output0, valid0, plane);
            Store<TS, TV, TA>(second, ref y, output1, valid1, plane);
        }
    }

    /// <summary>The two rows of a line of 2×2 pooling windows, pooled into <paramref name="valid"/> outputs at <paramref name="at"/> (512-bit only).</summary>
    private readonly struct Pooled(int at, int valid, int plane) : ITileOutput
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Put<TS, TV, TA>(TV first, TV second, ref float planes, int filter)
            where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
            => PutPooled<TA>(Unsafe.As<TV, Vector512<float>>(ref first), Unsafe.As<TV, Vector512<float>>(ref second), ref Unsafe.Add(ref planes, filter * plane), at, valid, plane);
    }

    // Four filters × two segments (the 256- and 128-bit paths, 16 registers, and the 512-bit path's last filters).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x2<TS, TV, TA>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int perRow, int t0, int t1, int plane)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        var (g0, o0, v0) = Segment(t0, perRow, TS.Count, s);
        var (g1, o1, v1) = Segment(t1, perRow, TS.Count, s);
        int depth = s.Depth, k = s.Kernel;
        TV c00 = Start<TS, TV>(ref bias, 0, s.HasBias), c10 = Start<TS, TV>(ref bias, 1, s.HasBias), c20 = Start<TS, TV>(ref bias, 2, s.HasBias), c30 = Start<TS, TV>(ref bias, 3, s.HasBias);
        TV c01 = c00, c11 = c10, c21 = c20, c31 = c30;
        ref float w1 = ref Unsafe.Add(ref w, depth);
        ref float w2 = ref Unsafe.Add(ref w, 2 * depth);
        ref float w3 = ref Unsafe.Add(ref w, 3 * depth);
        int p = 0;
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float row = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    TV b0 = TS.Load(ref Unsafe.Add(ref row, g0 + kx));
                    TV b1 = TS.Load(ref Unsafe.Add(ref row, g1 + kx));
                    TV a = TS.Broadcast(Unsafe.Add(ref w, p)); c00 = TS.MultiplyAdd(a, b0, c00); c01 = TS.MultiplyAdd(a, b1, c01);
                    a = TS.Broadcast(Unsafe.Add(ref w1, p)); c10 = TS.MultiplyAdd(a, b0, c10); c11 = TS.MultiplyAdd(a, b1, c11);
                    a = TS.Broadcast(Unsafe.Add(ref w2, p)); c20 = TS.MultiplyAdd(a, b0, c20); c21 = TS.MultiplyAdd(a, b1, c21);
                    a = TS.Broadcast(Unsafe.Add(ref w3, p)); c30 = TS.MultiplyAdd(a, b0, c30); c31 = TS.MultiplyAdd(a, b1, c31);
                }
            }
        }
        Store<TS, TV, TA>(c00, ref y, o0, v0, plane); Store<TS, TV, TA>(c01, ref y, o1, v1, plane);
        Store<TS, TV, TA>(c10, ref Unsafe.Add(ref y, plane), o0, v0, plane); Store<TS, TV, TA>(c11, ref Unsafe.Add(ref y, plane), o1, v1, plane);
        Store<TS, TV, TA>(c20, ref Unsafe.Add(ref y, 2 * plane), o0, v0, plane); Store<TS, TV, TA>(c21, ref Unsafe.Add(ref y, 2 * plane), o1, v1, plane);
        Store<TS, TV, TA>(c30, ref Unsafe.Add(ref y, 3 * plane), o0, v0, plane); Store<TS, TV, TA>(c31, ref Unsafe.Add(ref y, 3 * plane), o1, v1, plane);
    }

    // One filter × one segment: the filters past the last block of four.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x1<TS, TV, TA>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int perRow, int t, int plane)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        var (g, o, v) = Segment(t, perRow, TS.Count, s);
        int k = s.Kernel, p = 0;
        TV acc = Start<TS, TV>(ref bias, 0, s.HasBias);
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float row = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch + g);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    acc = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref w, p)), TS.Load(ref Unsafe.Add(ref row, kx)), acc);
                }
            }
        }
        Store<TS, TV, TA>(acc, ref y, o, v, plane);
    }

    /// <summary>Whether <see cref="CorrelatePooled{TA}"/> runs on this machine for this activation: the 512-bit path, and an
    /// activation applied in registers (Identity, Relu, LeakyRelu).</summary>
    public static bool PoolingApplies<TA>() where TA : struct, IActivation
        => Avx512F.IsSupported && Vector512.IsHardwareAccelerated && TA.FusesIntoProduct;

    /// <summary>
    /// Inference: <see cref="Correlate{TA}"/>, its activation and a 2×2, stride-2 max pooling in one pass, without storing the
    /// convolution's output: <c>pooled[f, py, px]</c> is the largest of <c>f(z[f, oy, ox])</c> over <c>oy ∈ {2py, 2py + 1}</c>,
    /// <c>ox ∈ {2px, 2px + 1}</c>, the window scanned in PyTorch's order (the first of equal maxima kept, the last NaN
    /// propagated), so the values are exactly <c>Pooling.MaxForward</c>'s over <see cref="Correlate{TA}"/>'s output (the sums
    /// too: each accumulator adds the same terms in the same order). <paramref name="pooled"/> is
    /// [filters, outHeight / 2, outWidth / 2] (floor), overwritten. Needs <see cref="PoolingApplies{TA}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CorrelatePooled<TA>(
        ReadOnlySpan<float> padded, int channels, int planeStride, int pitch, int kernel,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, int filters, Span<float> pooled, int outHeight, int outWidth)
        where TA : struct, IActivation
    {
        int pooledHeight = outHeight / 2, pooledWidth = outWidth / 2, plane = pooledHeight * pooledWidth;
        if (!PoolingApplies<TA>() || padded.Length < (long)channels * planeStride + Slack(kernel) || weights.Length < filters * channels * kernel * kernel
            || (!bias.IsEmpty && bias.Length < filters) || pooled.Length < filters * plane
            || (outHeight - 1 + kernel - 1) * pitch + outWidth + kernel - 1 > planeStride || outWidth + kernel - 1 > pitch)
        {
            throw new ArgumentException("DirectConvolution.CorrelatePooled: a buffer does not fit the window, or the path does not apply.");
        }
        if (plane == 0)
        {
            return;
        }
        ref float x = ref MemoryMarshal.GetReference(padded);
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float b = ref MemoryMarshal.GetReference(bias);
        ref float o = ref MemoryMarshal.GetReference(pooled);
        var s = new Shape(channels, planeStride, pitch, kernel, outHeight, outWidth, !bias.IsEmpty);
        int depth = s.Depth, perRow = (2 * pooledWidth + 15) / 16;
        int f = 0;
        for (; f + 8 <= filters; f += 8)
        {
            for (int py = 0; py < pooledHeight; py++)
            {
                for (int j = 0; j < perRow; j++)
                {
                    // Tile8x2's sums over the two rows of this line of windows, sixteen columns of each, pooled into eight outputs.
                    int g0 = 2 * py * pitch + 16 * j;
                    Tile8x2<Simd512, Vector512<float>, TA, Pooled>(ref x, ref Unsafe.Add(ref w, f * depth), ref Unsafe.Add(ref b, f), ref Unsafe.Add(ref o, f * plane), s, g0, g0 + pitch,
                        new Pooled(py * pooledWidth + 8 * j, Math.Min(8, pooledWidth - 8 * j), plane));
                }
            }
        }
        for (; f < filters; f++)
        {
            for (int py = 0; py < pooledHeight; py++)
            {
                for (int j = 0; j < perRow; j++)
                {
                    Pooled1<TA>(ref x, ref Unsafe.Add(ref w, f * depth), ref Unsafe.Add(ref b, f), ref Unsafe.Add(ref o, f * plane), s, py, j, pooledWidth, plane);
                }
            }
        }
    }

    // One filter × the two rows of one line of pooling windows (the filters past the last eight).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pooled1<TA>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int py, int j, int pooledWidth, int plane)
        where TA : struct, IActivation
    {
        int g0 = 2 * py * s.Pitch + 16 * j, g1 = g0 + s.Pitch, at = py * pooledWidth + 8 * j, valid = Math.Min(8, pooledWidth - 8 * j);
        int k = s.Kernel, p = 0;
        Vector512<float> top = Start<Simd512, Vector512<float>>(ref bias, 0, s.HasBias), bottom = top;
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float row = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    var a = Simd512.Broadcast(Unsafe.Add(ref w, p));
                    top = Simd512.MultiplyAdd(a, Simd512.Load(ref Unsafe.Add(ref row, g0 + kx)), top);
                    bottom = Simd512.MultiplyAdd(a, Simd512.Load(ref Unsafe.Add(ref row, g1 + kx)), bottom);
                }
            }
        }
        PutPooled<TA>(top, bottom, ref y, at, valid, plane);
    }

    /// <summary>
    /// Activates two rows of 16 outputs, pools each 2×2 window into one value, and stores the 8 (<paramref name="valid"/> of
    /// them near the plane's end; otherwise the lanes past the line fall on the next line's first outputs, which a later
    /// tile overwrites). Windows in PyTorch's order: within each row the left then the right value, then the top row's
    /// winner against the bottom row's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutPooled<TA>(Vector512<float> top, Vector512<float> bottom, ref float plane, int at, int valid, int planeLength)
        where TA : struct, IActivation
    {
        if (typeof(TA) != typeof(Identity))
        {
            top = TA.Apply(top);
            bottom = TA.Apply(bottom);
        }
        // Lanes 0-7: the top row's left values (even columns), lanes 8-15: the bottom row's; the same for the right values.
        var left = Avx512F.PermuteVar16x32x2(top, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), bottom);
        var right = Avx512F.PermuteVar16x32x2(top, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), bottom);
        var rows = FirstMax(left, right);
        var result = FirstMax(rows.GetLower(), rows.GetUpper());
        if (at + 8 <= planeLength)
        {
            result.StoreUnsafe(ref Unsafe.Add(ref plane, at));
            return;
        }
        Lanes lanes = default;
        ref float first = ref Unsafe.As<Lanes, float>(ref lanes);
        result.StoreUnsafe(ref first);
        for (int i = 0; i < valid; i++)
        {
            Unsafe.Add(ref plane, at + i) = Unsafe.Add(ref first, i);
        }
    }

    /// <summary>
    /// Whether <see cref="CorrelatePooledBlocked{TA}"/> runs for this layer: <see cref="PoolingApplies{TA}"/> and the filters in
    /// whole vectors of 16 (blocks of 32, and one of 16 for the rest).
    /// </summary>
    public static bool BlockedApplies<TA>(int filters) where TA : struct, IActivation
        => PoolingApplies<TA>() && filters > 0 && filters % 16 == 0;

    /// <summary>Writes the weights <c>[filters, depth]</c> as <c>[depth, filters]</c>, the layout <see cref="CorrelatePooledBlocked{TA}"/> reads.</summary>
    public static void TransposeWeights(ReadOnlySpan<float> weights, Span<float> transposed, int filters, int depth)
    {
        if (weights.Length < filters * depth || transposed.Length < filters * depth)
        {
            throw new ArgumentException("DirectConvolution.TransposeWeights: a buffer is shorter than filters × depth.");
        }
        ref float source = ref MemoryMarshal.GetReference(weights);
        ref float target = ref MemoryMarshal.GetReference(transposed);
        for (int f = 0; f < filters; f++)
        {
            ref float row = ref Unsafe.Add(ref source, f * depth);
            ref float column = ref Unsafe.Add(ref target, f);
            for (int p = 0; p < depth; p++)
            {
                Unsafe.Add(ref column, p * filters) = Unsafe.Add(ref row, p);
            }
        }
    }

    /// <summary>
    /// <see cref="CorrelatePooled{TA}"/> with the filters along the vectors instead of the output columns: a vector holds
    /// sixteen filters of one output, each term is one vector of <paramref name="transposed"/> weights per block of 16 filters (<see
    /// cref="TransposeWeights"/>) times one broadcast input value, so no lane is wasted on rows narrower than a vector (a
    /// 14-wide row used 14 of 16 lanes on the row-major tiles, a 28-wide one 28 of 32). The tile is two output rows × six
    /// columns × 32 filters (twelve columns × 16 filters for a last block of 16), pooled in registers; each pooled vector
    /// goes to its sixteen planes one value at a time. Every accumulator adds the
    /// same terms in the same order as <see cref="CorrelatePooled{TA}"/>'s, from the same bias, and the window is scanned in
    /// the same order, so the values are the same bit for bit. Needs <see cref="BlockedApplies{TA}"/>.
    /// </summary>
    public static void CorrelatePooledBlocked<TA>(
        ReadOnlySpan<float> padded, int channels, int planeStride, int pitch, int kernel,
        ReadOnlySpan<float> transposed, ReadOnlySpan<float> bias, int filters, Span<float> pooled, int outHeight, int outWidth)
        where TA : struct, IActivation
    {
        int pooledHeight = outHeight / 2, pooledWidth = outWidth / 2, plane = pooledHeight * pooledWidth;
        if (!BlockedApplies<TA>(filters) || padded.Length < (long)channels * planeStride + Slack(kernel) || transposed.Length < filters * channels * kernel * kernel
            || (!bias.IsEmpty && bias.Length < filters) || pooled.Length < filters * plane
            || (outHeight - 1 + kernel - 1) * pitch + outWidth + kernel - 1 > planeStride || outWidth + kernel - 1 > pitch)
        {
            throw new ArgumentException("DirectConvolution.CorrelatePooledBlocked: a buffer does not fit the window, or the path does not apply.");
        }
        if (plane == 0)
        {
            return;
        }
        ref float x = ref MemoryMarshal.GetReference(padded);
        ref float w = ref MemoryMarshal.GetReference(transposed);
        ref float b = ref MemoryMarshal.GetReference(bias);
        ref float o = ref MemoryMarshal.GetReference(pooled);
        var s = new Shape(channels, planeStride, pitch, kernel, outHeight, outWidth, !bias.IsEmpty);
        for (int f = 0; f < filters; f += 32)
        {
            // A last block of 16 filters (all of them for a 16-filter layer such as a first convolution) is one vector of
            // filters, so its tiles take twice the columns for the same 24 accumulators.
            bool half = filters - f == 16;
            int windows = half ? 6 : 3;
            ref float wf = ref Unsafe.Add(ref w, f);
            ref float bf = ref Unsafe.Add(ref b, s.HasBias ? f : 0);
            ref float yf = ref Unsafe.Add(ref o, f * plane);
            for (int py = 0; py < pooledHeight; py++)
            {
                ref float line = ref Unsafe.Add(ref x, 2 * py * pitch);
                int px = 0;
                for (; px + windows <= pooledWidth; px += windows)
                {
                    if (half)
                    {
                        BlockTile12Half<TA>(ref Unsafe.Add(ref line, 2 * px), ref wf, ref bf, ref yf, s, filters, py * pooledWidth + px, plane);
                    }
                    else
                    {
                        BlockTile6<TA>(ref Unsafe.Add(ref line, 2 * px), ref wf, ref bf, ref yf, s, filters, py * pooledWidth + px, plane);
                    }
                }
                for (; px < pooledWidth; px++)
                {
                    if (half)
                    {
                        BlockTile2Half<TA>(ref Unsafe.Add(ref line, 2 * px), ref wf, ref bf, ref yf, s, filters, py * pooledWidth + px, plane);
                    }
                    else
                    {
                        BlockTile2<TA>(ref Unsafe.Add(ref line, 2 * px), ref wf, ref bf, ref yf, s, filters, py * pooledWidth + px, plane);
                    }
                }
            }
        }
    }

    // Two output rows × 6 columns × 32 filters (24 accumulators): per term two weight vectors and 12 broadcast inputs;
    // the tile's 3 lines of 2×2 windows pooled in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockTile6<TA>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int filters, int at, int plane)
        where TA : struct, IActivation
    {
        Vector512<float> b0 = s.HasBias ? Vector512.LoadUnsafe(ref bias) : Vector512<float>.Zero;
        Vector512<float> b1 = s.HasBias ? Vector512.LoadUnsafe(ref Unsafe.Add(ref bias, 16)) : Vector512<float>.Zero;
        Vector512<float> a000 = b0, a001 = b1, a010 = b0, a011 = b1, a020 = b0, a021 = b1, a030 = b0, a031 = b1, a040 = b0, a041 = b1, a050 = b0, a051 = b1;
        Vector512<float> a100 = b0, a101 = b1, a110 = b0, a111 = b1, a120 = b0, a121 = b1, a130 = b0, a131 = b1, a140 = b0, a141 = b1, a150 = b0, a151 = b1;
        int k = s.Kernel, p = 0;
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float top = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch);
                ref float bottom = ref Unsafe.Add(ref top, s.Pitch);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    ref float term = ref Unsafe.Add(ref w, p * filters);
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref term), w1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref term, 16));
                    Vector512<float> v00 = Vector512.Create(Unsafe.Add(ref top, kx + 0)); a000 = Simd512.MultiplyAdd(w0, v00, a000); a001 = Simd512.MultiplyAdd(w1, v00, a001);
                    Vector512<float> v01 = Vector512.Create(Unsafe.Add(ref top, kx + 1)); a010 = Simd512.MultiplyAdd(w0, v01, a010); a011 = Simd512.MultiplyAdd(w1, v01, a011);
                    Vector512<float> v02 = Vector512.Create(Unsafe.Add(ref top, kx + 2)); a020 = Simd512.MultiplyAdd(w0, v02, a020); a021 = Simd512.MultiplyAdd(w1, v02, a021);
                    Vector512<float> v03 = Vector512.Create(Unsafe.Add(ref top, kx + 3)); a030 = Simd512.MultiplyAdd(w0, v03, a030); a031 = Simd512.MultiplyAdd(w1, v03, a031);
                    Vector512<float> v04 = Vector512.Create(Unsafe.Add(ref top, kx + 4)); a040 = Simd512.MultiplyAdd(w0, v04, a040); a041 = Simd512.MultiplyAdd(w1, v04, a041);
                    Vector512<float> v05 = Vector512.Create(Unsafe.Add(ref top, kx + 5)); a050 = Simd512.MultiplyAdd(w0, v05, a050); a051 = Simd512.MultiplyAdd(w1, v05, a051);
                    Vector512<float> v10 = Vector512.Create(Unsafe.Add(ref bottom, kx + 0)); a100 = Simd512.MultiplyAdd(w0, v10, a100); a101 = Simd512.MultiplyAdd(w1, v10, a101);
                    Vector512<float> v11 = Vector512.Create(Unsafe.Add(ref bottom, kx + 1)); a110 = Simd512.MultiplyAdd(w0, v11, a110); a111 = Simd512.MultiplyAdd(w1, v11, a111);
                    Vector512<float> v12 = Vector512.Create(Unsafe.Add(ref bottom, kx + 2)); a120 = Simd512.MultiplyAdd(w0, v12, a120); a121 = Simd512.MultiplyAdd(w1, v12, a121);
                    Vector512<float> v13 = Vector512.Create(Unsafe.Add(ref bottom, kx + 3)); a130 = Simd512.MultiplyAdd(w0, v13, a130); a131 = Simd512.MultiplyAdd(w1, v13, a131);
                    Vector512<float> v14 = Vector512.Create(Unsafe.Add(ref bottom, kx + 4)); a140 = Simd512.MultiplyAdd(w0, v14, a140); a141 = Simd512.MultiplyAdd(w1, v14, a141);
                    Vector512<float> v15 = Vector512.Create(Unsafe.Add(ref bottom, kx + 5)); a150 = Simd512.MultiplyAdd(w0, v15, a150); a151 = Simd512.MultiplyAdd(w1, v15, a151);
                }
            }
        }
        PutBlock<TA>(a000, a010, a100, a110, ref Unsafe.Add(ref y, 0 * plane), at + 0, plane);
        PutBlock<TA>(a001, a011, a101, a111, ref Unsafe.Add(ref y, 16 * plane), at + 0, plane);
        PutBlock<TA>(a020, a030, a120, a130, ref Unsafe.Add(ref y, 0 * plane), at + 1, plane);
        PutBlock<TA>(a021, a031, a121, a131, ref Unsafe.Add(ref y, 16 * plane), at + 1, plane);
        PutBlock<TA>(a040, a050, a140, a150, ref Unsafe.Add(ref y, 0 * plane), at + 2, plane);
        PutBlock<TA>(a041, a051, a141, a151, ref Unsafe.Add(ref y, 16 * plane), at + 2, plane);
    }

    // Two output rows × 2 columns × 32 filters (8 accumulators): per term two weight vectors and 4 broadcast inputs;
    // the tile's 1 line of 2×2 windows pooled in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockTile2<TA>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int filters, int at, int plane)
        where TA : struct, IActivation
    {
        Vector512<float> b0 = s.HasBias ? Vector512.LoadUnsafe(ref bias) : Vector512<float>.Zero;
        Vector512<float> b1 = s.HasBias ? Vector512.LoadUnsafe(ref Unsafe.Add(ref bias, 16)) : Vector512<float>.Zero;
        Vector512<float> a000 = b0, a001 = b1, a010 = b0, a011 = b1;
        Vector512<float> a100 = b0, a101 = b1, a110 = b0, a111 = b1;
        int k = s.Kernel, p = 0;
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float top = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch);
                ref float bottom = ref Unsafe.Add(ref top, s.Pitch);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    ref float term = ref Unsafe.Add(ref w, p * filters);
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref term), w1 = Vector512.LoadUnsafe(ref Unsafe.Add(ref term, 16));
                    Vector512<float> v00 = Vector512.Create(Unsafe.Add(ref top, kx + 0)); a000 = Simd512.MultiplyAdd(w0, v00, a000); a001 = Simd512.MultiplyAdd(w1, v00, a001);
                    Vector512<float> v01 = Vector512.Create(Unsafe.Add(ref top, kx + 1)); a010 = Simd512.MultiplyAdd(w0, v01, a010); a011 = Simd512.MultiplyAdd(w1, v01, a011);
                    Vector512<float> v10 = Vector512.Create(Unsafe.Add(ref bottom, kx + 0)); a100 = Simd512.MultiplyAdd(w0, v10, a100); a101 = Simd512.MultiplyAdd(w1, v10, a101);
                    Vector512<float> v11 = Vector512.Create(Unsafe.Add(ref bottom, kx + 1)); a110 = Simd512.MultiplyAdd(w0, v11, a110); a111 = Simd512.MultiplyAdd(w1, v11, a111);
                }
            }
        }
        PutBlock<TA>(a000, a010, a100, a110, ref Unsafe.Add(ref y, 0 * plane), at + 0, plane);
        PutBlock<TA>(a001, a011, a101, a111, ref Unsafe.Add(ref y, 16 * plane), at + 0, plane);
    }

    // Two output rows × 12 columns × 16 filters (24 accumulators): per term one weight vector and 24 broadcast inputs;
    // the tile's 6 lines of 2×2 windows pooled in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockTile12Half<TA>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int filters, int at, int plane)
        where TA : struct, IActivation
    {
        Vector512<float> b0 = s.HasBias ? Vector512.LoadUnsafe(ref bias) : Vector512<float>.Zero;
        Vector512<float> a00 = b0, a01 = b0, a02 = b0, a03 = b0, a04 = b0, a05 = b0, a06 = b0, a07 = b0, a08 = b0, a09 = b0, a0a = b0, a0b = b0;
        Vector512<float> a10 = b0, a11 = b0, a12 = b0, a13 = b0, a14 = b0, a15 = b0, a16 = b0, a17 = b0, a18 = b0, a19 = b0, a1a = b0, a1b = b0;
        int k = s.Kernel, p = 0;
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float top = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch);
                ref float bottom = ref Unsafe.Add(ref top, s.Pitch);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref w, p * filters));
                    ref float t = ref Unsafe.Add(ref top, kx);
                    ref float u = ref Unsafe.Add(ref bottom, kx);
                    a00 = Simd512.MultiplyAdd(w0, Vector512.Create(t), a00);
                    a01 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 1)), a01);
                    a02 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 2)), a02);
                    a03 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 3)), a03);
                    a04 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 4)), a04);
                    a05 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 5)), a05);
                    a06 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 6)), a06);
                    a07 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 7)), a07);
                    a08 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 8)), a08);
                    a09 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 9)), a09);
                    a0a = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 10)), a0a);
                    a0b = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref t, 11)), a0b);
                    a10 = Simd512.MultiplyAdd(w0, Vector512.Create(u), a10);
                    a11 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 1)), a11);
                    a12 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 2)), a12);
                    a13 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 3)), a13);
                    a14 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 4)), a14);
                    a15 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 5)), a15);
                    a16 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 6)), a16);
                    a17 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 7)), a17);
                    a18 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 8)), a18);
                    a19 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 9)), a19);
                    a1a = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 10)), a1a);
                    a1b = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref u, 11)), a1b);
                }
            }
        }
        PutBlock<TA>(a00, a01, a10, a11, ref y, at + 0, plane);
        PutBlock<TA>(a02, a03, a12, a13, ref y, at + 1, plane);
        PutBlock<TA>(a04, a05, a14, a15, ref y, at + 2, plane);
        PutBlock<TA>(a06, a07, a16, a17, ref y, at + 3, plane);
        PutBlock<TA>(a08, a09, a18, a19, ref y, at + 4, plane);
        PutBlock<TA>(a0a, a0b, a1a, a1b, ref y, at + 5, plane);
    }

    // Two output rows × 2 columns × 16 filters (4 accumulators): one line of 2×2 windows, for the columns the twelve-column
    // tiles leave.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockTile2Half<TA>(ref float x, ref float w, ref float bias, ref float y, in Shape s, int filters, int at, int plane)
        where TA : struct, IActivation
    {
        Vector512<float> b0 = s.HasBias ? Vector512.LoadUnsafe(ref bias) : Vector512<float>.Zero;
        Vector512<float> a00 = b0, a01 = b0, a10 = b0, a11 = b0;
        int k = s.Kernel, p = 0;
        for (int c = 0; c < s.Channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                ref float top = ref Unsafe.Add(ref x, c * s.PlaneStride + ky * s.Pitch);
                ref float bottom = ref Unsafe.Add(ref top, s.Pitch);
                for (int kx = 0; kx < k; kx++, p++)
                {
                    Vector512<float> w0 = Vector512.LoadUnsafe(ref Unsafe.Add(ref w, p * filters));
                    a00 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref top, kx)), a00);
                    a01 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref top, kx + 1)), a01);
                    a10 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref bottom, kx)), a10);
                    a11 = Simd512.MultiplyAdd(w0, Vector512.Create(Unsafe.Add(ref bottom, kx + 1)), a11);
                }
            }
        }
        PutBlock<TA>(a00, a01, a10, a11, ref y, at, plane);
    }

    /// <summary>
    /// Activates one 2×2 window's four vectors (sixteen filters each), pools them in <see cref="PutPooled{TA}"/>'s order (the
    /// top row's left then right value, the bottom row's, then the top winner against the bottom one) and writes lane
    /// <c>i</c> to <c>planes[i · plane + at]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutBlock<TA>(Vector512<float> topLeft, Vector512<float> topRight, Vector512<float> bottomLeft, Vector512<float> bottomRight,
        ref float planes, int at, int plane)
        where TA : struct, IActivation
    {
        if (typeof(TA) != typeof(Identity))
        {
            topLeft = TA.Apply(topLeft);
            topRight = TA.Apply(topRight);
            bottomLeft = TA.Apply(bottomLeft);
            bottomRight = TA.Apply(bottomRight);
        }
        var result = FirstMax(FirstMax(topLeft, topRight), FirstMax(bottomLeft, bottomRight));
        // Sixteen scalar stores, unrolled (a loop kept the stride on the stack and took about four times the instructions).
        Unsafe.SkipInit(out Lanes lanes);
        result.StoreUnsafe(ref Unsafe.As<Lanes, float>(ref lanes));
        nint step = plane;
        ref float target = ref Unsafe.Add(ref planes, at);
        target = lanes[0];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[1];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[2];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[3];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[4];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[5];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[6];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[7];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[8];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[9];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[10];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[11];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[12];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[13];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[14];
        target = ref Unsafe.Add(ref target, step);
        target = lanes[15];
    }

    /// <summary><paramref name="later"/> where it is greater or NaN, else <paramref name="earlier"/>: one step of a max scan that keeps the first of equal values and the last NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FirstMax(Vector512<float> earlier, Vector512<float> later)
        => Vector512.ConditionalSelect(Vector512.GreaterThan(later, earlier) | ~Vector512.Equals(later, later), later, earlier);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FirstMax(Vector256<float> earlier, Vector256<float> later)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(later, earlier) | ~Vector256.Equals(later, later), later, earlier);

    /// <summary>
    /// <c>dw[f, (c k + ky) k + kx] += Σ_n Σ_j grid[n, f, j] · xp[n, c, ky pitch + kx + j]</c>: the weight gradient of a group
    /// of samples, from their output gradients on the padded input's grid (<c>j = oy pitch + ox</c>, zero where
    /// <c>ox ≥ outWidth</c> and past the last row, <paramref name="gridLength"/> a multiple of 16) and their padded inputs
    /// (<paramref name="sampleStride"/> floats apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateWeightGradient(
        ReadOnlySpan<float> grid, int gridLength, ReadOnlySpan<float> padded, int sampleStride, int samples,
        int channels, int planeStride, int pitch, int kernel, int filters, Span<float> weightGradient)
    {
        int depth = channels * kernel * kernel;
        if (gridLength % 16 != 0 || grid.Length < (long)samples * filters * gridLength || weightGradient.Length < filters * depth
            || padded.Length < (long)(samples - 1) * sampleStride + (long)channels * planeStride + Slack(kernel)
            || (long)(channels - 1) * planeStride + (kernel - 1) * (pitch + 1) + gridLength > (long)channels * planeStride + Slack(kernel))
        {
            throw new ArgumentException("DirectConvolution.AccumulateWeightGradient: a buffer does not fit the window.");
        }
        var shape = new Shape(channels, planeStride, pitch, kernel, 0, 0, false);
        ref float g = ref MemoryMarshal.GetReference(grid);
        ref float x = ref MemoryMarshal.GetReference(padded);
        ref float dw = ref MemoryMarshal.GetReference(weightGradient);
        if (Vector512.IsHardwareAccelerated)
        {
            WeightGradient<Simd512, Vector512<float>>(ref g, gridLength, ref x, sampleStride, samples, filters, ref dw, shape);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            WeightGradient<Simd256, Vector256<float>>(ref g, gridLength, ref x, sampleStride, samples, filters, ref dw, shape);
        }
        else
        {
            WeightGradient<Simd128, Vector128<float>>(ref g, gridLength, ref x, sampleStride, samples, filters, ref dw, shape);
        }
    }

    /// <summary>The padded input's offset of weight-gradient row <paramref name="p"/> = (c, ky, kx).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Offset(int p, in Shape s)
    {
        int area = s.Kernel * s.Kernel, c = p / area, r = p - c * area, ky = r / s.Kernel;
        return c * s.PlaneStride + ky * s.Pitch + (r - ky * s.Kernel);
    }

    private static void WeightGradient<TS, TV>(ref float grid, int gridLength, ref float x, int sampleStride, int samples, int filters, ref float dw, in Shape s)
        where TS : struct, ISimd<TV> where TV : struct
    {
        int depth = s.Depth, f = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; f + 8 <= filters; f += 8)
            {
                int p = 0;
                for (; p + 3 <= depth; p += 3)
                {
                    Dot8x3<TS, TV>(ref Unsafe.Add(ref grid, f * gridLength), filters * gridLength, gridLength, ref x, sampleStride, samples,
                        Offset(p, s), Offset(p + 1, s), Offset(p + 2, s), ref Unsafe.Add(ref dw, f * depth + p), depth);
                }
                for (; p < depth; p++)
                {
                    for (int r = 0; r < 8; r++)
                    {
                        Unsafe.Add(ref dw, (f + r) * depth + p) += Dot1x1<TS, TV>(ref Unsafe.Add(ref grid, (f + r) * gridLength), filters * gridLength, gridLength,
                            ref Unsafe.Add(ref x, Offset(p, s)), sampleStride, samples);
                    }
                }
            }
        }
        for (; f + 4 <= filters; f += 4)
        {
            int p = 0;
            for (; p + 3 <= depth; p += 3)
            {
                Dot4x3<TS, TV>(ref Unsafe.Add(ref grid, f * gridLength), filters * gridLength, gridLength, ref x, sampleStride, samples,
                    Offset(p, s), Offset(p + 1, s), Offset(p + 2, s), ref Unsafe.Add(ref dw, f * depth + p), depth);
            }
            for (; p < depth; p++)
            {
                for (int r = 0; r < 4; r++)
                {
                    Unsafe.Add(ref dw, (f + r) * depth + p) += Dot1x1<TS, TV>(ref Unsafe.Add(ref grid, (f + r) * gridLength), filters * gridLength, gridLength,
                        ref Unsafe.Add(ref x, Offset(p, s)), sampleStride, samples);
                }
            }
        }
        for (; f < filters; f++)
        {
            for (int p = 0; p < depth; p++)
            {
                Unsafe.Add(ref dw, f * depth + p) += Dot1x1<TS, TV>(ref Unsafe.Add(ref grid, f * gridLength), filters * gridLength, gridLength,
                    ref Unsafe.Add(ref x, Offset(p, s)), sampleStride, samples);
            }
        }
    }

    // Eight filters × three weight rows (512-bit path, 32 registers): twenty-four accumulators, eight aligned gradient loads
    // and three shifted input loads per vector.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot8x3<TS, TV>(ref float grid, int gridSample, int gridLength, ref float x, int sampleStride, int samples,
        int offset0, int offset1, int offset2, ref float dw, int depth)
        where TS : struct, ISimd<TV> where TV : struct
    {
        int w = TS.Count;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero;
        TV c40 = TS.Zero, c41 = TS.Zero, c42 = TS.Zero, c50 = TS.Zero, c51 = TS.Zero, c52 = TS.Zero;
        TV c60 = TS.Zero, c61 = TS.Zero, c62 = TS.Zero, c70 = TS.Zero, c71 = TS.Zero, c72 = TS.Zero;
        for (int n = 0; n < samples; n++)
        {
            ref float d0 = ref Unsafe.Add(ref grid, n * gridSample);
            ref float xn = ref Unsafe.Add(ref x, n * sampleStride);
            ref float x0 = ref Unsafe.Add(ref xn, offset0);
            ref float x1 = ref Unsafe.Add(ref xn, offset1);
            ref float x2 = ref Unsafe.Add(ref xn, offset2);
            for (int j = 0; j < gridLength; j += w)
            {
                TV b0 = TS.Load(ref Unsafe.Add(ref x0, j)), b1 = TS.Load(ref Unsafe.Add(ref x1, j)), b2 = TS.Load(ref Unsafe.Add(ref x2, j));
                ref float d = ref Unsafe.Add(ref d0, j);
                TV a = TS.Load(ref d); c00 = TS.MultiplyAdd(a, b0, c00); c01 = TS.MultiplyAdd(a, b1, c01); c02 = TS.MultiplyAdd(a, b2, c02);
                a = TS.Load(ref Unsafe.Add(ref d, gridLength)); c10 = TS.MultiplyAdd(a, b0, c10); c11 = TS.MultiplyAdd(a, b1, c11); c12 = TS.MultiplyAdd(a, b2, c12);
                a = TS.Load(ref Unsafe.Add(ref d, 2 * gridLength)); c20 = TS.MultiplyAdd(a, b0, c20); c21 = TS.MultiplyAdd(a, b1, c21); c22 = TS.MultiplyAdd(a, b2, c22);
                a = TS.Load(ref Unsafe.Add(ref d, 3 * gridLength)); c30 = TS.MultiplyAdd(a, b0, c30); c31 = TS.MultiplyAdd(a, b1, c31); c32 = TS.MultiplyAdd(a, b2, c32);
                a = TS.Load(ref Unsafe.Add(ref d, 4 * gridLength)); c40 = TS.MultiplyAdd(a, b0, c40); c41 = TS.MultiplyAdd(a, b1, c41); c42 = TS.MultiplyAdd(a, b2, c42);
                a = TS.Load(ref Unsafe.Add(ref d, 5 * gridLength)); c50 = TS.MultiplyAdd(a, b0, c50); c51 = TS.MultiplyAdd(a, b1, c51); c52 = TS.MultiplyAdd(a, b2, c52);
                a = TS.Load(ref Unsafe.Add(ref d, 6 * gridLength)); c60 = TS.MultiplyAdd(a, b0, c60); c61 = TS.MultiplyAdd(a, b1, c61); c62 = TS.MultiplyAdd(a, b2, c62);
                a = TS.Load(ref Unsafe.Add(ref d, 7 * gridLength)); c70 = TS.MultiplyAdd(a, b0, c70); c71 = TS.MultiplyAdd(a, b1, c71); c72 = TS.MultiplyAdd(a, b2, c72);
            }
        }
        AddRow<TS, TV>(ref dw, c00, c01, c02);
        AddRow<TS, TV>(ref Unsafe.Add(ref dw, depth), c10, c11, c12);
        AddRow<TS, TV>(ref Unsafe.Add(ref dw, 2 * depth), c20, c21, c22);
        AddRow<TS, TV>(ref Unsafe.Add(ref dw, 3 * depth), c30, c31, c32);
        AddRow<TS, TV>(ref Unsafe.Add(ref dw, 4 * depth), c40, c41, c42);
        AddRow<TS, TV>(ref Unsafe.Add(ref dw, 5 * depth), c50, c51, c52);
        AddRow<TS, TV>(ref Unsafe.Add(ref dw, 6 * depth), c60, c61, c62);
        AddRow<TS, TV>(ref Unsafe.Add(ref dw, 7 * depth), c70, c71, c72);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow<TS, TV>(ref float dw, TV first, TV second, TV third) where TS : struct, ISimd<TV> where TV : struct
    {
        dw += TS.Sum(first);
        Unsafe.Add(ref dw, 1) += TS.Sum(second);
        Unsafe.Add(ref dw, 2) += TS.Sum(third);
    }

    // Four filters × three weight rows: twelve accumulators, four gradient loads and three shifted input loads per vector.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x3<TS, TV>(ref float grid, int gridSample, int gridLength, ref float x, int sampleStride, int samples,
        int offset0, int offset1, int offset2, ref float dw, int depth)
        where TS : struct, ISimd<TV> where TV : struct
    {
        int w = TS.Count;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero;
        for (int n = 0; n < samples; n++)
        {
            ref float d0 = ref Unsafe.Add(ref grid, n * gridSample);
            ref float d1 = ref Unsafe.Add(ref d0, gridLength);
            ref float d2 = ref Unsafe.Add(ref d0, 2 * gridLength);
            ref float d3 = ref Unsafe.Add(ref d0, 3 * gridLength);
            ref float xn = ref Unsafe.Add(ref x, n * sampleStride);
            ref float x0 = ref Unsafe.Add(ref xn, offset0);
            ref float x1 = ref Unsafe.Add(ref xn, offset1);
            ref float x2 = ref Unsafe.Add(ref xn, offset2);
            for (int j = 0; j < gridLength; j += w)
            {
                TV b0 = TS.Load(ref Unsafe.Add(ref x0, j)), b1 = TS.Load(ref Unsafe.Add(ref x1, j)), b2 = TS.Load(ref Unsafe.Add(ref x2, j));
                TV a = TS.Load(ref Unsafe.Add(ref d0, j)); c00 = TS.MultiplyAdd(a, b0, c00); c01 = TS.MultiplyAdd(a, b1, c01); c02 = TS.MultiplyAdd(a, b2, c02);
                a = TS.Load(ref Unsafe.Add(ref d1, j)); c10 = TS.MultiplyAdd(a, b0, c10); c11 = TS.MultiplyAdd(a, b1, c11); c12 = TS.MultiplyAdd(a, b2, c12);
                a = TS.Load(ref Unsafe.Add(ref d2, j)); c20 = TS.MultiplyAdd(a, b0, c20); c21 = TS.MultiplyAdd(a, b1, c21); c22 = TS.MultiplyAdd(a, b2, c22);
                a = TS.Load(ref Unsafe.Add(ref d3, j)); c30 = TS.MultiplyAdd(a, b0, c30); c31 = TS.MultiplyAdd(a, b1, c31); c32 = TS.MultiplyAdd(a, b2, c32);
            }
        }
        dw += TS.Sum(c00); Unsafe.Add(ref dw, 1) += TS.Sum(c01); Unsafe.Add(ref dw, 2) += TS.Sum(c02);
        ref float r1 = ref Unsafe.Add(ref dw, depth);
        r1 += TS.Sum(c10); Unsafe.Add(ref r1, 1) += TS.Sum(c11); Unsafe.Add(ref r1, 2) += TS.Sum(c12);
        ref float r2 = ref Unsafe.Add(ref dw, 2 * depth);
        r2 += TS.Sum(c20); Unsafe.Add(ref r2, 1) += TS.Sum(c21); Unsafe.Add(ref r2, 2) += TS.Sum(c22);
        ref float r3 = ref Unsafe.Add(ref dw, 3 * depth);
        r3 += TS.Sum(c30); Unsafe.Add(ref r3, 1) += TS.Sum(c31); Unsafe.Add(ref r3, 2) += TS.Sum(c32);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot1x1<TS, TV>(ref float grid, int gridSample, int gridLength, ref float x, int sampleStride, int samples)
        where TS : struct, ISimd<TV> where TV : struct
    {
        TV acc = TS.Zero;
        for (int n = 0; n < samples; n++)
        {
            ref float d = ref Unsafe.Add(ref grid, n * gridSample);
            ref float xn = ref Unsafe.Add(ref x, n * sampleStride);
            for (int j = 0; j < gridLength; j += TS.Count)
            {
                acc = TS.MultiplyAdd(TS.Load(ref Unsafe.Add(ref d, j)), TS.Load(ref Unsafe.Add(ref xn, j)), acc);
            }
        }
        return TS.Sum(acc);
    }

    /// <summary>Lays one sample's output gradient [filters, outHeight, outWidth] on the padded input's grid (rows of
    /// <paramref name="pitch"/>, zeros past each row's outputs and past the last row, <paramref name="gridLength"/> per filter).</summary>
    public static void ToGrid(ReadOnlySpan<float> delta, Span<float> grid, int filters, int outHeight, int outWidth, int pitch, int gridLength)
    {
        int length = filters * gridLength;
        if (delta.Length < filters * outHeight * outWidth || grid.Length < length || outHeight * pitch > gridLength || outWidth > pitch)
        {
            throw new ArgumentException("DirectConvolution.ToGrid: a buffer does not fit the window.");
        }
        ref float source = ref MemoryMarshal.GetReference(delta);
        ref float target = ref MemoryMarshal.GetReference(grid);
        for (int f = 0; f < filters; f++)
        {
            for (int oy = 0; oy < outHeight; oy++)
            {
                int from = (f * outHeight + oy) * outWidth, to = f * gridLength + oy * pitch;
                CopyRow(ref Unsafe.Add(ref source, from), ref Unsafe.Add(ref target, to), outWidth, delta.Length - from, length - to);
                for (int i = outWidth; i < pitch; i++)
                {
                    Unsafe.Add(ref target, to + i) = 0f;
                }
            }
            grid[(f * gridLength + outHeight * pitch)..((f + 1) * gridLength)].Clear();
        }
    }

    /// <summary>The weight for the input gradient: <c>flipped[c, (f k + ky) k + kx] = w[f, (c k + k-1-ky) k + k-1-kx]</c>.</summary>
    public static void FlipTranspose(ReadOnlySpan<float> weights, Span<float> flipped, int filters, int channels, int kernel)
    {
        int area = kernel * kernel;
        for (int f = 0; f < filters; f++)
        {
            for (int c = 0; c < channels; c++)
            {
                ReadOnlySpan<float> source = weights.Slice((f * channels + c) * area, area);
                Span<float> target = flipped.Slice((c * filters + f) * area, area);
                for (int i = 0; i < area; i++)
                {
                    target[i] = source[area - 1 - i];
                }
            }
        }
    }
}
