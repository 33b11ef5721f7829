using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;

namespace Backprop.Generator.Emit;

/// <summary>The public calls: Predict, ComputeGradients and TrainStep (through Pass and RunPass, with the gate, the checks, data parallelism and the optimizer step), ComputeLoss.</summary>
internal static partial class NetworkEmitter
{
    private static void WritePredict(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        var last = plan.Last;
        string what = last.Activation == Names.Softmax || last.Activation == Names.Sigmoid
            ? "probabilities"
            : last.Activation == Names.Linear ? "the last layer's linear outputs (logits)" : "the last layer's outputs";
        writer.Summary(
            $"Runs the network on a batch: <paramref name=\"inputs\"/> holds batch × {Number(plan.InputSize)} values, row-major;",
            $"<paramref name=\"outputs\"/> receives batch × {Number(plan.OutputSize)} values: {what}.");
        writer.Line("/// <exception cref=\"global::System.ArgumentException\">A length is not a multiple of the sizes, or the batch exceeds <see cref=\"MaxBatch\"/>.</exception>");
        writer.Line("/// <remarks>");
        writer.Line("/// Thread-safe: any number of threads may call Predict (and the other reading members) on one instance at once, each");
        writer.Line("/// getting exactly what it would alone; each call uses its own activation set from a pool that grows to the most");
        writer.Line("/// calls ever running at once (one set of forward buffers for MaxBatch samples each), then allocates nothing.");
        writer.Line("/// A training or model-writing call (ComputeGradients, TrainStep, SetTensor, Load) runs alone: Predict waits for it.");
        writer.Line("/// </remarks>");
        writer.Line("/// <exception cref=\"global::System.ArgumentException\">A length is not a multiple of the sizes, or the batch exceeds <see cref=\"MaxBatch\"/>.</exception>");
        using (writer.Block($"public void Predict({ReadOnlySpan} inputs, {Span} outputs)"))
        {
            writer.Line($"int batch = {Guard}.Batch(NetworkName, inputs, InputSize, _maxBatch);");
            writer.Line($"{Guard}.Length(NetworkName, \"outputs\", outputs.Length, batch, OutputSize, nameof(outputs));");
            WriteInputChecks(writer, plan);
            writer.Line("_gate.EnterRead(nameof(Predict));");
            writer.Line("Activations activations = _predictions.Rent();");
            using (writer.Block("try"))
            {
                writer.Line("int shards = global::Backprop.Kernels.DataParallel.Shards(batch, _maxThreads);");
                using (writer.Block("if (shards > 1)"))
                {
                    writer.Line("// Data parallelism: each core runs the whole forward pass on its shard of the samples (PredictRows).");
                    writer.Line("activations.PredictShards(inputs, outputs, batch, shards);");
                }
                using (writer.Block("else"))
                {
                    writer.Line("PredictRows(activations, inputs, outputs, 0, batch, _maxThreads);");
                }
            }
            using (writer.Block("finally"))
            {
                writer.Line("_predictions.Return(activations);");
                writer.Line("_gate.ExitRead();");
            }
        }
        writer.Line();
        writer.Summary(
            "The forward pass for samples [<paramref name=\"first\"/>, <paramref name=\"first\"/> + <paramref name=\"count\"/>) in inference mode,",
            "their outputs into the same rows of <paramref name=\"outputs\"/>, products on up to <paramref name=\"threads\"/> threads: the whole",
            "prediction on one core, or one shard of a data-parallel one (<see cref=\"global::Backprop.Kernels.ForwardShard\"/>, one thread).");
        using (writer.Block($"private void PredictRows(Activations activations, {ReadOnlySpan} inputs, {Span} outputs, int first, int count, int threads)"))
        {
            if (PredictionTile(plan) is int tile)
            {
                writer.Line($"// Image layers: {tile} samples at a time through the whole network, in the first {tile} of these rows of every");
                writer.Line("// buffer, so that each layer's output is still in the core's cache when the next layer reads it.");
                using (writer.Block($"for (int done = 0; done < count; done += {tile})"))
                {
                    writer.Line($"int part = global::System.Math.Min({tile}, count - done);");
                    writer.Line("Forward(activations, inputs.Slice((first + done) * InputSize, part * InputSize), first, part, threads, training: false);");
                    writer.Line($"{InSet(LastOutput(wiring))}.Slice(first * OutputSize, part * OutputSize).CopyTo(outputs.Slice((first + done) * OutputSize, part * OutputSize));");
                }
            }
            else
            {
                writer.Line("Forward(activations, inputs.Slice(first * InputSize, count * InputSize), first, count, threads, training: false);");
                writer.Line($"{InSet(LastOutput(wiring))}.Slice(first * OutputSize, count * OutputSize).CopyTo(outputs.Slice(first * OutputSize, count * OutputSize));");
            }
        }
        writer.Line();
    }

