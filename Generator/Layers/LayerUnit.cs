using System.Collections.Generic;
using System.Linq;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Layers;

/// <summary>
/// Everything the generator knows about one layer kind: its attribute, its shape rule, the data of its plan (tensors,
/// buffers by role, scratch) and its emitters (forward and backward side by side). The emitter wires buffers from
/// that data only, never from a kind or a field name. Adding a layer kind means adding one of these (derived from
/// <see cref="LayerUnit{TPlan}"/>), its attribute in the runtime, its kernels, and a line in <see cref="LayerRegistry"/>.
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

    /// <summary>The tensors in PyTorch's names, shapes and order (its <c>state_dict</c> entries), each placed in the parameter block.</summary>
    public abstract IEnumerable<TensorPlan> Tensors(LayerPlan plan);

    /// <summary>The per-sample buffers the layer needs, by role (allocated once for <c>maxBatch</c> samples, or aliasing the input's).</summary>
    public abstract IEnumerable<BufferPlan> Buffers(LayerPlan plan);

    /// <summary>
    /// Scratch floats the layer's backward pass needs (one buffer shared by all layers, one per data-parallel shard);
    /// <paramref name="inputGradient"/> tells whether it computes ∂L/∂input (not for the first layer).
    /// </summary>
    public abstract int ScratchLength(LayerPlan plan, bool inputGradient);

    /// <summary>The private constants: sizes and offsets named after the layer.</summary>
    public abstract void EmitConstants(SourceWriter writer, LayerPlan plan);

    /// <summary>The names of the constants <see cref="EmitConstants"/> declares (a class may not be named like one).</summary>
    public abstract IEnumerable<string> ConstantNames(LayerPlan plan);

    /// <summary>Statements that initialize the layer's tensors from <c>seed</c> and the layer's own <paramref name="stream"/>.</summary>
    public abstract void EmitInitialization(SourceWriter writer, LayerPlan plan, int stream);

    /// <summary>
    /// The forward statements, from <see cref="LayerBuffers.Input"/> into the layer's buffers. In scope:
    /// <c>parameters</c>, <c>batch</c>, <c>threads</c>, and the local spans <paramref name="buffers"/> names.
    /// </summary>
    public abstract void EmitForward(SourceWriter writer, LayerPlan plan, LayerBuffers buffers);

    /// <summary>
    /// Whether this layer's inference forward pass also does <paramref name="next"/>'s, in one pass over the data (a
    /// convolution and the 2×2 max pooling after it): then the emitter writes <see cref="EmitFusedForward"/> for inference
    /// and both layers' own <see cref="EmitForward"/> for training, where the backward pass needs every buffer.
    /// </summary>
    public virtual bool FusesForward(LayerPlan plan, LayerPlan next) => false;

    /// <summary>
    /// The inference statements of this layer and <paramref name="next"/> together (<see cref="FusesForward"/>): from
    /// <paramref name="buffers"/>' input into <paramref name="nextBuffers"/>' output, equal to the two layers' own statements.
    /// </summary>
    public virtual void EmitFusedForward(SourceWriter writer, LayerPlan plan, LayerBuffers buffers, LayerPlan next, LayerBuffers nextBuffers)
        => throw new System.InvalidOperationException(Kind + " fuses no forward pass.");

    /// <summary>
    /// The whole backward statements, which the default <see cref="EmitInputGradient"/> runs: from the delta buffer to
    /// the parameter gradients and, unless <see cref="LayerBuffers.InputDelta"/> is null (first layer), ∂L/∂input; no
    /// update. When <paramref name="deltaIsPreActivation"/> the loss already gave ∂L/∂z (fused softmax or sigmoid), so
    /// the activation derivative is skipped. In scope: <c>parameters</c> (the whole block, read-only), <c>state</c>
    /// (read-only, when the network has state), <c>gradients</c> (the gradient block to overwrite: the network's, or a
    /// data-parallel shard's), <c>scratch</c>, <c>batch</c> and the local spans <paramref name="buffers"/> names. The
    /// pass runs on one thread. A unit that overrides both halves need not implement it.
    /// </summary>
    public abstract void EmitBackward(SourceWriter writer, LayerPlan plan, LayerBuffers buffers, bool deltaIsPreActivation);

    /// <summary>
    /// The first half of the backward pass (a network runs every layer's first half, last layer first, before any
    /// layer's second): ∂L/∂input into the previous layer's delta, from the parameters as they are, leaving in this
    /// layer's buffers what <see cref="EmitParameterGradients"/> reads, and <c>bound = global::System.Math.Max(bound, …)</c>
    /// covering every parameter gradient of the layer (<c>Backprop.Kernels.GradientBound</c>): a bound that proves them
    /// finite lets the training step update each layer inside the second half. The default runs
    /// <see cref="EmitBackward"/> whole and checks the gradients it wrote (<c>GradientBound.Exact</c>, a read of the
    /// layer's own gradients, right after they are written): right for layers with few parameters. A layer with many
    /// bounds them from its input and δ instead and computes them in the second half (Dense, Embedding). In scope: as for
    /// <see cref="EmitBackward"/>, plus the local <c>double bound</c>.
    /// </summary>
    public abstract void EmitInputGradient(SourceWriter writer, LayerPlan plan, LayerBuffers buffers, bool deltaIsPreActivation);

    /// <summary>
    /// The second half of the backward pass: whatever parameter gradients the first half left to compute, into
    /// <c>gradients</c> and, when <c>optimizer</c> is not null (a step begun by <c>BeginPartialStep</c>), the update of each
    /// trainable tensor, exactly once. The default updates the tensors whose gradients the first half computed. In
    /// scope: as for <see cref="EmitBackward"/>, with <c>parameters</c> writable, plus <c>optimizer</c>.
    /// </summary>
    public abstract void EmitParameterGradients(SourceWriter writer, LayerPlan plan, LayerBuffers buffers);

    /// <summary>The statements of one case of <c>CopyTensor</c> (out of the kernels' layout into PyTorch's).</summary>
    public abstract void EmitCopyOut(SourceWriter writer, LayerPlan plan, TensorPlan tensor, string block, string destination);

    /// <summary>The statements of one case of <c>SetTensor</c> (from PyTorch's layout into the kernels').</summary>
    public abstract void EmitCopyIn(SourceWriter writer, LayerPlan plan, TensorPlan tensor, string source, string block);

    /// <summary>The layer's entry in the architecture description (a JSON object, written into model files).</summary>
    public abstract void WriteArchitecture(JsonText json, LayerPlan plan);

    /// <summary>
    /// The layer's part of the ONNX export: statements that add its inference-mode nodes to the graph <c>onnx</c>
    /// (a <c>Backprop.OnnxGraph</c>) and set <c>x</c>, the name of the tensor flowing through the graph, to the layer's
    /// output (through <c>Backprop.OnnxLayers</c>). A layer with nothing to do in inference (Dropout) writes a comment.
    /// </summary>
    public abstract void EmitOnnx(SourceWriter writer, LayerPlan plan);

    /// <summary>A one-line summary for comments and docs, e.g. <c>Dense 784 → 256, Relu</c>.</summary>
    public abstract string Describe(LayerPlan plan);

    /// <summary>
    /// The names of the layer's counters of training-mode passes (PyTorch's <c>num_batches_tracked</c>), saved and loaded as
    /// I64 scalars; the network adds one to each at every training pass.
    /// </summary>
    public virtual IEnumerable<string> Counters(LayerPlan plan) => [];

    /// <summary>
    /// The smallest batch a training call may have (batch normalization of flat features needs two samples per channel
    /// to have a variance); the network refuses smaller training batches before anything changes.
    /// </summary>
    public virtual int MinimumTrainingBatch(LayerPlan plan) => 1;

    /// <summary>
    /// Whether the layer changes state once a training pass has succeeded (its loss finite, its optimizer step taken):
    /// BatchNorm's running statistics move only then, so a refused step leaves them as they were.
    /// </summary>
    public virtual bool Commits(LayerPlan plan) => false;

    /// <summary>
    /// The statements of <see cref="Commits"/>. In scope: <c>state</c> (the state block) and the layer's per-pass
    /// <c>Saved</c> buffers as <paramref name="buffers"/> names them.
    /// </summary>
    public virtual void EmitCommit(SourceWriter writer, LayerPlan plan, LayerBuffers buffers)
    {
    }

    /// <summary>
    /// Statements that check the values of the network's inputs before any pass begins (an embedding checks that its
    /// token ids are integers in range), so a bad batch is refused with nothing changed. Emitted for the first layer
    /// only, by Predict, the training calls and ComputeLoss; in scope: <c>inputs</c> and <c>batch</c>.
    /// </summary>
    public virtual void EmitInputChecks(SourceWriter writer, LayerPlan plan)
    {
    }

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
}

