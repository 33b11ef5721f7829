using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        // 16 x 16 tiles: both the reads and the writes of a tile stay within a few cache lines.
        const int Tile = 16;
        for (int r0 = 0; r0 < rows; r0 += Tile)
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
}
