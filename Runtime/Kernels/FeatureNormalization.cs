using System;

namespace Backprop.Kernels;

/// <summary>The passes of a <c>[Normalization]</c> layer: per feature, <c>y = (x − mean) / √variance</c> (1 where the variance is 0).</summary>
public static class FeatureNormalization
{
    /// <summary>Variances at or below this divide by 1: the feature is constant.</summary>
    public const float SmallestVariance = 1e-12f;

    /// <summary>The factor of a feature: <c>1 / √variance</c>, or 1 for a constant feature.</summary>
    public static float Scale(float variance) => variance > SmallestVariance ? 1f / MathF.Sqrt(variance) : 1f;

    /// <summary><c>y[b, f] = (x[b, f] − mean[f]) · Scale(variance[f])</c> for <paramref name="batch"/> rows of <paramref name="features"/>.</summary>
    public static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, Span<float> output, int batch, int features)
    {
        Check(input, mean, variance, output, batch, features);
        for (int f = 0; f < features; f++)
        {
            float m = mean[f], s = Scale(variance[f]);
            for (int b = 0; b < batch; b++)
            {
                output[b * features + f] = (input[b * features + f] - m) * s;
            }
        }
    }

    /// <summary><c>∂L/∂x[b, f] = ∂L/∂y[b, f] · Scale(variance[f])</c>.</summary>
    public static void Backward(ReadOnlySpan<float> delta, ReadOnlySpan<float> variance, Span<float> inputGradient, int batch, int features)
    {
        Check(delta, variance, variance, inputGradient, batch, features);
        for (int f = 0; f < features; f++)
        {
            float s = Scale(variance[f]);
            for (int b = 0; b < batch; b++)
            {
                inputGradient[b * features + f] = delta[b * features + f] * s;
            }
        }
    }

    private static void Check(ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, ReadOnlySpan<float> output, int batch, int features)
    {
        long values = (long)batch * features;
        if (batch < 0 || features < 1 || input.Length < values || output.Length < values || mean.Length < features || variance.Length < features)
        {
            throw new ArgumentException($"FeatureNormalization: a buffer does not fit {batch} rows of {features} features.");
        }
    }
}
