using System;
using System.IO;
using System.Linq;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Batch normalization's state and modes: running statistics outside the parameters and the optimizer, moved by every
/// training-mode pass (and only those) toward the batch's statistics, counted in <c>num_batches_tracked</c>, saved and
/// loaded with the model; whole-batch statistics whatever the thread count. Its gradients are checked by
/// <see cref="GradientCheckTests"/> and against PyTorch by <see cref="PyTorchParityTests"/>.
/// </summary>
public class BatchNormTests
{
    [Fact]
    public void Running_statistics_are_state_outside_the_parameters()
    {
        var net = new BatchNormFirstCnn(maxBatch: 4, seed: 1);
        string[] names = net.Tensors.Select(t => t.Name).ToArray();
        Assert.Equal(["bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"], names[..4]);
        Assert.Equal([true, true, false, false], net.Tensors.Take(4).Select(t => t.Trainable));
        // γ and β of both layers, the convolution and the dense layer; not the running statistics.
        int trainable = net.Tensors.Where(t => t.Trainable).Sum(t => t.Length);
        Assert.Equal(BatchNormFirstCnn.ParameterCount, trainable);
        Assert.Equal(2 * 17 + (2 * 17 * 9 + 2) + 2 * 2 + (2 * 2 + 2), trainable);

        // PyTorch's initial values.
        Assert.All(Copy(net, "bn1.weight"), v => Assert.Equal(1f, v));
        Assert.All(Copy(net, "bn1.bias"), v => Assert.Equal(0f, v));
        Assert.All(Copy(net, "bn1.running_mean"), v => Assert.Equal(0f, v));
        Assert.All(Copy(net, "bn1.running_var"), v => Assert.Equal(1f, v));

        var e = Assert.Throws<ArgumentException>(() => net.CopyGradient("norm.running_var", new float[2]));
        Assert.Contains("'norm.running_var' is state", e.Message);
    }

