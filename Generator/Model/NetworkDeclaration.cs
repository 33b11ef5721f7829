namespace Backprop.Generator.Model;

/// <summary>
/// What the parser reads from a <c>[Network]</c> class: names and constant attribute arguments only, no symbols,
/// syntax or locations, so that the incremental pipeline can compare it by value.
/// </summary>
/// <param name="Namespace">The namespace, or empty for the global namespace.</param>
/// <param name="ContainingTypes">Enclosing types from the outermost in, for nested classes.</param>
/// <param name="ClassName">The class's name.</param>
/// <param name="Problems">Declaration-level problems found while parsing (not partial, generic, ...).</param>
/// <param name="NetworkOrdinal">The ordinal of the <c>[Network]</c> attribute among the class's attributes.</param>
/// <param name="Loss">The <c>Loss</c> named argument of <c>[Network]</c> (enum value), or null when not given.</param>
/// <param name="Input">The <c>[Input]</c> attribute, or null when the declaration has none.</param>
/// <param name="Layers">Layer attributes on the <c>[Network]</c> declaration, in source order.</param>
/// <param name="LayersElsewhere">Layer or input attributes found on other partial declarations of the class.</param>
/// <param name="Weights">The <c>Weights</c> named argument of <c>[Network]</c>: the embedded weights file, or null.</param>
internal sealed record NetworkDeclaration(
    string Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string ClassName,
    EquatableArray<DeclarationProblem> Problems,
    int NetworkOrdinal,
    int? Loss,
    AttributeSpec? Input,
    EquatableArray<AttributeSpec> Layers,
    int LayersElsewhere,
    string? Weights = null)
{
    /// <summary>The class name with its enclosing types, as a person writes it.</summary>
    public string DisplayName
    {
        get
        {
            var builder = new System.Text.StringBuilder();
            foreach (var type in ContainingTypes)
            {
                builder.Append(type.Name).Append('.');
            }
            return builder.Append(ClassName).ToString();
        }
    }
}

/// <summary>An enclosing type of a nested network class.</summary>
/// <param name="Keyword">The declaration keyword(s): <c>class</c>, <c>struct</c>, <c>record</c>, <c>record struct</c>, <c>interface</c>.</param>
/// <param name="Name">The name as the compiler reads it (no <c>@</c>), with type parameters if any (<c>Outer&lt;T&gt;</c>).</param>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>A problem with the class declaration itself.</summary>
internal enum DeclarationProblem
{
    NotPartial,
    ContainingTypeNotPartial,
    Generic,
    Static,
    Record,
    Abstract,
    FileLocal,
}

/// <summary>One attribute application: its kind and its constant arguments, by parameter or property name.</summary>
/// <param name="Kind">The attribute's metadata name, e.g. <c>Backprop.DenseAttribute</c>.</param>
/// <param name="Ordinal">Its position among the class's attributes (for mapping diagnostics back to syntax).</param>
/// <param name="Arguments">Constructor arguments by parameter name, then named arguments by property name.</param>
/// <param name="HasErrors">The compiler could not bind it (half-typed code, wrong argument types).</param>
internal sealed record AttributeSpec(string Kind, int Ordinal, EquatableArray<ArgumentSpec> Arguments, bool HasErrors)
{
    public ArgumentSpec? Find(string name)
    {
        foreach (var argument in Arguments)
        {
            if (argument.Name == name)
            {
                return argument;
            }
        }
        return null;
    }
}

/// <summary>
/// A constant argument. Numbers and enum values are kept as <see cref="Number"/>, strings as <see cref="Text"/>, the
/// elements of an array (a <c>params</c> argument) as <see cref="Items"/>, each an argument of its own.
/// </summary>
internal sealed record ArgumentSpec(string Name, ArgumentKind Kind, double Number, string? Text, EquatableArray<ArgumentSpec> Items = default);

internal enum ArgumentKind
{
    Integer,
    Real,
    Enum,
    String,
    Boolean,
    Null,
    Array,
    Other,
}
