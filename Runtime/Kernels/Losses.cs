using System;

namespace Backprop.Kernels;

/// <summary>
/// Loss functions with PyTorch's default (mean) reduction. Each returns the loss and writes its gradient with
/// respect to its input (<c>∂L/∂input</c>, already divided by the reduction count). Sums run in double.
/// </summary>
public static class Losses
{
    /// <summary>
    /// Softmax cross-entropy from logits, averaged over the batch:
    /// <c>L = mean_b (logsumexp(z_b) - z_b[label_b])</c>, <c>∂L/∂z = (softmax(z) - onehot(label)) / batch</c>.
    /// </summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> gradient, int batch, int classes)
    {
        int count = batch * classes;
        if (batch < 0 || classes < 1 || logits.Length < count || gradient.Length < count || labels.Length < batch)
        {
            throw new ArgumentException($"Softmax cross-entropy of {batch} x {classes} got {logits.Length} logits, {labels.Length} labels and room for {gradient.Length} gradients.");
        }
        double total = 0;
        float scale = 1f / batch;
        // z - max(z) per row, then exp over the whole block at once (vectorized), then the sums per row.
        Softmax.SubtractRowMaximum(logits, gradient, batch, classes);
        for (int b = 0; b < batch; b++)
        {
            // -log softmax(z)[label] = log Σ exp(z - max) - (z[label] - max); the log is added below.
            total -= gradient[b * classes + labels[b]];
        }
        Vectors.Exp(gradient[..count]);
        for (int b = 0; b < batch; b++)
        {
            Span<float> g = gradient.Slice(b * classes, classes);
            double sum = 0;
            foreach (float e in g)
            {
                sum += e;
            }
            total += Math.Log(sum);
            float factor = (float)(1.0 / sum) * scale;
            for (int j = 0; j < g.Length; j++)
            {
                g[j] *= factor;
            }
            g[labels[b]] -= scale;
        }
        return (float)(total / batch);
    }

    /// <summary>
    /// Binary cross-entropy from logits, averaged over all elements, in the stable form
    /// <c>max(z, 0) - z y + log(1 + exp(-|z|))</c>; <c>∂L/∂z = (σ(z) - y) / n</c>.
    /// </summary>
    public static float BinaryCrossEntropyWithLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient, int count)
    {
        double total = 0;
        float scale = 1f / count;
        for (int i = 0; i < count; i++)
        {
            float z = logits[i], y = targets[i];
            total += Math.Max(z, 0f) - (double)z * y + Math.Log(1.0 + Math.Exp(-Math.Abs((double)z)));
            gradient[i] = (Sigmoid.Logistic(z) - y) * scale;
        }
        return (float)(total / count);
    }

    /// <summary>Mean squared error over all elements: <c>L = mean (y - t)²</c>, <c>∂L/∂y = 2 (y - t) / n</c>.</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, Span<float> gradient, int count)
    {
        double total = 0;
        float scale = 2f / count;
        for (int i = 0; i < count; i++)
        {
            float difference = outputs[i] - targets[i];
            total += (double)difference * difference;
            gradient[i] = difference * scale;
        }
        return (float)(total / count);
    }
}