/// <summary>
/// A layer unit typed by its plan: the emitter hands every unit the plan it made, so the one cast is here and each
/// kind's code reads its own plan's members.
/// </summary>
internal abstract class LayerUnit<TPlan> : LayerUnit where TPlan : LayerPlan
{
    public abstract IEnumerable<TensorPlan> Tensors(TPlan plan);

    public abstract IEnumerable<BufferPlan> Buffers(TPlan plan);

    public abstract int ScratchLength(TPlan plan, bool inputGradient);

    public abstract void EmitConstants(SourceWriter writer, TPlan plan);

    public abstract IEnumerable<string> ConstantNames(TPlan plan);

    public abstract void EmitInitialization(SourceWriter writer, TPlan plan, int stream);

    public abstract void EmitForward(SourceWriter writer, TPlan plan, LayerBuffers buffers);

    public virtual bool FusesForward(TPlan plan, LayerPlan next) => false;

    public virtual void EmitFusedForward(SourceWriter writer, TPlan plan, LayerBuffers buffers, LayerPlan next, LayerBuffers nextBuffers)
        => throw new System.InvalidOperationException(Kind + " fuses no forward pass.");

    public virtual void EmitBackward(SourceWriter writer, TPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
        => throw new System.InvalidOperationException(Kind + " emits its backward pass in two halves only.");

    public virtual void EmitInputGradient(SourceWriter writer, TPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        EmitBackward(writer, plan, buffers, deltaIsPreActivation);
        foreach (var (offset, length, names) in TrainableRanges(plan))
        {
            writer.Line($"bound = global::System.Math.Max(bound, global::Backprop.Kernels.GradientBound.Exact(gradients.Slice({Number(offset)}, {Number(length)}))); // {names}");
        }
    }

    public virtual void EmitParameterGradients(SourceWriter writer, TPlan plan, LayerBuffers buffers)
    {
        var ranges = TrainableRanges(plan);
        if (ranges.Count == 0)
        {
            return;
        }
        writer.Line($"// {plan.Name}: the update of the gradients the first half computed");
        using (writer.Block("if (optimizer is not null)"))
        {
            foreach (var (offset, length, names) in ranges)
            {
                writer.Line($"global::Backprop.Kernels.ParameterUpdate.Apply(optimizer, parameters, gradients, {Number(offset)}, {Number(length)}); // {names}");
            }
        }
    }

    /// <summary>The layer's trainable tensors as ranges of the parameter block, adjacent tensors merged, with their names.</summary>
    private List<(int Offset, int Length, string Names)> TrainableRanges(TPlan plan)
    {
        var ranges = new List<(int Offset, int Length, string Names)>();
        foreach (var tensor in Tensors(plan).Where(tensor => tensor.Trainable).OrderBy(tensor => tensor.Offset))
        {
            if (ranges.Count > 0 && ranges[ranges.Count - 1] is var last && last.Offset + last.Length == tensor.Offset)
            {
                ranges[ranges.Count - 1] = (last.Offset, last.Length + tensor.Length, last.Names + ", " + tensor.Name);
            }
            else
            {
                ranges.Add((tensor.Offset, tensor.Length, tensor.Name));
            }
        }
        return ranges;
    }

    /// <summary>An integer as C# source.</summary>
    protected static string Number(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public sealed override void EmitInputGradient(SourceWriter writer, LayerPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
        => EmitInputGradient(writer, (TPlan)plan, buffers, deltaIsPreActivation);

    public sealed override void EmitParameterGradients(SourceWriter writer, LayerPlan plan, LayerBuffers buffers)
        => EmitParameterGradients(writer, (TPlan)plan, buffers);

    public abstract void EmitCopyOut(SourceWriter writer, TPlan plan, TensorPlan tensor, string block, string destination);

    public abstract void EmitCopyIn(SourceWriter writer, TPlan plan, TensorPlan tensor, string source, string block);

    public abstract void WriteArchitecture(JsonText json, TPlan plan);

    public abstract void EmitOnnx(SourceWriter writer, TPlan plan);

    public abstract string Describe(TPlan plan);

    /// <summary>Declares each of <paramref name="constants"/> as <c>private const int {Pascal}{Name} = value;</c>.</summary>
    protected static void EmitIntegerConstants(SourceWriter writer, TPlan plan, IEnumerable<(string Name, int Value)> constants)
    {
        foreach (var (name, value) in constants)
        {
            writer.Line($"private const int {plan.Pascal}{name} = {value.ToString(System.Globalization.CultureInfo.InvariantCulture)};");
        }
    }

    /// <summary>The identifiers <see cref="EmitIntegerConstants"/> declares.</summary>
    protected static IEnumerable<string> IntegerConstantNames(TPlan plan, IEnumerable<(string Name, int Value)> constants)
    {
        foreach (var (name, _) in constants)
        {
            yield return plan.Pascal + name;
        }
    }

    /// <summary>CopyTensor's statement for a tensor the kernels keep in PyTorch's layout: one slice copied out.</summary>
    protected static void EmitSliceCopyOut(SourceWriter writer, TensorPlan tensor, string block, string destination)
        => writer.Line($"{block}.Slice({tensor.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {tensor.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}).CopyTo({destination});");

    /// <summary>SetTensor's statement for a tensor the kernels keep in PyTorch's layout: one slice copied in.</summary>
    protected static void EmitSliceCopyIn(SourceWriter writer, TensorPlan tensor, string source, string block)
        => writer.Line($"{source}.CopyTo({block}.Slice({tensor.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {tensor.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}));");

    public virtual IEnumerable<string> Counters(TPlan plan) => [];

    public virtual int MinimumTrainingBatch(TPlan plan) => 1;

    public virtual bool Commits(TPlan plan) => false;

    public virtual void EmitCommit(SourceWriter writer, TPlan plan, LayerBuffers buffers)
    {
    }

    public virtual void EmitInputChecks(SourceWriter writer, TPlan plan)
    {
    }

    public sealed override void EmitInputChecks(SourceWriter writer, LayerPlan plan) => EmitInputChecks(writer, (TPlan)plan);

    public sealed override bool Commits(LayerPlan plan) => Commits((TPlan)plan);

    public sealed override void EmitCommit(SourceWriter writer, LayerPlan plan, LayerBuffers buffers) => EmitCommit(writer, (TPlan)plan, buffers);

    public sealed override IEnumerable<string> Counters(LayerPlan plan) => Counters((TPlan)plan);

    public sealed override int MinimumTrainingBatch(LayerPlan plan) => MinimumTrainingBatch((TPlan)plan);

    public sealed override IEnumerable<TensorPlan> Tensors(LayerPlan plan) => Tensors((TPlan)plan);

    public sealed override IEnumerable<BufferPlan> Buffers(LayerPlan plan) => Buffers((TPlan)plan);

    public sealed override int ScratchLength(LayerPlan plan, bool inputGradient) => ScratchLength((TPlan)plan, inputGradient);

    public sealed override void EmitConstants(SourceWriter writer, LayerPlan plan) => EmitConstants(writer, (TPlan)plan);

    public sealed override IEnumerable<string> ConstantNames(LayerPlan plan) => ConstantNames((TPlan)plan);

    public sealed override void EmitInitialization(SourceWriter writer, LayerPlan plan, int stream) => EmitInitialization(writer, (TPlan)plan, stream);

    public sealed override void EmitForward(SourceWriter writer, LayerPlan plan, LayerBuffers buffers) => EmitForward(writer, (TPlan)plan, buffers);

    public sealed override bool FusesForward(LayerPlan plan, LayerPlan next) => FusesForward((TPlan)plan, next);

    public sealed override void EmitFusedForward(SourceWriter writer, LayerPlan plan, LayerBuffers buffers, LayerPlan next, LayerBuffers nextBuffers)
        => EmitFusedForward(writer, (TPlan)plan, buffers, next, nextBuffers);

    public sealed override void EmitBackward(SourceWriter writer, LayerPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
        => EmitBackward(writer, (TPlan)plan, buffers, deltaIsPreActivation);

    public sealed override void EmitCopyOut(SourceWriter writer, LayerPlan plan, TensorPlan tensor, string block, string destination)
        => EmitCopyOut(writer, (TPlan)plan, tensor, block, destination);

    public sealed override void EmitCopyIn(SourceWriter writer, LayerPlan plan, TensorPlan tensor, string source, string block)
        => EmitCopyIn(writer, (TPlan)plan, tensor, source, block);

    public sealed override void WriteArchitecture(JsonText json, LayerPlan plan) => WriteArchitecture(json, (TPlan)plan);

    public sealed override void EmitOnnx(SourceWriter writer, LayerPlan plan) => EmitOnnx(writer, (TPlan)plan);

    public sealed override string Describe(LayerPlan plan) => Describe((TPlan)plan);
}

/// <summary>What flows into a layer during shape inference.</summary>
/// <param name="Shape">The shape of one sample.</param>
/// <param name="From">The name of the layer (or <c>the input</c>) it comes from, for messages.</param>
/// <param name="ParameterOffset">The next free offset in the parameter block.</param>
/// <param name="IsFirst">Whether this is the network's first layer.</param>
/// <param name="IsLast">Whether this is the network's last layer.</param>
/// <param name="AttributeOrdinal">The attribute's ordinal, for error locations.</param>
/// <param name="StateOffset">The next free offset in the state block (running statistics).</param>
internal sealed record LayerInput(Shape Shape, string From, int ParameterOffset, bool IsFirst, bool IsLast, int AttributeOrdinal, int StateOffset = 0)
{
    /// <summary>Values per sample.</summary>
    public int Size => Shape.Size;
}

/// <summary>
/// A tensor of the layer: PyTorch name and shape, where it lives, and whether the optimizer updates it (trainable
/// parameters, in the parameter block) or not (state, such as running statistics, in the state block).
/// </summary>
/// <param name="Name">The PyTorch name (<c>conv1.weight</c>).</param>
/// <param name="Shape">The PyTorch shape.</param>
/// <param name="Offset">Where it starts in its block: the parameter block if trainable, else the state block.</param>
/// <param name="Length">Its number of values.</param>
/// <param name="Trainable">Whether the optimizer updates it.</param>
/// <param name="NonNegative">Whether its values cannot be negative (a running variance): SetTensor refuses negative ones.</param>
internal sealed record TensorPlan(string Name, EquatableArray<int> Shape, int Offset, int Length, bool Trainable = true, bool NonNegative = false);

/// <summary>What a buffer holds for the passes.</summary>
internal enum BufferRole
{
    /// <summary>The layer's output y: the next layer's input, and what Predict returns for the last layer.</summary>
    Output,

    /// <summary>The pre-activation z, kept beside y for the activation's derivative (absent: z is y).</summary>
    PreActivation,

    /// <summary>∂L/∂y on entry to the backward pass (training only).</summary>
    Delta,

    /// <summary>Something the forward pass keeps for the backward pass (unfolded columns, arg-max indices), named by its key.</summary>
    Saved,
}

/// <summary>
/// A per-sample buffer of a layer: its role, its element type (<c>float</c> or <c>int</c>), whether only the training
/// calls need it, and either its own field of <c>maxBatch × PerSample</c> elements or, when
/// <paramref name="AliasesInput"/>, the same memory as the layer's input buffer of the same role (a free reshape).
/// </summary>
/// <param name="Role">What the buffer holds.</param>
/// <param name="Field">The field name (<c>_conv1Output</c>); unused when aliased.</param>
/// <param name="PerSample">Elements per sample.</param>
/// <param name="Comment">What it holds, for the generated code.</param>
/// <param name="Key">For <see cref="BufferRole.Saved"/>: which of the layer's saved buffers (<c>columns</c>).</param>
/// <param name="Element">The element type: <c>float</c> or <c>int</c>.</param>
/// <param name="TrainingOnly">Only the training calls' set allocates it (deltas, masks); Predict's sets do not.</param>
/// <param name="AliasesInput">The same memory as the input's buffer of this role (Output or Delta).</param>
/// <param name="PerPass">
/// One block of <paramref name="PerSample"/> elements for the whole pass instead of one per sample (batch statistics per
/// channel); a layer with one needs the whole batch in one pass, so the network does not cut training into shards.
/// </param>
internal sealed record BufferPlan(
    BufferRole Role, string Field, int PerSample, string Comment, string Key = "",
    string Element = "float", bool TrainingOnly = false, bool AliasesInput = false, bool PerPass = false)
{
    public static BufferPlan Delta(string field, int perSample, string comment)
        => new(BufferRole.Delta, field, perSample, comment, TrainingOnly: true);
}

/// <summary>
/// The local spans one layer's statements read and write, as the emitter wired them from the buffer plans: its input,
/// its output, pre-activation and delta, its input's delta (null for the first layer) and its saved buffers by key.
/// </summary>
internal sealed class LayerBuffers(string input, string? inputDelta, string output, string preActivation, string? delta, IReadOnlyDictionary<string, string> saved)
{
    /// <summary>The input: <c>inputs</c> for the first layer, else the previous layer's output.</summary>
    public string Input { get; } = input;

    /// <summary>∂L/∂input, written by the backward pass; null for the first layer (no input gradient is needed).</summary>
    public string? InputDelta { get; } = inputDelta;

    public string Output { get; } = output;

    /// <summary>The pre-activation; the output itself when the layer keeps no separate z.</summary>
    public string PreActivation { get; } = preActivation;

    /// <summary>∂L/∂y (null outside the training calls' passes).</summary>
    public string? Delta { get; } = delta;

    /// <summary>A saved buffer by its key.</summary>
    public string Saved(string key) => saved[key];
}
