using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Backprop.Generator.Emit;
using Backprop.Generator.Layers;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Model;

/// <summary>One tensor of an embedded weights file's header.</summary>
internal sealed record WeightsTensor(string Name, string DType, EquatableArray<int> Shape);

/// <summary>
/// What the build learned about one <c>&lt;BackpropWeights&gt;</c> file: its path as the project lists it, the manifest
/// resource it is embedded as, whether it could be read, and its safetensors header (tensors, and the architecture of a
/// Backprop.Gen model file). Value-equatable, so an unchanged file leaves the generator's output cached.
/// </summary>
/// <remarks>
/// A generator sees additional files only as text, so the package's build targets read each weights file's header
/// (8-byte length, JSON) into a text file <c>*.backprop-weights.txt</c> in the intermediate directory, passed as an
/// additional file: the bytes themselves reach the assembly as an embedded resource, never through the compiler.
/// </remarks>
internal sealed record WeightsHeader(string DeclaredPath, string Resource, string Status, string Reason, bool IsModelFile, string? Architecture, EquatableArray<WeightsTensor> Tensors)
{
    /// <summary>The extension of the header files the build targets write.</summary>
    public const string Extension = ".backprop-weights.txt";

    private const string Magic = "backprop-weights 1";

    /// <summary>A path as the project and the attribute write it: forward slashes, no leading <c>./</c>.</summary>
    public static string Normalize(string path)
    {
        string normalized = path.Replace('\\', '/');
        while (normalized.StartsWith("./", System.StringComparison.Ordinal))
        {
            normalized = normalized.Substring(2);
        }
        return normalized;
    }

    /// <summary>Reads a header file; null if it is not one.</summary>
    public static WeightsHeader? Parse(string text)
    {
        var lines = text.Split('\n');
        if (lines.Length < 6 || lines[0].TrimEnd('\r') != Magic)
        {
            return null;
        }
        string Field(int index, string key)
        {
            string line = lines[index].TrimEnd('\r');
            return line.StartsWith(key + "=", System.StringComparison.Ordinal) ? line.Substring(key.Length + 1) : "";
        }
        string path = Normalize(Field(1, "path")), resource = Field(2, "resource"), status = Field(3, "status"), reason = Field(4, "reason");
        if (status != "ok")
        {
            return new WeightsHeader(path, resource, status, reason, false, null, EquatableArray<WeightsTensor>.Empty);
        }
        WeightsHeader Invalid(string why) => new(path, resource, "invalid", why, false, null, EquatableArray<WeightsTensor>.Empty);
        string json = string.Join("\n", lines, 5, lines.Length - 5);
        if (!(MiniJson.Parse(json) is Dictionary<string, object?> header))
        {
            return Invalid("its header is not a JSON object (or names a key twice)");
        }
        var tensors = new List<WeightsTensor>();
        bool isModelFile = false;
        string? architecture = null;
        foreach (var entry in header)
        {
            if (entry.Key == "__metadata__")
            {
                if (!(entry.Value is Dictionary<string, object?>))
                {
                    return Invalid("its __metadata__ is not a JSON object");
                }
                if (entry.Value is Dictionary<string, object?> metadata)
                {
                    isModelFile = metadata.TryGetValue("format", out object? format) && format as string == "backprop.gen";
                    architecture = metadata.TryGetValue("architecture", out object? value) ? value as string : null;
                }
                continue;
            }
            // The runtime's reader (SafeTensorsFile) refuses these too: refused here, they are a build error, not a constructor's.
            if (!(entry.Value is Dictionary<string, object?> tensor) || !(tensor.TryGetValue("dtype", out object? dtype) && dtype is string type)
                || !(tensor.TryGetValue("shape", out object? shape) && shape is List<object?> dimensions)
                || !(tensor.TryGetValue("data_offsets", out object? offsets) && offsets is List<object?> { Count: 2 }))
            {
                return Invalid($"tensor '{entry.Key}' lacks a dtype, a shape or a data_offsets pair");
            }
            if (dimensions.Any(d => !(d is double value) || value < 0 || value > int.MaxValue || value != System.Math.Floor(value)))
            {
                return Invalid($"tensor '{entry.Key}' has a shape entry that is not a non-negative integer");
            }
            tensors.Add(new WeightsTensor(entry.Key, type, new EquatableArray<int>(dimensions.Select(d => (int)(double)d!).ToArray())));
        }
        return new WeightsHeader(path, resource, status, reason, isModelFile, architecture, new EquatableArray<WeightsTensor>(tensors.ToArray()));
    }

