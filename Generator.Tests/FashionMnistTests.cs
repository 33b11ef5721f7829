using System;
using Backprop.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Backprop.Tests;

/// <summary>
/// The README's networks on the real Fashion-MNIST, with the sample's recipe (Adam 1e-3 with cosine decay, batch 64):
/// the MLP reaches the published MLP accuracy (0.883) and the CNN 0.916, each within 10 epochs.
/// </summary>
public class FashionMnistTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void FashionMlp_reaches_the_published_accuracy_within_10_epochs()
        => Train(new FashionMlp(maxBatch: 1000, seed: 1), 0.883f);

    [SkippableFact]
    public void FashionCnn_reaches_91_6_percent_within_10_epochs()
        => Train(new FashionCnn(maxBatch: 1000, seed: 1), 0.916f);

    private void Train(INetwork net, float target)
    {
        string directory = Requirements.FashionMnist();
        var train = ImageDataset.LoadMnistFormat(directory, train: true);
        var test = ImageDataset.LoadMnistFormat(directory, train: false);
        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        var (mean, deviation) = train.Statistics();
        train.Normalize(mean, deviation);
        test.Normalize(mean, deviation);

        // The sample's recipe: Adam 1e-3 with cosine decay over 10 epochs, batch 64.
        const int Epochs = 10;
        var optimizer = new Adam(1e-3f);
        var random = new Random(1);
        float accuracy = 0;
        for (int epoch = 1; epoch <= Epochs; epoch++)
        {
            optimizer.LearningRate = 1e-3f * 0.5f * (1 + MathF.Cos(MathF.PI * (epoch - 1) / Epochs));
            float loss = Trainer.TrainEpoch(net, train.Pixels, train.Labels, optimizer, batchSize: 64, random);
            accuracy = Trainer.Accuracy(net, test.Pixels, test.Labels);
            output.WriteLine($"epoch {epoch}: loss {loss:F4}, test accuracy {accuracy:P2}");
        }
        Assert.True(accuracy >= target, $"{net.GetType().Name}: test accuracy {accuracy:P2} after {Epochs} epochs; {target:P1} expected");
    }
}
