using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>Small vectorized helpers over spans, each with a scalar tail.</summary>
public static class Vectors
{
    /// <summary><c>destination[i] += source[i]</c> for every <c>i &lt; destination.Length</c>.</summary>
    public static void Add(Span<float> destination, ReadOnlySpan<float> source)
    {
        if (source.Length < destination.Length)
        {
            throw new ArgumentException($"Source holds {source.Length} values; {destination.Length} are needed.", nameof(source));
        }
        if (Vector512.IsHardwareAccelerated)
        {
            Add<Simd512, Vector512<float>>(destination, source);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Add<Simd256, Vector256<float>>(destination, source);
        }
        else
        {
            Add<Simd128, Vector128<float>>(destination, source);
        }
    }

    private static void Add<TS, TV>(Span<float> destination, ReadOnlySpan<float> source) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float d = ref MemoryMarshal.GetReference(destination);
        ref float s = ref MemoryMarshal.GetReference(source);
        int length = destination.Length, i = 0;
        for (; i + TS.Count <= length; i += TS.Count)
        {
            TS.Store(TS.Add(TS.Load(ref Unsafe.Add(ref d, i)), TS.Load(ref Unsafe.Add(ref s, i))), ref Unsafe.Add(ref d, i));
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref d, i) += Unsafe.Add(ref s, i);
        }
    }

    /// <summary><c>values[i] += value</c> for every <c>i</c>.</summary>
    public static void AddScalar(Span<float> values, float value)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            AddScalar<Simd512, Vector512<float>>(values, value);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            AddScalar<Simd256, Vector256<float>>(values, value);
        }
        else
        {
            AddScalar<Simd128, Vector128<float>>(values, value);
        }
    }

    private static void AddScalar<TS, TV>(Span<float> values, float value) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float d = ref MemoryMarshal.GetReference(values);
        var broadcast = TS.Broadcast(value);
        int length = values.Length, i = 0;
        for (; i + TS.Count <= length; i += TS.Count)
        {
            TS.Store(TS.Add(TS.Load(ref Unsafe.Add(ref d, i)), broadcast), ref Unsafe.Add(ref d, i));
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref d, i) += value;
        }
    }

    /// <summary>The sum of the values: a vector of partial sums, reduced once, then the tail (the same order on every call).</summary>
    public static float Sum(ReadOnlySpan<float> values)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return Sum<Simd512, Vector512<float>>(values);
        }
        return Vector256.IsHardwareAccelerated ? Sum<Simd256, Vector256<float>>(values) : Sum<Simd128, Vector128<float>>(values);
    }

    private static float Sum<TS, TV>(ReadOnlySpan<float> values) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float s = ref MemoryMarshal.GetReference(values);
        var partial = TS.Zero;
        int length = values.Length, i = 0;
        for (; i + TS.Count <= length; i += TS.Count)
        {
            partial = TS.Add(partial, TS.Load(ref Unsafe.Add(ref s, i)));
        }
        float sum = TS.Sum(partial);
        for (; i < length; i++)
        {
            sum += Unsafe.Add(ref s, i);
        }
        return sum;
    }

    /// <summary>
    /// <c>Σ x²</c> in double precision: squares summed on float vectors over blocks of 1,024 values, each block's sum
    /// added in double (a gradient's global norm, as <c>clip_grad_norm_</c> needs it).
    /// </summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return SumOfSquares<Simd512, Vector512<float>>(values);
        }
        return Vector256.IsHardwareAccelerated ? SumOfSquares<Simd256, Vector256<float>>(values) : SumOfSquares<Simd128, Vector128<float>>(values);
    }

    private static double SumOfSquares<TS, TV>(ReadOnlySpan<float> values) where TS : struct, ISimd<TV> where TV : struct
    {
        const int Block = 1024;
        ref float s = ref MemoryMarshal.GetReference(values);
        int length = values.Length, i = 0;
        double total = 0;
        while (i + TS.Count <= length)
        {
            var partial = TS.Zero;
            int end = Math.Min(length - TS.Count, i + Block - TS.Count);
            for (; i <= end; i += TS.Count)
            {
                var v = TS.Load(ref Unsafe.Add(ref s, i));
                partial = TS.MultiplyAdd(v, v, partial);
            }
            total += TS.Sum(partial);
        }
        for (; i < length; i++)
        {
            double v = Unsafe.Add(ref s, i);
            total += v * v;
        }
        return total;
    }

    /// <summary><c>destination[i] = source[i] × factor</c> for every <c>i &lt; source.Length</c>.</summary>
    public static void Scale(ReadOnlySpan<float> source, float factor, Span<float> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} values; {source.Length} are needed.", nameof(destination));
        }
        if (Vector512.IsHardwareAccelerated)
        {
            Scale<Simd512, Vector512<float>>(source, factor, destination);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Scale<Simd256, Vector256<float>>(source, factor, destination);
        }
        else
        {
            Scale<Simd128, Vector128<float>>(source, factor, destination);
        }
    }

    private static void Scale<TS, TV>(ReadOnlySpan<float> source, float factor, Span<float> destination) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float s = ref MemoryMarshal.GetReference(source);
        ref float d = ref MemoryMarshal.GetReference(destination);
        var f = TS.Broadcast(factor);
        int length = source.Length, i = 0;
        for (; i + TS.Count <= length; i += TS.Count)
        {
            TS.Store(TS.Multiply(TS.Load(ref Unsafe.Add(ref s, i)), f), ref Unsafe.Add(ref d, i));
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i) * factor;
        }
    }

    /// <summary>
    /// <c>x ← exp(x)</c> in place, on the widest accelerated vectors (<c>Vector512.Exp</c> and its narrower forms);
    /// the last partial vector goes through a zero-padded copy, so every element uses the same implementation.
    /// </summary>
    public static void Exp(Span<float> values)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Exp<Simd512, Vector512<float>>(values);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Exp<Simd256, Vector256<float>>(values);
        }
        else
        {
            Exp<Simd128, Vector128<float>>(values);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Exp<TS, TV>(Span<float> values) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        int length = values.Length, i = 0;
        for (; i + TS.Count <= length; i += TS.Count)
        {
            TS.Store(TS.Exp(TS.Load(ref Unsafe.Add(ref x, i))), ref Unsafe.Add(ref x, i));
        }
        if (i < length)
        {
            Span<float> last = stackalloc float[16];
            last.Clear();
            values[i..].CopyTo(last);
            ref float rl = ref MemoryMarshal.GetReference(last);
            TS.Store(TS.Exp(TS.Load(ref rl)), ref rl);
            last[..(length - i)].CopyTo(values[i..]);
        }
    }

    /// <summary>Floats in the widest accelerated vector (16, 8 or 4).</summary>
    public static int Width => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4;

    /// <summary>Writes the transpose of a row-major [rows, columns] matrix as [columns, rows].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(ReadOnlySpan<float> source, int rows, int columns, Span<float> destination)
    {
        long count = (long)rows * columns;
        if (rows < 0 || columns < 0 || source.Length < count || destination.Length < count)
        {
            throw new ArgumentException($"Transpose of [{rows}, {columns}] needs {count} values; got {source.Length} and {destination.Length}.");
        }
        ref float s = ref MemoryMarshal.GetReference(source);
        ref float d = ref MemoryMarshal.GetReference(destination);
        int r0 = 0;
        if (Avx.IsSupported)
        {
            // 8 x 8 blocks transposed in registers (unpack, shuffle, swap 128-bit halves), a strip of eight
            // columns at a time: the eight destination rows are then written sequentially, which matters when both
            // row lengths are powers of two (blocks written across rows would fall into a few L1 sets).
            int fullRows = rows & ~7;
            int c0 = 0;
            for (; c0 + 8 <= columns; c0 += 8)
            {
                for (int r = 0; r < fullRows; r += 8)
                {
                    Transpose8x8(ref Unsafe.Add(ref s, r * columns + c0), columns, ref Unsafe.Add(ref d, c0 * rows + r), rows);
                }
            }
            for (; c0 < columns; c0++)
            {
                for (int r = 0; r < fullRows; r++)
                {
                    Unsafe.Add(ref d, c0 * rows + r) = Unsafe.Add(ref s, r * columns + c0);
                }
            }
            r0 = fullRows;
        }
        // The remaining rows (all of them without AVX), in 16 x 16 tiles: the reads and the writes of a tile stay
        // within a few cache lines.
        const int Tile = 16;
        for (; r0 < rows; r0 += Tile)
        {
            int r1 = Math.Min(rows, r0 + Tile);
            for (int c0 = 0; c0 < columns; c0 += Tile)
            {
                int c1 = Math.Min(columns, c0 + Tile);
                for (int r = r0; r < r1; r++)
                {
                    for (int c = c0; c < c1; c++)
                    {
                        Unsafe.Add(ref d, c * rows + r) = Unsafe.Add(ref s, r * columns + c);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float s, int lds, ref float d, int ldd)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref s), r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, lds));
        Vector256<float> r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 2 * lds)), r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 3 * lds));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 4 * lds)), r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 5 * lds));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 6 * lds)), r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 7 * lds));
        // Pairs of rows interleaved: t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], ...
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // Quads: u0 = column 0 of rows 0-3 | column 4 of rows 0-3, ...
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Low halves give columns 0-3, high halves columns 4-7.
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref d);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref Unsafe.Add(ref d, ldd));
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref Unsafe.Add(ref d, 2 * ldd));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref Unsafe.Add(ref d, 3 * ldd));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 4 * ldd));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 5 * ldd));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 6 * ldd));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref Unsafe.Add(ref d, 7 * ldd));
    }
}
