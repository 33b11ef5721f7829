using Backprop;

namespace Backprop.Tests;

// Networks compiled by the generator as part of this project. Together they cover every activation, every
// loss (fused and unfused), depths 1 to 4, sizes of 1 and sizes that are not multiples of the vector width.

/// <summary>Softmax cross-entropy fused with a Softmax last layer.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(7)]
[Dense(13, Activation = Activation.Relu)]
[Dense(5, Activation = Activation.Softmax)]
public partial class SoftmaxNet;

/// <summary>Four layers, linear logits, LeakyRelu/Gelu/Tanh hidden layers, a named layer.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(20)]
[Dense(33, Activation = Activation.LeakyRelu)]
[Dense(17, Activation = Activation.Gelu, Name = "hidden")]
[Dense(9, Activation = Activation.Tanh)]
[Dense(4)]
public partial class DeepNet;

/// <summary>Binary cross-entropy fused with a Sigmoid last layer (multi-label).</summary>
[Network(Loss = Loss.BinaryCrossEntropy)]
[Input(5)]
[Dense(16, Activation = Activation.Tanh)]
[Dense(3, Activation = Activation.Sigmoid)]
public partial class MultiLabelNet;

/// <summary>Regression: mean squared error on a linear output.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(3)]
[Dense(24, Activation = Activation.Gelu)]
[Dense(2)]
public partial class RegressionNet;

/// <summary>Mean squared error through a Softmax (the softmax Jacobian in the backward pass).</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(11)]
[Dense(6, Activation = Activation.Sigmoid)]
[Dense(3, Activation = Activation.Softmax)]
public partial class SoftmaxMseNet;

/// <summary>Binary cross-entropy on a linear output (logits), one output unit.</summary>
[Network(Loss = Loss.BinaryCrossEntropy)]
[Input(4)]
[Dense(8, Activation = Activation.Relu)]
[Dense(1)]
public partial class LogitNet;

/// <summary>Cross-entropy with Relu outputs used as logits (on purpose: the unfused path); widths past one 512-bit vector.</summary>
#pragma warning disable BPG0015 // the pairing BPG0015 warns about is what this network tests
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(64)]
[Dense(100, Activation = Activation.Relu)]
[Dense(10, Activation = Activation.Relu)]
public partial class WideNet;
#pragma warning restore BPG0015

/// <summary>Sizes of 1 everywhere.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(1)]
[Dense(1, Activation = Activation.Tanh)]
[Dense(1)]
public partial class TinyNet;

/// <summary>XOR: the smallest problem a linear model cannot solve.</summary>
[Network(Loss = Loss.BinaryCrossEntropy)]
[Input(2)]
[Dense(8, Activation = Activation.Tanh)]
[Dense(1, Activation = Activation.Sigmoid)]
public partial class XorNet;

/// <summary>Two spirals, as in the Quickstart sample.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(2)]
[Dense(32, Activation = Activation.Tanh)]
[Dense(32, Activation = Activation.Tanh)]
[Dense(2, Activation = Activation.Softmax)]
public partial class SpiralNet;

/// <summary>The Fashion-MNIST MLP of the README.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation = Activation.Relu)]
[Dense(128, Activation = Activation.Relu)]
[Dense(10)]
public partial class FashionMlp;

/// <summary>Nested in a partial class, to check the generated code compiles there.</summary>
public partial class Outer
{
    [Network(Loss = Loss.MeanSquaredError)]
    [Input(2)]
    [Dense(3)]
    internal partial class Inner;
}

