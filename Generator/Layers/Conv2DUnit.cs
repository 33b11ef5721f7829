using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>The plan of a 2-D convolution: <c>y = f(W ⋆ x + b)</c> over [channels, height, width] samples.</summary>
internal sealed record Conv2DPlan(string Name, Shape In, int Filters, int Kernel, int Stride, int Padding, bool HasBias, int ParameterOffset, int Activation)
    : LayerPlan("Conv2D", Name, In, Shape.Of(Filters, Out(In[1], Kernel, Stride, Padding), Out(In[2], Kernel, Stride, Padding)),
        ParameterOffset, Filters * In[0] * Kernel * Kernel + (HasBias ? Filters : 0), Activation)
{
    public int Channels => InputShape[0];

    /// <summary>Rows of the unfolded input: channels × kernel × kernel.</summary>
    public int Patch => Channels * Kernel * Kernel;

    /// <summary>Output positions per filter.</summary>
    public int Plane => OutputShape[1] * OutputShape[2];

    /// <summary>Whether the unfolded input is the input itself (1×1 kernel, stride 1, no padding).</summary>
    public bool Pointwise => Kernel == 1 && Stride == 1 && Padding == 0;

    public int WeightOffset => ParameterOffset;

    public int BiasOffset => ParameterOffset + Filters * Patch;

    /// <summary>The output size along one axis (floor mode).</summary>
    internal static int Out(int size, int kernel, int stride, int padding) => (size + 2 * padding - kernel) / stride + 1;
}

/// <summary>
/// <c>[Conv2D(filters, kernel, stride, padding, Activation = ..., Bias = ...)]</c>, as PyTorch's <c>nn.Conv2d</c>: weight
/// [filters, channels, kernel, kernel] and bias [filters], stored in PyTorch's layout (the kernels read the weight as
/// [filters, channels × kernel × kernel]). With stride 1 the runtime convolves directly from a zero-padded copy of each
/// sample; otherwise it unfolds each sample (im2col) and multiplies on the packed matrix kernels. Either way the
/// per-sample copy is kept, in the layer's column buffer, for the weight gradient.
/// </summary>
internal sealed class Conv2DUnit : LayerUnit<Conv2DPlan>
{
    public override string AttributeName => "Backprop.Conv2DAttribute";

    public override string Kind => "Conv2D";

