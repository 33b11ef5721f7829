using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Emit;

/// <summary>Tensor access (CopyTensor, CopyGradient, SetTensor over the parameter and state blocks) and the model files.</summary>
internal static partial class NetworkEmitter
{
    private static void WriteTensorAccess(SourceWriter writer, NetworkPlan plan)
    {
        writer.Summary("Copies a parameter tensor out, in PyTorch's layout (a dense weight as [units, inputs]).");
        writer.Line("/// <exception cref=\"global::System.ArgumentException\">The network has no tensor of that name, or the destination's length differs from the tensor's.</exception>");
        writer.Line(ReadingCall);
        WriteGated(writer, $"public void CopyTensor(string name, {Span} destination)", "CopyTensor", writes: false, "CopyOut(gradient: false, name, destination);");
        writer.Line();
        writer.Summary("Copies the gradient of a parameter tensor out, in PyTorch's layout.");
        writer.Line(plan.StateCount > 0
            ? "/// <exception cref=\"global::System.ArgumentException\">The network has no tensor of that name, it is state (running statistics have no gradient), or the destination's length differs from the tensor's.</exception>"
            : "/// <exception cref=\"global::System.ArgumentException\">The network has no tensor of that name, or the destination's length differs from the tensor's.</exception>");
        writer.Line(ReadingCall);
        WriteGated(writer, $"public void CopyGradient(string name, {Span} destination)", "CopyGradient", writes: false, "CopyOut(gradient: true, name, destination);");
        writer.Line();

        writer.Summary("Sets a parameter tensor from PyTorch's layout (a dense weight as [units, inputs]).");
        writer.Line("/// <exception cref=\"global::System.ArgumentException\">The network has no tensor of that name, or the source's length differs from the tensor's.</exception>");
        writer.Line(WritingCall);
        WriteGated(writer, $"public void SetTensor(string name, {ReadOnlySpan} source)", "SetTensor", writes: true, "CopyIn(name, source);");
        writer.Line();

        WriteFreezing(writer);

        using (writer.Block($"private void CopyIn(string name, {ReadOnlySpan} source)"))
        {
            writer.Line($"{Span} block = _parameters;");
            if (plan.StateCount > 0)
            {
                writer.Line($"{Span} state = _state;");
            }
            WriteTensorSwitch(writer, plan, "source", (unit, layer, tensor) => unit.EmitCopyIn(writer, layer, tensor, "source", tensor.Trainable ? "block" : "state"));
        }
        writer.Line();

        writer.Line("// A parameter tensor or its gradient (the same layout), or a state tensor, in PyTorch's layout.");
        using (writer.Block($"private void CopyOut(bool gradient, string name, {Span} destination)"))
        {
            writer.Line($"{Span} block = gradient ? _gradients : _parameters;");
            if (plan.StateCount > 0)
            {
                writer.Line($"{Span} state = _state;");
            }
            WriteTensorSwitch(writer, plan, "destination", (unit, layer, tensor) => unit.EmitCopyOut(writer, layer, tensor, tensor.Trainable ? "block" : "state", "destination"));
        }
        writer.Line();
    }