/// <summary>
/// A small CNN: three input channels, H ≠ W, padding 1 then a stride-2 convolution with padding 2, max pooling that
/// drops a row (floor mode), Flatten, and a fused softmax head.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(3, 7, 6)]
[Conv2D(5, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(4, 2, stride: 2, padding: 2, Activation = Activation.Tanh)]
[Flatten]
[Dense(3, Activation = Activation.Softmax)]
public partial class SmallCnn;

/// <summary>SmallCnn with a head of five classes: its convolutions match SmallCnn's by name and shape (transfer learning).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(3, 7, 6)]
[Conv2D(5, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(4, 2, stride: 2, padding: 2, Activation = Activation.Tanh)]
[Flatten]
[Dense(5, Activation = Activation.Softmax)]
public partial class SmallCnnFiveClasses;

/// <summary>
/// A 1×1 convolution (the input is its own column matrix), overlapping average pooling (stride 1 ≠ window 2), a
/// convolution without bias, global average pooling and a dense head, trained with mean squared error.
/// </summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(2, 6, 5)]
[Conv2D(3, 1)]
[AvgPool2D(2, Stride = 1)]
[Conv2D(17, 3, Bias = false, Activation = Activation.Sigmoid)]
[GlobalAvgPool2D]
[Dense(2)]
public partial class PointwiseCnn;

/// <summary>
/// Pooling as the first layer (a window of 3 with stride 2), a GELU convolution whose input gradient is not needed
/// beyond it, and Flatten feeding a sigmoid head trained with binary cross-entropy.
/// </summary>
[Network(Loss = Loss.BinaryCrossEntropy)]
[Input(1, 9, 8)]
[MaxPool2D(3, Stride = 2)]
[Conv2D(6, 2, Activation = Activation.Gelu)]
[Flatten]
[Dense(2, Activation = Activation.Sigmoid)]
public partial class PoolFirstCnn;

/// <summary>Flatten as the first layer: its output is the network's input itself, and it has no input gradient.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(2, 3, 3)]
[Flatten]
[Dense(4, Activation = Activation.LeakyRelu)]
[Dense(3)]
public partial class FlattenFirstNet;

/// <summary>The CNN of the FashionMnist sample (<c>--model cnn</c>).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dense(10)]
public partial class FashionCnn;

/// <summary>FashionCnn for five classes: the source of the transfer-learning test.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dense(5)]
public partial class TransferSource;

/// <summary>TransferSource's convolutions under a head whose layers have other names (nothing of the source's head matches).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu, Name = "hidden")]
[Dense(5, Name = "head")]
public partial class TransferTarget;

/// <summary>Dropout at rate 0 between dense layers (the identity in both modes, so it has PyTorch parity).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(6)]
[Dense(9, Activation = Activation.Relu)]
[Dropout(0f)]
[Dense(3, Activation = Activation.Softmax)]
public partial class DropoutNet;

/// <summary><see cref="DropoutNet"/> without its dropout layer: the same layer names, so the same initial weights for a seed.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(6)]
[Dense(9, Activation = Activation.Relu)]
[Dense(3, Activation = Activation.Softmax)]
public partial class DropoutTwinNet;

/// <summary>Dropout at rate 0 on a convolution's feature maps, before pooling.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(2, 6, 6)]
[Conv2D(3, 3, Activation = Activation.Relu)]
[Dropout(0f)]
[MaxPool2D(2)]
[Flatten]
[Dense(2)]
public partial class DropoutCnn;

/// <summary>Real dropout (half the values) in a network wide enough to measure it.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(20)]
[Dense(64, Activation = Activation.Tanh)]
[Dropout(0.5f)]
[Dense(4)]
public partial class HalfDropoutNet;

/// <summary>BatchNorm and real dropout in a classifier: the running statistics, counters and masks a resumed run must reproduce.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(8)]
[Dense(32, Activation = Activation.Relu)]
[BatchNorm]
[Dropout(0.3f)]
[Dense(3)]
public partial class ResumableNet;

/// <summary>
/// Batch normalization on both shapes: BatchNorm2d with Relu after a padded convolution, BatchNorm2d with its own
/// momentum and ε and a Tanh (12 values per channel per sample), and BatchNorm1d with a GELU after a Tanh dense layer
/// (flat features: training batches need two samples). The convolutions have no bias, as usual before a BatchNorm: its
/// mean would cancel the bias, whose gradient is zero but for rounding (which Adam would amplify into steps). For the
/// same reason the second convolution is padded: unpadded, every input position meets every kernel weight equally, so the
/// per-channel sums that BatchNorm's backward pass zeroes stay zero through it, and bn1's β would get no gradient. And the
/// dense layer before bn3 is a Tanh, not a Relu: a unit whose pre-activations are positive for every sample of a batch is
/// affine there, bn3 cancels its bias, and that bias's gradient is rounding. The 256-bit path's rounding gave it the other
/// sign from float64 PyTorch's, and four Adam steps ended 7% apart.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(3, 6, 5)]
[Conv2D(4, 3, padding: 1, Bias = false)]
[BatchNorm(Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(5, 2, padding: 1, Bias = false)]
[BatchNorm(Momentum = 0.3f, Epsilon = 1e-3f, Activation = Activation.Tanh)]
[Flatten]
[Dense(7, Activation = Activation.Tanh)]
[BatchNorm(Activation = Activation.Gelu)]
[Dense(3)]
public partial class BatchNormCnn;

/// <summary>
/// BatchNorm2d as the first layer (no input gradient) over 17 channels (not a multiple of the vector width), then a
/// convolution and a second BatchNorm2d with LeakyRelu whose planes (2 × 3) are not a multiple of the vector width either.
/// </summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(17, 4, 5)]
[BatchNorm]
[Conv2D(2, 3, Activation = Activation.Sigmoid)]
[BatchNorm(Activation = Activation.LeakyRelu, Name = "norm")]
[GlobalAvgPool2D]
[Dense(2)]
public partial class BatchNormFirstCnn;

/// <summary>BatchNorm1d between dense layers (after a Tanh, so the dense bias still matters), fused into a sigmoid head trained with binary cross-entropy.</summary>
[Network(Loss = Loss.BinaryCrossEntropy)]
[Input(6)]
[Dense(9, Activation = Activation.Tanh)]
[BatchNorm(Activation = Activation.Relu)]
[Dense(2, Activation = Activation.Sigmoid)]
public partial class BatchNormMlp;

/// <summary>The BatchNorm CNN of the FashionMnist sample (<c>--model cnn-bn</c>), the declaration of the CNN issue.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1)]
[BatchNorm(Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class FashionCnnBn;

/// <summary>A tanh RNN over 5 steps of 3 features, its last hidden state into a softmax head.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(5, 3)]
[SimpleRnn(4)]
[Dense(3, Activation = Activation.Softmax)]
public partial class RnnNet;

/// <summary>Two stacked LSTMs (the first returns every step) into a sigmoid head trained with binary cross-entropy.</summary>
[Network(Loss = Loss.BinaryCrossEntropy)]
[Input(4, 3)]
[Lstm(5, ReturnSequences = true)]
[Lstm(3)]
[Dense(2, Activation = Activation.Sigmoid)]
public partial class StackedLstm;

/// <summary>A GRU returning every step, flattened into a dense regression head.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(6, 2)]
[Gru(5, ReturnSequences = true)]
[Dense(3)]
public partial class GruSequence;

/// <summary>A GRU over one step, after an RNN over one step: the recurrences degenerate to feed-forward cells.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 4)]
[SimpleRnn(3, ReturnSequences = true)]
[Gru(3)]
[Dense(2, Activation = Activation.Softmax)]
public partial class OneStepRecurrent;

/// <summary>Token ids through an embedding (6 ids from a vocabulary of 5, so ids repeat) into an LSTM and a softmax head.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(6)]
[Embedding(5, 3)]
[Lstm(4)]
[Dense(2, Activation = Activation.Softmax)]
public partial class EmbeddingLstm;

/// <summary>An embedding, a GRU returning every step and an LSTM returning every step as the last layer (sequence regression).</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(5)]
[Embedding(7, 2)]
[Gru(3, ReturnSequences = true)]
[Lstm(2, ReturnSequences = true)]
public partial class SequenceToSequence;

/// <summary>A dense layer per step in front of a GRU and one after an LSTM that returns every step (sequence regression).</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(5, 3)]
[Dense(4, PerStep = true, Activation = Activation.Relu)]
[Lstm(5, ReturnSequences = true)]
[Dense(2, PerStep = true, Activation = Activation.Tanh)]
public partial class PerStepDense;

/// <summary>The GRU of the FashionMnist sample (<c>--model gru</c>) and of the recurrent issue: 28 steps of 28 pixels.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(28, 28)]
[Gru(128)]
[Dense(10)]
public partial class FashionGru;

/// <summary>A normalization (state statistics) first, then a dense layer, a normalization between layers and a softmax head.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(5)]
[Normalization]
[Dense(6, Activation = Activation.Tanh)]
[Normalization(Name = "middle")]
[Dense(3, Activation = Activation.Softmax)]
public partial class NormalizedNet;

/// <summary>A GRU of 90 units: 270 gate columns, so its recurrent weight spans two column panels (256 + 14).</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(3, 4)]
[Gru(90)]
[Dense(3, Activation = Activation.Softmax)]
public partial class WideGru;

/// <summary>Normalization of [steps, features] samples (statistics per value of the flat sample) before a GRU: ONNX export reshapes them.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(4, 3)]
[Normalization]
[Gru(3)]
[Dense(2)]
public partial class NormalizedSequence;

/// <summary>Normalization after a per-step dense layer, on [steps, units] samples: ONNX export reshapes its statistics to the layer's own shape.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(4, 3)]
[Dense(5, PerStep = true, Activation = Activation.Tanh)]
[Normalization]
[Gru(3)]
[Dense(2)]
public partial class LateNormalization;


/// <summary>
/// A Sigmoid layer after a Relu one: when the Relu outputs overflow to +∞ the Sigmoid saturates at 1, so the loss stays
/// finite while the Sigmoid layer's weight gradient is ∞ · 0 = NaN (NumericGuardTests). Dense layers only: its training
/// steps bound their gradients and update inside the backward pass.
/// </summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(3)]
[Dense(5, Activation = Activation.Relu)]
[Dense(4, Activation = Activation.Sigmoid)]
[Dense(2)]
public partial class SaturatingNet;

/// <summary>
/// The same saturation behind a convolution, whose gradients are checked as they are written (GradientBound.Exact);
/// also, with tiny convolution weights and one huge input pixel, a convolution gradient that overflows while every
/// activation stays finite.
/// </summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(1, 4, 4)]
[Conv2D(2, 3, Activation = Activation.Relu)]
[Flatten]
[Dense(4, Activation = Activation.Sigmoid)]
[Dense(2)]
public partial class SaturatingCnn;
