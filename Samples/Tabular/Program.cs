// Trains a classifier or a regression network on any CSV file with a header row: numeric feature columns (text columns
// with few values are one-hot encoded), one label column. It splits the rows 70/15/15 (stratified for classes),
// standardizes the features with the training rows' statistics, trains with validation and early stopping, and
// evaluates on the held-out test rows. The last line is `test accuracy 0.xxxx`, or `test rmse X` then `test r2 0.xxxx`.
using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Backprop;

var data = new Option<FileInfo>("--data") { Description = "The CSV file (header row first).", Required = true };
var label = new Option<string>("--label") { Description = "The label column's name.", Required = true };
var task = new Option<TabularTask>("--task") { Description = "classification, regression, or auto (from the label column).", DefaultValueFactory = _ => TabularTask.Auto };
var epochs = new Option<int>("--epochs") { Description = "The most epochs (early stopping usually ends sooner).", DefaultValueFactory = _ => 300 };
var seed = new Option<int>("--seed") { Description = "Seed of the split, the initialization and the shuffling.", DefaultValueFactory = _ => 1 };
var minMax = new Option<bool>("--min-max") { Description = "Scale features into [0, 1] by the training rows' range instead of standardizing them." };
var command = new RootCommand("Train and evaluate a network on a CSV file.") { data, label, task, epochs, seed, minMax };
command.SetAction(parsed =>
{
    try
    {
        return Run(parsed.GetValue(data)!.FullName, parsed.GetValue(label)!, parsed.GetValue(task), parsed.GetValue(epochs), parsed.GetValue(seed), parsed.GetValue(minMax));
    }
    catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
});
return command.Parse(args).Invoke();

static int Run(string path, string labelColumn, TabularTask task, int epochs, int seed, bool minMax)
{
    // The whole workflow: load, split, standardize, fit with early stopping, evaluate.
    var table = TabularData.LoadCsv(path, labelColumn, task);
    Describe(table);
    var (train, validation, test) = table.Split(validation: 0.15, test: 0.15, seed);
    var scale = minMax ? Standardization.FitMinMax(train) : Standardization.Fit(train);
    bool classes = table.Task == TabularTask.Classification;
    INetwork net = classes ? new TabularClassifier(maxBatch: 256, seed) : new TabularRegressor(maxBatch: 256, seed);
    float[] x = scale.Transform(train, net.InputSize), xValidation = scale.Transform(validation, net.InputSize), xTest = scale.Transform(test, net.InputSize);
    var options = new FitOptions { Epochs = epochs, BatchSize = 32, Patience = 25, Seed = seed, Schedule = LearningRateSchedule.ReduceOnPlateau(0.5f, patience: 8), OnEpoch = Progress };
    var (mean, deviation) = classes ? (0f, 1f) : Moments(train.Targets!);
    var history = classes
        ? net.Fit(new Adam(1e-3f), x, train.Labels!, xValidation, validation.Labels!, options)
        : net.Fit(new Adam(1e-3f), x, Scale(train.Targets!, mean, deviation), xValidation, Scale(validation.Targets!, mean, deviation), options);
    Console.WriteLine($"best epoch {history.BestEpoch} of {history.Epochs.Count}{(history.StoppedEarly ? " (stopped early)" : "")}; {train.Count} training, {validation.Count} validation, {test.Count} test rows");
    var outputs = new float[test.Count * net.OutputSize];
    Trainer.Predict(net, xTest, outputs);
    if (classes)
    {
        float[] logits = Logits(outputs, net.OutputSize, table.Classes.Count);
        Report(table.Classes, Metrics.ConfusionMatrix(logits, test.Labels, table.Classes.Count));
        Console.WriteLine($"test accuracy {Metrics.Accuracy(logits, test.Labels, table.Classes.Count):F4}");
    }
    else
    {
        for (int i = 0; i < outputs.Length; i++)
        {
            outputs[i] = outputs[i] * deviation + mean;
        }
        Console.WriteLine($"test rmse {Metrics.RootMeanSquaredError(outputs, test.Targets):G6}");
        Console.WriteLine($"test r2 {Metrics.RSquared(outputs, test.Targets):F4}");
    }
    return 0;
}

