using System.Collections.Generic;
using Backprop.Generator.Model;
using Backprop.Generator.Diagnostics;
using Backprop.Generator.Shapes;
using static Backprop.Generator.Diagnostics.DiagnosticTable;

namespace Backprop.Generator.Layers;

/// <summary>The argument rules layer kinds share: counts and sizes, the activation, the image shape a 2-D layer needs.</summary>
internal static class Arguments
{
    /// <summary>
    /// A constant integer argument of at least <paramref name="minimum"/>; null (after adding an error) when it is missing,
    /// not a constant integer, or smaller. <paramref name="fallback"/> is used when the argument is absent and optional.
    /// </summary>
    public static int? Integer(AttributeSpec attribute, string argument, string what, string layer, int minimum, List<ShapeError> errors, int? fallback = null)
    {
        var value = attribute.Find(argument);
        if (value is null && fallback is not null)
        {
            return fallback;
        }
        if (value is null || value.Kind != ArgumentKind.Integer)
        {
            errors.Add(NotConstant.At(attribute.Ordinal, value is null ? null : argument, layer, what));
            return null;
        }
        if (value.Number < minimum)
        {
            errors.Add(minimum == 0
                ? Negative.At(attribute.Ordinal, argument, layer, what, value.Number)
                : BelowMinimum.At(attribute.Ordinal, argument, layer, what, value.Number, minimum));
            return null;
        }
        return (int)value.Number;
    }

    /// <summary>
    /// The <c>Activation</c> property: Linear when absent. Softmax is refused with <paramref name="softmax"/> (the
    /// layer's reason) when one is given.
    /// </summary>
    public static int Activation(AttributeSpec attribute, string layer, List<ShapeError> errors, DiagnosticMessage? softmax)
    {
        var argument = attribute.Find("Activation");
        if (argument is null)
        {
            return Names.Linear;
        }
        if (argument.Kind != ArgumentKind.Enum || argument.Number < 0 || argument.Number >= Names.Activations.Length)
        {
            errors.Add(UnknownActivation.At(attribute.Ordinal, "Activation", layer, string.Join(", ", Names.Activations)));
            return Names.Linear;
        }
        if ((int)argument.Number == Names.Softmax && softmax is not null)
        {
            errors.Add(softmax.At(attribute.Ordinal, "Activation", layer));
        }
        return (int)argument.Number;
    }

    /// <summary>A boolean property, or <paramref name="fallback"/> when absent.</summary>
    public static bool Boolean(AttributeSpec attribute, string argument, bool fallback) =>
        attribute.Find(argument) is { Kind: ArgumentKind.Boolean } value ? value.Number != 0 : fallback;

    /// <summary>
    /// Whether the sample is [channels, height, width], as a 2-D layer needs; false (after a BPG0017 error naming what
    /// arrives) for any other rank.
    /// </summary>
    public static bool IsImage(LayerInput input, string layer, AttributeSpec attribute, List<ShapeError> errors)
    {
        if (input.Shape.Rank == 3)
        {
            return true;
        }
        errors.Add(NotAnImage.At(attribute.Ordinal, null, layer, input.From, input.Shape));
        return false;
    }
}
