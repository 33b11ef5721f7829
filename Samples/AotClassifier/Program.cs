// Classifies Fashion-MNIST images with a model that ships inside the binary (no file I/O for the weights, no JIT):
//
//   AotClassifier IMAGE.pgm [...]                 one line per image: the class and its probability
//   AotClassifier --test DIR [--count N]          accuracy on the first N test images of Fashion-MNIST in DIR
//
// IMAGE.pgm: a 28 x 28 grayscale PGM (P5 binary or P2 text), white on black as in Fashion-MNIST.
using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using Backprop;

// The model was trained (Samples/FashionMnist, 10 epochs, 89.69% test accuracy) on pixels in [0, 1] standardized
// with the training set's mean and standard deviation; every input here gets the same.
const float Mean = 0.2860406f, Deviation = 0.35302427f;
string[] classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
var started = Stopwatch.StartNew();
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: AotClassifier IMAGE.pgm [...] | AotClassifier --test DIR [--count N]");
    return 2;
}

var net = new FashionClassifier(maxBatch: 256) { MaxThreads = 1 };
Console.WriteLine($"model ready in {started.Elapsed.TotalMilliseconds:F1} ms ({FashionClassifier.ParameterCount:N0} parameters, embedded)");

if (args[0] == "--test")
{
    if (args.Length is not (2 or 4) || (args.Length == 4 && (args[2] != "--count" || !int.TryParse(args[3], out _))))
    {
        Console.Error.WriteLine("usage: AotClassifier --test DIR [--count N]");
        return 2;
    }
    ImageDataset test;
    try
    {
        test = ImageDataset.LoadMnistFormat(args[1], train: false);
    }
    catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"Fashion-MNIST test set not readable in {args[1]}: {e.Message}");
        return 2;
    }
    test.Normalize(Mean, Deviation);
    int count = args.Length == 4 ? Math.Clamp(int.Parse(args[3]), 1, test.Count) : test.Count;
    var watch = Stopwatch.StartNew();
    float accuracy = Trainer.Accuracy(net, test.Pixels.AsSpan(0, count * FashionClassifier.InputSize), test.Labels.AsSpan(0, count));
    Console.WriteLine($"test accuracy {accuracy:F4} on {count} images in {watch.Elapsed.TotalMilliseconds:F1} ms");
    return 0;
}

var probabilities = new float[FashionClassifier.OutputSize];
int failures = 0;
foreach (string path in args)
{
    float[] pixels;
    try
    {
        pixels = ReadPgm(path);
    }
    catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or FormatException)
    {
        Console.Error.WriteLine($"{path}: {e.Message}");
        failures++;
        continue;
    }
    for (int i = 0; i < pixels.Length; i++)
    {
        pixels[i] = (pixels[i] - Mean) * (1f / Deviation);
    }
    net.Predict(pixels, probabilities);
    Softmax(probabilities);
    int best = 0;
    for (int i = 1; i < probabilities.Length; i++)
    {
        best = probabilities[i] > probabilities[best] ? i : best;
    }
    Console.WriteLine($"{path}: {classes[best]} ({probabilities[best]:P1})");
}
return failures == 0 ? 0 : 1;

// The network's outputs are logits (its last layer is linear, trained with softmax cross-entropy).
static void Softmax(Span<float> values)
{
    float max = float.NegativeInfinity, sum = 0;
    foreach (float v in values)
    {
        max = Math.Max(max, v);
    }
    for (int i = 0; i < values.Length; i++)
    {
        values[i] = MathF.Exp(values[i] - max);
        sum += values[i];
    }
    for (int i = 0; i < values.Length; i++)
    {
        values[i] /= sum;
    }
}

// A 28 x 28 PGM, P5 (binary) or P2 (text), scaled to [0, 1] as the training images were.
static float[] ReadPgm(string path)
{
    byte[] bytes = File.ReadAllBytes(path);
    int position = 0;
    string Token()
    {
        while (position < bytes.Length && (char.IsWhiteSpace((char)bytes[position]) || bytes[position] == '#'))
        {
            if (bytes[position] == '#')
            {
                while (position < bytes.Length && bytes[position] != '\n')
                {
                    position++;
                }
            }
            else
            {
                position++;
            }
        }
        int start = position;
        while (position < bytes.Length && !char.IsWhiteSpace((char)bytes[position]))
        {
            position++;
        }
        return start < position ? Encoding.ASCII.GetString(bytes, start, position - start) : throw new InvalidDataException("the PGM header is truncated");
    }
    string magic = Token();
    if (magic is not ("P5" or "P2"))
    {
        throw new InvalidDataException($"not a PGM image (magic '{magic}', expected P5 or P2)");
    }
    int width = int.Parse(Token()), height = int.Parse(Token()), max = int.Parse(Token());
    if (width != 28 || height != 28 || max is < 1 or > 255)
    {
        throw new InvalidDataException($"the image is {width} x {height} with maximum {max}; the classifier takes 28 x 28 grayscale with a maximum of at most 255");
    }
    var pixels = new float[28 * 28];
    if (magic == "P5")
    {
        position++;   // the single whitespace after the maximum
        if (bytes.Length - position < pixels.Length)
        {
            throw new InvalidDataException("the pixel data is truncated");
        }
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = bytes[position + i] / (float)max;
        }
    }
    else
    {
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = int.Parse(Token()) / (float)max;
        }
    }
    return pixels;
}

/// <summary>The README's Fashion-MNIST MLP, with its trained weights inside the assembly.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy, Weights = "fashion-mlp.safetensors")]
[Input(784)]
[Dense(256, Activation = Activation.Relu)]
[Dense(128, Activation = Activation.Relu)]
[Dense(10)]
public partial class FashionClassifier;