    /// <summary>
    /// The first layer normalizes the raw input, so the expected running statistics follow from the inputs alone:
    /// <c>0.9 · old + 0.1 · batch</c>, the variance unbiased. Training calls move them; Predict and ComputeLoss do not.
    /// </summary>
    [Fact]
    public void Training_passes_move_the_running_statistics_and_inference_leaves_them()
    {
        const int Batch = 3, Channels = 17, Plane = 20;
        var net = new BatchNormFirstCnn(maxBatch: Batch, seed: 2);
        var random = new Random(5);
        float[] inputs = TestData.Uniform(random, Batch * BatchNormFirstCnn.InputSize);
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] += i / Plane % Channels; // the channel's index as an offset, so the statistics differ per channel
        }
        float[] targets = TestData.Uniform(random, Batch * BatchNormFirstCnn.OutputSize);

        net.Predict(inputs, new float[Batch * 2]);
        net.ComputeLoss(inputs, targets);
        Assert.All(Copy(net, "bn1.running_mean"), v => Assert.Equal(0f, v));
        Assert.All(Copy(net, "bn1.running_var"), v => Assert.Equal(1f, v));

        double[] mean = new double[Channels], variance = new double[Channels];
        for (int c = 0; c < Channels; c++)
        {
            var values = Enumerable.Range(0, Batch).SelectMany(n => inputs.Skip((n * Channels + c) * Plane).Take(Plane)).Select(v => (double)v).ToArray();
            mean[c] = values.Average();
            variance[c] = values.Sum(v => (v - mean[c]) * (v - mean[c])) / (values.Length - 1);
        }

        net.ComputeGradients(inputs, targets);
        float[] runningMean = Copy(net, "bn1.running_mean"), runningVar = Copy(net, "bn1.running_var");
        for (int c = 0; c < Channels; c++)
        {
            Assert.Equal(0.1 * mean[c], runningMean[c], 1e-5);
            Assert.Equal(0.9 + 0.1 * variance[c], runningVar[c], 1e-4);
        }

        net.TrainStep(inputs, targets, new Sgd(0.01f));
        runningMean = Copy(net, "bn1.running_mean");
        for (int c = 0; c < Channels; c++)
        {
            Assert.Equal(0.9 * 0.1 * mean[c] + 0.1 * mean[c], runningMean[c], 1e-5);
        }
        Assert.Equal(2, Counter(net, "bn1.num_batches_tracked"));
        Assert.Equal(2, Counter(net, "norm.num_batches_tracked"));
    }

    [Fact]
    public void Saving_and_loading_keep_the_running_statistics_and_the_counters()
    {
        var net = new BatchNormCnn(maxBatch: 8, seed: 3);
        var random = new Random(6);
        var (inputs, labels, targets) = TestData.Batch(net, random, 8);
        var optimizer = new Adam(0.01f);
        for (int i = 0; i < 3; i++)
        {
            TestData.TrainStep(net, inputs, labels, targets, optimizer);
        }
        var stream = new MemoryStream();
        net.Save(stream);
        var file = SafeTensorsFile.Read(new MemoryStream(stream.ToArray()));
        Assert.Equal("I64", file.DType("bn2.num_batches_tracked"));
        Assert.Equal([3L], file.GetInt64("bn2.num_batches_tracked"));
        Assert.Empty(file.Tensors.Single(t => t.Name == "bn2.num_batches_tracked").Shape);

        var copy = new BatchNormCnn(maxBatch: 8, seed: 4);
        copy.Load(new MemoryStream(stream.ToArray()));
        foreach (var tensor in net.Tensors)
        {
            Assert.Equal(Copy(net, tensor.Name), Copy(copy, tensor.Name));
        }
        var expected = new float[8 * BatchNormCnn.OutputSize];
        var actual = new float[8 * BatchNormCnn.OutputSize];
        net.Predict(inputs, expected);
        copy.Predict(inputs, actual);
        Assert.Equal(expected, actual);
        Assert.Equal(3, Counter(copy, "bn1.num_batches_tracked"));

        // A running variance that is not finite is refused, and nothing changes.
        var bad = new BatchNormCnn(maxBatch: 8, seed: 5);
        bad.SetTensor("bn1.running_var", [1, 2, 3, 4]);
        Assert.Throws<ArgumentException>(() => bad.SetTensor("bn1.running_var", [1, float.NaN, 3, 4]));
        Assert.Equal([1f, 2f, 3f, 4f], Copy(bad, "bn1.running_var"));
    }

    /// <summary>
    /// The running statistics and the counters move only once a pass has succeeded: a step refused for a statistic that
    /// overflows, or for a loss that is not finite, leaves them, and the parameters, as they were.
    /// </summary>
    [Fact]
    public void A_refused_step_leaves_the_running_statistics_and_the_counters_alone()
    {
        var net = new BatchNormFirstCnn(maxBatch: 2, seed: 3);
        var inputs = TestData.Uniform(new Random(8), 2 * BatchNormFirstCnn.InputSize);
        var targets = new float[2 * BatchNormFirstCnn.OutputSize];
        var optimizer = new Adam(0.01f);
        net.TrainStep(inputs, targets, optimizer);
        float[] parameters = net.Parameters.ToArray(), mean = Copy(net, "bn1.running_mean"), variance = Copy(net, "norm.running_var");

        // Channel 0 alternates ±3e38: finite inputs whose variance is beyond float range.
        var overflowing = (float[])inputs.Clone();
        for (int i = 0; i < 20; i++)
        {
            overflowing[i] = i % 2 == 0 ? 3e38f : -3e38f;
        }
        var e = Assert.Throws<ArithmeticException>(() => net.TrainStep(overflowing, targets, optimizer));
        Assert.Contains("channel 0", e.Message);
        Assert.Equal(parameters, net.Parameters.ToArray());
        Assert.Equal(mean, Copy(net, "bn1.running_mean"));
        Assert.Equal(variance, Copy(net, "norm.running_var"));
        Assert.Equal(1, Counter(net, "bn1.num_batches_tracked"));
        Assert.Equal(1, optimizer.StepCount);

        // A target so large that the squared error overflows: the loss is infinite, the step refused, nothing committed.
        var huge = new float[targets.Length];
        huge.AsSpan().Fill(3e38f);
        Assert.Throws<ArithmeticException>(() => net.TrainStep(inputs, huge, optimizer));
        Assert.Equal(parameters, net.Parameters.ToArray());
        Assert.Equal(mean, Copy(net, "bn1.running_mean"));
        Assert.Equal(1, Counter(net, "norm.num_batches_tracked"));

        // The same call succeeds afterwards and commits.
        net.TrainStep(inputs, targets, optimizer);
        Assert.Equal(2, Counter(net, "bn1.num_batches_tracked"));
        Assert.NotEqual(mean, Copy(net, "bn1.running_mean"));
    }

    /// <summary>Files with a bad counter or a negative variance are refused whole; SetTensor refuses a negative variance too.</summary>
    [Fact]
    public void Bad_counters_and_negative_variances_are_refused_and_change_nothing()
    {
        var source = new BatchNormMlp(maxBatch: 4, seed: 1);
        var (inputs, labels, targets) = TestData.Batch(source, new Random(2), 4);
        TestData.TrainStep(source, inputs, labels, targets, new Sgd(0.1f));
        var stream = new MemoryStream();
        source.Save(stream);
        string text = System.Text.Encoding.Latin1.GetString(stream.ToArray());

        var target = new BatchNormMlp(maxBatch: 4, seed: 5);
        float[] before = target.Parameters.ToArray(), state = Copy(target, "bn1.running_var");
        void Refused(string edited, string expected)
        {
            var e = Assert.Throws<InvalidDataException>(() => target.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(edited))));
            Assert.Contains(expected, e.Message);
            Assert.Equal(before, target.Parameters.ToArray());
            Assert.Equal(state, Copy(target, "bn1.running_var"));
            Assert.Equal(0, Counter(target, "bn1.num_batches_tracked"));
        }
        // The counter as two F32 values, and under another name.
        Refused(WithHeader(text, header => header.Replace("\"dtype\":\"I64\",\"shape\":[]", "\"dtype\":\"F32\",\"shape\":[2]")), "needs one I64 value");
        Refused(text.Replace("bn1.num_batches_tracked", "bn1.num_batches_trackex"), "no tensor 'bn1.num_batches_tracked'");

        // A negative count: the counter's eight bytes start the data section. The checksum covers them, so rewrite it too.
        byte[] bytes = stream.ToArray();
        int dataStart = 8 + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(dataStart), -5);
        Refused(Rechecksummed(bytes, dataStart), "cannot be negative");

        // A negative running variance, in a file and through SetTensor.
        bytes = stream.ToArray();
        var file = SafeTensorsFile.Read(new MemoryStream(bytes));
        int varianceStart = dataStart + 8 + 4 * (int)file.Tensors.TakeWhile(t => t.Name != "bn1.running_var").Where(t => file.DType(t.Name) == "F32").Sum(t => (long)t.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(varianceStart), -1f);
        Refused(Rechecksummed(bytes, dataStart), "a variance cannot be negative");
        var setError = Assert.Throws<ArgumentException>(() => target.SetTensor("bn1.running_var", Enumerable.Repeat(-1f, 9).ToArray()));
        Assert.Contains("cannot be negative", setError.Message);
        Assert.Equal(state, Copy(target, "bn1.running_var"));
    }

    /// <summary>The file with its JSON header edited and its length prefix rewritten (padded with spaces to 8 bytes).</summary>
    private static string WithHeader(string file, Func<string, string> edit)
    {
        int length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(System.Text.Encoding.Latin1.GetBytes(file[..8]));
        string header = edit(file.Substring(8, length).TrimEnd(' '));
        header += new string(' ', (8 - header.Length % 8) % 8);
        var prefix = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        return System.Text.Encoding.Latin1.GetString(prefix) + header + file[(8 + length)..];
    }

    /// <summary>The file with its data's checksum recomputed (so that a deliberate edit reaches the check after it).</summary>
    private static string Rechecksummed(byte[] bytes, int dataStart)
    {
        var data = new float[(bytes.Length - dataStart) / 4];
        Buffer.BlockCopy(bytes, dataStart, data, 0, data.Length * 4);
        string text = System.Text.Encoding.Latin1.GetString(bytes);
        int at = text.IndexOf("xxh64:", StringComparison.Ordinal);
        return text[..at] + ModelFile.Checksum(data) + text[(at + 22)..];
    }

    [Fact]
    public void A_one_sample_training_batch_is_refused_where_a_feature_would_have_one_value()
    {
        var net = new BatchNormMlp(maxBatch: 4, seed: 7);
        float[] before = net.Parameters.ToArray(), state = Copy(net, "bn1.running_mean");
        var inputs = new float[BatchNormMlp.InputSize];
        var targets = new float[BatchNormMlp.OutputSize];
        var e = Assert.Throws<ArgumentException>(() => net.TrainStep(inputs, targets, new Sgd(0.1f)));
        Assert.Contains("BatchNorm 'bn1'", e.Message);
        Assert.Contains("at least 2", e.Message);
        Assert.Equal(before, net.Parameters.ToArray());
        Assert.Equal(state, Copy(net, "bn1.running_mean"));
        Assert.Equal(0, Counter(net, "bn1.num_batches_tracked"));

        // Prediction of one sample uses the running statistics, so it is fine.
        net.Predict(inputs, new float[BatchNormMlp.OutputSize]);
        // Images have several values per channel: one sample trains.
        var cnn = new BatchNormFirstCnn(maxBatch: 1, seed: 1);
        cnn.ComputeGradients(new float[BatchNormFirstCnn.InputSize].Select((_, i) => (float)Math.Sin(i)).ToArray(), new float[2]);
    }

    /// <summary>
    /// The statistics are the whole batch's for any thread count: training does not cut the batch into shards (each would
    /// see statistics of its own), and the forward products split over threads give the same bits.
    /// </summary>
    [Fact]
    public void One_and_two_threads_train_the_same_bits()
    {
        float[] Train(int threads)
        {
            var net = new BatchNormCnn(maxBatch: 64, seed: 9) { MaxThreads = threads };
            var (inputs, labels, targets) = TestData.Batch(net, new Random(10), 64);
            var optimizer = new Sgd(0.05f, momentum: 0.9f);
            for (int i = 0; i < 3; i++)
            {
                TestData.TrainStep(net, inputs, labels, targets, optimizer);
            }
            return [.. net.Parameters.ToArray(), .. Copy(net, "bn2.running_mean"), .. Copy(net, "bn3.running_var")];
        }
        Assert.Equal(Train(1), Train(2));
    }

    private static float[] Copy(INetwork network, string name)
    {
        var values = new float[network.Tensors.Single(t => t.Name == name).Length];
        network.CopyTensor(name, values);
        return values;
    }

    private static long Counter(INetwork network, string name)
    {
        var stream = new MemoryStream();
        network.Save(stream);
        stream.Position = 0;
        return SafeTensorsFile.Read(stream).GetInt64(name).Single();
    }
}
