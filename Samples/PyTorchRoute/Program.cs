// The PyTorch route for jobs bigger than one machine: train_ddp.py trains this CNN with DistributedDataParallel (two
// processes, gloo) and saves its state_dict; this program loads it into the generated class with one call, checks that
// Predict gives PyTorch's outputs on the same images, and measures the test accuracy here.
//
//   /usr/bin/python3 Samples/PyTorchRoute/train_ddp.py --out /tmp/route
//   dotnet run --project Samples/PyTorchRoute -- /tmp/route [fashion-mnist directory]
using System;
using System.Collections.Generic;
using System.IO;
using Backprop;

if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: PyTorchRoute <directory written by train_ddp.py> [Fashion-MNIST directory]");
    return 2;
}
string directory = args[0];
string data = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("FASHION_MNIST_DIR") ?? "/usr/share/datasets/fashion-mnist";

// PyTorch's nn.Sequential names its children by position; the layers here have names. Module path → layer name.
var names = new Dictionary<string, string>
{
    ["0"] = "conv1", ["3"] = "conv2", ["4"] = "bn1", ["8"] = "dense1", ["11"] = "dense2",
};
var net = new RouteCnn(maxBatch: 256);
net.LoadStateDict(Path.Combine(directory, "model.safetensors"), names);

// The same images through both: PyTorch's eval-mode outputs, saved by train_ddp.py, against Predict.
var check = SafeTensorsFile.Read(Path.Combine(directory, "check.safetensors"));
float[] inputs = check.Get("inputs").ToArray();
float[] expected = check.Get("outputs").ToArray();
float[] outputs = new float[expected.Length];
net.Predict(inputs, outputs);
double error = 0, scale = 0;
for (int i = 0; i < expected.Length; i++)
{
    error = Math.Max(error, Math.Abs(outputs[i] - expected[i]));
    scale = Math.Max(scale, Math.Abs(expected[i]));
}
Console.WriteLine($"{expected.Length / RouteCnn.OutputSize} images: largest difference from PyTorch {error:E2}, relative {error / scale:E2}");

if (File.Exists(Path.Combine(data, "t10k-labels-idx1-ubyte.gz")) || File.Exists(Path.Combine(data, "t10k-labels-idx1-ubyte")))
{
    var test = ImageDataset.LoadMnistFormat(data, train: false);
    Console.WriteLine($"test accuracy here: {Trainer.Accuracy(net, test.Pixels, test.Labels):P2} ({test.Count:N0} images)");
}
if (error / scale >= 1e-5)
{
    Console.Error.WriteLine("The loaded network differs from PyTorch by more than 1e-5 (relative).");
    return 1;
}
return 0;

/// <summary>train_ddp.py's nn.Sequential, layer for layer.</summary>
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
public partial class RouteCnn;
