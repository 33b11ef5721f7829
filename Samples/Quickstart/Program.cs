// Quickstart: declare a network, train it on two interleaved spirals, save it, load it into a fresh
// instance and check that it predicts the same. Runs anywhere in a few seconds; no data to download.
using System;
using System.Diagnostics;
using System.IO;
using Backprop;

const int Samples = 1000, BatchSize = 50, Epochs = 250;
var (points, labels) = Spirals(Samples, seed: 7);

var net = new SpiralNet(maxBatch: BatchSize, seed: 42);
var optimizer = new Adam(learningRate: 0.01f);
Console.WriteLine($"SpiralNet: {SpiralNet.InputSize} inputs -> {SpiralNet.OutputSize} classes, {SpiralNet.ParameterCount} parameters");

var watch = Stopwatch.StartNew();
for (int epoch = 1; epoch <= Epochs; epoch++)
{
    float total = 0;
    for (int start = 0; start < Samples; start += BatchSize)
    {
        total += net.TrainStep(points.AsSpan(start * 2, BatchSize * 2), labels.AsSpan(start, BatchSize), optimizer);
    }
    if (epoch % 50 == 0)
    {
        Console.WriteLine($"epoch {epoch,3}  loss {total / (Samples / BatchSize):F4}  accuracy {Accuracy(net, points, labels):P1}");
    }
}
Console.WriteLine($"trained in {watch.Elapsed.TotalSeconds:F2} s");

string path = Path.Combine(Path.GetTempPath(), "spiralnet.safetensors");
net.Save(path);
var reloaded = new SpiralNet(maxBatch: BatchSize);
reloaded.Load(path);
Console.WriteLine($"saved to {path} ({new FileInfo(path).Length} bytes) and reloaded: accuracy {Accuracy(reloaded, points, labels):P1}");

// One prediction: class probabilities for a point near the origin.
Span<float> scores = stackalloc float[SpiralNet.OutputSize];
reloaded.Predict([0.1f, 0.2f], scores);
Console.WriteLine($"P(class | (0.1, 0.2)) = [{scores[0]:F3}, {scores[1]:F3}]");

static float Accuracy(SpiralNet net, float[] points, int[] labels)
{
    int correct = 0;
    Span<float> scores = stackalloc float[SpiralNet.OutputSize * 50];
    for (int start = 0; start < labels.Length; start += 50)
    {
        net.Predict(points.AsSpan(start * 2, 100), scores);
        for (int i = 0; i < 50; i++)
        {
            int predicted = scores[2 * i + 1] > scores[2 * i] ? 1 : 0;
            correct += predicted == labels[start + i] ? 1 : 0;
        }
    }
    return (float)correct / labels.Length;
}

// Two spirals, one per class, shuffled: a classic problem no linear model can solve.
static (float[] Points, int[] Labels) Spirals(int count, int seed)
{
    var random = new Random(seed);
    var points = new float[count * 2];
    var labels = new int[count];
    for (int i = 0; i < count; i++)
    {
        int label = i % 2;
        double t = random.NextDouble() * 3 * Math.PI + 0.5;
        double sign = label == 0 ? 1 : -1;
        points[2 * i] = (float)(sign * t * Math.Cos(t) / 10 + random.NextDouble() * 0.05);
        points[2 * i + 1] = (float)(sign * t * Math.Sin(t) / 10 + random.NextDouble() * 0.05);
        labels[i] = label;
    }
    return (points, labels);
}

/// <summary>Two inputs, two hidden layers, two classes as probabilities.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(2)]
[Dense(32, Activation = Activation.Tanh)]
[Dense(32, Activation = Activation.Tanh)]
[Dense(2, Activation = Activation.Softmax)]
public partial class SpiralNet;
