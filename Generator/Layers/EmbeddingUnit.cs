using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>The plan of an embedding: [steps] token ids in, [steps, dimensions] out; weight [vocabulary, dimensions].</summary>
internal sealed record EmbeddingPlan(string Name, Shape In, int Vocabulary, int Dimensions, int ParameterOffset)
    : LayerPlan("Embedding", Name, In, Shape.Of(In[0], Dimensions), ParameterOffset, Vocabulary * Dimensions, Names.Linear)
{
    public int Steps => InputShape[0];
}

/// <summary>
/// <c>[Embedding(vocabulary, dimensions)]</c>, as PyTorch's <c>nn.Embedding</c>: the first layer, on an
/// <c>[Input(steps)]</c> of token ids held in floats. The networks check the ids before any pass
/// (<c>Backprop.Kernels.Embedding.CheckIds</c>); the weight's gradient is zero outside the rows the batch used.
/// </summary>
internal sealed class EmbeddingUnit : LayerUnit<EmbeddingPlan>
{
    /// <summary>Floats hold every integer up to 2²⁴ exactly; larger ids could not be told apart.</summary>
    internal const int MaximumVocabulary = 1 << 24;

    public override string AttributeName => "Backprop.EmbeddingAttribute";

    public override string Kind => "Embedding";

    public override string NamePrefix => "embedding";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        string layer = $"Embedding '{name}'";
        int before = errors.Count;
        int? vocabulary = Arguments.Integer(attribute, "vocabulary", "vocabulary size", layer, 1, errors);
        int? dimensions = Arguments.Integer(attribute, "dimensions", "number of dimensions", layer, 1, errors);
        if (errors.Count > before)
        {
            return null;
        }
        if (vocabulary!.Value > MaximumVocabulary)
        {
            errors.Add(VocabularyBeyondFloats.At(attribute.Ordinal, "vocabulary", layer, vocabulary.Value, MaximumVocabulary));
            return null;
        }
        if (!input.IsFirst)
        {
            errors.Add(EmbeddingNotFirst.At(attribute.Ordinal, null, layer, input.From));
            return null;
        }
        if (input.Shape.Rank != 1)
        {
            errors.Add(EmbeddingNeedsSteps.At(attribute.Ordinal, null, layer, input.Shape));
            return null;
        }
        if ((long)vocabulary.Value * dimensions!.Value + input.ParameterOffset > int.MaxValue / 2 || (long)input.Shape[0] * dimensions.Value > int.MaxValue / 64)
        {
            errors.Add(EmbeddingTooLarge.At(attribute.Ordinal, "dimensions", layer, vocabulary.Value, dimensions.Value));
            return null;
        }
        return new EmbeddingPlan(name, input.Shape, vocabulary.Value, dimensions.Value, input.ParameterOffset);
    }

    public override IEnumerable<TensorPlan> Tensors(EmbeddingPlan plan)
    {
        yield return new TensorPlan(plan.Name + ".weight", new EquatableArray<int>(new[] { plan.Vocabulary, plan.Dimensions }), plan.ParameterOffset, plan.ParameterCount);
    }

    public override IEnumerable<BufferPlan> Buffers(EmbeddingPlan plan)
    {
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize, $"{plan.Name} output: each step's token vector {plan.OutputShape}");
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y");
    }

    public override int ScratchLength(EmbeddingPlan plan, bool inputGradient) => 0;

    public override void EmitConstants(SourceWriter writer, EmbeddingPlan plan)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}. Weight [{plan.Vocabulary}, {plan.Dimensions}] at {plan.ParameterOffset}.");
        writer.Line($"private const int {p}Steps = {plan.Steps.ToString(CultureInfo.InvariantCulture)};");
        writer.Line($"private const int {p}Vocabulary = {plan.Vocabulary.ToString(CultureInfo.InvariantCulture)};");
        writer.Line($"private const int {p}Dimensions = {plan.Dimensions.ToString(CultureInfo.InvariantCulture)};");
        writer.Line($"private const int {p}Weight = {plan.ParameterOffset.ToString(CultureInfo.InvariantCulture)};");
    }

    public override IEnumerable<string> ConstantNames(EmbeddingPlan plan)
        => [plan.Pascal + "Steps", plan.Pascal + "Vocabulary", plan.Pascal + "Dimensions", plan.Pascal + "Weight"];

    public override void EmitInitialization(SourceWriter writer, EmbeddingPlan plan, int stream)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: standard normal, as PyTorch's nn.Embedding.");
        writer.Line($"global::Backprop.Initialization.Normal(parameters.Slice({p}Weight, {p}Vocabulary * {p}Dimensions), 1f, seed, stream: {stream.ToString(CultureInfo.InvariantCulture)});");
    }

    public override void EmitInputChecks(SourceWriter writer, EmbeddingPlan plan)
        => writer.Line($"global::Backprop.Kernels.Embedding.CheckIds(NetworkName, inputs, batch, {plan.Pascal}Steps, {plan.Pascal}Vocabulary, nameof(inputs));");

    public override void EmitForward(SourceWriter writer, EmbeddingPlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        writer.Line($"global::Backprop.Kernels.Embedding.Forward({buffers.Input}, parameters.Slice({p}Weight, {p}Vocabulary * {p}Dimensions), {buffers.Output}, batch * {p}Steps, {p}Vocabulary, {p}Dimensions);");
    }

    public override void EmitInputGradient(SourceWriter writer, EmbeddingPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}; each row of its gradient is a sum of rows of ∂L/∂output");
        writer.Line($"bound = global::System.Math.Max(bound, global::Backprop.Kernels.GradientBound.Sums({buffers.Delta}, {p}Dimensions, batch * {p}Steps));");
    }

    public override void EmitParameterGradients(SourceWriter writer, EmbeddingPlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}; the gradient is zero outside the rows used");
        writer.Line($"global::Backprop.Kernels.Embedding.Backward({buffers.Input}, {buffers.Delta}, gradients.Slice({p}Weight, {p}Vocabulary * {p}Dimensions), batch * {p}Steps, {p}Vocabulary, {p}Dimensions,");
        using (writer.Indent())
        {
            writer.Line($"optimizer is null ? default : new global::Backprop.Kernels.ParameterUpdate(optimizer, parameters, {p}Weight, {p}Weight));");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, EmbeddingPlan plan, TensorPlan tensor, string block, string destination)
        => EmitSliceCopyOut(writer, tensor, block, destination);

    public override void EmitCopyIn(SourceWriter writer, EmbeddingPlan plan, TensorPlan tensor, string source, string block)
        => EmitSliceCopyIn(writer, tensor, source, block);

    public override void WriteArchitecture(JsonText json, EmbeddingPlan plan)
        => json.BeginObject()
            .Property("kind", Kind)
            .Property("name", plan.Name)
            .Property("vocabulary", plan.Vocabulary)
            .Property("dimensions", plan.Dimensions)
            .EndObject();

    public override void EmitOnnx(SourceWriter writer, EmbeddingPlan plan)
        => writer.Line($"x = global::Backprop.OnnxLayers.Embedding(onnx, x, \"{plan.Name}\");");

    public override string Describe(EmbeddingPlan plan) => $"Embedding of {plan.Vocabulary} tokens, {plan.InputShape} ids → {plan.OutputShape}";
}
