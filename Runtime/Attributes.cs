using System;

namespace Backprop;

/// <summary>The activation applied to a layer's output.</summary>
public enum Activation
{
    /// <summary>No activation: the output is the affine map itself.</summary>
    Linear = 0,
    /// <summary><c>max(x, 0)</c>.</summary>
    Relu = 1,
    /// <summary><c>x</c> for positive <c>x</c>, <c>0.01 x</c> otherwise (PyTorch's default slope).</summary>
    LeakyRelu = 2,
    /// <summary><c>1 / (1 + exp(-x))</c>.</summary>
    Sigmoid = 3,
    /// <summary>The hyperbolic tangent.</summary>
    Tanh = 4,
    /// <summary>The exact Gaussian error linear unit, <c>x Φ(x)</c>, as PyTorch's <c>nn.GELU()</c>.</summary>
    Gelu = 5,
    /// <summary>Row-wise softmax; allowed on the last layer only.</summary>
    Softmax = 6,
}

/// <summary>The loss a network is trained with. Semantics are PyTorch's defaults (mean reduction).</summary>
public enum Loss
{
    /// <summary>
    /// Cross-entropy over classes, averaged over the batch (PyTorch <c>CrossEntropyLoss</c>). Trained with
    /// integer labels. On a Softmax last layer it is computed from the pre-activation (log-sum-exp);
    /// otherwise the outputs are the logits.
    /// </summary>
    SoftmaxCrossEntropy = 0,
    /// <summary>
    /// Binary cross-entropy averaged over all elements. On a Sigmoid last layer it is computed from the
    /// pre-activation in the stable form (PyTorch <c>BCEWithLogitsLoss</c>); otherwise the outputs are the logits.
    /// </summary>
    BinaryCrossEntropy = 1,
    /// <summary>Squared error averaged over all elements (PyTorch <c>MSELoss</c>).</summary>
    MeanSquaredError = 2,
}

/// <summary>
/// Marks a partial class as a network. The generator reads the layer attributes on the same declaration,
/// in source order, and emits the model: sizes, parameter buffer, forward and backward passes.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class NetworkAttribute : Attribute
{
    /// <summary>The loss the network is trained with.</summary>
    public Loss Loss { get; set; } = Loss.SoftmaxCrossEntropy;
}

/// <summary>Declares the shape of one input sample.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class InputAttribute : Attribute
{
    /// <summary>Declares a flat input of <paramref name="size"/> features.</summary>
    public InputAttribute(int size) => Size = size;

    /// <summary>The number of features per sample.</summary>
    public int Size { get; }
}

/// <summary>Base of every layer attribute. Layers are read in source order.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public abstract class LayerAttribute : Attribute
{
    /// <summary>
    /// The layer's name, used as the prefix of its tensors (<c>name.weight</c>). Defaults to the kind and its
    /// ordinal among layers of that kind, e.g. <c>dense2</c>.
    /// </summary>
    public string? Name { get; set; }
}

/// <summary>A fully connected layer: <c>y = activation(x Wᵀ + b)</c>, weight [units, inputs], bias [units].</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DenseAttribute : LayerAttribute
{
    /// <summary>Declares a dense layer with <paramref name="units"/> outputs.</summary>
    public DenseAttribute(int units) => Units = units;

    /// <summary>The number of outputs.</summary>
    public int Units { get; }

    /// <summary>The activation applied to the outputs.</summary>
    public Activation Activation { get; set; } = Activation.Linear;
}
