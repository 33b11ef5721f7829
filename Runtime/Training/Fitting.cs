using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;

namespace Backprop;

/// <summary>The settings of <see cref="Fitting.Fit(INetwork, Optimizer, float[], int[], float[], int[], FitOptions?)"/>.</summary>
public sealed record FitOptions
{
    /// <summary>The most epochs (passes over the training rows).</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Rows per training step (at most the network's <c>MaxBatch</c>).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Early stopping: stop after this many epochs without the monitored figure (<see cref="Monitor"/>: the validation loss
    /// by default) better than the best by more than <see cref="MinDelta"/>, and restore the best epoch's model. 0 trains
    /// every epoch (and still restores the best).
    /// </summary>
    public int Patience { get; init; } = 10;

    /// <summary>How much better than the best the monitored figure must be to count as an improvement (in its units).</summary>
    public float MinDelta { get; init; }

    /// <summary>
    /// What early stopping and the best epoch go by: the validation loss (the default, as Keras's <c>val_loss</c>), or the
    /// validation metric (accuracy for a classifier, higher is better; RMSE for regression, lower is better).
    /// </summary>
    public FitMonitor Monitor { get; init; }

    /// <summary>The seed of the shuffling (one order per epoch).</summary>
    public int Seed { get; init; }

    /// <summary>The learning rate of each epoch, from the optimizer's rate when <c>Fit</c> begins; null keeps that rate.</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>
    /// Whether each epoch also evaluates a fixed sample of the training rows (as many as the validation rows, in inference
    /// mode) for <see cref="EpochResult.Training"/>: the figures to compare with the validation ones. Costs one inference
    /// pass over that many rows per epoch. On by default.
    /// </summary>
    public bool TrainingMetrics { get; init; } = true;

    /// <summary>Called after every epoch with its results (progress output, plots); runs on the calling thread.</summary>
    public Action<EpochResult>? OnEpoch { get; init; }

    /// <summary>
    /// Called after every training step (a progress bar, a live loss); runs on the calling thread and allocates nothing
    /// per call. Keep it short: its time counts against training.
    /// </summary>
    public Action<StepProgress>? OnStep { get; init; }

    /// <summary>
    /// Augments each training batch (a copy: the data is not changed) before its step, for example random shifts of
    /// images; null (the default) trains on the rows as they are. Checkpoints keep its position, so resumed runs augment
    /// as uninterrupted ones do.
    /// </summary>
    public ImageAugmentation? Augmentation { get; init; }

    /// <summary>
    /// Classification only: a weight per class for imbalanced labels. Each epoch then draws its rows with replacement, a
    /// row of class <c>c</c> with probability proportional to <c>ClassWeights[c]</c> (PyTorch's
    /// <c>WeightedRandomSampler</c>); <see cref="Backprop.ClassWeights.Balanced"/> makes every class as frequent as the
    /// others. Null (the default) visits every row once per epoch.
    /// </summary>
    public IReadOnlyList<float>? ClassWeights { get; init; }

    /// <summary>Stops at the next step boundary, leaving the best model so far (and a checkpoint to resume from, if set).</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// A checkpoint file, written atomically after every epoch and when cancelled: the model, the best epoch's model, the
    /// optimizer's state, the schedule's, the training-pass count Dropout draws from and where the run stands. Null (the
    /// default) writes none.
    /// </summary>
    public string? Checkpoint { get; init; }

    /// <summary>
    /// Resume from <see cref="Checkpoint"/> if that file exists (otherwise start afresh): training goes on where the
    /// checkpoint left it, and ends with the weights the uninterrupted run would have (bit for bit, on the same machine with
    /// the same thread count). The run's seed, batch size, frozen tensors, optimizer type and data must be those the
    /// checkpoint was written with; a checkpoint of another run, or a damaged one, is an
    /// <see cref="InvalidDataException"/> and changes nothing.
    /// </summary>
    public bool Resume { get; init; }
}

/// <summary>What <see cref="FitOptions.Monitor"/> watches for early stopping and the best epoch.</summary>
public enum FitMonitor
{
    /// <summary>The validation loss, lower is better.</summary>
    ValidationLoss,

