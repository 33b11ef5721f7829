using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Emit;

/// <summary>The class's surface: its summary, constants, fields, constructor, properties, and the nested activation set.</summary>
internal static partial class NetworkEmitter
{
    private static void WriteClassSummary(SourceWriter writer, NetworkPlan plan)
    {
        var lines = new List<string>
        {
            $"A network compiled by Backprop.Gen: {Grouped(plan.ParameterCount)} parameters, loss {Names.Loss(plan.Loss)}.",
            "<code>",
            $"{"input",-10} {plan.InputShape}",
        };
        foreach (var layer in plan.Layers)
        {
            lines.Add($"{layer.Name,-10} {layer.OutputShape.ToString(),-8} {Unit(layer).Describe(layer)}, {Grouped(layer.ParameterCount)} parameters");
        }
        lines.Add("</code>");
        writer.Summary(lines.ToArray());
    }

    private static void WriteConstants(SourceWriter writer, NetworkPlan plan)
    {
        writer.Summary(plan.InputShape.Rank == 1 ? "Features per input sample." : $"Values per input sample: the product of InputShape, {plan.InputShape}.");
        writer.Line($"public const int InputSize = {Number(plan.InputSize)};");
        writer.Line();
        writer.Summary("Values per output sample.");
        writer.Line($"public const int OutputSize = {Number(plan.OutputSize)};");
        writer.Line();
        writer.Summary("The number of trainable parameters.");
        writer.Line($"public const int ParameterCount = {Number(plan.ParameterCount)};");
        writer.Line();
        if (plan.StateCount > 0)
        {
            writer.Line("// Floats of state (running statistics): saved with the model, not trained.");
            writer.Line($"private const int StateCount = {Number(plan.StateCount)};");
            writer.Line();
        }
        writer.Line($"private const string NetworkName = \"{plan.ClassName}\";");
        writer.Line();
        writer.Line("// The architecture as written into model files; Load refuses a file whose architecture differs.");
        writer.Line($"private const string Architecture = \"{Architecture(plan).Replace("\\", "\\\\").Replace("\"", "\\\"")}\";");
        writer.Line();
        writer.Line("// Layout of the parameter block (Gradients has the same layout).");
        foreach (var layer in plan.Layers)
        {
            Unit(layer).EmitConstants(writer, layer);
        }
        writer.Line();
    }

    /// <summary>The architecture description: input, loss and layers, as compact JSON.</summary>
    internal static string Architecture(NetworkPlan plan)
    {
        var json = new JsonText();
        json.BeginObject();
        json.BeginArray("input");
        foreach (int dimension in plan.InputShape.Dimensions)
        {
            json.Value(dimension);
        }
        json.EndArray();
        json.Property("loss", Names.Loss(plan.Loss));
        json.BeginArray("layers");
        foreach (var layer in plan.Layers)
        {
            Unit(layer).WriteArchitecture(json, layer);
        }
        json.EndArray();
        json.EndObject();
        return json.ToString();
    }

    private static void WriteFields(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        writer.Line("private static readonly global::System.Collections.ObjectModel.ReadOnlyCollection<global::Backprop.TensorInfo> s_tensors = new(new global::Backprop.TensorInfo[]");
        writer.Line("{");
        using (writer.Indent())
        {
            foreach (var layer in plan.Layers)
            {
                foreach (var tensor in Unit(layer).Tensors(layer))
                {
                    writer.Line($"new(\"{tensor.Name}\", global::System.Array.AsReadOnly(new[] {{ {string.Join(", ", tensor.Shape.Select(Number))} }}){(tensor.Trainable ? "" : ", Trainable: false")}),");
                }
            }
        }
        writer.Line("});");
        writer.Line();
        writer.Line($"private static readonly global::System.Collections.ObjectModel.ReadOnlyCollection<int> s_inputShape = global::System.Array.AsReadOnly(new[] {{ {string.Join(", ", plan.InputShape.Dimensions.Select(Number))} }});");
        writer.Line($"private static readonly global::System.Collections.ObjectModel.ReadOnlyCollection<int> s_outputShape = global::System.Array.AsReadOnly(new[] {{ {string.Join(", ", plan.OutputShape.Dimensions.Select(Number))} }});");
        writer.Line();
        writer.Line("// Every block starts on a 64-byte boundary (a cache line, one 512-bit vector): see AlignedBuffer.");
        writer.Line($"private readonly {Buffer} _parameters = new(ParameterCount);");
        writer.Line($"private readonly {Buffer} _gradients = new(ParameterCount);");
        if (plan.StateCount > 0)
        {
            writer.Line("// Running statistics, updated by training-mode passes, read by inference-mode ones.");
            writer.Line($"private readonly {Buffer} _state = new(StateCount);");
        }
        var counters = Counters(plan);
        if (counters.Count > 0)
        {
            writer.Line("// Training passes seen by each layer that counts them (PyTorch's num_batches_tracked), saved with the model.");
            writer.Line($"private static readonly string[] s_counters = {{ {string.Join(", ", counters.Select(name => "\"" + name + "\""))} }};");
            writer.Line("private readonly long[] _counters = new long[s_counters.Length];");
        }
        writer.Line("private readonly int _maxBatch;");
        writer.Line("// The constructor's seed, and the training passes run so far: what Dropout's masks are drawn from, with each layer's stream.");
        writer.Line("private readonly int _seed;");
        writer.Line("private long _passes;");
        writer.Line("private int _maxThreads = global::System.Environment.ProcessorCount;");
        writer.Line();
        int scratch = 0;
        foreach (var wired in wiring.Layers)
        {
            scratch = System.Math.Max(scratch, wired.Unit.ScratchLength(wired.Layer, inputGradient: wired.InputDelta is not null));
        }
        writer.Line("// Scratch for the backward pass (a transposed weight, a weight-gradient product), shared by the layers; each data-parallel shard has its own.");
        writer.Line($"private const int ScratchLength = {Number(scratch)};");
        writer.Line($"private readonly {Buffer} _scratch = new(ScratchLength);");
        writer.Line();
        if (!TrainsWholeBatch(wiring))
        {
            writer.Line("// Data-parallel training (shard buffers), created by the first training call whose batch is cut into shards.");
            writer.Line($"private global::Backprop.Kernels.DataParallel<{Loss(plan).TargetType}>? _dataParallel;");
            writer.Line();
        }
        writer.Line("// The activations of the training calls (forward buffers and the backward pass's deltas), and a pool of forward-only");
        writer.Line("// sets for Predict: one per call running at the same time, created when more calls overlap than ever before.");
        writer.Line("private readonly Activations _training;");
        writer.Line("private readonly global::Backprop.Kernels.InstancePool<Activations> _predictions;");
        writer.Line();
        writer.Line("// Which calls may overlap on this instance: any number of reading calls at once; a writing call runs alone while the others wait (see CallGate).");
        writer.Line("private readonly global::Backprop.Kernels.CallGate _gate = new(NetworkName);");
        writer.Line();
        writer.Line("// The tensors Freeze has frozen: no gradient, no update, running statistics kept (see FrozenTensors).");
        writer.Line("private readonly global::Backprop.Kernels.FrozenTensors _frozen = new(s_tensors);");
        writer.Line();
    }

    /// <summary>The largest activation buffer per sample: it bounds <c>maxBatch</c>.</summary>
    private static int LargestBuffer(BufferWiring wiring)
        => wiring.Owned.Where(buffer => !buffer.PerPass).Select(buffer => buffer.PerSample).DefaultIfEmpty(1).Max();

    private static void WriteConstructor(SourceWriter writer, NetworkPlan plan, BufferWiring wiring, WeightsHeader? weights)
    {
        if (weights is null)
        {
            writer.Summary(
                $"Creates the network with every buffer allocated for batches of up to <paramref name=\"maxBatch\"/> samples,",
                "and the weights initialized from <paramref name=\"seed\"/> (the same seed gives the same weights).");
            writer.Line("/// <param name=\"maxBatch\">The largest batch that <c>Predict</c>, <c>ComputeGradients</c> and <c>TrainStep</c> accept.</param>");
            writer.Line("/// <param name=\"seed\">The seed of the weight initialization.</param>");
        }
        else
        {
            writer.Summary(
                $"Creates the network with every buffer allocated for batches of up to <paramref name=\"maxBatch\"/> samples,",
                $"and the trained weights embedded in the assembly from <c>{Xml(weights.DeclaredPath)}</c>.");
            writer.Line("/// <param name=\"maxBatch\">The largest batch that <c>Predict</c>, <c>ComputeGradients</c> and <c>TrainStep</c> accept.</param>");
            writer.Line("/// <param name=\"seed\">The seed of the training calls' random streams (dropout); the weights are the embedded ones.</param>");
        }
        writer.Line("/// <exception cref=\"global::System.ArgumentOutOfRangeException\"><paramref name=\"maxBatch\"/> is less than 1, or so large that an activation buffer would not fit in an array.</exception>");
        using (writer.Block($"public {Identifiers.Escape(plan.ClassName)}(int maxBatch = 32, int seed = 0)"))
        {
            writer.Line($"// The largest activation buffer holds {Number(LargestBuffer(wiring))} floats per sample.");
            writer.Line($"{Guard}.MaxBatch(NetworkName, maxBatch, {Number(LargestBuffer(wiring))});");
            writer.Line("_maxBatch = maxBatch;");
            writer.Line("_seed = seed;");
            writer.Line("_training = new(this, maxBatch, training: true);");
            writer.Line("_predictions = new(() => new Activations(this, maxBatch, training: false));");
            // Embedded weights set every tensor, so the random initialization (most of a small network's start-up) is skipped.
            writer.Line(weights is null ? "Initialize(seed);" : "LoadEmbeddedWeights();");
        }
        writer.Line();
    }

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static void WriteProperties(SourceWriter writer, NetworkPlan plan)
    {
        writer.Summary("The largest batch the buffers were allocated for.");
        writer.Line("public int MaxBatch => _maxBatch;");
        writer.Line();
        if (TrainsWholeBatch(new BufferWiring(plan)))
        {
            writer.Summary(
                "The most threads one call may use (default: the processor count); set 1 to keep everything on the calling thread.",
                "Prediction cuts a batch of at least 32 samples into shards, one per thread used (at most one per core and per 16",
                "samples); training runs each batch in one pass (its batch statistics are the whole batch's) with the forward",
                "products on up to this many threads. Predictions and training are bit-identical for any value.");
        }
        else
        {
            writer.Summary(
                "The most threads one call may use (default: the processor count); set 1 to keep everything on the calling thread.",
                "A batch of at least 32 samples is cut into shards, one per thread used (at most one per core and per 16 samples:",
                "data parallelism); prediction of smaller batches splits large products. Predictions are bit-identical for any",
                "value; training is bit-identical run after run for a given value (capped at the processor count), and one thread",
                "and two differ in the last bits (the gradient sums are grouped by shard).");
        }
        writer.Line("/// <exception cref=\"global::System.ArgumentOutOfRangeException\">The value is less than 1.</exception>");
        writer.Line("public int MaxThreads");
        writer.Line("{");
        using (writer.Indent())
        {
            writer.Line("get => _maxThreads;");
            writer.Line("set => _maxThreads = value >= 1 ? value : throw new global::System.ArgumentOutOfRangeException(nameof(value), value, \"MaxThreads must be at least 1.\");");
        }
        writer.Line("}");
        writer.Line();
        writer.Summary(
            "The training passes run so far (each <c>ComputeGradients</c> and <c>TrainStep</c>): with the constructor's seed, what",
            "Dropout draws each pass's masks from. A checkpoint keeps it, so that a resumed run draws the masks the",
            "uninterrupted run would have drawn.");
        writer.Line("/// <exception cref=\"global::System.ArgumentOutOfRangeException\">The value is negative.</exception>");
        writer.Line(WritingCall.Replace("runs alone", "setting runs alone"));
        using (writer.Block("public long TrainingPasses"))
        {
            writer.Line("get => global::System.Threading.Interlocked.Read(ref _passes);");
            WriteGated(writer, "set", "TrainingPasses", writes: true, "_passes = value;", check: "global::System.ArgumentOutOfRangeException.ThrowIfNegative(value);");
        }
        writer.Line();
        foreach (var (name, field, summary) in new[]
        {
            ("Parameters", "_parameters", "All parameters, one contiguous block in the kernels' layout (dense weights stored transposed)."),
            ("Gradients", "_gradients", "The gradients of the last <c>ComputeGradients</c>, in the layout of <see cref=\"Parameters\"/>."),
        })
        {
            writer.Summary(summary);
            writer.Line("/// <remarks>Waits while a training or model-writing call runs on another thread. The span is the model's own memory: using it while another thread runs a call on this instance is a race the network cannot see.</remarks>");
            writer.Line($"public {Span} {name}");
            writer.Line("{");
            using (writer.Indent())
            {
                writer.Line("get");
                writer.Line("{");
                using (writer.Indent())
                {
                    writer.Line($"_gate.Wait(nameof({name}));");
                    writer.Line($"return {field};");
                }
                writer.Line("}");
            }
            writer.Line("}");
            writer.Line();
        }
        writer.Summary(plan.StateCount > 0
            ? "The tensors in layer order, with PyTorch names and shapes: the parameters, and the running statistics (<c>Trainable = false</c>: saved and loaded, not trained)."
            : "The parameter tensors in layer order, with PyTorch names and shapes.");
        writer.Line("public global::System.Collections.Generic.IReadOnlyList<global::Backprop.TensorInfo> Tensors => s_tensors;");
        writer.Line();
        writer.Summary($"The dimensions of one input sample, outermost first: {plan.InputShape}.");
        writer.Line("public global::System.Collections.Generic.IReadOnlyList<int> InputShape => s_inputShape;");
        writer.Line();
        writer.Summary($"The dimensions of one output sample, outermost first: {plan.OutputShape}.");
        writer.Line("public global::System.Collections.Generic.IReadOnlyList<int> OutputShape => s_outputShape;");
        writer.Line();
        writer.Line("int global::Backprop.INetwork.InputSize => InputSize;");
        writer.Line();
        writer.Line("int global::Backprop.INetwork.OutputSize => OutputSize;");
        writer.Line();
        writer.Line("int global::Backprop.INetwork.ParameterCount => ParameterCount;");
        writer.Line();
        writer.Line($"global::Backprop.Loss global::Backprop.INetwork.Loss => global::Backprop.Loss.{Names.Loss(plan.Loss)};");
        writer.Line();
    }

    private static void WriteActivations(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        writer.Summary(
            "One set of activation buffers, allocated once for maxBatch samples; each is (batch, size) row-major. The training",
            "calls use one set with the backward pass's deltas; each Predict call rents a forward-only set from a pool, so calls",
            "on several threads never share a buffer.");
        using (writer.Block("private sealed class Activations"))
        {
            writer.Line($"private readonly {Identifiers.Escape(plan.ClassName)} _network;");
            writer.Line("private global::Backprop.Kernels.DataParallelForward? _parallel;");
            writer.Line();
            foreach (var buffer in wiring.Owned)
            {
                writer.Line($"public readonly {FieldType(buffer)} {LayerUnit.Member(buffer.Field)}; // {buffer.Comment}{(buffer.TrainingOnly ? " (training only)" : "")}");
            }
            writer.Line($"public readonly {Buffer} LossScratch; // ComputeLoss's working memory (the loss gradient it does not keep)");
            writer.Line("public float InputMagnitude; // the training pass's largest input magnitude, from its check: it bounds the first layer's gradients");
            writer.Line();
            writer.Summary("Allocates the buffers; the deltas only for <paramref name=\"training\"/>.");
            using (writer.Block($"public Activations({Identifiers.Escape(plan.ClassName)} network, int maxBatch, bool training)"))
            {
                writer.Line("_network = network;");
                writer.Line("LossScratch = training ? " + Buffer + ".Empty : new(maxBatch * OutputSize);");
                foreach (var buffer in wiring.Owned)
                {
                    string length = buffer.PerPass ? Number(buffer.PerSample) : $"maxBatch * {Number(buffer.PerSample)}";
                    string allocation = buffer.Element == "int" ? $"new int[{length}]" : $"new({length})";
                    string empty = buffer.Element == "int" ? "global::System.Array.Empty<int>()" : $"{Buffer}.Empty";
                    writer.Line(!buffer.TrainingOnly
                        ? $"{LayerUnit.Member(buffer.Field)} = {allocation};"
                        : $"{LayerUnit.Member(buffer.Field)} = training ? {allocation} : {empty};");
                }
            }
            writer.Line();
            writer.Summary("A data-parallel forward pass over this set's rows: each core runs the whole network on its shard of the batch.");
            using (writer.Block($"public void PredictShards({ReadOnlySpan} inputs, {Span} outputs, int batch, int shards)"))
            {
                writer.Line("(_parallel ??= new global::Backprop.Kernels.DataParallelForward(PredictShard)).Run(inputs, outputs, batch, shards);");
            }
            writer.Line();
            writer.Line($"private void PredictShard({ReadOnlySpan} inputs, {Span} outputs, int first, int count) => _network.PredictRows(this, inputs, outputs, first, count, threads: 1);");
        }
    }
}