    public override string NamePrefix => "conv";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        int before = errors.Count;
        string layer = $"Conv2D '{name}'";
        int? filters = Arguments.Integer(attribute, "filters", "filter count", layer, 1, errors);
        int? kernel = Arguments.Integer(attribute, "kernel", "kernel size", layer, 1, errors);
        int? stride = Arguments.Integer(attribute, "stride", "stride", layer, 1, errors, fallback: 1);
        int? padding = Arguments.Integer(attribute, "padding", "padding", layer, 0, errors, fallback: 0);
        int activation = Arguments.Activation(attribute, layer, errors, SoftmaxOnFeatureMaps);
        bool bias = Arguments.Boolean(attribute, "Bias", true);
        if (!Arguments.IsImage(input, layer, attribute, errors) || errors.Count > before)
        {
            return null;
        }
        var shape = input.Shape;
        if (shape[1] + 2 * padding!.Value < kernel!.Value || shape[2] + 2 * padding.Value < kernel.Value)
        {
            int height = shape[1] + 2 * padding.Value, width = shape[2] + 2 * padding.Value;
            errors.Add(padding.Value > 0
                ? KernelLargerThanPaddedInput.At(attribute.Ordinal, "kernel", layer, kernel.Value, height, width, input.From, shape, padding.Value)
                : KernelLargerThanInput.At(attribute.Ordinal, "kernel", layer, kernel.Value, height, width, input.From, shape));
            return null;
        }
        long parameters = (long)filters!.Value * shape[0] * kernel.Value * kernel.Value + filters.Value;
        int outHeight = Conv2DPlan.Out(shape[1], kernel.Value, stride!.Value, padding.Value), outWidth = Conv2DPlan.Out(shape[2], kernel.Value, stride.Value, padding.Value);
        long unfolded = (long)shape[0] * kernel.Value * kernel.Value * outHeight * outWidth;
        if (parameters + input.ParameterOffset > int.MaxValue / 2 || unfolded > int.MaxValue / 2 || (long)filters.Value * outHeight * outWidth > int.MaxValue / 2)
        {
            errors.Add(ConvolutionTooLarge.At(attribute.Ordinal, null, layer, filters.Value, shape[0], kernel.Value, shape));
            return null;
        }
        return new Conv2DPlan(name, shape, filters.Value, kernel.Value, stride.Value, padding.Value, bias, input.ParameterOffset, activation);
    }

    public override IEnumerable<TensorPlan> Tensors(Conv2DPlan plan)
    {
        yield return new TensorPlan(plan.Name + ".weight", new EquatableArray<int>(new[] { plan.Filters, plan.Channels, plan.Kernel, plan.Kernel }), plan.WeightOffset, plan.Filters * plan.Patch);
        if (plan.HasBias)
        {
            yield return new TensorPlan(plan.Name + ".bias", new EquatableArray<int>(new[] { plan.Filters }), plan.BiasOffset, plan.Filters);
        }
    }

    public override IEnumerable<BufferPlan> Buffers(Conv2DPlan plan)
    {
        if (!plan.Pointwise)
        {
            yield return ColumnLength(plan) is var columns && columns != plan.Patch * plan.Plane
                ? new BufferPlan(BufferRole.Saved, "_" + plan.Camel + "Columns", columns,
                    $"{plan.Name} input zero-padded for the direct convolution, [{plan.Channels}, {plan.InputShape[1] + 2 * plan.Padding}, {plan.InputShape[2] + 2 * plan.Padding}] and slack per sample, kept for the weight gradient", Key: "columns")
                : new BufferPlan(BufferRole.Saved, "_" + plan.Camel + "Columns", columns,
                    $"{plan.Name} unfolded input (im2col), [{plan.Patch}, {plan.Plane}] per sample, kept for the weight gradient", Key: "columns");
        }
        if (DenseUnit.KeepsPreActivation(plan.Activation))
        {
            yield return new BufferPlan(BufferRole.PreActivation, "_" + plan.Camel + "PreActivation", plan.OutputSize, $"{plan.Name} pre-activation z = W ⋆ x + b");
        }
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize,
            $"{plan.Name} output {plan.OutputShape}{(plan.Activation == Names.Linear ? "" : ", " + Names.Activation(plan.Activation))}");
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y, then ∂L/∂z in the backward pass");
    }

    /// <summary>
    /// The runtime's <c>Convolution.ScratchLength</c>, computed here for the constant: the direct path (stride 1, the padded
    /// input in the column slot) needs the flipped weight, the padded output gradient and a group of output gradients on the
    /// input's grid; the unfolded path a weight-gradient product and an unfolded input gradient. Tests hold the two equal.
    /// </summary>
    public override int ScratchLength(Conv2DPlan plan, bool inputGradient)
        => DirectScratch(plan.Channels, plan.InputShape[1], plan.InputShape[2], plan.Kernel, plan.Stride, plan.Padding, plan.Filters, inputGradient)
            is long direct
            ? (int)direct
            : plan.Filters * plan.Patch + (inputGradient && !plan.Pointwise ? plan.Patch * plan.Plane : 0);

    /// <summary>The runtime's <c>Convolution.ColumnLength</c>: floats per sample of the column buffer (the padded input on the
    /// direct path, rounded up to a cache line; the column matrix otherwise).</summary>
    internal static int ColumnLength(Conv2DPlan plan)
    {
        if (DirectScratch(plan.Channels, plan.InputShape[1], plan.InputShape[2], plan.Kernel, plan.Stride, plan.Padding, plan.Filters, true) is null)
        {
            return plan.Pointwise ? 0 : plan.Patch * plan.Plane;
        }
        long padded = (long)plan.Channels * (plan.InputShape[1] + 2 * plan.Padding) * (plan.InputShape[2] + 2 * plan.Padding) + 16 + plan.Kernel;
        return (int)((padded + 15) / 16 * 16);
    }

    /// <summary>The direct path's scratch, or null where the runtime takes the unfolded path (mirrors <c>DirectConvolution.Applies</c>).</summary>
    internal static long? DirectScratch(int channels, int height, int width, int kernel, int stride, int padding, int filters, bool inputGradient)
    {
        if (stride != 1 || (kernel == 1 && padding == 0) || padding > kernel - 1)
        {
            return null;
        }
        int outHeight = Conv2DPlan.Out(height, kernel, 1, padding), outWidth = Conv2DPlan.Out(width, kernel, 1, padding);
        long patch = (long)channels * kernel * kernel, slack = 16 + kernel;
        long padded = (long)channels * (height + 2 * padding) * (width + 2 * padding) + slack;
        long grid = ((long)outHeight * (width + 2 * padding) + 15) / 16 * 16;
        long group = System.Math.Min(12, System.Math.Max(1, (160 * 16 + grid - 1) / grid));
        int q = kernel - 1 - padding;
        // Regions rounded up to cache lines, as the runtime lays them out.
        long deltaPadded = ((long)filters * (outHeight + 2 * q) * (outWidth + 2 * q) + slack + 15) / 16 * 16;
        long weight = (filters * patch + 15) / 16 * 16;
        long full = weight + deltaPadded + group * filters * grid;
        if ((padded + 15) / 16 * 16 > int.MaxValue / 2 || full > int.MaxValue / 2)
        {
            return null;
        }
        return weight + (inputGradient ? deltaPadded : 0) + group * filters * grid;
    }

    private static string Window(Conv2DPlan plan)
    {
        string p = plan.Pascal;
        return $"new global::Backprop.Kernels.Window2D({p}Channels, {p}Height, {p}Width, {p}Kernel, {p}Stride, {p}Padding)";
    }

    public override void EmitConstants(SourceWriter writer, Conv2DPlan plan)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}. Weight [{plan.Filters}, {plan.Channels}, {plan.Kernel}, {plan.Kernel}] at {plan.WeightOffset}{(plan.HasBias ? $", bias [{plan.Filters}] at {plan.BiasOffset}" : ", no bias")}.");
        EmitIntegerConstants(writer, plan, Constants(plan));
    }

    private static IEnumerable<(string Name, int Value)> Constants(Conv2DPlan plan)
    {
        yield return ("Channels", plan.Channels);
        yield return ("Height", plan.InputShape[1]);
        yield return ("Width", plan.InputShape[2]);
        yield return ("Filters", plan.Filters);
        yield return ("Kernel", plan.Kernel);
        yield return ("Stride", plan.Stride);
        yield return ("Padding", plan.Padding);
        yield return ("Patch", plan.Patch);
        yield return ("Weight", plan.WeightOffset);
        if (plan.HasBias)
        {
            yield return ("Bias", plan.BiasOffset);
        }
    }

    public override IEnumerable<string> ConstantNames(Conv2DPlan plan) => IntegerConstantNames(plan, Constants(plan));

    public override void EmitInitialization(SourceWriter writer, Conv2DPlan plan, int stream)
    {
        string p = plan.Pascal;
        bool he = plan.Activation is Names.Relu or Names.LeakyRelu or Names.Gelu;
        int fanIn = plan.Patch, fanOut = plan.Filters * plan.Kernel * plan.Kernel;
        writer.Line(he
            ? $"// {plan.Name}: He normal for {Names.Activation(plan.Activation)}, σ = √(2 / {fanIn}) (fan-in: channels × k × k){(plan.HasBias ? "; bias zero" : "")}."
            : $"// {plan.Name}: Glorot normal, σ = √(2 / ({fanIn} + {fanOut})) (fans: channels × k × k, filters × k × k){(plan.HasBias ? "; bias zero" : "")}.");
        string deviation = he
            ? $"global::Backprop.Initialization.HeStandardDeviation({fanIn})"
            : $"global::Backprop.Initialization.GlorotStandardDeviation({fanIn}, {fanOut})";
        writer.Line($"global::Backprop.Initialization.Normal(parameters.Slice({p}Weight, {p}Filters * {p}Patch), {deviation}, seed, stream: {stream});");
        if (plan.HasBias)
        {
            writer.Line($"parameters.Slice({p}Bias, {p}Filters).Clear();");
        }
    }

    public override void EmitForward(SourceWriter writer, Conv2DPlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        writer.Line($"global::Backprop.Kernels.Convolution.Forward<{DenseUnit.ActivationType(plan.Activation)}>(");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Input}, parameters.Slice({p}Weight, {p}Filters * {p}Patch), {(plan.HasBias ? $"parameters.Slice({p}Bias, {p}Filters)" : "default")},");
            writer.Line($"{(plan.Pointwise ? "default" : buffers.Saved("columns"))}, {buffers.PreActivation}, {buffers.Output}, batch, {Window(plan)}, {p}Filters, threads);");
        }
    }

    /// <summary>
    /// A 2×2, stride-2 max pooling right after the convolution: in inference the kernel pools each tile's outputs while
    /// they are in registers (<c>Convolution.ForwardPooled</c>, which falls back to the two layers' own kernels where its
    /// path does not apply), so the convolution's output never goes to memory.
    /// </summary>
    public override bool FusesForward(Conv2DPlan plan, LayerPlan next)
        => next is Pool2DPlan { IsMax: true, Size: 2, Stride: 2 };

    public override void EmitFusedForward(SourceWriter writer, Conv2DPlan plan, LayerBuffers buffers, LayerPlan next, LayerBuffers nextBuffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name} and {next.Name} in one pass (inference): the convolution's tiles pooled in registers.");
        writer.Line($"global::Backprop.Kernels.Convolution.ForwardPooled<{DenseUnit.ActivationType(plan.Activation)}>(");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Input}, parameters.Slice({p}Weight, {p}Filters * {p}Patch), {(plan.HasBias ? $"parameters.Slice({p}Bias, {p}Filters)" : "default")},");
            writer.Line($"{(plan.Pointwise ? "default" : buffers.Saved("columns"))}, {buffers.PreActivation}, {buffers.Output}, {nextBuffers.Output}, {nextBuffers.Saved("indices")},");
            writer.Line($"batch, {Window(plan)}, {p}Filters, threads);");
        }
    }

    public override void EmitBackward(SourceWriter writer, Conv2DPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        string p = plan.Pascal;
        string activation = deltaIsPreActivation ? "global::Backprop.Kernels.Identity" : DenseUnit.ActivationType(plan.Activation);
        writer.Line($"// {plan.Name}: {Describe(plan)}{(deltaIsPreActivation ? " (the loss gave ∂L/∂z)" : "")}");
        writer.Line($"global::Backprop.Kernels.Convolution.Backward<{activation}>(");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Input}, parameters.Slice({p}Weight, {p}Filters * {p}Patch), {(plan.Pointwise ? "default" : buffers.Saved("columns"))}, {buffers.PreActivation}, {buffers.Output}, {buffers.Delta},");
            writer.Line($"gradients.Slice({p}Weight, {p}Filters * {p}Patch), {(plan.HasBias ? $"gradients.Slice({p}Bias, {p}Filters)" : "default")}, {buffers.InputDelta ?? "default"}, scratch,");
            writer.Line($"batch, {Window(plan)}, {p}Filters);");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, Conv2DPlan plan, TensorPlan tensor, string block, string destination)
        => EmitSliceCopyOut(writer, tensor, block, destination);

    public override void EmitCopyIn(SourceWriter writer, Conv2DPlan plan, TensorPlan tensor, string source, string block)
        => EmitSliceCopyIn(writer, tensor, source, block);

    public override void WriteArchitecture(JsonText json, Conv2DPlan plan)
        => json.BeginObject()
            .Property("kind", Kind)
            .Property("name", plan.Name)
            .Property("filters", plan.Filters)
            .Property("kernel", plan.Kernel)
            .Property("stride", plan.Stride)
            .Property("padding", plan.Padding)
            .Property("bias", plan.HasBias)
            .Property("activation", Names.Activation(plan.Activation))
            .EndObject();

    public override void EmitOnnx(SourceWriter writer, Conv2DPlan plan)
        => writer.Line(string.Format(CultureInfo.InvariantCulture,
            "x = global::Backprop.OnnxLayers.Conv2D(onnx, x, \"{0}\", kernel: {1}, stride: {2}, padding: {3}, bias: {4}, \"{5}\");",
            plan.Name, plan.Kernel, plan.Stride, plan.Padding, plan.HasBias ? "true" : "false", Names.Activation(plan.Activation)));

    public override string Describe(Conv2DPlan plan)
    {
        string text = $"Conv2D {plan.InputShape} → {plan.OutputShape}, {plan.Kernel}×{plan.Kernel}";
        if (plan.Stride != 1)
        {
            text += $" stride {plan.Stride}";
        }
        if (plan.Padding != 0)
        {
            text += $" padding {plan.Padding}";
        }
        if (!plan.HasBias)
        {
            text += ", no bias";
        }
        return plan.Activation == Names.Linear ? text : text + ", " + Names.Activation(plan.Activation);
    }
}
