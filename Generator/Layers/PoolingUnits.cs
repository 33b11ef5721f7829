using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>The plan of a pooling layer over <c>Size × Size</c> windows, <c>Stride</c> apart, of each channel.</summary>
internal sealed record Pool2DPlan(string Kind, string Name, Shape In, int Size, int Stride, int ParameterOffset)
    : LayerPlan(Kind, Name, In, Shape.Of(In[0], Conv2DPlan.Out(In[1], Size, Stride, 0), Conv2DPlan.Out(In[2], Size, Stride, 0)), ParameterOffset, 0, Names.Linear)
{
    public bool IsMax => Kind == "MaxPool2D";
}

/// <summary>
/// <c>[MaxPool2D(size, Stride = ...)]</c> and <c>[AvgPool2D(size, Stride = ...)]</c>, as PyTorch's <c>nn.MaxPool2d</c> and
/// <c>nn.AvgPool2d</c> (no padding, floor mode). Max pooling saves, per output, where its maximum was (an int buffer).
/// </summary>
internal sealed class Pool2DUnit(string kind, string prefix) : LayerUnit<Pool2DPlan>
{
    public override string AttributeName => "Backprop." + kind + "Attribute";

    public override string Kind => kind;

    public override string NamePrefix => prefix;

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        int before = errors.Count;
        string layer = $"{kind} '{name}'";
        int? size = Arguments.Integer(attribute, "size", "window size", layer, 1, errors);
        int? stride = Arguments.Integer(attribute, "Stride", "Stride", layer, 0, errors, fallback: 0);
        if (stride == 0)
        {
            stride = size;
        }
        if (!Arguments.IsImage(input, layer, attribute, errors) || errors.Count > before)
        {
            return null;
        }
        var shape = input.Shape;
        if (shape[1] < size!.Value || shape[2] < size.Value)
        {
            errors.Add(WindowLargerThanInput.At(attribute.Ordinal, "size", layer, size.Value, shape[1], shape[2], input.From, shape));
            return null;
        }
        return new Pool2DPlan(kind, name, shape, size.Value, stride!.Value, input.ParameterOffset);
    }

    public override IEnumerable<TensorPlan> Tensors(Pool2DPlan plan) => [];

    public override IEnumerable<BufferPlan> Buffers(Pool2DPlan plan)
    {
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize, $"{plan.Name} output {plan.OutputShape}");
        if (plan.IsMax)
        {
            yield return new BufferPlan(BufferRole.Saved, "_" + plan.Camel + "Indices", plan.OutputSize,
                $"{plan.Name} where each output's maximum is in the sample", Key: "indices", Element: "int");
        }
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y");
    }

    public override int ScratchLength(Pool2DPlan plan, bool inputGradient) => 0;

    private static string Window(Pool2DPlan plan)
    {
        string p = plan.Pascal;
        return $"new global::Backprop.Kernels.Window2D({p}Channels, {p}Height, {p}Width, {p}Size, {p}Stride, 0)";
    }

    private static IEnumerable<(string Name, int Value)> Constants(Pool2DPlan plan)
    {
        yield return ("Channels", plan.InputShape[0]);
        yield return ("Height", plan.InputShape[1]);
        yield return ("Width", plan.InputShape[2]);
        yield return ("Size", plan.Size);
        yield return ("Stride", plan.Stride);
    }

    public override void EmitConstants(SourceWriter writer, Pool2DPlan plan)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}; no parameters.");
        foreach (var (name, value) in Constants(plan))
        {
            writer.Line($"private const int {plan.Pascal}{name} = {value.ToString(CultureInfo.InvariantCulture)};");
        }
    }

    public override IEnumerable<string> ConstantNames(Pool2DPlan plan)
    {
        foreach (var (name, _) in Constants(plan))
        {
            yield return plan.Pascal + name;
        }
    }

    public override void EmitInitialization(SourceWriter writer, Pool2DPlan plan, int stream)
    {
    }

    public override void EmitForward(SourceWriter writer, Pool2DPlan plan, LayerBuffers buffers)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        writer.Line(plan.IsMax
            ? $"global::Backprop.Kernels.Pooling.MaxForward({buffers.Input}, {buffers.Output}, {buffers.Saved("indices")}, batch, {Window(plan)});"
            : $"global::Backprop.Kernels.Pooling.AverageForward({buffers.Input}, {buffers.Output}, batch, {Window(plan)});");
    }

    public override void EmitBackward(SourceWriter writer, Pool2DPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        if (buffers.InputDelta is null)
        {
            writer.Line($"// {plan.Name}: {Describe(plan)}; the first layer, without parameters: nothing to compute.");
            return;
        }
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        writer.Line(plan.IsMax
            ? $"global::Backprop.Kernels.Pooling.MaxBackward({buffers.Delta}, {buffers.Saved("indices")}, {buffers.InputDelta}, batch, {Window(plan)});"
            : $"global::Backprop.Kernels.Pooling.AverageBackward({buffers.Delta}, {buffers.InputDelta}, batch, {Window(plan)});");
    }

    public override void EmitCopyOut(SourceWriter writer, Pool2DPlan plan, TensorPlan tensor, string block, string destination)
    {
    }

    public override void EmitCopyIn(SourceWriter writer, Pool2DPlan plan, TensorPlan tensor, string source, string block)
    {
    }

    public override void WriteArchitecture(JsonText json, Pool2DPlan plan)
        => json.BeginObject().Property("kind", Kind).Property("name", plan.Name).Property("size", plan.Size).Property("stride", plan.Stride).EndObject();

    public override void EmitOnnx(SourceWriter writer, Pool2DPlan plan)
        => writer.Line(string.Format(CultureInfo.InvariantCulture,
            "x = global::Backprop.OnnxLayers.Pool2D(onnx, x, \"{0}\", max: {1}, size: {2}, stride: {3});", plan.Name, plan.IsMax ? "true" : "false", plan.Size, plan.Stride));

    public override string Describe(Pool2DPlan plan)
        => $"{Kind} {plan.InputShape} → {plan.OutputShape}, {plan.Size}×{plan.Size}{(plan.Stride != plan.Size ? $" stride {plan.Stride}" : "")}";
}

