using System;

namespace Backprop.Kernels;

/// <summary>
/// An optimizer step that a layer's backward pass applies to its own parameters as soon as their gradients are
/// complete: the optimizer (in a step begun by <see cref="Optimizer.BeginPartialStep"/>), the whole parameter
/// block, and where the layer's weight and bias start in it. <c>default</c> means no update.
/// </summary>
public readonly ref struct ParameterUpdate
{
    /// <summary>Creates the update of one layer.</summary>
    /// <param name="optimizer">The optimizer, in a step begun by <see cref="Optimizer.BeginPartialStep"/>.</param>
    /// <param name="parameters">The network's whole parameter block (the optimizer's state is indexed by position in it).</param>
    /// <param name="weightOffset">Where the layer's weight starts in the block.</param>
    /// <param name="biasOffset">Where the layer's bias starts in the block.</param>
    public ParameterUpdate(Optimizer optimizer, Span<float> parameters, int weightOffset, int biasOffset)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        Parameters = parameters;
        WeightOffset = weightOffset;
        BiasOffset = biasOffset;
    }

    /// <summary>The optimizer, or null for no update.</summary>
    public Optimizer? Optimizer { get; }

    /// <summary>The whole parameter block.</summary>
    public Span<float> Parameters { get; }

    /// <summary>Where the layer's weight starts in <see cref="Parameters"/>.</summary>
    public int WeightOffset { get; }

    /// <summary>Where the layer's bias starts in <see cref="Parameters"/>.</summary>
    public int BiasOffset { get; }

    /// <summary>
    /// Applies the step begun by <see cref="Optimizer.BeginPartialStep"/> to the tensor of <paramref name="length"/> values
    /// at <paramref name="offset"/> in the parameter block, from its part of the gradient block (frozen parts skipped).
    /// </summary>
    /// <param name="optimizer">The optimizer, in a step begun by <see cref="Optimizer.BeginPartialStep"/>.</param>
    /// <param name="parameters">The network's whole parameter block.</param>
    /// <param name="gradients">The network's whole gradient block.</param>
    /// <param name="offset">Where the tensor starts in both blocks.</param>
    /// <param name="length">Its number of values.</param>
    public static void Apply(Optimizer optimizer, Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        optimizer.UpdatePart(parameters.Slice(offset, length), gradients.Slice(offset, length), offset);
    }
}
