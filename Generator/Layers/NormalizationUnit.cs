using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>The plan of a normalization: any shape in, the same out; mean and variance per value of the flat sample (state).</summary>
internal sealed record NormalizationPlan(string Name, Shape In, int ParameterOffset, int StateOffset)
    : LayerPlan("Normalization", Name, In, In, ParameterOffset, 0, Names.Linear)
{
    public int Features => InputSize;

    public override int StateCount => 2 * Features;

    public int MeanOffset => StateOffset;

    public int VarianceOffset => StateOffset + Features;
}

/// <summary>
/// <c>[Normalization]</c>, as Keras's <c>Normalization</c> after <c>adapt</c>: <c>y = (x − mean) / √variance</c> per
/// feature with statistics that are state (saved with the model, set from data, never trained), so a model file carries
/// the standardization its inputs need.
/// </summary>
internal sealed class NormalizationUnit : LayerUnit<NormalizationPlan>
{
    public override string AttributeName => "Backprop.NormalizationAttribute";

    public override string Kind => "Normalization";

    public override string NamePrefix => "normalization";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        if (input.IsLast)
        {
            errors.Add(NormalizationLast.At(attribute.Ordinal, null, $"Normalization '{name}'"));
            return null;
        }
        if (input.StateOffset + 2L * input.Size > int.MaxValue / 2)
        {
            errors.Add(LayerTooLarge.At(attribute.Ordinal, null, $"Normalization '{name}'", input.Shape));
            return null;
        }
        return new NormalizationPlan(name, input.Shape, input.ParameterOffset, input.StateOffset);
    }

    public override IEnumerable<TensorPlan> Tensors(NormalizationPlan plan)
    {
        var shape = new EquatableArray<int>(new[] { plan.Features });
        yield return new TensorPlan(plan.Name + ".mean", shape, plan.MeanOffset, plan.Features, Trainable: false);
        yield return new TensorPlan(plan.Name + ".variance", shape, plan.VarianceOffset, plan.Features, Trainable: false, NonNegative: true);
    }

    public override IEnumerable<BufferPlan> Buffers(NormalizationPlan plan)
    {
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize, $"{plan.Name} output: the standardized input {plan.OutputShape}");
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y");
    }

    public override int ScratchLength(NormalizationPlan plan, bool inputGradient) => 0;

    public override void EmitConstants(SourceWriter writer, NormalizationPlan plan)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}. Mean and variance at {plan.MeanOffset} and {plan.VarianceOffset} of the state block.");
        EmitIntegerConstants(writer, plan, Constants(plan));
    }

    private static IEnumerable<(string Name, int Value)> Constants(NormalizationPlan plan)
    {
        yield return ("Features", plan.Features);
        yield return ("Mean", plan.MeanOffset);
        yield return ("Variance", plan.VarianceOffset);
    }

    public override IEnumerable<string> ConstantNames(NormalizationPlan plan) => IntegerConstantNames(plan, Constants(plan));

    public override void EmitInitialization(SourceWriter writer, NormalizationPlan plan, int stream)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: mean 0, variance 1 (the identity) until statistics are set (Standardization.WriteTo, SetTensor, Load).");
        writer.Line($"state.Slice({p}Mean, {p}Features).Clear();");
        writer.Line($"state.Slice({p}Variance, {p}Features).Fill(1f);");
    }

    public override void EmitForward(SourceWriter writer, NormalizationPlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        writer.Line($"global::Backprop.Kernels.FeatureNormalization.Forward({buffers.Input}, state.Slice({p}Mean, {p}Features), state.Slice({p}Variance, {p}Features), {buffers.Output}, batch, {p}Features);");
    }

    public override void EmitBackward(SourceWriter writer, NormalizationPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}; no parameters");
        if (buffers.InputDelta is not null)
        {
            string p = plan.Pascal;
            writer.Line($"global::Backprop.Kernels.FeatureNormalization.Backward({buffers.Delta}, state.Slice({p}Variance, {p}Features), {buffers.InputDelta}, batch, {p}Features);");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, NormalizationPlan plan, TensorPlan tensor, string block, string destination)
        => EmitSliceCopyOut(writer, tensor, block, destination);

    public override void EmitCopyIn(SourceWriter writer, NormalizationPlan plan, TensorPlan tensor, string source, string block)
        => EmitSliceCopyIn(writer, tensor, source, block);

    public override void WriteArchitecture(JsonText json, NormalizationPlan plan)
        => json.BeginObject().Property("kind", Kind).Property("name", plan.Name).EndObject();

    public override void EmitOnnx(SourceWriter writer, NormalizationPlan plan)
        => writer.Line($"x = global::Backprop.OnnxLayers.Normalization(onnx, x, \"{plan.Name}\", {string.Join(", ", System.Linq.Enumerable.Select(plan.InputShape.Dimensions, d => d.ToString(CultureInfo.InvariantCulture)))});");

    public override string Describe(NormalizationPlan plan) => $"Normalization {plan.InputShape}, (x − mean) / √variance per feature";
}
