using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Backprop.Tests.Infrastructure;

/// <summary>
/// An independent, plain-loop implementation of a network (dense, convolution, pooling, flatten, batch normalization) in double precision, written from the math
/// and PyTorch's definitions, not from the generated code. It reads a network's architecture from the model
/// file metadata and its weights through <see cref="INetwork.CopyTensor"/> (PyTorch layout).
/// </summary>
internal sealed class ReferenceNetwork
{
    /// <summary>One layer: its kind, shapes, options and (for Dense and Conv2D) weights in PyTorch's layout.</summary>
    public sealed record Layer(string Kind, string Name, int[] In, int[] Out, string Activation)
    {
        public double[] Weight = []; // Dense [Units, Inputs]; Conv2D [Filters, Channels, K, K]
        public double[] Bias = [];   // [Units] or [Filters]; empty for a convolution without bias
        public int Kernel, Stride, Padding;
        public double Epsilon;                              // BatchNorm
        public double[] RunningMean = [], RunningVar = [];  // BatchNorm [Channels]
        public double[] WeightHh = [], BiasHh = [];         // recurrent: Weight is weight_ih_l0 [G·U, F], Bias bias_ih_l0
        public int Units;                                   // recurrent
        public bool ReturnSequences;                        // recurrent; Dense: applied per step

        public int InSize => In.Aggregate(1, (a, b) => a * b);
        public int OutSize => Out.Aggregate(1, (a, b) => a * b);
    }

    public int InputSize { get; }
    public string Loss { get; }
    public List<Layer> Layers { get; }
    public int OutputSize => Layers[^1].OutSize;

    private ReferenceNetwork(int inputSize, string loss, List<Layer> layers)
    {
        InputSize = inputSize;
        Loss = loss;
        Layers = layers;
    }

