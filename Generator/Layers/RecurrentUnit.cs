using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>
/// The plan of a recurrent layer: [steps, features] in; [units] (the last step's hidden state) or [steps, units] out.
/// The parameter block holds <c>W_ihᵀ</c>, <c>W_hhᵀ</c> (transposed, as a dense weight), <c>b_ih</c>, <c>b_hh</c>.
/// </summary>
internal sealed record RecurrentPlan(string Kind, string Name, Shape In, int Units, bool ReturnSequences, int Gates, int ParameterOffset)
    : LayerPlan(Kind, Name, In, ReturnSequences ? Shape.Of(In[0], Units) : Shape.Of(Units), ParameterOffset, (In[1] + Units + 2) * Gates * Units, Names.Linear)
{
    public int Steps => InputShape[0];

    public int Features => InputShape[1];

    /// <summary>Gates × units: the columns of every projection.</summary>
    public int Width => Gates * Units;

    public int WeightIhOffset => ParameterOffset;

    public int WeightHhOffset => ParameterOffset + Features * Width;

    public int BiasIhOffset => ParameterOffset + (Features + Units) * Width;

    public int BiasHhOffset => ParameterOffset + (Features + Units + 1) * Width;
}

/// <summary>
/// <c>[SimpleRnn(units)]</c>, <c>[Lstm(units)]</c> and <c>[Gru(units)]</c> (property <c>ReturnSequences</c>), as PyTorch's
/// <c>nn.RNN</c>, <c>nn.LSTM</c> and <c>nn.GRU</c> with <c>batch_first=True</c>: one unit class for the three cells, which
/// differ in their gate count and in the runtime kernel's element-wise equations
/// (<c>Backprop.Kernels.Recurrent</c>). Backpropagation through time runs in the layer's backward pass.
/// </summary>
internal sealed class RecurrentUnit(string kind, string prefix, int gates, string cell, string torch) : LayerUnit<RecurrentPlan>
{
    public override string AttributeName => "Backprop." + kind + "Attribute";

    public override string Kind => kind;

    public override string NamePrefix => prefix;

