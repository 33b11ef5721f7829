using System.Collections.Generic;
using Backprop.Generator.Emit;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>The plan of a dense layer: <c>y = f(x Wᵀ + b)</c>.</summary>
/// <remarks>
/// Any input shape: the layer reads a sample as its flat vector of values (PyTorch's <c>nn.Flatten</c> order); with
/// <paramref name="PerStep"/>, a [steps, features] sample step by step (PyTorch's <c>nn.Linear</c> on the last axis).
/// </remarks>
internal sealed record DensePlan(string Name, Shape In, int Units, int ParameterOffset, int Activation, bool PerStep = false)
    : LayerPlan("Dense", Name, In, PerStep ? Shape.Of(In[0], Units) : Shape.Of(Units), ParameterOffset, (PerStep ? In[1] : In.Size) * Units + Units, Activation)
{
    /// <summary>The inputs of one product row: every value of a sample, or one step's features.</summary>
    public int Features => PerStep ? InputShape[1] : InputSize;

    /// <summary>The rows per sample: the steps when applied per step, else 1.</summary>
    public int Steps => PerStep ? InputShape[0] : 1;

    /// <summary>Offset of Wᵀ, stored [inputs, units] (the forward kernel reads it along rows).</summary>
    public int WeightOffset => ParameterOffset;

    public int BiasOffset => ParameterOffset + Features * Units;
}

/// <summary>
/// <c>[Dense(units, Activation = ...)]</c>. Weight [units, inputs] and bias [units] in PyTorch's names; inside the
/// parameter block the weight is stored transposed ([inputs, units]), which <c>CopyTensor</c>/<c>SetTensor</c> undo.
/// </summary>
internal sealed class DenseUnit : LayerUnit<DensePlan>
{
    public override string AttributeName => "Backprop.DenseAttribute";

    public override string Kind => "Dense";

    public override string NamePrefix => "dense";

    public override LayerPlan? Plan(AttributeSpec attribute, string name, LayerInput input, List<ShapeError> errors)
    {
        int before = errors.Count;
        var units = attribute.Find("units");
        if (units is null || units.Kind != ArgumentKind.Integer)
        {
            errors.Add(NotConstant.At(attribute.Ordinal, null, $"Dense '{name}'", "number of units"));
        }
        else if (units.Number < 1)
        {
            errors.Add(UnitsBelowOne.At(attribute.Ordinal, "units", $"Dense '{name}'", units.Number));
        }
        else if (input.Shape.LongSize * (long)units.Number + (long)units.Number + input.ParameterOffset > int.MaxValue / 2)
        {
            errors.Add(DenseTooLarge.At(attribute.Ordinal, "units", $"Dense '{name}'", input.Size, units.Number));
        }

        int activation = Names.Linear;
        var argument = attribute.Find("Activation");
        if (argument is not null)
        {
            if (argument.Kind != ArgumentKind.Enum || argument.Number < 0 || argument.Number >= Names.Activations.Length)
            {
                errors.Add(UnknownActivation.At(attribute.Ordinal, "Activation", $"Dense '{name}'", string.Join(", ", Names.Activations)));
            }
            else
            {
                activation = (int)argument.Number;
            }
        }
        bool perStep = Arguments.Boolean(attribute, "PerStep", false);
        if (activation == Names.Softmax && !input.IsLast)
        {
            errors.Add(SoftmaxBeforeLast.At(attribute.Ordinal, "Activation", $"Dense '{name}'"));
        }
        else if (activation == Names.Softmax && perStep)
        {
            errors.Add(SoftmaxPerStep.At(attribute.Ordinal, "Activation", $"Dense '{name}'"));
        }
        if (perStep && input.Shape.Rank != 2)
        {
            errors.Add(PerStepWithoutSteps.At(attribute.Ordinal, "PerStep", $"Dense '{name}'", input.From, input.Shape));
        }

        return errors.Count > before ? null : new DensePlan(name, input.Shape, (int)units!.Number, input.ParameterOffset, activation, perStep);
    }

    public override IEnumerable<TensorPlan> Tensors(DensePlan dense)
    {
        yield return new TensorPlan(dense.Name + ".weight", new EquatableArray<int>(new[] { dense.Units, dense.Features }), dense.WeightOffset, dense.Units * dense.Features);
        yield return new TensorPlan(dense.Name + ".bias", new EquatableArray<int>(new[] { dense.Units }), dense.BiasOffset, dense.Units);
    }

    public override IEnumerable<BufferPlan> Buffers(DensePlan plan)
    {
        if (KeepsPreActivation(plan.Activation))
        {
            yield return new BufferPlan(BufferRole.PreActivation, "_" + plan.Camel + "PreActivation", plan.OutputSize, $"{plan.Name} pre-activation z = x Wᵀ + b");
        }
        yield return new BufferPlan(BufferRole.Output, "_" + plan.Camel + "Output", plan.OutputSize,
            plan.Activation == Names.Linear ? $"{plan.Name} output y = x Wᵀ + b" : $"{plan.Name} output y = {Names.Activation(plan.Activation)}(z)");
        yield return BufferPlan.Delta("_" + plan.Camel + "Delta", plan.OutputSize, $"{plan.Name} delta: ∂L/∂y, then ∂L/∂z in the backward pass");
    }

