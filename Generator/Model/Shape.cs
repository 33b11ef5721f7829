using System.Globalization;

namespace Backprop.Generator.Model;

/// <summary>
/// The dimensions of one sample, outermost first (<c>[784]</c>, <c>[1, 28, 28]</c>), compared by value. It flows from
/// <c>[Input(...)]</c> through shape inference, where each layer maps its input shape to its output shape, to the
/// emitter.
/// </summary>
internal sealed record Shape(EquatableArray<int> Dimensions)
{
    public static Shape Of(params int[] dimensions) => new(new EquatableArray<int>(dimensions));

    public int Rank => Dimensions.Count;

    public int this[int index] => Dimensions[index];

    /// <summary>Values per sample: the product of the dimensions (shape inference keeps it within an <c>int</c>).</summary>
    public int Size => (int)LongSize;

    /// <summary>The product of the dimensions, without overflow.</summary>
    public long LongSize
    {
        get
        {
            long size = 1;
            foreach (int dimension in Dimensions)
            {
                size *= dimension;
                if (size > int.MaxValue)
                {
                    return (long)int.MaxValue + 1;
                }
            }
            return size;
        }
    }

    /// <summary>As messages and comments write it: <c>[1, 28, 28]</c>.</summary>
    public override string ToString()
    {
        var builder = new System.Text.StringBuilder("[");
        for (int i = 0; i < Rank; i++)
        {
            builder.Append(i == 0 ? "" : ", ").Append(Dimensions[i].ToString(CultureInfo.InvariantCulture));
        }
        return builder.Append(']').ToString();
    }
}
