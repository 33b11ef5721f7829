using System;
using System.IO;
using Microsoft.ML.OnnxRuntime;

namespace Backprop.Benchmarks;

/// <summary>
/// ONNX Runtime's fastest call for a benchmark: one session (sequential, every graph optimization, the given intra-op
/// threads) and <c>OrtValue</c>s over the benchmark's own pre-allocated input and output arrays, so a call copies and
/// allocates as little as the runtime allows.
/// </summary>
internal sealed class OnnxPrediction : IDisposable
{
    private static readonly string[] s_inputNames = ["input"];
    private static readonly string[] s_outputNames = ["logits"];
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[] _inputs;
    private readonly OrtValue[] _outputs;

    private OnnxPrediction(string model, int threads, float[] inputs, long[] inputShape, float[] outputs, long[] outputShape)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(model, options);
        _inputs = [OrtValue.CreateTensorValueFromMemory(inputs, inputShape)];
        _outputs = [OrtValue.CreateTensorValueFromMemory(outputs, outputShape)];
    }

    /// <summary>The session for the model named by the environment variable, or null when it names no file.</summary>
    public static OnnxPrediction? Open(string variable, int threads, float[] inputs, long[] inputShape, float[] outputs, long[] outputShape)
        => Environment.GetEnvironmentVariable(variable) is { } model && File.Exists(model)
            ? new OnnxPrediction(model, threads, inputs, inputShape, outputs, outputShape)
            : null;

    /// <summary>One prediction from the input array into the output array.</summary>
    public void Run() => _session.Run(_runOptions, s_inputNames, _inputs, s_outputNames, _outputs);

    public void Dispose()
    {
        foreach (var value in _inputs)
        {
            value.Dispose();
        }
        foreach (var value in _outputs)
        {
            value.Dispose();
        }
        _runOptions.Dispose();
        _session.Dispose();
    }
}