    public override int ScratchLength(DensePlan plan, bool inputGradient) => inputGradient ? plan.Features * plan.Units : 0;

    /// <summary>
    /// Whether the layer stores z = x Wᵀ + b beside y. The identity, ReLU and leaky ReLU are applied in the forward
    /// product's epilogue and differentiated from y (<c>IActivation.FusesIntoProduct</c>), so they need no z.
    /// </summary>
    internal static bool KeepsPreActivation(int activation) => activation is not (Names.Linear or Names.Relu or Names.LeakyRelu);

    public override void EmitConstants(SourceWriter writer, DensePlan dense)
    {
        var plan = dense;
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: {Describe(plan)}. Wᵀ [{dense.Features}, {dense.Units}] at {dense.WeightOffset}, bias [{dense.Units}] at {dense.BiasOffset}.");
        if (dense.PerStep)
        {
            writer.Line($"private const int {p}Steps = {dense.Steps};");
        }
        writer.Line($"private const int {p}Inputs = {dense.Features};");
        writer.Line($"private const int {p}Units = {dense.Units};");
        writer.Line($"private const int {p}Weight = {dense.WeightOffset};");
        writer.Line($"private const int {p}Bias = {dense.BiasOffset};");
    }

    public override IEnumerable<string> ConstantNames(DensePlan plan)
        => plan.PerStep
            ? [plan.Pascal + "Steps", plan.Pascal + "Inputs", plan.Pascal + "Units", plan.Pascal + "Weight", plan.Pascal + "Bias"]
            : [plan.Pascal + "Inputs", plan.Pascal + "Units", plan.Pascal + "Weight", plan.Pascal + "Bias"];

    /// <summary>The product's rows in a pass: the samples, or every step of every sample.</summary>
    private static string Rows(DensePlan plan) => plan.PerStep ? $"batch * {plan.Pascal}Steps" : "batch";

    public override void EmitInitialization(SourceWriter writer, DensePlan plan, int stream)
    {
        string p = plan.Pascal;
        bool he = plan.Activation is Names.Relu or Names.LeakyRelu or Names.Gelu;
        writer.Line(he
            ? $"// {plan.Name}: He normal for {Names.Activation(plan.Activation)}, σ = √(2 / {plan.Features}); bias zero."
            : $"// {plan.Name}: Glorot normal, σ = √(2 / ({plan.Features} + {plan.Units})); bias zero.");
        string deviation = he
            ? $"global::Backprop.Initialization.HeStandardDeviation({p}Inputs)"
            : $"global::Backprop.Initialization.GlorotStandardDeviation({p}Inputs, {p}Units)";
        writer.Line($"global::Backprop.Initialization.Normal(parameters.Slice({p}Weight, {p}Inputs * {p}Units), {deviation}, seed, stream: {stream});");
        writer.Line($"parameters.Slice({p}Bias, {p}Units).Clear();");
    }

