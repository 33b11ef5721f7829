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

    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1 when all are finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var spans = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(values);
            for (int v = 0; v < spans.Length; v++)
            {
                // x - x is 0 for every finite x, NaN for NaN and for ±∞.
                if (!System.Numerics.Vector.EqualsAll(spans[v] - spans[v], System.Numerics.Vector<float>.Zero))
                {
                    i = v * System.Numerics.Vector<float>.Count;
                    break;
                }
                i = (v + 1) * System.Numerics.Vector<float>.Count;
            }
        }
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// <see cref="Finite"/>'s check, which also returns the largest magnitude in <paramref name="values"/>: what bounds
    /// the gradients of a first dense layer (<see cref="Kernels.GradientBound"/>) without reading the inputs again.
    /// </summary>
    public static float FiniteMagnitude(string network, string what, ReadOnlySpan<float> values, int size, string parameterName)
    {
        float largest = Kernels.GradientBound.MaxAbs(values);
        if (!float.IsFinite(largest))
        {
            Finite(network, what, values, size, parameterName);
        }
        return largest;
    }

    /// <summary>
    /// Refuses a training batch with a NaN or an infinity in <paramref name="values"/> (inputs or float targets), before
    /// anything changes: an infinite input gives a finite loss but NaN gradients (0 × ∞), which would poison the weights.
    /// </summary>
    public static void Finite(string network, string what, ReadOnlySpan<float> values, int size, string parameterName)
    {
        int i = IndexOfNonFinite(values);
        if (i >= 0)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture,
                    $"{network}: {what}[{i}] (sample {i / size}, value {i % size} of {size}) is {values[i]}; training needs finite values, and nothing was changed. ") +
                "Replace or drop the sample (a NaN is often a missing value), and check the data preparation for a division by zero.",
                parameterName);
        }
    }

    /// <summary>
    /// Refuses an optimizer step on gradients that are not finite (an overflow in the backward pass), before the
    /// parameters or the optimizer's state change, naming the first tensor (in <paramref name="tensors"/>' order and
    /// layout, consecutive in the block) that holds one.
    /// </summary>
    public static void FiniteGradients(string network, ReadOnlySpan<float> gradients, IReadOnlyList<TensorInfo> tensors, long step)
    {
        int i = IndexOfNonFinite(gradients);
        if (i < 0)
        {
            return;
        }
        string tensor = "?";
        int start = 0;
        foreach (var info in tensors)
        {
            if (!info.Trainable)
            {
                continue; // state lives outside the parameter block
            }
            if (i < start + info.Length)
            {
                tensor = info.Name;
                break;
            }
            start += info.Length;
        }
        throw new ArithmeticException(string.Create(CultureInfo.InvariantCulture,
            $"{network}: the gradient of '{tensor}' is {gradients[i]} at optimizer step {step + 1} (the loss was finite); the parameters were not updated. ") +
            "Lower the learning rate, or clip the gradients.");
    }

    /// <summary>Refuses a tensor with a NaN or an infinity (<c>SetTensor</c>), naming it; the model stays as it was.</summary>
    public static void FiniteTensor(string network, TensorInfo tensor, ReadOnlySpan<float> values, string parameterName)
    {
        int i = IndexOfNonFinite(values);
        if (i >= 0)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"{network}: tensor '{tensor.Name}' holds {values[i]} at index {i}; parameters must be finite, and nothing was changed."),
                parameterName);
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

    /// <summary>
    /// Whether a tensor holds variances, which cannot be negative: BatchNorm's <c>running_var</c> (PyTorch's name) or a
    /// Normalization layer's <c>variance</c>.
    /// </summary>
    public static bool IsVariance(string tensor)
        => tensor.EndsWith(".running_var", StringComparison.Ordinal) || tensor.EndsWith(".variance", StringComparison.Ordinal);

    /// <summary>The index of the first negative value, or -1.</summary>
    public static int IndexOfNegative(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] < 0)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Refuses a variance tensor (<c>SetTensor</c> of a running variance) with a negative value; the model stays as it was.</summary>
    public static void NonNegativeTensor(string network, TensorInfo tensor, ReadOnlySpan<float> values, string parameterName)
    {
        int i = IndexOfNegative(values);
        if (i >= 0)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"{network}: tensor '{tensor.Name}' holds {values[i]} at index {i}; a variance cannot be negative, and nothing was changed."),
                parameterName);
        }
    }

    /// <summary>The error for asking the gradient of a state tensor (a running statistic), which is not trained.</summary>
    public static ArgumentException NoGradient(string network, TensorInfo tensor)
        => new($"{network}: tensor '{tensor.Name}' is state (Trainable = false), updated by training-mode passes rather than by the optimizer; it has no gradient.", "name");

    /// <summary>
    /// Checks that a training call's batch gives every batch-normalization channel more than one value (its variance
    /// is undefined otherwise, as PyTorch refuses too), before anything changes.
    /// </summary>
    public static void TrainingBatch(string network, int batch, int minimum, string layer)
    {
        if (batch < minimum)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{network}: a training batch of {batch} sample(s) gives BatchNorm '{layer}' one value per channel, whose variance is undefined; train with batches of at least {minimum} samples (Predict and ComputeLoss take any batch)."),
                "inputs");
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
