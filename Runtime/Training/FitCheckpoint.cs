using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Hashing;
using System.Linq;
using System.Runtime.InteropServices;

namespace Backprop;

/// <summary>
/// Where <see cref="Fitting"/> stands: the epoch under way and its steps done, the best epoch so far and its model, the
/// history. With the network, the optimizer and the schedule, what a checkpoint holds.
/// </summary>
internal sealed class FitState
{
    /// <summary>The epoch under way or next (1-based).</summary>
    public int Epoch = 1;

    /// <summary>Steps of <see cref="Epoch"/> already taken (0 at its start).</summary>
    public int StepsDone;

    /// <summary>The sum of those steps' losses.</summary>
    public double EpochTotal;

    public float LastLoss = float.NaN;
    public float BestLoss = float.PositiveInfinity;
    public int BestEpoch;
    public int SinceBest;
    public bool StoppedEarly;
    public float InitialRate;
    public List<EpochResult> History = [];

    /// <summary>The best epoch's model as <c>Save</c> wrote it (empty before the first epoch ends).</summary>
    public MemoryStream Best = new();
}

/// <summary>
/// The checkpoint file of <see cref="Fitting"/>: one safetensors file, written atomically, holding the model as it is
/// (tensors, running statistics, counters), the best epoch's model, the optimizer's state (PyTorch's names:
/// <c>optimizer/exp_avg</c> …, and its step count), the schedule's state, the training-pass count Dropout draws from and
/// where the run stands (the run's settings, frozen tensors included, and a checksum of its data are compared on resume), under an XxHash64 checksum of the data. Reading checks everything (format,
/// checksum, network, optimizer, the run's settings and data) before anything changes.
/// </summary>
internal static class FitCheckpoint
{
    public const string Format = "backprop.gen.checkpoint";
    public const string FormatVersion = "1";
    private const int HistoryColumns = 6;

    /// <summary>Writes the checkpoint atomically (temporary file, flush, rename).</summary>
    public static void Write(string path, INetwork network, Optimizer optimizer, LearningRateSchedule? schedule, ImageAugmentation? augmentation, FitState state, string settings, string data)
    {
        var floats = new List<(string Name, int[] Shape, float[] Values)>();
        var integers = new List<KeyValuePair<string, long>>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion,
            ["network"] = network.GetType().Name,
            ["optimizer"] = optimizer.GetType().Name,
            ["settings"] = settings,
            ["data"] = data,
        };
        var current = new MemoryStream();
        network.Save(current);
        AddModel("model", current, floats, integers, metadata);
        if (state.BestEpoch > 0)
        {
            AddModel("best", state.Best, floats, integers, metadata);
        }

        integers.Add(new("optimizer/step", optimizer.StepCount));
        integers.Add(new("optimizer/length", optimizer.StateBlockLength));
        if (optimizer.StateBlockLength >= 0)
        {
            foreach (string name in optimizer.CheckpointNames)
            {
                floats.Add(("optimizer/" + name, [optimizer.StateBlockLength], optimizer.CheckpointState(name).ToArray()));
            }
        }
        if (schedule?.SaveState() is { Length: > 0 } scheduleState)
        {
            floats.Add(("fit/schedule", [scheduleState.Length], scheduleState));
        }
        integers.Add(new("fit/epoch", state.Epoch));
        integers.Add(new("fit/steps", state.StepsDone));
        integers.Add(new("fit/epoch_total", BitConverter.DoubleToInt64Bits(state.EpochTotal)));
        integers.Add(new("fit/best_epoch", state.BestEpoch));
        integers.Add(new("fit/since_best", state.SinceBest));
        integers.Add(new("fit/stopped_early", state.StoppedEarly ? 1 : 0));
        integers.Add(new("fit/training_passes", network.TrainingPasses));
        integers.Add(new("fit/augmented_batches", augmentation?.BatchesTransformed ?? 0));
        floats.Add(("fit/losses", [4], [state.LastLoss, state.BestLoss, state.InitialRate, optimizer.LearningRate]));
        if (state.History.Count > 0)
        {
            var history = new float[state.History.Count * HistoryColumns];
            for (int i = 0; i < state.History.Count; i++)
            {
                var e = state.History[i];
                ReadOnlySpan<float> row = [e.Epoch, e.TrainingLoss, e.ValidationLoss, e.ValidationMetric, (float)e.Seconds, e.LearningRate];
                row.CopyTo(history.AsSpan(i * HistoryColumns, HistoryColumns));
            }
            floats.Add(("fit/history", [state.History.Count, HistoryColumns], history));
            int width = MetricsWidth(network);
            foreach (var (name, part) in width == 0 ? [] : new (string, Func<EpochResult, EvaluationMetrics?>)[] { ("validation", e => e.Validation), ("training", e => e.Training) })
            {
                var rows = new float[checked(state.History.Count * width)];
                for (int i = 0; i < state.History.Count; i++)
                {
                    WriteMetrics(part(state.History[i]), rows.AsSpan(i * width, width));
                }
                floats.Add(("fit/metrics/" + name, [state.History.Count, width], rows));
            }
        }