    /// <summary>Reads the architecture (model file metadata) and the weights of a generated network.</summary>
    public static ReferenceNetwork From(INetwork network)
    {
        var stream = new MemoryStream();
        network.Save(stream);
        stream.Position = 0;
        var file = SafeTensorsFile.Read(stream);
        using var architecture = JsonDocument.Parse(file.Metadata["architecture"]);
        var root = architecture.RootElement;
        int[] shape = root.GetProperty("input").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        int inputs = shape.Aggregate(1, (a, b) => a * b);
        var layers = new List<Layer>();
        double[] Read(string name) => file.Get(name).ToArray().Select(v => (double)v).ToArray();
        foreach (var layer in root.GetProperty("layers").EnumerateArray())
        {
            string kind = layer.GetProperty("kind").GetString()!, name = layer.GetProperty("name").GetString()!;
            string activation = layer.TryGetProperty("activation", out var a) ? a.GetString()! : "Linear";
            Layer entry;
            switch (kind)
            {
                case "Dense":
                    int units = layer.GetProperty("units").GetInt32();
                    bool perStep = layer.TryGetProperty("per_step", out var step) && step.GetBoolean();
                    entry = new Layer(kind, name, shape, perStep ? [shape[0], units] : [units], activation) { Weight = Read(name + ".weight"), Bias = Read(name + ".bias"), ReturnSequences = perStep };
                    break;
                case "Conv2D":
                {
                    int k = layer.GetProperty("kernel").GetInt32(), st = layer.GetProperty("stride").GetInt32(), p = layer.GetProperty("padding").GetInt32();
                    int[] output = [layer.GetProperty("filters").GetInt32(), (shape[1] + 2 * p - k) / st + 1, (shape[2] + 2 * p - k) / st + 1];
                    entry = new Layer(kind, name, shape, output, activation)
                    {
                        Weight = Read(name + ".weight"),
                        Bias = layer.GetProperty("bias").GetBoolean() ? Read(name + ".bias") : [],
                        Kernel = k, Stride = st, Padding = p,
                    };
                    break;
                }
                case "MaxPool2D" or "AvgPool2D":
                {
                    int size = layer.GetProperty("size").GetInt32(), st = layer.GetProperty("stride").GetInt32();
                    entry = new Layer(kind, name, shape, [shape[0], (shape[1] - size) / st + 1, (shape[2] - size) / st + 1], activation) { Kernel = size, Stride = st };
                    break;
                }
                case "GlobalAvgPool2D":
                    entry = new Layer(kind, name, shape, [shape[0]], activation);
                    break;
                case "Flatten":
                    entry = new Layer(kind, name, shape, [shape.Aggregate(1, (x, y) => x * y)], activation);
                    break;
                case "BatchNorm":
                    entry = new Layer(kind, name, shape, shape, activation)
                    {
                        Weight = Read(name + ".weight"), Bias = Read(name + ".bias"),
                        RunningMean = Read(name + ".running_mean"), RunningVar = Read(name + ".running_var"),
                        Epsilon = layer.GetProperty("epsilon").GetSingle(),
                    };
                    break;
                case "SimpleRnn" or "Lstm" or "Gru":
                {
                    int hiddenUnits = layer.GetProperty("units").GetInt32();
                    bool sequences = layer.GetProperty("return_sequences").GetBoolean();
                    entry = new Layer(kind, name, shape, sequences ? [shape[0], hiddenUnits] : [hiddenUnits], activation)
                    {
                        Weight = Read(name + ".weight_ih_l0"), WeightHh = Read(name + ".weight_hh_l0"),
                        Bias = Read(name + ".bias_ih_l0"), BiasHh = Read(name + ".bias_hh_l0"),
                        Units = hiddenUnits, ReturnSequences = sequences,
                    };
                    break;
                }
                case "Normalization":
                    // Mean and variance as RunningMean and RunningVar (state, not in Tensors()).
                    entry = new Layer(kind, name, shape, shape, activation) { RunningMean = Read(name + ".mean"), RunningVar = Read(name + ".variance") };
                    break;
                case "Embedding":
                    entry = new Layer(kind, name, shape, [shape[0], layer.GetProperty("dimensions").GetInt32()], activation) { Weight = Read(name + ".weight") };
                    break;
                case "Dropout" when layer.GetProperty("rate").GetSingle() == 0f:
                    // At rate 0 dropout is the identity in both modes; other rates are random, so not a reference's business.
                    entry = new Layer(kind, name, shape, shape, activation);
                    break;
                default:
                    throw new InvalidDataException("Unknown layer kind " + kind);
            }
            layers.Add(entry);
            shape = entry.Out;
        }
        return new ReferenceNetwork(inputs, root.GetProperty("loss").GetString()!, layers);
    }

    /// <summary>All parameters as (tensor name, array) in the network's tensor order.</summary>
    public IEnumerable<(string Name, double[] Values)> Tensors()
    {
        foreach (var layer in Layers.Where(l => l.Weight.Length > 0))
        {
            if (layer.Kind is "SimpleRnn" or "Lstm" or "Gru")
            {
                yield return (layer.Name + ".weight_ih_l0", layer.Weight);
                yield return (layer.Name + ".weight_hh_l0", layer.WeightHh);
                yield return (layer.Name + ".bias_ih_l0", layer.Bias);
                yield return (layer.Name + ".bias_hh_l0", layer.BiasHh);
                continue;
            }
            yield return (layer.Name + ".weight", layer.Weight);
            if (layer.Bias.Length > 0)
            {
                yield return (layer.Name + ".bias", layer.Bias);
            }
        }
    }

    /// <summary>
    /// The forward pass; returns the last layer's output y and pre-activation z, (batch, size). In
    /// <paramref name="training"/> mode batch normalization uses the batch's statistics (biased variance), otherwise the
    /// running ones.
    /// </summary>
    public (double[] Output, double[] PreActivation) Forward(double[] inputs, int batch, bool training = false)
    {
        double[] x = inputs, z = [];
        foreach (var layer in Layers)
        {
            z = new double[batch * layer.OutSize];
            if (layer.Kind == "BatchNorm")
            {
                Normalize(layer, x, z, batch, training);
            }
            else
            {
                for (int b = 0; b < batch; b++)
                {
                    Apply(layer, x.AsSpan(b * layer.InSize, layer.InSize), z.AsSpan(b * layer.OutSize, layer.OutSize));
                }
            }
            x = Activate(layer.Activation, z, batch, layer.OutSize);
        }
        return (x, z);
    }

