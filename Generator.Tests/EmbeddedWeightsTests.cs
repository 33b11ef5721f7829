using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Threading;
using Backprop.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// <c>[Network(Weights = ...)]</c> in memory: the header file the build targets write (simulated here; the targets
/// themselves run in .ci/consumer-check and in the AotClassifier publish), the generator's loader over an embedded
/// resource, and BPG0018 for every way the file can be wrong.
/// </summary>
public sealed class EmbeddedWeightsTests
{
    private const string Declaration = """
        using Backprop;
        namespace Demo;
        [Network(Loss = Loss.SoftmaxCrossEntropy, Weights = "models/w.safetensors")]
        [Input(7)]
        [Dense(13, Activation = Activation.Relu)]
        [Dense(5, Activation = Activation.Softmax)]
        public partial class Embedded;
        """;

    private sealed class Text(string path, string text) : AdditionalText
    {
        public override string Path => path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text, Encoding.UTF8);
    }

    /// <summary>The header file as the build targets write it for <paramref name="declared"/> with these file bytes (null: missing).</summary>
    private static AdditionalText Header(string declared, byte[]? file, string status = "ok", string reason = "")
    {
        string json = "";
        if (file is not null && status == "ok")
        {
            long length = BitConverter.ToInt64(file, 0);
            json = Encoding.UTF8.GetString(file, 8, (int)length).TrimEnd(' ');
        }
        else if (file is null && status == "ok")
        {
            status = "missing";
        }
        declared = declared.Replace('\\', '/');   // as the build targets list it
        return new Text($"/obj/backprop-weights/w-1.backprop-weights.txt",
            $"backprop-weights 1\npath={declared}\nresource=Backprop.Weights/{declared}\nstatus={status}\nreason={reason}\n{json}");
    }

    private static byte[] ModelFile(INetwork network)
    {
        using var stream = new MemoryStream();
        network.Save(stream);
        return stream.ToArray();
    }

    private static byte[] StateDict(INetwork network, Func<TensorInfo, TensorInfo>? change = null)
    {
        using var stream = new MemoryStream();
        var tensors = network.Tensors.Select(t => change?.Invoke(t) ?? t).ToList();
        var data = tensors.SelectMany(t =>
        {
            var values = new float[t.Length];
            if (network.Tensors.FirstOrDefault(n => n.Name == t.Name) is { } own && own.Length == t.Length)
            {
                network.CopyTensor(t.Name, values);
            }
            return values;
        }).ToArray();
        SafeTensorsFile.Write(stream, tensors, data);
        return stream.ToArray();
    }

    private static INetwork Build(byte[] file, string declared, AdditionalText header)
    {
        var result = Analysis.Run([Declaration], additional: [header]);
        Assert.Empty(result.Exceptions);
        Assert.Empty(result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        using var image = new MemoryStream();
        var emit = result.Output.Emit(image, manifestResources: [new ResourceDescription("Backprop.Weights/" + declared.Replace('\\', '/'), () => new MemoryStream(file), isPublic: true)]);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        image.Position = 0;
        var assembly = new AssemblyLoadContext("embedded", isCollectible: true).LoadFromStream(image);
        return (INetwork)Activator.CreateInstance(assembly.GetType("Demo.Embedded", throwOnError: true)!, 4, 0)!;
    }

    [Fact]
    public void TheConstructorStartsFromAnEmbeddedModelFile()
    {
        var trained = new SoftmaxNet(4, 7);   // the same declaration, other seed
        byte[] file = ModelFile(trained);
        var network = Build(file, "models/w.safetensors", Header("models/w.safetensors", file));
        Assert.Equal(trained.Parameters.ToArray(), network.Parameters.ToArray());
        Assert.NotEqual(new SoftmaxNet(4, 0).Parameters.ToArray(), network.Parameters.ToArray());
    }

    [Fact]
    public void TheConstructorStartsFromAnEmbeddedStateDict()
    {
        var trained = new SoftmaxNet(4, 9);
        byte[] file = StateDict(trained);
        var network = Build(file, "./models\\w.safetensors", Header("./models\\w.safetensors", file));   // listed with ./ and a backslash: the same file
        Assert.Equal(trained.Parameters.ToArray(), network.Parameters.ToArray());
    }

    private static Diagnostic Bpg0018(AdditionalText? header)
    {
        var result = Analysis.Run([Declaration], additional: header is null ? [] : [header]);
        Assert.Empty(result.Exceptions);
        var diagnostic = Assert.Single(result.Diagnostics, d => d.Id == "BPG0018");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var span = diagnostic.Location.SourceSpan;
        Assert.Equal("Weights = \"models/w.safetensors\"", diagnostic.Location.SourceTree!.GetText().ToString(span));
        // The network still compiles (without a loader): the error is the only problem.
        Assert.DoesNotContain("LoadEmbeddedWeights", string.Concat(result.Generated.Select(t => t.ToString())));
        Assert.Empty(Compiler.Problems(result.Output));
        return diagnostic;
    }

    [Fact]
    public void AFileTheProjectDoesNotListIsAnError()
        => Assert.Equal(
            "'models/w.safetensors' is not among the project's embedded weights: add <BackpropWeights Include=\"models/w.safetensors\" /> to the project file (the Backprop.Gen package then embeds the file and checks it against Embedded).",
            Bpg0018(null).GetMessage());

    [Fact]
    public void AMissingFileIsAnError()
        => Assert.Equal("The weights file 'models/w.safetensors' of Embedded does not exist (the path is relative to the project directory).",
            Bpg0018(Header("models/w.safetensors", null)).GetMessage());

    [Fact]
    public void AnUnreadableFileIsAnError()
        => Assert.Equal("The weights file 'models/w.safetensors' of Embedded is not a readable safetensors file: it is truncated inside the header.",
            Bpg0018(Header("models/w.safetensors", null, "invalid", "it is truncated inside the header")).GetMessage());

    [Theory]
    [InlineData("{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[13,7],\"data_offsets\":[0,364]},\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[13,7],\"data_offsets\":[0,364]}}",
        "its header is not a JSON object (or names a key twice)")]
    [InlineData("{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[13,7.5],\"data_offsets\":[0,364]}}", "tensor 'dense1.weight' has a shape entry that is not a non-negative integer")]
    [InlineData("{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[13,1e999],\"data_offsets\":[0,364]}}", "tensor 'dense1.weight' has a shape entry that is not a non-negative integer")]
    [InlineData("{\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[13,7]}}", "tensor 'dense1.weight' lacks a dtype, a shape or a data_offsets pair")]
    [InlineData("{\"__metadata__\":[1],\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[13,7],\"data_offsets\":[0,364]}}", "its __metadata__ is not a JSON object")]
    public void MalformedHeadersAreUnreadableNotACrash(string json, string reason)
    {
        var header = new Text("/obj/w.backprop-weights.txt", $"backprop-weights 1\npath=models/w.safetensors\nresource=Backprop.Weights/models/w.safetensors\nstatus=ok\nreason=\n{json}");
        Assert.Equal($"The weights file 'models/w.safetensors' of Embedded is not a readable safetensors file: {reason}.", Bpg0018(header).GetMessage());
    }

    [Fact]
    public void DeeplyNestedJsonIsRefusedWithoutRecursingOnAndOn()
    {
        string json = new string('[', 100_000) + new string(']', 100_000);
        var header = new Text("/obj/w.backprop-weights.txt", $"backprop-weights 1\npath=models/w.safetensors\nresource=Backprop.Weights/models/w.safetensors\nstatus=ok\nreason=\n{json}");
        Assert.Contains("its header is not a JSON object", Bpg0018(header).GetMessage());
    }

    [Fact]
    public void OtherTensorsAreListed()
    {
        byte[] file = StateDict(new SoftmaxNet(4, 1), t => t.Name switch
        {
            "dense1.weight" => new TensorInfo("dense1.weight", [13, 8]),
            "dense2.bias" => new TensorInfo("head.bias", [5]),
            _ => t,
        });
        Assert.Equal(
            "The weights file 'models/w.safetensors' does not match Embedded: missing dense2.bias [5]; dense1.weight is [13, 8] in the file, [13, 7] in Embedded; extra head.bias.",
            Bpg0018(Header("models/w.safetensors", file)).GetMessage());
    }

    [Fact]
    public void AModelFileOfAnotherArchitectureWithTheSameTensorsIsAnError()
    {
        // The same tensors as Embedded, another activation: only the architecture in the model file's metadata differs.
        var twin = Compiler.Load("""
            using Backprop;
            [Network(Loss = Loss.SoftmaxCrossEntropy)] [Input(7)] [Dense(13, Activation = Activation.Tanh)] [Dense(5, Activation = Activation.Softmax)]
            public partial class Twin;
            """);
        byte[] file = ModelFile(Compiler.Create(twin, "Twin", 2, 1));
        string message = Bpg0018(Header("models/w.safetensors", file)).GetMessage();
        Assert.StartsWith("The weights file 'models/w.safetensors' holds another network with the same tensors: its architecture is {\"input\":[7],\"loss\":\"SoftmaxCrossEntropy\",\"layers\":[{\"kind\":\"Dense\",\"name\":\"dense1\",\"units\":13,\"activation\":\"Tanh\"}", message);
        Assert.Contains("but Embedded is {\"input\":[7],\"loss\":\"SoftmaxCrossEntropy\",\"layers\":[{\"kind\":\"Dense\",\"name\":\"dense1\",\"units\":13,\"activation\":\"Relu\"}", message);
    }
}
