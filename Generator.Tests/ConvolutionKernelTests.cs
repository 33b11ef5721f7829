using System;
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

    /// <summary>Max pooling returns the window's maximum and the index of its first occurrence (ties included), for the 2×2 fast path and the general one.</summary>
    [Theory]
    [InlineData(3, 6, 6, 2, 2)]
    [InlineData(2, 7, 5, 2, 2)]
    [InlineData(2, 7, 5, 2, 1)]
    [InlineData(1, 9, 8, 3, 2)]
    [InlineData(4, 5, 5, 5, 1)]
    [InlineData(2, 6, 7, 3, 3)]
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