    /// <summary>The validation metric: accuracy (higher is better) for a classifier, RMSE (lower is better) for regression.</summary>
    ValidationMetric,
}

/// <summary>One epoch of <c>Fit</c>.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="TrainingLoss">The mean of the epoch's step losses (training mode).</param>
/// <param name="ValidationLoss">The loss on the validation rows (inference mode).</param>
/// <param name="ValidationMetric">Classification: the validation accuracy. Regression: the validation RMSE (the network's output scale).</param>
/// <param name="Seconds">The epoch's wall time, validation included.</param>
/// <param name="LearningRate">The optimizer's learning rate during the epoch.</param>
public sealed record EpochResult(int Epoch, float TrainingLoss, float ValidationLoss, float ValidationMetric, double Seconds, float LearningRate)
{
    /// <summary>
    /// The figures on training rows in inference mode (loss, accuracy, confusion matrix, precision/recall/F1; or MAE,
    /// RMSE, R²), from a fixed sample of the training rows as large as the validation set, so the two compare; null when
    /// <see cref="FitOptions.TrainingMetrics"/> is off, and for epochs restored from a checkpoint.
    /// </summary>
    public EvaluationMetrics? Training { get; init; }

    /// <summary>The figures on the validation rows (loss, accuracy, confusion matrix …); null for epochs restored from a checkpoint.</summary>
    public EvaluationMetrics? Validation { get; init; }
}

/// <summary>One training step of <c>Fit</c>, for progress output.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Step">1-based, within the epoch.</param>
/// <param name="Steps">The epoch's number of steps.</param>
/// <param name="Loss">The step's batch loss (training mode).</param>
/// <param name="Rows">Training rows seen so far in the epoch.</param>
/// <param name="Seconds">Seconds since the epoch began.</param>
public readonly record struct StepProgress(int Epoch, int Step, int Steps, float Loss, int Rows, double Seconds);

/// <summary>What <c>Fit</c> did: every epoch, the best one (whose model the network now holds) and why it stopped.</summary>
public sealed class FitHistory
{
    internal FitHistory(List<EpochResult> epochs, int bestEpoch, bool stoppedEarly, bool cancelled)
    {
        Epochs = epochs;
        BestEpoch = bestEpoch;
        StoppedEarly = stoppedEarly;
        Cancelled = cancelled;
    }

    /// <summary>Every epoch run, in order.</summary>
    public IReadOnlyList<EpochResult> Epochs { get; }

    /// <summary>The epoch with the best monitored figure (0 if none finished); the network holds its model.</summary>
    public int BestEpoch { get; }

    /// <summary>The best epoch's results.</summary>
    public EpochResult? Best => BestEpoch == 0 ? null : Epochs[BestEpoch - 1];

    /// <summary>Whether early stopping ended the run before <see cref="FitOptions.Epochs"/>.</summary>
    public bool StoppedEarly { get; }

    /// <summary>Whether <see cref="FitOptions.Cancellation"/> ended the run.</summary>
    public bool Cancelled { get; }
}

/// <summary>
/// Training with validation: shuffled mini-batches each epoch, the validation loss and metric after each, early
/// stopping with the best epoch's model restored. For any generated network, classification (labels) or regression
/// (targets).
/// </summary>
public static class Fitting
{
    /// <summary>Trains a classifier on <paramref name="inputs"/> and <paramref name="labels"/>, validating on the validation rows after each epoch.</summary>
    /// <exception cref="ArithmeticException">A step's loss was not finite; the message names the epoch, the step and the
    /// last finite loss, and the network keeps the best model so far.</exception>
    public static FitHistory Fit(this INetwork network, Optimizer optimizer, float[] inputs, int[] labels, float[] validationInputs, int[] validationLabels, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(validationLabels);
        return Run(network, optimizer, inputs, labels, null, validationInputs, validationLabels, null, options ?? new FitOptions());
    }

