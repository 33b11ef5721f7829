using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>
/// The plan of a batch normalization: any [features] or [channels, height, width] shape in, the same shape out;
/// γ and β (trainable) in the parameter block, the running mean and variance (state) in the state block.
/// </summary>
internal sealed record BatchNormPlan(string Name, Shape In, float Momentum, float Epsilon, int ParameterOffset, int StateOffset, int Activation)
    : LayerPlan("BatchNorm", Name, In, In, ParameterOffset, 2 * In[0], Activation)
{
    /// <summary>Channels (or features): the normalized axis.</summary>
    public int Channels => InputShape[0];

    /// <summary>Values per channel per sample: height × width for images, 1 for flat features.</summary>
    public int Plane => InputSize / Channels;

    /// <summary>Whether this is PyTorch's <c>nn.BatchNorm2d</c> (images) rather than <c>nn.BatchNorm1d</c>.</summary>
    public bool IsImage => InputShape.Rank == 3;

    public override int StateCount => 2 * Channels;

    public int WeightOffset => ParameterOffset;

    public int BiasOffset => ParameterOffset + Channels;

    public int RunningMeanOffset => StateOffset;

    public int RunningVarianceOffset => StateOffset + Channels;

    public string MomentumLiteral => Momentum.ToString("R", CultureInfo.InvariantCulture) + "f";

    public string EpsilonLiteral => Epsilon.ToString("R", CultureInfo.InvariantCulture) + "f";
}

/// <summary>
/// <c>[BatchNorm(Momentum = ..., Epsilon = ..., Activation = ...)]</c>, as PyTorch's <c>nn.BatchNorm2d</c> after a
/// [channels, height, width] shape and <c>nn.BatchNorm1d</c> after a [features] one. In training mode it normalizes with
/// the batch's statistics (kept per channel in a per-pass buffer for the backward pass) and updates the running
/// statistics; in inference mode it uses the running statistics. Its statistics are the whole batch's, so a network
/// with one trains in one pass (products still spread over the cores) instead of data-parallel shards.
/// </summary>
internal sealed class BatchNormUnit : LayerUnit<BatchNormPlan>
{
    public override string AttributeName => "Backprop.BatchNormAttribute";

    public override string Kind => "BatchNorm";

