using System;
using BenchmarkDotNet.Attributes;

namespace Backprop.Benchmarks;

/// <summary>
/// The recurrent issue's GRU and LSTM (<see cref="BenchGru"/>, <see cref="BenchLstm"/>: 28 steps of 28 features, 128
/// units, Dense 10): one training step (forward, backpropagation through time, SGD) at batch 32 and one prediction at
/// batch 1 and 32, one thread. The PyTorch peer is <c>Benchmarks/pytorch/bench_rnn.py</c>.
/// </summary>
[MemoryDiagnoser]
public class RecurrentBenchmarks
{
    private INetwork _net = null!;
    private Sgd _sgd = null!;
    private float[] _inputs = [];
    private int[] _labels = [];
    private float[] _outputs = [];

    [Params("gru", "lstm")]
    public string Cell { get; set; } = "gru";

    [Params(1, 32)]
    public int Batch { get; set; } = 32;

    [GlobalSetup]
    public void Setup()
    {
        _net = Cell == "gru" ? new BenchGru(Batch, seed: 1) { MaxThreads = 1 } : new BenchLstm(Batch, seed: 1) { MaxThreads = 1 };
        _sgd = new Sgd(0.01f);
        var random = new Random(7);
        _inputs = new float[Batch * _net.InputSize];
        for (int i = 0; i < _inputs.Length; i++)
        {
            _inputs[i] = (float)random.NextDouble();
        }
        _labels = new int[Batch];
        for (int i = 0; i < Batch; i++)
        {
            _labels[i] = random.Next(_net.OutputSize);
        }
        _outputs = new float[Batch * _net.OutputSize];
    }

    [Benchmark]
    public float TrainStep() => _net.TrainStep(_inputs, _labels, _sgd);

    [Benchmark]
    public void Predict() => _net.Predict(_inputs, _outputs);
}
