using System;

namespace Backprop;

/// <summary>
/// The plain training loop: shuffled mini-batches over a dataset held in memory, and accuracy. Works with any
/// generated network through <see cref="INetwork"/>; buffers are allocated once per call.
/// </summary>
public static class Trainer
{
    /// <summary>
    /// One epoch of softmax cross-entropy training: the samples in an order drawn from <paramref name="random"/>,
    /// in batches of <paramref name="batchSize"/> (the last batch may be smaller), each batch (a copy: the dataset is not
    /// changed) passed through <paramref name="transform"/> first when given, for example
    /// <see cref="ImageAugmentation.Apply"/>. Returns the mean batch loss.
    /// </summary>
    public static float TrainEpoch(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Optimizer optimizer, int batchSize, Random random,
        BatchTransform? transform = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(random);
        int count = CheckSamples(network, inputs, labels);
        if (batchSize < 1 || batchSize > network.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{Name(network)}: the batch size must be in 1..{network.MaxBatch} (the network's MaxBatch).");
        }
        int[] order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }
        random.Shuffle(order);

        int size = network.InputSize;
        var batchInputs = new float[batchSize * size];
        var batchLabels = new int[batchSize];
        double total = 0;
        int batches = 0;
        for (int start = 0; start < count; start += batchSize)
        {
            int batch = Math.Min(batchSize, count - start);
            for (int i = 0; i < batch; i++)
            {
                int sample = order[start + i];
                inputs.Slice(sample * size, size).CopyTo(batchInputs.AsSpan(i * size, size));
                batchLabels[i] = labels[sample];
            }
            transform?.Invoke(batchInputs.AsSpan(0, batch * size), batch);
            try
            {
                total += network.TrainStep(batchInputs.AsSpan(0, batch * size), batchLabels.AsSpan(0, batch), optimizer);
            }
            catch (ArithmeticException e)
            {
                // The step's message speaks of the batch; the caller knows the dataset. Name its rows (shuffled).
                var rows = order.AsSpan(start, Math.Min(batch, 8)).ToArray();
                throw new ArithmeticException(
                    $"{e.Message} (batch {batches + 1} of the epoch: dataset rows {string.Join(", ", rows)}{(batch > rows.Length ? ", ..." : "")})", e);
            }
            batches++;
        }
        return (float)(total / batches);
    }

    /// <summary>
    /// Predicts a dataset of any length: <paramref name="inputs"/> holds whole rows of <c>InputSize</c> values,
    /// <paramref name="outputs"/> receives <c>OutputSize</c> values per row. Runs in batches of the network's
    /// <c>MaxBatch</c> straight between the two spans, allocating nothing.
    /// </summary>
    public static void Predict(INetwork network, ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        ArgumentNullException.ThrowIfNull(network);
        int size = network.InputSize, classes = network.OutputSize;
        if (inputs.Length % size != 0)
        {
            throw new ArgumentException($"{Name(network)}: {inputs.Length} values are not whole rows of {size} inputs.", nameof(inputs));
        }
        int count = inputs.Length / size;
        if (outputs.Length != count * classes)
        {
            throw new ArgumentException($"{Name(network)}: outputs hold {outputs.Length} values; {count} rows need {count * classes}.", nameof(outputs));
        }
        for (int start = 0; start < count; start += network.MaxBatch)
        {
            int batch = Math.Min(network.MaxBatch, count - start);
            network.Predict(inputs.Slice(start * size, batch * size), outputs.Slice(start * classes, batch * classes));
        }
    }

    /// <summary>The fraction of samples whose largest output is at their label.</summary>
    public static float Accuracy(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels)
    {
        ArgumentNullException.ThrowIfNull(network);
        int count = CheckSamples(network, inputs, labels);
        int size = network.InputSize, classes = network.OutputSize, batchSize = network.MaxBatch;
        var outputs = new float[batchSize * classes];
        int correct = 0;
        for (int start = 0; start < count; start += batchSize)
        {
            int batch = Math.Min(batchSize, count - start);
            network.Predict(inputs.Slice(start * size, batch * size), outputs.AsSpan(0, batch * classes));
            for (int i = 0; i < batch; i++)
            {
                // A NaN compares false with everything, so the arg-max would silently skip it: it is refused instead.
                correct += Metrics.ArgMax(outputs.AsSpan(i * classes, classes), Name(network), start + i) == labels[start + i] ? 1 : 0;
            }
        }
        return (float)correct / count;
    }

    /// <summary>The network's name for messages: its class's name.</summary>
    private static string Name(INetwork network) => network.GetType().Name;

    /// <summary>
    /// Checks the dataset once, up front, so that a bad value is reported by its dataset row (the network's own checks
    /// see only the rows of a shuffled batch): the lengths, every label in range, every input finite.
    /// </summary>
    private static int CheckSamples(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels)
    {
        if (labels.Length == 0 || inputs.Length != labels.Length * network.InputSize)
        {
            throw new ArgumentException(
                $"{Name(network)}: {inputs.Length} input values for {labels.Length} labels; each sample needs InputSize = {network.InputSize} values.", nameof(inputs));
        }
        for (int row = 0; row < labels.Length; row++)
        {
            if ((uint)labels[row] >= (uint)network.OutputSize)
            {
                throw new ArgumentException(
                    $"{Name(network)}: the label of dataset row {row} is {labels[row]}; OutputSize = {network.OutputSize} allows 0 to {network.OutputSize - 1}.", nameof(labels));
            }
        }
        int bad = NetworkGuard.IndexOfNonFinite(inputs);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"{Name(network)}: dataset row {bad / network.InputSize}, feature {bad % network.InputSize} is {inputs[bad]}; inputs must be finite. Replace or drop the row.", nameof(inputs));
        }
        return labels.Length;
    }
}
