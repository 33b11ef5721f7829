using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Backprop.Tests.Infrastructure;

/// <summary>
/// An independent, plain-loop implementation of a dense network in double precision, written from the math
/// and PyTorch's definitions, not from the generated code. It reads a network's architecture from the model
/// file metadata and its weights through <see cref="INetwork.CopyTensor"/> (PyTorch layout).
/// </summary>
internal sealed class ReferenceNetwork
{
    public sealed record Layer(string Name, int Inputs, int Units, string Activation)
    {
        public double[] Weight = []; // [Units, Inputs], PyTorch layout
        public double[] Bias = [];   // [Units]
    }

    public int InputSize { get; }
    public string Loss { get; }
    public List<Layer> Layers { get; }
    public int OutputSize => Layers[^1].Units;

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
        int inputs = root.GetProperty("input")[0].GetInt32();
        var layers = new List<Layer>();
        int size = inputs;
        foreach (var layer in root.GetProperty("layers").EnumerateArray())
        {
            int units = layer.GetProperty("units").GetInt32();
            layers.Add(new Layer(layer.GetProperty("name").GetString()!, size, units, layer.GetProperty("activation").GetString()!)
            {
                Weight = file.Get(layer.GetProperty("name").GetString() + ".weight").ToArray().Select(v => (double)v).ToArray(),
                Bias = file.Get(layer.GetProperty("name").GetString() + ".bias").ToArray().Select(v => (double)v).ToArray(),
            });
            size = units;
        }
        return new ReferenceNetwork(inputs, root.GetProperty("loss").GetString()!, layers);
    }

    /// <summary>All parameters as (tensor name, array) in the network's tensor order.</summary>
    public IEnumerable<(string Name, double[] Values)> Tensors()
    {
        foreach (var layer in Layers)
        {
            yield return (layer.Name + ".weight", layer.Weight);
            yield return (layer.Name + ".bias", layer.Bias);
        }
    }

    /// <summary>The forward pass; returns the last layer's output y and pre-activation z, (batch, units).</summary>
    public (double[] Output, double[] PreActivation) Forward(double[] inputs, int batch)
    {
        double[] x = inputs, z = [];
        foreach (var layer in Layers)
        {
            z = new double[batch * layer.Units];
            for (int b = 0; b < batch; b++)
            {
                for (int j = 0; j < layer.Units; j++)
                {
                    double sum = layer.Bias[j];
                    for (int i = 0; i < layer.Inputs; i++)
                    {
                        sum += x[b * layer.Inputs + i] * layer.Weight[j * layer.Inputs + i];
                    }
                    z[b * layer.Units + j] = sum;
                }
            }
            x = Activate(layer.Activation, z, batch, layer.Units);
        }
        return (x, z);
    }

    /// <summary>The loss with PyTorch's semantics; labels for cross-entropy, targets otherwise.</summary>
    public double LossOf(double[] inputs, int batch, int[]? labels, double[]? targets)
    {
        var (y, z) = Forward(inputs, batch);
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