    /// <summary>Trains a regression network on <paramref name="inputs"/> and <paramref name="targets"/> (<c>OutputSize</c> per row), validating after each epoch.</summary>
    /// <exception cref="ArithmeticException">A step's loss was not finite; the message names the epoch, the step and the
    /// last finite loss, and the network keeps the best model so far.</exception>
    public static FitHistory Fit(this INetwork network, Optimizer optimizer, float[] inputs, float[] targets, float[] validationInputs, float[] validationTargets, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(validationTargets);
        return Run(network, optimizer, inputs, null, targets, validationInputs, null, validationTargets, options ?? new FitOptions());
    }

    private static FitHistory Run(INetwork network, Optimizer optimizer, float[] inputs, int[]? labels, float[]? targets,
        float[] validationInputs, int[]? validationLabels, float[]? validationTargets, FitOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(validationInputs);
        int size = network.InputSize, outputs = network.OutputSize;
        int count = Rows(inputs, size, "inputs"), validationCount = Rows(validationInputs, size, "validationInputs");
        int per = labels is not null ? 1 : outputs;
        if ((labels?.Length ?? targets!.Length) != count * per || (validationLabels?.Length ?? validationTargets!.Length) != validationCount * per)
        {
            throw new ArgumentException($"{network.GetType().Name}: {count} training and {validationCount} validation rows need {per} label or target value(s) each.");
        }
        if (options.Augmentation is { } augmentation && augmentation.SampleSize != size)
        {
            throw new ArgumentException($"The augmentation transforms samples of {augmentation.SampleSize} values; {network.GetType().Name} takes {size}.", nameof(options));
        }
        if (options.BatchSize < 1 || options.BatchSize > network.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, $"The batch size must be in 1..{network.MaxBatch} (the network's MaxBatch).");
        }
        if (options.Epochs < 1 || options.Patience < 0 || !(options.MinDelta >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Epochs must be at least 1, Patience and MinDelta not negative.");
        }
        if (options.Checkpoint is { } checkpoint && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(checkpoint))))
        {
            throw new DirectoryNotFoundException($"The checkpoint's directory does not exist: '{Path.GetDirectoryName(Path.GetFullPath(checkpoint))}' (FitOptions.Checkpoint = '{checkpoint}').");
        }
        if (count == 0 || validationCount == 0)
        {
            throw new ArgumentException("Fit needs at least one training row and one validation row.");
        }

        var order = new int[count];
        var batchInputs = new float[options.BatchSize * size];
        var batchLabels = labels is null ? null : new int[options.BatchSize];
        var batchTargets = targets is null ? null : new float[options.BatchSize * outputs];
        var predictions = new float[validationCount * outputs];
        var sampling = options.ClassWeights is { } weights ? new WeightedSampling(weights, labels, outputs, network.GetType().Name) : null;
        var probe = options.TrainingMetrics ? Probe.Draw(inputs, labels, targets, size, outputs, count, Math.Min(count, validationCount), options.Seed) : null;
        int stepsPerEpoch = (count + options.BatchSize - 1) / options.BatchSize;

        // Where the run stands: fresh, or as the checkpoint left it (model, optimizer and schedule included).
        var state = new FitState { InitialRate = optimizer.LearningRate };
        string settings = string.Create(CultureInfo.InvariantCulture,
            $"seed {options.Seed}, batch size {options.BatchSize}, monitor {options.Monitor}, {(options.Augmentation is { } a ? $"augmentation (shifts up to {a.MaxShift}, flips {a.HorizontalFlip}, seed {a.Seed})" : "no augmentation")}, " +
            $"class weights [{(options.ClassWeights is null ? "" : string.Join(", ", options.ClassWeights.Select(w => w.ToString("R", CultureInfo.InvariantCulture))))}], " +
            $"frozen [{string.Join(", ", network.FrozenTensors)}]");
        string? data = options.Checkpoint is null ? null : FitCheckpoint.DataChecksum(inputs, labels, targets, validationInputs, validationLabels, validationTargets);
        if (options.Resume && options.Checkpoint is { } resumeFrom && File.Exists(resumeFrom))
        {
            FitCheckpoint.Read(resumeFrom, network, optimizer, options.Schedule, options.Augmentation, settings, data!, state);
        }
        bool cancelled = false;
        while (state.Epoch <= options.Epochs && !state.StoppedEarly && !cancelled)
        {
            int epoch = state.Epoch;
            var watch = Stopwatch.StartNew();
            if (options.Schedule is { } schedule)
            {
                optimizer.LearningRate = schedule.Rate(epoch, options.Epochs, state.InitialRate);
            }
            if (sampling is null)
            {
                Shuffle(order, options.Seed, epoch);
            }
            else
            {
                sampling.Draw(order, options.Seed, epoch);
            }
            for (int start = state.StepsDone * options.BatchSize; start < count; start += options.BatchSize)
            {
                if (options.Cancellation.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }
                int batch = Math.Min(options.BatchSize, count - start);
                float loss;
                try
                {
                    loss = TrainBatch(network, optimizer, inputs, labels, targets, order.AsSpan(start, batch), batchInputs, batchLabels, batchTargets, options.Augmentation);
                }
                catch (ArithmeticException e)
                {
                    Restore(network, state);
                    throw new ArithmeticException(
                        $"Training stopped at epoch {epoch}, step {state.StepsDone + 1}: {e.Message} The last finite step loss was {state.LastLoss}; the network holds {(state.BestEpoch == 0 ? "the last good weights" : $"the best epoch's model (epoch {state.BestEpoch})")}.", e);
                }
                state.LastLoss = loss;
                state.EpochTotal += loss;
                state.StepsDone++;
                options.OnStep?.Invoke(new StepProgress(epoch, state.StepsDone, stepsPerEpoch, loss, start + batch, watch.Elapsed.TotalSeconds));
            }
            if (cancelled)
            {
                break;
            }

            var validated = validationLabels is not null
                ? Evaluation.Evaluate(network, validationInputs, validationLabels, predictions)
                : Evaluation.Evaluate(network, validationInputs, validationTargets!, predictions);
            var trained = probe is null ? null : probe.Labels is not null
                ? Evaluation.Evaluate(network, probe.Inputs, probe.Labels, probe.Outputs)
                : Evaluation.Evaluate(network, probe.Inputs, probe.Targets!, probe.Outputs);
            float validationLoss = validated.Loss;
            options.Schedule?.Observe(epoch, validationLoss);
            var result = new EpochResult(epoch, (float)(state.EpochTotal / state.StepsDone), validationLoss, validated.Headline, watch.Elapsed.TotalSeconds, optimizer.LearningRate)
            {
                Training = trained,
                Validation = validated,
            };
            state.History.Add(result);
            // The monitored figure, lower is better: the validation loss, or the accuracy's negative, or the RMSE.
            float score = options.Monitor == FitMonitor.ValidationLoss ? validationLoss
                : validated.IsClassification ? -validated.Accuracy : validated.RootMeanSquaredError;
            if (score < state.BestLoss - options.MinDelta || state.BestEpoch == 0)
            {
                state.BestLoss = score;
                state.BestEpoch = epoch;
                state.SinceBest = 0;
                state.Best.SetLength(0);
                network.Save(state.Best);
            }
            else
            {
                state.SinceBest++;
            }
            state.StoppedEarly = options.Patience > 0 && state.SinceBest >= options.Patience && epoch < options.Epochs;
            state.Epoch++;
            state.StepsDone = 0;
            state.EpochTotal = 0;
            if (options.Checkpoint is { } path)
            {
                FitCheckpoint.Write(path, network, optimizer, options.Schedule, options.Augmentation, state, settings, data!);
            }
            options.OnEpoch?.Invoke(result);
        }
        if (cancelled && options.Checkpoint is { } at)
        {
            // Cancelled at a step boundary: the checkpoint resumes at the next step.
            FitCheckpoint.Write(at, network, optimizer, options.Schedule, options.Augmentation, state, settings, data!);
        }
        Restore(network, state);
        return new FitHistory(state.History, state.BestEpoch, state.StoppedEarly, cancelled);
    }

    /// <summary>The fixed sample of training rows evaluated after every epoch (<see cref="FitOptions.TrainingMetrics"/>), gathered once.</summary>
    private sealed record Probe(float[] Inputs, int[]? Labels, float[]? Targets, float[] Outputs)
    {
        public static Probe Draw(float[] inputs, int[]? labels, float[]? targets, int size, int outputs, int count, int rows, int seed)
        {
            var order = new int[count];
            for (int i = 0; i < count; i++)
            {
                order[i] = i;
            }
            new Random(unchecked(seed ^ 0x5BD1E995)).Shuffle(order);
            Array.Sort(order, 0, rows); // the sample in dataset order
            var x = new float[rows * size];
            var y = labels is null ? null : new int[rows];
            var t = targets is null ? null : new float[rows * outputs];
            Gather(inputs, labels, targets, size, outputs, order.AsSpan(0, rows), x, y, t);
            return new Probe(x, y, t, new float[rows * outputs]);
        }
    }

    /// <summary>
    /// The order of the training rows in <paramref name="epoch"/>: a shuffle drawn from the seed and the epoch alone, so
    /// that a run resumed from a checkpoint visits the rows as the uninterrupted run would.
    /// </summary>
    private static void Shuffle(int[] order, int seed, int epoch)
    {
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        EpochRandom(seed, epoch).Shuffle(order);
    }

    /// <summary>The random stream of one epoch's order: from the seed and the epoch alone (so a resumed run draws it again).</summary>
    private static Random EpochRandom(int seed, int epoch) => new(unchecked(seed * 1_000_003 + epoch));

    /// <summary>
    /// The rows of an epoch drawn with replacement, each with probability proportional to its class's weight (from the
    /// seed and the epoch alone, as <see cref="Shuffle"/>): binary search in the rows' cumulative weights.
    /// </summary>
    private sealed class WeightedSampling
    {
        private readonly double[] _cumulative;

        public WeightedSampling(IReadOnlyList<float> weights, int[]? labels, int classes, string network)
        {
            if (labels is null)
            {
                throw new ArgumentException($"{network}: class weights need class labels; a regression network has none.", "options");
            }
            if (weights.Count != classes || weights.Any(w => !(w >= 0 && float.IsFinite(w))))
            {
                throw new ArgumentException($"{network}: ClassWeights needs {classes} finite weights >= 0 (one per class), not [{string.Join(", ", weights)}].", "options");
            }
            _cumulative = new double[labels.Length];
            double total = 0;
            for (int i = 0; i < labels.Length; i++)
            {
                total += (uint)labels[i] < (uint)classes ? weights[labels[i]] : 0;
                _cumulative[i] = total;
            }
            if (!(total > 0))
            {
                throw new ArgumentException($"{network}: the class weights give every training row weight 0.", "options");
            }
        }

        public void Draw(int[] order, int seed, int epoch)
        {
            var random = EpochRandom(seed, epoch);
            double total = _cumulative[^1];
            for (int i = 0; i < order.Length; i++)
            {
                int row = Array.BinarySearch(_cumulative, random.NextDouble() * total);
                row = row >= 0 ? row + 1 : ~row; // the first row whose cumulative weight exceeds the draw
                while (row < _cumulative.Length - 1 && (row == 0 ? _cumulative[0] : _cumulative[row] - _cumulative[row - 1]) == 0)
                {
                    row++; // never a row of weight 0
                }
                order[i] = Math.Min(row, _cumulative.Length - 1);
            }
        }
    }

    /// <summary>Gathers one batch of rows in <paramref name="rows"/>' order and takes a training step on it.</summary>
    private static float TrainBatch(INetwork network, Optimizer optimizer, float[] inputs, int[]? labels, float[]? targets, ReadOnlySpan<int> rows,
        float[] batchInputs, int[]? batchLabels, float[]? batchTargets, ImageAugmentation? augmentation)
    {
        int size = network.InputSize, outputs = network.OutputSize, batch = rows.Length;
        Gather(inputs, labels, targets, size, outputs, rows, batchInputs, batchLabels, batchTargets);
        augmentation?.Apply(batchInputs.AsSpan(0, batch * size), batch);
        return batchLabels is not null
            ? network.TrainStep(batchInputs.AsSpan(0, batch * size), batchLabels.AsSpan(0, batch), optimizer)
            : network.TrainStep(batchInputs.AsSpan(0, batch * size), batchTargets.AsSpan(0, batch * outputs), optimizer);
    }

    /// <summary>Copies <paramref name="rows"/>' inputs and labels (or targets) into the first rows of the destination arrays.</summary>
    private static void Gather(float[] inputs, int[]? labels, float[]? targets, int size, int outputs, ReadOnlySpan<int> rows,
        float[] toInputs, int[]? toLabels, float[]? toTargets)
    {
        for (int i = 0; i < rows.Length; i++)
        {
            int row = rows[i];
            inputs.AsSpan(row * size, size).CopyTo(toInputs.AsSpan(i * size));
            if (toLabels is not null)
            {
                toLabels[i] = labels![row];
            }
            else
            {
                targets.AsSpan(row * outputs, outputs).CopyTo(toTargets.AsSpan(i * outputs));
            }
        }
    }

    private static void Restore(INetwork network, FitState state)
    {
        if (state.BestEpoch > 0)
        {
            state.Best.Position = 0;
            network.Load(state.Best);
        }
    }

    private static int Rows(float[] inputs, int size, string name)
    {
        if (inputs.Length % size != 0)
        {
            throw new ArgumentException($"{inputs.Length} values are not whole rows of {size} inputs.", name);
        }
        return inputs.Length / size;
    }
}

