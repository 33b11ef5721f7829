// Times the MLP 784-256-128-10 training step (SGD) and prediction at batch 1, 32 and 256 on one thread:
// the median of 9 rounds of about 0.2 s each. Prints one line per case: "case batch ms".
using System;
using System.Diagnostics;
using System.Runtime.Intrinsics;
using Backprop;

// (RuntimeFeature.IsDynamicCodeCompiled cannot tell: PublishAot turns dynamic code off under the JIT too.)
Console.WriteLine($"# {(args.Length > 0 ? args[0] : "?")}, Vector512 accelerated: {Vector512.IsHardwareAccelerated}");
foreach (int batch in new[] { 1, 32, 256 })
{
    var net = new AotMlp(maxBatch: batch, seed: 1) { MaxThreads = 1 };
    var random = new Random(7);
    var inputs = new float[batch * AotMlp.InputSize];
    for (int i = 0; i < inputs.Length; i++)
    {
        inputs[i] = (float)random.NextDouble();
    }
    var labels = new int[batch];
    var outputs = new float[batch * AotMlp.OutputSize];
    var sgd = new Sgd(0.01f);
    Time("train", batch, () => net.TrainStep(inputs, labels, sgd));
    Time("predict", batch, () => net.Predict(inputs, outputs));
}

static void Time(string name, int batch, Action action)
{
    for (int i = 0; i < 200; i++)
    {
        action();
    }
    var rounds = new double[9];
    for (int round = 0; round < rounds.Length; round++)
    {
        int calls = 0;
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < 200)
        {
            action();
            calls++;
        }
        rounds[round] = watch.Elapsed.TotalMilliseconds / calls;
    }
    Array.Sort(rounds);
    Console.WriteLine($"{name} {batch} {rounds[rounds.Length / 2]:F5}");
}

/// <summary>The PERF.md MLP.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation = Activation.Relu)]
[Dense(128, Activation = Activation.Relu)]
[Dense(10)]
public partial class AotMlp;
