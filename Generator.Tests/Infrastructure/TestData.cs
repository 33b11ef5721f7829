using System;
using Backprop;

namespace Backprop.Tests.Infrastructure;

/// <summary>The networks of TestNetworks.cs by name, and random inputs and targets for them.</summary>
internal static class TestData
{
    public static readonly string[] GradientCheckNetworks =
        [nameof(SoftmaxNet), nameof(DeepNet), nameof(MultiLabelNet), nameof(RegressionNet), nameof(SoftmaxMseNet), nameof(LogitNet), nameof(WideNet), nameof(TinyNet),
         nameof(SmallCnn), nameof(PointwiseCnn), nameof(PoolFirstCnn), nameof(FlattenFirstNet), nameof(DropoutNet), nameof(DropoutCnn),
         nameof(BatchNormCnn), nameof(BatchNormFirstCnn), nameof(BatchNormMlp),
         nameof(RnnNet), nameof(StackedLstm), nameof(GruSequence), nameof(OneStepRecurrent), nameof(EmbeddingLstm), nameof(SequenceToSequence), nameof(PerStepDense), nameof(NormalizedNet)];

    /// <summary>The networks with recurrent layers or an embedding.</summary>
    public static readonly string[] RecurrentNetworks =
        [nameof(RnnNet), nameof(StackedLstm), nameof(GruSequence), nameof(OneStepRecurrent), nameof(EmbeddingLstm), nameof(SequenceToSequence), nameof(PerStepDense)];

    /// <summary>The vocabulary of the networks whose inputs are token ids (an embedding first), by type name.</summary>
    public static readonly System.Collections.Generic.Dictionary<string, int> Vocabularies = new()
    {
        [nameof(EmbeddingLstm)] = 5,
        [nameof(SequenceToSequence)] = 7,
    };

    /// <summary>The networks with batch normalization: their training pass sees the whole batch (no data-parallel shards).</summary>
    public static readonly string[] BatchNormNetworks = [nameof(BatchNormCnn), nameof(BatchNormFirstCnn), nameof(BatchNormMlp)];

    public static INetwork Create(string name, int maxBatch, int seed) => name switch
    {
        nameof(SoftmaxNet) => new SoftmaxNet(maxBatch, seed),
        nameof(DeepNet) => new DeepNet(maxBatch, seed),
        nameof(MultiLabelNet) => new MultiLabelNet(maxBatch, seed),
        nameof(RegressionNet) => new RegressionNet(maxBatch, seed),
        nameof(SoftmaxMseNet) => new SoftmaxMseNet(maxBatch, seed),
        nameof(LogitNet) => new LogitNet(maxBatch, seed),
        nameof(WideNet) => new WideNet(maxBatch, seed),
        nameof(TinyNet) => new TinyNet(maxBatch, seed),
        nameof(SmallCnn) => new SmallCnn(maxBatch, seed),
        nameof(PointwiseCnn) => new PointwiseCnn(maxBatch, seed),
        nameof(PoolFirstCnn) => new PoolFirstCnn(maxBatch, seed),
        nameof(FlattenFirstNet) => new FlattenFirstNet(maxBatch, seed),
        nameof(DropoutNet) => new DropoutNet(maxBatch, seed),
        nameof(DropoutCnn) => new DropoutCnn(maxBatch, seed),
        nameof(BatchNormCnn) => new BatchNormCnn(maxBatch, seed),
        nameof(BatchNormFirstCnn) => new BatchNormFirstCnn(maxBatch, seed),
        nameof(BatchNormMlp) => new BatchNormMlp(maxBatch, seed),
        nameof(RnnNet) => new RnnNet(maxBatch, seed),
        nameof(StackedLstm) => new StackedLstm(maxBatch, seed),
        nameof(GruSequence) => new GruSequence(maxBatch, seed),
        nameof(OneStepRecurrent) => new OneStepRecurrent(maxBatch, seed),
        nameof(EmbeddingLstm) => new EmbeddingLstm(maxBatch, seed),
        nameof(SequenceToSequence) => new SequenceToSequence(maxBatch, seed),
        nameof(PerStepDense) => new PerStepDense(maxBatch, seed),
        nameof(WideGru) => new WideGru(maxBatch, seed),
        nameof(NormalizedNet) => Normalized(new NormalizedNet(maxBatch, seed)),
        nameof(NormalizedSequence) => Normalized(new NormalizedSequence(maxBatch, seed)),
        nameof(LateNormalization) => Normalized(new LateNormalization(maxBatch, seed)),
        nameof(XorNet) => new XorNet(maxBatch, seed),
        nameof(SpiralNet) => new SpiralNet(maxBatch, seed),
        nameof(FashionMlp) => new FashionMlp(maxBatch, seed),
        nameof(FashionCnn) => new FashionCnn(maxBatch, seed),
        nameof(FashionCnnBn) => new FashionCnnBn(maxBatch, seed),
        _ => throw new ArgumentException("Unknown test network " + name),
    };

