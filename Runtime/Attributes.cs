using System;
using System.Collections.Generic;

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

    /// <summary>
    /// A safetensors file of trained weights to ship inside the assembly (a model file written by <c>Save</c>, or a PyTorch
    /// <c>state_dict</c> with the layers' tensor names), relative to the project directory: every constructor starts
    /// from them instead of random values, with no file I/O at run time (it works under NativeAOT and trimming). The
    /// project lists the file as <c>&lt;BackpropWeights Include="..." /&gt;</c>; the build checks it against the declared
    /// architecture (names and shapes) and reports BPG0018 where they differ.
    /// </summary>
    public string? Weights { get; set; }
}

/// <summary>
/// Declares the shape of one input sample: <c>[Input(784)]</c> for a flat vector of features, <c>[Input(1, 28, 28)]</c>
/// for an image as channels, height and width (batches are NCHW, as in PyTorch), <c>[Input(28, 28)]</c> for a sequence
/// of 28 steps of 28 features.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class InputAttribute : Attribute
{
    /// <summary>Declares an input sample of the given dimensions, outermost first.</summary>
    /// <param name="shape">The dimensions, e.g. <c>784</c> or <c>1, 28, 28</c>.</param>
    public InputAttribute(params int[] shape) => Shape = shape ?? [];

    /// <summary>The dimensions of one sample, outermost first.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The number of values per sample (the product of the dimensions).</summary>
    public int Size
    {
        get
        {
            int size = 1;
            foreach (int dimension in Shape)
            {
                size *= dimension;
            }
            return size;
        }
    }
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

/// <summary>
/// A fully connected layer: <c>y = activation(x Wᵀ + b)</c>, weight [units, inputs], bias [units]. On a sample of several
/// dimensions it reads the flat vector (as <c>nn.Flatten</c> then <c>nn.Linear</c>), unless <see cref="PerStep"/> is set.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DenseAttribute : LayerAttribute
{
    /// <summary>Declares a dense layer with <paramref name="units"/> outputs.</summary>
    public DenseAttribute(int units) => Units = units;

    /// <summary>The number of outputs.</summary>
    public int Units { get; }

    /// <summary>The activation applied to the outputs.</summary>
    public Activation Activation { get; set; } = Activation.Linear;

    /// <summary>
    /// On a [steps, features] sample (a recurrent layer's output with <c>ReturnSequences</c>), apply the same weights to
    /// each step: output [steps, units], weight [units, features], as PyTorch's <c>nn.Linear</c> on the last axis and
    /// Keras's <c>TimeDistributed(Dense)</c>. False (the default): read the sample as one flat vector.
    /// </summary>
    public bool PerStep { get; set; }
}

/// <summary>
/// A 2-D convolution over a [channels, height, width] input, as PyTorch's <c>nn.Conv2d</c>: weight
/// [filters, channels, kernel, kernel], bias [filters]; output [filters, (height + 2 padding - kernel) / stride + 1,
/// (width + 2 padding - kernel) / stride + 1], then the activation.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv2DAttribute : LayerAttribute
{
    /// <summary>Declares a convolution with <paramref name="filters"/> output channels and a square kernel.</summary>
    /// <param name="filters">The output channels.</param>
    /// <param name="kernel">The kernel's height and width.</param>
    /// <param name="stride">The step between windows, in both directions.</param>
    /// <param name="padding">Zeros added on every side of the input.</param>
    public Conv2DAttribute(int filters, int kernel, int stride = 1, int padding = 0)
    {
        Filters = filters;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
    }

    /// <summary>The output channels.</summary>
    public int Filters { get; }

    /// <summary>The kernel's height and width.</summary>
    public int Kernel { get; }

    /// <summary>The step between windows.</summary>
    public int Stride { get; }

    /// <summary>Zeros added on every side of the input.</summary>
    public int Padding { get; }

    /// <summary>The activation applied to the outputs.</summary>
    public Activation Activation { get; set; } = Activation.Linear;

    /// <summary>Whether the layer has a bias (PyTorch's <c>bias=True</c>).</summary>
    public bool Bias { get; set; } = true;
}

/// <summary>
/// Max pooling over windows of <c>size × size</c> of each channel of a [channels, height, width] input, as PyTorch's
/// <c>nn.MaxPool2d</c> (no padding, floor mode): the gradient goes to the first maximum of each window.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class MaxPool2DAttribute : LayerAttribute
{
    /// <summary>Declares max pooling over <paramref name="size"/> × <paramref name="size"/> windows.</summary>
    public MaxPool2DAttribute(int size) => Size = size;

    /// <summary>The window's height and width.</summary>
    public int Size { get; }

    /// <summary>The step between windows; 0 (the default) means <see cref="Size"/>.</summary>
    public int Stride { get; set; }
}

/// <summary>
/// Average pooling over windows of <c>size × size</c> of each channel of a [channels, height, width] input, as
/// PyTorch's <c>nn.AvgPool2d</c> (no padding, floor mode).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AvgPool2DAttribute : LayerAttribute
{
    /// <summary>Declares average pooling over <paramref name="size"/> × <paramref name="size"/> windows.</summary>
    public AvgPool2DAttribute(int size) => Size = size;

    /// <summary>The window's height and width.</summary>
    public int Size { get; }

    /// <summary>The step between windows; 0 (the default) means <see cref="Size"/>.</summary>
    public int Stride { get; set; }
}

/// <summary>The mean of each channel of a [channels, height, width] input: output [channels] (<c>nn.AdaptiveAvgPool2d(1)</c>, flattened).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalAvgPool2DAttribute : LayerAttribute
{
}

/// <summary>Flattens a sample to one dimension (<c>nn.Flatten</c>): free, the next layer reads the same memory.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class FlattenAttribute : LayerAttribute
{
}

/// <summary>
/// Inverted dropout, as PyTorch's <c>nn.Dropout</c>: in training mode (<c>ComputeGradients</c>, <c>TrainStep</c>)
/// each value is zeroed with probability <see cref="Rate"/> and the others are scaled by <c>1 / (1 - rate)</c>; in
/// inference mode (<c>Predict</c>, <c>ComputeLoss</c>) the layer passes its input through.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DropoutAttribute : LayerAttribute
{
    /// <summary>Declares dropout with the probability <paramref name="rate"/> of zeroing a value, in [0, 1).</summary>
    public DropoutAttribute(float rate) => Rate = rate;

    /// <summary>The probability of zeroing a value.</summary>
    public float Rate { get; }
}

/// <summary>
/// Batch normalization, as PyTorch's <c>nn.BatchNorm2d</c> after a [channels, height, width] shape and
/// <c>nn.BatchNorm1d</c> after a flat [features] one: <c>y = f(γ (x - μ) / √(σ² + ε) + β)</c> per channel (per feature).
/// In training mode (<c>ComputeGradients</c>, <c>TrainStep</c>) μ and σ² are the batch's (over the samples and, for
/// images, every position), and the running statistics move toward them:
/// <c>running = (1 - Momentum) running + Momentum batch</c>, with the unbiased variance. In inference mode
/// (<c>Predict</c>, <c>ComputeLoss</c>) the running statistics are used. Tensors <c>weight</c> (γ, starting at 1) and
/// <c>bias</c> (β, starting at 0) are trained; <c>running_mean</c>, <c>running_var</c> and <c>num_batches_tracked</c>
/// are state, saved and loaded with the model but not trained.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class BatchNormAttribute : LayerAttribute
{
    /// <summary>How far the running statistics move toward each training batch's (PyTorch's <c>momentum</c>), in [0, 1].</summary>
    public float Momentum { get; set; } = 0.1f;

    /// <summary>Added to the variance before its square root (PyTorch's <c>eps</c>); must be positive.</summary>
    public float Epsilon { get; set; } = 1e-5f;

    /// <summary>The activation applied to the normalized outputs.</summary>
    public Activation Activation { get; set; } = Activation.Linear;
}

/// <summary>
/// The base of the recurrent layers (<see cref="SimpleRnnAttribute"/>, <see cref="LstmAttribute"/>,
/// <see cref="GruAttribute"/>): a [steps, features] input read one step at a time, as PyTorch's <c>nn.RNN</c>,
/// <c>nn.LSTM</c> and <c>nn.GRU</c> with <c>batch_first=True</c>, one layer, the initial state zero. Tensors
/// <c>weight_ih_l0</c> [gates × units, features], <c>weight_hh_l0</c> [gates × units, units], <c>bias_ih_l0</c> and
/// <c>bias_hh_l0</c> [gates × units], in PyTorch's gate order, so weights move both ways unchanged.
/// </summary>
public abstract class RecurrentAttribute : LayerAttribute
{
    /// <summary>Declares a recurrent layer with <paramref name="units"/> hidden units.</summary>
    protected RecurrentAttribute(int units) => Units = units;

    /// <summary>The size of the hidden state.</summary>
    public int Units { get; }

    /// <summary>
    /// False (the default): the output is the last step's hidden state, [units]. True: the hidden state of every step,
    /// [steps, units], so another recurrent layer can follow.
    /// </summary>
    public bool ReturnSequences { get; set; }
}

/// <summary>
/// The Elman recurrent layer, as PyTorch's <c>nn.RNN</c> (tanh): <c>h_t = tanh(x_t W_ihᵀ + b_ih + h_(t-1) W_hhᵀ + b_hh)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class SimpleRnnAttribute : RecurrentAttribute
{
    /// <summary>Declares a tanh recurrent layer with <paramref name="units"/> hidden units.</summary>
    public SimpleRnnAttribute(int units)
        : base(units)
    {
    }
}

/// <summary>
/// Long short-term memory, as PyTorch's <c>nn.LSTM</c>: gates input, forget, cell and output (that order, 4 × units rows
/// in each tensor); <c>c_t = f ⊙ c_(t-1) + i ⊙ g</c>, <c>h_t = o ⊙ tanh(c_t)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LstmAttribute : RecurrentAttribute
{
    /// <summary>Declares an LSTM layer with <paramref name="units"/> hidden units.</summary>
    public LstmAttribute(int units)
        : base(units)
    {
    }
}

/// <summary>
/// The gated recurrent unit, as PyTorch's <c>nn.GRU</c>: gates reset, update and new (that order, 3 × units rows in
/// each tensor); <c>n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_(t-1) + b_hn))</c>, <c>h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_(t-1)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GruAttribute : RecurrentAttribute
{
    /// <summary>Declares a GRU layer with <paramref name="units"/> hidden units.</summary>
    public GruAttribute(int units)
        : base(units)
    {
    }
}

/// <summary>
/// A lookup table of token vectors, as PyTorch's <c>nn.Embedding</c>: the first layer, on an <c>[Input(steps)]</c> of
/// token ids (floats that hold integers in [0, vocabulary)); output [steps, dimensions]; weight [vocabulary, dimensions].
/// A non-integer or out-of-range id is an <see cref="ArgumentException"/> naming the sample and step.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class EmbeddingAttribute : LayerAttribute
{
    /// <summary>Declares an embedding of <paramref name="vocabulary"/> tokens into <paramref name="dimensions"/> values each.</summary>
    public EmbeddingAttribute(int vocabulary, int dimensions)
    {
        Vocabulary = vocabulary;
        Dimensions = dimensions;
    }

    /// <summary>The number of distinct token ids.</summary>
    public int Vocabulary { get; }

    /// <summary>The length of each token's vector.</summary>
    public int Dimensions { get; }
}

/// <summary>
/// Standardizes each input feature with statistics fitted from data and saved with the model, as Keras's
/// <c>Normalization</c> layer after <c>adapt</c>: <c>y = (x − mean) / √variance</c> per feature (a variance of 0 divides
/// by 1), in both modes. Tensors <c>mean</c> and <c>variance</c> (one value per feature of the flat input) are state:
/// saved, loaded and set with <c>SetTensor</c> (for example by <see cref="Standardization.WriteTo"/> after fitting on
/// the training rows), never trained. They start at 0 and 1, the identity.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class NormalizationAttribute : LayerAttribute
{
}
