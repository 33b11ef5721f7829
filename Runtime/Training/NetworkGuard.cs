using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Globalization;

namespace Backprop;

/// <summary>
/// Argument checks shared by generated networks. Every message names the network and the sizes involved.
/// Called by generated code; not meant to be called directly.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class NetworkGuard
{
    /// <summary>Checks the inputs and returns the batch size they hold.</summary>
    public static int Batch(string network, ReadOnlySpan<float> inputs, int inputSize, int maxBatch)
    {
        if (inputs.Length == 0 || inputs.Length % inputSize != 0)
        {
            throw new ArgumentException(
                $"{network}: inputs hold {inputs.Length} values, which is not a positive multiple of InputSize = {inputSize}.",
                nameof(inputs));
        }
        int batch = inputs.Length / inputSize;
        if (batch > maxBatch)
        {
            throw new ArgumentException(
                $"{network}: inputs hold a batch of {batch} samples ({inputs.Length} values / {inputSize}), more than maxBatch = {maxBatch} given to the constructor.",
                nameof(inputs));
        }
        return batch;
    }

    /// <summary>Checks that a per-sample buffer (outputs, targets) holds exactly <c>batch × size</c> values.</summary>
    public static void Length(string network, string what, int length, int batch, int size, string parameterName)
    {
        if (length != batch * size)
        {
            throw new ArgumentException(
                $"{network}: {what} hold {length} values; a batch of {batch} needs {batch} x {size} = {batch * size}.",
                parameterName);
        }
    }

    /// <summary>Checks one label per sample, each in [0, classes).</summary>
    public static void Labels(string network, ReadOnlySpan<int> labels, int batch, int classes)
    {
        if (labels.Length != batch)
        {
            throw new ArgumentException(
                $"{network}: {labels.Length} labels for a batch of {batch} samples; one label per sample is needed.",
                nameof(labels));
        }
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"{network}: label {labels[i]} at index {i} is out of range; OutputSize = {classes} allows 0 to {classes - 1}."),
                    nameof(labels));
            }
        }
    }

    /// <summary>The error for calling the labels overload on a network trained with targets, or the reverse.</summary>
    public static InvalidOperationException WrongTargets(string network, Loss loss, bool labels)
        => new(labels
            ? $"{network} is trained with {loss}, which takes float targets; call the overload with ReadOnlySpan<float> targets."
            : $"{network} is trained with {loss}, which takes integer class labels; call the overload with ReadOnlySpan<int> labels.");

    /// <summary>Refuses an update from a loss that is not finite, before the parameters change.</summary>
    public static void FiniteLoss(string network, float loss, long step)
    {
        if (!float.IsFinite(loss))
        {
            throw new ArithmeticException(
                string.Create(CultureInfo.InvariantCulture, $"{network}: the loss is {loss} at optimizer step {step + 1}; the parameters were not updated. ") +
                "Check the inputs for NaN or infinite values, or lower the learning rate.");
        }
    }

    /// <summary>Checks a tensor buffer's length.</summary>
    public static void TensorLength(string network, TensorInfo tensor, int length, string parameterName)
    {
        if (length != tensor.Length)
        {
            throw new ArgumentException(
                $"{network}: tensor '{tensor.Name}' [{string.Join(", ", tensor.Shape)}] has {tensor.Length} values; the buffer holds {length}.",
                parameterName);
        }
    }

    /// <summary>The error for a tensor name the network does not have.</summary>
    public static ArgumentException UnknownTensor(string network, string name, IReadOnlyList<TensorInfo> tensors)
    {
        var names = new string[tensors.Count];
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = tensors[i].Name;
        }
        return new ArgumentException($"{network} has no tensor '{name}'; its tensors are: {string.Join(", ", names)}.", nameof(name));
    }

    /// <summary>Checks the constructor's batch size.</summary>
    public static void MaxBatch(string network, int maxBatch) => MaxBatch(network, maxBatch, 1);

    /// <summary>
    /// Checks the constructor's batch size against the largest activation buffer, <paramref name="perSample"/> floats
    /// per sample: <c>maxBatch × perSample</c> must fit in one buffer (<see cref="Kernels.AlignedBuffer.MaxLength"/>).
    /// </summary>
    public static void MaxBatch(string network, int maxBatch, int perSample)
    {
        if (maxBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, $"{network}: maxBatch must be at least 1.");
        }
        int limit = Kernels.AlignedBuffer.MaxLength / Math.Max(1, perSample);
        if (maxBatch > limit)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, string.Create(CultureInfo.InvariantCulture,
                $"{network}: maxBatch = {maxBatch} is too large; the largest activation buffer holds {perSample} floats per sample, so maxBatch can be at most {limit} (AlignedBuffer.MaxLength = {Kernels.AlignedBuffer.MaxLength} floats per buffer)."));
        }
    }
}
