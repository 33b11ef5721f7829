using System;
using Backprop.Kernels;

namespace Backprop.Benchmarks;

/// <summary>
/// The dense layer's three products alone, at the MLP's layer shapes, in GFLOP/s (best of several rounds on the
/// calling thread): forward <c>X·Wᵀ</c>, weight gradient <c>Xᵀ·Δ</c>, input gradient <c>Δ·W</c>.
/// </summary>
internal static class GemmTiming
{
    public static int Run()
    {
        Console.WriteLine("product                       m     n     k   GFLOP/s   (* the input-gradient form Dense.Backward uses)");
        foreach (int batch in new[] { 1, 8, 32, 256 })
        {
            foreach (var (inputs, units) in new[] { (784, 256), (256, 128), (128, 10) })
            {
                AlignedBuffer x = Random(batch * inputs), w = Random(inputs * units), bias = Random(units), z = new(batch * units);
                AlignedBuffer delta = Random(batch * units), dw = new(inputs * units), dx = new(batch * inputs);
                double flops = 2.0 * batch * inputs * units;
                Report("forward  x·Wᵀ + b", batch, units, inputs, flops, () => Gemm.Multiply(batch, units, inputs, x, inputs, 1, w, units, z, units, bias, false));
                Report("weights  xᵀ·δ", inputs, units, batch, flops, () => Gemm.Multiply(inputs, units, batch, x, 1, inputs, delta, units, dw, units, default, false));
                AlignedBuffer scratch = new(inputs * units);
                // The three forms of the input gradient; Dense.Backward picks by batch and shape (the line it uses is marked).
                var form = Dense.InputGradientFormFor(batch, inputs, units);
                string Mark(InputGradientForm f) => f == form ? "*" : "";
                Report("inputs   δ·W  transposed" + Mark(InputGradientForm.TransposedWeight), batch, inputs, units, flops, () =>
                {
                    Vectors.Transpose(w, inputs, units, scratch);
                    Gemm.Multiply(batch, inputs, units, delta, units, 1, scratch, inputs, dx, inputs, default, false);
                });
                AlignedBuffer deltaT = new(batch * units), dxT = new(batch * inputs);
                Report("inputs   (Wᵀ·δᵀ)ᵀ" + Mark(InputGradientForm.TransposedProduct), batch, inputs, units, flops, () =>
                {
                    Vectors.Transpose(delta, batch, units, deltaT);
                    Gemm.Multiply(inputs, batch, units, w, units, 1, deltaT, batch, dxT, batch, default, false);
                    Vectors.Transpose(dxT, inputs, batch, dx);
                });
                Report("inputs   δ·W  dots" + Mark(InputGradientForm.Dots), batch, inputs, units, flops,
                    () => Gemm.MultiplyTransposed(batch, inputs, units, delta, units, w, units, dx, inputs));
            }
        }
        foreach (var (rows, columns) in new[] { (784, 256), (256, 128), (128, 10) })
        {
            AlignedBuffer w = Random(rows * columns), t = new(rows * columns);
            Report("transpose Wᵀ → W", rows, columns, 0, rows * columns, () => Vectors.Transpose(w, rows, columns, t), "Gfloat/s");
        }
        return 0;
    }

    private static void Report(string name, int m, int n, int k, double flops, Action product, string unit = "")
        => Console.WriteLine($"{name,-24} {m,6} {n,5} {k,5} {flops / Profile.BestMicroseconds(product) / 1e3,9:F1} {unit}");

    private static AlignedBuffer Random(int length) => Profile.RandomBuffer(length, new Random(length));
}
