using System;
using System.Linq;
using Backprop.Kernels;
using Xunit;

namespace Backprop.Tests;

/// <summary>The convolution and pooling kernels against their definitions, on awkward shapes.</summary>
public class ConvolutionKernelTests
{
    public static TheoryData<int, int, int, int, int, int> Windows => new()
    {
        // channels, height, width, kernel, stride, padding
        { 1, 5, 5, 3, 1, 1 },
        { 3, 7, 6, 3, 2, 0 },
        { 2, 4, 9, 2, 3, 2 },
        { 5, 3, 3, 3, 1, 2 },
        { 1, 1, 1, 1, 1, 0 },
        { 4, 8, 5, 1, 2, 1 },
    };

    /// <summary>im2col reads x at (c, oy s − p + ky, ox s − p + kx) or zero; col2im is its adjoint: ⟨Unfold(x), c⟩ = ⟨x, Fold(c)⟩.</summary>
    [Theory]
    [MemberData(nameof(Windows))]
    public void Unfold_matches_its_definition_and_Fold_is_its_adjoint(int channels, int height, int width, int kernel, int stride, int padding)
    {
        var window = new Window2D(channels, height, width, kernel, stride, padding);
        var random = new Random(channels * 100 + height * 10 + width);
        var x = Random(random, window.InputLength);
        var cols = new float[window.Patch * window.OutputPlane];
        Convolution.Unfold(x, cols, window);
        for (int c = 0, row = 0; c < channels; c++)
        {
            for (int ky = 0; ky < kernel; ky++)
            {
                for (int kx = 0; kx < kernel; kx++, row++)
                {
                    for (int oy = 0; oy < window.OutputHeight; oy++)
                    {
                        for (int ox = 0; ox < window.OutputWidth; ox++)
                        {
                            int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
                            float expected = iy >= 0 && iy < height && ix >= 0 && ix < width ? x[(c * height + iy) * width + ix] : 0f;
                            Assert.Equal(expected, cols[row * window.OutputPlane + oy * window.OutputWidth + ox]);
                        }
                    }
                }
            }
        }

        var c2 = Random(random, cols.Length);
        var folded = Random(random, x.Length); // overwritten by Fold
        Convolution.Fold(c2, folded, window);
        double left = 0, right = 0;
        for (int i = 0; i < cols.Length; i++)
        {
            left += (double)cols[i] * c2[i];
        }
        for (int i = 0; i < x.Length; i++)
        {
            right += (double)x[i] * folded[i];
        }
        Assert.True(Math.Abs(left - right) <= 1e-4 * Math.Max(1, Math.Abs(left)), $"⟨Unfold x, c⟩ = {left}, ⟨x, Fold c⟩ = {right}");
    }

    public static TheoryData<int, int, int, int, int, int, int> Convolutions => new()
    {
        // channels, height, width, kernel, stride, padding, filters: direct (stride 1) and unfolded windows
        { 1, 28, 28, 3, 1, 1, 16 },  // the CNN's conv1: one channel, rows of two segments (16 + 12)
        { 16, 14, 14, 3, 1, 1, 32 }, // conv2: one segment per row, two lanes over
        { 3, 7, 5, 3, 1, 0, 9 },     // H ≠ W, no padding, filters past a block of eight and of four
        { 2, 6, 9, 3, 1, 2, 5 },     // padding 2: the input gradient's padding is 0
        { 5, 4, 19, 2, 1, 1, 12 },   // an even kernel; rows longer than a vector
        { 3, 9, 7, 5, 1, 2, 3 },     // 5×5, fewer filters than a block
        { 17, 5, 6, 3, 1, 1, 1 },    // channels not a multiple of the vector width, one filter
        { 3, 7, 6, 3, 2, 0, 4 },     // stride 2: the unfolded path
        { 4, 8, 5, 1, 2, 1, 6 },     // 1×1 with stride and padding: unfolded
        { 6, 5, 5, 1, 1, 0, 7 },     // pointwise
        { 2, 3, 3, 3, 1, 0, 8 },     // a 1×1 output: the padded sample does not fit the slot, unfolded
    };

