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
        => (float)SoftmaxCrossEntropyPart(logits, labels, gradient, batch, classes, batch);

    /// <summary>
    /// <see cref="SoftmaxCrossEntropy"/> for <paramref name="rows"/> samples of a batch of <paramref name="batch"/>
    /// (a data-parallel shard): writes their gradient of the whole batch's mean loss, <c>(softmax(z) - onehot) / batch</c>,
    /// and returns their share of that mean (their summed loss / <paramref name="batch"/>).
    /// </summary>
    public static double SoftmaxCrossEntropyPart(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> gradient, int rows, int classes, int batch)
    {
        int count = rows * classes;
        if (rows < 0 || classes < 1 || batch < rows || logits.Length < count || gradient.Length < count || labels.Length < rows)
        {
            throw new ArgumentException($"Softmax cross-entropy of {rows} x {classes} (of a batch of {batch}) got {logits.Length} logits, {labels.Length} labels and room for {gradient.Length} gradients.");
        }
        double total = 0;
        float scale = 1f / batch;
        // z - max(z) per row, then exp over the whole block at once (vectorized), then the sums per row.
        Softmax.SubtractRowMaximum(logits, gradient, rows, classes);
        for (int b = 0; b < rows; b++)
        {
            // -log softmax(z)[label] = log Σ exp(z - max) - (z[label] - max); the log is added below.
            total -= gradient[b * classes + labels[b]];
        }
        Vectors.Exp(gradient[..count]);
        for (int b = 0; b < rows; b++)
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
        return total / batch;
    }

    /// <summary>
    /// Binary cross-entropy from logits, averaged over all elements, in the stable form
    /// <c>max(z, 0) - z y + log(1 + exp(-|z|))</c>; <c>∂L/∂z = (σ(z) - y) / n</c>.
    /// </summary>
    public static float BinaryCrossEntropyWithLogits(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient, int count)
        => (float)BinaryCrossEntropyWithLogitsPart(logits, targets, gradient, count, count);

    /// <summary>
    /// <see cref="BinaryCrossEntropyWithLogits"/> for <paramref name="count"/> of <paramref name="total"/> elements (a
    /// data-parallel shard): writes their gradient of the whole mean, <c>(σ(z) - y) / total</c>, and returns their share of it.
    /// </summary>
    public static double BinaryCrossEntropyWithLogitsPart(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient, int count, int total)
    {
        CheckPart("Binary cross-entropy", logits, targets, gradient, count, total);
        double sum = 0;
        float scale = 1f / total;
        for (int i = 0; i < count; i++)
        {
            float z = logits[i], y = targets[i];
            sum += Math.Max(z, 0f) - (double)z * y + Math.Log(1.0 + Math.Exp(-Math.Abs((double)z)));
            gradient[i] = (Sigmoid.Logistic(z) - y) * scale;
        }
        return sum / total;
    }

    /// <summary>Mean squared error over all elements: <c>L = mean (y - t)²</c>, <c>∂L/∂y = 2 (y - t) / n</c>.</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, Span<float> gradient, int count)
        => (float)MeanSquaredErrorPart(outputs, targets, gradient, count, count);

    /// <summary>
    /// <see cref="MeanSquaredError"/> for <paramref name="count"/> of <paramref name="total"/> elements (a data-parallel
    /// shard): writes their gradient of the whole mean, <c>2 (y - t) / total</c>, and returns their share of it.
    /// </summary>
    public static double MeanSquaredErrorPart(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, Span<float> gradient, int count, int total)
    {
        CheckPart("Mean squared error", outputs, targets, gradient, count, total);
        double sum = 0;
        float scale = 2f / total;
        for (int i = 0; i < count; i++)
        {
            float difference = outputs[i] - targets[i];
            sum += (double)difference * difference;
            gradient[i] = difference * scale;
        }
        return sum / total;
    }

    private static void CheckPart(string loss, ReadOnlySpan<float> values, ReadOnlySpan<float> targets, Span<float> gradient, int count, int total)
    {
        if (count < 0 || total < count || values.Length < count || targets.Length < count || gradient.Length < count)
        {
            throw new ArgumentException($"{loss} of {count} elements (of {total}) got {values.Length} values, {targets.Length} targets and room for {gradient.Length} gradients.");
        }
    }
}
