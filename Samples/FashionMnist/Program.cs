// Trains the README's MLP, a convolutional or a recurrent network on the real Fashion-MNIST training set (60,000 images), reports
// test accuracy on the 10,000 test images and the wall time after each epoch, and saves the model as safetensors.
using System;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using Backprop;

var data = new Option<string>("--data") { Description = "Directory with the Fashion-MNIST IDX files (raw or .gz).", DefaultValueFactory = _ => "/usr/share/datasets/fashion-mnist" };
var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 10 };
var batchSize = new Option<int>("--batch") { Description = "Mini-batch size.", DefaultValueFactory = _ => 64 };
var learningRate = new Option<float>("--lr") { Description = "Adam's initial learning rate (cosine decay to 0 over the epochs).", DefaultValueFactory = _ => 1e-3f };
var seed = new Option<int>("--seed") { Description = "Seed of the initialization and the shuffling.", DefaultValueFactory = _ => 1 };
var model = new Option<string>("--model")
{
    Description = "The network: mlp (784-256-128-10), cnn (two Conv2D + MaxPool2D blocks, then Dense 128 and 10), cnn-bn (cnn with BatchNorm after the second convolution and Dropout 0.25 before the last layer), gru or lstm (each image as 28 steps of 28 pixels through 128 recurrent units, then Dense 10).",
    DefaultValueFactory = _ => "mlp",
};
model.AcceptOnlyFromAmong("mlp", "cnn", "cnn-bn", "gru", "lstm");
var augment = new Option<bool>("--augment") { Description = "Augment the training images: random shifts of up to 1 pixel in each direction (ImageAugmentation)." };
var output = new Option<string>("--output") { Description = "Where to save the trained model.", DefaultValueFactory = _ => "fashion.safetensors" };

var command = new RootCommand("Train an MLP, a CNN or a recurrent network on Fashion-MNIST with Backprop.Gen.") { data, model, epochs, batchSize, learningRate, seed, augment, output };
command.SetAction(parsed => Train(parsed.GetValue(data)!, parsed.GetValue(model)!, parsed.GetValue(epochs), parsed.GetValue(batchSize), parsed.GetValue(learningRate), parsed.GetValue(seed), parsed.GetValue(augment), parsed.GetValue(output)!));

var sourceEpochs = new Option<int>("--source-epochs") { Description = "Epochs of the source CNN on the first five classes.", DefaultValueFactory = _ => 2 };
var shots = new Option<int[]>("--per-class") { Description = "Labelled images per class of the target task (one comparison each).", DefaultValueFactory = _ => [5, 20, 100], AllowMultipleArgumentsPerToken = true };
var steps = new Option<int>("--steps") { Description = "Training steps on the few labelled images (batch 32).", DefaultValueFactory = _ => 300 };
var transfer = new Command("transfer", "Transfer learning: a CNN trained on classes 0-4, its convolutions frozen and reused for classes 5-9 with few labelled images, against the same network trained from scratch on the same images.")
{
    data, sourceEpochs, shots, steps, seed,
};
transfer.SetAction(parsed => TransferLearningDemo.Run(parsed.GetValue(data)!, parsed.GetValue(sourceEpochs), parsed.GetValue(shots)!, parsed.GetValue(steps), parsed.GetValue(seed)));
command.Subcommands.Add(transfer);
return command.Parse(args).Invoke();