    /// <summary>
    /// Samples per pass of a prediction, for networks with image layers (a [channels, height, width] shape anywhere):
    /// their activations are large (the CNN's first convolution alone writes 50 KB per sample), and a whole batch layer by
    /// layer streams each layer's output through memory. Eight samples keep the CNN's working set within a core's L2
    /// while the dense layers still multiply eight rows at a time. Null for other networks (one pass for the batch).
    /// </summary>
    private static int? PredictionTile(NetworkPlan plan)
        => plan.Layers.Any(layer => layer.InputShape.Rank == 3 || layer.OutputShape.Rank == 3) ? 8 : null;

    private static void WriteComputeGradients(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        var loss = Loss(plan);
        foreach (bool labels in new[] { true, false })
        {
            bool fits = loss.TakesLabels == labels;
            if (labels)
            {
                writer.Summary(
                    "Runs the forward and backward passes on a batch with one class label per sample, overwrites",
                    "<see cref=\"Gradients\"/>, and returns the softmax cross-entropy averaged over the batch.");
                writer.Line(fits
                    ? "/// <exception cref=\"global::System.ArgumentException\">A length does not fit, the batch exceeds <see cref=\"MaxBatch\"/>, or a label is out of range.</exception>"
                    : $"/// <exception cref=\"global::System.InvalidOperationException\">Always: this network is trained with {loss.Name}, which takes float targets.</exception>");
            }
            else
            {
                writer.Summary(
                    $"Runs the forward and backward passes on a batch with batch × {Number(plan.OutputSize)} float targets, overwrites",
                    "<see cref=\"Gradients\"/>, and returns the loss averaged over all elements.");
                writer.Line(fits
                    ? "/// <exception cref=\"global::System.ArgumentException\">A length does not fit, or the batch exceeds <see cref=\"MaxBatch\"/>.</exception>"
                    : "/// <exception cref=\"global::System.InvalidOperationException\">Always: this network is trained with SoftmaxCrossEntropy, which takes class labels.</exception>");
            }
            writer.Line(fits ? WritingCall : WrongOverload(plan, "ComputeGradients"));
            string targets = labels ? "global::System.ReadOnlySpan<int> labels" : $"{ReadOnlySpan} targets";
            using (writer.Block($"public float ComputeGradients({ReadOnlySpan} inputs, {targets})"))
            {
                writer.Line(fits
                    ? $"return Pass(inputs, {loss.TargetName}, optimizer: null);"
                    : $"throw {Guard}.WrongTargets(NetworkName, global::Backprop.Loss.{loss.Name}, labels: {(labels ? "true" : "false")});");
            }
            writer.Line();
            if (fits)
            {
                WritePass(writer, plan, wiring, loss);
            }
        }
    }

