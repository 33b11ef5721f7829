using System;
using System.Diagnostics;
using BenchmarkDotNet.Running;

namespace Backprop.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--quick")
        {
            return Quick();
        }
        if (args.Length > 0 && args[0] == "--gemm")
        {
            return GemmTiming.Run();
        }
        if (args.Length > 0 && args[0] == "--cores")
        {
            return Profile.Cores();
        }
        if (args.Length > 0 && args[0] == "--profile")
        {
            return Profile.Run(args.Length > 1 ? int.Parse(args[1]) : 1);
        }
        if (args.Length > 0 && args[0] == "--compiler-timing")
        {
            return CompilerTiming.Run();
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    /// <summary>
    /// Each case briefly, for CI: fails (exit 1) if any steady-state step or prediction allocates, on any thread
    /// (the helper threads of data-parallel calls included). Timings are printed, not asserted: shared machines are noisy.
    /// </summary>
    private static int Quick()
    {
        int failures = 0;
        foreach (var (batch, threads) in new[] { (1, 1), (32, 1), (256, 1), (1, 2), (32, 2), (256, 2) })
        {
            var bench = new MlpBenchmarks { Batch = batch, Threads = threads };
            bench.Setup();
            foreach (var (name, action) in new (string, Action)[] { ("TrainStep", () => bench.TrainStep()), ("Predict", bench.Predict) })
            {
                for (int i = 0; i < 100; i++)
                {
                    action();
                }
                const int Iterations = 200;
                var watch = new Stopwatch();
                long before = GC.GetTotalAllocatedBytes(precise: true);
                watch.Start();
                for (int i = 0; i < Iterations; i++)
                {
                    action();
                }
                double ms = watch.Elapsed.TotalMilliseconds / Iterations;
                long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
                Console.WriteLine($"{name,-10} batch {batch,3}, {threads} thread(s): {ms,8:F4} ms, {allocated} bytes allocated in {Iterations} calls");
                if (allocated != 0)
                {
                    failures++;
                }
            }
            bench.Cleanup();
        }
        Console.WriteLine(failures == 0 ? "quick benchmark: no steady-state allocation" : $"quick benchmark: {failures} cases allocate");
        return failures == 0 ? 0 : 1;
    }
}
