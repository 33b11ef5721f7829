using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Batch normalization (<c>nn.BatchNorm1d</c>, <c>nn.BatchNorm2d</c>) over a batch laid out [batch, channels, plane]:
/// B = batch, C = channels, S = plane (height × width for images, 1 for flat features), M = B × S values per channel.
/// The training forward pass normalizes with the batch's mean μ and biased variance σ², keeps μ and 1/√(σ² + ε) per
/// channel for the backward pass and the unbiased variance (× M / (M − 1), as PyTorch) for the running statistics,
/// which move toward the batch's once the pass has succeeded (<see cref="UpdateRunningStatistics"/>). The inference forward pass uses the running statistics. Sums run in double across
/// samples, in float vectors within one sample's plane, in the same order on every call.
/// </summary>
public static class BatchNorm
{
    /// <summary>
    /// The training-mode forward pass: <c>z = γ (x − μ) / √(σ² + ε) + β</c>, <c>y = f(z)</c>, with μ and σ² the batch's.
    /// Writes μ into <c>statistics[0..C)</c>, 1/√(σ² + ε) into <c>statistics[C..2C)</c> (for <see cref="Backward"/>) and the
    /// unbiased variance σ² M / (M − 1) into <c>statistics[2C..3C)</c> (for <see cref="UpdateRunningStatistics"/>, which the
    /// network calls once the pass has succeeded, so a refused step leaves the running statistics as they were).
    /// </summary>
    /// <param name="input">x, [batch, channels, plane].</param>
    /// <param name="weight">γ, [channels].</param>
    /// <param name="bias">β, [channels].</param>
    /// <param name="statistics">[3, channels]: the batch's mean, 1/√(σ² + ε), and the unbiased variance.</param>
    /// <param name="z">The pre-activation, [batch, channels, plane]; the output itself when the activation needs no z.</param>
    /// <param name="y">The output, same shape.</param>
    /// <param name="batch">B.</param>
    /// <param name="channels">C.</param>
    /// <param name="plane">S.</param>
    /// <param name="epsilon">Added to the variance, positive.</param>
    /// <exception cref="ArgumentException">A buffer does not fit, or a channel has a single value (M = 1), whose variance is undefined.</exception>
    /// <exception cref="ArithmeticException">A channel's mean or variance overflows a float (inputs near ±3.4e38); nothing outside the pass's buffers changed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TrainingForward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> statistics,
        Span<float> z, Span<float> y, int batch, int channels, int plane, float epsilon)
        where TActivation : struct, IActivation
    {
        int length = Check(input, z, y, weight, bias, batch, channels, plane, "BatchNorm.TrainingForward");
        Require(statistics.Length >= 3 * channels, "BatchNorm.TrainingForward");
        long count = (long)batch * plane;
        if (count < 2)
        {
            throw new ArgumentException($"BatchNorm.TrainingForward: training mode needs more than one value per channel to estimate a variance, but a batch of {batch} with {plane} value(s) per channel gives {count}.");
        }
        for (int c = 0; c < channels; c++)
        {
            // μ = Σ x / M, then σ² = Σ (x − μ)² / M (two passes: no cancellation between large sums).
            double sum = 0;
            for (int n = 0; n < batch; n++)
            {
                sum += Vectors.Sum(input.Slice((n * channels + c) * plane, plane));
            }
            float mean = (float)(sum / count);
            double squares = 0;
            for (int n = 0; n < batch; n++)
            {
                squares += SquaredDeviations(input.Slice((n * channels + c) * plane, plane), mean);
            }
            double variance = squares / count;
            float unbiased = (float)(squares / (count - 1));
            if (!float.IsFinite(mean) || !float.IsFinite(unbiased))
            {
                throw new ArithmeticException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"BatchNorm: channel {c} of the batch has mean {mean} and variance {unbiased}, beyond float range; the running statistics were not updated."));
            }
            float inverse = (float)(1 / Math.Sqrt(variance + epsilon));
            statistics[c] = mean;
            statistics[channels + c] = inverse;
            statistics[2 * channels + c] = unbiased;

            // z = a x + b with a = γ / √(σ² + ε) and b = β − μ a.
            float scale = weight[c] * inverse, shift = bias[c] - mean * scale;
            for (int n = 0; n < batch; n++)
            {
                int start = (n * channels + c) * plane;
                Affine(input.Slice(start, plane), z.Slice(start, plane), scale, shift);
            }
        }
        TActivation.Forward(z[..length], y[..length], 1, length);
    }

    /// <summary>
    /// Moves the running statistics toward a training pass's (as PyTorch's <c>momentum</c>):
    /// <c>running = (1 − momentum) running + momentum batch</c>, the mean and the unbiased variance that
    /// <see cref="TrainingForward"/> kept in <paramref name="statistics"/>.
    /// </summary>
    /// <param name="statistics">[3, channels] from <see cref="TrainingForward"/>.</param>
    /// <param name="runningMean">The running mean, [channels], updated.</param>
    /// <param name="runningVariance">The running variance, [channels], updated.</param>
    /// <param name="channels">C.</param>
    /// <param name="momentum">How far the running statistics move, in [0, 1].</param>
    public static void UpdateRunningStatistics(ReadOnlySpan<float> statistics, Span<float> runningMean, Span<float> runningVariance, int channels, float momentum)
    {
        Require(statistics.Length >= 3 * channels && runningMean.Length == channels && runningVariance.Length == channels, "BatchNorm.UpdateRunningStatistics");
        for (int c = 0; c < channels; c++)
        {
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * statistics[c];
            runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * statistics[2 * channels + c];
        }
    }

    /// <summary>The inference-mode forward pass: <c>z = γ (x − running mean) / √(running variance + ε) + β</c>, <c>y = f(z)</c>.</summary>
    /// <param name="input">x, [batch, channels, plane].</param>
    /// <param name="weight">γ, [channels].</param>
    /// <param name="bias">β, [channels].</param>
    /// <param name="runningMean">The running mean, [channels].</param>
    /// <param name="runningVariance">The running variance, [channels].</param>
    /// <param name="z">The pre-activation; the output itself when the activation needs no z.</param>
    /// <param name="y">The output.</param>
    /// <param name="batch">B.</param>
    /// <param name="channels">C.</param>
    /// <param name="plane">S.</param>
    /// <param name="epsilon">Added to the variance.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InferenceForward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVariance,
        Span<float> z, Span<float> y, int batch, int channels, int plane, float epsilon)
        where TActivation : struct, IActivation
    {
        int length = Check(input, z, y, weight, bias, batch, channels, plane, "BatchNorm.InferenceForward");
        Require(runningMean.Length == channels && runningVariance.Length == channels, "BatchNorm.InferenceForward");
        for (int c = 0; c < channels; c++)
        {
            float scale = (float)(weight[c] / Math.Sqrt((double)runningVariance[c] + epsilon));
            float shift = bias[c] - runningMean[c] * scale;
            for (int n = 0; n < batch; n++)
            {
                int start = (n * channels + c) * plane;
                Affine(input.Slice(start, plane), z.Slice(start, plane), scale, shift);
            }
        }
        TActivation.Forward(z[..length], y[..length], 1, length);
    }

    /// <summary>
    /// The backward pass of a training-mode forward pass, from <c>∂L/∂y</c> in <paramref name="delta"/> (turned into
    /// g = <c>∂L/∂z</c> in place). With x̂ = (x − μ)/√(σ² + ε), per channel:
    /// <c>∂L/∂β = Σ g</c>, <c>∂L/∂γ = Σ g x̂</c> (both overwritten), and unless <paramref name="inputDelta"/> is empty
    /// <c>∂L/∂x = γ/√(σ² + ε) · (g − ∂L/∂β / M − x̂ ∂L/∂γ / M)</c> (overwritten): μ and σ² depend on every x of the
    /// channel, which gives the two mean terms. With an update, γ and β are stepped once their gradients are complete
    /// and the input gradient has used the old γ.
    /// </summary>
    /// <param name="input">The forward pass's x.</param>
    /// <param name="weight">γ.</param>
    /// <param name="statistics">The forward pass's [3, channels]: μ, then 1/√(σ² + ε), then the unbiased variance.</param>
    /// <param name="z">The forward pass's pre-activation (the output itself for activations that need no z).</param>
    /// <param name="y">The forward pass's output.</param>
    /// <param name="delta">∂L/∂y on entry, ∂L/∂z on return.</param>
    /// <param name="weightGradient">∂L/∂γ, [channels].</param>
    /// <param name="biasGradient">∂L/∂β, [channels].</param>
    /// <param name="inputDelta">∂L/∂x, or empty for the first layer.</param>
    /// <param name="batch">B.</param>
    /// <param name="channels">C.</param>
    /// <param name="plane">S.</param>
    /// <param name="update">The optimizer step to apply to γ (at <c>WeightOffset</c>) and β (at <c>BiasOffset</c>), or default.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> statistics,
        ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta,
        Span<float> weightGradient, Span<float> biasGradient, Span<float> inputDelta,
        int batch, int channels, int plane, ParameterUpdate update = default)
        where TActivation : struct, IActivation
    {
        int length = batch * channels * plane;
        Require(input.Length >= length && z.Length >= length && y.Length >= length && delta.Length >= length
            && weight.Length == channels && weightGradient.Length == channels && biasGradient.Length == channels
            && statistics.Length >= 3 * channels && (inputDelta.IsEmpty || inputDelta.Length >= length), "BatchNorm.Backward");
        TActivation.Backward(z[..length], y[..length], delta[..length], 1, length);
        long count = (long)batch * plane;
        for (int c = 0; c < channels; c++)
        {
            float mean = statistics[c], inverse = statistics[channels + c];
            double sum = 0, centered = 0;
            for (int n = 0; n < batch; n++)
            {
                int start = (n * channels + c) * plane;
                ReadOnlySpan<float> g = delta.Slice(start, plane);
                sum += Vectors.Sum(g);
                centered += CenteredDot(g, input.Slice(start, plane), mean);
            }
            // ∂L/∂β = Σ g; ∂L/∂γ = Σ g x̂ = Σ g (x − μ) / √(σ² + ε).
            float biasSum = (float)sum, weightSum = (float)(centered * inverse);
            biasGradient[c] = biasSum;
            weightGradient[c] = weightSum;
            if (!inputDelta.IsEmpty)
            {
                // ∂L/∂x = a g + b (x − μ) + d, with a = γ/√(σ² + ε), b = −a ∂L/∂γ /(M √(σ² + ε)), d = −a ∂L/∂β / M.
                float a = weight[c] * inverse;
                float b = (float)(-a * (double)weightSum * inverse / count), d = (float)(-a * (double)biasSum / count);
                for (int n = 0; n < batch; n++)
                {
                    int start = (n * channels + c) * plane;
                    InputGradient(delta.Slice(start, plane), input.Slice(start, plane), inputDelta.Slice(start, plane), a, b, mean, d);
                }
            }
        }
        if (update.Optimizer is { } optimizer)
        {
            optimizer.UpdatePart(update.Parameters.Slice(update.WeightOffset, channels), weightGradient, update.WeightOffset);
            optimizer.UpdatePart(update.Parameters.Slice(update.BiasOffset, channels), biasGradient, update.BiasOffset);
        }
    }

    private static int Check(ReadOnlySpan<float> input, Span<float> z, Span<float> y, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int batch, int channels, int plane, string kernel)
    {
        Require(batch >= 1 && channels >= 1 && plane >= 1, kernel);
        long length = (long)batch * channels * plane;
        Require(length <= int.MaxValue && input.Length >= length && z.Length >= length && y.Length >= length
            && weight.Length == channels && bias.Length == channels, kernel);
        return (int)length;
    }

    /// <summary>Σ (x − mean)², in float vectors, reduced once, then the tail.</summary>
    private static double SquaredDeviations(ReadOnlySpan<float> x, float mean)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return SquaredDeviations<Simd512, Vector512<float>>(x, mean);
        }
        return Vector256.IsHardwareAccelerated ? SquaredDeviations<Simd256, Vector256<float>>(x, mean) : SquaredDeviations<Simd128, Vector128<float>>(x, mean);
    }

    private static double SquaredDeviations<TS, TV>(ReadOnlySpan<float> x, float mean) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float s = ref MemoryMarshal.GetReference(x);
        var negativeMean = TS.Broadcast(-mean);
        var partial = TS.Zero;
        int i = 0;
        for (; i + TS.Count <= x.Length; i += TS.Count)
        {
            var d = TS.Add(TS.Load(ref Unsafe.Add(ref s, i)), negativeMean);
            partial = TS.MultiplyAdd(d, d, partial);
        }
        double sum = TS.Sum(partial);
        for (; i < x.Length; i++)
        {
            float d = Unsafe.Add(ref s, i) - mean;
            sum += d * d;
        }
        return sum;
    }

    /// <summary>Σ g (x − mean).</summary>
    private static double CenteredDot(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float mean)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return CenteredDot<Simd512, Vector512<float>>(g, x, mean);
        }
        return Vector256.IsHardwareAccelerated ? CenteredDot<Simd256, Vector256<float>>(g, x, mean) : CenteredDot<Simd128, Vector128<float>>(g, x, mean);
    }

    private static double CenteredDot<TS, TV>(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float mean) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float gs = ref MemoryMarshal.GetReference(g);
        ref float xs = ref MemoryMarshal.GetReference(x);
        var negativeMean = TS.Broadcast(-mean);
        var partial = TS.Zero;
        int i = 0;
        for (; i + TS.Count <= g.Length; i += TS.Count)
        {
            partial = TS.MultiplyAdd(TS.Load(ref Unsafe.Add(ref gs, i)), TS.Add(TS.Load(ref Unsafe.Add(ref xs, i)), negativeMean), partial);
        }
        double sum = TS.Sum(partial);
        for (; i < g.Length; i++)
        {
            sum += Unsafe.Add(ref gs, i) * (Unsafe.Add(ref xs, i) - mean);
        }
        return sum;
    }

    /// <summary><c>z = scale x + shift</c>.</summary>
    private static void Affine(ReadOnlySpan<float> x, Span<float> z, float scale, float shift)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Affine<Simd512, Vector512<float>>(x, z, scale, shift);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Affine<Simd256, Vector256<float>>(x, z, scale, shift);
        }
        else
        {
            Affine<Simd128, Vector128<float>>(x, z, scale, shift);
        }
    }

    private static void Affine<TS, TV>(ReadOnlySpan<float> x, Span<float> z, float scale, float shift) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float zs = ref MemoryMarshal.GetReference(z);
        TV a = TS.Broadcast(scale), b = TS.Broadcast(shift);
        int i = 0;
        for (; i + TS.Count <= x.Length; i += TS.Count)
        {
            TS.Store(TS.MultiplyAdd(TS.Load(ref Unsafe.Add(ref xs, i)), a, b), ref Unsafe.Add(ref zs, i));
        }
        for (; i < x.Length; i++)
        {
            Unsafe.Add(ref zs, i) = Unsafe.Add(ref xs, i) * scale + shift;
        }
    }

    /// <summary><c>dx = a g + b (x − mean) + d</c>.</summary>
    private static void InputGradient(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx, float a, float b, float mean, float d)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            InputGradient<Simd512, Vector512<float>>(g, x, dx, a, b, mean, d);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            InputGradient<Simd256, Vector256<float>>(g, x, dx, a, b, mean, d);
        }
        else
        {
            InputGradient<Simd128, Vector128<float>>(g, x, dx, a, b, mean, d);
        }
    }

    private static void InputGradient<TS, TV>(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx, float a, float b, float mean, float d)
        where TS : struct, ISimd<TV> where TV : struct
    {
        ref float gs = ref MemoryMarshal.GetReference(g);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ds = ref MemoryMarshal.GetReference(dx);
        TV va = TS.Broadcast(a), vb = TS.Broadcast(b), vd = TS.Broadcast(d), negativeMean = TS.Broadcast(-mean);
        int i = 0;
        for (; i + TS.Count <= g.Length; i += TS.Count)
        {
            var centered = TS.Add(TS.Load(ref Unsafe.Add(ref xs, i)), negativeMean);
            TS.Store(TS.MultiplyAdd(TS.Load(ref Unsafe.Add(ref gs, i)), va, TS.MultiplyAdd(centered, vb, vd)), ref Unsafe.Add(ref ds, i));
        }
        for (; i < g.Length; i++)
        {
            Unsafe.Add(ref ds, i) = a * Unsafe.Add(ref gs, i) + (b * (Unsafe.Add(ref xs, i) - mean) + d);
        }
    }

    private static void Require(bool condition, string kernel)
    {
        if (!condition)
        {
            throw new ArgumentException($"{kernel}: a buffer does not fit the batch, the channels or the plane.");
        }
    }
}
