using System;
using System.Runtime.InteropServices;
using Xunit;

namespace Backprop.Tests.Infrastructure;

/// <summary>Bit-for-bit comparisons of float buffers: float equality takes -0 and +0 as the same value.</summary>
internal static class Bitwise
{
    /// <summary>The bits of each value.</summary>
    public static int[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).ToArray();

    /// <summary>Asserts that two buffers hold the same bits, element by element.</summary>
    public static void AssertEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual) => Assert.Equal(Bits(expected), Bits(actual));
}
