// Transfer learning on Fashion-MNIST: a CNN learns the first five classes (T-shirt/top, Trouser, Pullover, Dress, Coat)
// from all their training images; its convolutions are copied into a network for the other five (Sandal, Shirt,
// Sneaker, Bag, Ankle boot), frozen, and the new dense head is trained on a few labelled images per class. The same
// network trained from scratch on the same images is the baseline.
using System;
using System.Diagnostics;
using Backprop;

internal static class TransferLearningDemo
{
    private static readonly int[] s_source = [0, 1, 2, 3, 4];
    private static readonly int[] s_target = [5, 6, 7, 8, 9];

    public static int Run(string directory, int sourceEpochs, int[] perClass, int steps, int seed)
    {
        if (FashionData.Load(directory) is not var (train, test))
        {
            return 2;
        }
        var sourceTrain = train.SelectClasses(s_source);
        var sourceTest = test.SelectClasses(s_source);
        var targetTest = test.SelectClasses(s_target);

        var source = new FashionCnnFirstFive(maxBatch: 1000, seed);
        var watch = Stopwatch.StartNew();
        Train(source, sourceTrain, sourceEpochs, batchSize: 64, seed);
        float accuracy = Trainer.Accuracy(source, sourceTest.Pixels, sourceTest.Labels);
        Console.WriteLine($"source: {source.GetType().Name} on classes 0-4 ({sourceTrain.Count:N0} images, {sourceEpochs} epochs, {watch.Elapsed.TotalSeconds:F1} s): " +
                          $"test accuracy {accuracy:P2} on their {sourceTest.Count:N0} test images");
        Console.WriteLine($"target: classes 5-9, {targetTest.Count:N0} test images; {steps} steps of Adam 1e-3 on the labelled images");

        float transferredAccuracy = 0, scratchAccuracy = 0;
        foreach (int shots in perClass)
        {
            var few = train.SelectClasses(s_target, perClass: shots, seed);
            int batchSize = Math.Min(32, few.Count);
            int epochs = Math.Max(1, (int)Math.Ceiling(steps / Math.Ceiling((double)few.Count / batchSize)));

            var transferred = new FashionCnnLastFive(maxBatch: 1000, seed);
            var report = transferred.CopyMatching(source); // conv1, conv2: the source's; hidden, head: new
            transferred.Freeze("conv1", "conv2");
            if (shots == perClass[0])
            {
                Console.WriteLine($"transferred: {report}; frozen: {string.Join(", ", transferred.FrozenTensors)}");
                Console.WriteLine("per class  images  transferred (frozen convolutions)  from scratch   seconds (transferred, scratch)");
            }
            watch.Restart();
            Train(transferred, few, epochs, batchSize, seed);
            transferredAccuracy = Trainer.Accuracy(transferred, targetTest.Pixels, targetTest.Labels);
            double transferredSeconds = watch.Elapsed.TotalSeconds;

            var scratch = new FashionCnnLastFive(maxBatch: 1000, seed);
            watch.Restart();
            Train(scratch, few, epochs, batchSize, seed);
            scratchAccuracy = Trainer.Accuracy(scratch, targetTest.Pixels, targetTest.Labels);
            Console.WriteLine($"{shots,9}  {few.Count,6}  {transferredAccuracy,32:P2}  {scratchAccuracy,12:P2}   {transferredSeconds,6:F1}, {watch.Elapsed.TotalSeconds:F1}");
        }
        Console.WriteLine($"transferred {transferredAccuracy:F4} vs from scratch {scratchAccuracy:F4} with {perClass[^1]} labelled images per class");
        return 0;
    }

    /// <summary>Adam 1e-3 with cosine decay over the epochs, shuffled from <paramref name="seed"/>.</summary>
    private static void Train(INetwork network, ImageDataset data, int epochs, int batchSize, int seed)
    {
        var optimizer = new Adam(1e-3f);
        var random = new Random(seed);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            optimizer.LearningRate = 1e-3f * 0.5f * (1 + MathF.Cos(MathF.PI * (epoch - 1) / epochs));
            Trainer.TrainEpoch(network, data.Pixels, data.Labels, optimizer, batchSize, random);
        }
    }
}

/// <summary><see cref="FashionCnn"/> for five classes: the source of transfer learning.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dense(5)]
public partial class FashionCnnFirstFive;

/// <summary>
/// The same convolutions (same names and shapes, so <c>CopyMatching</c> takes them) under a new dense head whose layers
/// are named so that nothing of the source's head matches.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu, Name = "hidden")]
[Dense(5, Name = "head")]
public partial class FashionCnnLastFive;
