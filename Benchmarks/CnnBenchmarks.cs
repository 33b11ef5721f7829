using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;

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
    private InferenceSession? _session;
    private RunOptions? _runOptions;
    private OrtValue[] _ortInputs = [];
    private OrtValue[] _ortOutputs = [];
    private readonly string[] _inputNames = ["input"];
    private readonly string[] _outputNames = ["logits"];

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
        string? model = Environment.GetEnvironmentVariable("BACKPROP_ONNX_CNN");
        if (model is not null && File.Exists(model))
        {
            var options = new SessionOptions
            {
                IntraOpNumThreads = Threads,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            _session = new InferenceSession(model, options);
            _runOptions = new RunOptions();
            _ortInputs = [OrtValue.CreateTensorValueFromMemory(_inputs, [Batch, 1, 28, 28])];
            _ortOutputs = [OrtValue.CreateTensorValueFromMemory(_outputs, [Batch, BenchCnn.OutputSize])];
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var value in _ortInputs)
        {
            value.Dispose();
        }
        foreach (var value in _ortOutputs)
        {
            value.Dispose();
        }
        _runOptions?.Dispose();
        _session?.Dispose();
    }

    [Benchmark]
    public float TrainStep() => _net.TrainStep(_inputs, _labels, _sgd);

    [Benchmark]
    public void Predict() => _net.Predict(_inputs, _outputs);

    [Benchmark]
    public void OnnxRuntimePredict()
    {
        if (_session is null)
        {
            throw new InvalidOperationException("Set BACKPROP_ONNX_CNN to the ONNX file exported by Benchmarks/pytorch/bench_cnn.py --export-onnx.");
        }
        _session.Run(_runOptions!, _inputNames, _ortInputs, _outputNames, _ortOutputs);
    }
}
