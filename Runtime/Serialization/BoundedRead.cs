using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop;

/// <summary>
/// Reads a length that a file declares without trusting it: memory grows with the bytes that actually arrive,
/// never with the number a header claims. A seekable stream is measured first and read into one exact array;
/// any other stream is read in chunks of <see cref="ChunkBytes"/>, and the result is assembled only once every
/// byte is there. A file that claims gigabytes but holds a few bytes costs at most one chunk.
/// </summary>
internal static class BoundedRead
{
    /// <summary>The chunk in which a stream of unknown length is read (1 MiB).</summary>
    internal const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Reads exactly <paramref name="byteCount"/> bytes as an array of <typeparamref name="T"/> (little-endian as
    /// stored; the caller swaps on big-endian machines). <paramref name="truncated"/> builds the exception thrown
    /// when fewer bytes follow; it receives how many did.
    /// </summary>
    internal static T[] Exactly<T>(Stream stream, long byteCount, Func<long, Exception> truncated)
        where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        if (byteCount < 0 || byteCount % size != 0 || byteCount / size > Array.MaxLength)
        {
            throw new InvalidDataException($"A section of {byteCount} bytes cannot be read.");
        }
        if (stream.CanSeek)
        {
            long remaining = Math.Max(0, stream.Length - stream.Position);
            if (remaining < byteCount)
            {
                throw truncated(remaining);
            }
        }
        if (stream.CanSeek || byteCount <= ChunkBytes)
        {
            var exact = new T[byteCount / size];
            int read = Fully(stream, MemoryMarshal.AsBytes(exact.AsSpan()));
            return read == byteCount ? exact : throw truncated(read);
        }

        var chunks = new List<byte[]>();
        long total = 0;
        while (total < byteCount)
        {
            var chunk = new byte[(int)Math.Min(ChunkBytes, byteCount - total)];
            int read = Fully(stream, chunk);
            total += read;
            if (read < chunk.Length)
            {
                throw truncated(total);
            }
            chunks.Add(chunk);
        }
        var result = new T[byteCount / size];
        Span<byte> bytes = MemoryMarshal.AsBytes(result.AsSpan());
        int offset = 0;
        foreach (byte[] chunk in chunks)
        {
            chunk.CopyTo(bytes[offset..]);
            offset += chunk.Length;
        }
        return result;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    internal static int Fully(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = stream.Read(buffer[total..]);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return total;
    }
}