    /// <summary>Batch normalization from its definition: per channel, over the samples and (for images) the positions.</summary>
    private static void Normalize(Layer layer, double[] x, double[] z, int batch, bool training)
    {
        int channels = layer.In[0], plane = layer.InSize / channels;
        for (int c = 0; c < channels; c++)
        {
            double mean = layer.RunningMean[c], variance = layer.RunningVar[c];
            if (training)
            {
                double sum = 0, squares = 0;
                for (int b = 0; b < batch; b++)
                {
                    for (int s = 0; s < plane; s++)
                    {
                        sum += x[(b * channels + c) * plane + s];
                    }
                }
                mean = sum / (batch * plane);
                for (int b = 0; b < batch; b++)
                {
                    for (int s = 0; s < plane; s++)
                    {
                        double d = x[(b * channels + c) * plane + s] - mean;
                        squares += d * d;
                    }
                }
                variance = squares / (batch * plane);
            }
            for (int b = 0; b < batch; b++)
            {
                for (int s = 0; s < plane; s++)
                {
                    int i = (b * channels + c) * plane + s;
                    z[i] = layer.Weight[c] * (x[i] - mean) / Math.Sqrt(variance + layer.Epsilon) + layer.Bias[c];
                }
            }
        }
    }

    /// <summary>One sample through one layer (before its activation), from the definitions.</summary>
    private static void Apply(Layer layer, ReadOnlySpan<double> x, Span<double> z)
    {
        switch (layer.Kind)
        {
            case "Dense":
            {
                // Per step (ReturnSequences marks it): the same weights on each row of [steps, features].
                int rows = layer.ReturnSequences ? layer.In[0] : 1, inputs = layer.InSize / rows, units = layer.OutSize / rows;
                for (int r = 0; r < rows; r++)
                {
                    for (int j = 0; j < units; j++)
                    {
                        double sum = layer.Bias[j];
                        for (int i = 0; i < inputs; i++)
                        {
                            sum += x[r * inputs + i] * layer.Weight[j * inputs + i];
                        }
                        z[r * units + j] = sum;
                    }
                }
                break;
            }
            case "Conv2D":
            {
                int c = layer.In[0], h = layer.In[1], w = layer.In[2], k = layer.Kernel;
                for (int f = 0; f < layer.Out[0]; f++)
                {
                    for (int oy = 0; oy < layer.Out[1]; oy++)
                    {
                        for (int ox = 0; ox < layer.Out[2]; ox++)
                        {
                            double sum = layer.Bias.Length > 0 ? layer.Bias[f] : 0;
                            for (int ch = 0; ch < c; ch++)
                            {
                                for (int ky = 0; ky < k; ky++)
                                {
                                    for (int kx = 0; kx < k; kx++)
                                    {
                                        int iy = oy * layer.Stride - layer.Padding + ky, ix = ox * layer.Stride - layer.Padding + kx;
                                        if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                        {
                                            sum += layer.Weight[((f * c + ch) * k + ky) * k + kx] * x[(ch * h + iy) * w + ix];
                                        }
                                    }
                                }
                            }
                            z[(f * layer.Out[1] + oy) * layer.Out[2] + ox] = sum;
                        }
                    }
                }
                break;
            }
            case "MaxPool2D" or "AvgPool2D":
            {
                int h = layer.In[1], w = layer.In[2], k = layer.Kernel;
                for (int ch = 0; ch < layer.In[0]; ch++)
                {
                    for (int oy = 0; oy < layer.Out[1]; oy++)
                    {
                        for (int ox = 0; ox < layer.Out[2]; ox++)
                        {
                            double max = double.NegativeInfinity, sum = 0;
                            for (int ky = 0; ky < k; ky++)
                            {
                                for (int kx = 0; kx < k; kx++)
                                {
                                    double v = x[(ch * h + oy * layer.Stride + ky) * w + ox * layer.Stride + kx];
                                    max = Math.Max(max, v);
                                    sum += v;
                                }
                            }
                            z[(ch * layer.Out[1] + oy) * layer.Out[2] + ox] = layer.Kind == "MaxPool2D" ? max : sum / (k * k);
                        }
                    }
                }
                break;
            }
            case "SimpleRnn" or "Lstm" or "Gru":
                Recur(layer, x, z);
                break;
            case "Normalization":
                for (int i = 0; i < layer.InSize; i++)
                {
                    z[i] = (x[i] - layer.RunningMean[i]) / (layer.RunningVar[i] > 1e-12 ? Math.Sqrt(layer.RunningVar[i]) : 1);
                }
                break;
            case "Embedding":
            {
                int dimensions = layer.Out[1];
                for (int t = 0; t < layer.In[0]; t++)
                {
                    int id = checked((int)x[t]);
                    for (int d = 0; d < dimensions; d++)
                    {
                        z[t * dimensions + d] = layer.Weight[id * dimensions + d];
                    }
                }
                break;
            }
            case "GlobalAvgPool2D":
            {
                int plane = layer.In[1] * layer.In[2];
                for (int ch = 0; ch < layer.In[0]; ch++)
                {
                    double sum = 0;
                    for (int i = 0; i < plane; i++)
                    {
                        sum += x[ch * plane + i];
                    }
                    z[ch] = sum / plane;
                }
                break;
            }
            default:
                x.CopyTo(z);
                break;
        }
    }

