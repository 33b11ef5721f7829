using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Backprop;

/// <summary>
/// Models trained in PyTorch, brought into a generated network: a plain <c>state_dict</c> saved as safetensors (as
/// <c>safetensors.torch.save_file</c> writes it, or the ten-line writer in the user guide for torch 1.13), with a map
/// from the PyTorch model's module names to the network's layer names.
/// </summary>
public static class PyTorchInterop
{
    /// <summary>How many problems of each kind an error message lists before it says how many more there are.</summary>
    private const int Listed = 12;

    /// <summary>
    /// Loads a PyTorch <c>state_dict</c> from a safetensors file into <paramref name="network"/>: every tensor the network
    /// has (running statistics included) must be in the file under its PyTorch name after renaming by
    /// <paramref name="names"/>, with the same shape, as F32. Nothing changes unless everything matches.
    /// </summary>
    /// <param name="network">The generated network to load into.</param>
    /// <param name="path">The safetensors file.</param>
    /// <param name="names">
    /// PyTorch name → layer name. A key is a module path (<c>features.0</c> → <c>conv1</c> renames
    /// <c>features.0.weight</c> to <c>conv1.weight</c>; the longest matching module path wins) or a whole tensor name
    /// (<c>lstm.weight_ih_l1</c> → <c>lstm2.weight_ih_l0</c>: the second layer of a stacked <c>nn.LSTM</c>). Names that
    /// no key matches are kept, so a model whose modules are named like the layers needs no map.
    /// </param>
    /// <exception cref="InvalidDataException">
    /// The file is malformed, or does not match the network: the message lists the missing tensors, the extra ones
    /// (after renaming), those of another shape or dtype, and non-finite values (the network was not changed).
    /// </exception>
    public static void LoadStateDict(this INetwork network, string path, IReadOnlyDictionary<string, string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        network.LoadStateDict(stream, names);
    }

    /// <summary>
    /// <see cref="LoadStateDict(INetwork, string, IReadOnlyDictionary{string, string}?)"/> from a stream (read from its
    /// current position to the end).
    /// </summary>
    /// <exception cref="InvalidDataException">The stream is malformed or does not match the network (nothing changed).</exception>
    public static void LoadStateDict(this INetwork network, Stream stream, IReadOnlyDictionary<string, string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(stream);
        var file = SafeTensorsFile.Read(stream);
        string networkName = network.GetType().Name;

        // The file's names, renamed; two names that land on one are an error, not a silent choice.
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var collisions = new List<string>();
        foreach (var tensor in file.Tensors)
        {
            if (IsCounter(tensor.Name))
            {
                continue;
            }
            string target = Rename(tensor.Name, names);
            if (!renamed.TryAdd(target, tensor.Name))
            {
                collisions.Add($"'{renamed[target]}' and '{tensor.Name}' both map to '{target}'");
            }
        }

        var wanted = network.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var shapes = file.Tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        var missing = new List<string>();
        var mismatched = new List<string>();
        var bad = new List<string>();
        foreach (var tensor in network.Tensors)
        {
            if (!renamed.TryGetValue(tensor.Name, out string? source))
            {
                missing.Add($"{tensor.Name} {Shape(tensor.Shape)}");
                continue;
            }
            string from = source == tensor.Name ? "" : $" (from '{source}')";
            if (file.DType(source) != SafeTensorsFile.Float32)
            {
                mismatched.Add($"{tensor.Name}{from} is {file.DType(source)}; {networkName} needs F32");
                continue;
            }
            var shape = shapes[source];
            if (!shape.SequenceEqual(tensor.Shape))
            {
                mismatched.Add($"{tensor.Name}{from} is {Shape(shape)} in the file; {networkName} needs {Shape(tensor.Shape)}");
                continue;
            }
            var values = file.Get(source);
            int index = NetworkGuard.IndexOfNonFinite(values);
            if (index >= 0)
            {
                bad.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{tensor.Name}{from} holds {values[index]} at index {index}"));
            }
            else if (NetworkGuard.IsVariance(tensor.Name) && NetworkGuard.IndexOfNegative(values) is int negative and >= 0)
            {
                bad.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{tensor.Name}{from} holds the negative variance {values[negative]} at index {negative}"));
            }
        }
        var extra = renamed.Where(pair => !wanted.ContainsKey(pair.Key))
            .Select(pair => pair.Key == pair.Value ? $"'{pair.Key}'" : $"'{pair.Value}' (as '{pair.Key}')").ToList();

        if (collisions.Count + missing.Count + extra.Count + mismatched.Count + bad.Count > 0)
        {
            var message = new StringBuilder($"The state_dict does not match {networkName}; nothing was loaded.");
            Append(message, "Missing (the network has them, the file does not)", missing);
            Append(message, "Extra (in the file, no tensor of the network has the name; map its module to a layer)", extra);
            Append(message, "Mismatched", mismatched);
            Append(message, "Bad values", bad);
            Append(message, "Ambiguous", collisions);
            message.Append(" The network's tensors: ").Append(string.Join(", ", network.Tensors.Select(t => t.Name + " " + Shape(t.Shape)))).Append('.');
            throw new InvalidDataException(message.ToString());
        }

        foreach (var tensor in network.Tensors)
        {
            network.SetTensor(tensor.Name, file.Get(renamed[tensor.Name]));
        }
    }

    /// <summary>
    /// The layer tensor name of a PyTorch name under <paramref name="names"/>: an exact key, else the longest key that is a
    /// module path of it, else the name itself.
    /// </summary>
    public static string Rename(string name, IReadOnlyDictionary<string, string>? names)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (names is null || names.Count == 0)
        {
            return name;
        }
        if (names.TryGetValue(name, out string? exact))
        {
            return exact;
        }
        for (int dot = name.LastIndexOf('.'); dot > 0; dot = name.LastIndexOf('.', dot - 1))
        {
            if (names.TryGetValue(name[..dot], out string? module))
            {
                return module + name[dot..];
            }
        }
        return name;
    }

    /// <summary>
    /// PyTorch's batch counters (<c>num_batches_tracked</c>, I64, or F32 after a blanket <c>.float()</c>): skipped, since
    /// a BatchNorm here always uses its momentum and the count changes nothing.
    /// </summary>
    private static bool IsCounter(string name) => name.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

    /// <summary>A shape as messages write it: <c>[3, 36]</c>.</summary>
    internal static string Shape(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    private static void Append(StringBuilder message, string heading, List<string> items)
    {
        if (items.Count == 0)
        {
            return;
        }
        message.Append(' ').Append(heading).Append(": ").Append(string.Join("; ", items.Take(Listed)));
        if (items.Count > Listed)
        {
            message.Append($"; and {items.Count - Listed} more");
        }
        message.Append('.');
    }
}
