using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Backprop.Tests.Infrastructure;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace Backprop.Tests;

/// <summary>
/// ONNX export: every layer kind's graph, run by ONNX Runtime (the NuGet package), gives what Predict gives, and the file
/// passes onnx.checker (Debian's python3-onnx) with the network's tensors as initializers under their PyTorch names.
/// </summary>
public sealed class OnnxExportTests(ITestOutputHelper output)
{
    /// <summary>Every layer kind and activation: dense, convolutional, pooling, batch normalization, dropout, recurrent, embedding, normalization.</summary>
    public static readonly string[] Networks =
        [.. TestData.GradientCheckNetworks, nameof(NormalizedSequence), nameof(LateNormalization), nameof(WideGru), nameof(FashionMlp), nameof(FashionCnn), nameof(FashionCnnBn)];

    public static TheoryData<string> NetworkNames => [.. Networks];

    private const int Batch = 5;

    /// <summary>
    /// A network after three training steps (so running statistics and weights are not their initial values), with its
    /// Predict outputs for a fresh batch.
    /// </summary>
    private static (INetwork Network, float[] Inputs, float[] Expected) Trained(string name)
    {
        var network = TestData.Create(name, Batch, 4);
        var random = new Random(11);
        var sgd = new Sgd(0.05f);
        for (int step = 0; step < 3; step++)
        {
            var (x, labels, targets) = TestData.Batch(network, random, Batch);
            TestData.TrainStep(network, x, labels, targets, sgd);
        }
        var (inputs, _, _) = TestData.Batch(network, random, Batch);
        var expected = new float[Batch * network.OutputSize];
        network.Predict(inputs, expected);
        return (network, inputs, expected);
    }

    private static float[] RunOnnxRuntime(byte[] model, INetwork network, float[] inputs, int batch)
    {
        using var session = new InferenceSession(model);
        int[] dims = [batch, .. network.InputShape];
        var input = new DenseTensor<float>(inputs, dims);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var result = results.Single(r => r.Name == "output").AsTensor<float>();
        Assert.Equal([batch, .. network.OutputShape], result.Dimensions.ToArray());
        return result.ToArray();
    }