    /// <summary>A normalized network with statistics that are not the identity (as if fitted), so every test sees them act.</summary>
    private static NormalizedNet Normalized(NormalizedNet net)
    {
        net.SetTensor("normalization1.mean", [0.5f, -0.25f, 0f, 1f, -1f]);
        net.SetTensor("normalization1.variance", [4f, 0.25f, 0f, 1f, 2.5f]);    // a constant feature (0) divides by 1
        net.SetTensor("middle.mean", [0.1f, 0.2f, 0.3f, -0.1f, -0.2f, 0f]);
        net.SetTensor("middle.variance", [0.5f, 1.5f, 2f, 0.1f, 1f, 3f]);
        return net;
    }

    /// <summary>Statistics of 4 steps x 3 features, one of them constant (variance 0).</summary>
    private static NormalizedSequence Normalized(NormalizedSequence net)
    {
        net.SetTensor("normalization1.mean", [0.5f, -0.25f, 0f, 1f, -1f, 0.3f, 0.2f, 0.1f, 0f, -0.5f, 2f, -2f]);
        net.SetTensor("normalization1.variance", [4f, 0.25f, 0f, 1f, 2.5f, 0.5f, 3f, 0.2f, 1.5f, 1f, 0.7f, 9f]);
        return net;
    }

    /// <summary>Statistics of 4 steps x 5 units (after a per-step dense layer), one of them constant.</summary>
    private static LateNormalization Normalized(LateNormalization net)
    {
        float[] mean = new float[20], variance = new float[20];
        for (int i = 0; i < 20; i++)
        {
            mean[i] = 0.1f * (i % 7) - 0.3f;
            variance[i] = i == 6 ? 0f : 0.2f + 0.15f * (i % 5);
        }
        net.SetTensor("normalization1.mean", mean);
        net.SetTensor("normalization1.variance", variance);
        return net;
    }

    /// <summary>Uniform values in [-scale, scale].</summary>
    public static float[] Uniform(Random random, int count, float scale = 1.5f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        }
        return values;
    }

    /// <summary>A batch for the network's loss: labels for cross-entropy, targets in [0, 1] for BCE, any for MSE.</summary>
    public static (float[] Inputs, int[]? Labels, float[]? Targets) Batch(INetwork network, Random random, int batch)
    {
        float[] inputs = Uniform(random, batch * network.InputSize);
        if (Vocabularies.TryGetValue(network.GetType().Name, out int vocabulary))
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                inputs[i] = random.Next(vocabulary);
            }
        }
        switch (network.Loss)
        {
            case Loss.SoftmaxCrossEntropy:
                var labels = new int[batch];
                for (int i = 0; i < batch; i++)
                {
                    labels[i] = random.Next(network.OutputSize);
                }
                return (inputs, labels, null);
            case Loss.BinaryCrossEntropy:
                var probabilities = new float[batch * network.OutputSize];
                for (int i = 0; i < probabilities.Length; i++)
                {
                    probabilities[i] = (float)random.NextDouble();
                }
                return (inputs, null, probabilities);
            default:
                return (inputs, null, Uniform(random, batch * network.OutputSize, 1f));
        }
    }

    public static float ComputeGradients(INetwork network, float[] inputs, int[]? labels, float[]? targets)
        => labels is not null ? network.ComputeGradients(inputs, labels) : network.ComputeGradients(inputs, targets!);

    public static float TrainStep(INetwork network, float[] inputs, int[]? labels, float[]? targets, Optimizer optimizer)
        => labels is not null ? network.TrainStep(inputs, labels, optimizer) : network.TrainStep(inputs, targets!, optimizer);

    public static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);
}
