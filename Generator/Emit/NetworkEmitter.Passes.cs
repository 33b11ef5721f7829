using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Emit;

/// <summary>The passes the calls run: Forward, Backward, a data-parallel Shard, and Initialize; each layer's statements come from its unit.</summary>
internal static partial class NetworkEmitter
{
    private static void WriteForward(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        writer.Summary(
            "The forward pass for samples [<paramref name=\"first\"/>, <paramref name=\"first\"/> + <paramref name=\"batch\"/>): <paramref name=\"inputs\"/>",
            "holds those samples, and every layer writes those rows of its buffers (keeping what its backward pass needs);",
            "products on up to <paramref name=\"threads\"/> threads. In <paramref name=\"training\"/> mode (as PyTorch's <c>model.train()</c>)",
            "layers such as Dropout draw their masks; otherwise (inference, <c>model.eval()</c>) they pass their input through.");
        using (writer.Block($"private void Forward(Activations activations, {ReadOnlySpan} inputs, int first, int batch, int threads, bool training)"))
        {
            writer.Line($"{ReadOnlySpan} parameters = _parameters;");
            if (plan.StateCount > 0)
            {
                writer.Line($"{Span} state = _state;");
            }
            WriteRows(writer, wiring.Forward.ToList());
            foreach (var buffer in wiring.Owned.Where(b => b.TrainingOnly && b.Role == BufferRole.Saved))
            {
                string size = Number(buffer.PerSample);
                writer.Line(buffer.PerPass
                    ? $"{Span} {LayerUnit.Local(buffer.Field)} = training ? {InSet(buffer.Field)}.Span : default; // training only, for the whole batch"
                    : $"{Span} {LayerUnit.Local(buffer.Field)} = training ? {InSet(buffer.Field)}.Slice(first * {size}, batch * {size}) : default; // training only");
            }
            var layers = wiring.Layers;
            for (int i = 0; i < layers.Count; i++)
            {
                var wired = layers[i];
                var buffers = BufferWiring.Buffers(wired, training: false);
                if (i + 1 < layers.Count && wired.Unit.FusesForward(wired.Layer, layers[i + 1].Layer))
                {
                    // Two layers in one pass for inference; in training each keeps what its backward pass reads.
                    var next = layers[++i];
                    var nextBuffers = BufferWiring.Buffers(next, training: false);
                    using (writer.Block("if (training)"))
                    {
                        wired.Unit.EmitForward(writer, wired.Layer, buffers);
                        next.Unit.EmitForward(writer, next.Layer, nextBuffers);
                    }
                    using (writer.Block("else"))
                    {
                        wired.Unit.EmitFusedForward(writer, wired.Layer, buffers, next.Layer, nextBuffers);
                    }
                    continue;
                }
                wired.Unit.EmitForward(writer, wired.Layer, buffers);
            }
        }
        writer.Line();
    }

    private static void WriteBackward(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        writer.Summary(
            "The backward pass for samples [<paramref name=\"first\"/>, <paramref name=\"first\"/> + <paramref name=\"batch\"/>), on the calling thread: every",
            "layer's input gradient, last layer first, then every parameter gradient (each layer overwrites its part of",
            "<paramref name=\"gradients\"/>; frozen tensors' part reads zero). Returns <see cref=\"InputGradients\"/>' bound on the gradients.");
        using (writer.Block($"private double Backward(Activations activations, {ReadOnlySpan} inputs, int first, int batch, {Span} gradients, {Span} scratch)"))
        {
            writer.Line("double bound = InputGradients(activations, inputs, first, batch, gradients, scratch);");
            writer.Line("ParameterGradients(activations, inputs, first, batch, gradients, scratch, optimizer: null);");
            writer.Line("return bound;");
        }
        writer.Line();
        writer.Summary(
            "The first half of the backward pass, last layer first: each layer's ∂L/∂z and the gradient with respect to its",
            "input, from the parameters as they are (and the gradients of layers with few parameters). Returns a bound on every",
            "parameter gradient (<see cref=\"global::Backprop.Kernels.GradientBound\"/>): at most <c>GradientBound.Limit</c> proves",
            "them all finite, so that a step may update each layer as soon as its gradients are complete. It stops at the first",
            "layer below which every parameter is frozen.");
        using (writer.Block($"private double InputGradients(Activations activations, {ReadOnlySpan} inputs, int first, int batch, {Span} gradients, {Span} scratch)"))
        {
            WriteBackwardLocals(writer, plan, wiring, writable: false);
            writer.Line("double bound = 0;");
            WriteLayersBackward(writer, plan, wiring, "return bound;", (wired, last) =>
                wired.Unit.EmitInputGradient(writer, wired.Layer, BufferWiring.Buffers(wired, training: true), deltaIsPreActivation: last && FusedLoss(plan)));
            writer.Line("return bound;");
        }
        writer.Line();
        writer.Summary(
            "The second half of the backward pass: the parameter gradients <see cref=\"InputGradients\"/> left to compute; with an",
            "optimizer (a step begun by <c>BeginPartialStep</c>, once the bound has proved every gradient finite), each layer's",
            "parameters are updated as soon as their gradients are complete, while they are still in cache. Frozen tensors",
            "(<see cref=\"Freeze\"/>) get no gradient: their part of <paramref name=\"gradients\"/> reads zero.");
        using (writer.Block($"private void ParameterGradients(Activations activations, {ReadOnlySpan} inputs, int first, int batch, {Span} gradients, {Span} scratch, global::Backprop.Optimizer? optimizer)"))
        {
            writer.Line("ParameterGradientLayers(activations, inputs, first, batch, gradients, scratch, optimizer);");
            writer.Line("_frozen.ClearGradients(gradients);");
        }
        writer.Line();
        writer.Summary("The layers' parameter-gradient statements, last layer first, down to the first layer below which every parameter is frozen.");
        using (writer.Block($"private void ParameterGradientLayers(Activations activations, {ReadOnlySpan} inputs, int first, int batch, {Span} gradients, {Span} scratch, global::Backprop.Optimizer? optimizer)"))
        {
            WriteBackwardLocals(writer, plan, wiring, writable: true);
            WriteLayersBackward(writer, plan, wiring, "return;", (wired, _) =>
                wired.Unit.EmitParameterGradients(writer, wired.Layer, BufferWiring.Buffers(wired, training: true)));
        }
        writer.Line();
    }

