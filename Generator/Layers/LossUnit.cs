using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Layers;

/// <summary>
/// Everything the generator knows about one loss, as a <see cref="LayerUnit"/> knows a layer kind: what the training
/// calls take (class labels or float targets), which last-layer activation it computes through (fused: the loss reads
/// the pre-activation and gives ∂L/∂z), and the statements of its runtime kernel for a whole batch and for one shard.
/// The emitter writes every call site from these, once.
/// </summary>
internal abstract class LossUnit
{
    private static readonly LossUnit[] s_units = { new SoftmaxCrossEntropyUnit(), new BinaryCrossEntropyUnit(), new MeanSquaredErrorUnit() };

    /// <summary>The unit of a <c>Backprop.Loss</c> value (shape inference has checked it).</summary>
    public static LossUnit For(int loss) => s_units[loss];

    /// <summary>The <c>Backprop.Loss</c> member's name.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the training calls take one class label per sample (else batch × outputs float targets).</summary>
    public abstract bool TakesLabels { get; }

    /// <summary>The element type of the targets.</summary>
    public string TargetType => TakesLabels ? "int" : "float";

    /// <summary>The targets parameter's name.</summary>
    public string TargetName => TakesLabels ? "labels" : "targets";

    /// <summary>The last layer's activation the loss folds in (its kernel reads the pre-activation), or -1 for none.</summary>
    protected abstract int FusedActivation { get; }

    /// <summary>Whether the loss is computed from <paramref name="last"/>'s pre-activation, giving ∂L/∂z directly.</summary>
    public bool Fuses(LayerPlan last) => last.Activation == FusedActivation;

    /// <summary>The comment before the training pass's loss statement.</summary>
    public abstract string Comment(LayerPlan last);

    /// <summary>The kernel call for a whole batch: the mean loss of <c>batch</c> samples, its gradient into <paramref name="delta"/>.</summary>
    public abstract string Batch(string logits, string delta);

    /// <summary>The kernel method for one shard's rows (<c>first</c>, <c>count</c> of <c>batch</c>).</summary>
    public abstract string PartMethod { get; }

    /// <summary>The arguments of <see cref="PartMethod"/>: the shard's logit and delta rows, its targets, its share of the batch.</summary>
    public abstract string PartArguments(string logitRows, string deltaRows);
}

/// <summary><c>Loss.SoftmaxCrossEntropy</c>: class labels; fused with a Softmax last layer (log-sum-exp of the pre-activation).</summary>
internal sealed class SoftmaxCrossEntropyUnit : LossUnit
{
    public override string Name => "SoftmaxCrossEntropy";

    public override bool TakesLabels => true;

    protected override int FusedActivation => Names.Softmax;

    public override string Comment(LayerPlan last) => Fuses(last)
        ? $"// Softmax cross-entropy from {last.Name}'s pre-activation (log-sum-exp); its gradient is ∂L/∂z."
        : $"// Softmax cross-entropy with {last.Name}'s outputs as the logits; its gradient is ∂L/∂y.";

    public override string Batch(string logits, string delta)
        => $"global::Backprop.Kernels.Losses.SoftmaxCrossEntropy({logits}, labels, {delta}, batch, OutputSize)";

    public override string PartMethod => "SoftmaxCrossEntropyPart";

    public override string PartArguments(string logitRows, string deltaRows)
        => $"{logitRows}, labels.Slice(first, count), {deltaRows}, count, OutputSize, batch";
}

/// <summary>Element-wise losses on batch × outputs float targets, averaged over every element.</summary>
internal abstract class ElementwiseLossUnit : LossUnit
{
    public override bool TakesLabels => false;

    protected abstract string Kernel { get; }

    public override string Batch(string logits, string delta)
        => $"global::Backprop.Kernels.Losses.{Kernel}({logits}, targets, {delta}, batch * OutputSize)";

    public override string PartMethod => Kernel + "Part";

    public override string PartArguments(string logitRows, string deltaRows)
        => $"{logitRows}, targets.Slice(first * OutputSize, count * OutputSize), {deltaRows}, count * OutputSize, batch * OutputSize";
}

/// <summary><c>Loss.BinaryCrossEntropy</c>: one independent probability per output; fused with a Sigmoid last layer.</summary>
internal sealed class BinaryCrossEntropyUnit : ElementwiseLossUnit
{
    public override string Name => "BinaryCrossEntropy";

    protected override int FusedActivation => Names.Sigmoid;

    protected override string Kernel => "BinaryCrossEntropyWithLogits";

    public override string Comment(LayerPlan last) => Fuses(last)
        ? $"// Binary cross-entropy from {last.Name}'s pre-activation, max(z, 0) - z t + log(1 + exp(-|z|)); its gradient is ∂L/∂z."
        : $"// Binary cross-entropy with {last.Name}'s outputs as the logits; its gradient is ∂L/∂y.";
}

/// <summary><c>Loss.MeanSquaredError</c>: regression on the last layer's outputs; never fused.</summary>
internal sealed class MeanSquaredErrorUnit : ElementwiseLossUnit
{
    public override string Name => "MeanSquaredError";

    protected override int FusedActivation => -1;

    protected override string Kernel => "MeanSquaredError";

    public override string Comment(LayerPlan last) => $"// Mean squared error on {last.Name}'s outputs; its gradient is ∂L/∂y.";
}
