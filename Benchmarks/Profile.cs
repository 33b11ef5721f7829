using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Threading;
using Backprop.Kernels;

namespace Backprop.Benchmarks;

/// <summary>
/// Where the MLP's time goes (<c>-- --profile</c>): each phase of a prediction and a training step timed alone on
/// the calling thread at the network's real buffers and shapes, beside the whole call. Best of several rounds.
/// </summary>
internal static class Profile
{
    public static int Run(int threads)
    {
        foreach (int batch in new[] { 1, 32, 256 })
        {
            var bench = new MlpBenchmarks { Batch = batch, Threads = threads };
            bench.Setup();
            const int I = 784, H1 = 256, H2 = 128, O = 10;
            var r = new Random(3);
            AlignedBuffer Make(int n) => RandomBuffer(n, r);
            AlignedBuffer x = Make(batch * I), w1 = Make(I * H1), b1 = Make(H1), w2 = Make(H1 * H2), b2 = Make(H2), w3 = Make(H2 * O), b3 = Make(O);
            AlignedBuffer z1 = new(batch * H1), y1 = new(batch * H1), z2 = new(batch * H2), y2 = new(batch * H2), z3 = new(batch * O);
            AlignedBuffer d3 = Make(batch * O), d2 = Make(batch * H2), d1 = Make(batch * H1), scratch = new(I * H1);
            AlignedBuffer g = new(I * H1 + H1 + H1 * H2 + H2 + H2 * O + O), p = Make(g.Length);
            var sgd = new Sgd(0.01f);
            Console.WriteLine($"batch {batch}, {threads} thread(s)");
            Time("  Predict (whole)", () => bench.Predict());
            Time("  TrainStep (whole)", () => bench.TrainStep());
            Time("  fwd1 gemm", () => Gemm.Multiply(batch, H1, I, x, I, 1, w1, H1, z1, H1, b1, false, threads));
            Time("  fwd1 relu", () => Relu.Forward(z1, y1, batch, H1));
            Time("  fwd1 gemm+relu fused", () => Gemm.Multiply<Relu>(batch, H1, I, x, I, 1, w1, H1, y1, H1, b1, threads));
            Time("  fwd2 gemm", () => Gemm.Multiply(batch, H2, H1, y1, H1, 1, w2, H2, z2, H2, b2, false, threads));
            Time("  fwd2 relu", () => Relu.Forward(z2, y2, batch, H2));
            Time("  fwd3 gemm", () => Gemm.Multiply(batch, O, H2, y2, H2, 1, w3, O, z3, O, b3, false, threads));
            var labels = new int[batch];
            Time("  loss", () => Losses.SoftmaxCrossEntropy(z3, labels, d3, batch, O));
            Time("  bwd3", () => Dense.Backward<Identity>(y2, w3, z3, z3, d3, g.Slice(0, H2 * O), g.Slice(H2 * O, O), d2, scratch, batch, H2, O, threads));
            Time("  bwd3 + sgd step", () =>
            {
                sgd.BeginPartialStep(g.Length);
                Dense.Backward<Identity>(y2, w3, z3, z3, d3, g.Slice(0, H2 * O), g.Slice(H2 * O, O), d2, scratch, batch, H2, O, threads,
                    new ParameterUpdate(sgd, p, 0, H2 * O));
            });
            Time("  bwd2", () => Dense.Backward<Relu>(y1, w2, z2, y2, d2, g.Slice(0, H1 * H2), g.Slice(H1 * H2, H2), d1, scratch, batch, H1, H2, threads));
            Time("  bwd2 weights xᵀ·δ", () => Gemm.Multiply(H1, H2, batch, y1, 1, H1, d2, H2, g, H2, default, false, threads));
            Time("  bwd2 transpose W", () => Vectors.Transpose(w2, H1, H2, scratch));
            Time("  bwd2 inputs δ·W", () => Gemm.Multiply(batch, H1, H2, d2, H2, 1, scratch, H1, d1, H1, default, false, threads));
            Time("  bwd2 weights then inputs", () =>
            {
                Gemm.Multiply(H1, H2, batch, y1, 1, H1, d2, H2, g, H2, default, false, threads);
                Gemm.Multiply(batch, H1, H2, d2, H2, 1, scratch, H1, d1, H1, default, false, threads);
            });
            Time("  bwd2 relu backward", () => Relu.Backward(y2, y2, d2, batch, H2));
            Time("  bwd1", () => Dense.Backward<Relu>(x, w1, z1, y1, d1, g.Slice(0, I * H1), g.Slice(I * H1, H1), default, default, batch, I, H1, threads));
            Time("  bwd1 + sgd fused", () =>
            {
                sgd.BeginPartialStep(g.Length);
                Dense.Backward<Relu>(x, w1, z1, y1, d1, g.Slice(0, I * H1), g.Slice(I * H1, H1), default, default, batch, I, H1, threads,
                    new ParameterUpdate(sgd, p, 0, I * H1));
            });
            Time("  sgd step", () => sgd.Step(p, g));
            bench.Cleanup();
        }
        return 0;
    }