static void Describe(TabularData table)
{
    if (table.FeatureCount > TabularLimits.Features)
    {
        throw new InvalidDataException($"{table.Source}: {table.FeatureCount} features; this sample's networks take at most {TabularLimits.Features}.");
    }
    if (table.Task == TabularTask.Classification && table.Classes.Count > TabularLimits.Classes)
    {
        throw new InvalidDataException($"{table.Source}: {table.Classes.Count} classes in '{table.LabelName}'; this sample's classifier takes at most {TabularLimits.Classes} (use --task regression for a numeric label).");
    }
    Console.WriteLine($"{Path.GetFileName(table.Source)}: {table.Count} rows, {table.FeatureCount} features; label '{table.LabelName}': " +
        (table.Task == TabularTask.Classification ? $"{table.Classes.Count} classes ({string.Join(", ", table.Classes)})" : "regression"));
    if (table.Skipped.Count > 0 || table.RowsWithoutLabel > 0)
    {
        Console.WriteLine($"left out: columns [{string.Join(", ", table.Skipped)}] (text with more than {TabularData.MaximumCategories} values), {table.RowsWithoutLabel} rows without a label");
    }
}

static void Progress(EpochResult e)
{
    if (e.Epoch == 1 || e.Epoch % 25 == 0)
    {
        Console.WriteLine($"epoch {e.Epoch,4}: lr {e.LearningRate:G3}, training loss {e.TrainingLoss:F4}, validation loss {e.ValidationLoss:F4}, validation metric {e.ValidationMetric:F4}");
    }
}

// The test rows' confusion matrix (rows: the truth, columns: the prediction) and each class's precision, recall and F1.
static void Report(IReadOnlyList<string> names, int[] confusion)
{
    int classes = names.Count;
    var (precision, recall, f1) = Metrics.PrecisionRecallF1(confusion, classes);
    int width = Math.Max(6, names.Max(n => n.Length) + 1);
    Console.WriteLine("confusion (rows: truth, columns: predicted)  precision  recall  f1");
    for (int c = 0; c < classes; c++)
    {
        var row = string.Concat(Enumerable.Range(0, classes).Select(p => confusion[c * classes + p].ToString().PadLeft(5)));
        Console.WriteLine($"  {names[c].PadRight(width)}{row}  {precision[c],9:F3}  {recall[c],6:F3}  {f1[c]:F3}");
    }
}

static (float Mean, float Deviation) Moments(float[] values)
{
    var s = Standardization.Fit(values, values.Length, 1);
    return (s.Means[0], s.Deviations[0]);
}

static float[] Scale(float[] values, float mean, float deviation) => Array.ConvertAll(values, v => (v - mean) / deviation);

// The classifier has TabularLimits.Classes outputs; a table with fewer classes reads only its own.
static float[] Logits(float[] outputs, int width, int classes)
{
    int rows = outputs.Length / width;
    var result = new float[rows * classes];
    for (int i = 0; i < rows; i++)
    {
        outputs.AsSpan(i * width, classes).CopyTo(result.AsSpan(i * classes));
    }
    return result;
}

/// <summary>
/// The sizes the sample's networks are declared for (a generated network's sizes are constants): tables with fewer
/// features fill the rest of the input with zeros, which contribute nothing; classifiers with fewer classes use the
/// first outputs (labels never name the others, so training pushes them down).
/// </summary>
internal static class TabularLimits
{
    public const int Features = 256;
    public const int Classes = 32;
}

/// <summary>Two ReLU layers of 64 units and one logit per class.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(TabularLimits.Features)]
[Dense(64, Activation = Activation.Relu)]
[Dense(64, Activation = Activation.Relu)]
[Dense(TabularLimits.Classes)]
public partial class TabularClassifier;

/// <summary>Two ReLU layers of 64 units and one output (the standardized target).</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(TabularLimits.Features)]
[Dense(64, Activation = Activation.Relu)]
[Dense(64, Activation = Activation.Relu)]
[Dense(1)]
public partial class TabularRegressor;
