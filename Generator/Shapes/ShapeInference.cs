using System.Collections.Generic;
using System.Linq;
using System.Globalization;
using Backprop.Generator.Layers;
using static Backprop.Generator.Diagnostics.DiagnosticTable;
using Backprop.Generator.Model;

namespace Backprop.Generator.Shapes;

/// <summary>The outcome of shape inference: a plan when the network is valid, and every rule it breaks.</summary>
internal sealed record ShapeResult(NetworkPlan? Plan, EquatableArray<ShapeError> Errors);

/// <summary>
/// Shape inference: one pure routine (no Roslyn types) that the generator and the analyzer share, so a rule is
/// written once. Layer-specific rules live in each <see cref="LayerUnit"/>; this routine checks the network as a
/// whole and threads the shapes through the layers.
/// </summary>
internal static class ShapeInference
{
    public static ShapeResult Infer(NetworkDeclaration declaration)
    {
        var errors = new List<ShapeError>();
        string network = declaration.DisplayName;

        bool bothNotPartial = declaration.Problems.Contains(DeclarationProblem.NotPartial) && declaration.Problems.Contains(DeclarationProblem.ContainingTypeNotPartial);
        foreach (var problem in declaration.Problems)
        {
            if (bothNotPartial && problem == DeclarationProblem.ContainingTypeNotPartial)
            {
                continue;
            }
            errors.Add(bothNotPartial && problem == DeclarationProblem.NotPartial
                ? ClassAndEnclosingTypesNotPartial.At(-1, null, network)
                : Describe(problem, network));
        }
        if (declaration.LayersElsewhere > 0)
        {
            errors.Add(LayersOnAnotherDeclaration.At(-1, null, network, declaration.LayersElsewhere));
        }

        int loss = declaration.Loss ?? Names.SoftmaxCrossEntropy;
        if (loss < 0 || loss >= Names.Losses.Length)
        {
            errors.Add(UnknownLoss.At(declaration.NetworkOrdinal, "Loss", network, string.Join(", ", Names.Losses)));
        }

        Shape? shape = null;
        if (declaration.Input is null)
        {
            errors.Add(NoInput.At(declaration.NetworkOrdinal, null, network));
        }
        else
        {
            shape = InputShape(network, declaration.Input, errors);
        }

        Shape? inputShape = shape;
        if (declaration.Layers.Count == 0)
        {
            errors.Add(NoLayer.At(declaration.NetworkOrdinal, null, network));
        }

        var plans = new List<LayerPlan>();
        var names = new HashSet<string>(System.StringComparer.Ordinal);
        var identifiers = new HashSet<string>(System.StringComparer.Ordinal);
        var ordinals = new Dictionary<string, int>(System.StringComparer.Ordinal);
        string from = "the input";
        int offset = 0, stateOffset = 0;
        for (int i = 0; i < declaration.Layers.Count; i++)
        {
            var attribute = declaration.Layers[i];
            var unit = LayerRegistry.ForAttribute(attribute.Kind);
            if (unit is null)
            {
                errors.Add(UnknownLayerKind.At(attribute.Ordinal, null, attribute.Kind));
                shape = null;
                continue;
            }
            ordinals.TryGetValue(unit.Kind, out int ordinal);
            ordinals[unit.Kind] = ++ordinal;
            string name = unit.NamePrefix + ordinal.ToString(CultureInfo.InvariantCulture);

            var nameArgument = attribute.Find("Name");
            if (nameArgument is { Kind: ArgumentKind.String, Text: not null })
            {
                if (!IsValidName(nameArgument.Text))
                {
                    errors.Add(UnusableName.At(attribute.Ordinal, "Name", nameArgument.Text));
                }
                else
                {
                    name = nameArgument.Text;
                }
            }
            // Generated members are named after the layer (dense1 → Dense1Units), so names that differ only in case
            // or underscores ("h" and "H", "a_b" and "aB") would collide there too.
            if (!names.Add(name) | !identifiers.Add(Identifiers.Pascal(name)))
            {
                errors.Add(NameUsedTwice.At(attribute.Ordinal, nameArgument is null ? null : "Name", network, name));
            }

            if (attribute.HasErrors)
            {
                errors.Add(UnboundArguments.At(attribute.Ordinal, null, $"{unit.Kind} '{name}'"));
                shape = null;
                continue;
            }
            if (shape is null)
            {
                continue;
            }
            var plan = unit.Plan(attribute, name, new LayerInput(shape, from, offset, i == 0, i == declaration.Layers.Count - 1, attribute.Ordinal, stateOffset), errors);
            if (plan is null)
            {
                shape = null;
                continue;
            }
            plans.Add(plan);
            shape = plan.OutputShape;
            offset += plan.ParameterCount;
            stateOffset += plan.StateCount;
            from = "'" + name + "'";
        }

        if (plans.Count == declaration.Layers.Count && plans.Count > 0)
        {
            CheckLoss(network, loss, plans[plans.Count - 1], declaration, errors);
        }

        if (errors.Count == 0 || errors.TrueForAll(e => e.IsWarning))
        {
            var candidate = new NetworkPlan(declaration.Namespace, declaration.ContainingTypes, declaration.ClassName, loss, inputShape!, new EquatableArray<LayerPlan>(plans.ToArray()), declaration.Weights);
            if (Emit.GeneratedNames.Of(candidate).Contains(declaration.ClassName))
            {
                errors.Add(ClassNamedLikeMember.At(-1, null, network, declaration.ClassName));
            }
        }

        bool valid = true;
        foreach (var error in errors)
        {
            valid &= error.IsWarning;
        }
        var result = valid
            ? new NetworkPlan(declaration.Namespace, declaration.ContainingTypes, declaration.ClassName, loss, inputShape!, new EquatableArray<LayerPlan>(plans.ToArray()), declaration.Weights)
            : null;
        return new ShapeResult(result, new EquatableArray<ShapeError>(errors.ToArray()));
    }