    /// <summary>The largest number of steps, features or units a recurrent layer takes.</summary>
    private const int MaximumSize = 1 << 20;

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        string layer = $"{kind} '{name}'";
        int? units = Arguments.Integer(attribute, "units", "number of units", layer, 1, errors);
        if (units is null)
        {
            return null;
        }
        if (input.Shape.Rank != 2)
        {
            errors.Add(input.Shape.Rank != 1 ? RecurrentOnImage.At(attribute.Ordinal, null, layer, input.From, input.Shape)
                : input.IsFirst ? RecurrentOnFlatInput.At(attribute.Ordinal, null, layer, input.Shape, input.Shape[0])
                : RecurrentAfterFlatLayer.At(attribute.Ordinal, null, layer, input.From, input.Shape));
            return null;
        }
        long width = (long)gates * units.Value;
        if (units.Value > MaximumSize || input.Shape[0] > MaximumSize || input.Shape[1] > MaximumSize
            || input.ParameterOffset + (input.Shape[1] + (long)units.Value + 2) * width > int.MaxValue / 2
            || (long)input.Shape[0] * width > int.MaxValue / 64)
        {
            errors.Add(RecurrentTooLarge.At(attribute.Ordinal, "units", layer, input.Shape[0], input.Shape[1], units.Value));
            return null;
        }
        bool sequences = Arguments.Boolean(attribute, "ReturnSequences", false);
        return new RecurrentPlan(kind, name, input.Shape, units.Value, sequences, gates, input.ParameterOffset);
    }

    public override IEnumerable<TensorPlan> Tensors(RecurrentPlan plan)
    {
        int width = plan.Width;
        yield return new TensorPlan(plan.Name + ".weight_ih_l0", new EquatableArray<int>(new[] { width, plan.Features }), plan.WeightIhOffset, width * plan.Features);
        yield return new TensorPlan(plan.Name + ".weight_hh_l0", new EquatableArray<int>(new[] { width, plan.Units }), plan.WeightHhOffset, width * plan.Units);
        yield return new TensorPlan(plan.Name + ".bias_ih_l0", new EquatableArray<int>(new[] { width }), plan.BiasIhOffset, width);
        yield return new TensorPlan(plan.Name + ".bias_hh_l0", new EquatableArray<int>(new[] { width }), plan.BiasHhOffset, width);
    }

    public override IEnumerable<BufferPlan> Buffers(RecurrentPlan plan)
    {
        string c = "_" + plan.Camel;
        int sequence = plan.Steps * plan.Units;
        if (plan.ReturnSequences)
        {
            yield return new BufferPlan(BufferRole.Output, c + "Output", sequence, $"{plan.Name} output: the hidden state of every step [{plan.Steps}, {plan.Units}]");
        }
        else
        {
            yield return new BufferPlan(BufferRole.Saved, c + "Hidden", sequence, $"{plan.Name} hidden state of every step [{plan.Steps}, {plan.Units}]", Key: "hidden");
            yield return new BufferPlan(BufferRole.Output, c + "Output", plan.Units, $"{plan.Name} output: the last step's hidden state [{plan.Units}]");
        }
        yield return new BufferPlan(BufferRole.Saved, c + "Gates", plan.Steps * plan.Width,
            $"{plan.Name} gates of every step [{plan.Steps}, {plan.Width}]: activated in the forward pass, their gradients in the backward pass", Key: "gates");
        yield return new BufferPlan(BufferRole.Saved, c + "Step", plan.Width, $"{plan.Name} one step's recurrent projections h W_hhᵀ + b_hh [{plan.Width}]", Key: "step");
        if (plan.Gates == 4)
        {
            yield return new BufferPlan(BufferRole.Saved, c + "Cells", sequence, $"{plan.Name} cell state of every step [{plan.Steps}, {plan.Units}]", Key: "cells");
            yield return new BufferPlan(BufferRole.Saved, c + "CellCarry", plan.Units, $"{plan.Name} ∂L/∂c carried from step to step", Key: "cellCarry", TrainingOnly: true);
        }
        else if (plan.Gates == 3)
        {
            yield return new BufferPlan(BufferRole.Saved, c + "NewGate", sequence, $"{plan.Name} W_hn h + b_hn of every step [{plan.Steps}, {plan.Units}]", Key: "newGate");
            yield return new BufferPlan(BufferRole.Saved, c + "HiddenDeltas", plan.Steps * plan.Width,
                $"{plan.Name} gradients of the recurrent projections of every step [{plan.Steps}, {plan.Width}]", Key: "hiddenDeltas", TrainingOnly: true);
        }
        yield return new BufferPlan(BufferRole.Saved, c + "Carry", plan.Units, $"{plan.Name} ∂L/∂h carried from step to step", Key: "carry", TrainingOnly: true);
        yield return BufferPlan.Delta(c + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y");
    }

    public override int ScratchLength(RecurrentPlan plan, bool inputGradient) => plan.Width * (plan.Units + (inputGradient ? plan.Features : 0));

    public override void EmitConstants(SourceWriter writer, RecurrentPlan plan)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}. W_ihᵀ [{plan.Features}, {plan.Width}] at {plan.WeightIhOffset}, W_hhᵀ [{plan.Units}, {plan.Width}] in column panels at {plan.WeightHhOffset}, b_ih and b_hh [{plan.Width}] at {plan.BiasIhOffset} and {plan.BiasHhOffset}.");
        EmitIntegerConstants(writer, plan, Constants(plan));
    }

    private static IEnumerable<(string Name, int Value)> Constants(RecurrentPlan plan)
    {
        yield return ("Steps", plan.Steps);
        yield return ("Features", plan.Features);
        yield return ("Units", plan.Units);
        yield return ("Parameters", plan.ParameterOffset);
        yield return ("ParameterCount", plan.ParameterCount);
    }

    public override IEnumerable<string> ConstantNames(RecurrentPlan plan) => IntegerConstantNames(plan, Constants(plan));

    public override void EmitInitialization(SourceWriter writer, RecurrentPlan plan, int stream)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: every weight and bias uniform in ±1/√{plan.Units}, as PyTorch's {torch}.");
        writer.Line($"global::Backprop.Initialization.Uniform(parameters.Slice({p}Parameters, {p}ParameterCount), 1f / global::System.MathF.Sqrt({p}Units), seed, stream: {stream.ToString(CultureInfo.InvariantCulture)});");
    }

    private string Cell => "global::Backprop.Kernels.RecurrentCell." + cell;

    private static string Hidden(RecurrentPlan plan, LayerBuffers buffers) => plan.ReturnSequences ? buffers.Output : buffers.Saved("hidden");

    private static string Optional(RecurrentPlan plan, LayerBuffers buffers, string key, int gates)
        => plan.Gates == gates ? buffers.Saved(key) : "default";

    public override void EmitForward(SourceWriter writer, RecurrentPlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        writer.Line($"global::Backprop.Kernels.Recurrent.Forward({Cell}, {buffers.Input}, parameters.Slice({p}Parameters, {p}ParameterCount),");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Saved("gates")}, {Hidden(plan, buffers)}, {Optional(plan, buffers, "cells", 4)}, {Optional(plan, buffers, "newGate", 3)}, {buffers.Saved("step")},");
            writer.Line($"batch, {p}Steps, {p}Features, {p}Units, threads, training);");
        }
        if (!plan.ReturnSequences)
        {
            writer.Line("// The output: each sample's last hidden state.");
            using (writer.Block("for (int b = 0; b < batch; b++)"))
            {
                writer.Line($"{buffers.Saved("hidden")}.Slice((b * {p}Steps + {p}Steps - 1) * {p}Units, {p}Units).CopyTo({buffers.Output}.Slice(b * {p}Units, {p}Units));");
            }
        }
    }

    public override void EmitBackward(SourceWriter writer, RecurrentPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}, backpropagation through time");
        writer.Line($"global::Backprop.Kernels.Recurrent.Backward({Cell}, {buffers.Input}, parameters.Slice({p}Parameters, {p}ParameterCount),");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Saved("gates")}, {Hidden(plan, buffers)}, {Optional(plan, buffers, "cells", 4)}, {Optional(plan, buffers, "newGate", 3)},");
            writer.Line($"{buffers.Delta}, returnSequences: {(plan.ReturnSequences ? "true" : "false")}, gradients.Slice({p}Parameters, {p}ParameterCount), {buffers.InputDelta ?? "default"},");
            writer.Line($"{buffers.Saved("carry")}, {Optional(plan, buffers, "cellCarry", 4)}, {Optional(plan, buffers, "hiddenDeltas", 3)}, scratch,");
            writer.Line($"batch, {p}Steps, {p}Features, {p}Units, threads: 1);");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, RecurrentPlan plan, TensorPlan tensor, string block, string destination)
    {
        if (tensor.Name.EndsWith("weight_hh_l0", System.StringComparison.Ordinal))
        {
            writer.Line($"// Stored as column panels of W_hhᵀ (Recurrent.PanelWidth); PyTorch's layout is [{plan.Width}, {plan.Units}].");
            writer.Line($"global::Backprop.Kernels.Recurrent.UnpackRecurrentWeight({block}.Slice({Number(tensor.Offset)}, {Number(tensor.Length)}), {destination}, {Number(plan.Units)}, {Number(plan.Width)});");
        }
        else if (tensor.Name.EndsWith("weight_ih_l0", System.StringComparison.Ordinal))
        {
            int columns = tensor.Shape[1];
            writer.Line($"// Stored transposed, [{columns}, {plan.Width}]; PyTorch's layout is [{plan.Width}, {columns}].");
            writer.Line($"global::Backprop.Kernels.Vectors.Transpose({block}.Slice({Number(tensor.Offset)}, {Number(tensor.Length)}), {Number(columns)}, {Number(plan.Width)}, {destination});");
        }
        else
        {
            EmitSliceCopyOut(writer, tensor, block, destination);
        }
    }

    public override void EmitCopyIn(SourceWriter writer, RecurrentPlan plan, TensorPlan tensor, string source, string block)
    {
        if (tensor.Name.EndsWith("weight_hh_l0", System.StringComparison.Ordinal))
        {
            writer.Line($"global::Backprop.Kernels.Recurrent.PackRecurrentWeight({source}, {block}.Slice({Number(tensor.Offset)}, {Number(tensor.Length)}), {Number(plan.Units)}, {Number(plan.Width)});");
        }
        else if (tensor.Name.EndsWith("weight_ih_l0", System.StringComparison.Ordinal))
        {
            int columns = tensor.Shape[1];
            writer.Line($"global::Backprop.Kernels.Vectors.Transpose({source}, {Number(plan.Width)}, {Number(columns)}, {block}.Slice({Number(tensor.Offset)}, {Number(tensor.Length)}));");
        }
        else
        {
            EmitSliceCopyIn(writer, tensor, source, block);
        }
    }


    public override void WriteArchitecture(JsonText json, RecurrentPlan plan)
        => json.BeginObject()
            .Property("kind", Kind)
            .Property("name", plan.Name)
            .Property("units", plan.Units)
            .Property("return_sequences", plan.ReturnSequences)
            .EndObject();

    public override void EmitOnnx(SourceWriter writer, RecurrentPlan plan)
        => writer.Line(string.Format(CultureInfo.InvariantCulture, "x = global::Backprop.OnnxLayers.Recurrent(onnx, x, \"{0}\", \"{1}\", units: {2}, returnSequences: {3});",
            plan.Name, kind, plan.Units, plan.ReturnSequences ? "true" : "false"));

    public override string Describe(RecurrentPlan plan)
        => $"{kind} {plan.InputShape} → {plan.OutputShape}{(plan.ReturnSequences ? " (every step)" : " (last step)")}";
}