/// <summary>The plan of a layer that only reshapes or reduces (no parameters, no options).</summary>
internal sealed record ReshapePlan(string Kind, string Name, Shape In, Shape Out, int ParameterOffset)
    : LayerPlan(Kind, Name, In, Out, ParameterOffset, 0, Names.Linear);

/// <summary>
/// <c>[Flatten]</c>: [c, h, w] → [c × h × w] in PyTorch's order. Free: its output and delta are the same memory as its
/// input's (an alias in the buffer plan), so the next layer reads the previous layer's output directly.
/// </summary>
internal sealed class FlattenUnit : LayerUnit<ReshapePlan>
{
    public override string AttributeName => "Backprop.FlattenAttribute";

    public override string Kind => "Flatten";

    public override string NamePrefix => "flatten";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        if (input.IsLast)
        {
            errors.Add(FlattenLast.At(attribute.Ordinal, null, $"Flatten '{name}'", input.From));
            return null;
        }
        return new ReshapePlan(Kind, name, input.Shape, Shape.Of(input.Shape.Size), input.ParameterOffset);
    }

    public override IEnumerable<TensorPlan> Tensors(ReshapePlan plan) => [];

    public override IEnumerable<BufferPlan> Buffers(ReshapePlan plan)
    {
        yield return new BufferPlan(BufferRole.Output, "", plan.OutputSize, "", AliasesInput: true);
        yield return new BufferPlan(BufferRole.Delta, "", plan.OutputSize, "", TrainingOnly: true, AliasesInput: true);
    }

    public override int ScratchLength(ReshapePlan plan, bool inputGradient) => 0;

    public override void EmitConstants(SourceWriter writer, ReshapePlan plan) => writer.Line($"// {plan.Name}: {Describe(plan)}; no parameters, no buffers.");

    public override IEnumerable<string> ConstantNames(ReshapePlan plan) => [];

    public override void EmitInitialization(SourceWriter writer, ReshapePlan plan, int stream)
    {
    }

    public override void EmitForward(SourceWriter writer, ReshapePlan plan, LayerBuffers buffers)
        => writer.Line($"// {plan.Name}: {Describe(plan)}: the next layer reads {buffers.Input} as it is.");

    public override void EmitBackward(SourceWriter writer, ReshapePlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
        => writer.Line($"// {plan.Name}: {Describe(plan)}: the next layer wrote ∂L/∂input into {buffers.InputDelta ?? "nothing (the first layer)"} directly.");

    public override void EmitCopyOut(SourceWriter writer, ReshapePlan plan, TensorPlan tensor, string block, string destination)
    {
    }

    public override void EmitCopyIn(SourceWriter writer, ReshapePlan plan, TensorPlan tensor, string source, string block)
    {
    }

    public override void WriteArchitecture(JsonText json, ReshapePlan plan)
        => json.BeginObject().Property("kind", Kind).Property("name", plan.Name).EndObject();

    public override void EmitOnnx(SourceWriter writer, ReshapePlan plan)
        => writer.Line($"x = global::Backprop.OnnxLayers.Flatten(onnx, x, \"{plan.Name}\");");

    public override string Describe(ReshapePlan plan) => $"Flatten {plan.InputShape} → {plan.OutputShape}, the same memory";
}

