using System;
using System.Diagnostics;
using Backprop.Kernels;

namespace Backprop.Benchmarks;

/// <summary>The PERF.md CNN: conv16(3×3, p1)-pool2-conv32(3×3, p1)-pool2-fc128-fc10, ReLU, softmax cross-entropy.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dense(10)]
public partial class BenchCnn;

/// <summary>
/// <c>-- --cnn</c>: the PERF.md CNN's training step and prediction on one thread at batch 1, 32 and 256, and each
/// convolution product at the CNN's shapes with its GFLOP/s (multiply and add counted), best of several rounds.
/// Quick timings on the calling thread, not BenchmarkDotNet; compare with <c>--cores</c> of the same run.
/// </summary>
internal static class CnnTiming
{
    public static int Run()
    {
        foreach (int batch in new[] { 1, 32, 256 })
        {
            var net = new BenchCnn(maxBatch: batch, seed: 1) { MaxThreads = 1 };
            var random = new Random(5);
            var inputs = new float[batch * BenchCnn.InputSize];
            for (int i = 0; i < inputs.Length; i++)
            {
                inputs[i] = (float)random.NextDouble();
            }
            var labels = new int[batch];
            var outputs = new float[batch * BenchCnn.OutputSize];
            var sgd = new Sgd(0.01f);
            double step = Best(() => net.TrainStep(inputs, labels, sgd), batch);
            double predict = Best(() => net.Predict(inputs, outputs), batch);
            Console.WriteLine($"BenchCnn batch {batch,3}, 1 thread: TrainStep {step,8:F3} ms ({7.3e6 * batch / step / 1e6,5:F1} GFLOP/s), Predict {predict,8:F3} ms ({2.4e6 * batch / predict / 1e6,5:F1} GFLOP/s)");
            // Transfer learning's step: the convolutions frozen, so the backward pass stops above them.
            net.Freeze("conv1", "conv2");
            double frozen = Best(() => net.TrainStep(inputs, labels, sgd), batch);
            net.Unfreeze();
            Console.WriteLine($"BenchCnn batch {batch,3}, 1 thread: TrainStep with conv1 and conv2 frozen {frozen,8:F3} ms ({step / frozen:F2}x faster)");
        }

        // Each layer's forward kernel at batch 32, on the network's shapes.
        {
            const int B = 32;
            var r = new Random(2);
            AlignedBuffer Make(int n)
            {
                var b = new AlignedBuffer(n);
                for (int i = 0; i < n; i++)
                {
                    b.Span[i] = (float)r.NextDouble() - 0.5f;
                }
                return b;
            }
            var w1 = new Window2D(1, 28, 28, 3, 1, 1);
            var p1 = new Window2D(16, 28, 28, 2, 2, 0);
            var w2 = new Window2D(16, 14, 14, 3, 1, 1);
            var p2 = new Window2D(32, 14, 14, 2, 2, 0);
            AlignedBuffer x = Make(B * 784), k1 = Make(16 * 9), b1 = Make(16), c1 = Make(B * 9 * 784), y1 = Make(B * 16 * 784), q1 = Make(B * 16 * 196);
            AlignedBuffer k2 = Make(32 * 144), b2 = Make(32), c2 = Make(B * 144 * 196), y2 = Make(B * 32 * 196), q2 = Make(B * 32 * 49);
            AlignedBuffer wd = Make(1568 * 128), bd = Make(128), h = Make(B * 128), wo = Make(128 * 10), bo = Make(10), o = Make(B * 10);
            var i1 = new int[B * 16 * 196];
            var i2 = new int[B * 32 * 49];
            Console.WriteLine($"batch {B} forward, ms: conv1 {Best(() => Convolution.Forward<Relu>(x, k1, b1, c1, y1, y1, B, w1, 16, 1), B):F3}, " +
                $"pool1 {Best(() => Pooling.MaxForward(y1, q1, i1, B, p1), B):F3}, " +
                $"conv2 {Best(() => Convolution.Forward<Relu>(q1, k2, b2, c2, y2, y2, B, w2, 32, 1), B):F3}, " +
                $"pool2 {Best(() => Pooling.MaxForward(y2, q2, i2, B, p2), B):F3}, " +
                $"dense1 {Best(() => Dense.Forward<Relu>(q2, wd, bd, h, h, B, 1568, 128, 1), B):F3}, " +
                $"dense2 {Best(() => Dense.Forward<Identity>(h, wo, bo, o, o, B, 128, 10, 1), B):F3}, " +
                $"plain 2x2 max over pool1's input {Best(() => PlainMax(y1.Span, q1.Span, B * 16, 28, 28), B):F3}");
            Console.WriteLine($"batch {B} inference, fused (ForwardPooled), ms: conv1+pool1 {Best(() => Convolution.ForwardPooled<Relu>(x, k1, b1, c1, y1, y1, q1, i1, B, w1, 16, 1), B):F3}, " +
                $"conv2+pool2 {Best(() => Convolution.ForwardPooled<Relu>(q1, k2, b2, c2, y2, y2, q2, i2, B, w2, 32, 1), B):F3}");
            // The same pass on the row-major tiles (a y too short to hold the transposed weights keeps the fused pass on them).
            // 8 is a prediction's pass (the weights are transposed once per pass), 32 the table's. Batch 1 is not timed: it
            // keeps the row-major tiles (the transposition, about 2 µs, would cost more than one sample gains).
            // The blocked tile needs AVX-512; elsewhere the empty y would be refused.
            foreach (int n in System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? new[] { 8, 32, 8, 32 } : [])
            {
                Console.WriteLine($"conv2+pool2 fused at batch {n}, per sample: filters along the vectors {Best(() => Convolution.ForwardPooled<Relu>(q1, k2, b2, c2, y2, y2, q2, i2, n, w2, 32, 1), n) / n * 1000:F2} us, " +
                    $"output columns along the vectors {Best(() => Convolution.ForwardPooled<Relu>(q1, k2, b2, c2, Span<float>.Empty, Span<float>.Empty, q2, i2, n, w2, 32, 1), n) / n * 1000:F2} us");
            }
        }

        // The convolutions' products alone, per sample, at the CNN's shapes.
        foreach (var (name, window, filters) in new[] { ("conv1", new Window2D(1, 28, 28, 3, 1, 1), 16), ("conv2", new Window2D(16, 14, 14, 3, 1, 1), 32) })
        {
            int patch = window.Patch, plane = window.OutputPlane;
            var r = new Random(1);
            AlignedBuffer Make(int n)
            {
                var b = new AlignedBuffer(n);
                for (int i = 0; i < n; i++)
                {
                    b.Span[i] = (float)r.NextDouble() - 0.5f;
                }
                return b;
            }
            AlignedBuffer x = Make(window.InputLength), w = Make(filters * patch), cols = Make(patch * plane), z = Make(filters * plane), d = Make(filters * plane);
            AlignedBuffer g = Make(filters * patch), dcols = Make(patch * plane), dx = Make(window.InputLength);
            double flops = 2.0 * filters * patch * plane / 1e6;
            double unfold = Best(() => Convolution.Unfold(x, cols, window), 1);
            double forward = Best(() => Gemm.Multiply(filters, plane, patch, w, patch, 1, cols, plane, z, plane, default, accumulate: false), 1);
            double weights = Best(() => Gemm.MultiplyTransposed(filters, patch, plane, d, plane, cols, plane, g, patch), 1);
            double input = Best(() => Gemm.Multiply(patch, plane, filters, w, 1, patch, d, plane, dcols, plane, default, accumulate: false), 1);
            double fold = Best(() => Convolution.Fold(dcols, dx, window), 1);
            // The layer's kernels as the network calls them (the direct path at these stride-1 shapes), batch 32, per sample.
            const int B = 32;
            AlignedBuffer bx = Make(B * window.InputLength), bb = Make(filters), bc = Make(B * patch * plane), by = Make(B * filters * plane), bd = Make(B * filters * plane);
            AlignedBuffer bdx = Make(B * window.InputLength), bs = Make(Convolution.ScratchLength(window, filters, true)), bg = Make(filters);
            double layerForward = Best(() => Convolution.Forward<Identity>(bx, w, bb, bc, by, by, B, window, filters, 1), 1) / B;
            double layerBackward = Best(() => Convolution.Backward<Identity>(bx, w, bc, by, by, bd, g, bg, bdx, bs, B, window, filters, default), 1) / B;
            double weightBackward = Best(() => Convolution.Backward<Identity>(bx, w, bc, by, by, bd, g, bg, default, bs, B, window, filters, default), 1) / B;
            double inputBackward = layerBackward - weightBackward;
            double forwardOne = Best(() => Convolution.Forward<Identity>(bx, w, bb, bc, by, by, 1, window, filters, 1), 1);
            double backwardOne = Best(() => Convolution.Backward<Identity>(bx, w, bc, by, by, bd, g, bg, bdx, bs, 1, window, filters, default), 1);
            double weightOne = Best(() => Convolution.Backward<Identity>(bx, w, bc, by, by, bd, g, bg, default, bs, 1, window, filters, default), 1);
            Console.WriteLine($"{name} layer, batch 1: Forward {forwardOne * 1e3,6:F2} us, Backward with both gradients {backwardOne * 1e3,6:F2} us, weight gradient only {weightOne * 1e3,6:F2} us");
            Console.WriteLine($"{name} layer, batch {B}, per sample: Forward {layerForward * 1e3,6:F2} us ({flops / layerForward,5:F1} GFLOP/s), " +
                $"Backward with both gradients {layerBackward * 1e3,6:F2} us ({2 * flops / layerBackward,5:F1} GFLOP/s): " +
                $"weight gradient {weightBackward * 1e3,6:F2} us ({flops / weightBackward,5:F1}), input gradient (the difference) {inputBackward * 1e3,6:F2} us ({flops / inputBackward,5:F1})");
            Console.WriteLine($"{name} {window.Channels}x{window.Height}x{window.Width} -> {filters}x{window.OutputHeight}x{window.OutputWidth}, per sample: " +
                $"im2col {unfold * 1e3,6:F2} us; W·cols {forward * 1e3,6:F2} us ({flops / forward,5:F1} GFLOP/s); ΔZ·colsᵀ {weights * 1e3,6:F2} us ({flops / weights,5:F1}); " +
                $"Wᵀ·ΔZ {input * 1e3,6:F2} us ({flops / input,5:F1}); col2im {fold * 1e3,6:F2} us");
        }
        return 0;
    }

    /// <summary>A plain 2×2 max over the same input, without indices: the floor max pooling's own time is read against.</summary>
    private static void PlainMax(Span<float> x, Span<float> y, int planes, int h, int w)
    {
        int o = 0;
        for (int p = 0; p < planes; p++)
        {
            for (int oy = 0; oy < h / 2; oy++)
            {
                for (int ox = 0; ox < w / 2; ox++)
                {
                    int i = p * h * w + 2 * oy * w + 2 * ox;
                    y[o++] = Math.Max(Math.Max(x[i], x[i + 1]), Math.Max(x[i + w], x[i + w + 1]));
                }
            }
        }
    }

    /// <summary>The best of 7 rounds of enough calls for about 20 ms, in ms per call.</summary>
    private static double Best(Action action, int batch)
    {
        for (int i = 0; i < 20; i++)
        {
            action();
        }
        int calls = Math.Max(3, 2000 / Math.Max(1, batch));
        double best = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++)
            {
                action();
            }
            best = Math.Min(best, watch.Elapsed.TotalMilliseconds / calls);
        }
        return best;
    }
}
