using System.Collections.Generic;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;

namespace Backprop.Generator.Emit;

/// <summary>
/// The names of the members the emitter declares directly in a network class (public API, private members, the
/// nested <c>Activations</c> type, per-layer constants). Shape inference refuses a class named like one of them
/// (C# forbids a member named like its type, CS0542) before any code is emitted. A test compares this list with
/// the members parsed from the emitted code of every test network, so it cannot drift from the emitter.
/// </summary>
internal static class GeneratedNames
{
    private static readonly string[] s_fixed =
    [
        "InputSize", "OutputSize", "ParameterCount", "NetworkName", "Architecture", "ScratchLength",
        "s_tensors", "s_inputShape", "s_outputShape", "_parameters", "_gradients", "_scratch", "_maxBatch", "_seed", "_passes", "_maxThreads", "_dataParallel",
        "_training", "_predictions", "_gate", "_frozen",
        "InputShape", "OutputShape", "MaxBatch", "MaxThreads", "Loss", "Parameters", "Gradients", "Tensors",
        "Predict", "ComputeGradients", "TrainStep", "ComputeLoss", "Pass", "RunPass", "Shard", "PredictRows", "Forward", "Backward",
        "InputGradients", "ParameterGradients", "ParameterGradientLayers", "Freeze", "Unfreeze", "IsFrozen", "FrozenTensors", "TrainingPasses",
        "Initialize", "CopyTensor", "CopyGradient", "SetTensor", "CopyOut", "CopyIn", "Save", "Load", "ExportOnnx", "BuildOnnx",
        "Activations",
    ];

    /// <summary>Every member name the generated half of <paramref name="plan"/>'s class declares (constructors aside).</summary>
    public static HashSet<string> Of(NetworkPlan plan)
    {
        var names = new HashSet<string>(s_fixed, System.StringComparer.Ordinal);
        if (NetworkEmitter.TrainsWholeBatch(new BufferWiring(plan)))
        {
            names.Remove("_dataParallel");
            names.Remove("Shard");
        }
        if (plan.Weights is not null)
        {
            names.Add("LoadEmbeddedWeights");
        }
        if (plan.StateCount > 0)
        {
            names.Add("StateCount");
            names.Add("_state");
        }
        if (NetworkEmitter.HasCommit(plan))
        {
            names.Add("CommitPass");
        }
        if (NetworkEmitter.Counters(plan).Count > 0)
        {
            names.Add("s_counters");
            names.Add("_counters");
        }
        foreach (var layer in plan.Layers)
        {
            foreach (string name in LayerRegistry.ForKind(layer.Kind).ConstantNames(layer))
            {
                names.Add(name);
            }
        }
        return names;
    }
}