    /// <summary>The shape <c>[Input(...)]</c> declares, or null after adding what is wrong with it.</summary>
    private static Shape? InputShape(string network, AttributeSpec input, List<ShapeError> errors)
    {
        var argument = input.Find("shape");
        if (input.HasErrors || argument is null || argument.Kind != ArgumentKind.Array || argument.Items.Count == 0
            || argument.Items.Any(item => item.Kind != ArgumentKind.Integer))
        {
            errors.Add(InputNotConstant.At(input.Ordinal, null, network));
            return null;
        }
        var dimensions = argument.Items.Select(item => item.Number).ToArray();
        if (dimensions.Length == 1 && dimensions[0] < 1)
        {
            errors.Add(InputSizeBelowOne.At(input.Ordinal, "shape", network, dimensions[0]));
            return null;
        }
        for (int i = 0; i < dimensions.Length; i++)
        {
            if (dimensions[i] < 1)
            {
                errors.Add(InputDimensionBelowOne.At(input.Ordinal, $"shape[{i.ToString(CultureInfo.InvariantCulture)}]", network, dimensions[i], i + 1, dimensions.Length));
                return null;
            }
        }
        var shape = new Shape(new EquatableArray<int>(dimensions.Select(d => (int)d).ToArray()));
        if (shape.LongSize > int.MaxValue / 2)
        {
            errors.Add(InputTooLarge.At(input.Ordinal, "shape", network, shape));
            return null;
        }
        return shape;
    }

    private static void CheckLoss(string network, int loss, LayerPlan last, NetworkDeclaration declaration, List<ShapeError> errors)
    {
        int lastOrdinal = declaration.Layers[declaration.Layers.Count - 1].Ordinal;
        if (loss == Names.SoftmaxCrossEntropy && last.OutputSize == 1)
        {
            errors.Add(SoftmaxOverOneOutput.At(declaration.NetworkOrdinal, "Loss", network, last.Name) with { Fix = "Loss.BinaryCrossEntropy" });
        }
        if (loss == Names.BinaryCrossEntropy && last.Activation == Names.Softmax)
        {
            errors.Add(BinaryCrossEntropyOnSoftmax.At(lastOrdinal, "Activation", network, last.Name) with { Fix = "Activation.Sigmoid" });
        }
        if (loss == Names.SoftmaxCrossEntropy && last.OutputSize > 1 && last.Activation is Names.Sigmoid or Names.Tanh or Names.Relu)
        {
            var error = last.Activation == Names.Relu
                ? CrossEntropyOnRelu.At(lastOrdinal, "Activation", network, last.Name)
                : CrossEntropyOnSqueezed.At(lastOrdinal, "Activation", network, Names.Activation(last.Activation), last.Name, last.Activation == Names.Sigmoid ? "(0, 1)" : "(-1, 1)");
            errors.Add(error with { Fix = "Activation.Softmax" });
        }
        if (loss == Names.BinaryCrossEntropy && last.Activation is Names.Relu or Names.Tanh)
        {
            var message = last.Activation == Names.Relu ? BinaryCrossEntropyOnRelu : BinaryCrossEntropyOnTanh;
            errors.Add(message.At(lastOrdinal, "Activation", network, last.Name) with { Fix = "Activation.Sigmoid" });
        }
        if (loss == Names.MeanSquaredError && last.Activation == Names.Softmax)
        {
            errors.Add(SquaredErrorOnSoftmax.At(declaration.NetworkOrdinal, "Loss", network, last.Name) with { Fix = "Loss.SoftmaxCrossEntropy" });
        }
    }

    private static bool IsValidName(string name)
    {
        if (name.Length == 0 || !(char.IsLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }
        foreach (char c in name)
        {
            if (!(char.IsLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return true;
    }

    private static ShapeError Describe(DeclarationProblem problem, string network) => (problem switch
    {
        DeclarationProblem.NotPartial => ClassNotPartial,
        DeclarationProblem.ContainingTypeNotPartial => EnclosingTypeNotPartial,
        DeclarationProblem.Generic => GenericClass,
        DeclarationProblem.Static => StaticClass,
        DeclarationProblem.Record => RecordClass,
        DeclarationProblem.FileLocal => FileLocalClass,
        _ => AbstractClass,
    }).At(-1, null, network);
}
