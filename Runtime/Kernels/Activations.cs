using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// An activation as a type, so that generated code calls <c>Dense.Forward&lt;Relu&gt;</c> and the JIT
/// specializes the kernel for it. Each works on a whole [rows, columns] block, which lets row-wise
/// activations (softmax) share the interface with element-wise ones.
/// </summary>
public interface IActivation
{
    /// <summary><c>y = f(z)</c> for a [rows, columns] block. <paramref name="z"/> and <paramref name="y"/> may be the same memory.</summary>
    static abstract void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns);

    /// <summary>
    /// <c>δ ← ∂L/∂z</c> from <c>δ = ∂L/∂y</c> in place, given the pre-activation <paramref name="z"/> and output <paramref name="y"/>.
    /// </summary>
    static abstract void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns);

    /// <summary>
    /// Whether the activation fuses into the product before it: element-wise, with vector forms
    /// (<c>Apply</c>) that the matrix product's epilogue uses while the sums are still in registers, and with a
    /// backward pass that needs only the output <c>y</c>, so the pre-activation <c>z</c> is never stored.
    /// </summary>
    static virtual bool FusesIntoProduct => false;

    /// <summary><c>f(z)</c> for one vector (activations that fuse into a product).</summary>
    static virtual Vector512<float> Apply(Vector512<float> z) => throw new NotSupportedException();

    /// <summary><c>f(z)</c> for one vector (activations that fuse into a product).</summary>
    static virtual Vector256<float> Apply(Vector256<float> z) => throw new NotSupportedException();

    /// <summary><c>f(z)</c> for one vector (activations that fuse into a product).</summary>
    static virtual Vector128<float> Apply(Vector128<float> z) => throw new NotSupportedException();
}

/// <summary>The identity: <c>y = z</c>, <c>∂L/∂z = ∂L/∂y</c>. Also used where a fused loss already gives <c>∂L/∂z</c>.</summary>
public readonly struct Identity : IActivation
{
    /// <inheritdoc/>
    public static void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
    {
        int length = rows * columns;
        if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(z), ref MemoryMarshal.GetReference(y)))
        {
            z[..length].CopyTo(y);
        }
    }

    /// <inheritdoc/>
    public static void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns)
    {
    }

    /// <inheritdoc/>
    public static bool FusesIntoProduct => true;

    /// <inheritdoc/>
    public static Vector512<float> Apply(Vector512<float> z) => z;

    /// <inheritdoc/>
    public static Vector256<float> Apply(Vector256<float> z) => z;

    /// <inheritdoc/>
    public static Vector128<float> Apply(Vector128<float> z) => z;
}

/// <summary>
/// <c>max(z, 0)</c>; derivative 1 where <c>z &gt; 0</c>, else 0 (PyTorch's convention at 0). NaN stays NaN, as in
/// PyTorch, so a bad input surfaces as a NaN loss instead of vanishing.
/// </summary>
public readonly struct Relu : IActivation
{
    /// <inheritdoc/>
    public static void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
        => Elementwise.Forward<Relu.Op>(z, y, rows * columns);

    /// <inheritdoc/>
    public static void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns)
        => Elementwise.Backward<Relu.Op>(z, delta, rows * columns);

    /// <inheritdoc/>
    public static bool FusesIntoProduct => true;

    /// <inheritdoc/>
    public static Vector512<float> Apply(Vector512<float> z) => Op.Value(z);

    /// <inheritdoc/>
    public static Vector256<float> Apply(Vector256<float> z) => Op.Value(z);

    /// <inheritdoc/>
    public static Vector128<float> Apply(Vector128<float> z)
        => Vector128.ConditionalSelect(Vector128.LessThan(z, Vector128<float>.Zero), Vector128<float>.Zero, z);

    private readonly struct Op : IElementwise
    {
        public static float Value(float z) => z < 0f ? 0f : z;
        public static float Slope(float z) => z > 0f ? 1f : 0f;
        public static Vector512<float> Value(Vector512<float> z)
            => Vector512.ConditionalSelect(Vector512.LessThan(z, Vector512<float>.Zero), Vector512<float>.Zero, z);
        public static Vector512<float> Slope(Vector512<float> z, Vector512<float> delta)
            => Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), delta, Vector512<float>.Zero);
        public static Vector256<float> Value(Vector256<float> z)
            => Vector256.ConditionalSelect(Vector256.LessThan(z, Vector256<float>.Zero), Vector256<float>.Zero, z);
        public static Vector256<float> Slope(Vector256<float> z, Vector256<float> delta)
            => Vector256.ConditionalSelect(Vector256.GreaterThan(z, Vector256<float>.Zero), delta, Vector256<float>.Zero);
    }
}

