using System;
using System.Globalization;

namespace Backprop.Kernels;

/// <summary>
/// The embedding layer's passes, as PyTorch's <c>nn.Embedding</c>: each token id (a float that holds an integer)
/// selects a row of the weight [vocabulary, dimensions].
/// </summary>
public static class Embedding
{
    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the sample and step of the first id that is not an integer in
    /// [0, <paramref name="vocabulary"/>); the networks call it before a pass begins, so a bad batch changes nothing.
    /// </summary>
    /// <param name="network">The network's name, for the message.</param>
    /// <param name="ids">The inputs: [batch, steps] ids.</param>
    /// <param name="batch">Samples.</param>
    /// <param name="steps">Ids per sample.</param>
    /// <param name="vocabulary">The number of distinct ids.</param>
    /// <param name="parameterName">The argument that holds the ids.</param>
    public static void CheckIds(string network, ReadOnlySpan<float> ids, int batch, int steps, int vocabulary, string parameterName)
    {
        int count = batch * steps;
        if (ids.Length < count)
        {
            throw new ArgumentException($"{network}: {ids.Length} ids do not fill {batch} samples of {steps} steps.", parameterName);
        }
        for (int i = 0; i < count; i++)
        {
            float id = ids[i];
            // NaN fails both comparisons; the cast is exact for every float below 2²⁴ and so for every valid id.
            if (!(id >= 0 && id < vocabulary) || id != (int)id)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture,
                        $"{network}: sample {i / steps}, step {i % steps} holds token id {id}; ids must be integers in [0, {vocabulary})."),
                    parameterName);
            }
        }
    }

    /// <summary><c>output[b, t] = weight[ids[b, t]]</c>. The ids must have passed <see cref="CheckIds"/>.</summary>
    /// <param name="ids">[batch, steps] ids.</param>
    /// <param name="weight">[vocabulary, dimensions].</param>
    /// <param name="output">[batch, steps, dimensions].</param>
    /// <param name="count">batch × steps.</param>
    /// <param name="vocabulary">Rows of the weight.</param>
    /// <param name="dimensions">Columns of the weight.</param>
    public static void Forward(ReadOnlySpan<float> ids, ReadOnlySpan<float> weight, Span<float> output, int count, int vocabulary, int dimensions)
    {
        Check(ids, weight, output, count, vocabulary, dimensions);
        for (int i = 0; i < count; i++)
        {
            weight.Slice(Row(ids[i], vocabulary) * dimensions, dimensions).CopyTo(output.Slice(i * dimensions, dimensions));
        }
    }

    /// <summary>
    /// <c>∂L/∂weight</c>: zero except the rows of the ids used, each the sum of the deltas of its occurrences
    /// (repeated ids add up). With an <paramref name="update"/>, steps the weight (at <c>update.WeightOffset</c>).
    /// </summary>
    /// <param name="ids">[batch, steps] ids, as given to the forward pass.</param>
    /// <param name="delta">∂L/∂output, [batch, steps, dimensions].</param>
    /// <param name="gradient">∂L/∂weight, [vocabulary, dimensions], overwritten.</param>
    /// <param name="count">batch × steps.</param>
    /// <param name="vocabulary">Rows of the weight.</param>
    /// <param name="dimensions">Columns of the weight.</param>
    /// <param name="update">The optimizer step for the weight, or default for none.</param>
    public static void Backward(ReadOnlySpan<float> ids, ReadOnlySpan<float> delta, Span<float> gradient, int count, int vocabulary, int dimensions, ParameterUpdate update = default)
    {
        Check(ids, gradient, delta, count, vocabulary, dimensions);
        int length = vocabulary * dimensions;
        if (update.Optimizer is not null && (update.WeightOffset < 0 || update.Parameters.Length < (long)update.WeightOffset + length))
        {
            throw new ArgumentException("Embedding.Backward: the update's offset falls outside the parameter block.");
        }
        gradient[..length].Clear();
        for (int i = 0; i < count; i++)
        {
            Vectors.Add(gradient.Slice(Row(ids[i], vocabulary) * dimensions, dimensions), delta.Slice(i * dimensions, dimensions));
        }
        if (update.Optimizer is { } optimizer)
        {
            optimizer.UpdatePart(update.Parameters.Slice(update.WeightOffset, length), gradient[..length], update.WeightOffset);
        }
    }

    private static int Row(float id, int vocabulary)
    {
        int row = (int)id;
        if ((uint)row >= (uint)vocabulary || row != id)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Embedding: token id {id} is not an integer in [0, {vocabulary})."));
        }
        return row;
    }

    private static void Check(ReadOnlySpan<float> ids, ReadOnlySpan<float> weight, ReadOnlySpan<float> values, int count, int vocabulary, int dimensions)
    {
        if (count < 0 || vocabulary < 1 || dimensions < 1 || ids.Length < count || weight.Length < (long)vocabulary * dimensions || values.Length < (long)count * dimensions)
        {
            throw new ArgumentException($"Embedding: a buffer does not fit {count} ids of a {vocabulary} x {dimensions} table.");
        }
    }
}