    private static void WriteBackwardLocals(SourceWriter writer, NetworkPlan plan, BufferWiring wiring, bool writable)
    {
        writer.Line($"{(writable ? Span : ReadOnlySpan)} parameters = _parameters;");
        if (plan.StateCount > 0)
        {
            // State (running statistics, normalization statistics) is read, never written, by the backward pass.
            writer.Line($"{ReadOnlySpan} state = _state;");
        }
        WriteRows(writer, wiring.Owned.ToList());
    }

    /// <summary>
    /// Each layer's statements from <paramref name="emit"/>, last layer first, with the frozen checks between them: the pass
    /// ends (<paramref name="stop"/>) at the first layer below which every parameter is frozen.
    /// </summary>
    private static void WriteLayersBackward(SourceWriter writer, NetworkPlan plan, BufferWiring wiring, string stop, System.Action<BufferWiring.Wired, bool> emit)
    {
        int checkedEnd = -1;
        for (int i = plan.Layers.Count - 1; i >= 0; i--)
        {
            var wired = wiring.Layers[i];
            int end = TensorEnd(plan, i);
            if (end > 0 && end != checkedEnd)
            {
                // Layers with the same tensor end (those with no tensors of their own, and the layer below them) need one check: the topmost.
                checkedEnd = end;
                using (writer.Block($"if (_frozen.Stops({Number(end)}))"))
                {
                    writer.Line($"{stop} // nothing from {wired.Layer.Name} down has a parameter to train");
                }
            }
            emit(wired, i == plan.Layers.Count - 1);
        }
    }

    /// <summary>
    /// The index in <c>Tensors</c> whose frozen flag stands for layer <paramref name="layer"/>'s state (running statistics
    /// and counters): its first state tensor, or its first tensor if it has none.
    /// </summary>
    private static int StateFlag(NetworkPlan plan, int layer)
    {
        int first = TensorEnd(plan, layer - 1);
        var tensors = Unit(plan.Layers[layer]).Tensors(plan.Layers[layer]).ToList();
        int state = tensors.FindIndex(tensor => !tensor.Trainable);
        return first + System.Math.Max(0, state);
    }

    /// <summary>The index in <c>Tensors</c> one past the last tensor of layer <paramref name="layer"/> (the tensors of layers 0..layer).</summary>
    private static int TensorEnd(NetworkPlan plan, int layer)
        => plan.Layers.Take(layer + 1).Sum(l => Unit(l).Tensors(l).Count());

    /// <summary>One local span per buffer over the pass's rows (see <see cref="LayerUnit.Local"/>).</summary>
    private static void WriteRows(SourceWriter writer, List<BufferPlan> buffers)
    {
        writer.Line("// This pass's rows of the activation buffers.");
        foreach (var buffer in buffers)
        {
            string size = Number(buffer.PerSample);
            if (buffer.PerPass)
            {
                writer.Line($"{Span} {LayerUnit.Local(buffer.Field)} = {InSet(buffer.Field)}; // the whole batch's");
                continue;
            }
            writer.Line(buffer.Element == "int"
                ? $"global::System.Span<int> {LayerUnit.Local(buffer.Field)} = new(activations.{LayerUnit.Member(buffer.Field)}, first * {size}, batch * {size});"
                : $"{Span} {LayerUnit.Local(buffer.Field)} = {InSet(buffer.Field)}.Slice(first * {size}, batch * {size});");
        }
    }

