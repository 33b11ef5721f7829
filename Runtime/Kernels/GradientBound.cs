using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// Bounds on a layer's parameter gradients, computed from the tensors they are products of, before they are computed:
/// what lets a training step update each layer inside the backward pass (while its gradients are in cache) and still
/// refuse, with nothing changed, a step whose gradients are not all finite. A generated network first runs every
/// layer's input gradient (last layer first), taking the largest of the layers' bounds; only when that is at most
/// <see cref="Limit"/> does it compute the parameter gradients with their updates. Otherwise (a NaN or an infinity in
/// an activation or a delta, or values so large that a sum might overflow) it computes every gradient, checks them
/// all, and steps only if they are finite.
/// </summary>
public static class GradientBound
{
    /// <summary>
    /// The largest bound that proves the gradients it covers finite: <c>float.MaxValue / 16</c>. A computed sum of
    /// n products exceeds the sum of their magnitudes by at most a factor <c>(1 + 2⁻²⁴)ⁿ</c>, below 16 for any n up to
    /// 46 million terms (rows of a batch, and the shards summed after them).
    /// </summary>
    public const double Limit = float.MaxValue / 16.0;

    /// <summary>The most terms a bound here covers (46 million: <c>(1 + 2⁻²⁴)ⁿ</c> stays under 16, see <see cref="Limit"/>); beyond, the bound is +∞.</summary>
    public const long MaxTerms = 46_000_000;

    /// <summary>
    /// <c>rows · max(1, max |a|) · max |b|</c>, in double precision: at least the magnitude of every
    /// <c>Σ_r a[r, i] · b[r, j]</c> (a dense layer's weight gradient, with a the layer's input and b its δ = ∂L/∂z) and of
    /// every <c>Σ_r b[r, j]</c> (its bias gradient). +∞ when a value is NaN or infinite, or when there are more rows than
    /// <see cref="MaxTerms"/>. Two streaming passes over data the backward pass has just used. It may be far above the
    /// sums themselves (the largest x and the largest δ need not meet in one product): a bound above
    /// <see cref="Limit"/> only sends the step through the checked path.
    /// </summary>
    /// <param name="a">[rows, aWidth], row-major.</param>
    /// <param name="aWidth">The values of a row of <paramref name="a"/>.</param>
    /// <param name="b">[rows, bWidth], row-major.</param>
    /// <param name="bWidth">The values of a row of <paramref name="b"/>.</param>
    /// <param name="rows">The rows summed over (samples, or samples × steps).</param>
    public static double Rows(ReadOnlySpan<float> a, int aWidth, ReadOnlySpan<float> b, int bWidth, int rows)
    {
        if (rows < 0 || aWidth < 1 || bWidth < 1 || a.Length < (long)rows * aWidth || b.Length < (long)rows * bWidth)
        {
            throw new ArgumentException($"GradientBound.Rows: buffers of {a.Length} and {b.Length} values do not hold {rows} rows of {aWidth} and {bWidth}.");
        }
        float largest = MaxAbs(a[..(rows * aWidth)]);
        // ∞ · 0 is NaN: a non-finite input makes the gradient NaN even where δ is 0.
        return float.IsFinite(largest) ? Scaled(largest, b, bWidth, rows) : double.PositiveInfinity;
    }

    /// <summary>
    /// <c>rows · max |b|</c>, in double precision: at least the magnitude of any sum of rows of b (an embedding's
    /// gradient, whose rows are sums of the rows of ∂L/∂output of the tokens that chose them). +∞ when a value is NaN or
    /// infinite, or when there are more rows than <see cref="MaxTerms"/>.
    /// </summary>
    /// <param name="b">[rows, width], row-major.</param>
    /// <param name="width">The values of a row.</param>
    /// <param name="rows">The rows.</param>
    public static double Sums(ReadOnlySpan<float> b, int width, int rows)
    {
        if (rows < 0 || width < 1 || b.Length < (long)rows * width)
        {
            throw new ArgumentException($"GradientBound.Sums: a buffer of {b.Length} values does not hold {rows} rows of {width}.");
        }
        return rows > MaxTerms ? double.PositiveInfinity : (double)rows * MaxAbs(b[..(rows * width)]);
    }

