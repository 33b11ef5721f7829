using System;
using System.Linq;
using Backprop.Kernels;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Threads: training is data-parallel (a batch cut into shards, one per thread, their gradients summed in shard
/// order) and prediction splits products; both give bit-identical results run after run for a given thread count.
/// </summary>
public class ThreadingTests
{
    private static (float[] Inputs, int[] Labels) Batch(int batch, int seed)
    {
        var random = new Random(seed);
        var inputs = new float[batch * FashionMlp.InputSize];
        var labels = new int[batch];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)random.NextDouble();
        }
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = random.Next(10);
        }
        return (inputs, labels);
    }

    private static float[] Train(int threads, Func<Optimizer> optimizer, int batch = 256)
    {
        var net = new FashionMlp(maxBatch: batch, seed: 3) { MaxThreads = threads };
        var (inputs, labels) = Batch(batch, 9);
        var step = optimizer();
        for (int i = 0; i < 5; i++)
        {
            net.TrainStep(inputs, labels, step);
        }
        var outputs = new float[batch * FashionMlp.OutputSize];
        net.Predict(inputs, outputs);
        return [.. net.Parameters.ToArray(), .. net.Gradients.ToArray(), .. outputs];
    }

    private const string OneCore = "Data parallelism needs two cores; this machine has one.";

    [SkippableTheory]
    [InlineData(2, 256)]
    [InlineData(2, 40)]
    [InlineData(3, 100)]
    public void Training_is_bit_identical_run_after_run_for_a_thread_count(int threads, int batch)
    {
        Skip.If(Environment.ProcessorCount < 2, OneCore);
        Assert.True(DataParallel.Shards(batch, threads) > 1);
        foreach (var optimizer in new Func<Optimizer>[] { () => new Adam(1e-3f), () => new Sgd(0.05f, momentum: 0.9f) })
        {
            Assert.Equal(Train(threads, optimizer, batch), Train(threads, optimizer, batch));
        }
    }

    [SkippableTheory]
    [InlineData(100)]
    [InlineData(256)]
    [InlineData(33)]
    [InlineData(20)] // no shards: products split by rows
    [InlineData(3)] // the first layer's matrix-vector products split by columns
    [InlineData(1)]
    public void Predictions_are_bit_identical_for_any_thread_count(int batch)
    {
        Skip.If(Environment.ProcessorCount < 2, OneCore);
        var (inputs, _) = Batch(batch, 13);
        float[] Predict(int threads)
        {
            var net = new FashionMlp(maxBatch: batch, seed: 6) { MaxThreads = threads };
            var outputs = new float[batch * FashionMlp.OutputSize];
            net.Predict(inputs, outputs);
            return outputs;
        }
        float[] one = Predict(1);
        Assert.DoesNotContain(one, float.IsNaN);
        Bitwise.AssertEqual(one, Predict(2));
        Bitwise.AssertEqual(one, Predict(3));
        Bitwise.AssertEqual(one, Predict(64));
    }

    [Fact]
    public void Thread_counts_beyond_the_cores_give_the_results_of_as_many_threads_as_cores()
    {
        int cores = Environment.ProcessorCount;
        Assert.Equal(Train(cores, () => new Adam(1e-3f)), Train(cores + 2, () => new Adam(1e-3f)));
    }

    /// <summary>
    /// With two shards the gradients are the sum, in shard order, of each half's contribution to the batch mean:
    /// exactly half of the gradient two one-thread networks compute on the halves (scaling by 2 is exact in floats).
    /// </summary>
    [SkippableFact]
    public void Two_threads_sum_the_gradients_of_the_two_halves()
    {
        Skip.If(Environment.ProcessorCount < 2, OneCore);
        const int BatchSize = 256;
        Assert.Equal(2, DataParallel.Shards(BatchSize, 2));
        var (inputs, labels) = Batch(BatchSize, 11);
        var whole = new FashionMlp(maxBatch: BatchSize, seed: 4) { MaxThreads = 2 };
        float loss = whole.ComputeGradients(inputs, labels);

        var (first, count) = DataParallel.Samples(BatchSize, 0, 2);
        Assert.Equal((0, 128), (first, count));
        var a = new FashionMlp(maxBatch: 128, seed: 4) { MaxThreads = 1 };
        var b = new FashionMlp(maxBatch: 128, seed: 4) { MaxThreads = 1 };
        float lossA = a.ComputeGradients(inputs.AsSpan(0, 128 * FashionMlp.InputSize), labels.AsSpan(0, 128));
        float lossB = b.ComputeGradients(inputs.AsSpan(128 * FashionMlp.InputSize), labels.AsSpan(128));

        var expected = new float[FashionMlp.ParameterCount];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = (a.Gradients[i] * 0.5f) + (b.Gradients[i] * 0.5f);
        }
        Assert.True(expected.AsSpan().SequenceEqual(whole.Gradients), "the two-thread gradients are not the sum of the halves'");
        Assert.Equal((lossA + lossB) / 2, loss, 1e-6f);
        // And they are the one-thread gradients up to rounding.
        var one = new FashionMlp(maxBatch: BatchSize, seed: 4) { MaxThreads = 1 };
        Assert.Equal(loss, one.ComputeGradients(inputs, labels), 1e-6f);
        float largest = one.Gradients.ToArray().Max(MathF.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(MathF.Abs(one.Gradients[i] - whole.Gradients[i]) <= 1e-5f * largest, $"gradient {i}: {one.Gradients[i]} on one thread, {whole.Gradients[i]} on two");
        }
    }

    /// <summary>
    /// Every loss (softmax cross-entropy, binary cross-entropy, mean squared error) and activation of the test
    /// networks: a batch of 48 in two shards of 24 gives exactly half the sum of what two one-shard networks compute
    /// on the halves (24 samples are one shard).
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Networks))]
    public void Every_loss_and_activation_sums_its_shards_exactly(string name)
    {
        Skip.If(Environment.ProcessorCount < 2, OneCore);
        Assert.Equal((2, 1), (DataParallel.Shards(48, Environment.ProcessorCount), DataParallel.Shards(24, Environment.ProcessorCount)));
        Assert.Equal((24, 24), (DataParallel.Samples(48, 1, 2).Start, DataParallel.Samples(48, 1, 2).Count));
        var whole = TestData.Create(name, maxBatch: 48, seed: 8);
        var (inputs, labels, targets) = TestData.Batch(whole, new Random(21), 48);
        float loss = TestData.ComputeGradients(whole, inputs, labels, targets);
        var halves = new float[2][];
        float halfLosses = 0;
        for (int h = 0; h < 2; h++)
        {
            var half = TestData.Create(name, maxBatch: 24, seed: 8);
            halfLosses += TestData.ComputeGradients(half,
                inputs.AsSpan(h * 24 * whole.InputSize, 24 * whole.InputSize).ToArray(),
                labels?.AsSpan(h * 24, 24).ToArray(),
                targets?.AsSpan(h * 24 * whole.OutputSize, 24 * whole.OutputSize).ToArray());
            halves[h] = half.Gradients.ToArray();
        }
        Assert.Contains(whole.Gradients.ToArray(), g => g != 0);
        for (int i = 0; i < halves[0].Length; i++)
        {
            float expected = (halves[0][i] * 0.5f) + (halves[1][i] * 0.5f);
            Assert.True(expected == whole.Gradients[i], $"{name} gradient {i}: {whole.Gradients[i]}, halves give {expected}");
        }
        Assert.Equal(halfLosses / 2, loss, 1e-5f);
    }

    /// <summary>The networks whose training is data-parallel (batch normalization trains on the whole batch at once).</summary>
    public static TheoryData<string> Networks() => new(TestData.GradientCheckNetworks.Except(TestData.BatchNormNetworks));

    /// <summary>The helper threads do not keep a network alive through the last job they ran (its delegates point at the network).</summary>
    [SkippableFact]
    public void A_network_that_ran_on_the_helpers_can_be_collected()
    {
        Skip.If(Environment.ProcessorCount < 2, OneCore);
        var network = UseAndDrop();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(network.TryGetTarget(out _), "a helper thread still holds the network");

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static WeakReference<FashionMlp> UseAndDrop()
        {
            var net = new FashionMlp(maxBatch: 64, seed: 3) { MaxThreads = 2 };
            var (inputs, labels) = Batch(64, 9);
            net.TrainStep(inputs, labels, new Sgd(0.01f));
            // Prediction last: its job's delegate is the set's PredictShard (the network's PredictRows).
            net.Predict(inputs, new float[64 * FashionMlp.OutputSize]);
            return new WeakReference<FashionMlp>(net);
        }
    }

    [SkippableFact]
    public void A_non_finite_loss_in_a_data_parallel_step_leaves_the_parameters_alone()
    {
        Skip.If(Environment.ProcessorCount < 2, OneCore);
        var net = new FashionMlp(maxBatch: 64, seed: 2) { MaxThreads = 2 };
        var (inputs, labels) = Batch(64, 5);
        // The last shard's last sample overflows (finite inputs, which the network accepts): the loss is not finite.
        inputs.AsSpan(63 * FashionMlp.InputSize, FashionMlp.InputSize).Fill(float.MaxValue);
        float[] before = net.Parameters.ToArray();
        var optimizer = new Adam(1e-3f);
        Assert.Throws<ArithmeticException>(() => net.TrainStep(inputs, labels, optimizer));
        Assert.True(before.AsSpan().SequenceEqual(net.Parameters), "parameters changed");
        Assert.Equal(0, optimizer.StepCount);
        Assert.Contains(net.Gradients.ToArray(), float.IsNaN);
    }

    [Theory]
    [InlineData(256, 2)]
    [InlineData(100, 3)]
    [InlineData(40, 2)]
    [InlineData(17, 2)]
    [InlineData(5, 4)]
    public void Shards_cover_the_batch_in_order_in_multiples_of_8(int batch, int shards)
    {
        int next = 0;
        for (int s = 0; s < shards; s++)
        {
            var (first, count) = DataParallel.Samples(batch, s, shards);
            Assert.Equal(next, first);
            Assert.True(first % 8 == 0 && (count % 8 == 0 || first + count == batch), $"shard {s}: [{first}, {first + count})");
            next = first + count;
        }
        Assert.Equal(batch, next);
    }

    [Fact]
    public void Small_batches_and_one_thread_are_not_cut()
    {
        Assert.Equal(1, DataParallel.Shards(256, 1));
        Assert.Equal(1, DataParallel.Shards(31, 2));
        Assert.Equal(Math.Min(2, Environment.ProcessorCount), DataParallel.Shards(32, 2));
        Assert.Equal(1, DataParallel.Shards(1, 64));
    }

    /// <summary>
    /// The data-parallel step itself, on a model written here (one weight per input, squared error), with more
    /// shards than cores: each shard's gradient lands in the block, summed in shard order, and the optimizer steps once.
    /// With every shard's gradient bound under <see cref="GradientBound.Limit"/> the ranges are stepped as they are summed;
    /// with no bound (+∞) they are summed, checked and stepped as one block: the same parameters either way.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DataParallel_sums_every_shard_in_order_and_steps_once(bool bounded)
    {
        const int Size = 40_000, BatchSize = 48;
        var parameters = new float[Size];
        var gradients = new float[Size];
        var random = new Random(3);
        var inputs = new float[BatchSize];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)random.NextDouble();
        }
        var seen = new int[BatchSize];
        // Shard gradient: g[i] = Σ_{b in shard} x[b] · (i + 1) / batch; loss share: Σ x[b] / batch.
        double Pass(ReadOnlySpan<float> x, ReadOnlySpan<int> targets, int first, int count, int batch, Span<float> g, Span<float> scratch, out double bound)
        {
            Assert.Equal(7, scratch.Length);
            float sum = 0;
            for (int b = first; b < first + count; b++)
            {
                sum += x[b];
                seen[b]++;
            }
            for (int i = 0; i < g.Length; i++)
            {
                g[i] = sum * (i + 1) / batch;
            }
            bound = bounded ? (double)sum * Size / batch : double.PositiveInfinity;
            return (double)sum / batch;
        }
        var parallel = new DataParallel<int>("Test", Size, 7, Pass);
        var optimizer = new Sgd(1f);
        float loss = parallel.Train(inputs, new int[BatchSize], BatchSize, 3, parameters, gradients, optimizer);

        Assert.All(seen, n => Assert.Equal(1, n));
        // 48 samples in three shards of whole 8-sample blocks: [0, 16), [16, 32), [32, 48).
        var shardSums = new[] { (0, 16), (16, 16), (32, 16) }.Select(shard =>
        {
            var (first, count) = shard;
            float sum = 0;
            for (int b = first; b < first + count; b++)
            {
                sum += inputs[b];
            }
            return sum;
        }).ToArray();
        for (int i = 0; i < Size; i++)
        {
            float expected = shardSums[0] * (i + 1) / BatchSize + shardSums[1] * (i + 1) / BatchSize + shardSums[2] * (i + 1) / BatchSize;
            Assert.Equal(expected, gradients[i]);
            Assert.Equal(-expected, parameters[i]);
        }
        Assert.Equal(1, optimizer.StepCount);
        Assert.Equal((float)(shardSums.Sum(s => (double)s / BatchSize)), loss, 1e-6f);

        Assert.Throws<ArgumentException>(() => parallel.Train(inputs, new int[BatchSize], BatchSize, 0, parameters, gradients, optimizer));
        Assert.Throws<ArgumentException>(() => parallel.Train(inputs, new int[BatchSize], BatchSize, 2, parameters, new float[Size - 1], optimizer));
    }

    /// <summary>
    /// Shards whose gradients are finite but overflow when summed (two of 2e38: each bound is under float.MaxValue, their
    /// sum is not under the limit), and a shard with a NaN gradient (bound +∞): the sum is checked, the step refused,
    /// and the parameters and the optimizer's step count stay as they were.
    /// </summary>
    [Theory]
    [InlineData(2e38f)]
    [InlineData(float.NaN)]
    public void DataParallel_refuses_a_summed_gradient_that_is_not_finite(float value)
    {
        const int Size = 40_000, BatchSize = 32;
        var parameters = new float[Size];
        Array.Fill(parameters, 0.25f);
        var gradients = new float[Size];
        double Pass(ReadOnlySpan<float> x, ReadOnlySpan<int> targets, int first, int count, int batch, Span<float> g, Span<float> scratch, out double bound)
        {
            g.Fill(0.5f);
            g[Size / 2 + 3] = value; // 2e38 + 2e38 overflows
            bound = GradientBound.Exact(g);
            return 0.1;
        }
        var parallel = new DataParallel<int>("Test", Size, 1, Pass);
        foreach (var optimizer in new Optimizer[] { new Sgd(0.1f), new Adam(1e-3f) })
        {
            var e = Assert.Throws<ArithmeticException>(() => parallel.Train(new float[BatchSize], new int[BatchSize], BatchSize, 2, parameters, gradients, optimizer));
            Assert.Contains("the parameters were not updated", e.Message);
            Assert.All(parameters, p => Assert.Equal(0.25f, p));
            Assert.Equal(0, optimizer.StepCount);
        }
    }

    /// <summary>
    /// A shard that itself asks for threads (here a product large enough to split) runs that work on its own thread:
    /// the helpers are already busy with the shards, and must not be handed a second job.
    /// </summary>
    [Fact]
    public async System.Threading.Tasks.Task A_threaded_kernel_inside_a_shard_runs_on_the_shard_s_thread()
    {
        const int M = 64, N = 256, K = 128; // 2M multiply-adds: split when threads are free
        var random = new Random(17);
        var a = Enumerable.Range(0, M * K).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Enumerable.Range(0, K * N).Select(_ => (float)random.NextDouble()).ToArray();
        var expected = new float[M * N];
        Gemm.Multiply(M, N, K, a, K, 1, b, N, expected, N, default, accumulate: false, threads: 1);
        // Two shards of 8 samples ([0, 8) and [8, 16)): one product each, the first on the caller (which holds the
        // helpers), the second on the helper.
        var results = new float[2][];
        var forward = new DataParallelForward((inputs, outputs, first, count) =>
        {
            Assert.Equal(8, count);
            var c = results[first / 8] = new float[M * N];
            Gemm.Multiply(M, N, K, a, K, 1, b, N, c, N, default, accumulate: false, threads: 2);
        });
        // Handing the busy helper a second job hangs the step: fail after a generous minute instead.
        var run = System.Threading.Tasks.Task.Run(() =>
        {
            for (int round = 0; round < 20; round++)
            {
                Array.Clear(results);
                forward.Run(new float[16], new float[16], batch: 16, shards: 2);
                Assert.All(results, r => Assert.Equal(expected, r));
            }
        });
        var finished = await System.Threading.Tasks.Task.WhenAny(run, System.Threading.Tasks.Task.Delay(TimeSpan.FromMinutes(1)));
        Assert.True(finished == run, "the shards did not finish: a helper was handed a second job");
        await run;
    }

    [Fact]
    public void MaxThreads_must_be_positive()
    {
        var net = new FashionMlp(maxBatch: 1);
        Assert.Equal(Environment.ProcessorCount, net.MaxThreads);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.MaxThreads = 0);
    }
}