    /// <summary>
    /// What two cores can do at best: a register-only FMA loop (16 independent chains) of the widest vector this CPU
    /// accelerates (the width the kernels take), on one thread, then on two at once. The ratio bounds any two-thread
    /// speed-up of FMA-bound code on this machine.
    /// </summary>
    public static int Cores()
    {
        Console.WriteLine($"FMA probe with {VectorBits}-bit vectors ({Environment.ProcessorCount} logical processors)");
        double one = FmaRate(1), two = FmaRate(2);
        Console.WriteLine($"FMA peak: one thread {one:F1} GFLOP/s, two threads {two:F1} GFLOP/s in total, ratio {two / one:F2}");
        one = FmaRate(1); two = FmaRate(2);
        Console.WriteLine($"FMA peak: one thread {one:F1} GFLOP/s, two threads {two:F1} GFLOP/s in total, ratio {two / one:F2}");
        return Bandwidth();
    }

    /// <summary>The width of the widest hardware-accelerated vector: 512, 256 or 128 bits.</summary>
    private static int VectorBits
        => Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;

    /// <summary>
    /// One core's memory bandwidth at the sizes a batch-1 training step touches: reading, and updating in place
    /// (read + write), a block that fits L2 (512 KB) and one that does not (the MLP's parameters and gradients
    /// together, 1.9 MB), in GB/s of data moved. The roofline of the memory-bound cases.
    /// </summary>
    public static int Bandwidth()
    {
        foreach (int kilobytes in new[] { 512, 940, 1880, 8192 })
        {
            var data = new AlignedBuffer(kilobytes * 256);
            data.Span.Fill(1f);
            double read = 0, update = 0;
            for (int round = 0; round < 20; round++)
            {
                var watch = Stopwatch.StartNew();
                float sum = SumAll(data);
                double seconds = watch.Elapsed.TotalSeconds;
                read = Math.Max(read, data.Length * 4.0 / seconds / 1e9);
                watch.Restart();
                ScaleAll(data, 1.0000001f);
                seconds = watch.Elapsed.TotalSeconds;
                update = Math.Max(update, data.Length * 8.0 / seconds / 1e9);
                if (sum == 42f) Console.Write("");
            }
            Console.WriteLine($"{kilobytes,6} KB: read {read,6:F0} GB/s, read+write in place {update,6:F0} GB/s");
        }
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float SumAll(Span<float> data)
    {
        ref float r = ref MemoryMarshal.GetReference(data);
        if (!Vector512.IsHardwareAccelerated)
        {
            Vector256<float> e = default, f = default, g = default, h = default;
            for (int i = 0; i + 32 <= data.Length; i += 32)
            {
                e += Vector256.LoadUnsafe(ref r, (nuint)i);
                f += Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
                g += Vector256.LoadUnsafe(ref r, (nuint)(i + 16));
                h += Vector256.LoadUnsafe(ref r, (nuint)(i + 24));
            }
            return Vector256.Sum(e + f + g + h);
        }
        Vector512<float> a = default, b = default, c = default, d = default;
        for (int i = 0; i + 64 <= data.Length; i += 64)
        {
            a += Vector512.LoadUnsafe(ref r, (nuint)i);
            b += Vector512.LoadUnsafe(ref r, (nuint)(i + 16));
            c += Vector512.LoadUnsafe(ref r, (nuint)(i + 32));
            d += Vector512.LoadUnsafe(ref r, (nuint)(i + 48));
        }
        return Vector512.Sum(a + b + c + d);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void ScaleAll(Span<float> data, float factor)
    {
        ref float r = ref MemoryMarshal.GetReference(data);
        if (!Vector512.IsHardwareAccelerated)
        {
            for (int i = 0; i + 8 <= data.Length; i += 8)
            {
                (Vector256.LoadUnsafe(ref r, (nuint)i) * factor).StoreUnsafe(ref r, (nuint)i);
            }
            return;
        }
        for (int i = 0; i + 16 <= data.Length; i += 16)
        {
            (Vector512.LoadUnsafe(ref r, (nuint)i) * factor).StoreUnsafe(ref r, (nuint)i);
        }
    }

    private static double FmaRate(int threads)
    {
        const long Iterations = 100_000_000;
        int bits = VectorBits;
        var workers = new Thread[threads];
        var watch = Stopwatch.StartNew();
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                if (bits == 512) FmaLoop512(Iterations);
                else if (bits == 256) FmaLoop256(Iterations);
                else FmaLoop128(Iterations);
            });
            workers[t].Start();
        }
        foreach (var w in workers) w.Join();
        return threads * Iterations * 16.0 * (bits / 32) * 2 / watch.Elapsed.TotalSeconds / 1e9;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop512(long iterations)
    {
        var x = Vector512.Create(1.0000001f);
        var y = Vector512.Create(0.9999999f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x,
            a8 = x, a9 = x, a10 = x, a11 = x, a12 = x, a13 = x, a14 = x, a15 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, y, x); a1 = Vector512.FusedMultiplyAdd(a1, y, x);
            a2 = Vector512.FusedMultiplyAdd(a2, y, x); a3 = Vector512.FusedMultiplyAdd(a3, y, x);
            a4 = Vector512.FusedMultiplyAdd(a4, y, x); a5 = Vector512.FusedMultiplyAdd(a5, y, x);
            a6 = Vector512.FusedMultiplyAdd(a6, y, x); a7 = Vector512.FusedMultiplyAdd(a7, y, x);
            a8 = Vector512.FusedMultiplyAdd(a8, y, x); a9 = Vector512.FusedMultiplyAdd(a9, y, x);
            a10 = Vector512.FusedMultiplyAdd(a10, y, x); a11 = Vector512.FusedMultiplyAdd(a11, y, x);
            a12 = Vector512.FusedMultiplyAdd(a12, y, x); a13 = Vector512.FusedMultiplyAdd(a13, y, x);
            a14 = Vector512.FusedMultiplyAdd(a14, y, x); a15 = Vector512.FusedMultiplyAdd(a15, y, x);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15);
    }

    /// <summary>
    /// Twelve chains, not sixteen: with the two constants they fill AVX2's sixteen registers, where sixteen would spill
    /// (AVX-512 has 32); twelve still hide the FMA latency on two pipes. The loop runs 4/3 as many iterations of twelve,
    /// so the count is the 16 per iteration that <see cref="FmaRate"/> assumes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop256(long iterations)
    {
        var x = Vector256.Create(1.0000001f);
        var y = Vector256.Create(0.9999999f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0, n = iterations / 3 * 4; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, y, x); a1 = Vector256.FusedMultiplyAdd(a1, y, x);
            a2 = Vector256.FusedMultiplyAdd(a2, y, x); a3 = Vector256.FusedMultiplyAdd(a3, y, x);
            a4 = Vector256.FusedMultiplyAdd(a4, y, x); a5 = Vector256.FusedMultiplyAdd(a5, y, x);
            a6 = Vector256.FusedMultiplyAdd(a6, y, x); a7 = Vector256.FusedMultiplyAdd(a7, y, x);
            a8 = Vector256.FusedMultiplyAdd(a8, y, x); a9 = Vector256.FusedMultiplyAdd(a9, y, x);
            a10 = Vector256.FusedMultiplyAdd(a10, y, x); a11 = Vector256.FusedMultiplyAdd(a11, y, x);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop128(long iterations)
    {
        var x = Vector128.Create(1.0000001f);
        var y = Vector128.Create(0.9999999f);
        Vector128<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x;
        // Eight chains (the 128-bit paths have sixteen registers too), twice the iterations: 16 FMAs per iteration counted.
        for (long i = 0, n = 2 * iterations; i < n; i++)
        {
            a0 = Vector128.FusedMultiplyAdd(a0, y, x); a1 = Vector128.FusedMultiplyAdd(a1, y, x);
            a2 = Vector128.FusedMultiplyAdd(a2, y, x); a3 = Vector128.FusedMultiplyAdd(a3, y, x);
            a4 = Vector128.FusedMultiplyAdd(a4, y, x); a5 = Vector128.FusedMultiplyAdd(a5, y, x);
            a6 = Vector128.FusedMultiplyAdd(a6, y, x); a7 = Vector128.FusedMultiplyAdd(a7, y, x);
        }
        return Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
    }

    /// <summary>
    /// A buffer of <paramref name="length"/> values uniform in [-0.5, 0.5), starting on a cache line as a network's
    /// buffers do (<see cref="AlignedBuffer"/>), so that the timings see the same alignment.
    /// </summary>
    public static AlignedBuffer RandomBuffer(int length, Random random)
    {
        var values = new AlignedBuffer(length);
        Span<float> span = values;
        for (int i = 0; i < length; i++)
        {
            span[i] = (float)(random.NextDouble() - 0.5);
        }
        return values;
    }

    private static void Time(string name, Action action)
        => Console.WriteLine($"{name,-22} {BestMicroseconds(action),9:F2} us");

    /// <summary>Microseconds per call: the best of seven rounds of about 30 ms each, after a warm-up.</summary>
    public static double BestMicroseconds(Action action)
    {
        for (int i = 0; i < 50; i++)
        {
            action();
        }
        double best = double.MaxValue;
        for (int round = 0; round < 7; round++)
        {
            int calls = 0;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed.TotalMilliseconds < 30)
            {
                action();
                calls++;
            }
            best = Math.Min(best, watch.Elapsed.TotalMilliseconds * 1000 / calls);
        }
        return best;
    }
}
