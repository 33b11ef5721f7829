using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Fit's checkpoints: a run stopped after an epoch or in the middle of one and resumed from its checkpoint ends with the
/// weights, history and best epoch of the uninterrupted run, bit for bit; a damaged, foreign or mismatched checkpoint
/// is refused with a clear error and changes nothing.
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("backprop-checkpoint").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static (float[] X, int[] Y) Classification(int rows, int seed)
    {
        var random = new Random(seed);
        var x = TestData.Uniform(random, rows * 8);
        var y = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            y[i] = (x[i * 8] + x[i * 8 + 1] > 0 ? 1 : 0) + (x[i * 8 + 2] > 0.5f ? 1 : 0);
        }
        return (x, y);
    }

    private static (float[] X, float[] Y) Regression(int rows, int seed)
    {
        var random = new Random(seed);
        var x = TestData.Uniform(random, rows * 20);
        var y = new float[rows * 4];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = MathF.Sin(x[(i / 4) * 20 + i % 4]) + 0.1f * x[(i / 4) * 20 + 10];
        }
        return (x, y);
    }

    private static Dictionary<string, float[]> Tensors(INetwork network) => network.Tensors.ToDictionary(t => t.Name, t =>
    {
        var values = new float[t.Length];
        network.CopyTensor(t.Name, values);
        return values;
    });

    private static void AssertSameModel(INetwork expected, INetwork actual)
    {
        var want = Tensors(expected);
        foreach (var (name, values) in Tensors(actual))
        {
            Bitwise.AssertEqual(want[name], values);
        }
        Assert.Equal(expected.TrainingPasses, actual.TrainingPasses);
    }

    private static void AssertSameHistory(FitHistory expected, FitHistory actual)
    {
        Assert.Equal(expected.BestEpoch, actual.BestEpoch);
        Assert.Equal(expected.StoppedEarly, actual.StoppedEarly);
        Assert.Equal(expected.Epochs.Select(e => (e.Epoch, e.TrainingLoss, e.ValidationLoss, e.ValidationMetric, e.LearningRate)),
            actual.Epochs.Select(e => (e.Epoch, e.TrainingLoss, e.ValidationLoss, e.ValidationMetric, e.LearningRate)));
        // The detailed figures too, for the epochs before the cut (read back from the checkpoint) as for those after.
        Assert.Equal(expected.Epochs.Select(e => Figures(e.Validation)), actual.Epochs.Select(e => Figures(e.Validation)));
        Assert.Equal(expected.Epochs.Select(e => Figures(e.Training)), actual.Epochs.Select(e => Figures(e.Training)));
    }

    private static string Figures(EvaluationMetrics? metrics) => metrics is null ? "none" : string.Join(" ",
        metrics.Rows, metrics.Loss.ToString("R"), metrics.Classes, metrics.Accuracy.ToString("R"), metrics.MacroF1.ToString("R"),
        metrics.MeanAbsoluteError.ToString("R"), metrics.RootMeanSquaredError.ToString("R"), metrics.RSquared.ToString("R"),
        string.Join(",", metrics.ConfusionMatrix ?? []), string.Join(",", metrics.Precision ?? []));

    public enum Stop { AfterEpoch, MidEpoch }

    /// <summary>
    /// The detailed metrics rows are checked on resume like the rest: a row out of range (behind a valid checksum, as a
    /// writer with a bug would leave it) is an <see cref="InvalidDataException"/> naming the epoch, and nothing changes.
    /// </summary>
    [Fact]
    public void Malformed_metrics_rows_are_refused_and_change_nothing()
    {
        var (x, y) = Classification(200, 1);
        var (vx, vy) = Classification(60, 2);
        string path = Path.Combine(_directory, "metrics.ckpt");
        FitOptions Options(bool resume, CancellationTokenSource? cancel = null) => new()
        {
            Epochs = 4, BatchSize = 32, Patience = 0, Seed = 3, Checkpoint = path, Resume = resume,
            Cancellation = cancel?.Token ?? default,
            OnEpoch = cancel is not null ? e => { if (e.Epoch == 2) { cancel.Cancel(); } } : null,
        };
        using (var cancel = new CancellationTokenSource())
        {
            new ResumableNet(maxBatch: 60, seed: 5) { MaxThreads = 1 }.Fit(new Adam(0.01f), x, y, vx, vy, Options(false, cancel));
        }
        byte[] good = File.ReadAllBytes(path);
        int classes = ResumableNet.OutputSize, width = 7 + classes * classes;

        // Each case changes one value of epoch 1's validation row: [present, rows, loss, classes, MAE, RMSE, R², confusion...].
        var cases = new (string What, int Column, float Value)[]
        {
            ("present flag 2", 0, 2f),
            ("absent, with figures", 0, 0f),
            ("fractional rows", 1, 59.5f),
            ("NaN loss", 2, float.NaN),
            ("another class count", 3, classes + 1),
            ("an error figure on a classifier", 4, 0.5f),
            ("a negative count", 7, -1f),
            ("counts that do not sum to the rows", 7 + classes + 1, 1000f),
        };
        foreach (var (what, column, value) in cases)
        {
            File.WriteAllBytes(path, Tampered(good, "fit/metrics/validation", column, value));
            var network = new ResumableNet(maxBatch: 60, seed: 5) { MaxThreads = 1 };
            var before = network.Parameters.ToArray();
            var optimizer = new Adam(0.01f);
            var error = Assert.Throws<InvalidDataException>(() => network.Fit(optimizer, x, y, vx, vy, Options(true)));
            Assert.True(error.Message.Contains("detailed metrics of epoch 1", StringComparison.Ordinal) && error.Message.Contains("Nothing was changed", StringComparison.Ordinal), $"{what}: {error.Message}");
            Assert.Equal(before, network.Parameters.ToArray());
            Assert.Equal(0, optimizer.StepCount);
        }
        Assert.Equal(width * 2, new Span<float>(Tensor(good, "fit/metrics/validation")).Length);

        // The untouched file resumes.
        File.WriteAllBytes(path, good);
        var resumed = new ResumableNet(maxBatch: 60, seed: 5) { MaxThreads = 1 }.Fit(new Adam(0.01f), x, y, vx, vy, Options(true));
        Assert.NotNull(resumed.Epochs[0].Validation);
        Assert.Equal(60, resumed.Epochs[0].Validation!.Rows);
    }

    /// <summary>A tensor's floats in a checkpoint's bytes.</summary>
    private static float[] Tensor(byte[] file, string name)
    {
        using var stream = new MemoryStream(file);
        var (_, tensors, offsets, _, dataBytes) = SafeTensorsFile.ReadHeader(stream, SafeTensorsFile.DefaultMaxHeaderBytes);
        var data = SafeTensorsFile.ReadData(stream, dataBytes);
        int i = tensors.FindIndex(t => t.Name == name);
        return data.AsSpan((int)(offsets[i] / sizeof(float)), tensors[i].Length).ToArray();
    }

    /// <summary>The checkpoint with one float of a tensor changed and its checksum recomputed (the same length, so the header's layout stays).</summary>
    private static byte[] Tampered(byte[] file, string name, int index, float value)
    {
        using var stream = new MemoryStream(file);
        var (metadata, tensors, offsets, types, dataBytes) = SafeTensorsFile.ReadHeader(stream, SafeTensorsFile.DefaultMaxHeaderBytes);
        long dataStart = file.Length - dataBytes;
        var data = SafeTensorsFile.ReadData(stream, dataBytes);
        int i = tensors.FindIndex(t => t.Name == name);
        int at = (int)(offsets[i] / sizeof(float)) + index;
        data[at] = value;
        string checksum = FitCheckpoint.Checksum(metadata, tensors, offsets, types, data);
        var result = (byte[])file.Clone();
        BitConverter.GetBytes(value).CopyTo(result, dataStart + (long)at * sizeof(float));
        byte[] old = System.Text.Encoding.UTF8.GetBytes(metadata["checksum"]), fresh = System.Text.Encoding.UTF8.GetBytes(checksum);
        int position = result.AsSpan(0, (int)dataStart).IndexOf(old);
        Assert.True(position > 0 && old.Length == fresh.Length);
        fresh.CopyTo(result, position);
        return result;
    }

    /// <summary>A schedule of a user's own with state: halves the rate after every epoch that does not lower the validation loss by 10%.</summary>
    private sealed class HalvingSchedule : LearningRateSchedule
    {
        private float _best = float.PositiveInfinity, _scale = 1f;

        public override float Rate(int epoch, int epochs, float initial) => initial * _scale;

        public override void Observe(int epoch, float validationLoss)
        {
            if (validationLoss < 0.9f * _best)
            {
                _best = validationLoss;
            }
            else
            {
                _scale /= 2;
            }
        }

        public override float[] SaveState() => [_best, _scale];

        public override bool RestoreState(ReadOnlySpan<float> state, bool apply)
        {
            if (state.Length != 2 || !(state[1] > 0 && state[1] <= 1))
            {
                return false;
            }
            if (apply)
            {
                (_best, _scale) = (state[0], state[1]);
            }
            return true;
        }
    }

    /// <summary>A custom schedule's state (SaveState/RestoreState) goes into the checkpoint: the resumed run halves where the whole one did.</summary>
    [Fact]
    public void A_custom_schedule_with_state_resumes_bit_for_bit_and_a_mismatched_one_is_refused()
    {
        var (x, y) = Classification(300, 1);
        var (vx, vy) = Classification(90, 2);
        FitOptions Options(string path, bool resume, LearningRateSchedule schedule, CancellationTokenSource? cancel = null) => new()
        {
            Epochs = 9, BatchSize = 32, Patience = 0, Seed = 3, Checkpoint = path, Resume = resume, Schedule = schedule,
            Cancellation = cancel?.Token ?? default,
            OnEpoch = cancel is not null ? e => { if (e.Epoch == 6) { cancel.Cancel(); } } : null,
        };
        var whole = new ResumableNet(maxBatch: 90, seed: 5) { MaxThreads = 1 };
        var expected = whole.Fit(new Adam(0.05f), x, y, vx, vy, Options(Path.Combine(_directory, "whole.ckpt"), resume: false, new HalvingSchedule()));
        Assert.True(expected.Epochs.Take(6).Any(e => e.LearningRate < 0.05f), string.Join("; ", expected.Epochs.Select(e => $"{e.ValidationLoss} {e.LearningRate}"))); // the state before the cut matters

        string path = Path.Combine(_directory, "custom.ckpt");
        using var cancel = new CancellationTokenSource();
        new ResumableNet(maxBatch: 90, seed: 5) { MaxThreads = 1 }.Fit(new Adam(0.05f), x, y, vx, vy, Options(path, resume: false, new HalvingSchedule(), cancel));
        byte[] written = File.ReadAllBytes(path);

        // A schedule that keeps no state cannot take this checkpoint's: refused before anything changes.
        var refused = new ResumableNet(maxBatch: 90, seed: 5) { MaxThreads = 1 };
        var before = refused.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => refused.Fit(new Adam(0.05f), x, y, vx, vy, Options(path, resume: true, LearningRateSchedule.Cosine())));
        Assert.Contains("schedule", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, refused.Parameters.ToArray());
        Assert.Equal(written, File.ReadAllBytes(path));

        var second = new ResumableNet(maxBatch: 90, seed: 5) { MaxThreads = 1 };
        var resumed = second.Fit(new Adam(0.05f), x, y, vx, vy, Options(path, resume: true, new HalvingSchedule()));
        AssertSameHistory(expected, resumed);
        AssertSameModel(whole, second);
    }

    [Theory]
    [InlineData(Stop.AfterEpoch)]
    [InlineData(Stop.MidEpoch)]
    public void A_classifier_resumed_from_its_checkpoint_ends_as_the_uninterrupted_run_bit_for_bit(Stop stop)
    {
        var (x, y) = Classification(300, 1);
        var (vx, vy) = Classification(90, 2);
        FitOptions Options(string path, bool resume, CancellationTokenSource? cancel = null) => new()
        {
            Epochs = 9, BatchSize = 32, Patience = 4, Seed = 3, Checkpoint = path, Resume = resume,
            Schedule = LearningRateSchedule.ReduceOnPlateau(0.5f, patience: 1),
            Cancellation = cancel?.Token ?? default,
            OnEpoch = stop == Stop.AfterEpoch && cancel is not null ? e => { if (e.Epoch == 3) { cancel.Cancel(); } } : null,
            OnStep = stop == Stop.MidEpoch && cancel is not null ? s => { if (s.Epoch == 4 && s.Step == 5) { cancel.Cancel(); } } : null,
        };

        var whole = new ResumableNet(maxBatch: 90, seed: 5) { MaxThreads = 1 };
        var expected = whole.Fit(new AdamW(0.02f), x, y, vx, vy, Options(Path.Combine(_directory, "whole.ckpt"), resume: false));

        string path = Path.Combine(_directory, "resumed.ckpt");
        var first = new ResumableNet(maxBatch: 90, seed: 5) { MaxThreads = 1 };
        using var cancel = new CancellationTokenSource();
        var interrupted = first.Fit(new AdamW(0.02f), x, y, vx, vy, Options(path, resume: false, cancel));
        Assert.True(interrupted.Cancelled);
        Assert.Equal(stop == Stop.AfterEpoch ? 3 : 3, interrupted.Epochs.Count);

        // A new process, as it were: a fresh network, optimizer and schedule, resumed from the file.
        var second = new ResumableNet(maxBatch: 90, seed: 5) { MaxThreads = 1 };
        var resumed = second.Fit(new AdamW(0.02f), x, y, vx, vy, Options(path, resume: true));

        AssertSameHistory(expected, resumed);
        AssertSameModel(whole, second);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_directory, "whole.ckpt")).Length, File.ReadAllBytes(path).Length);
    }

    [Fact]
    public void A_data_parallel_regression_with_dropout_and_sgd_momentum_resumes_bit_for_bit()
    {
        var (x, y) = Regression(256, 3);
        var (vx, vy) = Regression(64, 4);
        FitOptions Options(string path, bool resume, CancellationTokenSource? cancel = null) => new()
        {
            Epochs = 5, BatchSize = 64, Patience = 0, Seed = 9, Checkpoint = path, Resume = resume,
            Schedule = LearningRateSchedule.Cosine(warmup: 1), Cancellation = cancel?.Token ?? default,
            OnStep = cancel is null ? null : s => { if (s.Epoch == 2 && s.Step == 2) { cancel.Cancel(); } },
        };
        var whole = new HalfDropoutNet(maxBatch: 64, seed: 2) { MaxThreads = 2 };
        var expected = whole.Fit(new Sgd(0.05f, momentum: 0.9f), x, y, vx, vy, Options(Path.Combine(_directory, "w.ckpt"), false));

        string path = Path.Combine(_directory, "r.ckpt");
        using var cancel = new CancellationTokenSource();
        new HalfDropoutNet(maxBatch: 64, seed: 2) { MaxThreads = 2 }.Fit(new Sgd(0.05f, momentum: 0.9f), x, y, vx, vy, Options(path, false, cancel));
        var second = new HalfDropoutNet(maxBatch: 64, seed: 2) { MaxThreads = 2 };
        var resumed = second.Fit(new Sgd(0.05f, momentum: 0.9f), x, y, vx, vy, Options(path, true));

        AssertSameHistory(expected, resumed);
        AssertSameModel(whole, second);
    }

    [Fact]
    public void Resuming_a_finished_run_returns_its_history_and_best_model_without_training()
    {
        var (x, y) = Classification(120, 5);
        string path = Path.Combine(_directory, "done.ckpt");
        var options = new FitOptions { Epochs = 3, BatchSize = 40, Patience = 0, Seed = 1, Checkpoint = path, Resume = true };
        var net = new ResumableNet(maxBatch: 120, seed: 1) { MaxThreads = 1 };
        var history = net.Fit(new Adam(0.01f), x, y, x, y, options);

        var again = new ResumableNet(maxBatch: 120, seed: 1) { MaxThreads = 1 };
        var optimizer = new Adam(0.01f);
        var replay = again.Fit(optimizer, x, y, x, y, options);
        AssertSameHistory(history, replay);
        AssertSameModel(net, again);
        Assert.Equal(9, optimizer.StepCount); // restored, not stepped again
    }

    [Fact]
    public void A_damaged_foreign_or_mismatched_checkpoint_is_refused_and_changes_nothing()
    {
        var (x, y) = Classification(96, 6);
        string path = Path.Combine(_directory, "good.ckpt");
        FitOptions Options(string file, int batch = 32, int seed = 1) => new() { Epochs = 2, BatchSize = batch, Patience = 0, Seed = seed, Checkpoint = file, Resume = true };
        new ResumableNet(maxBatch: 96, seed: 1) { MaxThreads = 1 }.Fit(new Adam(0.01f), x, y, x, y, Options(path));
        byte[] good = File.ReadAllBytes(path);

        var network = new ResumableNet(maxBatch: 96, seed: 8) { MaxThreads = 1 };
        var before = Tensors(network);
        var optimizer = new Adam(0.01f);
        void Refused(byte[] bytes, string? expected = null, Func<string, FitOptions>? options = null, INetwork? other = null, Optimizer? otherOptimizer = null)
        {
            string file = Path.Combine(_directory, "bad.ckpt");
            File.WriteAllBytes(file, bytes);
            var target = other ?? network;
            var error = Assert.Throws<InvalidDataException>(() => target.Fit(otherOptimizer ?? optimizer, x, y, x, y, (options ?? (f => Options(f)))(file)));
            Assert.True(error.Message.Contains("Nothing was changed", StringComparison.Ordinal), error.Message);
            if (expected is not null)
            {
                Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), error.Message);
            }
            var after = Tensors(network);
            foreach (var (name, values) in before)
            {
                Bitwise.AssertEqual(values, after[name]);
            }
            Assert.Equal(0, network.TrainingPasses);
            Assert.Equal(0, optimizer.StepCount);
        }

        // Truncated anywhere, and bit flips anywhere (the checksum or the header catches them).
        var random = new Random(1);
        foreach (int length in new[] { 0, 7, 8, 100 }.Concat(Enumerable.Range(0, 40).Select(_ => random.Next(good.Length))))
        {
            Refused(good[..length]);
        }
        for (int i = 0; i < 120; i++)
        {
            var flipped = (byte[])good.Clone();
            int at = random.Next(8, flipped.Length);
            flipped[at] ^= (byte)(1 << random.Next(8));
            if (flipped.AsSpan().SequenceEqual(good))
            {
                continue;
            }
            string file = Path.Combine(_directory, "bad.ckpt");
            File.WriteAllBytes(file, flipped);
            try
            {
                Refused(flipped);
            }
            catch (Xunit.Sdk.ThrowsException) when (IsInsignificantHeaderByte(good, at))
            {
                // A flip in the header's padding or a metadata character that keeps it valid and equal in meaning.
            }
        }

        // Foreign files: a model file, another network's checkpoint, another run's settings, another optimizer.
        string model = Path.Combine(_directory, "model.safetensors");
        new ResumableNet(maxBatch: 1, seed: 1).Save(model);
        Refused(File.ReadAllBytes(model), "its format is 'backprop.gen' version 1; checkpoints are 'backprop.gen.checkpoint'");
        Refused(good, "batch size 32", f => Options(f, batch: 16));
        Refused(good, "seed 1", f => Options(f, seed: 2));
        Refused(good, "written with Adam", otherOptimizer: new Sgd(0.1f));
        network.Freeze("dense1");
        Refused(good, "frozen [dense1.weight, dense1.bias]");
        network.Unfreeze();
        // An optimizer that already steps another network of the same size: refused before anything changes.
        var busy = new Adam(0.01f);
        var (bx, by) = Classification(8, 9);
        new ResumableNet(maxBatch: 8, seed: 3).TrainStep(bx, by, busy);
        Refused(good, "steps another network", otherOptimizer: busy);
        Assert.Equal(1, busy.StepCount);
        var (x2, _) = Classification(96, 7);
        string otherData = Path.Combine(_directory, "other-data.ckpt");
        File.WriteAllBytes(otherData, good);
        var dataError = Assert.Throws<InvalidDataException>(() => network.Fit(optimizer, x2, y, x2, y, Options(otherData)));
        Assert.Contains("other data", dataError.Message);
    }

    /// <summary>Whether a byte lies in the header's JSON where a flip may leave it valid (spaces of the padding).</summary>
    private static bool IsInsignificantHeaderByte(byte[] file, int at)
    {
        long header = BitConverter.ToInt64(file, 0);
        return at < 8 + header && file[at] == (byte)' ';
    }
}
