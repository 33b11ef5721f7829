using System;
using Backprop.Kernels;
using Xunit;

namespace Backprop.Tests;

/// <summary>The blocks the kernels stream through start on a cache line.</summary>
public unsafe class AlignedBufferTests
{
    private static long Address(ReadOnlySpan<float> span)
    {
        fixed (float* p = span)
        {
            return (long)p;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(235_146)]
    public void A_buffer_starts_on_a_64_byte_boundary_holds_its_length_in_zeros_and_keeps_its_address(int length)
    {
        // Several lengths side by side on the pinned heap, so that the underlying arrays start at different offsets
        // from a line (each array is its length plus a header long).
        var buffers = new AlignedBuffer[9];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new AlignedBuffer(length + i);
        }
        for (int i = 0; i < buffers.Length; i++)
        {
            Span<float> span = buffers[i];
            Assert.Equal(length + i, buffers[i].Length);
            Assert.Equal(length + i, span.Length);
            Assert.Equal(0, Address(span) % AlignedBuffer.Alignment);
            Assert.True(span.IndexOfAnyExcept(0f) < 0, "a new buffer holds zeros");
            span[^1] = 7f;
        }
        long before = Address(buffers[0].Span);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        Assert.Equal(before, Address(buffers[0].Span));
        Assert.Equal(7f, buffers[0].Span[^1]);
    }

    [Fact]
    public void Spans_and_slices_are_views_of_the_same_floats()
    {
        var buffer = new AlignedBuffer(40);
        buffer.Slice(16, 8).Fill(2f);
        ReadOnlySpan<float> all = buffer;
        Assert.Equal(2f, all[16]);
        Assert.Equal(2f, all[23]);
        Assert.Equal(0f, all[24]);
        Assert.Equal(Address(all) + 16 * sizeof(float), Address(buffer.Slice(16, 8)));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(33, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer(AlignedBuffer.MaxLength + 1));
        Assert.Equal(0, AlignedBuffer.Empty.Length);
    }

    [Fact]
    public void A_generated_network_keeps_its_parameters_and_gradients_on_cache_lines()
    {
        var net = new FashionMlp(maxBatch: 4, seed: 1);
        Assert.Equal(0, Address(net.Parameters) % AlignedBuffer.Alignment);
        Assert.Equal(0, Address(net.Gradients) % AlignedBuffer.Alignment);
        Assert.Equal(FashionMlp.ParameterCount, net.Parameters.Length);
    }
}
