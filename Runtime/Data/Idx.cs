using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace Backprop;

/// <summary>
/// Reads IDX files (the MNIST and Fashion-MNIST format): a big-endian magic number whose third byte is the
/// element type and fourth the number of dimensions, the dimensions, then the data. Gzip-compressed files
/// (<c>.gz</c>) are recognized by their content, not their name.
/// </summary>
public static class Idx
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an unsigned-byte IDX file: its dimensions and its values.</summary>
    /// <exception cref="InvalidDataException">The file is not an unsigned-byte IDX file or is truncated.</exception>
    public static (int[] Dimensions, byte[] Values) ReadBytes(string path)
    {
        using var file = File.OpenRead(path);
        Stream stream = file;
        Span<byte> magic = stackalloc byte[2];
        bool gzip = file.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        if (gzip)
        {
            stream = new GZipStream(file, CompressionMode.Decompress);
        }
        using (stream)
        {
            return ReadBytesCore(stream, path);
        }
    }

    /// <summary>
    /// Reads an unsigned-byte IDX file (uncompressed) from a stream. Memory grows with the bytes that arrive, not
    /// with the sizes the file declares. <paramref name="name"/> names the source in error messages.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is not an unsigned-byte IDX file or is truncated.</exception>
    public static (int[] Dimensions, byte[] Values) ReadBytes(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ReadBytesCore(stream, name);
    }

    private static (int[], byte[]) ReadBytesCore(Stream stream, string path)
    {
        Span<byte> word = stackalloc byte[4];
        ReadExactly(stream, word, path);
        if (word[0] != 0 || word[1] != 0 || word[2] != UnsignedByte || word[3] is 0 or > 4)
        {
            throw new InvalidDataException($"{path} is not an unsigned-byte IDX file (magic {Convert.ToHexString(word)}).");
        }
        int[] dimensions = new int[word[3]];
        long count = 1;
        for (int i = 0; i < dimensions.Length; i++)
        {
            ReadExactly(stream, word, path);
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            count *= dimensions[i];
            if (dimensions[i] < 0 || count > Array.MaxLength)
            {
                throw new InvalidDataException($"{path} declares an invalid size.");
            }
        }
        byte[] values = BoundedRead.Exactly<byte>(stream, count,
            read => new InvalidDataException($"{path} is truncated: it declares {count} values, but {read} follow."));
        return (dimensions, values);
    }

    /// <summary>Reads images as floats scaled to [0, 1], one row of <c>rows × columns</c> per image.</summary>
    public static (float[] Pixels, int Count, int Rows, int Columns) ReadImages(string path)
    {
        var (dimensions, values) = ReadBytes(path);
        if (dimensions.Length != 3)
        {
            throw new InvalidDataException($"{path} holds {dimensions.Length}-dimensional data; images are [count, rows, columns].");
        }
        float[] pixels = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            pixels[i] = values[i] * (1f / 255f);
        }
        return (pixels, dimensions[0], dimensions[1], dimensions[2]);
    }

    /// <summary>Reads labels (a one-dimensional unsigned-byte file).</summary>
    public static int[] ReadLabels(string path)
    {
        var (dimensions, values) = ReadBytes(path);
        if (dimensions.Length != 1)
        {
            throw new InvalidDataException($"{path} holds {dimensions.Length}-dimensional data; labels are one-dimensional.");
        }
        return Array.ConvertAll(values, value => (int)value);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path)
    {
        if (BoundedRead.Fully(stream, buffer) < buffer.Length)
        {
            throw new InvalidDataException($"{path} is truncated.");
        }
    }
}