    /// <summary>max |a − b| over max |b|: the error relative to the outputs' scale.</summary>
    internal static double RelativeError(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double error = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            error = Math.Max(error, Math.Abs((double)expected[i] - actual[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
        }
        return error / Math.Max(scale, 1e-30);
    }

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void OnnxRuntimeAgreesWithPredict(string name)
    {
        var (network, inputs, expected) = Trained(name);
        using var stream = new MemoryStream();
        network.ExportOnnx(stream);
        float[] actual = RunOnnxRuntime(stream.ToArray(), network, inputs, Batch);
        double error = RelativeError(expected, actual);
        output.WriteLine($"{name}: relative error {error:E2} over {expected.Length} outputs");
        Assert.True(error < 1e-5, $"{name}: ONNX Runtime differs from Predict by {error:E3} (relative), more than 1e-5.");
    }

    [Fact]
    public void OneSampleAndAFileOnDisk()
    {
        var (network, inputs, expected) = Trained(nameof(BatchNormCnn));
        string directory = Directory.CreateTempSubdirectory("backprop-onnx").FullName;
        try
        {
            string path = Path.Combine(directory, "model.onnx");
            network.ExportOnnx(path);
            Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(directory).Select(Path.GetFileName));
            int size = network.InputSize;
            float[] one = RunOnnxRuntime(File.ReadAllBytes(path), network, inputs[..size], 1);
            Assert.True(RelativeError(expected[..network.OutputSize], one) < 1e-5);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void MetadataCarriesTheArchitecture()
    {
        var network = new GruSequence(2, 1);
        using var stream = new MemoryStream();
        network.ExportOnnx(stream);
        using var session = new InferenceSession(stream.ToArray());
        var metadata = session.ModelMetadata;
        Assert.Equal("Backprop.Gen", metadata.ProducerName);
        Assert.Equal(nameof(GruSequence), metadata.GraphName);
        Assert.Equal(nameof(GruSequence), metadata.CustomMetadataMap["backprop.network"]);
        Assert.StartsWith("{\"input\":[6,2],\"loss\":\"MeanSquaredError\",\"layers\":[{\"kind\":\"Gru\",\"name\":\"gru1\",\"units\":5,\"return_sequences\":true}",
            metadata.CustomMetadataMap["backprop.architecture"]);
        Assert.Equal(["input"], session.InputMetadata.Keys);
        Assert.Equal(["output"], session.OutputMetadata.Keys);
        Assert.Equal([-1, 6, 2], session.InputMetadata["input"].Dimensions);
        Assert.Equal(["batch", "", ""], session.InputMetadata["input"].SymbolicDimensions);
        Assert.Equal([-1, 3], session.OutputMetadata["output"].Dimensions);   // Dense without PerStep flattens the sequence
    }

    [Fact]
    public void ExportingLeavesTheNetworkAsItWas()
    {
        var (network, inputs, expected) = Trained(nameof(BatchNormMlp));
        float[] parameters = network.Parameters.ToArray();
        network.ExportOnnx(new MemoryStream());
        Assert.Equal(parameters, network.Parameters.ToArray());
        var again = new float[expected.Length];
        network.Predict(inputs, again);
        Bitwise.AssertEqual(expected, again);
    }

    /// <summary>
    /// onnx.checker with full_check (type and shape inference) on every network's file, and the initializers: the
    /// network's tensors under their PyTorch names, each with its PyTorch shape, plus constants named after a layer.
    /// </summary>
    [SkippableFact]
    public void OnnxCheckerAcceptsEveryExport()
    {
        Requirements.PythonOnnx();
        string directory = Directory.CreateTempSubdirectory("backprop-onnx-check").FullName;
        try
        {
            var expected = new Dictionary<string, INetwork>();
            foreach (string name in Networks)
            {
                var (network, _, _) = Trained(name);
                network.ExportOnnx(Path.Combine(directory, name + ".onnx"));
                expected[name] = network;
            }
            const string Script = """
                import glob, json, os, sys
                import onnx
                report = {}
                for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx"))):
                    model = onnx.load(path)
                    onnx.checker.check_model(model, full_check=True)
                    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
                    out = inferred.graph.output[0].type.tensor_type.shape.dim
                    report[os.path.basename(path)[:-5]] = {
                        "opset": [o.version for o in model.opset_import],
                        "ir": model.ir_version,
                        "initializers": {t.name: list(t.dims) for t in model.graph.initializer},
                        "output": [d.dim_param or d.dim_value for d in out],
                    }
                print(json.dumps(report))
                """;
            var (exit, stdout, stderr) = Requirements.Run(Requirements.Python, ["-c", Script, directory], TimeSpan.FromMinutes(3));
            Assert.True(exit == 0, "onnx.checker failed: " + stderr);
            using var report = System.Text.Json.JsonDocument.Parse(stdout);
            foreach (var (name, network) in expected)
            {
                var entry = report.RootElement.GetProperty(name);
                Assert.Equal(17, entry.GetProperty("opset")[0].GetInt32());
                Assert.Equal(8, entry.GetProperty("ir").GetInt32());
                var initializers = entry.GetProperty("initializers").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
                foreach (var tensor in network.Tensors)
                {
                    Assert.True(initializers.TryGetValue(tensor.Name, out var dims), $"{name}: no initializer '{tensor.Name}'");
                    Assert.Equal(tensor.Shape, dims);
                }
                Assert.All(initializers.Keys.Where(k => !network.Tensors.Any(t => t.Name == k)), k => Assert.Contains('/', k));
                var shape = entry.GetProperty("output").EnumerateArray().ToArray();
                Assert.Equal("batch", shape[0].GetString());
                Assert.Equal(network.OutputShape, shape[1..].Select(d => d.GetInt32()));
            }
            output.WriteLine($"onnx.checker (full_check) and strict shape inference passed on {expected.Count} exports.");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
