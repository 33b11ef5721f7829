using System.Collections.Generic;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Layers;

/// <summary>
/// Everything the generator knows about one layer kind: its attribute, its shape rule and its emitters
/// (forward and backward side by side). Adding a layer kind means adding one of these and registering it in
/// <see cref="LayerRegistry"/>; nothing else changes.
/// </summary>
internal abstract class LayerUnit
{
    /// <summary>The attribute's metadata name, e.g. <c>Backprop.DenseAttribute</c>.</summary>
    public abstract string AttributeName { get; }

    /// <summary>The kind as users write it (<c>Dense</c>).</summary>
    public abstract string Kind { get; }

    /// <summary>The default name prefix; layers are named prefix + ordinal among layers of the kind (<c>dense2</c>).</summary>
    public abstract string NamePrefix { get; }

    /// <summary>
    /// The shape rule: checks the attribute's arguments against the incoming shape and returns the layer's plan,
    /// or adds errors and returns null.
    /// </summary>
    public abstract LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors);

    /// <summary>The parameter tensors in PyTorch's names, shapes and order.</summary>
    public abstract IEnumerable<TensorPlan> Tensors(LayerPlan plan);

    /// <summary>Per-sample activation buffers the layer needs (allocated once for <c>maxBatch</c> samples).</summary>
    public abstract IEnumerable<BufferPlan> Buffers(LayerPlan plan);

    /// <summary>Scratch floats the layer's backward pass needs when it computes its input gradient (one buffer shared by all layers, one per data-parallel shard).</summary>
    public virtual int ScratchLength(LayerPlan plan) => 0;

    /// <summary>The buffer holding the layer's output y (the next layer's input).</summary>
    public abstract string OutputBuffer(LayerPlan plan);

    /// <summary>The buffer holding the pre-activation z (the same as the output when the layer has no activation).</summary>
    public abstract string PreActivationBuffer(LayerPlan plan);

    /// <summary>The buffer holding ∂L/∂y on entry to the layer's backward pass.</summary>
    public abstract string DeltaBuffer(LayerPlan plan);

    /// <summary>The private constants: sizes and offsets named after the layer.</summary>
    public abstract void EmitConstants(SourceWriter writer, LayerPlan plan);

    /// <summary>The names of the constants <see cref="EmitConstants"/> declares (a class may not be named like one).</summary>
    public abstract IEnumerable<string> ConstantNames(LayerPlan plan);

    /// <summary>Statements that initialize the layer's parameters from <c>seed</c>.</summary>
    public abstract void EmitInitialization(SourceWriter writer, LayerPlan plan, int stream);

    /// <summary>
    /// The local span through which the forward and backward passes reach an activation buffer field: the pass's
    /// rows of it (samples [<c>first</c>, <c>first + batch</c>); a data-parallel shard runs on some of the rows).
    /// </summary>
    public static string Local(string field) => field.TrimStart('_');

    /// <summary>The member of the generated activation set that holds a buffer field: <c>_dense1Output</c> → <c>Dense1Output</c>.</summary>
    public static string Member(string field)
    {
        string local = Local(field);
        return local.Length == 0 ? local : char.ToUpperInvariant(local[0]) + local.Substring(1);
    }

    /// <summary>
    /// The forward statements, reading <paramref name="input"/>. In scope: <c>parameters</c>, <c>batch</c>,
    /// <c>threads</c>, and a <see cref="Local"/> span for each of the layer's forward buffers.
    /// </summary>
    public abstract void EmitForward(SourceWriter writer, LayerPlan plan, string input);

    /// <summary>
    /// The backward statements: from the delta buffer to the parameter gradients and, unless
    /// <paramref name="inputDelta"/> is null (first layer), ∂L/∂input. When <paramref name="deltaIsPreActivation"/>
    /// the loss already gave ∂L/∂z (fused softmax or sigmoid), so the activation derivative is skipped.
    /// In scope: <c>parameters</c> (the whole block), <c>gradients</c> (the gradient block to overwrite: the network's,
    /// or a data-parallel shard's), <c>scratch</c>, <c>batch</c>, a <see cref="Local"/> span for each buffer, and
    /// <c>optimizer</c>: when not null, a step has begun (<c>BeginPartialStep</c>) and the layer must apply it to each
    /// of its parameters exactly once, after it has finished reading their old values. The pass runs on one thread.
    /// </summary>
    public abstract void EmitBackward(SourceWriter writer, LayerPlan plan, string input, string? inputDelta, bool deltaIsPreActivation);

    /// <summary>The statements of one case of <c>CopyTensor</c> (out of the kernels' layout into PyTorch's).</summary>
    public abstract void EmitCopyOut(SourceWriter writer, LayerPlan plan, TensorPlan tensor, string block, string destination);

    /// <summary>The statements of one case of <c>SetTensor</c> (from PyTorch's layout into the kernels').</summary>
    public abstract void EmitCopyIn(SourceWriter writer, LayerPlan plan, TensorPlan tensor, string source, string block);

    /// <summary>The layer's entry in the architecture description (a JSON object, written into model files).</summary>
    public abstract void WriteArchitecture(JsonText json, LayerPlan plan);

    /// <summary>A one-line summary for comments and docs, e.g. <c>Dense 784 → 256, Relu</c>.</summary>
    public abstract string Describe(LayerPlan plan);
}

/// <summary>What flows into a layer during shape inference.</summary>
/// <param name="Size">Values per sample.</param>
/// <param name="From">The name of the layer (or <c>input</c>) it comes from, for messages.</param>
/// <param name="ParameterOffset">The next free offset in the parameter block.</param>
/// <param name="IsLast">Whether this is the network's last layer.</param>
/// <param name="AttributeOrdinal">The attribute's ordinal, for error locations.</param>
internal sealed record LayerInput(int Size, string From, int ParameterOffset, bool IsLast, int AttributeOrdinal);

/// <summary>A parameter tensor: PyTorch name and shape, and where it lives in the parameter block.</summary>
internal sealed record TensorPlan(string Name, EquatableArray<int> Shape, int Offset, int Length);

/// <summary>An activation buffer: a field of <c>maxBatch × PerSample</c> floats.</summary>
internal sealed record BufferPlan(string Field, int PerSample, string Comment);
