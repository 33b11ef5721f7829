using System.Collections.Generic;
using System.Globalization;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Layers;

/// <summary>The argument rules layer kinds share: counts and sizes, the activation, the image shape a 2-D layer needs.</summary>
internal static class Arguments
{
    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

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
            errors.Add(new ShapeError(DiagnosticIds.InvalidArgument, $"{layer} needs a constant {what}.", attribute.Ordinal, value is null ? null : argument));
            return null;
        }
        if (value.Number < minimum)
        {
            errors.Add(new ShapeError(DiagnosticIds.NonPositiveSize,
                minimum == 0
                    ? $"{layer} has {what} {Text(value.Number)}; it cannot be negative."
                    : $"{layer} has {what} {Text(value.Number)}; it must be at least {minimum.ToString(CultureInfo.InvariantCulture)}.",
                attribute.Ordinal, argument));
            return null;
        }
        return (int)value.Number;
    }

    /// <summary>The <c>Activation</c> property: Linear when absent; Softmax only where <paramref name="softmax"/> allows it.</summary>
    public static int Activation(AttributeSpec attribute, string layer, List<ShapeError> errors, string? softmax)
    {
        var argument = attribute.Find("Activation");
        if (argument is null)
        {
            return Names.Linear;
        }
        if (argument.Kind != ArgumentKind.Enum || argument.Number < 0 || argument.Number >= Names.Activations.Length)
        {
            errors.Add(new ShapeError(DiagnosticIds.InvalidArgument,
                $"{layer} has an Activation that is not one of {string.Join(", ", Names.Activations)}.", attribute.Ordinal, "Activation"));
            return Names.Linear;
        }
        if ((int)argument.Number == Names.Softmax && softmax is not null)
        {
            errors.Add(new ShapeError(DiagnosticIds.SoftmaxNotLast, $"{layer} uses Softmax, {softmax}", attribute.Ordinal, "Activation"));
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
        errors.Add(new ShapeError(DiagnosticIds.ShapeMismatch,
            $"{layer} needs [channels, height, width] samples, but {input.From} gives {input.Shape}; declare the input as [Input(channels, height, width)], or put the layer before Flatten and Dense.",
            attribute.Ordinal, null));
        return false;
    }
}
