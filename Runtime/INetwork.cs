using System;
using System.Collections.Generic;
using System.IO;

namespace Backprop;

/// <summary>A named parameter tensor in PyTorch's layout, e.g. <c>dense1.weight</c> with shape [out, in].</summary>
/// <param name="Name">The PyTorch-style name (<c>layer.weight</c>, <c>layer.bias</c>).</param>
/// <param name="Shape">The shape in PyTorch's layout.</param>
/// <param name="Trainable">Whether the optimizer updates it (false for state such as running statistics).</param>
public sealed record TensorInfo(string Name, IReadOnlyList<int> Shape, bool Trainable = true)
{
    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public int Length
    {
        get
        {
            int length = 1;
            foreach (int dimension in Shape)
            {
                length *= dimension;
            }
            return length;
        }
    }
}

/// <summary>
/// What every generated network offers. The generated class also has the sizes as constants
/// (<c>InputSize</c>, <c>OutputSize</c>, <c>ParameterCount</c>).
/// </summary>
public interface INetwork
{
    /// <summary>Features per input sample.</summary>
    int InputSize { get; }

    /// <summary>Values per output sample.</summary>
    int OutputSize { get; }

    /// <summary>The dimensions of one input sample, outermost first (<c>[1, 28, 28]</c>); their product is <see cref="InputSize"/>.</summary>
    IReadOnlyList<int> InputShape { get; }

    /// <summary>The dimensions of one output sample, outermost first; their product is <see cref="OutputSize"/>.</summary>
    IReadOnlyList<int> OutputShape { get; }

    /// <summary>The number of trainable parameters.</summary>
    int ParameterCount { get; }

    /// <summary>The largest batch the buffers were allocated for.</summary>
    int MaxBatch { get; }

    /// <summary>
    /// The training passes run so far; with the constructor's seed, what Dropout draws each pass's masks from.
    /// Checkpoints keep it, so that a resumed run draws the masks an uninterrupted one would.
    /// </summary>
    long TrainingPasses { get; set; }

    /// <summary>The loss the network is trained with.</summary>
    Loss Loss { get; }

    /// <summary>All parameters, one contiguous block in the kernels' layout.</summary>
    Span<float> Parameters { get; }

    /// <summary>The gradients of the last <c>ComputeGradients</c>, in the same layout as <see cref="Parameters"/>.</summary>
    Span<float> Gradients { get; }

    /// <summary>The parameter tensors, in layer order, with PyTorch names and shapes.</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Copies a parameter tensor out, in PyTorch's layout.</summary>
    void CopyTensor(string name, Span<float> destination);

    /// <summary>Sets a parameter tensor from PyTorch's layout.</summary>
    void SetTensor(string name, ReadOnlySpan<float> source);

    /// <summary>Copies the gradient of a parameter tensor out, in PyTorch's layout.</summary>
    void CopyGradient(string name, Span<float> destination);

    /// <summary>
    /// Freezes layers or parameter tensors (transfer learning, as PyTorch's <c>requires_grad_(False)</c>): no gradient, no
    /// update, no weight decay, running statistics kept. A layer's name covers all its tensors; no names, every tensor.
    /// </summary>
    void Freeze(params string[] names);

    /// <summary>Unfreezes layers or parameter tensors; no names, every tensor.</summary>
    void Unfreeze(params string[] names);

    /// <summary>Whether a tensor is frozen, or, for a layer's name, whether all its tensors are.</summary>
    bool IsFrozen(string name);

    /// <summary>The names of the frozen tensors, in <see cref="Tensors"/> order.</summary>
    IReadOnlyList<string> FrozenTensors { get; }

    /// <summary>Runs the forward pass; the batch is <c>inputs.Length / InputSize</c>.</summary>
    void Predict(ReadOnlySpan<float> inputs, Span<float> outputs);

    /// <summary>Forward and backward with class labels (softmax cross-entropy); overwrites the gradients.</summary>
    /// <returns>The batch loss.</returns>
    float ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels);

    /// <summary>Forward and backward with float targets (MSE, BCE); overwrites the gradients.</summary>
    /// <returns>The batch loss.</returns>
    float ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets);

    /// <summary>The loss of a batch with class labels in inference mode (no dropout), touching nothing: for validation data.</summary>
    /// <returns>The batch loss.</returns>
    float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels);

    /// <summary>The loss of a batch with float targets in inference mode (no dropout), touching nothing: for validation data.</summary>
    /// <returns>The batch loss.</returns>
    float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets);

    /// <summary>
    /// The loss of a batch with class labels in inference mode, and its predictions into <paramref name="outputs"/> (as
    /// <see cref="Predict"/> writes them), from one forward pass: an evaluation's loss and metrics at the cost of one prediction.
    /// </summary>
    /// <param name="inputs">batch × <see cref="InputSize"/> values, row-major.</param>
    /// <param name="labels">One class per sample.</param>
    /// <param name="outputs">Receives batch × <see cref="OutputSize"/> values, as <see cref="Predict"/> writes them.</param>
    /// <returns>The batch loss (as the two-argument overload gives it, up to the order of the sum).</returns>
    /// <exception cref="ArgumentException">A length does not fit, the batch exceeds <see cref="MaxBatch"/>, a label is out of range or an input is not finite.</exception>
    /// <exception cref="InvalidOperationException">The network's loss takes float targets.</exception>
    float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Span<float> outputs);

    /// <summary>
    /// The loss of a batch with float targets in inference mode, and its predictions into <paramref name="outputs"/> (as
    /// <see cref="Predict"/> writes them), from one forward pass.
    /// </summary>
    /// <param name="inputs">batch × <see cref="InputSize"/> values, row-major.</param>
    /// <param name="targets">batch × <see cref="OutputSize"/> values.</param>
    /// <param name="outputs">Receives batch × <see cref="OutputSize"/> values, as <see cref="Predict"/> writes them.</param>
    /// <returns>The batch loss (as the two-argument overload gives it, up to the order of the sum).</returns>
    /// <exception cref="ArgumentException">A length does not fit, the batch exceeds <see cref="MaxBatch"/>, or an input or target is not finite.</exception>
    /// <exception cref="InvalidOperationException">The network's loss takes class labels.</exception>
    float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Span<float> outputs);

    /// <summary><c>ComputeGradients</c> with labels, then one optimizer update.</summary>
    /// <returns>The batch loss before the update.</returns>
    float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Optimizer optimizer);

    /// <summary><c>ComputeGradients</c> with targets, then one optimizer update.</summary>
    /// <returns>The batch loss before the update.</returns>
    float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Optimizer optimizer);

    /// <summary>Writes the parameters as a safetensors file, atomically (temporary file, then rename).</summary>
    void Save(string path);

    /// <summary>Writes the parameters as safetensors to a stream.</summary>
    void Save(Stream stream);

    /// <summary>Reads parameters from a safetensors file; on any mismatch throws and leaves the model unchanged.</summary>
    void Load(string path);

    /// <summary>Reads parameters from a safetensors stream; on any mismatch throws and leaves the model unchanged.</summary>
    void Load(Stream stream);

    /// <summary>Writes the network for inference as an ONNX model file (opset 17), atomically (temporary file, then rename).</summary>
    void ExportOnnx(string path);

    /// <summary>Writes the network for inference to a stream as an ONNX model (opset 17).</summary>
    void ExportOnnx(Stream stream);
}
