using System;
using System.Diagnostics;
using System.Linq;

namespace Backprop.Benchmarks;

/// <summary>
/// The cost of <c>Fit</c>'s loop over raw <c>TrainStep</c> calls (issue 15's target: under 3%), on the MLP at batch 32,
/// one thread: 400 steps per epoch on random rows. Raw: one <c>TrainStep</c> per consecutive slice of the data (no
/// shuffling, no copy). Fit: the same rows shuffled into batches, a 32-row validation set, the best model kept. Both
/// warmed up for 12 calls first (Fit's per-epoch methods reach their final tier only after several calls), then
/// alternated round by round (9 rounds of 3 epochs each); prints every round, the medians and their ratio, Fit's step
/// loop alone (from its progress callback), and a raw loop that gathers shuffled batches as any shuffling loop must.
/// </summary>
internal static class FitOverhead
{
    public static int Run()
    {
        const int Batch = 32, Steps = 400, Epochs = 3, Rounds = 9;
        int rows = Batch * Steps;
        var random = new Random(3);
        var inputs = new float[rows * BenchMlp.InputSize];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)random.NextDouble();
        }
        var labels = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            labels[i] = random.Next(BenchMlp.OutputSize);
        }
        var validation = inputs.AsSpan(0, Batch * BenchMlp.InputSize).ToArray();
        var validationLabels = labels.AsSpan(0, Batch).ToArray();

        var raw = new BenchMlp(Batch, 1) { MaxThreads = 1 };
        var fitted = new BenchMlp(Batch, 1) { MaxThreads = 1 };
        var rawSgd = new Sgd(0.01f);
        var fitSgd = new Sgd(0.01f);
        double trainingSeconds = 0, epochSeconds = 0;
        var options = new FitOptions
        {
            Epochs = Epochs, BatchSize = Batch, Patience = 0, Seed = 1,
            OnStep = progress => { if (progress.Step == progress.Steps) { trainingSeconds += progress.Seconds; } },
            OnEpoch = result => epochSeconds += result.Seconds,
        };
        var rawTimes = new double[Rounds];
        var fitTimes = new double[Rounds];
        // Warm up both paths until every method on them has reached its final tier: Fit's per-epoch methods are called a
        // few times per call, and tiering promotes a method after 30 calls (then compiles it in the background).
        for (int warm = 0; warm < 12; warm++)
        {
            fitted.Fit(fitSgd, inputs, labels, validation, validationLabels, options);
            RawEpochs(raw, rawSgd, inputs, labels, Batch, Steps, Epochs);
        }
        trainingSeconds = epochSeconds = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var watch = Stopwatch.StartNew();
            if (round % 2 == 0)
            {
                RawEpochs(raw, rawSgd, inputs, labels, Batch, Steps, Epochs);
                rawTimes[round] = watch.Elapsed.TotalMilliseconds;
                watch.Restart();
                fitted.Fit(fitSgd, inputs, labels, validation, validationLabels, options);
                fitTimes[round] = watch.Elapsed.TotalMilliseconds;
            }
            else
            {
                fitted.Fit(fitSgd, inputs, labels, validation, validationLabels, options);
                fitTimes[round] = watch.Elapsed.TotalMilliseconds;
                watch.Restart();
                RawEpochs(raw, rawSgd, inputs, labels, Batch, Steps, Epochs);
                rawTimes[round] = watch.Elapsed.TotalMilliseconds;
            }
        }
        Console.WriteLine("rounds (ms): raw " + string.Join(", ", rawTimes.Select(t => t.ToString("F0"))) + "; Fit " + string.Join(", ", fitTimes.Select(t => t.ToString("F0"))));
        Array.Sort(rawTimes);
        Array.Sort(fitTimes);
        double rawMedian = rawTimes[Rounds / 2] / (Epochs * Steps), fitMedian = fitTimes[Rounds / 2] / (Epochs * Steps);
        Console.WriteLine($"raw TrainStep loop: {rawMedian:F4} ms per step; Fit: {fitMedian:F4} ms per step (median of {Rounds} rounds of {Epochs} epochs x {Steps} steps, batch {Batch})");
        Console.WriteLine($"Fit overhead: {(fitMedian / rawMedian - 1) * 100:F1}% (best rounds: {(fitTimes[0] / rawTimes[0] - 1) * 100:F1}%)");
        // The same raw loop on batches gathered from a shuffled order, as any shuffling loop must: what Fit adds beyond that.
        var order = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            order[i] = i;
        }
        new Random(1).Shuffle(order);
        var gathered = new float[Batch * BenchMlp.InputSize];
        var gatheredLabels = new int[Batch];
        var shuffledTimes = new double[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            var watch = Stopwatch.StartNew();
            for (int epoch = 0; epoch < Epochs; epoch++)
            {
                for (int step = 0; step < Steps; step++)
                {
                    for (int i = 0; i < Batch; i++)
                    {
                        int row = order[step * Batch + i];
                        inputs.AsSpan(row * BenchMlp.InputSize, BenchMlp.InputSize).CopyTo(gathered.AsSpan(i * BenchMlp.InputSize));
                        gatheredLabels[i] = labels[row];
                    }
                    raw.TrainStep(gathered, gatheredLabels, rawSgd);
                }
            }
            shuffledTimes[round] = watch.Elapsed.TotalMilliseconds;
        }
        Array.Sort(shuffledTimes);
        Console.WriteLine($"Fit: steps {trainingSeconds * 1000 / (fitTimes.Length * Epochs * Steps):F4} ms per step, whole epochs {epochSeconds * 1000 / (fitTimes.Length * Epochs * Steps):F4} (validation and the best model's copy included)");
        Console.WriteLine($"raw loop on shuffled, gathered batches: {shuffledTimes[Rounds / 2] / (Epochs * Steps):F4} ms per step");
        var copy = new System.IO.MemoryStream();
        double Time(Action action)
        {
            for (int i = 0; i < 40; i++)
            {
                action(); // past tiering's 30 calls
            }
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < 20; i++)
            {
                action();
            }
            return watch.Elapsed.TotalMilliseconds / 20;
        }
        double save = Time(() => { copy.SetLength(0); fitted.Save(copy); });
        double load = Time(() => { copy.Position = 0; fitted.Load(copy); });
        Console.WriteLine($"the best model's copy (warm): Save {save:F2} ms, Load {load:F2} ms");
        EvaluationTiming(fitted, inputs, labels, Time);
        EvaluationTiming(new BenchCnn(maxBatch: 256, seed: 1) { MaxThreads = 1 }, RandomRows(10_000 * BenchCnn.InputSize, 3), RandomLabels(10_000, BenchCnn.OutputSize, 4), Time);
        return 0;
    }

    /// <summary>
    /// One evaluation (Fit's validation) on a dataset against one prediction of it and against the two passes it took
    /// before <c>ComputeLoss(inputs, labels, outputs)</c> (a prediction, then the loss batch by batch).
    /// </summary>
    private static void EvaluationTiming(INetwork network, float[] inputs, int[] labels, Func<Action, double> time)
    {
        int rows = labels.Length, size = network.InputSize, width = network.OutputSize;
        var outputs = new float[rows * width];
        double predict = time(() => Trainer.Predict(network, inputs, outputs));
        double twoPasses = time(() =>
        {
            Trainer.Predict(network, inputs, outputs);
            for (int start = 0; start < rows; start += network.MaxBatch)
            {
                int batch = Math.Min(network.MaxBatch, rows - start);
                network.ComputeLoss(inputs.AsSpan(start * size, batch * size), labels.AsSpan(start, batch));
            }
        });
        double evaluate = time(() => network.Evaluate(inputs, labels));
        Console.WriteLine($"{network.GetType().Name}, {rows} rows: Evaluate {evaluate:F2} ms; Predict {predict:F2} ms; Predict then ComputeLoss {twoPasses:F2} ms (Evaluate / Predict {evaluate / predict:F2}x)");
    }

    private static float[] RandomRows(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = random.NextSingle();
        }
        return values;
    }

    private static int[] RandomLabels(int count, int classes, int seed)
    {
        var random = new Random(seed);
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = random.Next(classes);
        }
        return labels;
    }

    private static void RawEpochs(BenchMlp net, Sgd sgd, float[] inputs, int[] labels, int batch, int steps, int epochs)
    {
        int size = BenchMlp.InputSize;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (int step = 0; step < steps; step++)
            {
                net.TrainStep(inputs.AsSpan(step * batch * size, batch * size), labels.AsSpan(step * batch, batch), sgd);
            }
        }
    }
}
