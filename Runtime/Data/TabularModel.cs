using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Backprop;

/// <summary>
/// A network trained on a table, with everything it needs to take that table's rows and give answers in its terms: the
/// feature names (one-hot columns included), the value that fills a missing feature (its training mean), the class
/// names of a text or integer label, or the scaling of a real target. The feature scaling is fitted on the training
/// rows only and written into the network's <c>[Normalization]</c> layer, so <c>Predict</c>, the model file and an ONNX
/// export all apply it. <see cref="Save"/> writes one safetensors file: the network's tensors, and this in its metadata.
/// </summary>
public sealed class TabularModel
{
    private const string Prefix = "tabular.";
    private readonly float[] _fill;

    private TabularModel(INetwork network, TabularTask task, string label, string[] features, string[] classes, float[] fill, float targetMean, float targetScale)
    {
        Network = network;
        Task = task;
        LabelName = label;
        FeatureNames = features;
        Classes = classes;
        _fill = fill;
        TargetMean = targetMean;
        TargetScale = targetScale;
    }

    /// <summary>
    /// Prepares <paramref name="network"/> for <paramref name="training"/>'s table: fits the feature scaling on its rows
    /// (standardization, or min-max into [0, 1]) into the network's normalization layer, the fill values of missing
    /// features, and for regression the target's mean and deviation (the network learns the standardized target; answers
    /// come back in the target's units).
    /// </summary>
    /// <param name="network">A network whose first layer is <c>[Normalization]</c>, with at least as many inputs as the table has features, and for classification at least as many outputs as classes (one output for regression).</param>
    /// <param name="training">The training rows (never the validation or test rows: their statistics must not leak in).</param>
    /// <param name="minMax">Scale features into [0, 1] by the training range instead of standardizing them.</param>
    /// <param name="normalizationLayer">The name of the network's normalization layer.</param>
    /// <exception cref="ArgumentException">The network does not fit the table (the message says how).</exception>
    public static TabularModel Create(INetwork network, TabularData training, bool minMax = false, string normalizationLayer = "normalization1")
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(training);
        Check(network, training.Task, training.FeatureCount, training.Classes.Count);
        var scaling = minMax ? Standardization.FitMinMax(training) : Standardization.Fit(training);
        scaling.WriteTo(network, normalizationLayer);
        float[] fill = scaling.MissingValues;
        float mean = 0, scale = 1;
        if (training.Task == TabularTask.Regression)
        {
            var target = Standardization.Fit(training.Targets!, training.Count, 1);
            (mean, scale) = (target.Means[0], target.Deviations[0]);
        }
        return new TabularModel(network, training.Task, training.LabelName, [.. training.FeatureNames], [.. training.Classes], fill, mean, scale);
    }

    /// <summary>The network (its normalization layer holds the feature scaling).</summary>
    public INetwork Network { get; }

    /// <summary>Classification or regression.</summary>
    public TabularTask Task { get; }

    /// <summary>The label column's name.</summary>
    public string LabelName { get; }

    /// <summary>The features in input order, as the table named them (<c>color=red</c> for one-hot columns).</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Classification: the class names, output <c>i</c> being class <c>Classes[i]</c>; empty for regression.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Regression: the training target's mean, added back to the network's output (after <see cref="TargetScale"/>).</summary>
    public float TargetMean { get; }

    /// <summary>Regression: the training target's standard deviation, the scale of the network's output.</summary>
    public float TargetScale { get; }

    /// <summary>
    /// Trains with <see cref="Fitting"/> on the training rows, validating on the validation rows (early stopping, the best
    /// epoch's model kept). Regression networks learn the standardized target.
    /// </summary>
    /// <exception cref="ArgumentException">A table's features differ from this model's.</exception>
    public FitHistory Fit(Optimizer optimizer, TabularData training, TabularData validation, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(validation);
        Labelled(training);
        Labelled(validation);
        return Task == TabularTask.Classification
            ? Network.Fit(optimizer, Inputs(training), training.Labels!, Inputs(validation), validation.Labels!, options)
            : Network.Fit(optimizer, Inputs(training), Scaled(training.Targets!), Inputs(validation), Scaled(validation.Targets!), options);
    }

    /// <summary>
    /// The model's figures on labelled rows (a held-out test split): accuracy, confusion matrix and per-class precision,
    /// recall and F1 over this table's classes; or MAE, RMSE and R² in the target's units (the loss is then the mean
    /// squared error in those units).
    /// </summary>
    public EvaluationMetrics Evaluate(TabularData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Labelled(data);
        float[] inputs = Inputs(data);
        if (Task == TabularTask.Classification)
        {
            var outputs = new float[data.Count * Network.OutputSize];
            Trainer.Predict(Network, inputs, outputs);
            var scores = Scores(outputs, data.Count);
            float loss = Evaluation.Evaluate(Network, inputs, data.Labels!, outputs).Loss;
            return new EvaluationMetrics(data.Count, loss, Classes.Count, Metrics.ConfusionMatrix(scores, data.Labels, Classes.Count), float.NaN, float.NaN, float.NaN);
        }
        float[] predictions = PredictValues(data);
        float rmse = Metrics.RootMeanSquaredError(predictions, data.Targets);
        return new EvaluationMetrics(data.Count, rmse * rmse, 0, null, Metrics.MeanAbsoluteError(predictions, data.Targets), rmse, Metrics.RSquared(predictions, data.Targets));
    }

    /// <summary>
    /// Reads a CSV file with a header row in this model's encoding, for predictions or an evaluation on new data: each
    /// feature from its column (one-hot features from their text column; a value the training rows did not have, like a
    /// missing one, sets none of them), the label, if the file has that column, mapped onto this model's classes. A file
    /// without the label column gives rows to predict.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A feature's column is missing, a numeric feature holds text, a label is not one of the classes, or a row is malformed.</exception>
    public TabularData LoadCsv(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }
        return TabularData.LoadCsv(path, LabelName, Task, FeatureNames, Classes);
    }

    /// <summary>Classification: each row's class name (the largest output among this table's classes).</summary>
    public string[] PredictClasses(TabularData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Task != TabularTask.Classification)
        {
            throw new InvalidOperationException($"The model predicts '{LabelName}' as a number (regression): use PredictValues.");
        }
        var outputs = new float[data.Count * Network.OutputSize];
        Trainer.Predict(Network, Inputs(data), outputs);
        var scores = Scores(outputs, data.Count);
        var names = new string[data.Count];
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = Classes[Metrics.ArgMax(scores.AsSpan(i * Classes.Count, Classes.Count), "TabularModel", i)];
        }
        return names;
    }

    /// <summary>Regression: each row's prediction in the target's units.</summary>
    public float[] PredictValues(TabularData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (Task != TabularTask.Regression)
        {
            throw new InvalidOperationException($"The model predicts '{LabelName}' as a class: use PredictClasses.");
        }
        var outputs = new float[data.Count];
        Trainer.Predict(Network, Inputs(data), outputs);
        for (int i = 0; i < outputs.Length; i++)
        {
            outputs[i] = outputs[i] * TargetScale + TargetMean;
        }
        return outputs;
    }

    /// <summary>
    /// The network's input rows for a table with this model's features: missing values filled with the training mean,
    /// padded with zeros up to the network's input size (the normalization layer scales them).
    /// </summary>
    /// <exception cref="ArgumentException">The table's features differ from the model's (names and order).</exception>
    public float[] Inputs(TabularData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.FeatureNames.SequenceEqual(FeatureNames))
        {
            throw new ArgumentException(
                $"{data.Source} has the features [{string.Join(", ", data.FeatureNames)}]; the model was trained on [{string.Join(", ", FeatureNames)}].", nameof(data));
        }
        if (data.Task != Task || !data.Classes.SequenceEqual(Classes))
        {
            // Labels are class indices into the table's own Classes: another list would renumber them silently.
            throw new ArgumentException(data.Task != Task
                ? $"{data.Source}'s label '{data.LabelName}' was read for {data.Task}; the model does {Task} (load it with the task given)."
                : $"{data.Source} has the classes [{string.Join(", ", data.Classes)}]; the model's are [{string.Join(", ", Classes)}] (split one table, or load with the same classes).", nameof(data));
        }
        int width = FeatureNames.Count, size = Network.InputSize;
        var inputs = new float[data.Count * size];
        for (int row = 0; row < data.Count; row++)
        {
            for (int f = 0; f < width; f++)
            {
                float value = data.Features[row * width + f];
                inputs[row * size + f] = float.IsNaN(value) ? _fill[f] : value;
            }
        }
        return inputs;
    }

    /// <summary>Writes the network and this model's table mapping as one safetensors file, atomically.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var model = new MemoryStream();
        Network.Save(model);
        model.Position = 0;
        var file = SafeTensorsFile.Read(model);
        var metadata = new Dictionary<string, string>(file.Metadata, StringComparer.Ordinal)
        {
            [Prefix + "task"] = Task.ToString(),
            [Prefix + "label"] = LabelName,
            [Prefix + "features"] = JsonSerializer.Serialize(FeatureNames.ToArray(), TabularJson.Default.StringArray),
            [Prefix + "classes"] = JsonSerializer.Serialize(Classes.ToArray(), TabularJson.Default.StringArray),
            [Prefix + "fill"] = string.Join(",", _fill.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
            [Prefix + "target"] = string.Create(CultureInfo.InvariantCulture, $"{TargetMean:R},{TargetScale:R}"),
        };
        ModelFile.WriteAtomically(path, Network.GetType().Name, stream => file.Write(stream, metadata));
    }

    /// <summary>
    /// Reads a file written by <see cref="Save"/> into <paramref name="network"/> (of the architecture it was saved from)
    /// and returns the model with its table mapping; on any error the network is left as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a tabular model of this network, or is damaged.</exception>
    public static TabularModel Load(string path, INetwork network)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(network);
        IReadOnlyDictionary<string, string> metadata;
        using (var stream = File.OpenRead(path))
        {
            metadata = SafeTensorsFile.ReadHeader(stream, SafeTensorsFile.DefaultMaxHeaderBytes).Metadata;
        }
        string Meta(string key) => metadata.TryGetValue(Prefix + key, out string? value)
            ? value
            : throw new InvalidDataException($"{path} has no '{Prefix}{key}' metadata: it is not a model saved by TabularModel.Save.");
        TabularModel model;
        try
        {
            var task = Enum.Parse<TabularTask>(Meta("task"));
            var features = JsonSerializer.Deserialize(Meta("features"), TabularJson.Default.StringArray) ?? [];
            var classes = JsonSerializer.Deserialize(Meta("classes"), TabularJson.Default.StringArray) ?? [];
            var fill = Meta("fill").Length == 0 ? [] : Meta("fill").Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var target = Meta("target").Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (task is not (TabularTask.Classification or TabularTask.Regression) || fill.Length != features.Length || target.Length != 2
                || (task == TabularTask.Classification) != (classes.Length > 0)
                || fill.Any(v => !float.IsFinite(v)) || !float.IsFinite(target[0]) || !(target[1] > 0 && float.IsFinite(target[1])))
            {
                throw new FormatException("the values do not fit together");
            }
            Check(network, task, features.Length, classes.Length);
            model = new TabularModel(network, task, Meta("label"), features, classes, fill, target[0], target[1]);
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"{path}: its table mapping is unreadable or does not fit {network.GetType().Name} ({e.Message}).", e);
        }
        network.Load(path);
        return model;
    }

    /// <summary>This table's classes' outputs of each row (the network may have more outputs than the table has classes).</summary>
    private float[] Scores(float[] outputs, int rows)
    {
        int width = Network.OutputSize, classes = Classes.Count;
        if (classes == width)
        {
            return outputs;
        }
        var scores = new float[rows * classes];
        for (int i = 0; i < rows; i++)
        {
            outputs.AsSpan(i * width, classes).CopyTo(scores.AsSpan(i * classes));
        }
        return scores;
    }

    /// <summary>Refuses rows without labels or targets (a file read without its label column) where they are needed.</summary>
    private void Labelled(TabularData data)
    {
        if (data.Labels is null && data.Targets is null)
        {
            throw new ArgumentException($"{data.Source} has no '{LabelName}' column: its rows can be predicted (PredictClasses, PredictValues), not trained on or evaluated.", nameof(data));
        }
    }

    private float[] Scaled(float[] targets) => Array.ConvertAll(targets, v => (v - TargetMean) / TargetScale);

    private static void Check(INetwork network, TabularTask task, int features, int classes)
    {
        string name = network.GetType().Name;
        if (network.InputSize < features)
        {
            throw new ArgumentException($"{name} takes {network.InputSize} inputs; the table has {features} features.", nameof(network));
        }
        if (task == TabularTask.Classification && (network.Loss != Loss.SoftmaxCrossEntropy || network.OutputSize < classes))
        {
            throw new ArgumentException($"{name} cannot classify {classes} classes: it needs SoftmaxCrossEntropy and at least {classes} outputs (it has {network.Loss}, {network.OutputSize}).", nameof(network));
        }
        if (task == TabularTask.Regression && (network.Loss != Loss.MeanSquaredError || network.OutputSize != 1))
        {
            throw new ArgumentException($"{name} cannot predict one number: it needs MeanSquaredError and one output (it has {network.Loss}, {network.OutputSize}).", nameof(network));
        }
    }
}

/// <summary>Source-generated JSON for the model's metadata (no reflection: NativeAOT-safe).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class TabularJson : System.Text.Json.Serialization.JsonSerializerContext;