    /// <summary>One sample's sequence through a recurrent layer, from PyTorch's equations (gate orders i, f, g, o and r, z, n).</summary>
    private static void Recur(Layer layer, ReadOnlySpan<double> x, Span<double> output)
    {
        int steps = layer.In[0], features = layer.In[1], units = layer.Units;
        int gates = layer.Kind switch { "Lstm" => 4, "Gru" => 3, _ => 1 }, width = gates * units;
        var h = new double[units];
        var c = new double[units];
        var input = new double[width];
        var recurrent = new double[width];
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        for (int t = 0; t < steps; t++)
        {
            for (int k = 0; k < width; k++)
            {
                double a = layer.Bias[k], r = layer.BiasHh[k];
                for (int f = 0; f < features; f++)
                {
                    a += layer.Weight[k * features + f] * x[t * features + f];
                }
                for (int u = 0; u < units; u++)
                {
                    r += layer.WeightHh[k * units + u] * h[u];
                }
                input[k] = a;
                recurrent[k] = r;
            }
            for (int u = 0; u < units; u++)
            {
                switch (layer.Kind)
                {
                    case "Lstm":
                    {
                        double i = Sigmoid(input[u] + recurrent[u]), f = Sigmoid(input[units + u] + recurrent[units + u]);
                        double g = Math.Tanh(input[2 * units + u] + recurrent[2 * units + u]), o = Sigmoid(input[3 * units + u] + recurrent[3 * units + u]);
                        c[u] = f * c[u] + i * g;
                        h[u] = o * Math.Tanh(c[u]);
                        break;
                    }
                    case "Gru":
                    {
                        double r = Sigmoid(input[u] + recurrent[u]), z = Sigmoid(input[units + u] + recurrent[units + u]);
                        double n = Math.Tanh(input[2 * units + u] + r * recurrent[2 * units + u]);
                        h[u] = (1 - z) * n + z * h[u];
                        break;
                    }
                    default:
                        h[u] = Math.Tanh(input[u] + recurrent[u]);
                        break;
                }
            }
            if (layer.ReturnSequences)
            {
                h.CopyTo(output.Slice(t * units, units));
            }
        }
        if (!layer.ReturnSequences)
        {
            h.CopyTo(output);
        }
    }