static int Train(string directory, string model, int epochs, int batchSize, float learningRate, int seed, bool augment, string output)
{
    if (FashionData.Load(directory) is not var (train, test))
    {
        return 2;
    }

    int maxBatch = Math.Max(batchSize, 1000);
    INetwork net = model switch
    {
        "cnn" => new FashionCnn(maxBatch, seed),
        "cnn-bn" => new FashionCnnBn(maxBatch, seed),
        "gru" => new FashionGru(maxBatch, seed),
        "lstm" => new FashionLstm(maxBatch, seed),
        _ => new FashionMlp(maxBatch, seed),
    };
    var optimizer = new Adam(learningRate);
    var random = new Random(seed);
    BatchTransform? transform = augment ? new ImageAugmentation(1, train.Rows, train.Columns, maxShift: 1, horizontalFlip: false, seed: seed).Apply : null;
    Console.WriteLine($"{net.GetType().Name}: input [{string.Join(", ", net.InputShape)}], {net.ParameterCount:N0} parameters; Adam, batch {batchSize}, {epochs} epochs{(augment ? ", augmented (shifts of up to 1 pixel)" : "")}");
    Console.WriteLine("epoch  lr        loss     test accuracy  samples/s  epoch s");

    var total = Stopwatch.StartNew();
    float accuracy = 0;
    for (int epoch = 1; epoch <= epochs; epoch++)
    {
        optimizer.LearningRate = learningRate * 0.5f * (1 + MathF.Cos(MathF.PI * (epoch - 1) / epochs));
        var watch = Stopwatch.StartNew();
        float loss = Trainer.TrainEpoch(net, train.Pixels, train.Labels, optimizer, batchSize, random, transform);
        double seconds = watch.Elapsed.TotalSeconds;
        accuracy = Trainer.Accuracy(net, test.Pixels, test.Labels);
        Console.WriteLine($"{epoch,5}  {optimizer.LearningRate,8:G3}  {loss,7:F4}  {accuracy,13:P2}  {train.Count / seconds,9:N0}  {seconds,7:F1}");
    }
    Console.WriteLine($"test accuracy {accuracy:P2} after {epochs} epochs in {total.Elapsed.TotalSeconds:F1} s");

    net.Save(output);
    Console.WriteLine($"saved {Path.GetFullPath(output)}");
    return 0;
}

/// <summary>The multilayer perceptron of the README: 784 pixels, two ReLU hidden layers, 10 class logits.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation = Activation.Relu)]
[Dense(128, Activation = Activation.Relu)]
[Dense(10)]
public partial class FashionMlp;

/// <summary>
/// A convolutional network for 28×28 grey images: two blocks of a 3×3 convolution (padding 1, ReLU) and 2×2 max
/// pooling, 28 → 14 → 7, then a dense ReLU layer and 10 class logits.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dense(10)]
public partial class FashionCnn;

/// <summary>
/// <see cref="FashionCnn"/> with batch normalization after the second convolution (its ReLU moved behind the
/// normalization) and dropout before the last layer: the declaration of docs/user-guide.md.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, padding: 1, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, padding: 1)]
[BatchNorm(Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation = Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class FashionCnnBn;

/// <summary>
/// A recurrent network reading each image as a sequence: 28 steps (the rows, top to bottom) of 28 pixels, a GRU of 128
/// units, its last hidden state into 10 class logits.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(28, 28)]
[Gru(128)]
[Dense(10)]
public partial class FashionGru;

/// <summary><see cref="FashionGru"/> with an LSTM of 128 units.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(28, 28)]
[Lstm(128)]
[Dense(10)]
public partial class FashionLstm;

/// <summary>The Fashion-MNIST training and test sets, standardized with the training set's statistics.</summary>
internal static class FashionData
{
    public static (ImageDataset Train, ImageDataset Test)? Load(string directory)
    {
        ImageDataset train, test;
        try
        {
            train = ImageDataset.LoadMnistFormat(directory, train: true);
            test = ImageDataset.LoadMnistFormat(directory, train: false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine($"Fashion-MNIST was not found: {e.Message}");
            Console.Error.WriteLine("Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or download the four");
            Console.Error.WriteLine("*-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist and pass --data DIR.");
            return null;
        }

        // Standardize with the training set's statistics (the test set uses the same numbers).
        var (mean, deviation) = train.Statistics();
        train.Normalize(mean, deviation);
        test.Normalize(mean, deviation);
        Console.WriteLine($"Fashion-MNIST: {train.Count:N0} training and {test.Count:N0} test images of {train.Rows}x{train.Columns}; " +
                          $"pixel mean {mean:F4}, standard deviation {deviation:F4}");
        return (train, test);
    }
}