        // The data section as it will be on disk: the integers' words first (8-byte aligned), then the floats.
        int start = 2 * integers.Count;
        var values = new float[start + floats.Sum(f => f.Values.Length)];
        for (int i = 0; i < integers.Count; i++)
        {
            values[2 * i] = BitConverter.Int32BitsToSingle((int)integers[i].Value);
            values[2 * i + 1] = BitConverter.Int32BitsToSingle((int)(integers[i].Value >> 32));
        }
        int offset = start;
        foreach (var (_, _, tensor) in floats)
        {
            tensor.CopyTo(values, offset);
            offset += tensor.Length;
        }
        var infos = floats.Select(f => new TensorInfo(f.Name, f.Shape)).ToArray();
        var layout = integers.Select(pair => new TensorInfo(pair.Key, [])).Concat(infos).ToList();
        var types = integers.Select(_ => SafeTensorsFile.Int64).Concat(infos.Select(_ => SafeTensorsFile.Float32)).ToList();
        var offsets = new List<long>();
        long at = 0;
        for (int i = 0; i < layout.Count; i++)
        {
            offsets.Add(at);
            at += types[i] == SafeTensorsFile.Int64 ? sizeof(long) : (long)layout[i].Length * sizeof(float);
        }
        metadata["checksum"] = Checksum(metadata, layout, offsets, types, values);
        ModelFile.WriteAtomically(path, network.GetType().Name + "'s checkpoint",
            stream => SafeTensorsFile.Write(stream, infos, values.AsSpan(start), metadata, integers));
    }

    /// <summary>A model file's tensors under <paramref name="prefix"/>/, its metadata under <paramref name="prefix"/>.</summary>
    private static void AddModel(string prefix, MemoryStream model, List<(string, int[], float[])> floats, List<KeyValuePair<string, long>> integers, Dictionary<string, string> metadata)
    {
        model.Position = 0;
        var file = SafeTensorsFile.Read(model);
        foreach (var (key, value) in file.Metadata)
        {
            metadata[prefix + "." + key] = value;
        }
        foreach (var tensor in file.Tensors)
        {
            if (file.DType(tensor.Name) == SafeTensorsFile.Int64)
            {
                integers.Add(new(prefix + "/" + tensor.Name, file.GetInt64(tensor.Name)[0]));
            }
            else
            {
                floats.Add((prefix + "/" + tensor.Name, tensor.Shape.ToArray(), file.Get(tensor.Name).ToArray()));
            }
        }
    }

    /// <summary>
    /// Reads a checkpoint into the network, the optimizer, the schedule and <paramref name="state"/>, after checking all
    /// of it: a truncated, corrupt or foreign file, or one written by a run with other settings or data, changes nothing.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint of this run; the message says why.</exception>
    public static void Read(string path, INetwork network, Optimizer optimizer, LearningRateSchedule? schedule, ImageAugmentation? augmentation, string settings, string data, FitState state)
    {
        Exception Invalid(string why) => new InvalidDataException($"{path}: {why} Nothing was changed; delete the file to start over.");

        Dictionary<string, string> metadata;
        List<TensorInfo> tensors;
        List<long> offsets;
        List<string> types;
        float[] raw;
        using (var stream = File.OpenRead(path))
        {
            long dataBytes;
            try
            {
                (metadata, tensors, offsets, types, dataBytes) = SafeTensorsFile.ReadHeader(stream, SafeTensorsFile.DefaultMaxHeaderBytes);
                raw = SafeTensorsFile.ReadData(stream, dataBytes);
            }
            catch (InvalidDataException e)
            {
                throw Invalid($"not a readable checkpoint ({e.Message})");
            }
        }
        string Meta(string key) => metadata.TryGetValue(key, out string? value) ? value : throw Invalid($"the '{key}' metadata is missing; it is not a Backprop.Gen checkpoint.");
        if (Meta("format") != Format || Meta("format_version") != FormatVersion)
        {
            throw Invalid($"its format is '{Meta("format")}' version {Meta("format_version")}; checkpoints are '{Format}' version {FormatVersion}.");
        }
        string checksum = Checksum(metadata, tensors, offsets, types, raw);
        if (Meta("checksum") != checksum)
        {
            throw Invalid($"the file is corrupt: its checksum is {checksum}, but the metadata records {Meta("checksum")}.");
        }
        if (Meta("network") != network.GetType().Name)
        {
            throw Invalid($"it is a checkpoint of {Meta("network")}, not of {network.GetType().Name}.");
        }
        if (Meta("optimizer") != optimizer.GetType().Name)
        {
            throw Invalid($"it was written with {Meta("optimizer")}; this run's optimizer is {optimizer.GetType().Name}.");
        }
        if (Meta("settings") != settings)
        {
            throw Invalid($"it was written by a run with {Meta("settings")}; this run has {settings}. Resume with the same settings.");
        }
        if (Meta("data") != data)
        {
            throw Invalid("it was written by a run on other data (the training and validation rows' checksum differs).");
        }

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tensors.Count; i++)
        {
            index[tensors[i].Name] = i;
        }
        long Integer(string name)
        {
            if (!index.TryGetValue(name, out int i) || types[i] != SafeTensorsFile.Int64 || tensors[i].Length != 1)
            {
                throw Invalid($"the I64 scalar '{name}' is missing.");
            }
            return SafeTensorsFile.ReadInt64(raw, (int)(offsets[i] / sizeof(float)));
        }
        float[]? Floats(string name, params int[] shape)
        {
            if (!index.TryGetValue(name, out int i))
            {
                return null;
            }
            if (types[i] != SafeTensorsFile.Float32 || !tensors[i].Shape.SequenceEqual(shape))
            {
                throw Invalid($"'{name}' is {types[i]} [{string.Join(", ", tensors[i].Shape)}]; F32 [{string.Join(", ", shape)}] expected.");
            }
            return raw.AsSpan((int)(offsets[i] / sizeof(float)), tensors[i].Length).ToArray();
        }

        long epoch = Integer("fit/epoch"), steps = Integer("fit/steps"), bestEpoch = Integer("fit/best_epoch"), sinceBest = Integer("fit/since_best");
        long stopped = Integer("fit/stopped_early"), passes = Integer("fit/training_passes"), step = Integer("optimizer/step"), length = Integer("optimizer/length");
        long augmented = Integer("fit/augmented_batches");
        double epochTotal = BitConverter.Int64BitsToDouble(Integer("fit/epoch_total"));
        if (epoch < 1 || epoch > int.MaxValue || steps < 0 || steps > int.MaxValue || bestEpoch < 0 || bestEpoch >= epoch || sinceBest < 0 || sinceBest >= epoch
            || stopped is not (0 or 1) || passes < 0 || augmented < 0 || step < 0 || (length != -1 && length != network.ParameterCount) || double.IsNaN(epochTotal))
        {
            throw Invalid("its run state is out of range (epoch, steps, best epoch, counts or the optimizer's length).");
        }
        var losses = Floats("fit/losses", 4) ?? throw Invalid("'fit/losses' is missing.");
        var history = epoch > 1 ? Floats("fit/history", (int)epoch - 1, HistoryColumns) ?? throw Invalid("'fit/history' is missing.") : [];
        int width = MetricsWidth(network);
        var validationMetrics = epoch > 1 && width > 0 ? Floats("fit/metrics/validation", (int)epoch - 1, width) : null;
        var trainingMetrics = epoch > 1 && width > 0 ? Floats("fit/metrics/training", (int)epoch - 1, width) : null;
        var restoredMetrics = new List<(EvaluationMetrics? Validation, EvaluationMetrics? Training)>();
        for (int i = 0; i < epoch - 1; i++)
        {
            if (!ReadMetrics(validationMetrics, i, width, network, out var validated) || !ReadMetrics(trainingMetrics, i, width, network, out var trained))
            {
                throw Invalid($"the detailed metrics of epoch {i + 1} are out of range.");
            }
            restoredMetrics.Add((validated, trained));
        }
        var optimizerState = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (length >= 0)
        {
            foreach (string name in optimizer.CheckpointNames)
            {
                optimizerState[name] = Floats("optimizer/" + name, (int)length) ?? throw Invalid($"the optimizer state 'optimizer/{name}' is missing.");
            }
        }
        if (optimizer.BoundNetwork is { } bound && !ReferenceEquals(bound, network))
        {
            throw Invalid($"the optimizer steps another network ({bound.GetType().Name}); give this run a fresh optimizer, or Detach it first.");
        }
        if (optimizer.StateBlockLength >= 0 && optimizer.StateBlockLength != network.ParameterCount)
        {
            throw Invalid($"the optimizer holds state for {optimizer.StateBlockLength} parameters, not this network's {network.ParameterCount}.");
        }
        float[] scheduleState = index.ContainsKey("fit/schedule") ? Floats("fit/schedule", tensors[index["fit/schedule"]].Shape.ToArray())! : [];
        if (!(schedule?.RestoreState(scheduleState, apply: false) ?? scheduleState.Length == 0))
        {
            throw Invalid("its schedule state does not fit this run's schedule.");
        }
        if (!(losses[2] >= 0 && float.IsFinite(losses[2]) && losses[3] >= 0 && float.IsFinite(losses[3])))
        {
            throw Invalid("its learning rates are not finite numbers >= 0.");
        }
        var model = Rebuild("model", metadata, tensors, offsets, types, raw) ?? throw Invalid("it holds no model.");
        var best = bestEpoch > 0 ? Rebuild("best", metadata, tensors, offsets, types, raw) ?? throw Invalid("it holds no best model.") : new MemoryStream();

        // Everything checked. The schedule first (a schedule of the user's own may still fail to apply its state: then
        // it gets its own state back), then the model: Load checks the architecture and changes nothing if it fails.
        float[] previousSchedule = schedule?.SaveState() ?? [];
        if (schedule is not null && !ApplySchedule(schedule, scheduleState))
        {
            ApplySchedule(schedule, previousSchedule);
            throw Invalid("its schedule state was accepted by the schedule's check but not applied.");
        }
        try
        {
            network.Load(model);
        }
        catch (InvalidDataException e)
        {
            if (schedule is not null)
            {
                ApplySchedule(schedule, previousSchedule);
            }
            throw Invalid($"its model does not load: {e.Message}");
        }
        network.TrainingPasses = passes;
        if (augmentation is not null)
        {
            augmentation.BatchesTransformed = augmented;
        }
        optimizer.RestoreState((int)length, step, name => optimizerState[name]);
        optimizer.LearningRate = losses[3];

        state.Epoch = (int)epoch;
        state.StepsDone = (int)steps;
        state.EpochTotal = epochTotal;
        state.LastLoss = losses[0];
        state.BestLoss = losses[1];
        state.InitialRate = losses[2];
        state.BestEpoch = (int)bestEpoch;
        state.SinceBest = (int)sinceBest;
        state.StoppedEarly = stopped == 1;
        state.Best = best;
        state.History = [];
        for (int i = 0; i < epoch - 1; i++)
        {
            var row = history.AsSpan(i * HistoryColumns, HistoryColumns);
            state.History.Add(new EpochResult((int)row[0], row[1], row[2], row[3], row[4], row[5])
            {
                Validation = restoredMetrics[i].Validation,
                Training = restoredMetrics[i].Training,
            });
        }
    }

    /// <summary>Puts a schedule's state back; false if its <see cref="LearningRateSchedule.RestoreState"/> refuses or throws.</summary>
    private static bool ApplySchedule(LearningRateSchedule schedule, float[] state)
    {
        try
        {
            return schedule.RestoreState(state, apply: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>
    /// The floats of one epoch's <see cref="EvaluationMetrics"/> in a checkpoint: present (1 or 0), rows, loss, classes,
    /// MAE, RMSE, R², then a classifier's confusion matrix (its counts are exact in a float up to 2^24 rows; larger
    /// evaluations are not kept). The precision, recall and F1 follow from the matrix. 0 (no detailed metrics kept) above
    /// <see cref="MaximumKeptClasses"/> classes, where the matrices of every epoch would outweigh the model.
    /// </summary>
    private static int MetricsWidth(INetwork network)
        => network.Loss != Loss.SoftmaxCrossEntropy ? 7 : network.OutputSize <= MaximumKeptClasses ? 7 + network.OutputSize * network.OutputSize : 0;

    /// <summary>The most classes whose confusion matrices a checkpoint keeps for every epoch (256 × 256 floats each).</summary>
    internal const int MaximumKeptClasses = 256;

    private static void WriteMetrics(EvaluationMetrics? metrics, Span<float> row)
    {
        row.Clear();
        if (metrics is null || metrics.Rows > 1 << 24 || 7 + (metrics.ConfusionMatrix?.Count ?? 0) != row.Length)
        {
            return;
        }
        row[0] = 1;
        row[1] = metrics.Rows;
        row[2] = metrics.Loss;
        row[3] = metrics.Classes;
        row[4] = metrics.MeanAbsoluteError;
        row[5] = metrics.RootMeanSquaredError;
        row[6] = metrics.RSquared;
        for (int i = 0; i < (metrics.ConfusionMatrix?.Count ?? 0); i++)
        {
            row[7 + i] = metrics.ConfusionMatrix![i];
        }
    }

    /// <summary>Epoch <paramref name="epoch"/>'s metrics from <paramref name="rows"/> (null when absent); false when they are out of range.</summary>
    private static bool ReadMetrics(float[]? rows, int epoch, int width, INetwork network, out EvaluationMetrics? metrics)
    {
        metrics = null;
        if (rows is null)
        {
            return true;
        }
        var row = rows.AsSpan(epoch * width, width);
        if (row[0] == 0)
        {
            // Absent: the row is all zeros as written (a Fit run without the training sample, or a huge evaluation).
            return row.IndexOfAnyExcept(0f) < 0;
        }
        static bool Count(float value) => value >= 0 && value <= 1 << 24 && value == MathF.Floor(value);
        static bool Error(float value) => float.IsNaN(value) || value >= 0;
        int classes = width - 7 == 0 ? 0 : network.OutputSize;
        if (row[0] != 1 || !Count(row[1]) || row[3] != classes || float.IsNaN(row[2])
            || (classes > 0
                ? !(float.IsNaN(row[4]) && float.IsNaN(row[5]) && float.IsNaN(row[6]))
                : !(Error(row[4]) && Error(row[5]) && (float.IsNaN(row[6]) || row[6] <= 1))))
        {
            return false;
        }
        int[]? confusion = null;
        if (classes > 0)
        {
            confusion = new int[classes * classes];
            long total = 0;
            for (int i = 0; i < confusion.Length; i++)
            {
                if (!Count(row[7 + i]))
                {
                    return false;
                }
                confusion[i] = (int)row[7 + i];
                total += confusion[i];
            }
            if (total != (long)row[1])
            {
                return false;
            }
        }
        metrics = new EvaluationMetrics((int)row[1], row[2], classes, confusion, row[4], row[5], row[6]);
        return true;
    }

    /// <summary>The model file stored under <paramref name="prefix"/>, rebuilt byte for byte in its data (so its checksum holds); null if absent.</summary>
    private static MemoryStream? Rebuild(string prefix, Dictionary<string, string> metadata, List<TensorInfo> tensors, List<long> offsets, List<string> types, float[] raw)
    {
        var counters = new List<KeyValuePair<string, long>>();
        var floats = new List<TensorInfo>();
        var values = new List<float>();
        for (int i = 0; i < tensors.Count; i++)
        {
            if (!tensors[i].Name.StartsWith(prefix + "/", StringComparison.Ordinal))
            {
                continue;
            }
            string name = tensors[i].Name[(prefix.Length + 1)..];
            int word = (int)(offsets[i] / sizeof(float));
            if (types[i] == SafeTensorsFile.Int64)
            {
                counters.Add(new(name, SafeTensorsFile.ReadInt64(raw, word)));
            }
            else
            {
                floats.Add(new TensorInfo(name, tensors[i].Shape));
                values.AddRange(raw.AsSpan(word, tensors[i].Length));
            }
        }
        if (floats.Count == 0)
        {
            return null;
        }
        var inner = metadata.Where(pair => pair.Key.StartsWith(prefix + ".", StringComparison.Ordinal))
            .ToDictionary(pair => pair.Key[(prefix.Length + 1)..], pair => pair.Value, StringComparer.Ordinal);
        var stream = new MemoryStream();
        SafeTensorsFile.Write(stream, floats, CollectionsMarshal.AsSpan(values), inner, counters);
        stream.Position = 0;
        return stream;
    }

    /// <summary>
    /// The checksum of a checkpoint: XxHash64 over its metadata (but the checksum itself), every tensor's name, dtype,
    /// shape and offsets in data order, and the data; so a flipped bit anywhere that keeps the header readable is caught.
    /// </summary>
    internal static string Checksum(Dictionary<string, string> metadata, IReadOnlyList<TensorInfo> tensors, IReadOnlyList<long> offsets, IReadOnlyList<string> types, float[] data)
    {
        var description = new System.Text.StringBuilder();
        foreach (var (key, value) in metadata.Where(pair => pair.Key != "checksum").OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            description.Append(key.Length).Append(':').Append(key).Append('=').Append(value.Length).Append(':').Append(value).Append('\n');
        }
        for (int i = 0; i < tensors.Count; i++)
        {
            description.Append(tensors[i].Name.Length).Append(':').Append(tensors[i].Name).Append(' ').Append(types[i])
                .Append(" [").Append(string.Join(",", tensors[i].Shape)).Append("] @").Append(offsets[i]).Append('\n');
        }
        var hash = new XxHash64();
        hash.Append(System.Text.Encoding.UTF8.GetBytes(description.ToString()));
        hash.Append(MemoryMarshal.AsBytes(data.AsSpan()));
        return "xxh64:" + hash.GetCurrentHashAsUInt64().ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>The checksum of a run's data (training and validation rows, labels or targets): a resumed run must train on the same.</summary>
    public static string DataChecksum(float[] inputs, int[]? labels, float[]? targets, float[] validationInputs, int[]? validationLabels, float[]? validationTargets)
    {
        var hash = new XxHash64();
        hash.Append(MemoryMarshal.AsBytes(inputs.AsSpan()));
        hash.Append(labels is not null ? MemoryMarshal.AsBytes(labels.AsSpan()) : MemoryMarshal.AsBytes(targets.AsSpan()));
        hash.Append(MemoryMarshal.AsBytes(validationInputs.AsSpan()));
        hash.Append(validationLabels is not null ? MemoryMarshal.AsBytes(validationLabels.AsSpan()) : MemoryMarshal.AsBytes(validationTargets.AsSpan()));
        return "xxh64:" + hash.GetCurrentHashAsUInt64().ToString("x16", CultureInfo.InvariantCulture);
    }
}
