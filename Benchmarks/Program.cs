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
        if (args.Length > 0 && args[0] == "--cnn")
        {
            return CnnTiming.Run();
        }
        if (args.Length > 0 && args[0] == "--rnn")
        {
            return RecurrentTiming.Run();
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
        if (args.Length > 0 && args[0] == "--scaling")
        {
            int batch = 256;
            if (args.Length > 1 && (!int.TryParse(args[1], out batch) || batch < 1 || batch > 4096) || args.Length > 2 && args[2] != "cnn")
            {
                Console.Error.WriteLine("--scaling takes a batch from 1 to 4096, then optionally 'cnn' (the PERF.md CNN instead of the MLP).");
                return 2;
            }
            return args.Length > 2
                ? Scaling(batch, "CNN", threads =>
                {
                    var cnn = new CnnBenchmarks { Batch = batch, Threads = threads };
                    return (cnn.Setup, () => cnn.TrainStep(), cnn.Cleanup);
                })
                : Scaling(batch, "MLP", threads =>
                {
                    var mlp = new MlpBenchmarks { Batch = batch, Threads = threads };
                    return (mlp.Setup, () => mlp.TrainStep(), mlp.Cleanup);
                });
        }
        if (args.Length > 0 && args[0] == "--idle")
        {
            return ThreadPoolTiming.Idle();
        }
        if (args.Length > 0 && args[0] == "--contention")
        {
            return ThreadPoolTiming.Contention();
        }
        if (args.Length > 0 && args[0] == "--fit-overhead")
        {
            return FitOverhead.Run();
        }
        if (args.Length > 0 && args[0] == "--compiler-timing")
        {
            return CompilerTiming.Run();
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    /// <summary>
    /// Two threads against one on the training step of the MLP or the CNN, alternated round by round in one process
    /// (31 rounds of 40 steps each, 8 for the CNN, the first of the pair alternating), so both see the same machine state: the ratio of the median rounds and of the best rounds. A check
    /// between BenchmarkDotNet runs, whose two-thread medians follow the second vCPU's availability.
    /// </summary>
    private static int Scaling(int batch, string network, Func<int, (Action Setup, Action Step, Action Cleanup)> create)
    {
        var one = create(1);
        var two = create(2);
        one.Setup();
        two.Setup();
        const int Rounds = 31;
        int steps = network == "CNN" ? 8 : 40;
        var times = new double[2][] { new double[Rounds], new double[Rounds] };
        var benches = new[] { one, two };
        for (int warm = 0; warm < 50; warm++)
        {
            one.Step();
            two.Step();
        }
        if (Kernels.DataParallel.Shards(batch, 2) < 2)
        {
            Console.WriteLine($"(a batch of {batch} is not cut into shards: both columns run on one thread)");
        }
        for (int round = 0; round < Rounds; round++)
        {
            // Which goes first alternates too.
            for (int i = 0; i < 2; i++)
            {
                int t = (round + i) % 2;
                var watch = Stopwatch.StartNew();
                for (int step = 0; step < steps; step++)
                {
                    benches[t].Step();
                }
                times[t][round] = watch.Elapsed.TotalMicroseconds / steps;
            }
        }
        Array.Sort(times[0]);
        Array.Sort(times[1]);
        Console.WriteLine($"{network} training step, batch {batch}: one thread median {times[0][Rounds / 2]:F1} us (best {times[0][0]:F1}), two threads median {times[1][Rounds / 2]:F1} us (best {times[1][0]:F1})");
        Console.WriteLine($"two threads / one: {times[0][Rounds / 2] / times[1][Rounds / 2]:F2}x by the medians, {times[0][0] / times[1][0]:F2}x by the best rounds");
        one.Cleanup();
        two.Cleanup();
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
