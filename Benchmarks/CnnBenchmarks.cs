using System;
using BenchmarkDotNet.Attributes;

namespace Backprop.Benchmarks;

/// <summary>
/// The PERF.md CNN (<see cref="BenchCnn"/>): one training step (forward, backward, SGD) and one prediction at batch 1,
/// 32 and 256 on one and two threads, and ONNX Runtime's prediction of the same architecture exported by PyTorch
/// (<c>Benchmarks/pytorch/bench_cnn.py --export-onnx</c>; its path comes from BACKPROP_ONNX_CNN).
/// </summary>
[MemoryDiagnoser]
public class CnnBenchmarks
{
    private BenchCnn _net = null!;
    private Sgd _sgd = null!;
    private float[] _inputs = [];
    private int[] _labels = [];
    private float[] _outputs = [];
    private OnnxPrediction? _onnx;

    [Params(1, 32, 256)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        _net = new BenchCnn(maxBatch: Batch, seed: 1) { MaxThreads = Threads };
        _sgd = new Sgd(0.01f);
        var random = new Random(7);
        _inputs = new float[Batch * BenchCnn.InputSize];
        for (int i = 0; i < _inputs.Length; i++)
        {
            _inputs[i] = (float)random.NextDouble();
        }
        _labels = new int[Batch];
        for (int i = 0; i < Batch; i++)
        {
            _labels[i] = random.Next(BenchCnn.OutputSize);
        }
        _outputs = new float[Batch * BenchCnn.OutputSize];
        _onnx = OnnxPrediction.Open("BACKPROP_ONNX_CNN", Threads, _inputs, [Batch, 1, 28, 28], _outputs, [Batch, BenchCnn.OutputSize]);
    }

    [GlobalCleanup]
    public void Cleanup() => _onnx?.Dispose();

    [Benchmark]
    public float TrainStep() => _net.TrainStep(_inputs, _labels, _sgd);

    [Benchmark]
    public void Predict() => _net.Predict(_inputs, _outputs);

    [Benchmark]
    public void OnnxRuntimePredict()
    {
        if (_onnx is null)
        {
            throw new InvalidOperationException("Set BACKPROP_ONNX_CNN to the ONNX file exported by Benchmarks/pytorch/bench_cnn.py --export-onnx.");
        }
        _onnx.Run();
    }
}