    public override string NamePrefix => "bn";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        int before = errors.Count;
        string layer = $"BatchNorm '{name}'";
        float momentum = Real(attribute, "Momentum", 0.1f, layer, errors);
        float epsilon = Real(attribute, "Epsilon", 1e-5f, layer, errors);
        if (errors.Count == before && !(momentum >= 0 && momentum <= 1))
        {
            errors.Add(MomentumOutOfRange.At(attribute.Ordinal, "Momentum", layer, momentum));
        }
        if (errors.Count == before && !(epsilon > 0 && !float.IsInfinity(epsilon)))
        {
            errors.Add(EpsilonNotPositive.At(attribute.Ordinal, "Epsilon", layer, epsilon));
        }
        int activation = Arguments.Activation(attribute, layer, errors, SoftmaxOnNormalized);
        if (input.Shape.Rank is not (1 or 3))
        {
            errors.Add(NotBatchNormShape.At(attribute.Ordinal, null, layer, input.From, input.Shape));
        }
        if (errors.Count > before)
        {
            return null;
        }
        if ((long)input.ParameterOffset + 2L * input.Shape[0] > int.MaxValue / 2)
        {
            errors.Add(LayerTooLarge.At(attribute.Ordinal, null, layer, input.Shape));
            return null;
        }
        return new BatchNormPlan(name, input.Shape, momentum, epsilon, input.ParameterOffset, input.StateOffset, activation);
    }

    /// <summary>A constant float property, or <paramref name="fallback"/> when absent; NaN (after an error) when not a constant number.</summary>
    private static float Real(AttributeSpec attribute, string argument, float fallback, string layer, List<ShapeError> errors)
    {
        var value = attribute.Find(argument);
        if (value is null)
        {
            return fallback;
        }
        if (value.Kind is not (ArgumentKind.Real or ArgumentKind.Integer))
        {
            errors.Add(RealNotConstant.At(attribute.Ordinal, argument, layer, argument, fallback));
            return float.NaN;
        }
        return (float)value.Number;
    }

    public override IEnumerable<TensorPlan> Tensors(BatchNormPlan plan)
    {
        var shape = new EquatableArray<int>(new[] { plan.Channels });
        yield return new TensorPlan(plan.Name + ".weight", shape, plan.WeightOffset, plan.Channels);
        yield return new TensorPlan(plan.Name + ".bias", shape, plan.BiasOffset, plan.Channels);
        yield return new TensorPlan(plan.Name + ".running_mean", shape, plan.RunningMeanOffset, plan.Channels, Trainable: false);
        yield return new TensorPlan(plan.Name + ".running_var", shape, plan.RunningVarianceOffset, plan.Channels, Trainable: false, NonNegative: true);
    }

    public override IEnumerable<string> Counters(BatchNormPlan plan) => [plan.Name + ".num_batches_tracked"];

    /// <summary>Flat features have one value per channel per sample: a training batch needs two samples for a variance.</summary>
    public override int MinimumTrainingBatch(BatchNormPlan plan) => plan.Plane == 1 ? 2 : 1;

    public override IEnumerable<BufferPlan> Buffers(BatchNormPlan plan)
    {
        if (DenseUnit.KeepsPreActivation(plan.Activation))
        {
            yield return new BufferPlan(BufferRole.PreActivation, "_" + plan.Camel + "PreActivation", plan.OutputSize, $"{plan.Name} pre-activation z = γ x̂ + β");
        }
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize,
            $"{plan.Name} output {plan.OutputShape}{(plan.Activation == Names.Linear ? "" : ", " + Names.Activation(plan.Activation))}");
        yield return new BufferPlan(BufferRole.Saved, "_" + plan.Camel + "Statistics", 3 * plan.Channels,
            $"{plan.Name} batch statistics [3, {plan.Channels}]: the mean and 1/√(variance + ε) for the backward pass, the unbiased variance for the running one",
            Key: "statistics", TrainingOnly: true, PerPass: true);
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y, then ∂L/∂z in the backward pass");
    }

    public override int ScratchLength(BatchNormPlan plan, bool inputGradient) => 0;

    public override bool Commits(BatchNormPlan plan) => true;

    public override void EmitCommit(SourceWriter writer, BatchNormPlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: the running statistics move {plan.MomentumLiteral} of the way toward this batch's.");
        writer.Line($"global::Backprop.Kernels.BatchNorm.UpdateRunningStatistics({buffers.Saved("statistics")}, state.Slice({p}RunningMean, {p}Channels), state.Slice({p}RunningVar, {p}Channels), {p}Channels, momentum: {plan.MomentumLiteral});");
    }

    public override void EmitConstants(SourceWriter writer, BatchNormPlan plan)
    {
        writer.Line($"// {plan.Name}: {Describe(plan)}. γ [{plan.Channels}] at {plan.WeightOffset}, β [{plan.Channels}] at {plan.BiasOffset}; running mean and variance at {plan.RunningMeanOffset} and {plan.RunningVarianceOffset} of the state block.");
        EmitIntegerConstants(writer, plan, Constants(plan));
    }

    private static IEnumerable<(string Name, int Value)> Constants(BatchNormPlan plan)
    {
        yield return ("Channels", plan.Channels);
        yield return ("Plane", plan.Plane);
        yield return ("Weight", plan.WeightOffset);
        yield return ("Bias", plan.BiasOffset);
        yield return ("RunningMean", plan.RunningMeanOffset);
        yield return ("RunningVar", plan.RunningVarianceOffset);
    }

    public override IEnumerable<string> ConstantNames(BatchNormPlan plan) => IntegerConstantNames(plan, Constants(plan));

    public override void EmitInitialization(SourceWriter writer, BatchNormPlan plan, int stream)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: γ = 1, β = 0; running mean 0, running variance 1 (as PyTorch).");
        writer.Line($"parameters.Slice({p}Weight, {p}Channels).Fill(1f);");
        writer.Line($"parameters.Slice({p}Bias, {p}Channels).Clear();");
        writer.Line($"state.Slice({p}RunningMean, {p}Channels).Clear();");
        writer.Line($"state.Slice({p}RunningVar, {p}Channels).Fill(1f);");
    }

    public override void EmitForward(SourceWriter writer, BatchNormPlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        string activation = DenseUnit.ActivationType(plan.Activation);
        writer.Line($"// {plan.Name}: {Describe(plan)}");
        using (writer.Block("if (training)"))
        {
            writer.Line("// The batch's statistics (the running ones move toward them once the pass has succeeded: CommitPass).");
            writer.Line($"global::Backprop.Kernels.BatchNorm.TrainingForward<{activation}>(");
            using (writer.Indent())
            {
                writer.Line($"{buffers.Input}, parameters.Slice({p}Weight, {p}Channels), parameters.Slice({p}Bias, {p}Channels), {buffers.Saved("statistics")},");
                writer.Line($"{buffers.PreActivation}, {buffers.Output}, batch, {p}Channels, {p}Plane, epsilon: {plan.EpsilonLiteral});");
            }
        }
        using (writer.Block("else"))
        {
            writer.Line($"global::Backprop.Kernels.BatchNorm.InferenceForward<{activation}>(");
            using (writer.Indent())
            {
                writer.Line($"{buffers.Input}, parameters.Slice({p}Weight, {p}Channels), parameters.Slice({p}Bias, {p}Channels),");
                writer.Line($"state.Slice({p}RunningMean, {p}Channels), state.Slice({p}RunningVar, {p}Channels),");
                writer.Line($"{buffers.PreActivation}, {buffers.Output}, batch, {p}Channels, {p}Plane, epsilon: {plan.EpsilonLiteral});");
            }
        }
    }

    public override void EmitBackward(SourceWriter writer, BatchNormPlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        string p = plan.Pascal;
        string activation = deltaIsPreActivation ? "global::Backprop.Kernels.Identity" : DenseUnit.ActivationType(plan.Activation);
        writer.Line($"// {plan.Name}: {Describe(plan)}{(deltaIsPreActivation ? " (the loss gave ∂L/∂z)" : "")}");
        writer.Line($"global::Backprop.Kernels.BatchNorm.Backward<{activation}>(");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Input}, parameters.Slice({p}Weight, {p}Channels), {buffers.Saved("statistics")}, {buffers.PreActivation}, {buffers.Output}, {buffers.Delta},");
            writer.Line($"gradients.Slice({p}Weight, {p}Channels), gradients.Slice({p}Bias, {p}Channels), {buffers.InputDelta ?? "default"}, batch, {p}Channels, {p}Plane);");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, BatchNormPlan plan, TensorPlan tensor, string block, string destination)
        => EmitSliceCopyOut(writer, tensor, block, destination);

    public override void EmitCopyIn(SourceWriter writer, BatchNormPlan plan, TensorPlan tensor, string source, string block)
        => EmitSliceCopyIn(writer, tensor, source, block);

    public override void WriteArchitecture(JsonText json, BatchNormPlan plan)
        => json.BeginObject()
            .Property("kind", Kind)
            .Property("name", plan.Name)
            .Property("momentum", plan.Momentum)
            .Property("epsilon", plan.Epsilon)
            .Property("activation", Names.Activation(plan.Activation))
            .EndObject();

    public override void EmitOnnx(SourceWriter writer, BatchNormPlan plan)
        => writer.Line($"x = global::Backprop.OnnxLayers.BatchNorm(onnx, x, \"{plan.Name}\", epsilon: {plan.Epsilon.ToString("R", CultureInfo.InvariantCulture)}f, \"{Names.Activation(plan.Activation)}\");");

    public override string Describe(BatchNormPlan plan)
    {
        string text = $"BatchNorm{(plan.IsImage ? "2d" : "1d")} {plan.InputShape}, momentum {plan.Momentum.ToString("R", CultureInfo.InvariantCulture)}, ε {plan.Epsilon.ToString("R", CultureInfo.InvariantCulture)}";
        return plan.Activation == Names.Linear ? text : text + ", " + Names.Activation(plan.Activation);
    }
}
