using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Backprop.Tests.Infrastructure;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Frozen layers (transfer learning): a frozen tensor gets no gradient and no update on every path a step can take
/// (the update fused into the backward pass, a whole-block step after clipping, a rule that is not element-wise, a
/// data-parallel step), unchanged to the bit; the layers around it train exactly as they would otherwise.
/// </summary>
public class FreezingTests
{
    public enum StepPath { Fused, Clipped, NotElementWise, DataParallel }

    public static TheoryData<string, StepPath> Cases()
    {
        var cases = new TheoryData<string, StepPath>();
        foreach (string name in TestData.GradientCheckNetworks)
        {
            foreach (var path in Enum.GetValues<StepPath>())
            {
                cases.Add(name, path);
            }
        }
        return cases;
    }

    /// <summary>A rule that is element-wise in fact but not declared so: its step runs on the whole block (decoupled weight decay and SGD).</summary>
    private sealed class DecayingSgd(float learningRate) : Optimizer(learningRate)
    {
        protected override void AllocateState(int length)
        {
        }

        protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                parameters[i] -= LearningRate * (gradients[i] + 0.1f * parameters[i]);
            }
        }
    }

    private static Optimizer Create(StepPath path) => path switch
    {
        StepPath.Clipped => new AdamW(0.01f, weightDecay: 0.1f) { MaxGradientNorm = 1e6f },
        StepPath.NotElementWise => new DecayingSgd(0.05f),
        _ => new AdamW(0.01f, weightDecay: 0.1f),
    };

    private static INetwork Network(string name, StepPath path)
    {
        var network = TestData.Create(name, maxBatch: 32, seed: 5);
        ((dynamic)network).MaxThreads = path == StepPath.DataParallel ? 2 : 1;
        return network;
    }

    /// <summary>The layers with trainable tensors, in order.</summary>
    private static List<string> TrainableLayers(INetwork network)
        => network.Tensors.Where(t => t.Trainable).Select(t => t.Name[..t.Name.IndexOf('.')]).Distinct().ToList();

    private static Dictionary<string, float[]> Snapshot(INetwork network, Func<TensorInfo, bool> which)
        => network.Tensors.Where(which).ToDictionary(t => t.Name, t =>
        {
            var values = new float[t.Length];
            network.CopyTensor(t.Name, values);
            return values;
        });

    private static bool InLayer(TensorInfo tensor, string layer) => tensor.Name.StartsWith(layer + ".", StringComparison.Ordinal);

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_frozen_first_layer_stays_to_the_bit_and_the_rest_steps_as_without_it(string name, StepPath path)
    {
        var network = Network(name, path);
        var twin = Network(name, path);
        string frozen = TrainableLayers(network)[0];
        network.Freeze(frozen);
        Assert.True(network.IsFrozen(frozen));
        var before = Snapshot(network, t => InLayer(t, frozen));
        Assert.Equal(before.Keys, network.FrozenTensors);

        Optimizer optimizer = Create(path), twinOptimizer = Create(path);
        var random = new Random(11);
        for (int step = 0; step < 3; step++)
        {
            var (inputs, labels, targets) = TestData.Batch(network, random, 32);
            float loss = TestData.TrainStep(network, inputs, labels, targets, optimizer);
            Assert.True(float.IsFinite(loss));
            foreach (var tensor in network.Tensors.Where(t => InLayer(t, frozen) && t.Trainable))
            {
                var gradient = new float[tensor.Length];
                network.CopyGradient(tensor.Name, gradient);
                Assert.All(gradient, g => Assert.Equal(0f, g));
            }
            if (step == 0)
            {
                // The frozen layer still holds its initial weights, so every other tensor took the twin's step exactly.
                TestData.TrainStep(twin, inputs, labels, targets, twinOptimizer);
                var expected = Snapshot(twin, t => !InLayer(t, frozen));
                foreach (var (tensor, values) in Snapshot(network, t => !InLayer(t, frozen)))
                {
                    Bitwise.AssertEqual(expected[tensor], values);
                }
            }
        }
        foreach (var (tensor, values) in Snapshot(network, t => InLayer(t, frozen)))
        {
            Bitwise.AssertEqual(before[tensor], values);
        }
        var initial = Snapshot(Network(name, path), t => t.Trainable && !InLayer(t, frozen));
        Assert.Contains(Snapshot(network, t => t.Trainable && !InLayer(t, frozen)), pair => !pair.Value.SequenceEqual(initial[pair.Key]));
    }

    [Theory]
    [MemberData(nameof(GradientCheckNames))]
    public void A_frozen_middle_layer_passes_the_gradient_through_to_the_layers_below(string name)
    {
        var network = TestData.Create(name, maxBatch: 8, seed: 7);
        var twin = TestData.Create(name, maxBatch: 8, seed: 7);
        var layers = TrainableLayers(network);
        if (layers.Count < 3)
        {
            return; // no middle layer: the first-layer theory covers this network
        }
        network.Freeze(layers[1]);
        var (inputs, labels, targets) = TestData.Batch(network, new Random(3), 8);
        Assert.Equal(TestData.ComputeGradients(twin, inputs, labels, targets), TestData.ComputeGradients(network, inputs, labels, targets));
        bool twinMoves = false;
        foreach (var tensor in network.Tensors.Where(t => t.Trainable))
        {
            float[] mine = new float[tensor.Length], theirs = new float[tensor.Length];
            network.CopyGradient(tensor.Name, mine);
            twin.CopyGradient(tensor.Name, theirs);
            if (InLayer(tensor, layers[1]))
            {
                Assert.All(mine, g => Assert.Equal(0f, g));
                twinMoves |= theirs.Any(g => g != 0f);
            }
            else
            {
                Bitwise.AssertEqual(theirs, mine);
            }
        }
        Assert.True(twinMoves, "the unfrozen twin's gradient of the middle layer is all zero: the test shows nothing");
    }

    public static TheoryData<string> GradientCheckNames() => new(TestData.GradientCheckNetworks);

    [Fact]
    public void A_frozen_batch_norm_keeps_its_running_statistics_and_unfreezing_trains_again()
    {
        var network = new BatchNormCnn(maxBatch: 16, seed: 2);
        network.Freeze("bn1");
        var before = Snapshot(network, t => InLayer(t, "bn1"));
        Assert.Contains(before.Keys, key => key.EndsWith("running_var", StringComparison.Ordinal));
        var optimizer = new Sgd(0.1f, momentum: 0.9f);
        var random = new Random(4);
        for (int step = 0; step < 3; step++)
        {
            var (inputs, labels, targets) = TestData.Batch(network, random, 16);
            TestData.TrainStep(network, inputs, labels, targets, optimizer);
        }
        foreach (var (tensor, values) in Snapshot(network, t => InLayer(t, "bn1")))
        {
            Bitwise.AssertEqual(before[tensor], values);
        }

        network.Unfreeze();
        Assert.Empty(network.FrozenTensors);
        var (x, y, z) = TestData.Batch(network, random, 16);
        TestData.TrainStep(network, x, y, z, optimizer);
        var after = Snapshot(network, t => InLayer(t, "bn1"));
        Assert.All(before, pair => Assert.NotEqual(pair.Value, after[pair.Key]));
    }

    [Fact]
    public void Freezing_everything_leaves_every_tensor_as_it_was_and_still_reports_the_loss()
    {
        var network = new FashionCnnBn(maxBatch: 8, seed: 1);
        network.Freeze();
        Assert.True(network.Tensors.All(t => network.IsFrozen(t.Name)));
        var before = Snapshot(network, _ => true);
        var (inputs, labels, _) = TestData.Batch(network, new Random(1), 8);
        float loss = network.TrainStep(inputs, labels, new Adam(0.1f));
        Assert.True(loss > 0f);
        foreach (var (tensor, values) in Snapshot(network, _ => true))
        {
            Bitwise.AssertEqual(before[tensor], values);
        }
        Assert.All(network.Gradients.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void A_name_that_is_neither_a_layer_nor_a_parameter_is_refused_and_nothing_freezes()
    {
        var network = new FashionCnnBn(maxBatch: 8, seed: 1);
        var error = Assert.Throws<ArgumentException>(() => network.Freeze("conv1", "conv9"));
        Assert.Contains("'conv9'", error.Message);
        Assert.Contains("conv1, conv2, bn1, dense1, dense2", error.Message);
        Assert.Empty(network.FrozenTensors);

        error = Assert.Throws<ArgumentException>(() => network.Freeze("bn1.running_mean"));
        Assert.Contains("Freeze(\"bn1\")", error.Message);
        Assert.Throws<ArgumentException>(() => network.IsFrozen("nothing"));

        network.Freeze("conv2.weight");
        Assert.Equal(["conv2.weight"], network.FrozenTensors);
        Assert.False(network.IsFrozen("conv2"));
        Assert.True(network.IsFrozen("conv2.weight"));
    }

    [Fact]
    public void Matching_tensors_transfer_between_networks_and_a_new_head_keeps_its_own()
    {
        var trained = new SmallCnn(maxBatch: 4, seed: 1);
        var target = new SmallCnnFiveClasses(maxBatch: 4, seed: 2);
        var head = Snapshot(target, t => InLayer(t, "dense1"));

        var report = target.CopyMatching(trained);

        Assert.Equal(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"], report.Loaded);
        Assert.Equal(["dense1.weight: [3, 36] in the source, [5, 36] here", "dense1.bias: [3] in the source, [5] here"], report.Skipped);
        var source = Snapshot(trained, t => t.Name.StartsWith("conv", StringComparison.Ordinal));
        foreach (var (tensor, values) in Snapshot(target, t => t.Name.StartsWith("conv", StringComparison.Ordinal)))
        {
            Bitwise.AssertEqual(source[tensor], values);
        }
        foreach (var (tensor, values) in Snapshot(target, t => InLayer(t, "dense1")))
        {
            Bitwise.AssertEqual(head[tensor], values);
        }
    }

    [Fact]
    public void Matching_tensors_load_from_a_file_and_a_bad_or_foreign_file_changes_nothing()
    {
        string directory = Directory.CreateTempSubdirectory("backprop-transfer").FullName;
        try
        {
            var trained = new SmallCnn(maxBatch: 4, seed: 1);
            string path = Path.Combine(directory, "small.safetensors");
            trained.Save(path);
            var target = new SmallCnnFiveClasses(maxBatch: 4, seed: 2);
            var report = target.LoadMatching(path);
            Assert.Equal(4, report.Loaded.Count);
            var conv = new float[trained.Tensors[0].Length];
            trained.CopyTensor("conv1.weight", conv);
            var loaded = new float[conv.Length];
            target.CopyTensor("conv1.weight", loaded);
            Bitwise.AssertEqual(conv, loaded);

            // A NaN in a matching tensor: refused before anything is set.
            var fresh = new SmallCnnFiveClasses(maxBatch: 4, seed: 3);
            var before = Snapshot(fresh, _ => true);
            var bias = new float[trained.Tensors[3].Length];
            bias[1] = float.NaN;
            string poisoned = Path.Combine(directory, "poisoned.safetensors");
            using (var stream = File.Create(poisoned))
            {
                var values = new float[trained.Tensors[0].Length + bias.Length];
                conv.CopyTo(values, 0);
                bias.CopyTo(values, conv.Length);
                SafeTensorsFile.Write(stream, [trained.Tensors[0], trained.Tensors[3]], values);
            }
            var error = Assert.Throws<InvalidDataException>(() => fresh.LoadMatching(poisoned));
            Assert.Contains("'conv2.bias' holds NaN at index 1", error.Message);

            // A model with no tensor of these names and shapes.
            string foreign = Path.Combine(directory, "foreign.safetensors");
            new FashionMlp(maxBatch: 1, seed: 1).Save(foreign);
            Assert.Throws<InvalidDataException>(() => fresh.LoadMatching(foreign));
            foreach (var (tensor, values) in Snapshot(fresh, _ => true))
            {
                Bitwise.AssertEqual(before[tensor], values);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void SelectClasses_relabels_by_position_and_draws_at_most_so_many_of_each_class()
    {
        // Ten 1x2 images: labels 0..4 twice; pixel values name the image.
        var labels = new[] { 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 };
        var pixels = Enumerable.Range(0, 20).Select(i => (float)(i / 2)).ToArray();
        var data = new ImageDataset(pixels, labels, 1, 2);

        var subset = data.SelectClasses([3, 1]);
        Assert.Equal([1, 0, 1, 0], subset.Labels);          // class 3 is 0, class 1 is 1; dataset order kept
        Assert.Equal([1f, 1f, 3f, 3f, 6f, 6f, 8f, 8f], subset.Pixels);

        var few = data.SelectClasses([3, 1], perClass: 1, seed: 4);
        Assert.Equal(2, few.Count);
        Assert.Equal(1, few.Labels.Count(l => l == 0));
        Assert.Equal(1, few.Labels.Count(l => l == 1));
        Assert.Equal(few.Pixels, data.SelectClasses([3, 1], perClass: 1, seed: 4).Pixels);
        Assert.Throws<ArgumentException>(() => data.SelectClasses([1, 1]));
        Assert.Throws<ArgumentException>(() => data.SelectClasses([1], perClass: 0));
    }

    [Fact]
    public void Running_statistics_and_counters_follow_their_layer_not_its_weight()
    {
        var network = new BatchNormCnn(maxBatch: 16, seed: 2);
        long Counter()
        {
            using var file = new MemoryStream();
            network.Save(file);
            file.Position = 0;
            return SafeTensorsFile.Read(file).GetInt64("bn1.num_batches_tracked")[0];
        }
        var random = new Random(6);
        void Steps(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var (inputs, labels, targets) = TestData.Batch(network, random, 16);
                TestData.TrainStep(network, inputs, labels, targets, new Sgd(0.05f));
            }
        }

        // The weight frozen alone: the statistics and the counter still move.
        network.Freeze("bn1.weight");
        Assert.False(network.IsFrozen("bn1.running_mean"));
        var before = Snapshot(network, t => t.Name == "bn1.running_mean");
        Steps(2);
        Assert.NotEqual(before["bn1.running_mean"], Snapshot(network, t => t.Name == "bn1.running_mean")["bn1.running_mean"]);
        Assert.Equal(2, Counter());

        // The layer frozen: statistics and counter stay; unfreezing its weight alone does not release them.
        network.Freeze("bn1");
        network.Unfreeze("bn1.weight");
        Assert.True(network.IsFrozen("bn1.running_var"));
        before = Snapshot(network, t => InLayer(t, "bn1") && !t.Trainable);
        Steps(2);
        foreach (var (tensor, values) in Snapshot(network, t => InLayer(t, "bn1") && !t.Trainable))
        {
            Bitwise.AssertEqual(before[tensor], values);
        }
        Assert.Equal(2, Counter());
        Assert.Throws<ArgumentNullException>(() => network.Freeze(null!));
    }

    [Fact]
    public void A_source_holding_a_nan_transfers_nothing()
    {
        var source = new SmallCnn(maxBatch: 4, seed: 1);
        var target = new SmallCnnFiveClasses(maxBatch: 4, seed: 2);
        var before = Snapshot(target, _ => true);
        int conv2Bias = source.Tensors.Where(t => t.Trainable).TakeWhile(t => t.Name != "conv2.bias").Sum(t => t.Length);
        source.Parameters[conv2Bias + 1] = float.NaN; // through the raw span: SetTensor would refuse it
        var error = Assert.Throws<ArgumentException>(() => target.CopyMatching(source));
        Assert.Contains("'conv2.bias' holds NaN at index 1", error.Message);
        foreach (var (tensor, values) in Snapshot(target, _ => true))
        {
            Bitwise.AssertEqual(before[tensor], values);
        }
    }
}
