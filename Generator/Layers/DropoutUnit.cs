using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>The plan of a dropout layer: any shape in, the same shape out.</summary>
internal sealed record DropoutPlan(string Name, Shape In, float Rate, int ParameterOffset)
    : LayerPlan("Dropout", Name, In, In, ParameterOffset, 0, Names.Linear)
{
    /// <summary>The rate as C# source writes it (<c>0.25f</c>).</summary>
    public string RateLiteral => Rate.ToString("R", CultureInfo.InvariantCulture) + "f";
}

/// <summary>
/// <c>[Dropout(rate)]</c>, as PyTorch's <c>nn.Dropout</c>: in training mode the forward pass draws a mask (kept for the
/// backward pass, a training-only buffer) from the network's seed, the layer's stream, the training pass and each
/// sample's index in the batch; in inference mode the layer copies its input.
/// </summary>
internal sealed class DropoutUnit : LayerUnit<DropoutPlan>
{
    public override string AttributeName => "Backprop.DropoutAttribute";

    public override string Kind => "Dropout";

    public override string NamePrefix => "dropout";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        var rate = attribute.Find("rate");
        if (rate is null || rate.Kind is not (ArgumentKind.Real or ArgumentKind.Integer))
        {
            errors.Add(RateNotConstant.At(attribute.Ordinal, rate is null ? null : "rate", $"Dropout '{name}'"));
            return null;
        }
        if (!(rate.Number >= 0 && rate.Number < 1))
        {
            errors.Add(RateOutOfRange.At(attribute.Ordinal, "rate", $"Dropout '{name}'", (float)rate.Number));
            return null;
        }
        if (input.IsLast)
        {
            errors.Add(DropoutLast.At(attribute.Ordinal, null, $"Dropout '{name}'"));
            return null;
        }
        return new DropoutPlan(name, input.Shape, (float)rate.Number, input.ParameterOffset);
    }

    public override IEnumerable<TensorPlan> Tensors(DropoutPlan plan) => [];

    public override IEnumerable<BufferPlan> Buffers(DropoutPlan plan)
    {
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize, $"{plan.Name} output {plan.OutputShape}");
        yield return new BufferPlan(BufferRole.Saved, "_" + plan.Camel + "Mask", plan.OutputSize,
            $"{plan.Name} mask: 0 or 1 / (1 - {plan.RateLiteral}) per value, drawn in training mode", Key: "mask", TrainingOnly: true);
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y");
    }

    public override int ScratchLength(DropoutPlan plan, bool inputGradient) => 0;

    public override void EmitConstants(SourceWriter writer, DropoutPlan plan) => writer.Line($"// {plan.Name}: {Describe(plan)}; no parameters.");

    public override IEnumerable<string> ConstantNames(DropoutPlan plan) => [];

    public override void EmitInitialization(SourceWriter writer, DropoutPlan plan, int stream)
    {
    }

    public override void EmitForward(SourceWriter writer, DropoutPlan plan, LayerBuffers buffers)
    {
        string stream = NetworkEmitter.Stream(plan.Name).ToString(CultureInfo.InvariantCulture);
        writer.Line($"// {plan.Name}: {Describe(plan)} (its own stream, {stream}, from its name)");
        writer.Line($"global::Backprop.Kernels.Dropout.Forward({buffers.Input}, {buffers.Output}, {buffers.Saved("mask")}, batch, {plan.OutputSize.ToString(CultureInfo.InvariantCulture)}, {plan.RateLiteral},");
        using (writer.Indent())
        {
            writer.Line($"_seed, stream: {stream}, _passes, first, training);");
        }
    }

    public override void EmitBackward(SourceWriter writer, DropoutPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        if (buffers.InputDelta is not null)
        {
            writer.Line($"global::Backprop.Kernels.Dropout.Backward({buffers.Delta}, {buffers.Saved("mask")}, {buffers.InputDelta}, batch, {plan.OutputSize.ToString(CultureInfo.InvariantCulture)});");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, DropoutPlan plan, TensorPlan tensor, string block, string destination)
    {
    }

    public override void EmitCopyIn(SourceWriter writer, DropoutPlan plan, TensorPlan tensor, string source, string block)
    {
    }

    public override void WriteArchitecture(JsonText json, DropoutPlan plan)
        => json.BeginObject().Property("kind", Kind).Property("name", plan.Name).Property("rate", plan.Rate).EndObject();

    public override void EmitOnnx(SourceWriter writer, DropoutPlan plan)
        => writer.Line($"// {plan.Name}: dropout is the identity in inference; no node.");

    public override string Describe(DropoutPlan plan) => $"Dropout {plan.InputShape}, rate {plan.Rate.ToString("R", CultureInfo.InvariantCulture)} (training mode only)";
}