    /// <summary>Freeze, Unfreeze, IsFrozen and FrozenTensors: transfer learning's frozen layers, kept in <c>_frozen</c>.</summary>
    private static void WriteFreezing(SourceWriter writer)
    {
        writer.Summary(
            "Freezes layers or parameter tensors, as PyTorch's <c>requires_grad_(False)</c>: from the next pass on they get no",
            "gradient (their part of <see cref=\"Gradients\"/> reads zero), training steps leave them unchanged to the bit (no",
            "update, no weight decay, no momentum) and a frozen layer's running statistics stop moving. The backward pass stops",
            "below the last layer that still trains. A layer's name covers all its tensors; no names freezes every tensor.");
        writer.Line("/// <param name=\"names\">Layer names (<c>conv1</c>) or parameter tensor names (<c>conv1.weight</c>).</param>");
        writer.Line("/// <exception cref=\"global::System.ArgumentNullException\"><paramref name=\"names\"/> is null (pass no names to freeze everything).</exception>");
        writer.Line("/// <exception cref=\"global::System.ArgumentException\">A name is neither a layer's nor a parameter tensor's; nothing was frozen.</exception>");
        writer.Line(WritingCall);
        WriteGated(writer, "public void Freeze(params string[] names)", "Freeze", writes: true, "_frozen.Set(NetworkName, names, frozen: true);");
        writer.Line();
        writer.Summary("Unfreezes layers or parameter tensors frozen by <see cref=\"Freeze\"/>; no names unfreezes every tensor.");
        writer.Line("/// <param name=\"names\">Layer names or parameter tensor names.</param>");
        writer.Line("/// <exception cref=\"global::System.ArgumentException\">A name is neither a layer's nor a parameter tensor's; nothing was unfrozen.</exception>");
        writer.Line(WritingCall);
        WriteGated(writer, "public void Unfreeze(params string[] names)", "Unfreeze", writes: true, "_frozen.Set(NetworkName, names, frozen: false);");
        writer.Line();
        writer.Summary("Whether a tensor is frozen, or, for a layer's name, whether all its tensors are.");
        writer.Line("/// <exception cref=\"global::System.ArgumentException\">The name is neither a layer's nor a tensor's.</exception>");
        writer.Line(ReadingCall);
        WriteGated(writer, "public bool IsFrozen(string name)", "IsFrozen", writes: false, "return _frozen.IsFrozen(NetworkName, name);");
        writer.Line();
        writer.Summary("The names of the frozen tensors, in <see cref=\"Tensors\"/> order.");
        writer.Line(ReadingCall);
        using (writer.Block("public global::System.Collections.Generic.IReadOnlyList<string> FrozenTensors"))
        {
            WriteGated(writer, "get", "FrozenTensors", writes: false, "return _frozen.Names;");
        }
        writer.Line();
    }

    private static void WriteTensorSwitch(SourceWriter writer, NetworkPlan plan, string buffer, System.Action<LayerUnit, LayerPlan, TensorPlan> body)
    {
        using (writer.Block("switch (name)"))
        {
            int index = 0;
            foreach (var layer in plan.Layers)
            {
                var unit = Unit(layer);
                foreach (var tensor in unit.Tensors(layer))
                {
                    writer.Line($"case \"{tensor.Name}\":");
                    using (writer.Indent())
                    {
                        writer.Line($"{Guard}.TensorLength(NetworkName, s_tensors[{Number(index)}], {buffer}.Length, nameof({buffer}));");
                        if (buffer == "source")
                        {
                            writer.Line($"{Guard}.FiniteTensor(NetworkName, s_tensors[{Number(index)}], source, nameof(source));");
                            if (tensor.NonNegative)
                            {
                                writer.Line($"{Guard}.NonNegativeTensor(NetworkName, s_tensors[{Number(index)}], source, nameof(source));");
                            }
                        }
                        else if (!tensor.Trainable)
                        {
                            using (writer.Block("if (gradient)"))
                            {
                                writer.Line($"throw {Guard}.NoGradient(NetworkName, s_tensors[{Number(index)}]);");
                            }
                        }
                        index++;
                        body(unit, layer, tensor);
                        writer.Line("break;");
                    }
                }
            }
            writer.Line("default:");
            using (writer.Indent())
            {
                writer.Line($"throw {Guard}.UnknownTensor(NetworkName, name, s_tensors);");
            }
        }
    }

