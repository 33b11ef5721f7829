namespace Backprop.Generator.Model;

/// <summary>A checked network: every shape inferred, every parameter placed. Value-equatable.</summary>
/// <param name="Namespace">The namespace, or empty.</param>
/// <param name="ContainingTypes">Enclosing types from the outermost in.</param>
/// <param name="ClassName">The class's name.</param>
/// <param name="Loss">The loss (value of <c>Backprop.Loss</c>).</param>
/// <param name="InputShape">The shape of one input sample.</param>
/// <param name="Layers">The layers in order.</param>
/// <param name="Weights">The embedded weights file the declaration names (<c>[Network(Weights = ...)]</c>), or null.</param>
internal sealed record NetworkPlan(
    string Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string ClassName,
    int Loss,
    Shape InputShape,
    EquatableArray<LayerPlan> Layers,
    string? Weights = null)
{
    public LayerPlan Last => Layers[Layers.Count - 1];

    /// <summary>Values per input sample.</summary>
    public int InputSize => InputShape.Size;

    public Shape OutputShape => Last.OutputShape;

    public int OutputSize => Last.OutputSize;

    public int ParameterCount
    {
        get
        {
            int count = 0;
            foreach (var layer in Layers)
            {
                count += layer.ParameterCount;
            }
            return count;
        }
    }

    /// <summary>Floats of state (running statistics): the state block, outside the parameters and the optimizer.</summary>
    public int StateCount
    {
        get
        {
            int count = 0;
            foreach (var layer in Layers)
            {
                count += layer.StateCount;
            }
            return count;
        }
    }
}

/// <summary>
/// One layer after shape inference. Each layer kind derives its own record with what its emitters need;
/// the base holds what the network emitter needs of every layer.
/// </summary>
/// <param name="Kind">The layer kind, as in the attribute name (<c>Dense</c>).</param>
/// <param name="Name">The layer's name, the prefix of its tensors (<c>dense1</c>).</param>
/// <param name="InputShape">The shape of one sample in.</param>
/// <param name="OutputShape">The shape of one sample out.</param>
/// <param name="ParameterOffset">Where its parameters start in the parameter block.</param>
/// <param name="ParameterCount">How many parameters it has.</param>
/// <param name="Activation">Its activation (value of <c>Backprop.Activation</c>; Linear for layers without one).</param>
internal abstract record LayerPlan(string Kind, string Name, Shape InputShape, Shape OutputShape, int ParameterOffset, int ParameterCount, int Activation)
{
    /// <summary>Values per sample in.</summary>
    public int InputSize => InputShape.Size;

    /// <summary>Values per sample out.</summary>
    public int OutputSize => OutputShape.Size;

    /// <summary>Floats of state (not trained: running statistics) the layer keeps in the state block.</summary>
    public virtual int StateCount => 0;

    /// <summary>The identifier stem for constants and fields: <c>dense1</c> → <c>Dense1</c>.</summary>
    public string Pascal => Identifiers.Pascal(Name);

    /// <summary>The same stem in camel case, for fields: <c>dense1</c>.</summary>
    public string Camel => Identifiers.Camel(Name);
}

/// <summary>Names for generated members.</summary>
internal static class Identifiers
{
    /// <summary>Turns a layer name into a PascalCase identifier stem (non-identifier characters dropped).</summary>
    public static string Pascal(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length);
        bool upper = true;
        foreach (char c in name)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            else
            {
                upper = true;
            }
        }
        if (builder.Length == 0 || char.IsDigit(builder[0]))
        {
            builder.Insert(0, "Layer");
        }
        return builder.ToString();
    }

    /// <summary>
    /// An identifier as C# source must spell it: <c>@</c> before a keyword or contextual keyword
    /// (<c>class</c> → <c>@class</c>, <c>record</c> → <c>@record</c>); a dotted name is escaped part by part.
    /// </summary>
    public static string Escape(string name)
    {
        if (name.IndexOf('.') >= 0)
        {
            return string.Join(".", System.Linq.Enumerable.Select(name.Split('.'), Escape));
        }
        return Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(name) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None
            || Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetContextualKeywordKind(name) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None
            ? "@" + name
            : name;
    }

    public static string Camel(string name)
    {
        string pascal = Pascal(name);
        return char.ToLowerInvariant(pascal[0]) + pascal.Substring(1);
    }
}
