using System;
using System.Buffers;
using System.Collections.Generic;
using System.ComponentModel;
using System.IO;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Backprop;

/// <summary>
/// Saves and loads a network's parameters as safetensors with PyTorch names and layouts. The metadata holds
/// the format version, the architecture and an XxHash64 checksum of the data. Called by generated code.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ModelFile
{
    /// <summary>The <c>format</c> metadata value.</summary>
    public const string Format = "backprop.gen";

    /// <summary>The <c>format_version</c> metadata value this version writes and reads.</summary>
    public const string FormatVersion = "1";

    /// <summary>
    /// Writes the network to a file atomically: a temporary file in the same directory, flushed to disk, renamed
    /// over <paramref name="path"/>, then (on Unix) the directory synced so the rename survives a power cut.
    /// The temporary name is never longer than the file's own name, so a valid path stays valid. Errors name
    /// <paramref name="path"/>, and on failure the temporary file is removed and any old file is untouched.
    /// </summary>
    public static void Save(string path, INetwork network, string name, string architecture)
        => Save(path, network, name, architecture, [], []);

    /// <summary>
    /// <see cref="Save(string, INetwork, string, string)"/> with the network's counters (PyTorch's
    /// <c>num_batches_tracked</c>), written as I64 scalars named <paramref name="counterNames"/>.
    /// </summary>
    public static void Save(string path, INetwork network, string name, string architecture, IReadOnlyList<string> counterNames, long[] counters)
        => WriteAtomically(path, name, stream => Save(stream, network, name, architecture, counterNames, counters));

    /// <summary>
    /// Writes a file through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, flushes it to
    /// disk and renames it over <paramref name="path"/>: a reader never sees a half-written file, and a failure leaves
    /// the old file (if any) as it was. I/O failures are rethrown with the path and <paramref name="name"/> in the message.
    /// </summary>
    internal static void WriteAtomically(string path, string name, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' names a directory, not a file.", nameof(path));
        string fileName = Path.GetFileName(full);
        if (fileName.Length == 0)
        {
            throw new ArgumentException($"'{path}' names a directory, not a file.", nameof(path));
        }
        string? temporary = null;
        try
        {
            using (var stream = CreateTemporary(directory, fileName, out temporary))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
            temporary = null;
            DirectorySync.Flush(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SaveFailed(e, path, name);
        }
        finally
        {
            if (temporary is not null)
            {
                try
                {
                    File.Delete(temporary);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The original error matters more than a leftover temporary file.
                }
            }
        }
    }

    internal static FileStream CreateTemporary(string directory, string fileName, out string temporary)
    {
        const string Letters = "abcdefghijklmnopqrstuvwxyz0123456789";
        int length = Math.Min(fileName.Length, 16);
        Span<char> chars = stackalloc char[length];
        for (int attempt = 0; ; attempt++)
        {
            for (int i = 0; i < length; i++)
            {
                chars[i] = Letters[System.Security.Cryptography.RandomNumberGenerator.GetInt32(Letters.Length)];
            }
            if (length > 1)
            {
                chars[0] = '.';
            }
            temporary = Path.Combine(directory, new string(chars));
            if (string.Equals(temporary, Path.Combine(directory, fileName), StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            try
            {
                return new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            }
            catch (IOException) when (attempt < 32 && Path.Exists(temporary))
            {
                // Taken by another file: draw another name.
            }
        }
    }

    private static Exception SaveFailed(Exception e, string path, string name)
    {
        string message = $"{name} could not be saved to '{path}': " + e switch
        {
            UnauthorizedAccessException => "access to the file or its directory is denied.",
            DirectoryNotFoundException => "its directory does not exist.",
            PathTooLongException => "the path is too long.",
            _ => e.Message,
        };
        return e switch
        {
            UnauthorizedAccessException => new UnauthorizedAccessException(message, e),
            DirectoryNotFoundException => new DirectoryNotFoundException(message, e),
            PathTooLongException => new PathTooLongException(message, e),
            _ => new IOException(message, e),
        };
    }

    /// <summary>Writes the network's tensors, in PyTorch's layout, with metadata.</summary>
    public static void Save(Stream stream, INetwork network, string name, string architecture)
        => Save(stream, network, name, architecture, [], []);

    /// <summary>
    /// Writes the network's tensors (parameters and state, such as running statistics), in PyTorch's layout, then its
    /// counters as I64 scalars, with metadata. The checksum covers the data section byte for byte.
    /// </summary>
    public static void Save(Stream stream, INetwork network, string name, string architecture, IReadOnlyList<string> counterNames, long[] counters)
    {
        ArgumentNullException.ThrowIfNull(counterNames);
        ArgumentNullException.ThrowIfNull(counters);
        if (counterNames.Count != counters.Length)
        {
            throw new ArgumentException($"{counterNames.Count} counter names for {counters.Length} counters.", nameof(counters));
        }
        var tensors = network.Tensors;
        int floats = 0;
        foreach (var tensor in tensors)
        {
            floats += tensor.Length;
        }
        // The data section as it will be on disk, as words: each counter's low and high 32 bits (8-byte aligned at the
        // start), then the floats.
        int start = 2 * counters.Length;
        // Pooled: a model's staging copy is usually on the large-object heap, and a fresh one per call (Fit keeps its
        // best epoch's model with Save after every improving epoch) cost more in collections than the copy itself.
        float[] pooled = ArrayPool<float>.Shared.Rent(start + floats);
        try
        {
            Save(stream, network, name, architecture, counterNames, counters, pooled.AsSpan(0, start + floats), start);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(pooled);
        }
    }

    private static void Save(Stream stream, INetwork network, string name, string architecture, IReadOnlyList<string> counterNames, long[] counters, Span<float> data, int start)
    {
        var tensors = network.Tensors;
        var pairs = new KeyValuePair<string, long>[counters.Length];
        for (int i = 0; i < counters.Length; i++)
        {
            pairs[i] = new(counterNames[i], counters[i]);
            data[2 * i] = BitConverter.Int32BitsToSingle((int)counters[i]);
            data[2 * i + 1] = BitConverter.Int32BitsToSingle((int)(counters[i] >> 32));
        }
        int offset = start;
        foreach (var tensor in tensors)
        {
            network.CopyTensor(tensor.Name, data.Slice(offset, tensor.Length));
            offset += tensor.Length;
        }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion,
            ["network"] = name,
            ["architecture"] = architecture,
            ["checksum"] = Checksum(data),
        };
        SafeTensorsFile.Write(stream, tensors, data[start..], metadata, pairs);
    }

    /// <summary>Reads a file into the network; on any error throws and leaves the parameters unchanged.</summary>
    public static void Load(string path, INetwork network, string name, string architecture)
        => Load(path, network, name, architecture, [], []);

    /// <summary>
    /// <see cref="Load(string, INetwork, string, string)"/> with the network's counters: the file's I64 scalars named
    /// <paramref name="counterNames"/> are written into <paramref name="counters"/> once everything else has loaded.
    /// </summary>
    public static void Load(string path, INetwork network, string name, string architecture, IReadOnlyList<string> counterNames, long[] counters)
    {
        using var stream = File.OpenRead(path);
        Load(stream, network, name, architecture, counterNames, counters);
    }

    /// <summary>
    /// Reads a model file into the network. Everything is checked (header, format version, architecture, tensor
    /// names, shapes, offsets, checksum) against a staging copy before a single parameter changes.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt, malformed or of another architecture.</exception>
    public static void Load(Stream stream, INetwork network, string name, string architecture)
        => Load(stream, network, name, architecture, [], []);

    /// <summary>
    /// <see cref="Load(Stream, INetwork, string, string)"/> with the network's counters: the file's I64 scalars named
    /// <paramref name="counterNames"/> are written into <paramref name="counters"/> once everything else has loaded.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream is truncated, corrupt, malformed or of another architecture.</exception>
    public static void Load(Stream stream, INetwork network, string name, string architecture, IReadOnlyList<string> counterNames, long[] counters)
    {
        ArgumentNullException.ThrowIfNull(counterNames);
        ArgumentNullException.ThrowIfNull(counters);
        var (metadata, tensors, offsets, types, dataBytes) = SafeTensorsFile.ReadHeader(stream, SafeTensorsFile.DefaultMaxHeaderBytes);
        string Meta(string key) => metadata.TryGetValue(key, out string? value)
            ? value
            : throw new InvalidDataException($"The file has no '{key}' metadata; it was not written by Backprop.Gen's Save.");
        if (Meta("format") != Format)
        {
            throw new InvalidDataException($"The file's format is '{Meta("format")}', not '{Format}'.");
        }
        if (Meta("format_version") != FormatVersion)
        {
            throw new InvalidDataException($"The file's format version is {Meta("format_version")}; this version of Backprop.Gen reads {FormatVersion}.");
        }
        if (Meta("architecture") != architecture)
        {
            string other = metadata.TryGetValue("network", out string? otherName) ? otherName : "unnamed";
            throw new InvalidDataException(
                $"The file holds another network ('{other}'): its architecture is {Meta("architecture")}, but {name} is {architecture}.");
        }

        // Names and shapes, in the network's order; the file's order (by offset) may differ.
        var expected = network.Tensors;
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tensors.Count; i++)
        {
            byName[tensors[i].Name] = i;
        }
        if (tensors.Count != expected.Count + counterNames.Count)
        {
            throw new InvalidDataException($"The file has {tensors.Count} tensors; {name} has {expected.Count + counterNames.Count}.");
        }
        foreach (var tensor in expected)
        {
            if (!byName.TryGetValue(tensor.Name, out int index))
            {
                throw new InvalidDataException($"The file has no tensor '{tensor.Name}'.");
            }
            if (types[index] != SafeTensorsFile.Float32)
            {
                throw new InvalidDataException($"Tensor '{tensor.Name}' is {types[index]} in the file; {name} needs F32.");
            }
            if (!SameShape(tensors[index].Shape, tensor.Shape))
            {
                throw new InvalidDataException(
                    $"Tensor '{tensor.Name}' has shape [{string.Join(", ", tensors[index].Shape)}] in the file; {name} needs [{string.Join(", ", tensor.Shape)}].");
            }
        }

        foreach (string counter in counterNames)
        {
            if (!byName.TryGetValue(counter, out int index))
            {
                throw new InvalidDataException($"The file has no tensor '{counter}'.");
            }
            if (types[index] != SafeTensorsFile.Int64 || tensors[index].Length != 1)
            {
                throw new InvalidDataException($"Tensor '{counter}' is {types[index]} [{string.Join(", ", tensors[index].Shape)}] in the file; {name} needs one I64 value.");
            }
        }

        // The data, into a staging buffer (pooled when the stream's length is known: see Save); the checksum covers it
        // byte for byte.
        float[]? pooled = null;
        try
        {
            float[] data = stream.CanSeek && dataBytes % sizeof(float) == 0 && dataBytes / sizeof(float) <= Array.MaxLength
                ? SafeTensorsFile.ReadData(stream, dataBytes, pooled = ArrayPool<float>.Shared.Rent((int)(dataBytes / sizeof(float))))
                : SafeTensorsFile.ReadData(stream, dataBytes);
            Apply(network, name, counterNames, counters, Meta("checksum"), offsets, byName, expected, data, (int)(dataBytes / sizeof(float)));
        }
        finally
        {
            if (pooled is not null)
            {
                ArrayPool<float>.Shared.Return(pooled);
            }
        }
    }

    /// <summary>Checks the staged data (checksum, values) and, when everything holds, sets the network's tensors and counters.</summary>
    private static void Apply(INetwork network, string name, IReadOnlyList<string> counterNames, long[] counters, string recorded,
        List<long> offsets, Dictionary<string, int> byName, IReadOnlyList<TensorInfo> expected, float[] data, int words)
    {
        string checksum = Checksum(data.AsSpan(0, words));
        if (recorded != checksum)
        {
            throw new InvalidDataException($"The file is corrupt: its data checksum is {checksum}, but the metadata records {recorded}.");
        }

        foreach (var tensor in expected)
        {
            int index = byName[tensor.Name];
            var values = data.AsSpan((int)(offsets[index] / sizeof(float)), tensor.Length);
            int bad = NetworkGuard.IndexOfNonFinite(values);
            if (bad >= 0)
            {
                throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Tensor '{tensor.Name}' holds {values[bad]} at index {bad}; {name} loads finite parameters only (the model was not changed)."));
            }
            if (NetworkGuard.IsVariance(tensor.Name) && NetworkGuard.IndexOfNegative(values) is int negative and >= 0)
            {
                throw new InvalidDataException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Tensor '{tensor.Name}' holds {values[negative]} at index {negative}; a variance cannot be negative (the model was not changed)."));
            }
        }

        var staged = new long[counterNames.Count];
        for (int i = 0; i < staged.Length; i++)
        {
            staged[i] = SafeTensorsFile.ReadInt64(data, (int)(offsets[byName[counterNames[i]]] / sizeof(float)));
            if (staged[i] < 0)
            {
                throw new InvalidDataException($"Tensor '{counterNames[i]}' holds {staged[i]}; a count cannot be negative (the model was not changed).");
            }
        }

        // Everything matched: only now do the parameters change.
        foreach (var tensor in expected)
        {
            int index = byName[tensor.Name];
            network.SetTensor(tensor.Name, data.AsSpan((int)(offsets[index] / sizeof(float)), tensor.Length));
        }
        staged.CopyTo(counters, 0);
    }

    /// <summary>The checksum of tensor data as stored (little-endian F32 bytes): <c>xxh64:</c> and 16 hex digits.</summary>
    public static string Checksum(ReadOnlySpan<float> data)
    {
        ulong hash;
        if (BitConverter.IsLittleEndian)
        {
            hash = XxHash64.HashToUInt64(MemoryMarshal.AsBytes(data));
        }
        else
        {
            var stream = new MemoryStream();
            SafeTensorsFile.WriteFloats(stream, data);
            hash = XxHash64.HashToUInt64(stream.ToArray());
        }
        return "xxh64:" + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool SameShape(IReadOnlyList<int> left, IReadOnlyList<int> right)
    {
        if (left.Count != right.Count)
        {
            return false;
        }
        for (int i = 0; i < left.Count; i++)
        {
            if (left[i] != right[i])
            {
                return false;
            }
        }
        return true;
    }
}
