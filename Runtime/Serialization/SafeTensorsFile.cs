using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Backprop;

/// <summary>
/// A safetensors file of F32 tensors (and I64 ones, such as PyTorch's <c>num_batches_tracked</c>): an 8-byte
/// little-endian header length, a JSON header (name → dtype, shape, data offsets; optional <c>__metadata__</c> of
/// strings), then the raw little-endian data. Reading checks every offset, shape and length and never trusts a size
/// before it is bounded.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>The largest header <see cref="Read(Stream, int)"/> accepts by default (100 MB, as the reference implementation).</summary>
    public const int DefaultMaxHeaderBytes = 100_000_000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The dtypes this reader accepts: 32-bit floats, and 64-bit integers (counters).</summary>
    internal const string Float32 = "F32", Int64 = "I64";

    private readonly Dictionary<string, (int Offset, int Length, string Type)> _index;
    private readonly float[] _data;

    private SafeTensorsFile(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<TensorInfo> tensors, Dictionary<string, (int, int, string)> index, float[] data)
    {
        Metadata = metadata;
        Tensors = tensors;
        _index = index;
        _data = data;
    }

    /// <summary>The <c>__metadata__</c> entries (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors, in the order of their data.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The values of an F32 tensor, row-major.</summary>
    /// <exception cref="KeyNotFoundException">The file has no tensor of that name.</exception>
    /// <exception cref="ArgumentException">The tensor is I64 (read it with <see cref="GetInt64"/>).</exception>
    public ReadOnlySpan<float> Get(string name)
    {
        var entry = Entry(name);
        if (entry.Type != Float32)
        {
            throw new ArgumentException($"Tensor '{name}' is {entry.Type}; read it with GetInt64.", nameof(name));
        }
        return _data.AsSpan(entry.Offset, entry.Length);
    }

    /// <summary>The values of an I64 tensor (such as PyTorch's <c>num_batches_tracked</c>), row-major.</summary>
    /// <exception cref="KeyNotFoundException">The file has no tensor of that name.</exception>
    /// <exception cref="ArgumentException">The tensor is F32 (read it with <see cref="Get"/>).</exception>
    public long[] GetInt64(string name)
    {
        var entry = Entry(name);
        if (entry.Type != Int64)
        {
            throw new ArgumentException($"Tensor '{name}' is {entry.Type}; read it with Get.", nameof(name));
        }
        var values = new long[entry.Length / 2];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = ReadInt64(_data, entry.Offset + 2 * i);
        }
        return values;
    }

    /// <summary>The dtype of a tensor: <c>F32</c> or <c>I64</c>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no tensor of that name.</exception>
    public string DType(string name) => Entry(name).Type;

    private (int Offset, int Length, string Type) Entry(string name)
        => _index.TryGetValue(name, out var entry) ? entry : throw new KeyNotFoundException($"The file has no tensor '{name}'.");

    /// <summary>The little-endian 64-bit integer stored in the two data words at <paramref name="word"/>.</summary>
    internal static long ReadInt64(float[] data, int word)
    {
        // The words hold the file's bytes as read (reversed per word on a big-endian machine, which undoes itself here).
        uint low = (uint)BitConverter.SingleToInt32Bits(data[word]), high = (uint)BitConverter.SingleToInt32Bits(data[word + 1]);
        return (long)(((ulong)high << 32) | low);
    }

    /// <summary>
    /// Writes this file's tensors again, with <paramref name="metadata"/> in place of its own: the I64 scalars first,
    /// then the F32 tensors, each group in this file's order (the layout <c>ModelFile.Save</c> writes, so its data
    /// checksum still holds).
    /// </summary>
    internal void Write(Stream stream, IReadOnlyDictionary<string, string> metadata)
    {
        var counters = new List<KeyValuePair<string, long>>();
        var tensors = new List<TensorInfo>();
        var values = new List<float>();
        foreach (var tensor in Tensors)
        {
            var (offset, length, type) = _index[tensor.Name];
            if (type == Int64)
            {
                counters.Add(new(tensor.Name, ReadInt64(_data, offset)));
            }
            else
            {
                tensors.Add(tensor);
                values.AddRange(_data.AsSpan(offset, length));
            }
        }
        Write(stream, tensors, CollectionsMarshal.AsSpan(values), metadata, counters);
    }

    /// <summary>Whether the file has a tensor of that name.</summary>
    public bool Contains(string name) => _index.ContainsKey(name);

    /// <summary>Reads a file.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, malformed or holds a dtype other than F32.</exception>
    public static SafeTensorsFile Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <summary>Reads a file from the stream's current position to its end.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, malformed or holds a dtype other than F32.</exception>
    public static SafeTensorsFile Read(Stream stream, int maxHeaderBytes = DefaultMaxHeaderBytes)
    {
        var (metadata, tensors, offsets, types, dataBytes) = ReadHeader(stream, maxHeaderBytes);
        float[] data = ReadData(stream, dataBytes);
        var index = new Dictionary<string, (int, int, string)>(StringComparer.Ordinal);
        for (int i = 0; i < tensors.Count; i++)
        {
            index.Add(tensors[i].Name, ((int)(offsets[i] / sizeof(float)), tensors[i].Length * (types[i] == Int64 ? 2 : 1), types[i]));
        }
        return new SafeTensorsFile(metadata, tensors, index, data);
    }

    /// <summary>
    /// Reads and checks the header, leaving the stream at the start of the data. Returns the tensors sorted by
    /// offset, their byte offsets, their dtypes (<c>F32</c> or <c>I64</c>), and the data section's length in bytes.
    /// </summary>
    internal static (Dictionary<string, string> Metadata, List<TensorInfo> Tensors, List<long> Offsets, List<string> Types, long DataBytes) ReadHeader(Stream stream, int maxHeaderBytes)
    {
        Span<byte> prefix = stackalloc byte[8];
        if (BoundedRead.Fully(stream, prefix) < 8)
        {
            throw new InvalidDataException("Not a safetensors file: it is shorter than the 8-byte header length.");
        }
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength < 2 || headerLength > (ulong)maxHeaderBytes)
        {
            throw new InvalidDataException($"Not a safetensors file: the header length {headerLength} is outside 2..{maxHeaderBytes} bytes.");
        }
        byte[] header = BoundedRead.Exactly<byte>(stream, (long)headerLength,
            read => new InvalidDataException($"The file is truncated inside its {headerLength}-byte header ({read} bytes follow the length)."));

        try
        {
            // JSON must be UTF-8; checking first turns a bad byte into one clear error.
            _ = StrictUtf8.GetCharCount(header);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException("The safetensors header is not valid UTF-8.", e);
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(TensorInfo Tensor, long Begin, long End, string Type)>();
        try
        {
            using var document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("The safetensors header is not a JSON object.");
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw new InvalidDataException($"The header names '{property.Name}' twice.");
                }
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(property.Value, metadata);
                    continue;
                }
                entries.Add(ReadEntry(property.Name, property.Value));
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("The safetensors header is not valid JSON: " + e.Message, e);
        }

        // The data must be covered exactly: sorted by offset, each tensor starts where the previous ended.
        entries.Sort((x, y) => x.Begin.CompareTo(y.Begin));
        long expected = 0;
        foreach (var entry in entries)
        {
            if (entry.Begin != expected)
            {
                throw new InvalidDataException($"Tensor '{entry.Tensor.Name}' starts at byte {entry.Begin} of the data; {expected} was expected (tensors must be contiguous and must not overlap).");
            }
            expected = entry.End;
        }
        if (stream.CanSeek && stream.Length - stream.Position != expected)
        {
            throw new InvalidDataException(stream.Length - stream.Position < expected
                ? $"The file is truncated: the header describes {expected} bytes of data, but only {stream.Length - stream.Position} follow."
                : $"The file has {stream.Length - stream.Position - expected} bytes after the {expected} bytes of data the header describes.");
        }
        var tensors = new List<TensorInfo>(entries.Count);
        var offsets = new List<long>(entries.Count);
        var types = new List<string>(entries.Count);
        foreach (var entry in entries)
        {
            tensors.Add(entry.Tensor);
            offsets.Add(entry.Begin);
            types.Add(entry.Type);
        }
        return (metadata, tensors, offsets, types, expected);
    }

    private static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("__metadata__ is not a JSON object.");
        }
        foreach (var item in element.EnumerateObject())
        {
            if (metadata.ContainsKey(item.Name))
            {
                throw new InvalidDataException($"__metadata__ names '{item.Name}' twice.");
            }
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"__metadata__ entry '{item.Name}' is not a string.");
            }
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static (TensorInfo, long, long, string) ReadEntry(string name, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"Tensor '{name}' is not a JSON object.");
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!keys.Add(property.Name))
            {
                throw new InvalidDataException($"Tensor '{name}' names '{property.Name}' twice.");
            }
        }
        if (!element.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !element.TryGetProperty("data_offsets", out var range) || range.ValueKind != JsonValueKind.Array || range.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"Tensor '{name}' lacks a string dtype, a shape array or a data_offsets pair.");
        }
        string type = dtype.GetString()!;
        if (type is not (Float32 or Int64))
        {
            throw new InvalidDataException($"Tensor '{name}' has dtype {type}; only F32 (and I64 for counters) is supported. From PyTorch, save {{k: v.float() for k, v in model.state_dict().items()}}.");
        }
        int elementSize = type == Int64 ? sizeof(long) : sizeof(float);
        var dimensions = new List<int>();
        long count = 1;
        foreach (var dimension in shape.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt32(out int value) || value < 0)
            {
                throw new InvalidDataException($"Tensor '{name}' has a shape entry that is not a non-negative integer.");
            }
            dimensions.Add(value);
            count *= value;
            if (count > int.MaxValue)
            {
                throw new InvalidDataException($"Tensor '{name}' is too large ({string.Join(" x ", dimensions)}...).");
            }
        }
        if (range[0].ValueKind != JsonValueKind.Number || range[1].ValueKind != JsonValueKind.Number
            || !range[0].TryGetInt64(out long begin) || !range[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw new InvalidDataException($"Tensor '{name}' has invalid data_offsets.");
        }
        if (end - begin != count * elementSize)
        {
            throw new InvalidDataException($"Tensor '{name}' [{string.Join(", ", dimensions)}] needs {count * elementSize} bytes but its data_offsets span {end - begin}.");
        }
        if (begin % sizeof(float) != 0)
        {
            throw new InvalidDataException($"Tensor '{name}' starts at byte {begin} of the data, which is not a multiple of 4.");
        }
        return (new TensorInfo(name, dimensions.ToArray()), begin, end, type);
    }

    /// <summary>
    /// <see cref="ReadData(Stream, long)"/> from a seekable stream into the first <paramref name="dataBytes"/> bytes of
    /// <paramref name="buffer"/> (a pooled array, possibly longer); returns <paramref name="buffer"/>.
    /// </summary>
    internal static float[] ReadData(Stream stream, long dataBytes, float[] buffer)
    {
        long remaining = Math.Max(0, stream.Length - stream.Position);
        if (dataBytes % sizeof(float) != 0 || dataBytes > (long)buffer.Length * sizeof(float))
        {
            throw new InvalidDataException($"A data section of {dataBytes} bytes cannot be read.");
        }
        Span<float> data = buffer.AsSpan(0, (int)(dataBytes / sizeof(float)));
        int read = remaining < dataBytes ? (int)remaining : BoundedRead.Fully(stream, MemoryMarshal.AsBytes(data));
        if (read != dataBytes)
        {
            throw new InvalidDataException($"The file is truncated: the header describes {dataBytes} bytes of data, but only {read} follow.");
        }
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> words = MemoryMarshal.Cast<float, int>(data);
            BinaryPrimitives.ReverseEndianness(words, words);
        }
        return buffer;
    }

    /// <summary>Reads exactly <paramref name="dataBytes"/> bytes of little-endian floats, and checks nothing follows.</summary>
    internal static float[] ReadData(Stream stream, long dataBytes)
    {
        if (dataBytes > Array.MaxLength)
        {
            throw new InvalidDataException($"The data section ({dataBytes} bytes) is too large to read.");
        }
        float[] data = BoundedRead.Exactly<float>(stream, dataBytes,
            read => new InvalidDataException($"The file is truncated: the header describes {dataBytes} bytes of data, but only {read} follow."));
        if (!stream.CanSeek && stream.ReadByte() >= 0)
        {
            throw new InvalidDataException($"The file has more bytes after the {dataBytes} bytes of data the header describes.");
        }
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> words = MemoryMarshal.Cast<float, int>(data.AsSpan());
            BinaryPrimitives.ReverseEndianness(words, words);
        }
        return data;
    }

    /// <summary>
    /// Writes F32 tensors whose values are concatenated in <paramref name="data"/> in the order of
    /// <paramref name="tensors"/>, with optional string metadata.
    /// </summary>
    public static void Write(Stream stream, IReadOnlyList<TensorInfo> tensors, ReadOnlySpan<float> data, IReadOnlyDictionary<string, string>? metadata = null)
        => Write(stream, tensors, data, metadata, counters: null);

    /// <summary>
    /// Writes <paramref name="counters"/> as I64 scalars (shape <c>[]</c>, as PyTorch's <c>num_batches_tracked</c>) first,
    /// so they start 8-byte aligned, then F32 tensors whose values are concatenated in <paramref name="data"/> in the
    /// order of <paramref name="tensors"/>, with optional string metadata.
    /// </summary>
    public static void Write(Stream stream, IReadOnlyList<TensorInfo> tensors, ReadOnlySpan<float> data,
        IReadOnlyDictionary<string, string>? metadata, IReadOnlyList<KeyValuePair<string, long>>? counters)
    {
        long total = 0;
        foreach (var tensor in tensors)
        {
            total += tensor.Length;
        }
        if (total != data.Length)
        {
            throw new ArgumentException($"The tensors hold {total} values but {data.Length} were given.", nameof(data));
        }

        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                var keys = new List<string>(metadata.Keys);
                keys.Sort(StringComparer.Ordinal);
                foreach (string key in keys)
                {
                    json.WriteString(key, metadata[key]);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var counter in counters ?? [])
            {
                json.WriteStartObject(counter.Key);
                json.WriteString("dtype", Int64);
                json.WriteStartArray("shape");
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += sizeof(long);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            foreach (var tensor in tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int dimension in tensor.Shape)
                {
                    json.WriteNumberValue(dimension);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)tensor.Length * sizeof(float);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (buffer.Length % 8 != 0)
        {
            buffer.WriteByte((byte)' ');
        }

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)buffer.Length);
        stream.Write(prefix);
        stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        Span<byte> value = stackalloc byte[sizeof(long)];
        foreach (var counter in counters ?? [])
        {
            BinaryPrimitives.WriteInt64LittleEndian(value, counter.Value);
            stream.Write(value);
        }
        WriteFloats(stream, data);
    }

    /// <summary>Writes floats little-endian.</summary>
    internal static void WriteFloats(Stream stream, ReadOnlySpan<float> data)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data));
            return;
        }
        Span<byte> word = stackalloc byte[4];
        foreach (float value in data)
        {
            BinaryPrimitives.WriteSingleLittleEndian(word, value);
            stream.Write(word);
        }
    }
}
