using System.Collections.Generic;
using System.Linq;
using System.Globalization;
using Backprop.Generator.Layers;
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
                ? new ShapeError(DiagnosticIds.NotPartial, $"'{network}' and the types enclosing it must be declared partial so the generator can add the network's members.", -1, null)
                : Describe(problem, network));
        }
        if (declaration.LayersElsewhere > 0)
        {
            errors.Add(new ShapeError(DiagnosticIds.SplitDeclaration,
                $"'{network}' has {declaration.LayersElsewhere} layer or input attribute(s) on another partial declaration; put all of them on the declaration with [Network], in order.",
                -1, null));
        }

        int loss = declaration.Loss ?? Names.SoftmaxCrossEntropy;
        if (loss < 0 || loss >= Names.Losses.Length)
        {
            errors.Add(new ShapeError(DiagnosticIds.InvalidArgument,
                $"'{network}' has a Loss that is not one of {string.Join(", ", Names.Losses)}.", declaration.NetworkOrdinal, "Loss"));
        }

        Shape? shape = null;
        if (declaration.Input is null)
        {
            errors.Add(new ShapeError(DiagnosticIds.MissingInput,
                $"'{network}' has no [Input(...)]; declare the shape of one sample, e.g. [Input(784)] or [Input(1, 28, 28)] (channels, height, width).", declaration.NetworkOrdinal, null));
        }
        else
        {
            shape = InputShape(network, declaration.Input, errors);
        }

        Shape? inputShape = shape;
        if (declaration.Layers.Count == 0)
        {
            errors.Add(new ShapeError(DiagnosticIds.NoLayers,
                $"'{network}' has no layers; add at least one, e.g. [Dense(10)].", declaration.NetworkOrdinal, null));
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
                errors.Add(new ShapeError(DiagnosticIds.InvalidArgument,
                    $"'{attribute.Kind}' derives from LayerAttribute but is not a layer kind this version of Backprop.Gen knows.", attribute.Ordinal, null));
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
                    errors.Add(new ShapeError(DiagnosticIds.InvalidArgument,
                        $"Layer name \"{nameArgument.Text}\" is not usable: use letters, digits and '_' (no dots or spaces), starting with a letter or '_'.",
                        attribute.Ordinal, "Name"));
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
                errors.Add(new ShapeError(DiagnosticIds.DuplicateName,
                    $"Two layers of '{network}' are named '{name}' (or names that differ only in case or '_'); tensor and member names must be unique.", attribute.Ordinal, nameArgument is null ? null : "Name"));
            }

            if (attribute.HasErrors)
            {
                errors.Add(new ShapeError(DiagnosticIds.InvalidArgument,
                    $"{unit.Kind} '{name}' has arguments the compiler could not bind; fix them first.", attribute.Ordinal, null));
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
                errors.Add(new ShapeError(DiagnosticIds.GeneratedMemberCollision,
                    $"'{network}' is named like a member the generator adds to the network ('{declaration.ClassName}'), and C# forbids a member named like its class (CS0542); rename the class (docs/user-guide.md lists the names the generator uses).",
                    -1, null));
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
            errors.Add(new ShapeError(DiagnosticIds.InvalidArgument,
                $"[Input] of '{network}' needs constant dimensions, e.g. [Input(784)] or [Input(1, 28, 28)] (channels, height, width).", input.Ordinal, null));
            return null;
        }
        var dimensions = argument.Items.Select(item => item.Number).ToArray();
        if (dimensions.Length == 1 && dimensions[0] < 1)
        {
            errors.Add(new ShapeError(DiagnosticIds.NonPositiveSize,
                $"[Input] of '{network}' has size {dimensions[0].ToString(CultureInfo.InvariantCulture)}; a sample needs at least 1 feature.", input.Ordinal, "shape"));
            return null;
        }
        for (int i = 0; i < dimensions.Length; i++)
        {
            if (dimensions[i] < 1)
            {
                errors.Add(new ShapeError(DiagnosticIds.NonPositiveSize,
                    $"[Input] of '{network}' has {dimensions[i].ToString(CultureInfo.InvariantCulture)} as dimension {(i + 1).ToString(CultureInfo.InvariantCulture)} of {dimensions.Length.ToString(CultureInfo.InvariantCulture)}; every dimension must be at least 1.", input.Ordinal, $"shape[{i.ToString(CultureInfo.InvariantCulture)}]"));
                return null;
            }
        }
        var shape = new Shape(new EquatableArray<int>(dimensions.Select(d => (int)d).ToArray()));
        if (shape.LongSize > int.MaxValue / 2)
        {
            errors.Add(new ShapeError(DiagnosticIds.NonPositiveSize,
                $"[Input] of '{network}' declares {shape}, more values per sample than one buffer can hold.", input.Ordinal, "shape"));
            return null;
        }
        return shape;
    }

    private static void CheckLoss(string network, int loss, LayerPlan last, NetworkDeclaration declaration, List<ShapeError> errors)
    {
        int lastOrdinal = declaration.Layers[declaration.Layers.Count - 1].Ordinal;
        if (loss == Names.SoftmaxCrossEntropy && last.OutputSize == 1)
        {
            errors.Add(new ShapeError(DiagnosticIds.LossMismatch,
                $"'{network}' uses SoftmaxCrossEntropy, but its last layer '{last.Name}' gives 1 output: a softmax over one class is always 1. Use BinaryCrossEntropy for one output, or give '{last.Name}' one unit per class.",
                declaration.NetworkOrdinal, "Loss", Fix: "Loss.BinaryCrossEntropy"));
        }
        if (loss == Names.BinaryCrossEntropy && last.Activation == Names.Softmax)
        {
            errors.Add(new ShapeError(DiagnosticIds.LossMismatch,
                $"'{network}' uses BinaryCrossEntropy, but its last layer '{last.Name}' ends in Softmax; use Sigmoid (independent probabilities) or SoftmaxCrossEntropy (one class per sample).",
                lastOrdinal, "Activation", Fix: "Activation.Sigmoid"));
        }
        if (loss == Names.SoftmaxCrossEntropy && last.OutputSize > 1 && last.Activation is Names.Sigmoid or Names.Tanh or Names.Relu)
        {
            errors.Add(new ShapeError(DiagnosticIds.CrossEntropyOnSquashedOutput,
                $"'{network}' uses SoftmaxCrossEntropy on the {Names.Activation(last.Activation)} outputs of '{last.Name}': {Squashed(last.Activation)} Use Activation.Softmax (the loss is fused with it and Predict returns probabilities) or Activation.Linear (Predict returns logits).",
                lastOrdinal, "Activation", IsWarning: true, Fix: "Activation.Softmax"));
        }
        if (loss == Names.BinaryCrossEntropy && last.Activation is Names.Relu or Names.Tanh)
        {
            errors.Add(new ShapeError(DiagnosticIds.BinaryCrossEntropyOnUnboundedOutput,
                $"'{network}' uses BinaryCrossEntropy on the {Names.Activation(last.Activation)} outputs of '{last.Name}': the loss reads them as logits, so the predicted probability can never go below {(last.Activation == Names.Relu ? "0.5 (Relu is never negative)" : "0.27 or above 0.73 (Tanh stays in (-1, 1))")}. Use Activation.Sigmoid (the loss is fused with it and Predict returns probabilities) or Activation.Linear.",
                lastOrdinal, "Activation", IsWarning: true, Fix: "Activation.Sigmoid"));
        }
        if (loss == Names.MeanSquaredError && last.Activation == Names.Softmax)
        {
            errors.Add(new ShapeError(DiagnosticIds.MeanSquaredErrorOnSoftmax,
                $"'{network}' uses MeanSquaredError on the Softmax output of '{last.Name}'; for classification SoftmaxCrossEntropy trains far better.",
                declaration.NetworkOrdinal, "Loss", IsWarning: true, Fix: "Loss.SoftmaxCrossEntropy"));
        }
    }

    private static string Squashed(int activation) => activation == Names.Relu
        ? "every negative logit is cut to 0 and gets no gradient, so a class whose logits go negative can stop learning."
        : $"the softmax sees logits squeezed into {(activation == Names.Sigmoid ? "(0, 1)" : "(-1, 1)")}, so no class can get a probability near 1 and training stalls.";

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

    private static ShapeError Describe(DeclarationProblem problem, string network) => problem switch
    {
        DeclarationProblem.NotPartial => new ShapeError(DiagnosticIds.NotPartial,
            $"'{network}' must be declared partial so the generator can add the network's members.", -1, null),
        DeclarationProblem.ContainingTypeNotPartial => new ShapeError(DiagnosticIds.NotPartial,
            $"'{network}' is nested in a type that is not partial; make every enclosing type partial.", -1, null),
        DeclarationProblem.Generic => new ShapeError(DiagnosticIds.UnsupportedClass,
            $"'{network}' is generic (or nested in a generic type); a network class cannot have type parameters.", -1, null),
        DeclarationProblem.Static => new ShapeError(DiagnosticIds.UnsupportedClass,
            $"'{network}' is static; a network holds parameters, so it must be an instance class.", -1, null),
        DeclarationProblem.Record => new ShapeError(DiagnosticIds.UnsupportedClass,
            $"'{network}' is a record; declare the network as a plain partial class.", -1, null),
        DeclarationProblem.FileLocal => new ShapeError(DiagnosticIds.UnsupportedClass,
            $"'{network}' is a file-local type (or nested in one); the generated half lives in another file, and a file type cannot span files. Remove 'file' (make it internal to hide it).", -1, null),
        _ => new ShapeError(DiagnosticIds.UnsupportedClass,
            $"'{network}' is abstract; a network must be constructible.", -1, null),
    };
}
