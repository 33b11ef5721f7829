// Forecasting with a recurrent network: a noisy periodic series with a trend, generated here, and a GRU that reads the
// last 48 values and predicts the next one. It trains on the first 80% of the series and forecasts the last 20% (the
// future it never saw), one step ahead, against the naive forecast "the next value is the last one".
using System;
using System.CommandLine;
using System.Diagnostics;
using Backprop;

var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 30 };
var seed = new Option<int>("--seed") { Description = "Seed of the series, the initialization and the shuffling.", DefaultValueFactory = _ => 1 };
var command = new RootCommand("Forecast a noisy periodic series with trend one step ahead with a GRU, against the naive last-value forecast.") { epochs, seed };
command.SetAction(parsed => Forecast(parsed.GetValue(epochs), parsed.GetValue(seed)));
return command.Parse(args).Invoke();

static int Forecast(int epochs, int seed)
{
    const int Length = 4000, Window = SeriesGru.Window, BatchSize = 32;
    float[] series = Series(Length, seed);

    // Each example: the window's values relative to its last value (so the trend's level drops out), and as target the
    // next value relative to that same last value. Predictions add the last value back.
    int examples = Length - Window;
    var inputs = new float[examples * Window];
    var targets = new float[examples];
    for (int e = 0; e < examples; e++)
    {
        float last = series[e + Window - 1];
        for (int t = 0; t < Window; t++)
        {
            inputs[e * Window + t] = series[e + t] - last;
        }
        targets[e] = series[e + Window] - last;
    }
    int split = examples * 8 / 10;

    var net = new SeriesGru(maxBatch: 1000, seed);
    var optimizer = new Adam(3e-3f) { MaxGradientNorm = 1f };
    var random = new Random(seed);
    var order = new int[split];
    var batchInputs = new float[BatchSize * Window];
    var batchTargets = new float[BatchSize];
    Console.WriteLine($"series of {Length} values (trend, periods 24 and 168, noise σ 0.1); windows of {Window}; {split} training and {examples - split} test examples");
    Console.WriteLine($"{nameof(SeriesGru)}: {SeriesGru.ParameterCount:N0} parameters; Adam 3e-3 (cosine), clipping at norm 1, batch {BatchSize}, {epochs} epochs");
    var watch = Stopwatch.StartNew();
    for (int epoch = 1; epoch <= epochs; epoch++)
    {
        optimizer.LearningRate = 3e-3f * 0.5f * (1 + MathF.Cos(MathF.PI * (epoch - 1) / epochs));
        for (int i = 0; i < split; i++)
        {
            order[i] = i;
        }
        random.Shuffle(order);
        double total = 0;
        int batches = 0;
        for (int start = 0; start + BatchSize <= split; start += BatchSize)
        {
            for (int b = 0; b < BatchSize; b++)
            {
                inputs.AsSpan(order[start + b] * Window, Window).CopyTo(batchInputs.AsSpan(b * Window));
                batchTargets[b] = targets[order[start + b]];
            }
            total += net.TrainStep(batchInputs, batchTargets, optimizer);
            batches++;
        }
        if (epoch == 1 || epoch % 5 == 0 || epoch == epochs)
        {
            Console.WriteLine($"epoch {epoch,3}: training loss {total / batches:F5}, gradient norm {optimizer.LastGradientNorm:F3}");
        }
    }

    // One-step-ahead forecasts over the test part, against the naive forecast (the last value) and the truth.
    var predictions = new float[examples - split];
    for (int start = split; start < examples; start += 1000)
    {
        int count = Math.Min(1000, examples - start);
        net.Predict(inputs.AsSpan(start * Window, count * Window), predictions.AsSpan(start - split, count));
    }
    double model = 0, naive = 0;
    for (int e = split; e < examples; e++)
    {
        double truth = targets[e];                  // relative to the last value, so the naive forecast is 0
        model += (predictions[e - split] - truth) * (predictions[e - split] - truth);
        naive += truth * truth;
    }
    int n = examples - split;
    double modelRmse = Math.Sqrt(model / n), naiveRmse = Math.Sqrt(naive / n);
    Console.WriteLine($"trained in {watch.Elapsed.TotalSeconds:F1} s");
    Console.WriteLine($"test rmse {modelRmse:F4} (GRU) against {naiveRmse:F4} (naive last value): {naiveRmse / modelRmse:F2}x lower error; the noise alone is 0.1");
    return 0;
}

// t/200 of trend, a daily (24) and a weekly (168) period, Gaussian noise of deviation 0.1, from the seed.
static float[] Series(int length, int seed)
{
    var random = new Random(seed);
    var series = new float[length];
    for (int t = 0; t < length; t++)
    {
        double noise = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        series[t] = (float)(t / 200.0 + Math.Sin(2 * Math.PI * t / 24) + 0.5 * Math.Sin(2 * Math.PI * t / 168) + 0.1 * noise);
    }
    return series;
}

/// <summary>A GRU over a window of 48 values (one feature per step), its last hidden state into the next value.</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(SeriesGru.Window, 1)]
[Gru(32)]
[Dense(1)]
public partial class SeriesGru
{
    /// <summary>The steps the network reads.</summary>
    public const int Window = 48;
}