    private static void WriteFiles(SourceWriter writer, NetworkPlan plan)
    {
        string counters = Counters(plan).Count > 0 ? ", s_counters, _counters" : "";
        writer.Summary("Saves the parameters as a safetensors file with PyTorch names and layouts; writes a temporary file, then renames it.");
        writer.Line(ReadingCall);
        WriteGated(writer, "public void Save(string path)", "Save", writes: false, $"global::Backprop.ModelFile.Save(path, this, NetworkName, Architecture{counters});");
        writer.Line();
        writer.Summary("Writes the parameters to <paramref name=\"stream\"/> as safetensors with PyTorch names and layouts.");
        writer.Line(ReadingCall);
        WriteGated(writer, "public void Save(global::System.IO.Stream stream)", "Save", writes: false, $"global::Backprop.ModelFile.Save(stream, this, NetworkName, Architecture{counters});");
        writer.Line();
        writer.Summary("Loads parameters saved by <see cref=\"Save(string)\"/>; on any mismatch or corruption throws and leaves the parameters unchanged.");
        writer.Line("/// <exception cref=\"global::System.IO.InvalidDataException\">The file is truncated, corrupt, malformed or of another architecture.</exception>");
        writer.Line(WritingCall);
        WriteGated(writer, "public void Load(string path)", "Load", writes: true, $"global::Backprop.ModelFile.Load(path, this, NetworkName, Architecture{counters});");
        writer.Line();
        writer.Summary("Loads parameters from <paramref name=\"stream\"/>; on any mismatch or corruption throws and leaves the parameters unchanged.");
        writer.Line("/// <exception cref=\"global::System.IO.InvalidDataException\">The stream is truncated, corrupt, malformed or of another architecture.</exception>");
        writer.Line(WritingCall);
        WriteGated(writer, "public void Load(global::System.IO.Stream stream)", "Load", writes: true, $"global::Backprop.ModelFile.Load(stream, this, NetworkName, Architecture{counters});");
        writer.Line();
        WriteOnnxExport(writer, plan);
    }

    private static void WriteOnnxExport(SourceWriter writer, NetworkPlan plan)
    {
        const string Remarks = "/// <remarks>Thread-safe: a reading call. The graph computes what <see cref=\"Predict\"/> does (inference mode: running statistics, no dropout); tensors keep their PyTorch names, and the architecture is in the metadata under <c>backprop.architecture</c>.</remarks>";
        writer.Summary("Exports the network for inference as an ONNX model (opset 17): input <c>input</c> [batch, ...InputShape], output <c>output</c> [batch, ...OutputShape]; writes a temporary file, then renames it.");
        writer.Line(Remarks);
        WriteGated(writer, "public void ExportOnnx(string path)", "ExportOnnx", writes: false, "BuildOnnx().Save(path);");
        writer.Line();
        writer.Summary("Writes the network for inference to <paramref name=\"stream\"/> as an ONNX model (opset 17).");
        writer.Line(Remarks);
        WriteGated(writer, "public void ExportOnnx(global::System.IO.Stream stream)", "ExportOnnx", writes: false, "BuildOnnx().WriteTo(stream);");
        writer.Line();
        writer.Line("// The inference graph, layer by layer; x names the tensor flowing through it.");
        using (writer.Block("private global::Backprop.OnnxGraph BuildOnnx()"))
        {
            writer.Line("global::Backprop.OnnxGraph onnx = new(this, NetworkName, Architecture);");
            writer.Line("string x = onnx.Input;");
            foreach (var layer in plan.Layers)
            {
                Unit(layer).EmitOnnx(writer, layer);
            }
            writer.Line("onnx.Output(x);");
            writer.Line("return onnx;");
        }
    }

    private static void WriteEmbeddedWeights(SourceWriter writer, NetworkPlan plan, WeightsHeader weights)
    {
        string resource = Literal(weights.Resource);
        writer.Line($"// The weights of {weights.DeclaredPath}, embedded as the manifest resource {weights.Resource} (checked against this architecture at build time).");
        using (writer.Block("private void LoadEmbeddedWeights()"))
        {
            writer.Line($"using global::System.IO.Stream stream = typeof({Identifiers.Escape(plan.ClassName)}).Assembly.GetManifestResourceStream({resource})");
            writer.Line($"    ?? throw new global::System.InvalidOperationException(NetworkName + \": the embedded weights \" + {resource} + \" are not in the assembly; list the file as <BackpropWeights Include=\\\"...\\\" /> in the project (the Backprop.Gen package's build targets embed it).\");");
            writer.Line(weights.IsModelFile ? "Load(stream);" : "global::Backprop.PyTorchInterop.LoadStateDict(this, stream);");
        }
    }

    /// <summary>A C# string literal.</summary>
    private static string Literal(string text)
    {
        var builder = new System.Text.StringBuilder("\"");
        foreach (char c in text)
        {
            builder.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                _ when c < ' ' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        return builder.Append('"').ToString();
    }
}
