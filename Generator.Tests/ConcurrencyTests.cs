using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Backprop.Kernels;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// One network instance called from many threads at once: Predict calls overlap freely and each returns exactly
/// what it returns alone; a training or model-writing call runs alone (it waits for the calls under way, and calls
/// that arrive meanwhile wait for it), so no call sees a half-written model and no mix of calls corrupts memory.
/// Every test runs its threads for a bounded time (about a second) and asserts on every call.
/// </summary>
public class ConcurrencyTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }
        return values;
    }

    private static int[] Labels(int batch, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, batch).Select(_ => random.Next(FashionMlp.OutputSize)).ToArray();
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="threads"/> threads at once until the budget is spent; rethrows the first failure.</summary>
    private static void RunConcurrently(int threads, Action<int, Func<bool>> body)
    {
        var failures = new ConcurrentQueue<Exception>();
        using var start = new Barrier(threads);
        var clock = new Stopwatch();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                if (t == 0)
                {
                    clock.Start();
                }
                body(t, () => clock.Elapsed < Budget && failures.IsEmpty);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        if (failures.TryDequeue(out var failure))
        {
            throw new Xunit.Sdk.XunitException($"A thread failed: {failure}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Predict_on_one_instance_from_many_threads_returns_exactly_what_one_thread_returns(int threads)
    {
        // Batches that take every path: one sample, split products, and data-parallel shards (the helpers are busy with
        // one caller's shards while the others run theirs alone).
        int[] batches = [1, 5, 24, 64, 128];
        var net = new FashionMlp(maxBatch: 128, seed: 4);
        var inputs = batches.Select((b, i) => Random(b * FashionMlp.InputSize, 100 + i)).ToArray();
        var expected = inputs.Select(x =>
        {
            var y = new float[x.Length / FashionMlp.InputSize * FashionMlp.OutputSize];
            net.Predict(x, y);
            return y;
        }).ToArray();
        long calls = 0;
        RunConcurrently(threads, (t, running) =>
        {
            var outputs = expected.Select(e => new float[e.Length]).ToArray();
            for (int i = t; running() || i < t + 2 * batches.Length; i++)
            {
                int k = i % batches.Length;
                Array.Fill(outputs[k], float.NaN);
                net.Predict(inputs[k], outputs[k]);
                Bitwise.AssertEqual(expected[k], outputs[k]);
                Interlocked.Increment(ref calls);
            }
        });
        Assert.True(calls >= threads * 2 * batches.Length, $"{calls} calls");
    }

    /// <summary>
    /// A network with image layers predicts eight samples per pass (in the first rows of its buffers, and of each shard's):
    /// a batch of several passes and a partial last one gives, on one thread and on two, exactly what each sample gives alone.
    /// </summary>
    [Fact]
    public void Image_networks_predict_a_batch_in_tiles_exactly_as_sample_by_sample()
    {
        const int Batch = 21;
        var net = new SmallCnn(maxBatch: Batch, seed: 3);
        var inputs = Random(Batch * SmallCnn.InputSize, 11);
        var alone = new float[Batch * SmallCnn.OutputSize];
        for (int n = 0; n < Batch; n++)
        {
            net.Predict(inputs.AsSpan(n * SmallCnn.InputSize, SmallCnn.InputSize), alone.AsSpan(n * SmallCnn.OutputSize, SmallCnn.OutputSize));
        }
        foreach (int threads in new[] { 1, 2 })
        {
            net.MaxThreads = threads;
            var outputs = new float[alone.Length];
            net.Predict(inputs, outputs);
            Assert.Equal(alone, outputs);
        }
    }

    [Fact]
    public void Concurrent_predictions_allocate_nothing_once_the_pool_holds_a_set_per_thread()
    {
        const int Threads = 4;
        var net = new FashionMlp(maxBatch: 64, seed: 1);
        var inputs = Random(64 * FashionMlp.InputSize, 5);
        // Warm-up: every thread's call overlapping every other's grows the pool to one set per thread.
        using (var warm = new Barrier(Threads))
        {
            var threads = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
            {
                var outputs = new float[64 * FashionMlp.OutputSize];
                for (int i = 0; i < 50; i++)
                {
                    warm.SignalAndWait();
                    net.Predict(inputs, outputs);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }
        long allocated = 0;
        RunConcurrently(Threads, (t, running) =>
        {
            var outputs = new float[64 * FashionMlp.OutputSize];
            net.Predict(inputs, outputs);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++)
            {
                net.Predict(inputs, outputs);
            }
            Interlocked.Add(ref allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        });
        Assert.Equal(0, allocated);
    }

    /// <summary>
    /// Threads that train, compute gradients, fail to set a tensor and predict on one instance at batch 64 (data-parallel
    /// steps): every call succeeds, the model after the run is exactly the model of as many single-threaded steps (plain
    /// SGD on one batch, so the steps' order does not matter), and every prediction equals the prediction of the model
    /// after some number of those steps (never one of a model half-way through a step).
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Overlapping_training_calls_run_one_after_the_other_and_never_corrupt_the_model(int threads)
    {
        const int Batch = 64;
        var inputs = Random(Batch * FashionMlp.InputSize, 7);
        var labels = Labels(Batch, 8);
        var probe = Random(8 * FashionMlp.InputSize, 9);
        var net = new FashionMlp(maxBatch: Batch, seed: 2);
        var sgd = new Sgd(0.01f);
        float first = net.ComputeGradients(inputs, labels);
        var firstGradients = net.Gradients.ToArray();

        long steps = 0, gradients = 0;
        var predictions = new ConcurrentBag<float[]>();
        RunConcurrently(threads, (t, running) =>
        {
            var outputs = new float[8 * FashionMlp.OutputSize];
            var bias = new float[10];
            for (int i = 0; running() || i < 8; i++)
            {
                switch ((t + i) % 5)
                {
                    case 0:
                    case 1:
                        net.TrainStep(inputs, labels, sgd);
                        Interlocked.Increment(ref steps);
                        break;
                    case 2:
                        Assert.True(float.IsFinite(net.ComputeGradients(inputs, labels)));
                        net.CopyGradient("dense3.bias", bias);
                        Assert.All(bias, b => Assert.True(float.IsFinite(b)));
                        Interlocked.Increment(ref gradients);
                        break;
                    case 3:
                        net.Predict(probe, outputs);
                        predictions.Add((float[])outputs.Clone());
                        break;
                    default:
                        // A writing call that fails inside the gate must leave it open for the others. (A real SetTensor
                        // would make the final model depend on where it fell between the steps.)
                        net.CopyTensor("dense3.bias", bias);
                        var unknown = Assert.Throws<ArgumentException>(() => net.SetTensor("no.such.tensor", bias));
                        Assert.Contains("has no tensor 'no.such.tensor'", unknown.Message);
                        break;
                }
            }
        });

        // The same number of steps on one thread, recording the prediction after each.
        var reference = new FashionMlp(maxBatch: Batch, seed: 2);
        var referenceSgd = new Sgd(0.01f);
        Assert.Equal(first, reference.ComputeGradients(inputs, labels));
        Bitwise.AssertEqual(firstGradients, reference.Gradients.ToArray());
        var states = new List<float[]>();
        var referenceOutputs = new float[8 * FashionMlp.OutputSize];
        for (long s = 0; s <= steps; s++)
        {
            reference.Predict(probe, referenceOutputs);
            states.Add((float[])referenceOutputs.Clone());
            if (s < steps)
            {
                reference.TrainStep(inputs, labels, referenceSgd);
            }
        }
        Assert.True(steps > 0 && gradients > 0 && !predictions.IsEmpty, $"{steps} steps, {gradients} gradient calls, {predictions.Count} predictions");
        Bitwise.AssertEqual(reference.Parameters.ToArray(), net.Parameters.ToArray());
        foreach (var prediction in predictions)
        {
            Assert.Contains(states, state => state.AsSpan().SequenceEqual(prediction));
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Load_while_predicting_waits_its_turn_and_every_prediction_sees_one_whole_model(int threads)
    {
        var a = new FashionMlp(maxBatch: 32, seed: 11);
        var b = new FashionMlp(maxBatch: 32, seed: 12);
        var files = new[] { new MemoryStream(), new MemoryStream() };
        a.Save(files[0]);
        b.Save(files[1]);
        var probe = Random(32 * FashionMlp.InputSize, 3);
        var expected = new[] { new float[320], new float[320] };
        a.Predict(probe, expected[0]);
        b.Predict(probe, expected[1]);
        Assert.False(expected[0].AsSpan().SequenceEqual(expected[1]));

        var net = new FashionMlp(maxBatch: 32, seed: 11);
        long loads = 0, predictions = 0;
        RunConcurrently(threads, (t, running) =>
        {
            var outputs = new float[320];
            for (int i = 0; running() || i < 4; i++)
            {
                if (t == 0)
                {
                    // Each load reads its own copy of the bytes.
                    net.Load(new MemoryStream(files[i % 2].ToArray()));
                    Interlocked.Increment(ref loads);
                }
                else
                {
                    net.Predict(probe, outputs);
                    Assert.True(outputs.AsSpan().SequenceEqual(expected[0]) || outputs.AsSpan().SequenceEqual(expected[1]), "a torn model");
                    Interlocked.Increment(ref predictions);
                }
            }
        });
        Assert.True(loads > 0 && predictions > 0, $"{loads} loads, {predictions} predictions");
    }

    [Fact]
    public void A_writing_call_may_use_the_instance_on_its_own_thread()
    {
        // Load sets every tensor through SetTensor, Save reads them through CopyTensor: nested calls on the caller's thread.
        var net = new FashionMlp(seed: 1);
        var file = new MemoryStream();
        new FashionMlp(seed: 2).Save(file);
        file.Position = 0;
        net.Load(file);
        var expected = new FashionMlp(seed: 2);
        Bitwise.AssertEqual(expected.Parameters.ToArray(), net.Parameters.ToArray());
    }

    [Fact]
    public void The_gate_lets_readers_overlap_and_makes_a_writer_wait_for_them_and_readers_for_it()
    {
        var gate = new CallGate("Net");
        gate.EnterRead("Predict");
        RunOnAnotherThread(() => { gate.EnterRead("CopyTensor"); gate.ExitRead(); });

        // A writer waits for the reader; a reader that arrives while the writer waits, waits behind it.
        var order = new ConcurrentQueue<string>();
        var writer = new Thread(() => { gate.EnterWrite("Load"); order.Enqueue("write"); Thread.Sleep(50); gate.ExitWrite(); });
        writer.Start();
        Assert.False(writer.Join(200), "the writer did not wait for the reader");
        var reader = new Thread(() => { gate.EnterRead("Predict"); order.Enqueue("read"); gate.ExitRead(); });
        reader.Start();
        Assert.False(reader.Join(100), "a reader overtook the waiting writer");
        order.Enqueue("exit");
        gate.ExitRead();
        Assert.True(writer.Join(10_000) && reader.Join(10_000));
        Assert.Equal(["exit", "write", "read"], order.ToArray());

        // A writing call inside a reading call on the same thread would wait for itself: refused, naming both.
        gate.EnterRead("Save");
        var refused = Assert.Throws<InvalidOperationException>(() => gate.EnterWrite("SetTensor"));
        Assert.Equal("Net: SetTensor was called while Save was running on the same thread; a writing call cannot start inside a reading call of its own instance.", refused.Message);
        gate.ExitRead();

        // Nested calls on a writer's own thread go through (Load sets tensors through SetTensor).
        gate.EnterWrite("Load");
        gate.EnterWrite("SetTensor");
        gate.EnterRead("CopyTensor");
        gate.Wait("Parameters");
        gate.ExitRead();
        gate.ExitWrite();
        gate.ExitWrite();
        RunOnAnotherThread(() => { gate.EnterWrite("TrainStep"); gate.ExitWrite(); });
    }

    private static void RunOnAnotherThread(Action action)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        }
    }

    [Fact]
    public void The_pool_never_hands_one_item_to_two_callers()
    {
        int created = 0;
        var pool = new InstancePool<int[]>(() => new int[1] { Interlocked.Increment(ref created) });
        var inUse = new int[1000];
        RunConcurrently(8, (t, running) =>
        {
            for (int i = 0; running() || i < 1000; i++)
            {
                var item = pool.Rent();
                Assert.Equal(1, Interlocked.Increment(ref inUse[item[0]]));
                Thread.SpinWait(i % 50);
                Assert.Equal(0, Interlocked.Decrement(ref inUse[item[0]]));
                pool.Return(item);
            }
        });
        Assert.InRange(created, 1, 8);
    }
}