    public override void EmitForward(SourceWriter writer, DensePlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line(plan.Activation != Names.Linear && !KeepsPreActivation(plan.Activation)
            ? $"// {plan.Name}: {Describe(plan)} (applied in the product's epilogue; z is not kept)"
            : $"// {plan.Name}: {Describe(plan)}");
        writer.Line($"global::Backprop.Kernels.Dense.Forward<{ActivationType(plan.Activation)}>(");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Input}, parameters.Slice({p}Weight, {p}Inputs * {p}Units), parameters.Slice({p}Bias, {p}Units),");
            writer.Line($"{buffers.PreActivation}, {buffers.Output}, {Rows(plan)}, {p}Inputs, {p}Units, threads);");
        }
    }

    public override void EmitInputGradient(SourceWriter writer, DensePlan plan, LayerBuffers buffers, bool deltaIsPreActivation)
    {
        string p = plan.Pascal;
        string activation = deltaIsPreActivation ? "global::Backprop.Kernels.Identity" : ActivationType(plan.Activation);
        string note = deltaIsPreActivation ? " (the loss gave ∂L/∂z)" : "";
        writer.Line($"// {plan.Name}: {Describe(plan)}{note}; ∂L/∂z in place{(buffers.InputDelta is null ? "" : ", then ∂L/∂input")}");
        writer.Line($"global::Backprop.Kernels.Dense.InputGradient<{activation}>(");
        using (writer.Indent())
        {
            writer.Line($"parameters.Slice({p}Weight, {p}Inputs * {p}Units), {buffers.PreActivation}, {buffers.Output}, {buffers.Delta},");
            writer.Line($"{buffers.InputDelta ?? "default"}, {(buffers.InputDelta is null ? "default" : "scratch")}, {Rows(plan)}, {p}Inputs, {p}Units, threads: 1);");
        }
        writer.Line(buffers.Input == "inputs"
            ? $"bound = global::System.Math.Max(bound, global::Backprop.Kernels.GradientBound.Scaled(activations.InputMagnitude, {buffers.Delta}, {p}Units, {Rows(plan)}));"
            : $"bound = global::System.Math.Max(bound, global::Backprop.Kernels.GradientBound.Rows({buffers.Input}, {p}Inputs, {buffers.Delta}, {p}Units, {Rows(plan)}));");
    }

    public override void EmitParameterGradients(SourceWriter writer, DensePlan plan, LayerBuffers buffers)
    {
        string p = plan.Pascal;
        writer.Line($"// {plan.Name}: the weight and bias gradients from ∂L/∂z, each block updated as soon as it is complete");
        writer.Line("global::Backprop.Kernels.Dense.ParameterGradients(");
        using (writer.Indent())
        {
            writer.Line($"{buffers.Input}, {buffers.Delta}, gradients.Slice({p}Weight, {p}Inputs * {p}Units), gradients.Slice({p}Bias, {p}Units),");
            writer.Line($"{Rows(plan)}, {p}Inputs, {p}Units, threads: 1,");
            writer.Line($"optimizer is null ? default : new global::Backprop.Kernels.ParameterUpdate(optimizer, parameters, {p}Weight, {p}Bias));");
        }
    }

    public override void EmitCopyOut(SourceWriter writer, DensePlan plan, TensorPlan tensor, string block, string destination)
    {
        string p = plan.Pascal;
        if (tensor.Name.EndsWith(".weight", System.StringComparison.Ordinal))
        {
            writer.Line($"// Stored [inputs, units]; PyTorch's layout is [units, inputs].");
            writer.Line($"global::Backprop.Kernels.Vectors.Transpose({block}.Slice({p}Weight, {p}Inputs * {p}Units), {p}Inputs, {p}Units, {destination});");
        }
        else
        {
            writer.Line($"{block}.Slice({p}Bias, {p}Units).CopyTo({destination});");
        }
    }

    public override void EmitCopyIn(SourceWriter writer, DensePlan plan, TensorPlan tensor, string source, string block)
    {
        string p = plan.Pascal;
        if (tensor.Name.EndsWith(".weight", System.StringComparison.Ordinal))
        {
            writer.Line($"global::Backprop.Kernels.Vectors.Transpose({source}, {p}Units, {p}Inputs, {block}.Slice({p}Weight, {p}Inputs * {p}Units));");
        }
        else
        {
            writer.Line($"{source}.CopyTo({block}.Slice({p}Bias, {p}Units));");
        }
    }

    public override void WriteArchitecture(JsonText json, DensePlan plan)
    {
        json.BeginObject()
            .Property("kind", Kind)
            .Property("name", plan.Name)
            .Property("units", plan.Units)
            .Property("activation", Names.Activation(plan.Activation));
        if (plan.PerStep)
        {
            // Written only when set, so the architecture (and model files) of every other dense layer stay as they were.
            json.Property("per_step", true);
        }
        json.EndObject();
    }

    public override void EmitOnnx(SourceWriter writer, DensePlan plan)
        => writer.Line($"x = global::Backprop.OnnxLayers.Dense(onnx, x, \"{plan.Name}\", flatten: {(plan.InputShape.Rank > 1 && !plan.PerStep ? "true" : "false")}, perStep: {(plan.PerStep ? "true" : "false")}, \"{Names.Activation(plan.Activation)}\");");

    public override string Describe(DensePlan plan)
    {
        string from = plan.PerStep
            ? $"{plan.InputShape} (per step)"
            : plan.InputShape.Rank == 1 ? plan.InputSize.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{plan.InputShape} (flattened)";
        string to = plan.PerStep ? plan.OutputShape.ToString() : plan.OutputSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return plan.Activation == Names.Linear
            ? $"Dense {from} → {to}"
            : $"Dense {from} → {to}, {Names.Activation(plan.Activation)}";
    }

    /// <summary>The runtime activation type for an activation value.</summary>
    internal static string ActivationType(int activation) => activation switch
    {
        Names.Relu => "global::Backprop.Kernels.Relu",
        Names.LeakyRelu => "global::Backprop.Kernels.LeakyRelu",
        Names.Sigmoid => "global::Backprop.Kernels.Sigmoid",
        Names.Tanh => "global::Backprop.Kernels.Tanh",
        Names.Gelu => "global::Backprop.Kernels.Gelu",
        Names.Softmax => "global::Backprop.Kernels.Softmax",
        _ => "global::Backprop.Kernels.Identity",
    };
}
