using System.Collections.Generic;
using System.Linq;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;

namespace Backprop.Generator.Emit;

/// <summary>
/// The buffers of a network, wired from the layers' buffer plans alone: each layer's buffers by role, with aliases
/// (a buffer that is "the same memory as my input's") resolved to the field that owns the memory, and the list of
/// fields the activation sets allocate. The network's input has an output (the <c>inputs</c> span) but no delta.
/// </summary>
internal sealed class BufferWiring
{
    /// <summary>The fields of one layer after wiring; null output means the network's <c>inputs</c>, null delta means none.</summary>
    internal sealed record Wired(
        LayerPlan Layer, LayerUnit Unit, string? Output, string? PreActivation, string? Delta,
        IReadOnlyDictionary<string, string> Saved, string? Input, string? InputDelta);

    private readonly List<Wired> _layers = new();
    private readonly List<BufferPlan> _owned = new();
    private readonly Dictionary<string, BufferPlan> _byField = new(System.StringComparer.Ordinal);

    public BufferWiring(NetworkPlan plan)
    {
        string? previousOutput = null, previousDelta = null;
        bool first = true;
        foreach (var layer in plan.Layers)
        {
            var unit = LayerRegistry.ForKind(layer.Kind);
            string? output = null, preActivation = null, delta = null;
            var saved = new Dictionary<string, string>(System.StringComparer.Ordinal);
            foreach (var buffer in unit.Buffers(layer))
            {
                string? field;
                if (buffer.AliasesInput)
                {
                    field = buffer.Role == BufferRole.Delta ? previousDelta : buffer.Role == BufferRole.Output ? previousOutput : null;
                }
                else
                {
                    field = buffer.Field;
                    _owned.Add(buffer);
                    _byField[buffer.Field] = buffer;
                }
                switch (buffer.Role)
                {
                    case BufferRole.Output:
                        output = field;
                        break;
                    case BufferRole.PreActivation:
                        preActivation = field;
                        break;
                    case BufferRole.Delta:
                        delta = field;
                        break;
                    default:
                        saved[buffer.Key] = field!;
                        break;
                }
            }
            _layers.Add(new Wired(layer, unit, output, preActivation ?? output, delta, saved, first ? null : previousOutput, first ? null : previousDelta));
            previousOutput = output;
            previousDelta = delta;
            first = false;
        }
    }

    /// <summary>The layers in order, wired.</summary>
    public IReadOnlyList<Wired> Layers => _layers;

    /// <summary>Every buffer an activation set allocates, in layer order.</summary>
    public IReadOnlyList<BufferPlan> Owned => _owned;

    /// <summary>The buffers every set allocates (what the forward pass writes): all that Predict needs.</summary>
    public IEnumerable<BufferPlan> Forward => _owned.Where(b => !b.TrainingOnly);

    /// <summary>The plan of an owned field.</summary>
    public BufferPlan Of(string field) => _byField[field];

    /// <summary>A field's local span in a pass, or <c>inputs</c> for the network's input.</summary>
    public static string Local(string? field) => field is null ? "inputs" : LayerUnit.Local(field);

    /// <summary>The local spans of a wired layer, for its unit's statements.</summary>
    public static LayerBuffers Buffers(Wired wired, bool training)
        => new(
            Local(wired.Input),
            wired.InputDelta is null ? null : LayerUnit.Local(wired.InputDelta),
            Local(wired.Output),
            Local(wired.PreActivation),
            training && wired.Delta is not null ? LayerUnit.Local(wired.Delta) : null,
            wired.Saved.ToDictionary(pair => pair.Key, pair => LayerUnit.Local(pair.Value)));
}
