using System;
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

    /// <summary>Writes the network to a file atomically: a temporary file beside it, then a rename.</summary>
    public static void Save(string path, INetwork network, string name, string architecture)
    {
        string full = Path.GetFullPath(path);
        string temporary = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Save(stream, network, name, architecture);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes the network's tensors, in PyTorch's layout, with metadata.</summary>
    public static void Save(Stream stream, INetwork network, string name, string architecture)
    {
        var tensors = network.Tensors;
        float[] data = new float[network.ParameterCount];
        int offset = 0;
        foreach (var tensor in tensors)
        {
            network.CopyTensor(tensor.Name, data.AsSpan(offset, tensor.Length));
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
        SafeTensorsFile.Write(stream, tensors, data, metadata);
    }

    /// <summary>Reads a file into the network; on any error throws and leaves the parameters unchanged.</summary>
    public static void Load(string path, INetwork network, string name, string architecture)
    {
        using var stream = File.OpenRead(path);
        Load(stream, network, name, architecture);
    }

    /// <summary>
    /// Reads a model file into the network. Everything is checked (header, format version, architecture, tensor
    /// names, shapes, offsets, checksum) against a staging copy before a single parameter changes.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt, malformed or of another architecture.</exception>
    public static void Load(Stream stream, INetwork network, string name, string architecture)
    {
        var (metadata, tensors, offsets, dataBytes) = SafeTensorsFile.ReadHeader(stream, SafeTensorsFile.DefaultMaxHeaderBytes);
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
        if (tensors.Count != expected.Count)
        {
            throw new InvalidDataException($"The file has {tensors.Count} tensors; {name} has {expected.Count}.");
        }
        foreach (var tensor in expected)
        {
            if (!byName.TryGetValue(tensor.Name, out int index))
            {
                throw new InvalidDataException($"The file has no tensor '{tensor.Name}'.");
            }
            if (!SameShape(tensors[index].Shape, tensor.Shape))
            {
                throw new InvalidDataException(
                    $"Tensor '{tensor.Name}' has shape [{string.Join(", ", tensors[index].Shape)}] in the file; {name} needs [{string.Join(", ", tensor.Shape)}].");
            }
        }

        // The data, into a staging buffer; the checksum covers it byte for byte.
        float[] data = SafeTensorsFile.ReadData(stream, dataBytes);
        string checksum = Checksum(data);
        if (Meta("checksum") != checksum)
        {
            throw new InvalidDataException($"The file is corrupt: its data checksum is {checksum}, but the metadata records {Meta("checksum")}.");
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
        }

        // Everything matched: only now do the parameters change.
        foreach (var tensor in expected)
        {
            int index = byName[tensor.Name];
            network.SetTensor(tensor.Name, data.AsSpan((int)(offsets[index] / sizeof(float)), tensor.Length));
        }
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
