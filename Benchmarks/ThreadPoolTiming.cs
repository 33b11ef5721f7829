using System;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace Backprop.Benchmarks;

/// <summary>
/// The helper threads under real conditions (issue: the thread pool under real conditions): what an idle service pays
/// for them (<c>--idle</c>), and what a call pays when the second core is taken by another process (<c>--contention</c>).
/// </summary>
internal static class ThreadPoolTiming
{
    /// <summary>
    /// A service that predicts a batch of 64 every 2 ms for 5 s, with one thread and with two: the process's CPU time per
    /// wall-clock second, beside the time spent inside Predict (the work itself, on one core or spread over two).
    /// </summary>
    public static int Idle()
    {
        Console.WriteLine("predict batch 64 every 2 ms for 5 s (BenchMlp 784-256-128-10)");
        foreach (int threads in new[] { 1, 2 })
        {
            var bench = new MlpBenchmarks { Batch = 64, Threads = threads };
            bench.Setup();
            for (int i = 0; i < 200; i++)
            {
                bench.Predict();
            }
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            var inside = TimeSpan.Zero;
            int calls = 0;
            long period = Stopwatch.Frequency / 500;
            long next = Stopwatch.GetTimestamp();
            while (wall.Elapsed.TotalSeconds < 5)
            {
                long start = Stopwatch.GetTimestamp();
                bench.Predict();
                inside += Stopwatch.GetElapsedTime(start);
                calls++;
                next += period;
                long wait = next - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    Thread.Sleep(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                }
            }
            double seconds = wall.Elapsed.TotalSeconds;
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / seconds;
            Console.WriteLine(
                $"{threads} thread(s): {calls / seconds:F0} calls/s, {inside.TotalMilliseconds / calls:F3} ms per call, " +
                $"{inside.TotalMilliseconds / seconds:F1} ms/s inside Predict (wall), process CPU {cpu:F1} ms/s");
            bench.Cleanup();
        }
        return 0;
    }

    /// <summary>
    /// One thread against two on the training step (batches 64 and 256) and prediction (batch 256), with a busy loop in
    /// another process pinned to the second core (<c>taskset -c 1</c>): rounds alternated as in <c>--scaling</c>, medians.
    /// </summary>
    public static int Contention()
    {
        if (Environment.ProcessorCount < 2 || !File.Exists("/usr/bin/taskset"))
        {
            Console.WriteLine("--contention needs two cores and /usr/bin/taskset (util-linux).");
            return 2;
        }
        using var busy = Process.Start(new ProcessStartInfo("/usr/bin/taskset", ["-c", "1", "/bin/sh", "-c", "while :; do :; done"]))!;
        try
        {
            Thread.Sleep(200);
            Console.WriteLine($"a busy loop (pid {busy.Id}) pinned to core 1");
            foreach (var (batch, train) in new[] { (64, true), (256, true), (256, false) })
            {
                var one = new MlpBenchmarks { Batch = batch, Threads = 1 };
                var two = new MlpBenchmarks { Batch = batch, Threads = 2 };
                one.Setup();
                two.Setup();
                const int Rounds = 21, Calls = 40;
                var times = new[] { new double[Rounds], new double[Rounds] };
                var benches = new[] { one, two };
                void Call(MlpBenchmarks b)
                {
                    if (train)
                    {
                        b.TrainStep();
                    }
                    else
                    {
                        b.Predict();
                    }
                }
                for (int warm = 0; warm < 40; warm++)
                {
                    Call(one);
                    Call(two);
                }
                for (int round = 0; round < Rounds; round++)
                {
                    for (int i = 0; i < 2; i++)
                    {
                        int t = (round + i) % 2;
                        var watch = Stopwatch.StartNew();
                        for (int c = 0; c < Calls; c++)
                        {
                            Call(benches[t]);
                        }
                        times[t][round] = watch.Elapsed.TotalMilliseconds / Calls;
                    }
                }
                Array.Sort(times[0]);
                Array.Sort(times[1]);
                double a = times[0][Rounds / 2], b = times[1][Rounds / 2];
                Console.WriteLine($"{(train ? "TrainStep" : "Predict"),-9} batch {batch,3}: one thread {a:F3} ms, two threads {b:F3} ms (median of {Rounds} rounds): two / one = {b / a:F2}");
                one.Cleanup();
                two.Cleanup();
            }
        }
        finally
        {
            busy.Kill(entireProcessTree: true);
        }
        return 0;
    }
}