/// <summary><c>z</c> for <c>z &gt; 0</c>, else <c>0.01 z</c> (PyTorch's default negative slope).</summary>
public readonly struct LeakyRelu : IActivation
{
    /// <summary>The slope for negative inputs.</summary>
    public const float NegativeSlope = 0.01f;

    /// <inheritdoc/>
    public static void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
        => Elementwise.Forward<LeakyRelu.Op>(z, y, rows * columns);

    /// <inheritdoc/>
    public static void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns)
        => Elementwise.Backward<LeakyRelu.Op>(z, delta, rows * columns);

    /// <inheritdoc/>
    public static bool FusesIntoProduct => true;

    /// <inheritdoc/>
    public static Vector512<float> Apply(Vector512<float> z) => Op.Value(z);

    /// <inheritdoc/>
    public static Vector256<float> Apply(Vector256<float> z) => Op.Value(z);

    /// <inheritdoc/>
    public static Vector128<float> Apply(Vector128<float> z)
        => Vector128.ConditionalSelect(Vector128.GreaterThan(z, Vector128<float>.Zero), z, z * NegativeSlope);

    private readonly struct Op : IElementwise
    {
        public static float Value(float z) => z > 0f ? z : NegativeSlope * z;
        public static float Slope(float z) => z > 0f ? 1f : NegativeSlope;
        public static Vector512<float> Value(Vector512<float> z)
            => Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), z, z * NegativeSlope);
        public static Vector512<float> Slope(Vector512<float> z, Vector512<float> delta)
            => Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), delta, delta * NegativeSlope);
        public static Vector256<float> Value(Vector256<float> z)
            => Vector256.ConditionalSelect(Vector256.GreaterThan(z, Vector256<float>.Zero), z, z * NegativeSlope);
        public static Vector256<float> Slope(Vector256<float> z, Vector256<float> delta)
            => Vector256.ConditionalSelect(Vector256.GreaterThan(z, Vector256<float>.Zero), delta, delta * NegativeSlope);
    }
}

/// <summary>
/// <c>1 / (1 + exp(-z))</c>; derivative <c>y (1 - y)</c>. Vectorized (<c>Vector512.Exp</c> and its narrower forms),
/// without overflow for large negative <c>z</c>; every element takes the vector path (a partial last vector goes
/// through a padded copy), so a value's result does not depend on where it sits in the block.
/// </summary>
public readonly struct Sigmoid : IActivation
{
    /// <inheritdoc/>
    public static void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
        => Elementwise.ForwardPadded<Sigmoid.Op>(z, y, rows * columns);

    /// <inheritdoc/>
    public static void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns)
        => Elementwise.Backward<Sigmoid.OutputSlope>(y, delta, rows * columns);

    /// <summary>The logistic function, without overflow for large negative <paramref name="z"/> (the scalar form).</summary>
    public static float Logistic(float z)
    {
        if (z >= 0f)
        {
            return 1f / (1f + MathF.Exp(-z));
        }
        float e = MathF.Exp(z);
        return e / (1f + e);
    }

    /// <summary>With <c>e = exp(-|z|)</c> (never above 1): <c>1 / (1 + e)</c> for <c>z ≥ 0</c>, <c>e / (1 + e)</c> below, as the scalar form. NaN stays NaN.</summary>
    private readonly struct Op : IElementwise
    {
        public static float Value(float z) => Logistic(z);
        public static float Slope(float z) => throw new NotSupportedException();
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Value(Vector512<float> z)
        {
            var e = Vector512.Exp(-Vector512.Abs(z));
            var numerator = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(z, Vector512<float>.Zero), Vector512<float>.One, e);
            return numerator / (Vector512<float>.One + e);
        }
        public static Vector512<float> Slope(Vector512<float> z, Vector512<float> delta) => throw new NotSupportedException();
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Value(Vector256<float> z)
        {
            var e = Vector256.Exp(-Vector256.Abs(z));
            var numerator = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(z, Vector256<float>.Zero), Vector256<float>.One, e);
            return numerator / (Vector256<float>.One + e);
        }
        public static Vector256<float> Slope(Vector256<float> z, Vector256<float> delta) => throw new NotSupportedException();
    }

    /// <summary>δ · y (1 - y), read from the output (the same arithmetic in every form).</summary>
    private readonly struct OutputSlope : IElementwise
    {
        public static float Value(float y) => throw new NotSupportedException();
        public static float Slope(float y) => y * (1f - y);
        public static Vector512<float> Value(Vector512<float> y) => throw new NotSupportedException();
        public static Vector512<float> Slope(Vector512<float> y, Vector512<float> delta) => delta * (y * (Vector512<float>.One - y));
        public static Vector256<float> Value(Vector256<float> y) => throw new NotSupportedException();
        public static Vector256<float> Slope(Vector256<float> y, Vector256<float> delta) => delta * (y * (Vector256<float>.One - y));
    }
}