    /// <summary><c>Pass</c> (the checks and the gate) and <c>RunPass</c> (forward, loss, backward) for the loss's targets.</summary>
    private static void WritePass(SourceWriter writer, NetworkPlan plan, BufferWiring wiring, LossUnit loss)
    {
        var wired = wiring.Layers[wiring.Layers.Count - 1];
        string logits = Training((loss.Fuses(plan.Last) ? wired.PreActivation : wired.Output)!);
        string targets = loss.TakesLabels ? "global::System.ReadOnlySpan<int> labels" : $"{ReadOnlySpan} targets";
        WritePassSummary(writer);
        using (writer.Block($"private float Pass({ReadOnlySpan} inputs, {targets}, global::Backprop.Optimizer? optimizer)"))
        {
            WriteBatchChecks(writer, plan, loss, magnitude: true);
            WriteTrainingBatch(writer, plan);
            WriteGate(writer, loss.TargetName);
        }
        writer.Line();
        WriteRunPassSummary(writer, TrainsWholeBatch(wiring));
        writer.Line("/// <param name=\"magnitude\">The inputs' largest magnitude, from their check.</param>");
        using (writer.Block($"private float RunPass({ReadOnlySpan} inputs, {targets}, int batch, global::Backprop.Optimizer? optimizer, float magnitude)"))
        {
            writer.Line("_training.InputMagnitude = magnitude;");
            WriteDataParallel(writer, plan, wiring);
            writer.Line($"Forward(_training, inputs, 0, batch, threads: {(TrainsWholeBatch(wiring) ? "_maxThreads" : "1")}, training: true);");
            writer.Line(loss.Comment(plan.Last));
            writer.Line($"float loss = {loss.Batch(logits, Training(wired.Delta!))};");
            WritePassEnd(writer, HasCommit(plan));
        }
        writer.Line();
    }

    /// <summary>
    /// The attribute that makes a direct call of the overload that does not fit the loss a build error (CS0619) naming the
    /// right one; through <c>INetwork</c> the call still compiles, and throws.
    /// </summary>
    private static string WrongOverload(NetworkPlan plan, string method, string? last = null)
    {
        last ??= method == "TrainStep" ? "optimizer" : null;
        string more = last is null ? "" : ", " + last;
        string right = TakesLabels(plan)
            ? $"integer class labels: call {method}(inputs, labels{more}) with a ReadOnlySpan<int>"
            : $"float targets: call {method}(inputs, targets{more}) with a ReadOnlySpan<float> of batch × OutputSize values";
        return $"[global::System.Obsolete(\"{plan.ClassName} is trained with {Names.Loss(plan.Loss)}, which takes {right}.\", error: true)]";
    }

    /// <summary>The smallest training batch the layers allow (BatchNorm of flat features: 2), checked before anything changes.</summary>
    private static void WriteTrainingBatch(SourceWriter writer, NetworkPlan plan)
    {
        var strictest = plan.Layers.OrderByDescending(layer => Unit(layer).MinimumTrainingBatch(layer)).First();
        int minimum = Unit(strictest).MinimumTrainingBatch(strictest);
        if (minimum > 1)
        {
            writer.Line($"{Guard}.TrainingBatch(NetworkName, batch, {Number(minimum)}, \"{strictest.Name}\");");
        }
    }

    private static void WritePassSummary(SourceWriter writer)
        => writer.Summary(
            "<c>ComputeGradients</c> (no optimizer) and <c>TrainStep</c>: checks the batch, then runs it (<see cref=\"RunPass\"/>)",
            "as the only call on this instance: it waits for the calls under way, and calls that arrive meanwhile wait for it (see <see cref=\"global::Backprop.Kernels.CallGate\"/>).");

    /// <summary>The pass as a writing call: entered through the gate, which is left whatever happens.</summary>
    private static void WriteGate(SourceWriter writer, string targets)
    {
        writer.Line("_gate.EnterWrite(optimizer is null ? nameof(ComputeGradients) : nameof(TrainStep));");
        using (writer.Block("try"))
        {
            writer.Line($"return RunPass(inputs, {targets}, batch, optimizer, magnitude);");
        }
        using (writer.Block("finally"))
        {
            writer.Line("_gate.ExitWrite();");
        }
    }