    /// <summary>
    /// Why <paramref name="plan"/>'s <c>Weights</c> file cannot be embedded (a BPG0018 on the <c>Weights</c> argument), or
    /// null when it can: <paramref name="header"/> is the file's header (null when the project does not list it).
    /// </summary>
    public static ShapeError? Check(NetworkPlan plan, WeightsHeader? header)
    {
        string declared = plan.Weights!;
        string network = plan.ClassName;
        if (header is null)
        {
            return WeightsNotListed.At(-1, "Weights", declared, network);
        }
        if (header.Status == "missing")
        {
            return WeightsMissing.At(-1, "Weights", declared, network);
        }
        if (header.Status != "ok")
        {
            return WeightsUnreadable.At(-1, "Weights", declared, network, header.Reason);
        }
        var file = new Dictionary<string, WeightsTensor>();
        foreach (var tensor in header.Tensors)
        {
            if (!tensor.Name.EndsWith(".num_batches_tracked", System.StringComparison.Ordinal))
            {
                file[tensor.Name] = tensor;
            }
        }
        var missing = new List<string>();
        var mismatched = new List<string>();
        var expected = new HashSet<string>();
        foreach (var layer in plan.Layers)
        {
            foreach (var tensor in LayerRegistry.ForKind(layer.Kind).Tensors(layer))
            {
                expected.Add(tensor.Name);
                if (!file.TryGetValue(tensor.Name, out var found))
                {
                    missing.Add($"{tensor.Name} {Shape(tensor.Shape)}");
                }
                else if (found.DType != "F32")
                {
                    mismatched.Add($"{tensor.Name} is {found.DType} (F32 needed)");
                }
                else if (!found.Shape.SequenceEqual(tensor.Shape))
                {
                    mismatched.Add($"{tensor.Name} is {Shape(found.Shape)} in the file, {Shape(tensor.Shape)} in {network}");
                }
            }
        }
        var extra = file.Keys.Where(name => !expected.Contains(name)).OrderBy(name => name, System.StringComparer.Ordinal).ToList();
        if (missing.Count + mismatched.Count + extra.Count == 0)
        {
            // A model file also records the architecture (activations, loss, options), which Load compares exactly.
            string architecture = NetworkEmitter.Architecture(plan);
            return !header.IsModelFile || header.Architecture == architecture
                ? null
                : WeightsOfAnotherArchitecture.At(-1, "Weights", declared, network, header.Architecture ?? "missing", architecture);
        }
        var problems = new List<string>();
        if (missing.Count > 0)
        {
            problems.Add("missing " + string.Join(", ", missing));
        }
        problems.AddRange(mismatched);
        if (extra.Count > 0)
        {
            problems.Add("extra " + string.Join(", ", extra));
        }
        return WeightsDoNotMatch.At(-1, "Weights", declared, network, string.Join("; ", problems));
    }

    /// <summary>The header of <paramref name="declared"/> among <paramref name="headers"/>, or null.</summary>
    public static WeightsHeader? Find(IEnumerable<WeightsHeader> headers, string declared)
    {
        string normalized = Normalize(declared);
        return headers.FirstOrDefault(header => header.DeclaredPath == normalized);
    }

    private static string Shape(IEnumerable<int> shape) => "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}

/// <summary>
/// A small JSON reader for safetensors headers (the generator targets netstandard2.0 and ships no JSON library):
/// objects as dictionaries, arrays as lists, numbers as doubles, strings, booleans and null. Null on malformed input,
/// on a key given twice in one object, and on nesting deeper than <see cref="MaximumDepth"/> (never a stack overflow).
/// </summary>
internal static class MiniJson
{
    /// <summary>How deep objects and arrays may nest (a safetensors header needs 3).</summary>
    public const int MaximumDepth = 64;

    public static object? Parse(string text)
    {
        int position = 0;
        try
        {
            object? value = Value(text, ref position, 0);
            Skip(text, ref position);
            return position == text.Length ? value : null;
        }
#pragma warning disable CA1031 // The generator must never throw: any malformed header is "not JSON".
        catch (System.Exception e) when (!(e is System.OperationCanceledException))
#pragma warning restore CA1031
        {
            return null;
        }
    }

    private static void Skip(string text, ref int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }

    private static object? Value(string text, ref int position, int depth)
    {
        if (depth > MaximumDepth)
        {
            throw new System.FormatException();
        }
        Skip(text, ref position);
        char c = text[position];
        if (c == '{')
        {
            var result = new Dictionary<string, object?>(System.StringComparer.Ordinal);
            position++;
            Skip(text, ref position);
            if (text[position] == '}')
            {
                position++;
                return result;
            }
            while (true)
            {
                Skip(text, ref position);
                string key = String(text, ref position);
                Skip(text, ref position);
                Expect(text, ref position, ':');
                if (result.ContainsKey(key))
                {
                    throw new System.FormatException();
                }
                result[key] = Value(text, ref position, depth + 1);
                Skip(text, ref position);
                if (text[position] == ',')
                {
                    position++;
                    continue;
                }
                Expect(text, ref position, '}');
                return result;
            }
        }
        if (c == '[')
        {
            var result = new List<object?>();
            position++;
            Skip(text, ref position);
            if (text[position] == ']')
            {
                position++;
                return result;
            }
            while (true)
            {
                result.Add(Value(text, ref position, depth + 1));
                Skip(text, ref position);
                if (text[position] == ',')
                {
                    position++;
                    continue;
                }
                Expect(text, ref position, ']');
                return result;
            }
        }
        if (c == '"')
        {
            return String(text, ref position);
        }
        if (Match(text, ref position, "true"))
        {
            return true;
        }
        if (Match(text, ref position, "false"))
        {
            return false;
        }
        if (Match(text, ref position, "null"))
        {
            return null;
        }
        int start = position;
        while (position < text.Length && "+-0123456789.eE".IndexOf(text[position]) >= 0)
        {
            position++;
        }
        return double.Parse(text.Substring(start, position - start), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static bool Match(string text, ref int position, string word)
    {
        if (string.CompareOrdinal(text, position, word, 0, word.Length) == 0)
        {
            position += word.Length;
            return true;
        }
        return false;
    }

    private static void Expect(string text, ref int position, char c)
    {
        if (text[position] != c)
        {
            throw new System.FormatException();
        }
        position++;
    }

    private static string String(string text, ref int position)
    {
        Expect(text, ref position, '"');
        var builder = new StringBuilder();
        while (text[position] != '"')
        {
            char c = text[position++];
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            char escape = text[position++];
            switch (escape)
            {
                case 'n': builder.Append('\n'); break;
                case 't': builder.Append('\t'); break;
                case 'r': builder.Append('\r'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'u':
                    builder.Append((char)int.Parse(text.Substring(position, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    position += 4;
                    break;
                default: builder.Append(escape); break;
            }
        }
        position++;
        return builder.ToString();
    }
}
