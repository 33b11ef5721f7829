using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Backprop.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Backprop.Tests;

/// <summary>
/// PyTorch → here: <c>LoadStateDict</c> takes a plain state_dict saved as safetensors, with a map from module names to
/// layer names, for every layer kind; and the worked example of the route for jobs bigger than one machine
/// (Samples/PyTorchRoute: DistributedDataParallel on two processes, then Predict equal to PyTorch's outputs).
/// </summary>
public sealed class PyTorchImportTests(ITestOutputHelper output)
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "PyTorch", "backprop_torch.py");

    public static TheoryData<string> NetworkNames => [.. OnnxExportTests.Networks];

    /// <summary>A state_dict of <paramref name="network"/>'s own tensors under other names (and a counter, as PyTorch saves one).</summary>
    private static MemoryStream StateDict(INetwork network, Func<string, string> rename, Action<string, float[]>? change = null)
    {
        var tensors = new List<TensorInfo>();
        var data = new List<float>();
        foreach (var tensor in network.Tensors)
        {
            var values = new float[tensor.Length];
            network.CopyTensor(tensor.Name, values);
            change?.Invoke(tensor.Name, values);
            tensors.Add(new TensorInfo(rename(tensor.Name), tensor.Shape));
            data.AddRange(values);
        }
        var stream = new MemoryStream();
        SafeTensorsFile.Write(stream, tensors, data.ToArray());
        stream.Position = 0;
        return stream;
    }

    private static string Layer(string tensor) => tensor[..tensor.IndexOf('.')];

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void EveryLayerKindLoadsUnderAModuleMap(string name)
    {
        var source = TestData.Create(name, 3, 1);
        var target = TestData.Create(name, 3, 2);
        // PyTorch-style module paths: model.0, model.1, ... for the layers in order.
        var layers = source.Tensors.Select(t => Layer(t.Name)).Distinct().ToList();
        var map = layers.Select((layer, i) => (Module: $"model.{i}", Layer: layer)).ToDictionary(p => p.Module, p => p.Layer);
        var modules = map.ToDictionary(p => p.Value, p => p.Key);
        using var file = StateDict(source, tensor => modules[Layer(tensor)] + tensor[tensor.IndexOf('.')..]);
        target.LoadStateDict(file, map);
        Assert.Equal(source.Parameters.ToArray(), target.Parameters.ToArray());
        var (inputs, _, _) = TestData.Batch(source, new Random(3), 3);
        float[] expected = new float[3 * source.OutputSize], actual = new float[expected.Length];
        source.Predict(inputs, expected);
        target.Predict(inputs, actual);
        Bitwise.AssertEqual(expected, actual);
    }

    [Fact]
    public void MismatchesAreListedAndNothingChanges()
    {
        var network = new BatchNormCnn(4, 1);
        float[] before = network.Parameters.ToArray();
        using var file = StateDict(new BatchNormCnn(4, 2), tensor => tensor switch
        {
            "conv1.weight" => "features.0.weight",          // not mapped below: extra, and conv1.weight missing
            _ => tensor,
        });
        // Another shape: a state_dict of a different network under the same names.
        var tensors = SafeTensorsFile.Read(file).Tensors.ToList();
        var wrong = new List<TensorInfo>();
        var data = new List<float>();
        var read = SafeTensorsFile.Read(new MemoryStream(file.ToArray()));
        foreach (var tensor in tensors)
        {
            if (tensor.Name == "dense1.bias")
            {
                wrong.Add(new TensorInfo("dense1.bias", [8]));
                data.AddRange(new float[8]);
            }
            else if (tensor.Name == "bn1.running_var")
            {
                wrong.Add(tensor);
                data.AddRange(read.Get(tensor.Name).ToArray().Select(v => -v));
            }
            else
            {
                wrong.Add(tensor);
                data.AddRange(read.Get(tensor.Name).ToArray());
            }
        }
        wrong.Add(new TensorInfo("head.weight", [3]));
        data.AddRange(new float[3]);
        var stream = new MemoryStream();
        SafeTensorsFile.Write(stream, wrong, data.ToArray());
        stream.Position = 0;

        var error = Assert.Throws<InvalidDataException>(() => network.LoadStateDict(stream));
        output.WriteLine(error.Message);
        Assert.StartsWith("The state_dict does not match BatchNormCnn; nothing was loaded.", error.Message);
        Assert.Contains("Missing (the network has them, the file does not): conv1.weight [4, 3, 3, 3].", error.Message);
        Assert.Contains("Extra (in the file, no tensor of the network has the name; map its module to a layer): 'features.0.weight'; 'head.weight'.", error.Message);
        Assert.Contains("Mismatched: dense1.bias is [8] in the file; BatchNormCnn needs [7].", error.Message);
        Assert.Contains("Bad values: bn1.running_var holds the negative variance", error.Message);
        Assert.Equal(before, network.Parameters.ToArray());
    }

    [Fact]
    public void NonFiniteValuesAndAmbiguousNamesAreRefused()
    {
        var network = new SoftmaxNet(2, 1);
        float[] before = network.Parameters.ToArray();
        using var nan = StateDict(new SoftmaxNet(2, 2), t => t, (name, values) =>
        {
            if (name == "dense2.weight")
            {
                values[4] = float.NaN;
            }
        });
        var error = Assert.Throws<InvalidDataException>(() => network.LoadStateDict(nan));
        Assert.Contains("Bad values: dense2.weight holds NaN at index 4.", error.Message);

        using var file = StateDict(new SoftmaxNet(2, 2), t => t);
        var ambiguous = new Dictionary<string, string> { ["dense1"] = "dense2" };   // dense1.* and dense2.* both land on dense2.*
        error = Assert.Throws<InvalidDataException>(() => network.LoadStateDict(file, ambiguous));
        Assert.Contains("Ambiguous: 'dense1.weight' and 'dense2.weight' both map to 'dense2.weight'", error.Message);
        Assert.Equal(before, network.Parameters.ToArray());
    }

    [Fact]
    public void RenamingPrefersWholeNamesThenTheLongestModulePath()
    {
        var map = new Dictionary<string, string>
        {
            ["lstm.weight_ih_l1"] = "lstm2.weight_ih_l0",
            ["encoder"] = "outer",
            ["encoder.block"] = "inner",
        };
        Assert.Equal("lstm2.weight_ih_l0", PyTorchInterop.Rename("lstm.weight_ih_l1", map));
        Assert.Equal("lstm.weight_ih_l0", PyTorchInterop.Rename("lstm.weight_ih_l0", map));
        Assert.Equal("inner.weight", PyTorchInterop.Rename("encoder.block.weight", map));
        Assert.Equal("outer.blocks.weight", PyTorchInterop.Rename("encoder.blocks.weight", map));
        Assert.Equal("dense1.bias", PyTorchInterop.Rename("dense1.bias", null));
    }

    [Fact]
    public void CountersAreSkippedAndHalfPrecisionIsExplained()
    {
        var network = new BatchNormMlp(2, 1);
        var source = new BatchNormMlp(2, 2);
        using var saved = new MemoryStream();
        source.Save(saved);   // a Backprop.Gen file is a state_dict too, with bn1.num_batches_tracked as I64
        saved.Position = 0;
        network.LoadStateDict(saved);
        Assert.Equal(source.Parameters.ToArray(), network.Parameters.ToArray());

        byte[] header = System.Text.Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}");
        var half = new MemoryStream();
        half.Write(BitConverter.GetBytes((long)header.Length));
        half.Write(header);
        half.Write(new byte[4]);
        half.Position = 0;
        var error = Assert.Throws<InvalidDataException>(() => network.LoadStateDict(half));
        Assert.Contains("has dtype F16; only F32", error.Message);
        Assert.Contains("v.float()", error.Message);
    }

    /// <summary>
    /// Models made and initialized by PyTorch itself (backprop_torch.py builds the equivalent nn.Module of each network,
    /// randomizes its running statistics), their state_dict under a parent module, loaded here with a map: Predict agrees
    /// with PyTorch's float64 outputs on the same inputs for every layer kind.
    /// </summary>
    [SkippableFact]
    public void StateDictsWrittenByPyTorchLoadForEveryLayerKind()
    {
        Requirements.PyTorch();
        string directory = Directory.CreateTempSubdirectory("backprop-from-torch").FullName;
        try
        {
            foreach (string name in OnnxExportTests.Networks)
            {
                var network = TestData.Create(name, 4, 1);
                using var saved = new MemoryStream();
                network.Save(saved);
                saved.Position = 0;
                string architecture = SafeTensorsFile.Read(saved).Metadata["architecture"];
                string case_ = Path.Combine(directory, name);
                Directory.CreateDirectory(case_);
                File.WriteAllText(Path.Combine(case_, "architecture.json"), architecture);
                var (inputs, _, _) = TestData.Batch(network, new Random(9), 4);
                using (var stream = File.Create(Path.Combine(case_, "inputs.safetensors")))
                {
                    SafeTensorsFile.Write(stream, [new TensorInfo("inputs", [4, network.InputSize])], inputs);
                }
                var (exit, _, error) = Requirements.Run(Requirements.Python,
                    [Script, "from-torch", Path.Combine(case_, "architecture.json"), Path.Combine(case_, "inputs.safetensors"), case_, "backbone."], TimeSpan.FromMinutes(2));
                Assert.True(exit == 0, error);

                var map = network.Tensors.Select(t => Layer(t.Name)).Distinct().ToDictionary(layer => "backbone." + layer, layer => layer);
                network.LoadStateDict(Path.Combine(case_, "state.safetensors"), map);
                float[] expected = SafeTensorsFile.Read(Path.Combine(case_, "outputs.safetensors")).Get("outputs").ToArray();
                float[] actual = new float[expected.Length];
                network.Predict(inputs, actual);
                double relative = OnnxExportTests.RelativeError(expected, actual);
                output.WriteLine($"{name}: relative difference from PyTorch {relative:E2}");
                Assert.True(relative < 1e-5, $"{name}: Predict differs from PyTorch by {relative:E3} (relative).");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The worked example, end to end: Samples/PyTorchRoute/train_ddp.py trains FashionCnnBn's architecture with
    /// DistributedDataParallel on two processes (gloo, localhost) on part of Fashion-MNIST, saves its state_dict with the
    /// ten-line writer; loaded here with the sample's module map, Predict equals PyTorch's outputs within 1e-5.
    /// </summary>
    [SkippableFact]
    public void DistributedDataParallelModelLoadsAndPredictsAsInPyTorch()
    {
        Requirements.PyTorch();
        string data = Requirements.FashionMnist();
        string script = Path.Combine(AppContext.BaseDirectory, "PyTorch", "train_ddp.py");
        string directory = Directory.CreateTempSubdirectory("backprop-ddp").FullName;
        try
        {
            var (exit, stdout, error) = Requirements.Run(Requirements.Python,
                [script, "--out", directory, "--data", data, "--train-samples", "4096", "--epochs", "1"], TimeSpan.FromMinutes(5));
            Assert.True(exit == 0, stdout + error);
            output.WriteLine(stdout.Trim());

            var network = new FashionCnnBn(256, 0);
            network.LoadStateDict(Path.Combine(directory, "model.safetensors"), new Dictionary<string, string>
            {
                ["0"] = "conv1", ["3"] = "conv2", ["4"] = "bn1", ["8"] = "dense1", ["11"] = "dense2",
            });
            var check = SafeTensorsFile.Read(Path.Combine(directory, "check.safetensors"));
            float[] expected = check.Get("outputs").ToArray();
            float[] actual = new float[expected.Length];
            network.Predict(check.Get("inputs"), actual);
            double relative = OnnxExportTests.RelativeError(expected, actual);
            output.WriteLine($"{expected.Length / 10} images: relative difference from PyTorch {relative:E2}");
            Assert.True(relative < 1e-5, $"relative difference {relative:E3}");

            // The whole test set: the accuracy PyTorch measured, here (a few argmax ties may flip in float32).
            using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "pytorch.json")));
            double torchAccuracy = report.RootElement.GetProperty("test_accuracy").GetDouble();
            var test = ImageDataset.LoadMnistFormat(data, train: false);
            double accuracy = Trainer.Accuracy(network, test.Pixels, test.Labels);
            output.WriteLine($"test accuracy: PyTorch {torchAccuracy:P2}, here {accuracy:P2}");
            Assert.InRange(accuracy, torchAccuracy - 0.002, torchAccuracy + 0.002);
            Assert.True(torchAccuracy > 0.6, $"DDP training reached only {torchAccuracy:P2}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