    private static void WriteRunPassSummary(SourceWriter writer, bool wholeBatch)
        => writer.Summary(
            "The pass of a checked batch: forward pass and loss, then the backward pass. A step whose loss or gradients are",
            "not all finite throws and changes nothing. With an optimizer whose rule is element-wise, once every layer's input",
            "gradient has been computed and the gradients bounded (all finite), each layer's parameters are updated as soon as",
            "their gradients are complete, while they are still in cache; otherwise the whole block is checked and stepped",
            "afterwards. Either way the result is the same, and <see cref=\"Gradients\"/> holds this batch's gradients.",
            wholeBatch
                ? "The batch is never cut into shards (batch statistics are the whole batch's): the forward products use up to MaxThreads threads."
                : "With more than one thread and a batch of at least two shards, the pass is data-parallel instead (<see cref=\"Shard\"/>).");

    private static void WriteDataParallel(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        writer.Line("// The optimizer's state belongs to one network: another network's optimizer is refused here. It leaves the");
        writer.Line("// frozen tensors as they are.");
        writer.Line("optimizer?.Attach(this, _frozen);");
        writer.Line("// A new training pass: layers that draw (Dropout) draw for this pass, the same on every shard.");
        writer.Line("_passes++;");
        if (TrainsWholeBatch(wiring))
        {
            writer.Line("// Batch statistics (BatchNorm) are the whole batch's, as in PyTorch: one pass over the batch, its forward");
            writer.Line("// products spread over up to MaxThreads cores, instead of data-parallel shards with statistics of their own.");
            return;
        }
        writer.Line("int shards = global::Backprop.Kernels.DataParallel.Shards(batch, _maxThreads);");
        using (writer.Block("if (shards > 1)"))
        {
            writer.Line("// Data parallelism: each core runs the forward pass, the loss and the backward pass on its shard of the");
            writer.Line("// samples (Shard), into its own gradients; those are summed in shard order, and stepped, range by range on every core.");
            writer.Line($"_dataParallel ??= new global::Backprop.Kernels.DataParallel<{Loss(plan).TargetType}>(NetworkName, ParameterCount, ScratchLength, Shard, s_tensors);");
            writer.Line($"return _dataParallel.Train(inputs, {Loss(plan).TargetName}, batch, shards, _parameters, _gradients, optimizer);");
        }
    }

    private static void WritePassEnd(SourceWriter writer, bool commit)
    {
        using (writer.Block("if (optimizer is null || !float.IsFinite(loss))"))
        {
            writer.Line("Backward(_training, inputs, 0, batch, _gradients, _scratch);");
            using (writer.Block("if (optimizer is not null)"))
            {
                writer.Line("// The loss is not finite: Gradients hold this batch's gradients for inspection; the parameters are not touched.");
                writer.Line($"{Guard}.FiniteLoss(NetworkName, loss, optimizer.StepCount);");
            }
            if (commit)
            {
                using (writer.Block("if (float.IsFinite(loss))"))
                {
                    writer.Line("CommitPass();");
                }
            }
            writer.Line("return loss;");
        }
        writer.Line("// Every layer's input gradient first, with a bound on every parameter gradient: when it proves them all finite,");
        writer.Line("// each layer is updated as soon as its gradients are complete, while they are in cache; otherwise every gradient");
        writer.Line("// is computed and checked before the whole block is stepped. A non-finite gradient changes nothing either way.");
        writer.Line("double bound = InputGradients(_training, inputs, 0, batch, _gradients, _scratch);");
        using (writer.Block("if (bound <= global::Backprop.Kernels.GradientBound.Limit && optimizer.BeginPartialStep(ParameterCount))"))
        {
            writer.Line("ParameterGradients(_training, inputs, 0, batch, _gradients, _scratch, optimizer);");
        }
        using (writer.Block("else"))
        {
            writer.Line("ParameterGradients(_training, inputs, 0, batch, _gradients, _scratch, optimizer: null);");
            writer.Line($"{Guard}.FiniteGradients(NetworkName, _gradients, s_tensors, optimizer.StepCount);");
            writer.Line("optimizer.Step(_parameters, _gradients);");
        }
        if (commit)
        {
            writer.Line("CommitPass();");
        }
        writer.Line("return loss;");
    }

