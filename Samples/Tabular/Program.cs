// Trains a classifier or a regression network on any CSV file with a header row: numeric feature columns (text columns
// with few values are one-hot encoded), one label column. It splits the rows 70/15/15 (stratified for classes), fits
// the features' scaling on the training rows into the network's Normalization layer, trains with validation and early
// stopping, evaluates on the held-out test rows, and with --save keeps the model with its table mapping in one file.
// The last line is `test accuracy 0.xxxx`, or `test rmse X` then `test r2 0.xxxx`.
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
var save = new Option<string?>("--save") { Description = "Save the model with its table mapping (classes, missing-value fills, scaling) to this file." };
var command = new RootCommand("Train and evaluate a network on a CSV file.") { data, label, task, epochs, seed, minMax, save };
command.SetAction(parsed =>
{
    try
    {
        return Run(parsed.GetValue(data)!.FullName, parsed.GetValue(label)!, parsed.GetValue(task), parsed.GetValue(epochs), parsed.GetValue(seed), parsed.GetValue(minMax), parsed.GetValue(save));
    }
    catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
});
return command.Parse(args).Invoke();

static int Run(string path, string labelColumn, TabularTask task, int epochs, int seed, bool minMax, string? save)
{
    var table = TabularData.LoadCsv(path, labelColumn, task);
    Describe(table);
    var (train, validation, test) = table.Split(validation: 0.15, test: 0.15, seed);
    INetwork net = table.Task == TabularTask.Classification ? new TabularClassifier(maxBatch: 256, seed) : new TabularRegressor(maxBatch: 256, seed);
    var model = TabularModel.Create(net, train, minMax);  // scaling, missing values, classes or target scale: from the training rows
    var history = model.Fit(new Adam(1e-3f), train, validation, new FitOptions
    {
        Epochs = epochs, Patience = 25, Seed = seed, Schedule = LearningRateSchedule.ReduceOnPlateau(0.5f, patience: 8), OnEpoch = Progress,
    });
    var result = model.Evaluate(test);
    if (save is not null)
    {
        model.Save(save);
    }
    Report(history, result, model.Classes);
    Console.WriteLine(result.IsClassification ? $"test accuracy {result.Accuracy:F4}" : $"test rmse {result.RootMeanSquaredError:G6}\ntest r2 {result.RSquared:F4}");
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

// How training went, and for classes the test rows' confusion matrix (rows: the truth, columns: the prediction) with each
// class's precision, recall and F1.
static void Report(FitHistory history, EvaluationMetrics test, IReadOnlyList<string> names)
{
    Console.WriteLine($"best epoch {history.BestEpoch} of {history.Epochs.Count}{(history.StoppedEarly ? " (stopped early)" : "")}; test {test}");
    if (!test.IsClassification)
    {
        return;
    }
    int classes = names.Count;
    var confusion = test.ConfusionMatrix!;
    int width = Math.Max(6, names.Max(n => n.Length) + 1);
    Console.WriteLine("confusion (rows: truth, columns: predicted)  precision  recall  f1");
    for (int c = 0; c < classes; c++)
    {
        var row = string.Concat(Enumerable.Range(0, classes).Select(p => confusion[c * classes + p].ToString().PadLeft(5)));
        Console.WriteLine($"  {names[c].PadRight(width)}{row}  {test.Precision![c],9:F3}  {test.Recall![c],6:F3}  {test.F1![c]:F3}");
    }
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

/// <summary>The features' scaling (fitted from the training rows), two ReLU layers of 64 units and one logit per class.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
[Input(TabularLimits.Features)]
[Normalization]
[Dense(64, Activation = Activation.Relu)]
[Dense(64, Activation = Activation.Relu)]
[Dense(TabularLimits.Classes)]
public partial class TabularClassifier;

/// <summary>The features' scaling, two ReLU layers of 64 units and one output (the standardized target).</summary>
[Network(Loss = Loss.MeanSquaredError)]
[Input(TabularLimits.Features)]
[Normalization]
[Dense(64, Activation = Activation.Relu)]
[Dense(64, Activation = Activation.Relu)]
[Dense(1)]
public partial class TabularRegressor;