    private static void WriteShard(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        var loss = Loss(plan);
        var wired = wiring.Layers[wiring.Layers.Count - 1];
        string logits = Training((loss.Fuses(plan.Last) ? wired.PreActivation : wired.Output)!);
        writer.Summary(
            "One shard of a data-parallel pass (<see cref=\"global::Backprop.Kernels.ShardPass{TTarget}\"/>), on the calling thread:",
            "forward pass, loss and backward pass for samples [<paramref name=\"first\"/>, <paramref name=\"first\"/> + <paramref name=\"count\"/>) of a batch",
            "of <paramref name=\"batch\"/>, in those rows of the activation buffers, with the gradients of the whole batch's mean",
            "loss (from these samples) written into <paramref name=\"gradients\"/>. Returns the shard's share of the loss, and in",
            "<paramref name=\"gradientBound\"/> a bound on its gradients (<see cref=\"global::Backprop.Kernels.GradientBound\"/>).");
        using (writer.Block($"private double Shard({ReadOnlySpan} inputs, global::System.ReadOnlySpan<{loss.TargetType}> {loss.TargetName}, int first, int count, int batch, {Span} gradients, {Span} scratch, out double gradientBound)"))
        {
            writer.Line($"{ReadOnlySpan} rows = inputs.Slice(first * InputSize, count * InputSize);");
            writer.Line("Forward(_training, rows, first, count, threads: 1, training: true);");
            string logitRows = $"{logits}.Slice(first * OutputSize, count * OutputSize)";
            string deltaRows = $"{Training(wired.Delta!)}.Slice(first * OutputSize, count * OutputSize)";
            writer.Line($"double loss = global::Backprop.Kernels.Losses.{loss.PartMethod}(");
            using (writer.Indent())
            {
                writer.Line(loss.PartArguments(logitRows, deltaRows) + ");");
            }
            writer.Line("gradientBound = Backward(_training, rows, first, count, gradients, scratch);");
            writer.Line("return loss;");
        }
        writer.Line();
    }

    /// <summary><c>CommitPass</c>: the counters and each committing layer's statements, run once a training pass has succeeded.</summary>
    private static void WriteCommitPass(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        writer.Summary(
            "What a training pass changes besides the parameters, once it has succeeded (its loss finite and, in a step,",
            "the update taken): the counters of training passes and the running statistics. A refused step changes neither.");
        using (writer.Block("private void CommitPass()"))
        {
            // A frozen layer's counters and running statistics stay as they are: its first state tensor's flag says
            // (its state tensors freeze together, with the layer).
            int counter = 0;
            for (int i = 0; i < plan.Layers.Count; i++)
            {
                foreach (string name in Unit(plan.Layers[i]).Counters(plan.Layers[i]))
                {
                    using (writer.Block($"if (!_frozen[{Number(StateFlag(plan, i))}])"))
                    {
                        writer.Line($"_counters[{Number(counter++)}]++; // {name}");
                    }
                }
            }
            if (plan.StateCount > 0)
            {
                writer.Line($"{Span} state = _state;");
            }
            for (int i = 0; i < plan.Layers.Count; i++)
            {
                var wired = wiring.Layers[i];
                if (!wired.Unit.Commits(wired.Layer))
                {
                    continue;
                }
                using (writer.Block($"if (!_frozen[{Number(StateFlag(plan, i))}])"))
                {
                    foreach (var buffer in wired.Unit.Buffers(wired.Layer).Where(buffer => buffer.PerPass && buffer.Role == BufferRole.Saved))
                    {
                        writer.Line($"{Span} {LayerUnit.Local(buffer.Field)} = {Training(buffer.Field)};");
                    }
                    wired.Unit.EmitCommit(writer, wired.Layer, BufferWiring.Buffers(wired, training: true));
                }
            }
        }
        writer.Line();
    }

    private static void WriteInitialize(SourceWriter writer, NetworkPlan plan)
    {
        writer.Summary(
            "Initializes every parameter from <paramref name=\"seed\"/>; each layer draws from its own stream, derived from its",
            "name, so adding or removing a layer leaves every other layer's initial weights as they were.");
        using (writer.Block("private void Initialize(int seed)"))
        {
            writer.Line($"{Span} parameters = _parameters;");
            if (plan.StateCount > 0)
            {
                writer.Line($"{Span} state = _state;");
            }
            foreach (var layer in plan.Layers)
            {
                Unit(layer).EmitInitialization(writer, layer, Stream(layer.Name));
            }
        }
        writer.Line();
    }
}