    private static void WriteTrainSteps(SourceWriter writer, NetworkPlan plan)
    {
        foreach (bool labels in new[] { true, false })
        {
            string targets = labels ? "global::System.ReadOnlySpan<int> labels" : $"{ReadOnlySpan} targets";
            writer.Summary(
                $"One training step: <see cref=\"ComputeGradients({(labels ? "global::System.ReadOnlySpan{float}, global::System.ReadOnlySpan{int}" : "global::System.ReadOnlySpan{float}, global::System.ReadOnlySpan{float}")})\"/>,",
                "then one update by <paramref name=\"optimizer\"/>. Returns the loss before the update.");
            writer.Line(TakesLabels(plan) == labels
                ? "/// <exception cref=\"global::System.ArgumentException\">As for <c>ComputeGradients</c>, or <paramref name=\"optimizer\"/> already steps another network (<see cref=\"global::Backprop.Optimizer.Attach\"/>); the parameters are left unchanged.</exception>"
                : "/// <exception cref=\"global::System.ArgumentException\">As for <c>ComputeGradients</c>; the parameters are left unchanged.</exception>");
            writer.Line("/// <exception cref=\"global::System.ArithmeticException\">The loss or a gradient is not finite; the parameters and the optimizer's state are left unchanged.</exception>");
            if (TakesLabels(plan) != labels)
            {
                writer.Line($"/// <exception cref=\"global::System.InvalidOperationException\">Always: this network is trained with {Names.Loss(plan.Loss)}.</exception>");
            }
            writer.Line(TakesLabels(plan) == labels ? WritingCall : WrongOverload(plan, "TrainStep"));
            using (writer.Block($"public float TrainStep({ReadOnlySpan} inputs, {targets}, global::Backprop.Optimizer optimizer)"))
            {
                writer.Line("global::System.ArgumentNullException.ThrowIfNull(optimizer);");
                writer.Line(TakesLabels(plan) == labels
                    ? $"return Pass(inputs, {(labels ? "labels" : "targets")}, optimizer);"
                    : $"return ComputeGradients(inputs, {(labels ? "labels" : "targets")});");
            }
            writer.Line();
        }
    }

    private static void WriteComputeLoss(SourceWriter writer, NetworkPlan plan, BufferWiring wiring)
    {
        var loss = Loss(plan);
        string logits = Logits(plan, wiring);
        foreach (bool labels in new[] { true, false })
        {
            bool fits = loss.TakesLabels == labels;
            string targets = labels ? "global::System.ReadOnlySpan<int> labels" : $"{ReadOnlySpan} targets";
            writer.Summary(
                "The loss of a batch in inference mode (<c>model.eval()</c>: no dropout), as <c>ComputeGradients</c> would return it",
                "there, without touching <see cref=\"Gradients\"/> or anything else: for validation data.");
            writer.Line(fits
                ? $"/// <exception cref=\"global::System.ArgumentException\">{LossCheckFailures(loss)}</exception>"
                : $"/// <exception cref=\"global::System.InvalidOperationException\">Always: this network is trained with {loss.Name}.</exception>");
            writer.Line(fits ? ReadingCall : WrongOverload(plan, "ComputeLoss"));
            using (writer.Block($"public float ComputeLoss({ReadOnlySpan} inputs, {targets})"))
            {
                if (!fits)
                {
                    writer.Line($"throw {Guard}.WrongTargets(NetworkName, global::Backprop.Loss.{loss.Name}, labels: {(labels ? "true" : "false")});");
                }
                else
                {
                    WriteBatchChecks(writer, plan, loss);
                    writer.Line("_gate.EnterRead(nameof(ComputeLoss));");
                    writer.Line("Activations activations = _predictions.Rent();");
                    using (writer.Block("try"))
                    {
                        writer.Line("Forward(activations, inputs, 0, batch, _maxThreads, training: false);");
                        writer.Line($"{ReadOnlySpan} logits = {logits}.Slice(0, batch * OutputSize);");
                        writer.Line($"return {loss.Batch("logits", "activations.LossScratch")};");
                    }
                    using (writer.Block("finally"))
                    {
                        writer.Line("_predictions.Return(activations);");
                        writer.Line("_gate.ExitRead();");
                    }
                }
            }
            writer.Line();
        }
        foreach (bool labels in new[] { true, false })
        {
            WriteComputeLossWithOutputs(writer, plan, wiring, labels);
        }
    }