/// <summary>Evaluation metrics over whole datasets.</summary>
public static class Metrics
{
    /// <summary>The share of rows whose largest output is at their label.</summary>
    /// <exception cref="ArithmeticException">An output is NaN (the row is named): accuracy is not defined.</exception>
    public static float Accuracy(ReadOnlySpan<float> outputs, ReadOnlySpan<int> labels, int classes)
    {
        if (classes < 1 || outputs.Length != labels.Length * classes)
        {
            throw new ArgumentException($"{outputs.Length} outputs are not {labels.Length} rows of {classes} classes.");
        }
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            correct += ArgMax(outputs.Slice(i * classes, classes), "Metrics", i) == labels[i] ? 1 : 0;
        }
        return labels.Length == 0 ? 0f : (float)correct / labels.Length;
    }

    /// <summary>
    /// The confusion matrix, <paramref name="classes"/> × <paramref name="classes"/> row-major: element
    /// <c>[truth × classes + predicted]</c> counts the rows of class <c>truth</c> whose largest output is <c>predicted</c>.
    /// </summary>
    public static int[] ConfusionMatrix(ReadOnlySpan<float> outputs, ReadOnlySpan<int> labels, int classes)
    {
        if (classes < 1 || outputs.Length != labels.Length * classes)
        {
            throw new ArgumentException($"{outputs.Length} outputs are not {labels.Length} rows of {classes} classes.");
        }
        var matrix = new int[classes * classes];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label {labels[i]} at row {i} is not in [0, {classes}).");
            }
            matrix[labels[i] * classes + ArgMax(outputs.Slice(i * classes, classes), "Metrics", i)]++;
        }
        return matrix;
    }

    /// <summary>
    /// Each class's precision (of the rows predicted as it, the share that are), recall (of its rows, the share predicted
    /// as it) and F1 (their harmonic mean), from a confusion matrix; 0 where a denominator is 0, as scikit-learn's
    /// <c>zero_division=0</c>.
    /// </summary>
    public static (float[] Precision, float[] Recall, float[] F1) PrecisionRecallF1(ReadOnlySpan<int> confusion, int classes)
    {
        if (classes < 1 || confusion.Length != classes * classes)
        {
            throw new ArgumentException($"A confusion matrix of {classes} classes has {classes * classes} counts, not {confusion.Length}.");
        }
        var precision = new float[classes];
        var recall = new float[classes];
        var f1 = new float[classes];
        for (int c = 0; c < classes; c++)
        {
            int predicted = 0, actual = 0;
            for (int other = 0; other < classes; other++)
            {
                predicted += confusion[other * classes + c];
                actual += confusion[c * classes + other];
            }
            int hits = confusion[c * classes + c];
            precision[c] = predicted == 0 ? 0f : (float)hits / predicted;
            recall[c] = actual == 0 ? 0f : (float)hits / actual;
            f1[c] = precision[c] + recall[c] == 0 ? 0f : 2 * precision[c] * recall[c] / (precision[c] + recall[c]);
        }
        return (precision, recall, f1);
    }

    /// <summary>The index of the largest value (the first of equals).</summary>
    /// <exception cref="ArithmeticException">A value is NaN, which compares false with everything and would be skipped.</exception>
    public static int ArgMax(ReadOnlySpan<float> values) => ArgMax(values, "Metrics", row: -1);

    /// <summary>The arg-max of one row of outputs; a NaN is an <see cref="ArithmeticException"/> naming <paramref name="who"/> and the row.</summary>
    internal static int ArgMax(ReadOnlySpan<float> scores, string who, int row)
    {
        int best = 0;
        for (int j = 0; j < scores.Length; j++)
        {
            if (float.IsNaN(scores[j]))
            {
                throw new ArithmeticException(row < 0
                    ? $"{who}: value {j} is NaN; the arg-max is not defined."
                    : $"{who}: the output for dataset row {row} is NaN (class {j}); accuracy is not defined. Check that row's inputs and the weights for NaN.");
            }
            if (scores[j] > scores[best])
            {
                best = j;
            }
        }
        return best;
    }

    /// <summary>√(mean of (prediction − target)²), in double precision.</summary>
    public static float RootMeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        Same(predictions, targets);
        double sum = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            double d = predictions[i] - targets[i];
            sum += d * d;
        }
        return targets.Length == 0 ? 0f : (float)Math.Sqrt(sum / targets.Length);
    }

    /// <summary>The mean absolute error.</summary>
    public static float MeanAbsoluteError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        Same(predictions, targets);
        double sum = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            sum += Math.Abs(predictions[i] - targets[i]);
        }
        return targets.Length == 0 ? 0f : (float)(sum / targets.Length);
    }

    /// <summary>The coefficient of determination, 1 − Σ(prediction − target)² / Σ(target − mean)², as scikit-learn's <c>r2_score</c>.</summary>
    public static float RSquared(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        Same(predictions, targets);
        double mean = 0;
        foreach (float t in targets)
        {
            mean += t;
        }
        mean /= Math.Max(1, targets.Length);
        double residual = 0, spread = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            residual += (predictions[i] - targets[i]) * (double)(predictions[i] - targets[i]);
            spread += (targets[i] - mean) * (targets[i] - mean);
        }
        return spread == 0 ? (residual == 0 ? 1f : 0f) : (float)(1 - residual / spread);
    }

    private static void Same(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        if (predictions.Length != targets.Length)
        {
            throw new ArgumentException($"{predictions.Length} predictions for {targets.Length} targets.");
        }
    }
}

/// <summary>Class weights for imbalanced labels (<see cref="FitOptions.ClassWeights"/>).</summary>
public static class ClassWeights
{
    /// <summary>
    /// scikit-learn's <c>compute_class_weight("balanced")</c>: <c>rows / (classes × rows of the class)</c>, 0 for a class
    /// with no rows; sampled by these weights, every class is drawn equally often.
    /// </summary>
    /// <exception cref="ArgumentException">A label is outside [0, <paramref name="classes"/>).</exception>
    public static float[] Balanced(ReadOnlySpan<int> labels, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        var counts = new int[classes];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentException($"Label {labels[i]} at row {i} is not in [0, {classes}).", nameof(labels));
            }
            counts[labels[i]]++;
        }
        var weights = new float[classes];
        int present = counts.Count(count => count > 0);
        for (int c = 0; c < classes; c++)
        {
            weights[c] = counts[c] == 0 ? 0f : (float)labels.Length / (present * counts[c]);
        }
        return weights;
    }
}
