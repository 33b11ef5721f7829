using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Backprop;

/// <summary>What <see cref="TransferLearning"/> copied into a network, and what it left as it was, with the reason.</summary>
/// <param name="Loaded">The tensors copied, in the network's <c>Tensors</c> order.</param>
/// <param name="Skipped">The network's tensors left as they were: <c>name: reason</c> (absent from the source, or of another shape).</param>
public sealed record TransferReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> Skipped)
{
    /// <summary>One line: how many tensors were copied and which were not.</summary>
    public override string ToString()
        => $"{Loaded.Count} tensor(s) copied ({string.Join(", ", Loaded)}); {Skipped.Count} kept ({string.Join("; ", Skipped)})";
}

/// <summary>
/// Transfer learning: start a network from the layers of another model that fit, as Keras's
/// <c>load_weights(by_name=True, skip_mismatch=True)</c>. Every tensor of the network that the source has under the
/// same name with the same shape (running statistics included) is copied; the rest keep their values (usually a new
/// head, initialized by the constructor). Then <see cref="INetwork.Freeze"/> the copied layers and fine-tune the rest.
/// </summary>
public static class TransferLearning
{
    /// <summary>Copies every tensor of <paramref name="source"/> that <paramref name="network"/> has with the same name and shape.</summary>
    /// <remarks>
    /// Every matching tensor is copied out and checked before the first is set, so a bad source changes nothing; the
    /// tensors are then set one after the other (each <c>SetTensor</c> alone), so a <c>Predict</c> running at the same
    /// time on another thread may see some copied and others not yet: transfer before serving.
    /// </remarks>
    /// <exception cref="ArgumentException">The two are the same instance, no tensor matches (nothing to transfer), or a
    /// matching tensor of the source holds NaN, an infinity or a negative variance (nothing changed).</exception>
    public static TransferReport CopyMatching(this INetwork network, INetwork source)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(source);
        if (ReferenceEquals(network, source))
        {
            throw new ArgumentException("The source is the network itself.", nameof(source));
        }
        var available = source.Tensors.ToDictionary(tensor => tensor.Name, StringComparer.Ordinal);
        var plan = Plan(network, name => available.TryGetValue(name, out var tensor) ? tensor.Shape : null, source.GetType().Name);
        // Every tensor copied out and checked before the first is set: a source holding a NaN changes nothing.
        var staged = new List<float[]>(plan.Count);
        foreach (var tensor in plan)
        {
            var values = new float[tensor.Length];
            source.CopyTensor(tensor.Name, values);
            Check(source.GetType().Name, tensor.Name, values, e => new ArgumentException(e, nameof(source)));
            staged.Add(values);
        }
        for (int i = 0; i < plan.Count; i++)
        {
            network.SetTensor(plan[i].Name, staged[i]);
        }
        return Report(network, plan, name => available.TryGetValue(name, out var tensor) ? tensor.Shape : null);
    }

    /// <summary>
    /// Copies every tensor of a safetensors file (a model saved by <c>Save</c>, or a PyTorch <c>state_dict</c>) that
    /// <paramref name="network"/> has with the same name, shape and type (F32). The file is read and checked whole first:
    /// a malformed file, or a matching tensor holding a non-finite value, changes nothing.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is malformed, a matching tensor holds NaN or an infinity, or no tensor matches.</exception>
    public static TransferReport LoadMatching(this INetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = SafeTensorsFile.Read(path);
        var shapes = file.Tensors.Where(tensor => file.DType(tensor.Name) == SafeTensorsFile.Float32)
            .ToDictionary(tensor => tensor.Name, tensor => tensor.Shape, StringComparer.Ordinal);
        List<TensorInfo> plan;
        try
        {
            plan = Plan(network, name => shapes.TryGetValue(name, out var shape) ? shape : null, Path.GetFileName(path));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
        foreach (var tensor in plan)
        {
            Check(path, tensor.Name, file.Get(tensor.Name), message => new InvalidDataException(message));
        }
        foreach (var tensor in plan)
        {
            network.SetTensor(tensor.Name, file.Get(tensor.Name));
        }
        return Report(network, plan, name => shapes.TryGetValue(name, out var shape) ? shape : null);
    }

    /// <summary>Refuses a tensor holding NaN or an infinity, or a negative variance: <paramref name="error"/> builds the exception from the message.</summary>
    private static void Check(string source, string name, ReadOnlySpan<float> values, Func<string, Exception> error)
    {
        int bad = NetworkGuard.IndexOfNonFinite(values);
        if (bad >= 0)
        {
            throw error(string.Create(CultureInfo.InvariantCulture, $"{source}: '{name}' holds {values[bad]} at index {bad}; nothing was copied."));
        }
        if (NetworkGuard.IsVariance(name) && NetworkGuard.IndexOfNegative(values) is int negative and >= 0)
        {
            throw error(string.Create(CultureInfo.InvariantCulture, $"{source}: '{name}' holds the negative variance {values[negative]} at index {negative}; nothing was copied."));
        }
    }

    /// <summary>The network's tensors that the source has with the same shape; refuses a transfer of nothing.</summary>
    private static List<TensorInfo> Plan(INetwork network, Func<string, IReadOnlyList<int>?> shapeOf, string source)
    {
        var plan = network.Tensors.Where(tensor => shapeOf(tensor.Name) is { } shape && shape.SequenceEqual(tensor.Shape)).ToList();
        if (plan.Count == 0)
        {
            throw new ArgumentException(
                $"{source} has no tensor of {network.GetType().Name}'s names and shapes ({string.Join(", ", network.Tensors.Select(t => t.Name + " " + PyTorchInterop.Shape(t.Shape)))}); nothing to transfer.");
        }
        return plan;
    }

    private static TransferReport Report(INetwork network, List<TensorInfo> plan, Func<string, IReadOnlyList<int>?> shapeOf)
    {
        var loaded = plan.Select(tensor => tensor.Name).ToHashSet(StringComparer.Ordinal);
        var skipped = network.Tensors.Where(tensor => !loaded.Contains(tensor.Name))
            .Select(tensor => shapeOf(tensor.Name) is { } shape
                ? $"{tensor.Name}: {PyTorchInterop.Shape(shape)} in the source, {PyTorchInterop.Shape(tensor.Shape)} here"
                : $"{tensor.Name}: not in the source")
            .ToArray();
        return new TransferReport(plan.Select(tensor => tensor.Name).ToArray(), skipped);
    }
}
