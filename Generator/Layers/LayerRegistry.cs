using System.Collections.Generic;

namespace Backprop.Generator.Layers;

/// <summary>The layer kinds the generator knows, by attribute metadata name.</summary>
internal static class LayerRegistry
{
    private static readonly LayerUnit[] s_units =
    {
        new DenseUnit(), new Conv2DUnit(), new Pool2DUnit("MaxPool2D", "pool"), new Pool2DUnit("AvgPool2D", "avgpool"),
        new GlobalAvgPool2DUnit(), new FlattenUnit(), new DropoutUnit(), new BatchNormUnit(),
        new RecurrentUnit("SimpleRnn", "rnn", gates: 1, cell: "SimpleRnn", torch: "nn.RNN"),
        new RecurrentUnit("Lstm", "lstm", gates: 4, cell: "Lstm", torch: "nn.LSTM"),
        new RecurrentUnit("Gru", "gru", gates: 3, cell: "Gru", torch: "nn.GRU"),
        new EmbeddingUnit(), new NormalizationUnit(),
    };

    private static readonly Dictionary<string, LayerUnit> s_byAttribute = Index();

    public static IReadOnlyList<LayerUnit> All => s_units;

    public static LayerUnit? ForAttribute(string metadataName)
        => s_byAttribute.TryGetValue(metadataName, out var unit) ? unit : null;

    public static LayerUnit ForKind(string kind)
    {
        foreach (var unit in s_units)
        {
            if (unit.Kind == kind)
            {
                return unit;
            }
        }
        throw new KeyNotFoundException(kind);
    }

    private static Dictionary<string, LayerUnit> Index()
    {
        var index = new Dictionary<string, LayerUnit>();
        foreach (var unit in s_units)
        {
            index[unit.AttributeName] = unit;
        }
        return index;
    }
}