    /// <summary>
    /// <see cref="Convolution.Forward"/> and <see cref="Convolution.Backward"/> (both paths, with and without a bias, the
    /// input gradient, a fused and an unfused activation) against the definition summed in double.
    /// </summary>
    [Theory]
    [MemberData(nameof(Convolutions))]
    public void Convolution_forward_and_backward_match_the_definition(int channels, int height, int width, int kernel, int stride, int padding, int filters)
    {
        var window = new Window2D(channels, height, width, kernel, stride, padding);
        const int batch = 3;
        int oh = window.OutputHeight, ow = window.OutputWidth, plane = window.OutputPlane, output = filters * plane;
        var random = new Random(channels * 1000 + height * 100 + width * 10 + filters);
        var x = Random(random, batch * window.InputLength);
        var w = Random(random, filters * window.Patch);
        var b = Random(random, filters);
        var dy = Random(random, batch * output);
        foreach (bool bias in new[] { true, false })
        {
            // The definition, in double: z = W ⋆ x + b; with ReLU, ∂L/∂z = ∂L/∂y where z > 0.
            var z = new double[batch * output];
            for (int n = 0; n < batch; n++)
            {
                for (int f = 0; f < filters; f++)
                {
                    for (int oy = 0; oy < oh; oy++)
                    {
                        for (int ox = 0; ox < ow; ox++)
                        {
                            double sum = bias ? b[f] : 0;
                            for (int c = 0; c < channels; c++)
                            {
                                for (int ky = 0; ky < kernel; ky++)
                                {
                                    for (int kx = 0; kx < kernel; kx++)
                                    {
                                        int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
                                        if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                        {
                                            sum += (double)w[((f * channels + c) * kernel + ky) * kernel + kx] * x[((n * channels + c) * height + iy) * width + ix];
                                        }
                                    }
                                }
                            }
                            z[n * output + f * plane + oy * ow + ox] = sum;
                        }
                    }
                }
            }
            var dz = new double[dy.Length];
            for (int i = 0; i < dz.Length; i++)
            {
                dz[i] = z[i] > 0 ? dy[i] : 0;
            }
            var dw = new double[w.Length];
            var db = new double[filters];
            var dx = new double[x.Length];
            for (int n = 0; n < batch; n++)
            {
                for (int f = 0; f < filters; f++)
                {
                    for (int oy = 0; oy < oh; oy++)
                    {
                        for (int ox = 0; ox < ow; ox++)
                        {
                            double g = dz[n * output + f * plane + oy * ow + ox];
                            db[f] += g;
                            for (int c = 0; c < channels; c++)
                            {
                                for (int ky = 0; ky < kernel; ky++)
                                {
                                    for (int kx = 0; kx < kernel; kx++)
                                    {
                                        int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
                                        if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                        {
                                            int wi = ((f * channels + c) * kernel + ky) * kernel + kx, xi = ((n * channels + c) * height + iy) * width + ix;
                                            dw[wi] += g * x[xi];
                                            dx[xi] += g * w[wi];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }

            // ReLU fused into the product (z and y the same memory), then unfused (Tanh's buffers: z kept apart).
            var columns = Poisoned(batch * Convolution.ColumnLength(window, filters));
            var y = Poisoned(batch * output);
            ReadOnlySpan<float> biasSpan = bias ? b : default;
            Convolution.Forward<Relu>(x, w, biasSpan, columns, y, y, batch, window, filters, threads: 1);
            var zSeparate = Poisoned(batch * output);
            var ySeparate = Poisoned(batch * output);
            Convolution.Forward<Relu>(x, w, biasSpan, columns, zSeparate, ySeparate, batch, window, filters, threads: 1);
            for (int i = 0; i < z.Length; i++)
            {
                Close(Math.Max(0, z[i]), y[i], $"y[{i}] (fused, bias {bias})");
                Close(z[i], zSeparate[i], $"z[{i}] (bias {bias})");
                Close(Math.Max(0, z[i]), ySeparate[i], $"y[{i}] (bias {bias})");
            }

            foreach (bool inputGradient in new[] { true, false })
            {
                var delta = (float[])dy.Clone();
                var weightGradient = Poisoned(w.Length);
                var biasGradient = bias ? Poisoned(filters) : Array.Empty<float>();
                var inputDelta = inputGradient ? Poisoned(x.Length) : Array.Empty<float>();
                var scratch = Poisoned(Convolution.ScratchLength(window, filters, inputGradient));
                Convolution.Backward<Relu>(x, w, columns, y, y, delta, weightGradient, biasGradient, inputDelta, scratch, batch, window, filters, default);
                for (int i = 0; i < dz.Length; i++)
                {
                    Close(dz[i], delta[i], $"∂L/∂z[{i}]");
                }
                for (int i = 0; i < dw.Length; i++)
                {
                    Close(dw[i], weightGradient[i], $"∂L/∂W[{i}] (bias {bias}, input gradient {inputGradient})");
                }
                for (int f = 0; bias && f < filters; f++)
                {
                    Close(db[f], biasGradient[f], $"∂L/∂b[{f}]");
                }
                for (int i = 0; inputGradient && i < dx.Length; i++)
                {
                    Close(dx[i], inputDelta[i], $"∂L/∂x[{i}] (bias {bias})");
                }
            }
        }

        static float[] Poisoned(int length)
        {
            var buffer = new float[length];
            Array.Fill(buffer, float.NaN);
            return buffer;
        }

        static void Close(double expected, float actual, string what)
            => Assert.True(Math.Abs(expected - actual) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");
    }

    /// <summary>The generator sizes each convolution's scratch and column buffer as the runtime does (it takes the same path for the same window).</summary>
    [Fact]
    public void Generator_and_runtime_agree_on_the_scratch_and_the_path()
    {
        var random = new Random(7);
        for (int i = 0; i < 3000; i++)
        {
            int channels = random.Next(1, 40), height = random.Next(1, 40), width = random.Next(1, 40), kernel = random.Next(1, 8);
            int stride = random.Next(1, 3), padding = random.Next(0, 4), filters = random.Next(1, 70);
            if (height + 2 * padding < kernel || width + 2 * padding < kernel)
            {
                continue;
            }
            var window = new Window2D(channels, height, width, kernel, stride, padding);
            var plan = new Backprop.Generator.Layers.Conv2DPlan("conv1", Backprop.Generator.Model.Shape.Of(channels, height, width), filters, kernel, stride, padding, true, 0, 0);
            var unit = new Backprop.Generator.Layers.Conv2DUnit();
            foreach (bool inputGradient in new[] { true, false })
            {
                Assert.Equal(Convolution.ScratchLength(window, filters, inputGradient), unit.ScratchLength(plan, inputGradient));
            }
            Assert.Equal(DirectConvolution.Applies(window, filters), Backprop.Generator.Layers.Conv2DUnit.DirectScratch(channels, height, width, kernel, stride, padding, filters, true) is not null);
            Assert.Equal(Convolution.ColumnLength(window, filters), Backprop.Generator.Layers.Conv2DUnit.ColumnLength(plan));
        }
    }

    /// <summary>A NaN in a window is the window's maximum and its index points at a NaN, on the vector path and the scalar tail.</summary>
    [Theory]
    [InlineData(3, 28, 28)]
    [InlineData(2, 12, 70)]
    public void Max_pooling_propagates_NaN(int channels, int height, int width)
    {
        var window = new Window2D(channels, height, width, 2, 2, 0);
        var random = new Random(height + width);
        const int Batch = 2;
        var x = Random(random, Batch * window.InputLength);
        for (int i = 0; i < x.Length; i++)
        {
            if (random.Next(13) == 0)
            {
                x[i] = float.NaN;
            }
        }
        int outputs = channels * window.OutputPlane;
        var y = new float[Batch * outputs];
        var at = new int[Batch * outputs];
        Pooling.MaxForward(x, y, at, Batch, window);
        int nan = 0;
        for (int n = 0; n < Batch; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                for (int oy = 0; oy < window.OutputHeight; oy++)
                {
                    for (int ox = 0; ox < window.OutputWidth; ox++)
                    {
                        int corner = (c * height + 2 * oy) * width + 2 * ox, o = n * outputs + (c * window.OutputHeight + oy) * window.OutputWidth + ox;
                        var window4 = new[] { corner, corner + 1, corner + width, corner + width + 1 };
                        bool any = Array.Exists(window4, i => float.IsNaN(x[n * window.InputLength + i]));
                        Assert.Contains(at[o], window4);
                        if (any)
                        {
                            nan++;
                            Assert.True(float.IsNaN(y[o]) && float.IsNaN(x[n * window.InputLength + at[o]]), $"output {o}: {y[o]} at {at[o]}");
                        }
                        else
                        {
                            Assert.Equal(window4.Max(i => x[n * window.InputLength + i]), y[o]);
                        }
                    }
                }
            }
        }
        Assert.True(nan > 10);
    }

    /// <summary>
    /// Inference's fused pass (<c>Convolution.ForwardPooled</c>: the convolution's tiles pooled in registers) gives the values
    /// of the two layers' own kernels, <c>Forward</c> then <c>Pooling.MaxForward</c>, bit for bit: NaN, ties and zeros of
    /// either sign included, for activations that fuse (Identity, Relu, LeakyRelu) and one that does not (Tanh: the two
    /// kernels run), rows of one, two and three vectors, odd sizes, filters in eights and not, with and without a bias, and a
    /// strided window (not direct). Two threads, and a machine without AVX-512, take the two kernels inside ForwardPooled.
    /// Filters in whole vectors of 16 take the channel-blocked tiles (filters along the vectors: blocks of 32, then one of 16)
    /// and are also run on the row-major tiles (a y too short for the transposed weights), both against the two layers.
    /// </summary>
    [Theory]
    [InlineData(1, 28, 28, 3, 1, 16, 1)]  // the CNN's conv1 and pool1: pooled rows of 14, two twelve-column tiles of 16 filters and two two-column ones
    [InlineData(2, 9, 30, 3, 1, 16, 1)]   // pooled rows of 15 (6 + 6 + 1 + 1 + 1), an odd height
    [InlineData(3, 10, 26, 3, 1, 48, 1)]  // a block of 32 filters, then one of 16
    [InlineData(16, 14, 14, 3, 1, 32, 1)] // conv2 and pool2: pooled rows of 7, two six-column tiles and a two-column one
    [InlineData(3, 9, 37, 3, 1, 32, 1)]   // pooled rows of 18: six six-column tiles; an odd height and width dropped by the pooling
    [InlineData(2, 7, 5, 3, 0, 64, 1)]    // pooled rows of 1: two-column tiles only, two blocks of 32 filters
    [InlineData(4, 11, 17, 5, 2, 32, 1)]  // a 5×5 kernel, pooled rows of 8: 3 + 3 + 1 + 1
    [InlineData(3, 9, 37, 3, 1, 20, 1)]   // odd height, rows of 37 (three vectors), 8 + 8 + 4 filters
    [InlineData(2, 7, 5, 3, 0, 3, 1)]     // padding 0: 5×3 outputs pooled to 2×1
    [InlineData(2, 6, 6, 5, 2, 9, 1)]     // a 5×5 kernel, padding 2
    [InlineData(3, 12, 11, 3, 1, 5, 2)]   // stride 2: the unfolded path, then the pooling
    public void A_convolution_pooled_in_one_pass_equals_the_two_layers(int channels, int height, int width, int kernel, int padding, int filters, int stride)
    {
        PooledEqualsTwoLayers<Relu>(channels, height, width, kernel, padding, filters, stride, bias: true, threads: 1);
        PooledEqualsTwoLayers<Relu>(channels, height, width, kernel, padding, filters, stride, bias: true, threads: 2);
        PooledEqualsTwoLayers<Identity>(channels, height, width, kernel, padding, filters, stride, bias: false, threads: 1);
        PooledEqualsTwoLayers<LeakyRelu>(channels, height, width, kernel, padding, filters, stride, bias: true, threads: 1);
        PooledEqualsTwoLayers<Tanh>(channels, height, width, kernel, padding, filters, stride, bias: true, threads: 1);
    }

    /// <summary>
    /// At the network level: inference (ComputeLoss, the convolutions and poolings fused) and a training pass
    /// (ComputeGradients, each layer's own kernel) give the same loss bit for bit on CNNs without dropout or batch
    /// statistics: SmallCnn pools a 7×6 map (floor mode drops a row) after a Relu convolution, FashionCnn fuses twice.
    /// </summary>
    [Fact]
    public void Inference_with_fused_pooling_gives_the_training_pass_loss_bit_for_bit()
    {
        foreach (var net in new INetwork[] { new SmallCnn(maxBatch: 13, seed: 2) { MaxThreads = 1 }, new FashionCnn(maxBatch: 13, seed: 2) { MaxThreads = 1 } })
        {
            var random = new Random(7);
            var inputs = Random(random, 13 * net.InputSize);
            var labels = Enumerable.Range(0, 13).Select(_ => random.Next(net.OutputSize)).ToArray();
            float inference = net.ComputeLoss(inputs, labels);
            float training = net.ComputeGradients(inputs, labels);
            Assert.Equal(BitConverter.SingleToInt32Bits(training), BitConverter.SingleToInt32Bits(inference));
        }
    }

    private static void PooledEqualsTwoLayers<TA>(int channels, int height, int width, int kernel, int padding, int filters, int stride, bool bias, int threads)
        where TA : struct, IActivation
    {
        const int Batch = 3;
        var window = new Window2D(channels, height, width, kernel, stride, padding);
        var pool = new Window2D(filters, window.OutputHeight, window.OutputWidth, 2, 2, 0);
        var random = new Random(channels * 1000 + height * 10 + width);
        var x = Random(random, Batch * window.InputLength);
        var w = Random(random, filters * window.Patch);
        var b = Random(random, filters);
        for (int i = 0; i < x.Length; i += 97)
        {
            x[i] = float.NaN; // spreads to every output whose window reads it
        }
        // The first filter's weights are zeros of both signs: its outputs are zeros (ties of signed zeros) or NaN.
        for (int i = 0; i < window.Patch; i++)
        {
            w[i] = i % 2 == 0 ? 0f : -0f;
        }
        b[0] = -0f;
        if (!bias)
        {
            b = [];
        }
        int outputs = filters * window.OutputPlane, pooledOutputs = filters * pool.OutputPlane;
        var columns = new float[Batch * Convolution.ColumnLength(window, filters)];
        float[] z = new float[Batch * outputs], y = new float[Batch * outputs], expected = new float[Batch * pooledOutputs], actual = new float[Batch * pooledOutputs];
        int[] indices = new int[Batch * pooledOutputs];
        bool fuses = TA.FusesIntoProduct;
        Convolution.Forward<TA>(x, w, b, columns, fuses ? y : z, y, Batch, window, filters, threads: 1);
        Pooling.MaxForward(y, expected, indices, Batch, pool);

        Array.Fill(actual, 12345f);
        var z2 = new float[z.Length];
        var y2 = new float[y.Length];
        Convolution.ForwardPooled<TA>(x, w, b, new float[columns.Length], fuses ? y2 : z2, y2, actual, new int[indices.Length], Batch, window, filters, threads);
        AssertSameBits(expected, actual, typeof(TA).Name);
        bool fused = threads == 1 && stride == 1 && DirectConvolution.PoolingApplies<TA>();
        if (fused && DirectConvolution.BlockedApplies<TA>(filters))
        {
            // The row-major tiles for the same filters: without room in y for the transposed weights.
            Array.Fill(actual, 12345f);
            Convolution.ForwardPooled<TA>(x, w, b, new float[columns.Length], Span<float>.Empty, Span<float>.Empty, actual, new int[indices.Length], Batch, window, filters, threads);
            AssertSameBits(expected, actual, typeof(TA).Name + " on the row-major tiles");
        }
        Assert.Contains(expected, float.IsNaN);
    }

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"{what}, output {i}: {actual[i]} (bits {BitConverter.SingleToInt32Bits(actual[i]):x8}), the two layers give {expected[i]} (bits {BitConverter.SingleToInt32Bits(expected[i]):x8})");
        }
    }

    /// <summary>Max pooling returns the window's maximum and the index of its first occurrence (ties included), for the 2×2 fast path and the general one.</summary>
    [Theory]
    [InlineData(3, 6, 6, 2, 2)]
    [InlineData(2, 7, 5, 2, 2)]
    [InlineData(2, 7, 5, 2, 1)]
    [InlineData(1, 9, 8, 3, 2)]
    [InlineData(4, 5, 5, 5, 1)]
    [InlineData(2, 6, 7, 3, 3)]
    [InlineData(4, 28, 28, 2, 2)] // the vector path: rows of 14 outputs, one vector each
    [InlineData(3, 10, 70, 2, 2)] // rows of 35: two vectors and a scalar tail
    [InlineData(2, 9, 35, 2, 2)]  // odd height and width (the last row and column dropped)
    public void Max_pooling_keeps_the_first_maximum_and_routes_its_gradient_there(int channels, int height, int width, int size, int stride)
    {
        var window = new Window2D(channels, height, width, size, stride, 0);
        var random = new Random(size * 31 + stride);
        const int Batch = 3;
        var x = new float[Batch * window.InputLength];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = random.Next(4); // few distinct values: many ties
        }
        int outputs = channels * window.OutputPlane;
        var y = new float[Batch * outputs];
        var at = new int[Batch * outputs];
        Pooling.MaxForward(x, y, at, Batch, window);
        var delta = Random(random, y.Length);
        var dx = Random(random, x.Length);
        Pooling.MaxBackward(delta, at, dx, Batch, window);
        var expectedDx = new double[x.Length];
        for (int n = 0; n < Batch; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                for (int oy = 0; oy < window.OutputHeight; oy++)
                {
                    for (int ox = 0; ox < window.OutputWidth; ox++)
                    {
                        int best = -1;
                        float max = float.NegativeInfinity;
                        for (int ky = 0; ky < size; ky++)
                        {
                            for (int kx = 0; kx < size; kx++)
                            {
                                int i = (c * height + oy * stride + ky) * width + ox * stride + kx;
                                if (x[n * window.InputLength + i] > max)
                                {
                                    max = x[n * window.InputLength + i];
                                    best = i;
                                }
                            }
                        }
                        int o = n * outputs + (c * window.OutputHeight + oy) * window.OutputWidth + ox;
                        Assert.Equal(max, y[o]);
                        Assert.Equal(best, at[o]);
                        expectedDx[n * window.InputLength + best] += delta[o];
                    }
                }
            }
        }
        for (int i = 0; i < dx.Length; i++)
        {
            Assert.Equal(expectedDx[i], dx[i], 5);
        }
    }

    [Fact]
    public void Average_pooling_is_the_mean_of_each_window_and_spreads_the_gradient_evenly()
    {
        var window = new Window2D(2, 5, 6, 2, 1, 0);
        var random = new Random(3);
        var x = Random(random, 2 * window.InputLength);
        var y = new float[2 * 2 * window.OutputPlane];
        Pooling.AverageForward(x, y, 2, window);
        var delta = Random(random, y.Length);
        var dx = Random(random, x.Length);
        Pooling.AverageBackward(delta, dx, 2, window);
        var expectedDx = new double[x.Length];
        for (int p = 0; p < 4; p++)
        {
            for (int oy = 0; oy < window.OutputHeight; oy++)
            {
                for (int ox = 0; ox < window.OutputWidth; ox++)
                {
                    double sum = 0;
                    int o = (p * window.OutputHeight + oy) * window.OutputWidth + ox;
                    for (int ky = 0; ky < 2; ky++)
                    {
                        for (int kx = 0; kx < 2; kx++)
                        {
                            int i = p * 30 + (oy + ky) * 6 + ox + kx;
                            sum += x[i];
                            expectedDx[i] += delta[o] / 4.0;
                        }
                    }
                    Assert.Equal(sum / 4, y[o], 5);
                }
            }
        }
        for (int i = 0; i < dx.Length; i++)
        {
            Assert.Equal(expectedDx[i], dx[i], 5);
        }
    }

    [Fact]
    public void Kernels_refuse_windows_and_buffers_that_do_not_fit()
    {
        Assert.Throws<ArgumentException>(() => Pooling.MaxForward(new float[16], new float[4], new int[4], 1, new Window2D(1, 4, 4, 5, 1, 0)));
        Assert.Throws<ArgumentException>(() => Pooling.MaxForward(new float[16], new float[4], new int[3], 1, new Window2D(1, 4, 4, 2, 2, 0)));
        Assert.Throws<ArgumentException>(() => Pooling.AverageForward(new float[15], new float[4], 1, new Window2D(1, 4, 4, 2, 2, 0)));
        Assert.Throws<ArgumentException>(() => Convolution.Forward<Identity>(new float[16], new float[9], default, new float[9 * 16], new float[16], new float[16], 1, new Window2D(1, 4, 4, 3, 0, 1), 1, 1));
        Assert.Throws<ArgumentException>(() => Convolution.Forward<Identity>(new float[16], new float[8], default, new float[9 * 16], new float[16], new float[16], 1, new Window2D(1, 4, 4, 3, 1, 1), 1, 1));
    }

    private static float[] Random(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }
}