    /// <summary>The loss with PyTorch's semantics; labels for cross-entropy, targets otherwise.</summary>
    public double LossOf(double[] inputs, int batch, int[]? labels, double[]? targets)
    {
        var (y, z) = Forward(inputs, batch, training: true);
        string last = Layers[^1].Activation;
        int n = OutputSize;
        switch (Loss)
        {
            case "SoftmaxCrossEntropy":
            {
                double[] logits = last == "Softmax" ? z : y;
                double total = 0;
                for (int b = 0; b < batch; b++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < n; j++)
                    {
                        max = Math.Max(max, logits[b * n + j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++)
                    {
                        sum += Math.Exp(logits[b * n + j] - max);
                    }
                    total += max + Math.Log(sum) - logits[b * n + labels![b]];
                }
                return total / batch;
            }
            case "BinaryCrossEntropy":
            {
                double[] logits = last == "Sigmoid" ? z : y;
                double total = 0;
                for (int i = 0; i < logits.Length; i++)
                {
                    double l = logits[i], t = targets![i];
                    total += Math.Max(l, 0) - l * t + Math.Log(1 + Math.Exp(-Math.Abs(l)));
                }
                return total / logits.Length;
            }
            default:
            {
                double total = 0;
                for (int i = 0; i < y.Length; i++)
                {
                    total += (y[i] - targets![i]) * (y[i] - targets[i]);
                }
                return total / y.Length;
            }
        }
    }

    /// <summary>Central finite differences of the loss for every parameter, in double.</summary>
    public Dictionary<string, double[]> NumericGradients(double[] inputs, int batch, int[]? labels, double[]? targets, double step = 1e-6)
    {
        var gradients = new Dictionary<string, double[]>();
        foreach (var (name, values) in Tensors())
        {
            var gradient = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                double saved = values[i];
                values[i] = saved + step;
                double plus = LossOf(inputs, batch, labels, targets);
                values[i] = saved - step;
                double minus = LossOf(inputs, batch, labels, targets);
                values[i] = saved;
                gradient[i] = (plus - minus) / (2 * step);
            }
            gradients[name] = gradient;
        }
        return gradients;
    }

    private static double[] Activate(string activation, double[] z, int batch, int units)
    {
        var y = new double[z.Length];
        if (activation == "Softmax")
        {
            for (int b = 0; b < batch; b++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < units; j++)
                {
                    max = Math.Max(max, z[b * units + j]);
                }
                for (int j = 0; j < units; j++)
                {
                    sum += y[b * units + j] = Math.Exp(z[b * units + j] - max);
                }
                for (int j = 0; j < units; j++)
                {
                    y[b * units + j] /= sum;
                }
            }
            return y;
        }
        for (int i = 0; i < z.Length; i++)
        {
            double v = z[i];
            y[i] = activation switch
            {
                "Linear" => v,
                "Relu" => Math.Max(v, 0),
                "LeakyRelu" => v > 0 ? v : 0.01 * v,
                "Sigmoid" => 1 / (1 + Math.Exp(-v)),
                "Tanh" => Math.Tanh(v),
                "Gelu" => v * 0.5 * Erfc(-v / Math.Sqrt(2)),
                _ => throw new InvalidDataException("Unknown activation " + activation),
            };
        }
        return y;
    }

    /// <summary>The complementary error function to double precision: series near 0, continued fraction beyond.</summary>
    public static double Erfc(double x)
    {
        if (x < 0)
        {
            return 2 - Erfc(-x);
        }
        if (x < 3)
        {
            // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
            double term = x, sum = x;
            for (int n = 1; n < 100; n++)
            {
                term *= -x * x / n;
                sum += term / (2 * n + 1);
                if (Math.Abs(term) < 1e-17)
                {
                    break;
                }
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated from the tail.
        double fraction = x;
        for (int k = 60; k >= 1; k--)
        {
            fraction = x + k / 2.0 / fraction;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / fraction;
    }
}