/// <summary><c>[GlobalAvgPool2D]</c>: [c, h, w] → [c], the mean of each channel.</summary>
internal sealed class GlobalAvgPool2DUnit : LayerUnit<ReshapePlan>
{
    public override string AttributeName => "Backprop.GlobalAvgPool2DAttribute";

    public override string Kind => "GlobalAvgPool2D";

    public override string NamePrefix => "gap";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
        => Arguments.IsImage(input, $"GlobalAvgPool2D '{name}'", attribute, errors)
            ? new ReshapePlan(Kind, name, input.Shape, Shape.Of(input.Shape[0]), input.ParameterOffset)
            : null;

    public override IEnumerable<TensorPlan> Tensors(ReshapePlan plan) => [];

    public override IEnumerable<BufferPlan> Buffers(ReshapePlan plan)
    {
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize, $"{plan.Name} output {plan.OutputShape}, each channel's mean");
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y");
    }

    public override int ScratchLength(ReshapePlan plan, bool inputGradient) => 0;

    private static string Plane(ReshapePlan plan) => (plan.InputShape[1] * plan.InputShape[2]).ToString(CultureInfo.InvariantCulture);

    public override void EmitConstants(SourceWriter writer, ReshapePlan plan) => writer.Line($"// {plan.Name}: {Describe(plan)}; no parameters.");

    public override IEnumerable<string> ConstantNames(ReshapePlan plan) => [];

    public override void EmitInitialization(SourceWriter writer, ReshapePlan plan, int stream)
    {
    }

    public override void EmitForward(SourceWriter writer, ReshapePlan plan, LayerBuffers buffers)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        writer.Line($"global::Backprop.Kernels.Pooling.GlobalAverageForward({buffers.Input}, {buffers.Output}, batch, {plan.OutputSize.ToString(CultureInfo.InvariantCulture)}, {Plane(plan)});");
    }

    public override void EmitBackward(SourceWriter writer, ReshapePlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        if (buffers.InputDelta is not null)
        {
            writer.Line($"global::Backprop.Kernels.Pooling.GlobalAverageBackward({buffers.Delta}, {buffers.InputDelta}, batch, {plan.OutputSize.ToString(CultureInfo.InvariantCulture)}, {Plane(plan)});");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, ReshapePlan plan, TensorPlan tensor, string block, string destination)
    {
    }

    public override void EmitCopyIn(SourceWriter writer, ReshapePlan plan, TensorPlan tensor, string source, string block)
    {
    }

    public override void WriteArchitecture(JsonText json, ReshapePlan plan)
        => json.BeginObject().Property("kind", Kind).Property("name", plan.Name).EndObject();

    public override void EmitOnnx(SourceWriter writer, ReshapePlan plan)
        => writer.Line($"x = global::Backprop.OnnxLayers.GlobalAvgPool2D(onnx, x, \"{plan.Name}\");");

    public override string Describe(ReshapePlan plan) => $"GlobalAvgPool2D {plan.InputShape} → {plan.OutputShape}";
}