/// <summary>
/// The hyperbolic tangent; derivative <c>1 - y²</c>. Vectorized in double precision, <c>(1 - e) / (1 + e)</c> with
/// <c>e = exp(-2|z|)</c> and the sign of <c>z</c> (<c>z</c> itself below 2⁻¹², where that is exact in float), rounded
/// to float once; every element takes the vector path, as for <see cref="Sigmoid"/>.
/// </summary>
public readonly struct Tanh : IActivation
{
    /// <inheritdoc/>
    public static void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
        => Elementwise.ForwardPadded<Tanh.Op>(z, y, rows * columns);

    /// <inheritdoc/>
    public static void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns)
        => Elementwise.Backward<Tanh.OutputSlope>(y, delta, rows * columns);

    private const double Small = 1.0 / 4096;

    private readonly struct Op : IElementwise
    {
        public static float Value(float z) => MathF.Tanh(z);
        public static float Slope(float z) => throw new NotSupportedException();
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Value(Vector512<float> z)
        {
            var (lower, upper) = Vector512.Widen(z);
            return Vector512.Narrow(Of(lower), Of(upper));

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector512<double> Of(Vector512<double> x)
            {
                var a = Vector512.Abs(x);
                var e = Vector512.Exp(-2.0 * a);
                var t = (Vector512<double>.One - e) / (Vector512<double>.One + e);
                t = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<double>.Zero), -t, t);
                return Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(Small)), x, t);
            }
        }
        public static Vector512<float> Slope(Vector512<float> z, Vector512<float> delta) => throw new NotSupportedException();
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Value(Vector256<float> z)
        {
            var (lower, upper) = Vector256.Widen(z);
            return Vector256.Narrow(Of(lower), Of(upper));

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector256<double> Of(Vector256<double> x)
            {
                var a = Vector256.Abs(x);
                var e = Vector256.Exp(-2.0 * a);
                var t = (Vector256<double>.One - e) / (Vector256<double>.One + e);
                t = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero), -t, t);
                return Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(Small)), x, t);
            }
        }
        public static Vector256<float> Slope(Vector256<float> z, Vector256<float> delta) => throw new NotSupportedException();
    }

    /// <summary>δ · (1 - y²), read from the output.</summary>
    private readonly struct OutputSlope : IElementwise
    {
        public static float Value(float y) => throw new NotSupportedException();
        public static float Slope(float y) => 1f - y * y;
        public static Vector512<float> Value(Vector512<float> y) => throw new NotSupportedException();
        public static Vector512<float> Slope(Vector512<float> y, Vector512<float> delta) => delta * (Vector512<float>.One - y * y);
        public static Vector256<float> Value(Vector256<float> y) => throw new NotSupportedException();
        public static Vector256<float> Slope(Vector256<float> y, Vector256<float> delta) => delta * (Vector256<float>.One - y * y);
    }
}

