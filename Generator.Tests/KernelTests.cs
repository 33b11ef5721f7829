using System.Linq;
using System;
using System.Collections.Generic;
using Backprop.Kernels;
using Xunit;

namespace Backprop.Tests;

/// <summary>Kernels against plain double-precision loops, over every size that exercises a tail.</summary>
public class KernelTests
{
    public static IEnumerable<object[]> Shapes()
    {
        // Each dimension from 1 to 70 with the others at sizes that leave tails, then the MLP's layer shapes.
        for (int size = 1; size <= 70; size++)
        {
            yield return [size, 19, 7];
            yield return [5, size, 3];
            yield return [6, 35, size];
        }
        // Matrix-vector shapes (1 to 3 rows) wide enough for the 16- and 8-vector row blocks, with tails.
        yield return [1, 300, 9];
        yield return [3, 257, 5];
        yield return [2, 512, 17];
        yield return [1, 784, 256];
        yield return [32, 256, 784];
        yield return [33, 128, 256];
        yield return [7, 10, 128];
        // Shallow products (k up to 8, the weight gradient of small batches), filled a block of 8 rows at a time, with row and column tails.
        yield return [784, 256, 1];
        yield return [13, 70, 1];
        yield return [8, 33, 8];
        yield return [70, 100, 4];
        yield return [9, 64, 2];
        yield return [17, 48, 5];
        // Enough rows for the B panel to be copied contiguously (64 and more), with column and depth tails.
        yield return [64, 35, 9];
        yield return [70, 100, 256];
        yield return [96, 64, 300];
        yield return [256, 128, 256];
    }

    public static IEnumerable<object[]> TransposeShapes()
    {
        // Every size from 1 to 70 on each side against sizes that leave 8 x 8 tails, then the layer shapes.
        for (int size = 1; size <= 70; size++)
        {
            yield return [size, 13];
            yield return [size, 16];
            yield return [size, 37];
            if (size is not (13 or 16 or 37))
            {
                yield return [21, size];
            }
        }
        yield return [784, 256];
        yield return [256, 128];
        yield return [128, 10];
    }

    /// <summary>The global-norm helpers of gradient clipping against plain loops, for lengths around the vector widths and the 1,024-value blocks.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(1023)]
    [InlineData(1025)]
    [InlineData(4099)]
    public void SumOfSquares_and_Scale_match_plain_loops(int length)
    {
        var random = new Random(length);
        var values = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        double expected = values.Sum(v => (double)v * v);
        Assert.True(Math.Abs(Kernels.Vectors.SumOfSquares(values) - expected) <= 1e-6 * Math.Max(1, expected), $"length {length}");
        var scaled = new float[length];
        Kernels.Vectors.Scale(values, 0.37f, scaled);
        Assert.Equal(values.Select(v => v * 0.37f), scaled);
    }

    /// <summary>The recurrent cells' reciprocal (estimate and one Newton step): within 4 ulps over the range σ and tanh give it.</summary>
    [Fact]
    public void Reciprocal_is_accurate_at_every_width()
    {
        var random = new Random(37);
        for (int i = 0; i < 4096; i++)
        {
            float x = i < 4 ? new[] { 1f, 2f, 5.5e34f, 1.0000001f }[i] : (float)Math.Exp(random.NextDouble() * 80);
            double expected = 1.0 / x;
            foreach (float actual in new[]
            {
                Kernels.Simd512.Reciprocal(System.Runtime.Intrinsics.Vector512.Create(x))[0],
                Kernels.Simd256.Reciprocal(System.Runtime.Intrinsics.Vector256.Create(x))[0],
                Kernels.Simd128.Reciprocal(System.Runtime.Intrinsics.Vector128.Create(x))[0],
            })
            {
                Assert.True(Math.Abs(actual - expected) <= 4 * 5.96e-8 * expected, $"1/{x}: {actual}, expected {expected}.");
            }
        }
    }