    /// <summary>
    /// <c>rows · max(1, magnitude) · max |b|</c>: <see cref="Rows"/> when every value of a is known to be at most
    /// <paramref name="magnitude"/> in magnitude (a first layer's input, whose check measured it), without reading a.
    /// </summary>
    /// <param name="magnitude">The largest magnitude in a.</param>
    /// <param name="b">[rows, width], row-major.</param>
    /// <param name="width">The values of a row of <paramref name="b"/>.</param>
    /// <param name="rows">The rows summed over.</param>
    public static double Scaled(float magnitude, ReadOnlySpan<float> b, int width, int rows)
        => float.IsFinite(magnitude) ? Math.Max(1.0, magnitude) * Sums(b, width, rows) : double.PositiveInfinity;

    /// <summary>
    /// The bound of gradients already computed (a layer with few parameters computes them with its input gradient):
    /// their largest magnitude, +∞ when one is NaN or infinite. A magnitude, not a verdict, so that the bounds of
    /// data-parallel shards still add up to a bound on their sum.
    /// </summary>
    /// <param name="gradient">The gradients.</param>
    public static double Exact(ReadOnlySpan<float> gradient) => MaxAbs(gradient);

    /// <summary>The largest magnitude in <paramref name="values"/> (0 when empty); +∞ when a value is NaN or infinite.</summary>
    public static float MaxAbs(ReadOnlySpan<float> values)
    {
        ref float start = ref MemoryMarshal.GetReference(values);
        int length = values.Length, i = 0;
        float largest = 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            (largest, i) = MaxAbs<Simd512, Vector512<float>>(ref start, length);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            (largest, i) = MaxAbs<Simd256, Vector256<float>>(ref start, length);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            (largest, i) = MaxAbs<Simd128, Vector128<float>>(ref start, length);
        }
        for (; i < length; i++)
        {
            float v = Unsafe.Add(ref start, i);
            if (!float.IsFinite(v))
            {
                return float.PositiveInfinity;
            }
            largest = Math.Max(largest, Math.Abs(v));
        }
        return largest;
    }

    /// <summary>The whole vectors' part of <see cref="MaxAbs(ReadOnlySpan{float})"/>: their largest magnitude (+∞ for a NaN or an infinity), and where they end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float Largest, int End) MaxAbs<TS, TV>(ref float start, int length) where TS : struct, ISimd<TV> where TV : struct
    {
        // Two independent chains of each, so that the loop runs at the loads' rate rather than the adds' latency. The
        // poison sums stay 0 for finite values and turn NaN, for good, at a NaN or an infinity (x · 0).
        TV max = TS.Zero, max2 = TS.Zero, poison = TS.Zero, poison2 = TS.Zero;
        int i = 0;
        for (; i + 2 * TS.Count <= length; i += 2 * TS.Count)
        {
            TV v = TS.Load(ref Unsafe.Add(ref start, i)), w = TS.Load(ref Unsafe.Add(ref start, i + TS.Count));
            max = TS.MaxMagnitude(max, v);
            max2 = TS.MaxMagnitude(max2, w);
            poison = TS.MultiplyAdd(v, TS.Zero, poison);
            poison2 = TS.MultiplyAdd(w, TS.Zero, poison2);
        }
        if (i + TS.Count <= length)
        {
            TV v = TS.Load(ref Unsafe.Add(ref start, i));
            max = TS.MaxMagnitude(max, v);
            poison = TS.MultiplyAdd(v, TS.Zero, poison);
            i += TS.Count;
        }
        return (TS.IsZero(TS.Add(poison, poison2)) ? TS.Largest(TS.MaxMagnitude(max, max2)) : float.PositiveInfinity, i);
    }
}
