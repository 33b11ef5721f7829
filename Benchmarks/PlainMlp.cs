using System;

namespace Backprop.Benchmarks;

/// <summary>
/// The MLP 784-256-128-10 written the way one would by hand in C#: plain loops over arrays, no SIMD, no
/// blocking, SGD. The baseline that shows what the generated code's kernels buy.
/// </summary>
public sealed class PlainMlp
{
    private static readonly int[] s_sizes = [784, 256, 128, 10];
    private readonly float[][] _weights = new float[3][]; // [out, in], PyTorch layout
    private readonly float[][] _biases = new float[3][];
    private readonly float[][] _weightGradients = new float[3][];
    private readonly float[][] _biasGradients = new float[3][];
    private readonly float[][] _activations = new float[4][];
    private readonly float[][] _deltas = new float[4][];

    public PlainMlp(int maxBatch)
    {
        var random = new Random(1);
        for (int l = 0; l < 3; l++)
        {
            int inputs = s_sizes[l], outputs = s_sizes[l + 1];
            _weights[l] = new float[outputs * inputs];
            for (int i = 0; i < _weights[l].Length; i++)
            {
                _weights[l][i] = (float)((random.NextDouble() * 2 - 1) * Math.Sqrt(6.0 / inputs));
            }
            _biases[l] = new float[outputs];
            _weightGradients[l] = new float[outputs * inputs];
            _biasGradients[l] = new float[outputs];
        }
        for (int l = 0; l < 4; l++)
        {
            _activations[l] = new float[maxBatch * s_sizes[l]];
            _deltas[l] = new float[maxBatch * s_sizes[l]];
        }
    }

    public void Predict(float[] inputs, float[] outputs, int batch)
    {
        Forward(inputs, batch);
        Array.Copy(_activations[3], outputs, batch * 10);
    }

    public float TrainStep(float[] inputs, int[] labels, int batch, float learningRate)
    {
        Forward(inputs, batch);
        // Softmax cross-entropy and its gradient.
        float loss = 0;
        for (int b = 0; b < batch; b++)
        {
            float max = float.MinValue, sum = 0;
            for (int j = 0; j < 10; j++)
            {
                max = Math.Max(max, _activations[3][b * 10 + j]);
            }
            for (int j = 0; j < 10; j++)
            {
                sum += MathF.Exp(_activations[3][b * 10 + j] - max);
            }
            for (int j = 0; j < 10; j++)
            {
                float p = MathF.Exp(_activations[3][b * 10 + j] - max) / sum;
                _deltas[3][b * 10 + j] = (p - (j == labels[b] ? 1 : 0)) / batch;
            }
            loss += max + MathF.Log(sum) - _activations[3][b * 10 + labels[b]];
        }
        for (int l = 2; l >= 0; l--)
        {
            int inputsCount = s_sizes[l], outputsCount = s_sizes[l + 1];
            float[] x = l == 0 ? inputs : _activations[l], delta = _deltas[l + 1], w = _weights[l];
            Array.Clear(_weightGradients[l]);
            Array.Clear(_biasGradients[l]);
            for (int b = 0; b < batch; b++)
            {
                for (int o = 0; o < outputsCount; o++)
                {
                    float d = delta[b * outputsCount + o];
                    _biasGradients[l][o] += d;
                    for (int i = 0; i < inputsCount; i++)
                    {
                        _weightGradients[l][o * inputsCount + i] += d * x[b * inputsCount + i];
                    }
                }
            }
            if (l > 0)
            {
                for (int b = 0; b < batch; b++)
                {
                    for (int i = 0; i < inputsCount; i++)
                    {
                        float sum = 0;
                        for (int o = 0; o < outputsCount; o++)
                        {
                            sum += delta[b * outputsCount + o] * w[o * inputsCount + i];
                        }
                        // ReLU derivative from the layer's output.
                        _deltas[l][b * inputsCount + i] = x[b * inputsCount + i] > 0 ? sum : 0;
                    }
                }
            }
        }
        for (int l = 0; l < 3; l++)
        {
            for (int i = 0; i < _weights[l].Length; i++)
            {
                _weights[l][i] -= learningRate * _weightGradients[l][i];
            }
            for (int i = 0; i < _biases[l].Length; i++)
            {
                _biases[l][i] -= learningRate * _biasGradients[l][i];
            }
        }
        return loss / batch;
    }

    private void Forward(float[] inputs, int batch)
    {
        float[] x = inputs;
        for (int l = 0; l < 3; l++)
        {
            int inputsCount = s_sizes[l], outputsCount = s_sizes[l + 1];
            float[] y = _activations[l + 1], w = _weights[l], bias = _biases[l];
            for (int b = 0; b < batch; b++)
            {
                for (int o = 0; o < outputsCount; o++)
                {
                    float sum = bias[o];
                    for (int i = 0; i < inputsCount; i++)
                    {
                        sum += x[b * inputsCount + i] * w[o * inputsCount + i];
                    }
                    y[b * outputsCount + o] = l < 2 ? Math.Max(sum, 0) : sum;
                }
            }
            x = y;
        }
    }
}