    /// <summary>The recurrent cells' exponential: within 2.5 ulps of e^x on [-80, 80] at every vector width, clamped beyond.</summary>
    [Fact]
    public void ExpClamped_is_accurate_on_its_range_and_clamps_outside()
    {
        var random = new Random(31);
        var values = new float[4096];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = i < 16 ? new[] { 0f, -0f, 1e-30f, -1e-30f, 80f, -80f, 79.99f, -79.99f, 0.34657f, -0.34657f, 1f, -1f, 44.3f, -44.3f, 88f, -88f }[i] : (float)(random.NextDouble() * 160 - 80);
        }
        for (int i = 0; i < values.Length; i++)
        {
            double expected = Math.Exp(Math.Clamp(values[i], -80f, 80f));
            float a = Kernels.Simd512.ExpClamped(System.Runtime.Intrinsics.Vector512.Create(values[i]))[0];
            float b = Kernels.Simd256.ExpClamped(System.Runtime.Intrinsics.Vector256.Create(values[i]))[0];
            float c = Kernels.Simd128.ExpClamped(System.Runtime.Intrinsics.Vector128.Create(values[i]))[0];
            foreach (float actual in new[] { a, b, c })
            {
                Assert.True(Math.Abs(actual - expected) <= 2.5 * 5.96e-8 * expected, $"e^{values[i]}: {actual}, expected {expected}.");
            }
        }
        Assert.True(float.IsNormal(Kernels.Simd512.ExpClamped(System.Runtime.Intrinsics.Vector512.Create(-1000f))[0]));
        Assert.True(float.IsFinite(Kernels.Simd512.ExpClamped(System.Runtime.Intrinsics.Vector512.Create(1000f))[0]));
    }

    [Fact]
    public void Exp_matches_double_precision_at_every_length_and_range()
    {
        var random = new Random(11);
        for (int length = 1; length <= 70; length++)
        {
            var values = new float[length + 1];
            for (int i = 0; i < length; i++)
            {
                values[i] = (float)(random.NextDouble() * 180 - 100);
            }
            values[length] = 42f;
            var source = (float[])values.Clone();
            Vectors.Exp(values.AsSpan(0, length));
            for (int i = 0; i < length; i++)
            {
                double expected = Math.Exp(source[i]);
                Assert.True(Math.Abs(values[i] - expected) <= 4e-7 * expected + float.Epsilon * 4,
                    $"exp({source[i]}) = {values[i]}, expected {expected}");
            }
            Assert.Equal(42f, values[length]);
        }
        // Limits, and exp(0) within a couple of ulps of 1 (the vector implementations are not correctly rounded).
        var special = new[] { 0f, float.NegativeInfinity, -200f, 89f, float.NaN };
        Vectors.Exp(special);
        Assert.InRange(special[0], 1f - 2.4e-7f, 1f + 2.4e-7f);
        Assert.Equal(new[] { 0f, 0f, float.PositiveInfinity, float.NaN }, special[1..]);
    }

    [Theory]
    [MemberData(nameof(TransposeShapes))]
    public void Transpose_matches_a_plain_loop(int rows, int columns)
    {
        var random = new Random(rows * 131 + columns);
        float[] source = Random(random, rows * columns);
        // One slot past the end stays untouched.
        var destination = new float[rows * columns + 1];
        destination[^1] = 42f;
        Vectors.Transpose(source, rows, columns, destination);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                Assert.Equal(source[r * columns + c], destination[c * rows + r]);
            }
        }
        Assert.Equal(42f, destination[^1]);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Multiply_matches_a_plain_loop_in_every_start_mode_and_layout(int m, int n, int k)
    {
        var random = new Random(m * 10007 + n * 101 + k);
        float[] a = Random(random, m * k), b = Random(random, k * n), bias = Random(random, n), c0 = Random(random, m * n);

        // Row-major A (forward: X·Wᵀ + b).
        var c = (float[])c0.Clone();
        Gemm.Multiply(m, n, k, a, k, 1, b, n, c, n, bias, accumulate: false);
        AssertClose(Reference(m, n, k, (i, p) => a[i * k + p], b, bias, null), c, k);

        // Accumulating into C, A read transposed (weight gradient: Xᵀ·Δ with A stored [k, m]).
        c = (float[])c0.Clone();
        Gemm.Multiply(m, n, k, a, 1, m, b, n, c, n, default, accumulate: true);
        AssertClose(Reference(m, n, k, (i, p) => a[p * m + i], b, null, c0), c, k);

        // From zero.
        c = (float[])c0.Clone();
        Gemm.Multiply(m, n, k, a, k, 1, b, n, c, n, default, accumulate: false);
        AssertClose(Reference(m, n, k, (i, p) => a[i * k + p], b, null, null), c, k);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Multiply_with_a_fused_activation_matches_the_product_then_the_activation(int m, int n, int k)
    {
        var random = new Random(m * 31 + n * 7 + k);
        float[] a = Random(random, m * k), b = Random(random, k * n), bias = Random(random, n);
        double[] z = Reference(m, n, k, (i, p) => a[i * k + p], b, bias, null);

        var c = new float[m * n];
        Gemm.Multiply<Relu>(m, n, k, a, k, 1, b, n, c, n, bias);
        AssertClose(Array.ConvertAll(z, v => Math.Max(v, 0.0)), c, k);

        c = new float[m * n];
        Gemm.Multiply<LeakyRelu>(m, n, k, a, k, 1, b, n, c, n, bias);
        AssertClose(Array.ConvertAll(z, v => v > 0 ? v : LeakyRelu.NegativeSlope * v), c, k);

        // Bit-identical to the plain product followed by the activation pass (the sums are the same instructions).
        var plain = new float[m * n];
        Gemm.Multiply(m, n, k, a, k, 1, b, n, plain, n, bias, accumulate: false);
        Relu.Forward(plain, plain, m, n);
        c = new float[m * n];
        Gemm.Multiply<Relu>(m, n, k, a, k, 1, b, n, c, n, bias);
        Assert.Equal(plain, c);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Dense_backward_refuses_buffers_and_offsets_that_do_not_fit_before_touching_anything(int threads)
    {
        const int Batch = 128, Inputs = 64, Units = 128;
        var optimizer = new Sgd(0.1f);
        var parameters = new float[Inputs * Units + Units];
        Assert.True(optimizer.BeginPartialStep(parameters.Length));
        float[] input = new float[Batch * Inputs], weight = new float[Inputs * Units], activations = new float[Batch * Units];
        float[] delta = new float[Batch * Units], weightGradient = new float[Inputs * Units], biasGradient = new float[Units];
        Array.Fill(delta, 1f);
        Array.Fill(input, 1f);

        void Run(float[] x, float[] gradient, int weightOffset, int biasOffset) => Dense.Backward<Identity>(
            x, weight, activations, activations, delta, gradient, biasGradient, default, default, Batch, Inputs, Units, threads,
            new ParameterUpdate(optimizer, parameters, weightOffset, biasOffset));

        // Short input or weight gradient (the threaded path would otherwise read or write past them).
        Assert.Throws<ArgumentException>(() => Run(new float[10], weightGradient, 0, Inputs * Units));
        Assert.Throws<ArgumentException>(() => Run(input, new float[100], 0, Inputs * Units));
        // The weight or the bias outside the parameter block.
        Assert.Throws<ArgumentException>(() => Run(input, weightGradient, 200, Inputs * Units));
        Assert.Throws<ArgumentException>(() => Run(input, weightGradient, 0, parameters.Length - 10));
        Assert.All(parameters, value => Assert.Equal(0f, value));

        // The same call with buffers that fit updates every parameter.
        Run(input, weightGradient, 0, Inputs * Units);
        Assert.All(parameters, value => Assert.NotEqual(0f, value));
    }

    [Fact]
    public void Multiply_refuses_an_activation_that_does_not_fuse()
        => Assert.Throws<ArgumentException>(() => Gemm.Multiply<Sigmoid>(1, 1, 1, new float[1], 1, 1, new float[1], 1, new float[1], 1, default));

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MultiplyTransposed_matches_a_plain_loop(int m, int n, int k)
    {
        var random = new Random(m * 7 + n * 1009 + k);
        float[] a = Random(random, m * k), b = Random(random, n * k);
        var c = new float[m * n];
        Gemm.MultiplyTransposed(m, n, k, a, k, b, k, c, n);
        AssertClose(Reference(m, n, k, (i, p) => a[i * k + p], (p, j) => b[j * k + p], null, null), c, k);
    }

    [Theory]
    [InlineData(1, 9, 5)]
    [InlineData(3, 40, 20)]
    [InlineData(70, 33, 17)]
    [InlineData(64, 128, 10)]
    public void Dense_input_gradient_is_the_same_through_the_transposed_weight_or_dot_products(int batch, int inputs, int units)
    {
        var random = new Random(batch + inputs + units);
        float[] x = Random(random, batch * inputs), w = Random(random, inputs * units), z = Random(random, batch * units);
        float[] withScratch = new float[batch * inputs], without = new float[batch * inputs];
        foreach (var (dx, scratch) in new[] { (withScratch, new float[inputs * units]), (without, Array.Empty<float>()) })
        {
            float[] delta = Random(new Random(1), batch * units);
            Dense.Backward<Identity>(x, w, z, z, delta, new float[inputs * units], new float[units], dx, scratch, batch, inputs, units);
        }
        // ∂L/∂x[b, i] = Σ_j δ[b, j] · Wᵀ[i, j]
        float[] d = Random(new Random(1), batch * units);
        double[] expected = Reference(batch, inputs, units, (b, j) => d[b * units + j], (j, i) => w[i * units + j], null, null);
        AssertClose(expected, withScratch, units);
        AssertClose(expected, without, units);
    }

    [Theory]
    [InlineData(16, 256, 128)]
    [InlineData(20, 300, 64)]
    [InlineData(33, 784, 256)]
    [InlineData(47, 129, 200)]
    [InlineData(128, 784, 256)]
    public void Dense_input_gradient_through_the_transposed_product_is_bit_identical_to_the_transposed_weight(int batch, int inputs, int units)
    {
        Assert.Equal(InputGradientForm.TransposedProduct, Dense.InputGradientFormFor(batch, inputs, units));
        var random = new Random(batch * 31 + inputs + units);
        float[] x = Random(random, batch * inputs), w = Random(random, inputs * units), z = Random(random, batch * units);
        float[] d = Random(random, batch * units), delta = (float[])d.Clone();
        var dx = new float[batch * inputs];
        Dense.Backward<Identity>(x, w, z, z, delta, new float[inputs * units], new float[units], dx, new float[inputs * units], batch, inputs, units);

        // The transposed-weight form, spelled out: W = (Wᵀ)ᵀ, then δ·W in broadcast form.
        var weight = new float[inputs * units];
        var expected = new float[batch * inputs];
        Vectors.Transpose(w, inputs, units, weight);
        Gemm.Multiply(batch, inputs, units, d, units, 1, weight, inputs, expected, inputs, default, accumulate: false);
        Infrastructure.Bitwise.AssertEqual(expected, dx);
        AssertClose(Reference(batch, inputs, units, (b, j) => d[b * units + j], (j, i) => w[i * units + j], null, null), dx, units);
    }

    [Theory]
    [InlineData(1, 784, 256, InputGradientForm.Dots)]
    [InlineData(15, 256, 128, InputGradientForm.Dots)]
    [InlineData(4, 128, 3, InputGradientForm.TransposedWeight)]
    [InlineData(16, 256, 128, InputGradientForm.TransposedProduct)]
    [InlineData(85, 256, 128, InputGradientForm.TransposedProduct)]
    [InlineData(86, 256, 128, InputGradientForm.TransposedWeight)]
    [InlineData(256, 256, 128, InputGradientForm.TransposedWeight)]
    [InlineData(64, 128, 10, InputGradientForm.TransposedWeight)]
    public void Dense_input_gradient_form_transposes_the_fewer_values(int batch, int inputs, int units, InputGradientForm form)
        => Assert.Equal(form, Dense.InputGradientFormFor(batch, inputs, units));

    [Theory]
    [InlineData(0f)]
    [InlineData(0.01f)]
    public void Dense_backward_with_plain_sgd_at_small_batches_is_the_product_then_the_step_bit_for_bit(float decay)
    {
        // Batches 1 to 8 take the fused gradient-and-step path, with and without a vector tail, for layers at least a
        // vector wide; narrower ones (1 unit; 10 on the 512-bit path) and batch 9 take the product, then the update.
        foreach (var (inputs, units) in new[] { (1, 1), (128, 10), (3, 16), (9, 37), (20, 70), (784, 256) })
        {
            for (int batch = 1; batch <= 9; batch++)
            {
                var random = new Random(batch * 100 + units);
                float[] x = Random(random, batch * inputs), w = Random(random, inputs * units), d = Random(random, batch * units);
                float[] parameters = Random(random, inputs * units + units);
                w.CopyTo(parameters, 0);
                // Exact zeros (a ReLU's δ), negative inputs and negative-zero weights: the sign of each zero must match too.
                for (int i = 0; i < d.Length; i += 3)
                {
                    d[i] = 0f;
                }
                for (int i = 0; i < inputs * units; i += 5)
                {
                    parameters[i] = -0f;
                }
                float[] expectedParameters = (float[])parameters.Clone();
                float[] gradient = new float[inputs * units + units], expectedGradient = new float[inputs * units + units];

                var fused = new Sgd(0.1f, weightDecay: decay);
                Assert.True(fused.BeginPartialStep(parameters.Length));
                Dense.Backward<Identity>(x, w, d, d, (float[])d.Clone(), gradient.AsSpan(0, inputs * units), gradient.AsSpan(inputs * units), default, default,
                    batch, inputs, units, update: new ParameterUpdate(fused, parameters, 0, inputs * units));

                Dense.Backward<Identity>(x, w, d, d, (float[])d.Clone(), expectedGradient.AsSpan(0, inputs * units), expectedGradient.AsSpan(inputs * units), default, default,
                    batch, inputs, units);
                new Sgd(0.1f, weightDecay: decay).Step(expectedParameters, expectedGradient);

                Infrastructure.Bitwise.AssertEqual(expectedGradient, gradient);
                Infrastructure.Bitwise.AssertEqual(expectedParameters, parameters);
            }
        }
    }

    [Fact]
    public void Gemm_refuses_buffers_that_are_too_short()
    {
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 2, 2, new float[3], 2, 1, new float[4], 2, new float[4], 2, default, false));
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyTransposed(2, 2, 2, new float[4], 2, new float[4], 2, new float[3], 2));
        // Negative strides would walk before the start of the buffers.
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 2, 2, new float[8], -1, 1, new float[4], 2, new float[4], 2, default, false));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 2, 2, new float[4], 2, 1, new float[4], 2, new float[4], -2, default, false));
        // rows x columns overflowing int must not pass the length check.
        Assert.Throws<ArgumentException>(() => Vectors.Transpose(new float[65536], 65536, 65537, new float[65536]));
    }

    [Fact]
    public void Elementwise_activations_and_Add_handle_every_length_from_0_to_256()
    {
        var random = new Random(5);
        for (int length = 0; length <= 256; length++)
        {
            float[] z = Random(random, length), y = new float[length], delta = Random(random, length), expectedDelta = (float[])delta.Clone();
            Relu.Forward(z, y, 1, length);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(Math.Max(z[i], 0f), y[i]);
            }
            Relu.Backward(z, y, delta, 1, length);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(z[i] > 0 ? expectedDelta[i] : 0f, delta[i]);
            }
            var leaky = new float[length];
            LeakyRelu.Forward(z, leaky, 1, length);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(z[i] > 0 ? z[i] : 0.01f * z[i], leaky[i]);
            }

            float[] sum = Random(random, length), addend = Random(random, length), expectedSum = (float[])sum.Clone();
            Vectors.Add(sum, addend);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(expectedSum[i] + addend[i], sum[i]);
            }
        }
    }

    [Fact]
    public void Sigmoid_and_tanh_match_double_precision_and_do_not_depend_on_position()
    {
        var random = new Random(17);
        float[] special = [0f, -0f, 1e-30f, -1e-30f, 1e-5f, -2.4e-4f, 2.5e-4f, 0.3f, -0.7f, 5f, -9f, 9.1f, 20f, -20f, 88f, -88f, 104f, -104f,
            float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN];
        for (int length = 0; length <= 70; length++)
        {
            float[] z = new float[length];
            for (int i = 0; i < length; i++)
            {
                z[i] = i < special.Length && length > 40 ? special[i] : (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 3)));
            }
            float[] sigmoid = new float[length], tanh = new float[length];
            Sigmoid.Forward(z, sigmoid, 1, length);
            Tanh.Forward(z, tanh, 1, length);
            for (int i = 0; i < length; i++)
            {
                double x = z[i];
                double expectedSigmoid = x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
                double expectedTanh = Math.Tanh(x);
                AssertUlps(expectedSigmoid, sigmoid[i], $"sigmoid({z[i]:R})");
                AssertUlps(expectedTanh, tanh[i], $"tanh({z[i]:R})");
                // The same value alone, at the start of a block, gives the same bits.
                float[] one = [z[i]], alone = new float[1];
                Sigmoid.Forward(one, alone, 1, 1);
                Assert.Equal(BitConverter.SingleToInt32Bits(sigmoid[i]), BitConverter.SingleToInt32Bits(alone[0]));
                Tanh.Forward(one, alone, 1, 1);
                Assert.Equal(BitConverter.SingleToInt32Bits(tanh[i]), BitConverter.SingleToInt32Bits(alone[0]));
            }
            // Backward: δ · y(1 - y) and δ · (1 - y²), exactly as written.
            float[] delta = Random(random, length), d1 = (float[])delta.Clone(), d2 = (float[])delta.Clone();
            Sigmoid.Backward(z, sigmoid, d1, 1, length);
            Tanh.Backward(z, tanh, d2, 1, length);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(delta[i] * (sigmoid[i] * (1f - sigmoid[i])), d1[i]);
                Assert.Equal(delta[i] * (1f - tanh[i] * tanh[i]), d2[i]);
            }
        }

        static void AssertUlps(double expected, float actual, string what)
        {
            if (double.IsNaN(expected))
            {
                Assert.True(float.IsNaN(actual), what + " is not NaN");
                return;
            }
            float rounded = (float)expected;
            Assert.True(rounded == 0 ? Math.Abs(actual) <= float.Epsilon * 2 && (actual == 0 || Math.Sign(actual) == Math.Sign(expected) || expected == 0)
                : Math.Abs(BitConverter.SingleToInt32Bits(actual) - BitConverter.SingleToInt32Bits(rounded)) <= 2,
                $"{what}: {actual:R}, expected {expected:R}");
            Assert.Equal(double.IsNegative(expected), float.IsNegative(actual));
        }
    }

    [Fact]
    public void Gelu_forward_and_backward_match_double_precision_and_do_not_depend_on_position()
    {
        var random = new Random(23);
        for (int length = 0; length <= 70; length++)
        {
            float[] z = new float[length];
            for (int i = 0; i < length; i++)
            {
                z[i] = (float)((random.NextDouble() - 0.5) * 16);
            }
            if (length > 5)
            {
                z[0] = 0f; z[1] = -0f; z[2] = 0.49999f; z[3] = 0.5f; z[4] = float.NaN; z[5] = 40f;
            }
            float[] y = new float[length], delta = Random(random, length), d = (float[])delta.Clone();
            Gelu.Forward(z, y, 1, length);
            Gelu.Backward(z, y, d, 1, length);
            for (int i = 0; i < length; i++)
            {
                double x = z[i];
                double cdf = 0.5 * Infrastructure.ReferenceNetwork.Erfc(-x / Math.Sqrt(2));
                double expected = x * cdf, slope = cdf + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
                if (double.IsNaN(x))
                {
                    Assert.True(float.IsNaN(y[i]) && float.IsNaN(d[i]));
                    continue;
                }
                Assert.True(Math.Abs(y[i] - expected) < 1e-6 * Math.Max(1, Math.Abs(x)), $"GELU({x}) = {y[i]}, expected {expected}");
                Assert.True(Math.Abs(d[i] - delta[i] * slope) < 1e-6 * Math.Max(1, Math.Abs(delta[i])), $"GELU'({x}) δ = {d[i]}, expected {delta[i] * slope}");
                float[] one = [z[i]], alone = new float[1], oneDelta = [delta[i]];
                Gelu.Forward(one, alone, 1, 1);
                Gelu.Backward(one, alone, oneDelta, 1, 1);
                Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(alone[0]));
                Assert.Equal(BitConverter.SingleToInt32Bits(d[i]), BitConverter.SingleToInt32Bits(oneDelta[0]));
            }
        }
    }

    [Fact]
    public void Gelu_matches_the_exact_erf_form()
    {
        for (double x = -6; x <= 6; x += 0.01)
        {
            double expected = x * 0.5 * Infrastructure.ReferenceNetwork.Erfc(-x / Math.Sqrt(2));
            var y = new float[1];
            Gelu.Forward([(float)x], y, 1, 1);
            Assert.True(Math.Abs(y[0] - expected) < 1e-6 * Math.Max(1, Math.Abs(x)), $"GELU({x}) = {y[0]}, expected {expected}");
        }
    }

    [Fact]
    public void Optimizers_handle_every_length_from_1_to_100_like_their_scalar_rule()
    {
        var random = new Random(8);
        for (int length = 1; length <= 100; length++)
        {
            float[] p = Random(random, length), g = Random(random, length);
            float[] sgd = (float[])p.Clone();
            new Sgd(0.1f).Step(sgd, g);
            for (int i = 0; i < length; i++)
            {
                Assert.True(Math.Abs(p[i] - 0.1 * g[i] - sgd[i]) < 1e-6, $"SGD, length {length}, element {i}");
            }
            float[] adam = (float[])p.Clone();
            new Adam(0.01f).Step(adam, g);
            for (int i = 0; i < length; i++)
            {
                // First Adam step: m̂ = g, v̂ = g², so the update is lr · g / (|g| + ε).
                Assert.True(Math.Abs(p[i] - 0.01 * g[i] / (Math.Abs(g[i]) + 1e-8) - adam[i]) < 1e-6, $"Adam, length {length}, element {i}");
            }
        }
    }

    private static double[] Reference(int m, int n, int k, Func<int, int, float> a, float[] b, float[]? bias, float[]? start)
        => Reference(m, n, k, a, (p, j) => b[p * n + j], bias, start);

    /// <summary><c>C[i, j] = start + Σ_p A(i, p) · B(p, j)</c> in double, A and B read through accessors.</summary>
    private static double[] Reference(int m, int n, int k, Func<int, int, float> a, Func<int, int, float> b, float[]? bias, float[]? start)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = bias is not null ? bias[j] : start is not null ? start[i * n + j] : 0;
                for (int p = 0; p < k; p++)
                {
                    sum += (double)a(i, p) * b(p, j);
                }
                c[i * n + j] = sum;
            }
        }
        return c;
    }

    private static void AssertClose(double[] expected, float[] actual, int k)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Sqrt(k + 1) * 4,
                $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    private static float[] Random(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }
}
