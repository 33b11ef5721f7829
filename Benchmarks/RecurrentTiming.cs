using System;
using System.Diagnostics;

namespace Backprop.Benchmarks;

/// <summary>The issue's GRU: 28 steps of 28 features, 128 units, the last hidden state into 10 logits.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(28, 28)]
[Gru(128)]
[Dense(10)]
public partial class BenchGru;

/// <summary>The same with an LSTM of 128 units.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(28, 28)]
[Lstm(128)]
[Dense(10)]
public partial class BenchLstm;

/// <summary>
/// <c>-- --rnn</c>: the GRU and LSTM training steps (plain SGD) at batch 32 and predictions at batch 32 and 1, on one
/// thread, median of 9 rounds of about 0.2 s each (as <c>pytorch/bench_rnn.py</c> times its peer). Quick timings, not
/// BenchmarkDotNet.
/// </summary>
internal static class RecurrentTiming
{
    public static int Run()
    {
        foreach (var (name, create) in new (string, Func<int, INetwork>)[]
        {
            ("gru", batch => new BenchGru(batch, seed: 1) { MaxThreads = 1 }),
            ("lstm", batch => new BenchLstm(batch, seed: 1) { MaxThreads = 1 }),
        })
        {
            foreach (int batch in new[] { 1, 32 })
            {
                var net = create(batch);
                var random = new Random(5);
                var inputs = new float[batch * net.InputSize];
                for (int i = 0; i < inputs.Length; i++)
                {
                    inputs[i] = (float)random.NextDouble();
                }
                var labels = new int[batch];
                var outputs = new float[batch * net.OutputSize];
                var sgd = new Sgd(0.01f);
                if (batch == 32)
                {
                    Console.WriteLine($"{{\"case\":\"{name}-train\",\"batch\":{batch},\"threads\":1,\"ms\":{Median(() => net.TrainStep(inputs, labels, sgd)):F4}}}");
                }
                Console.WriteLine($"{{\"case\":\"{name}-predict\",\"batch\":{batch},\"threads\":1,\"ms\":{Median(() => net.Predict(inputs, outputs)):F4}}}");
            }
        }
        // The forward kernel alone at batch 32 (a prediction's recurrent layer): inference keeps only the hidden states,
        // training also every gate; alternated in one process.
        foreach (var cell in new[] { Kernels.RecurrentCell.Gru, Kernels.RecurrentCell.Lstm })
        {
            const int Batch = 32, Steps = 28, Features = 28, Units = 128;
            int width = Kernels.Recurrent.Gates(cell) * Units;
            var random = new Random(3);
            float[] Random(long length)
            {
                var values = new float[length];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (float)random.NextDouble() - 0.5f;
                }
                return values;
            }
            float[] input = Random(Batch * Steps * Features), parameters = Random(Kernels.Recurrent.ParameterCount(cell, Features, Units));
            float[] gates = new float[Batch * Steps * width], hidden = new float[Batch * Steps * Units], step = new float[Batch * width];
            float[] cells = cell == Kernels.RecurrentCell.Lstm ? new float[Batch * Steps * Units] : [];
            float[] newGate = cell == Kernels.RecurrentCell.Gru ? new float[Batch * Steps * Units] : [];
            for (int round = 0; round < 3; round++)
            {
                double training = Median(() => Kernels.Recurrent.Forward(cell, input, parameters, gates, hidden, cells, newGate, step, Batch, Steps, Features, Units, 1, training: true));
                double inference = Median(() => Kernels.Recurrent.Forward(cell, input, parameters, gates, hidden, cells, newGate, step, Batch, Steps, Features, Units, 1, training: false));
                Console.WriteLine($"{cell} forward kernel, batch {Batch}: training {training:F4} ms, inference {inference:F4} ms");
            }
        }
        return 0;
    }

    private static double Median(Action call)
    {
        for (int i = 0; i < 30; i++)
        {
            call();
        }
        var watch = Stopwatch.StartNew();
        call();
        int calls = Math.Max(3, (int)(0.2 / Math.Max(watch.Elapsed.TotalSeconds, 1e-6)));
        var times = new double[9];
        for (int round = 0; round < times.Length; round++)
        {
            watch.Restart();
            for (int i = 0; i < calls; i++)
            {
                call();
            }
            times[round] = watch.Elapsed.TotalMilliseconds / calls;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