/// <summary>
/// The exact GELU, <c>z Φ(z)</c> with <c>Φ(z) = (1 + erf(z / √2)) / 2</c>, as PyTorch's <c>nn.GELU()</c>;
/// derivative <c>Φ(z) + z φ(z)</c> with the standard normal density <c>φ</c>.
/// </summary>
public readonly struct Gelu : IActivation
{
    private const double InverseSqrt2 = 0.70710678118654752440;
    private const double InverseSqrt2Pi = 0.39894228040143267794;

    /// <inheritdoc/>
    public static void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
        => Elementwise.ForwardPadded<Gelu.Op>(z, y, rows * columns);

    /// <inheritdoc/>
    public static void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns)
        => Elementwise.BackwardPadded<Gelu.Op>(z, delta, rows * columns);

    /// <summary>
    /// In double precision, rounded to float once: <c>x Φ(x)</c> forward, <c>δ (Φ(x) + x φ(x))</c> backward, with the
    /// same <see cref="Erf"/> formulas in the scalar and the vector forms (the vector form's <c>exp</c> is the
    /// runtime's vector one).
    /// </summary>
    private readonly struct Op : IElementwise
    {
        public static float Value(float z)
        {
            double x = z;
            return (float)(x * 0.5 * (1.0 + Erf(x * InverseSqrt2)));
        }

        /// <summary>Φ(x) + x φ(x), for CPUs without accelerated vectors.</summary>
        public static float Slope(float z)
        {
            double x = z;
            return (float)(0.5 * (1.0 + Erf(x * InverseSqrt2)) + x * InverseSqrt2Pi * Math.Exp(-0.5 * x * x));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Value(Vector512<float> z)
        {
            var (lower, upper) = Vector512.Widen(z);
            return Vector512.Narrow(lower * 0.5 * (Vector512<double>.One + ErfVector(lower * InverseSqrt2)),
                upper * 0.5 * (Vector512<double>.One + ErfVector(upper * InverseSqrt2)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Slope(Vector512<float> z, Vector512<float> delta)
        {
            var (lower, upper) = Vector512.Widen(z);
            var (deltaLower, deltaUpper) = Vector512.Widen(delta);
            return Vector512.Narrow(deltaLower * Derivative(lower), deltaUpper * Derivative(upper));

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector512<double> Derivative(Vector512<double> x)
            {
                var cdf = 0.5 * (Vector512<double>.One + ErfVector(x * InverseSqrt2));
                var pdf = InverseSqrt2Pi * Vector512.Exp(-0.5 * x * x);
                return cdf + x * pdf;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Value(Vector256<float> z)
        {
            var (lower, upper) = Vector256.Widen(z);
            return Vector256.Narrow(lower * 0.5 * (Vector256<double>.One + ErfVector(lower * InverseSqrt2)),
                upper * 0.5 * (Vector256<double>.One + ErfVector(upper * InverseSqrt2)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Slope(Vector256<float> z, Vector256<float> delta)
        {
            var (lower, upper) = Vector256.Widen(z);
            var (deltaLower, deltaUpper) = Vector256.Widen(delta);
            return Vector256.Narrow(deltaLower * Derivative(lower), deltaUpper * Derivative(upper));

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector256<double> Derivative(Vector256<double> x)
            {
                var cdf = 0.5 * (Vector256<double>.One + ErfVector(x * InverseSqrt2));
                var pdf = InverseSqrt2Pi * Vector256.Exp(-0.5 * x * x);
                return cdf + x * pdf;
            }
        }
    }

    /// <summary><see cref="Erf"/> on a vector: both of its formulas, each lane taking its own.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<double> ErfVector(Vector512<double> x)
    {
        var ax = Vector512.Abs(x);
        var x2 = x * x;
        var series = 1.1283791670955126 * ax * (Vector512<double>.One - x2 / 3 + x2 * x2 / 10 - x2 * x2 * x2 / 42 + x2 * x2 * x2 * x2 / 216 - x2 * x2 * x2 * x2 * x2 / 1320);
        var t = Vector512<double>.One / (Vector512<double>.One + 0.3275911 * ax);
        var poly = t * (Vector512.Create(0.254829592) + t * (Vector512.Create(-0.284496736) + t * (Vector512.Create(1.421413741) + t * (Vector512.Create(-1.453152027) + t * 1.061405429))));
        var rational = Vector512<double>.One - poly * Vector512.Exp(-ax * ax);
        var result = Vector512.ConditionalSelect(Vector512.LessThan(ax, Vector512.Create(0.5)), series, rational);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<double>.Zero), -result, result);
    }

    /// <summary><see cref="Erf"/> on a vector: both of its formulas, each lane taking its own.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<double> ErfVector(Vector256<double> x)
    {
        var ax = Vector256.Abs(x);
        var x2 = x * x;
        var series = 1.1283791670955126 * ax * (Vector256<double>.One - x2 / 3 + x2 * x2 / 10 - x2 * x2 * x2 / 42 + x2 * x2 * x2 * x2 / 216 - x2 * x2 * x2 * x2 * x2 / 1320);
        var t = Vector256<double>.One / (Vector256<double>.One + 0.3275911 * ax);
        var poly = t * (Vector256.Create(0.254829592) + t * (Vector256.Create(-0.284496736) + t * (Vector256.Create(1.421413741) + t * (Vector256.Create(-1.453152027) + t * 1.061405429))));
        var rational = Vector256<double>.One - poly * Vector256.Exp(-ax * ax);
        var result = Vector256.ConditionalSelect(Vector256.LessThan(ax, Vector256.Create(0.5)), series, rational);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero), -result, result);
    }

    /// <summary>
    /// The error function to about 1e-7 absolute (Abramowitz and Stegun 7.1.26 refined by one Newton-free
    /// series switch): the series near 0, the rational approximation elsewhere. Float outputs need no more.
    /// </summary>
    internal static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double result;
        if (ax < 0.5)
        {
            // Maclaurin series: erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1)); six terms reach 1e-9 here.
            double x2 = x * x;
            result = 1.1283791670955126 * ax * (1 - x2 / 3 + x2 * x2 / 10 - x2 * x2 * x2 / 42 + x2 * x2 * x2 * x2 / 216 - x2 * x2 * x2 * x2 * x2 / 1320);
        }
        else
        {
            // A&S 7.1.26: |error| ≤ 1.5e-7.
            double t = 1.0 / (1.0 + 0.3275911 * ax);
            double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
            result = 1.0 - poly * Math.Exp(-ax * ax);
        }
        return x < 0 ? -result : result;
    }
}

/// <summary>
/// Row-wise softmax, <c>y_j = exp(z_j - max z) / Σ exp(z - max z)</c>; backward
/// <c>∂L/∂z_j = y_j (∂L/∂y_j - Σ_i y_i ∂L/∂y_i)</c>.
/// </summary>
public readonly struct Softmax : IActivation
{
    /// <inheritdoc/>
    public static void Forward(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
    {
        // z - max(z) per row, exp over the whole block at once (vectorized), then each row scaled by 1 / its sum.
        SubtractRowMaximum(z, y, rows, columns);
        Vectors.Exp(y[..(rows * columns)]);
        for (int r = 0; r < rows; r++)
        {
            Span<float> yr = y.Slice(r * columns, columns);
            double sum = 0;
            foreach (float e in yr)
            {
                sum += e;
            }
            float scale = (float)(1.0 / sum);
            for (int j = 0; j < columns; j++)
            {
                yr[j] *= scale;
            }
        }
    }

    /// <summary>
    /// <c>y = z - max(z)</c> per row (the shift that keeps <c>exp</c> finite); <paramref name="z"/> and
    /// <paramref name="y"/> may be the same memory. Shared with the softmax cross-entropy.
    /// </summary>
    internal static void SubtractRowMaximum(ReadOnlySpan<float> z, Span<float> y, int rows, int columns)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> zr = z.Slice(r * columns, columns);
            Span<float> yr = y.Slice(r * columns, columns);
            float max = float.NegativeInfinity;
            foreach (float value in zr)
            {
                max = MathF.Max(max, value);
            }
            for (int j = 0; j < columns; j++)
            {
                yr[j] = zr[j] - max;
            }
        }
    }

    /// <inheritdoc/>
    public static void Backward(ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta, int rows, int columns)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> yr = y.Slice(r * columns, columns);
            Span<float> dr = delta.Slice(r * columns, columns);
            double dot = 0;
            for (int j = 0; j < columns; j++)
            {
                dot += (double)yr[j] * dr[j];
            }
            for (int j = 0; j < columns; j++)
            {
                dr[j] = yr[j] * (float)(dr[j] - dot);
            }
        }
    }
}