    /// <summary>
    /// <c>ComputeLoss(inputs, labels | targets, outputs)</c>: the loss and the predictions of one inference pass, so that an
    /// evaluation (Fit's validation after every epoch) runs the network once, not once for <c>Predict</c> and once for the
    /// loss. Image networks go through in passes of <see cref="PredictionTile"/> samples as <c>Predict</c> does, each
    /// pass adding its share of the batch's mean loss.
    /// </summary>
    private static void WriteComputeLossWithOutputs(SourceWriter writer, NetworkPlan plan, BufferWiring wiring, bool labels)
    {
        var loss = Loss(plan);
        string logits = Logits(plan, wiring);
        bool fits = loss.TakesLabels == labels;
        string targets = labels ? "global::System.ReadOnlySpan<int> labels" : $"{ReadOnlySpan} targets";
        writer.Summary(
            "The loss of a batch in inference mode, as <see cref=\"ComputeLoss(" + (labels ? "global::System.ReadOnlySpan{float}, global::System.ReadOnlySpan{int}" : "global::System.ReadOnlySpan{float}, global::System.ReadOnlySpan{float}") + ")\"/> gives it",
            "(up to the order of the sum), and the predictions into <paramref name=\"outputs\"/> exactly as <see cref=\"Predict\"/> writes them,",
            "from one forward pass: what an evaluation needs (the loss and the metrics) at the cost of one prediction.");
        writer.Line(fits
            ? $"/// <exception cref=\"global::System.ArgumentException\">{LossCheckFailures(loss)}</exception>"
            : $"/// <exception cref=\"global::System.InvalidOperationException\">Always: this network is trained with {loss.Name}.</exception>");
        writer.Line(fits ? ReadingCall : WrongOverload(plan, "ComputeLoss", "outputs"));
        using (writer.Block($"public float ComputeLoss({ReadOnlySpan} inputs, {targets}, {Span} outputs)"))
        {
            if (!fits)
            {
                writer.Line($"throw {Guard}.WrongTargets(NetworkName, global::Backprop.Loss.{loss.Name}, labels: {(labels ? "true" : "false")});");
            }
            else
            {
                WriteLossWithOutputsBody(writer, plan, wiring, loss, logits);
            }
        }
        writer.Line();
    }

