using System;
using System.Collections.Generic;
using System.Globalization;

namespace Backprop;

/// <summary>
/// A network's figures on a dataset, in inference mode: the loss, and for a classifier the accuracy, the confusion matrix
/// and each class's precision, recall and F1; for a regression network the MAE, RMSE and R² (over all outputs). Made by
/// <see cref="Evaluation.Evaluate(INetwork, float[], int[])"/> and by <c>Fit</c> after every epoch.
/// </summary>
public sealed class EvaluationMetrics
{
    internal EvaluationMetrics(int rows, float loss, int classes, int[]? confusion, float mae, float rmse, float r2)
    {
        Rows = rows;
        Loss = loss;
        Classes = classes;
        if (confusion is not null)
        {
            ConfusionMatrix = confusion;
            (Precision, Recall, F1) = Metrics.PrecisionRecallF1(confusion, classes);
            int correct = 0;
            for (int c = 0; c < classes; c++)
            {
                correct += confusion[c * classes + c];
            }
            Accuracy = rows == 0 ? 0f : (float)correct / rows;
        }
        MeanAbsoluteError = mae;
        RootMeanSquaredError = rmse;
        RSquared = r2;
    }

    /// <summary>The rows evaluated.</summary>
    public int Rows { get; }

    /// <summary>The mean loss (the network's loss, inference mode).</summary>
    public float Loss { get; }

    /// <summary>Whether these are a classifier's figures (accuracy, confusion matrix) or a regression network's (errors).</summary>
    public bool IsClassification => ConfusionMatrix is not null;

    /// <summary>The number of classes (0 for regression).</summary>
    public int Classes { get; }

    /// <summary>Classification: the share of rows whose largest output is at their label; NaN for regression.</summary>
    public float Accuracy { get; } = float.NaN;

    /// <summary>Classification: <c>[truth × Classes + predicted]</c> counts (rows: the truth); null for regression.</summary>
    public IReadOnlyList<int>? ConfusionMatrix { get; }

    /// <summary>Classification: each class's precision (0 where nothing was predicted as it); null for regression.</summary>
    public IReadOnlyList<float>? Precision { get; }

    /// <summary>Classification: each class's recall; null for regression.</summary>
    public IReadOnlyList<float>? Recall { get; }

    /// <summary>Classification: each class's F1; null for regression.</summary>
    public IReadOnlyList<float>? F1 { get; }

    /// <summary>Classification: the unweighted mean of the classes' F1 (scikit-learn's <c>f1_score(average="macro")</c>).</summary>
    public float MacroF1
    {
        get
        {
            if (F1 is null || F1.Count == 0)
            {
                return float.NaN;
            }
            float sum = 0;
            foreach (float f in F1)
            {
                sum += f;
            }
            return sum / F1.Count;
        }
    }

    /// <summary>Regression: the mean absolute error over every output; NaN for classification.</summary>
    public float MeanAbsoluteError { get; }

    /// <summary>Regression: the root of the mean squared error over every output; NaN for classification.</summary>
    public float RootMeanSquaredError { get; }

    /// <summary>Regression: the coefficient of determination over every output (scikit-learn's <c>r2_score</c> of the flattened values).</summary>
    public float RSquared { get; }

    /// <summary>The headline figure: accuracy for a classifier, RMSE for a regression network.</summary>
    public float Headline => IsClassification ? Accuracy : RootMeanSquaredError;

    /// <summary>One line: loss and accuracy (with macro F1), or loss, MAE, RMSE and R².</summary>
    public override string ToString() => IsClassification
        ? string.Create(CultureInfo.InvariantCulture, $"loss {Loss:F4}, accuracy {Accuracy:F4}, macro F1 {MacroF1:F4} ({Rows} rows)")
        : string.Create(CultureInfo.InvariantCulture, $"loss {Loss:F4}, MAE {MeanAbsoluteError:G5}, RMSE {RootMeanSquaredError:G5}, R² {RSquared:F4} ({Rows} rows)");
}

/// <summary>Evaluating a network on a whole dataset in one call (batched inside).</summary>
public static class Evaluation
{
    /// <summary>A classifier's loss, accuracy, confusion matrix and per-class precision, recall and F1 on labelled rows.</summary>
    /// <exception cref="ArgumentException">The lengths do not fit, or a label is out of range.</exception>
    /// <exception cref="ArithmeticException">An output is NaN (the row is named).</exception>
    public static EvaluationMetrics Evaluate(this INetwork network, float[] inputs, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        return Evaluate(network, inputs, labels, new float[labels.Length * network.OutputSize]);
    }

    /// <summary>A regression network's loss, MAE, RMSE and R² on rows with <c>OutputSize</c> targets each.</summary>
    /// <exception cref="ArgumentException">The lengths do not fit.</exception>
    public static EvaluationMetrics Evaluate(this INetwork network, float[] inputs, float[] targets)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        return Evaluate(network, inputs, targets, new float[targets.Length]);
    }

    /// <summary>The classifier's figures, with <paramref name="outputs"/> as the buffer of predictions (rows × OutputSize).</summary>
    internal static EvaluationMetrics Evaluate(INetwork network, float[] inputs, int[] labels, float[] outputs)
    {
        int rows = labels.Length, classes = network.OutputSize, size = network.InputSize;
        if (inputs.Length != rows * size || outputs.Length != rows * classes)
        {
            throw new ArgumentException($"{network.GetType().Name}: {inputs.Length} input values for {rows} labels; each row needs {size}.", nameof(inputs));
        }
        float loss = MeanLoss(network, rows, (start, batch) => network.ComputeLoss(inputs.AsSpan(start * size, batch * size), labels.AsSpan(start, batch), outputs.AsSpan(start * classes, batch * classes)));
        return new EvaluationMetrics(rows, loss, classes, Metrics.ConfusionMatrix(outputs, labels, classes), float.NaN, float.NaN, float.NaN);
    }

    /// <summary>The regression network's figures, with <paramref name="outputs"/> as the buffer of predictions.</summary>
    internal static EvaluationMetrics Evaluate(INetwork network, float[] inputs, float[] targets, float[] outputs)
    {
        int width = network.OutputSize, rows = targets.Length / width, size = network.InputSize;
        if (targets.Length % width != 0 || inputs.Length != rows * size || outputs.Length != targets.Length)
        {
            throw new ArgumentException($"{network.GetType().Name}: {inputs.Length} input values and {targets.Length} targets are not whole rows of {size} and {width}.", nameof(inputs));
        }
        float loss = MeanLoss(network, rows, (start, batch) => network.ComputeLoss(inputs.AsSpan(start * size, batch * size), targets.AsSpan(start * width, batch * width), outputs.AsSpan(start * width, batch * width)));
        return new EvaluationMetrics(rows, loss, 0, null, Metrics.MeanAbsoluteError(outputs, targets), Metrics.RootMeanSquaredError(outputs, targets), Metrics.RSquared(outputs, targets));
    }

    /// <summary>
    /// The mean loss over <paramref name="rows"/> rows, batch by batch of <c>MaxBatch</c> (each batch's mean weighted by its
    /// rows); each batch's call also writes its predictions, so the dataset goes through the network once.
    /// </summary>
    private static float MeanLoss(INetwork network, int rows, Func<int, int, float> batchLoss)
    {
        double total = 0;
        for (int start = 0; start < rows; start += network.MaxBatch)
        {
            int batch = Math.Min(network.MaxBatch, rows - start);
            total += (double)batchLoss(start, batch) * batch;
        }
        return rows == 0 ? 0f : (float)(total / rows);
    }
}