/// <summary>An element-wise function with scalar and vector forms (the TensorPrimitives operator pattern).</summary>
internal interface IElementwise
{
    static abstract float Value(float z);
    /// <summary>f'(z).</summary>
    static abstract float Slope(float z);
    static abstract Vector512<float> Value(Vector512<float> z);
    /// <summary>delta · f'(z).</summary>
    static abstract Vector512<float> Slope(Vector512<float> z, Vector512<float> delta);
    static abstract Vector256<float> Value(Vector256<float> z);
    static abstract Vector256<float> Slope(Vector256<float> z, Vector256<float> delta);
}

/// <summary>
/// The one loop driver for element-wise activations: the widest accelerated vectors (512 or 256 bits), then a
/// scalar tail; without either, all scalar.
/// </summary>
internal static class Elementwise
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TOp>(ReadOnlySpan<float> z, Span<float> y, int length) where TOp : struct, IElementwise
    {
        if (z.Length < length || y.Length < length)
        {
            throw new ArgumentException($"Activation buffers hold {z.Length} and {y.Length} values; {length} are needed.");
        }
        ref float rz = ref MemoryMarshal.GetReference(z);
        ref float ry = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count)
            {
                TOp.Value(Vector512.LoadUnsafe(ref rz, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count)
            {
                TOp.Value(Vector256.LoadUnsafe(ref rz, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref ry, i) = TOp.Value(Unsafe.Add(ref rz, i));
        }
    }

    /// <summary>
    /// As <see cref="Forward{TOp}"/>, but the last partial vector goes through a padded copy, so every element takes
    /// the vector form (for functions whose scalar and vector forms round differently). Without accelerated
    /// 256-bit vectors, every element takes the scalar form.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void ForwardPadded<TOp>(ReadOnlySpan<float> z, Span<float> y, int length) where TOp : struct, IElementwise
    {
        if (z.Length < length || y.Length < length)
        {
            throw new ArgumentException($"Activation buffers hold {z.Length} and {y.Length} values; {length} are needed.");
        }
        if (!Vector512.IsHardwareAccelerated && !Vector256.IsHardwareAccelerated)
        {
            Forward<TOp>(z, y, length);
            return;
        }
        int width = Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count;
        int whole = length - length % width;
        Forward<TOp>(z, y, whole);
        if (whole < length)
        {
            Span<float> last = stackalloc float[16];
            last.Clear();
            z[whole..length].CopyTo(last);
            Forward<TOp>(last, last, width);
            last[..(length - whole)].CopyTo(y[whole..]);
        }
    }

    /// <summary>
    /// <c>δ ← TOp.Slope(z, δ)</c> with every element on the vector form (a partial last vector through padded copies);
    /// without accelerated 256-bit vectors, <see cref="Backward{TOp}"/>'s scalar form for every element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void BackwardPadded<TOp>(ReadOnlySpan<float> z, Span<float> delta, int length) where TOp : struct, IElementwise
    {
        if (z.Length < length || delta.Length < length)
        {
            throw new ArgumentException($"Activation buffers hold {z.Length} and {delta.Length} values; {length} are needed.");
        }
        ref float rz = ref MemoryMarshal.GetReference(z);
        ref float rd = ref MemoryMarshal.GetReference(delta);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count)
            {
                TOp.Slope(Vector512.LoadUnsafe(ref rz, (nuint)i), Vector512.LoadUnsafe(ref rd, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count)
            {
                TOp.Slope(Vector256.LoadUnsafe(ref rz, (nuint)i), Vector256.LoadUnsafe(ref rd, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        else
        {
            Backward<TOp>(z, delta, length);
            return;
        }
        if (i < length)
        {
            Span<float> lastZ = stackalloc float[16], lastDelta = stackalloc float[16];
            lastZ.Clear();
            lastDelta.Clear();
            z[i..length].CopyTo(lastZ);
            delta[i..length].CopyTo(lastDelta);
            BackwardPadded<TOp>(lastZ, lastDelta, Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count);
            lastDelta[..(length - i)].CopyTo(delta[i..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TOp>(ReadOnlySpan<float> z, Span<float> delta, int length) where TOp : struct, IElementwise
    {
        if (z.Length < length || delta.Length < length)
        {
            throw new ArgumentException($"Activation buffers hold {z.Length} and {delta.Length} values; {length} are needed.");
        }
        ref float rz = ref MemoryMarshal.GetReference(z);
        ref float rd = ref MemoryMarshal.GetReference(delta);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count)
            {
                TOp.Slope(Vector512.LoadUnsafe(ref rz, (nuint)i), Vector512.LoadUnsafe(ref rd, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count)
            {
                TOp.Slope(Vector256.LoadUnsafe(ref rz, (nuint)i), Vector256.LoadUnsafe(ref rd, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref rd, i) *= TOp.Slope(Unsafe.Add(ref rz, i));
        }
    }
}