    /// <summary>The body of <c>ComputeLoss(inputs, targets, outputs)</c> for the network's own targets.</summary>
    private static void WriteLossWithOutputsBody(SourceWriter writer, NetworkPlan plan, BufferWiring wiring, LossUnit loss, string logits)
    {
        WriteBatchChecks(writer, plan, loss);
        writer.Line($"{Guard}.Length(NetworkName, \"outputs\", outputs.Length, batch, OutputSize, nameof(outputs));");
        writer.Line("_gate.EnterRead(nameof(ComputeLoss));");
        writer.Line("Activations activations = _predictions.Rent();");
        using (writer.Block("try"))
        {
            void Pass()
            {
                writer.Line("Forward(activations, inputs.Slice(first * InputSize, count * InputSize), 0, count, _maxThreads, training: false);");
                writer.Line($"{InSet(LastOutput(wiring))}.Slice(0, count * OutputSize).CopyTo(outputs.Slice(first * OutputSize, count * OutputSize));");
                writer.Line($"loss += global::Backprop.Kernels.Losses.{loss.PartMethod}({loss.PartArguments($"{logits}.Slice(0, count * OutputSize)", "activations.LossScratch.Slice(0, count * OutputSize)")});");
            }
            writer.Line("double loss = 0;");
            if (PredictionTile(plan) is int tile)
            {
                writer.Line($"// Image layers: {tile} samples at a time, in the first {tile} rows of every buffer (as PredictRows), each");
                writer.Line("// pass adding its share of the batch's mean loss.");
                using (writer.Block($"for (int first = 0; first < batch; first += {tile})"))
                {
                    writer.Line($"int count = global::System.Math.Min({tile}, batch - first);");
                    Pass();
                }
            }
            else
            {
                writer.Line("// The whole batch in one pass.");
                writer.Line("int first = 0, count = batch;");
                Pass();
            }
            writer.Line("return (float)loss;");
        }
        using (writer.Block("finally"))
        {
            writer.Line("_predictions.Return(activations);");
            writer.Line("_gate.ExitRead();");
        }
    }

    /// <summary>The buffer the loss reads: the last layer's pre-activation when the loss folds its activation in, else its output.</summary>
    private static string Logits(NetworkPlan plan, BufferWiring wiring)
    {
        var wired = wiring.Layers[wiring.Layers.Count - 1];
        return InSet((Loss(plan).Fuses(plan.Last) ? wired.PreActivation : wired.Output)!);
    }

    /// <summary>What the loss calls' checks refuse (the exception documentation).</summary>
    private static string LossCheckFailures(LossUnit loss) => loss.TakesLabels
        ? "A length does not fit, the batch exceeds <see cref=\"MaxBatch\"/>, a label is out of range or an input is not finite."
        : "A length does not fit, the batch exceeds <see cref=\"MaxBatch\"/>, or an input or target is not finite.";

    /// <summary>
    /// The checks of a batch and its targets, in the order every training and loss call makes them (each throws before
    /// anything changes): the batch size, the labels or the targets' length, the inputs finite, the targets finite.
    /// </summary>
    /// <remarks>With <paramref name="magnitude"/>, the inputs' check also keeps their largest magnitude in a local <c>magnitude</c> (what bounds the first layer's gradients).</remarks>
    private static void WriteBatchChecks(SourceWriter writer, NetworkPlan plan, LossUnit loss, bool magnitude = false)
    {
        writer.Line($"int batch = {Guard}.Batch(NetworkName, inputs, InputSize, _maxBatch);");
        writer.Line(loss.TakesLabels
            ? $"{Guard}.Labels(NetworkName, labels, batch, OutputSize);"
            : $"{Guard}.Length(NetworkName, \"targets\", targets.Length, batch, OutputSize, nameof(targets));");
        writer.Line(magnitude
            ? $"float magnitude = {Guard}.FiniteMagnitude(NetworkName, \"inputs\", inputs, InputSize, nameof(inputs));"
            : $"{Guard}.Finite(NetworkName, \"inputs\", inputs, InputSize, nameof(inputs));");
        if (!loss.TakesLabels)
        {
            writer.Line($"{Guard}.Finite(NetworkName, \"targets\", targets, OutputSize, nameof(targets));");
        }
        WriteInputChecks(writer, plan);
    }

    /// <summary>The first layer's checks of the inputs' values (an embedding's token ids), before any pass begins.</summary>
    private static void WriteInputChecks(SourceWriter writer, NetworkPlan plan)
    {
        var first = plan.Layers[0];
        LayerRegistry.ForKind(first.Kind).EmitInputChecks(writer, first);
    }
}
