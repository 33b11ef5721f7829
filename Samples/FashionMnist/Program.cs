// Trains the README's MLP, a convolutional or a recurrent network on the real Fashion-MNIST training set with Fit: a
// stratified validation split, a cosine schedule, early stopping with the best epoch restored, a live progress bar (plain
// lines when the output is redirected or CI is set), a checkpoint after every epoch (--resume goes on from it; Ctrl+C
// stops at a step boundary and leaves one), a PNG plot of the loss and accuracy curves; then the test accuracy on the
// 10,000 test images, and the model saved as safetensors.
using System;
using System.CommandLine;
using System.IO;
using System.Threading;
using Backprop;

var data = new Option<string>("--data") { Description = "Directory with the Fashion-MNIST IDX files (raw or .gz).", DefaultValueFactory = _ => "/usr/share/datasets/fashion-mnist" };
var epochs = new Option<int>("--epochs") { Description = "The most epochs (early stopping may end sooner).", DefaultValueFactory = _ => 10 };
var batchSize = new Option<int>("--batch") { Description = "Mini-batch size.", DefaultValueFactory = _ => 64 };
var learningRate = new Option<float>("--lr") { Description = "Adam's initial learning rate (cosine decay to 0 over the epochs).", DefaultValueFactory = _ => 1e-3f };
var seed = new Option<int>("--seed") { Description = "Seed of the initialization, the split and the shuffling.", DefaultValueFactory = _ => 1 };
var model = new Option<string>("--model")
{
    Description = "The network: mlp (784-256-128-10), cnn (two Conv2D + MaxPool2D blocks, then Dense 128 and 10), cnn-bn (cnn with BatchNorm after the second convolution and Dropout 0.25 before the last layer), gru or lstm (each image as 28 steps of 28 pixels through 128 recurrent units, then Dense 10).",
    DefaultValueFactory = _ => "mlp",
};
model.AcceptOnlyFromAmong("mlp", "cnn", "cnn-bn", "gru", "lstm");
var augment = new Option<bool>("--augment") { Description = "Augment the training images: random shifts of up to 1 pixel in each direction (ImageAugmentation)." };
var validation = new Option<double>("--validation") { Description = "The share of the training images held out for validation (stratified).", DefaultValueFactory = _ => 0.1 };
var patience = new Option<int>("--patience") { Description = "Early stopping: epochs without a better validation accuracy before stopping (0: never).", DefaultValueFactory = _ => 3 };
var output = new Option<string>("--output") { Description = "Where to save the trained model.", DefaultValueFactory = _ => "fashion.safetensors" };
var checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint file, written after every epoch and on Ctrl+C.", DefaultValueFactory = _ => "fashion.checkpoint" };
var resume = new Option<bool>("--resume") { Description = "Go on from the checkpoint (same options and data) instead of starting afresh." };
var plot = new Option<string>("--plot") { Description = "Where to write the PNG plot of the loss and accuracy curves.", DefaultValueFactory = _ => "fashion-history.png" };

var command = new RootCommand("Train an MLP, a CNN or a recurrent network on Fashion-MNIST with Backprop.Gen.")
{
    data, model, epochs, batchSize, learningRate, seed, augment, validation, patience, output, checkpoint, resume, plot,
};
command.SetAction(parsed => Train(parsed.GetValue(data)!, parsed.GetValue(model)!, new FashionRun(
    parsed.GetValue(epochs), parsed.GetValue(batchSize), parsed.GetValue(learningRate), parsed.GetValue(seed), parsed.GetValue(augment),
    parsed.GetValue(validation), parsed.GetValue(patience), parsed.GetValue(output)!, parsed.GetValue(checkpoint)!, parsed.GetValue(resume), parsed.GetValue(plot)!)));

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

static int Train(string directory, string model, FashionRun run)
{
    if (FashionData.Load(directory) is not var (all, test))
    {
        return 2;
    }
    var (train, validation) = all.Split(run.Validation, run.Seed);
    INetwork net = model switch
    {
        "cnn" => new FashionCnn(maxBatch: 1000, run.Seed),
        "cnn-bn" => new FashionCnnBn(maxBatch: 1000, run.Seed),
        "gru" => new FashionGru(maxBatch: 1000, run.Seed),
        "lstm" => new FashionLstm(maxBatch: 1000, run.Seed),
        _ => new FashionMlp(maxBatch: 1000, run.Seed),
    };
    Console.WriteLine($"{net.GetType().Name}: input [{string.Join(", ", net.InputShape)}], {net.ParameterCount:N0} parameters; Adam {run.LearningRate:G3} with cosine decay, " +
                      $"batch {run.BatchSize}, up to {run.Epochs} epochs, patience {run.Patience}{(run.Augment ? ", augmented (shifts of up to 1 pixel)" : "")}; " +
                      $"{train.Count:N0} training and {validation.Count:N0} validation images");
    if (run.Resume && File.Exists(run.Checkpoint))
    {
        Console.WriteLine($"resuming from {Path.GetFullPath(run.Checkpoint)}");
    }

    // Ctrl+C stops at the next step boundary: the checkpoint is written and the best model so far is kept.
    using var cancel = new CancellationTokenSource();
    ConsoleCancelEventHandler stop = (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    Console.CancelKeyPress += stop;
    FitHistory history;
    try
    {
        history = TrainingDisplay.Fit(net, new Adam(run.LearningRate), train, validation, new FitOptions
        {
            Epochs = run.Epochs,
            BatchSize = run.BatchSize,
            Patience = run.Patience,
            Monitor = FitMonitor.ValidationMetric,
            Seed = run.Seed,
            Schedule = LearningRateSchedule.Cosine(),
            Augmentation = run.Augment ? new ImageAugmentation(1, train.Rows, train.Columns, maxShift: 1, horizontalFlip: false, seed: run.Seed) : null,
            Checkpoint = run.Checkpoint,
            Resume = run.Resume,
            Cancellation = cancel.Token,
        });
    }
    catch (InvalidDataException e)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
    finally
    {
        Console.CancelKeyPress -= stop;
    }

    TrainingDisplay.Plot(history, run.Plot, net.GetType().Name);
    float accuracy = Trainer.Accuracy(net, test.Pixels, test.Labels);
    string ending = history.Cancelled ? $"stopped by Ctrl+C; `--resume` goes on from {run.Checkpoint}"
        : history.StoppedEarly ? $"stopped early after epoch {history.Epochs.Count}" : $"{history.Epochs.Count} epochs";
    Console.WriteLine($"plot: {Path.GetFullPath(run.Plot)}; {ending}");
    net.Save(run.Output);
    Console.WriteLine($"saved {Path.GetFullPath(run.Output)} (the best epoch's model, epoch {history.BestEpoch})");
    Console.WriteLine($"test accuracy {accuracy:P2}");
    return 0;
}

/// <summary>The training options of the sample's main command.</summary>
internal sealed record FashionRun(int Epochs, int BatchSize, float LearningRate, int Seed, bool Augment, double Validation, int Patience,
    string Output, string Checkpoint, bool Resume, string Plot);

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
