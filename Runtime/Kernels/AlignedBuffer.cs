using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// A block of floats whose first element sits on a 64-byte boundary: a cache line, and one 512-bit vector. A
/// generated network keeps its parameters, gradients, activations and scratch in these, and the optimizers their
/// state, so that the kernels' full-width vectors of a block start on cache lines (its rows too, when they are a
/// multiple of 16 floats long). A plain <c>float[]</c> starts wherever the allocator puts it (8 bytes past a line,
/// say), which makes every 512-bit access touch two lines; the memory-bound passes (a batch-1 training step, the
/// optimizer updates) then run slower, by an amount that depends on where each array happened to land.
/// </summary>
/// <remarks>
/// One allocation, in the constructor: an array on the pinned object heap, which the garbage collector never
/// moves, so the offset of the aligned start stays valid for the buffer's life. Converts implicitly to
/// <see cref="Span{T}"/> and <see cref="ReadOnlySpan{T}"/> of its <see cref="Length"/> floats.
/// </remarks>
public sealed class AlignedBuffer
{
    /// <summary>The alignment of the first element, in bytes.</summary>
    public const int Alignment = 64;

    // Array data is at least 8-byte aligned, so the boundary is at most 14 floats in; 15 spare cover any offset.
    private const int Spare = Alignment / sizeof(float) - 1;

    /// <summary>The largest length a buffer can have (the largest array, less the floats kept for alignment).</summary>
    public static int MaxLength => Array.MaxLength - Spare;

    private readonly float[] _array;
    private readonly int _start;

    /// <summary>Allocates <paramref name="length"/> floats, all zero, starting on a 64-byte boundary.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative, or more than
    /// <see cref="MaxLength"/>.</exception>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxLength);
        _array = GC.AllocateArray<float>(length + Spare, pinned: true);
        _start = FloatsToBoundary(_array);
        Length = length;
    }

    /// <summary>A buffer of no floats, for state not yet allocated.</summary>
    public static AlignedBuffer Empty { get; } = new(0);

    /// <summary>The number of floats.</summary>
    public int Length { get; }

    /// <summary>The floats, from the aligned start.</summary>
    public Span<float> Span => new(_array, _start, Length);

    /// <summary><paramref name="length"/> floats from <paramref name="start"/> (on a 64-byte boundary when
    /// <paramref name="start"/> is a multiple of 16).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie inside the buffer.</exception>
    public Span<float> Slice(int start, int length) => Span.Slice(start, length);

    /// <summary>The buffer's floats as a span.</summary>
    public static implicit operator Span<float>(AlignedBuffer buffer) => buffer.Span;

    /// <summary>The buffer's floats as a read-only span.</summary>
    public static implicit operator ReadOnlySpan<float>(AlignedBuffer buffer) => buffer.Span;

    /// <summary>How many floats past the pinned array's first element the next 64-byte boundary lies.</summary>
    private static unsafe int FloatsToBoundary(float[] pinned)
    {
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        return (int)((Alignment - address % Alignment) % Alignment) / sizeof(float);
    }
}
