namespace Backprop.Generator.Shapes;

/// <summary>
/// Stable diagnostic IDs. Shape inference names the rule a network breaks with one of these; the analyzer
/// reports it at the attribute or argument responsible. IDs are never reused.
/// </summary>
internal static class DiagnosticIds
{
    public const string NotPartial = "BPG0001";
    public const string MissingInput = "BPG0002";
    public const string NoLayers = "BPG0003";
    public const string LayerWithoutNetwork = "BPG0004";
    public const string SplitDeclaration = "BPG0005";
    public const string NonPositiveSize = "BPG0006";
    public const string SoftmaxNotLast = "BPG0007";
    public const string LossMismatch = "BPG0008";
    public const string UnsupportedClass = "BPG0009";
    public const string DuplicateName = "BPG0010";
    public const string InvalidArgument = "BPG0011";
    public const string MeanSquaredErrorOnSoftmax = "BPG0012";
    public const string CallSiteLength = "BPG0013";
    public const string GeneratedMemberCollision = "BPG0014";
    public const string CrossEntropyOnSquashedOutput = "BPG0015";
    public const string BinaryCrossEntropyOnUnboundedOutput = "BPG0016";
    public const string ShapeMismatch = "BPG0017";
    public const string EmbeddedWeights = "BPG0018";
    public const string TooLarge = "BPG0019";
    public const string NetworkSummary = "BPG0100";
}

/// <summary>
/// A rule a declaration breaks, and where: an attribute (by ordinal) and optionally one of its arguments. The words
/// are the table's (<see cref="Diagnostics.DiagnosticTable"/>); the error holds the message and its arguments as text,
/// so it stays value-equatable for the generator's cache.
/// </summary>
/// <param name="Rule">The message of the diagnostics table it is reported with.</param>
/// <param name="Arguments">The message's arguments, as invariant text.</param>
/// <param name="AttributeOrdinal">The attribute responsible, or -1 for the class declaration.</param>
/// <param name="ArgumentName">The argument responsible, or null for the whole attribute.</param>
/// <param name="Fix">For a mismatch with one obvious correction, the argument value that corrects it
/// (e.g. <c>Loss.BinaryCrossEntropy</c> for <paramref name="ArgumentName"/> <c>Loss</c>); the code fix applies it.</param>
internal sealed record ShapeError(Diagnostics.DiagnosticMessage Rule, Model.EquatableArray<string> Arguments, int AttributeOrdinal, string? ArgumentName, string? Fix = null)
{
    /// <summary>The diagnostic ID.</summary>
    public string Id => Rule.Rule.Id;

    /// <summary>The message, naming the layers and shapes involved.</summary>
    public string Message => Rule.Fill(Arguments);

    /// <summary>A likely mistake that still gives a working network (it does not stop generation).</summary>
    public bool IsWarning => Rule.Rule.Severity != Microsoft.CodeAnalysis.DiagnosticSeverity.Error;
}
