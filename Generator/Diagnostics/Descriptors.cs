using System.Collections.Generic;
using System.Collections.Immutable;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;

namespace Backprop.Generator.Diagnostics;

/// <summary>
/// The diagnostics catalogue. Each ID has a section in docs/diagnostics.md that its help link points to, and a
/// line in AnalyzerReleases.Shipped.md/Unshipped.md. To add one: next free ID in <see cref="DiagnosticIds"/>, a
/// descriptor here, the release file, a docs section, a test that it fires on the right span and not on valid code.
/// </summary>
internal static class Descriptors
{
    private const string HelpBase = "https://github.com/backprop-gen/Backprop.Gen/blob/main/docs/diagnostics.md#";

    public const string DeclarationCategory = "Backprop.Declaration";
    public const string ShapeCategory = "Backprop.Shape";
    public const string UsageCategory = "Backprop.Usage";

    public static readonly DiagnosticDescriptor NotPartial = Create(DiagnosticIds.NotPartial, "Network class must be partial", DeclarationCategory);
    public static readonly DiagnosticDescriptor MissingInput = Create(DiagnosticIds.MissingInput, "Network has no [Input]", DeclarationCategory);
    public static readonly DiagnosticDescriptor NoLayers = Create(DiagnosticIds.NoLayers, "Network has no layers", DeclarationCategory);
    public static readonly DiagnosticDescriptor LayerWithoutNetwork = Create(DiagnosticIds.LayerWithoutNetwork, "Layer attribute on a class without [Network]", DeclarationCategory, DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor SplitDeclaration = Create(DiagnosticIds.SplitDeclaration, "Layers split over several partial declarations", DeclarationCategory);
    public static readonly DiagnosticDescriptor NonPositiveSize = Create(DiagnosticIds.NonPositiveSize, "Size must be positive", ShapeCategory);
    public static readonly DiagnosticDescriptor SoftmaxNotLast = Create(DiagnosticIds.SoftmaxNotLast, "Softmax is allowed on the last layer only", ShapeCategory);
    public static readonly DiagnosticDescriptor LossMismatch = Create(DiagnosticIds.LossMismatch, "Loss does not fit the network's output", ShapeCategory);
    public static readonly DiagnosticDescriptor UnsupportedClass = Create(DiagnosticIds.UnsupportedClass, "Network class cannot be static, generic, abstract, file-local or a record", DeclarationCategory);
    public static readonly DiagnosticDescriptor DuplicateName = Create(DiagnosticIds.DuplicateName, "Layer name used twice", DeclarationCategory);
    public static readonly DiagnosticDescriptor InvalidArgument = Create(DiagnosticIds.InvalidArgument, "Invalid attribute argument", DeclarationCategory);
    public static readonly DiagnosticDescriptor MeanSquaredErrorOnSoftmax = Create(DiagnosticIds.MeanSquaredErrorOnSoftmax, "Mean squared error on a Softmax output", ShapeCategory, DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor GeneratedMemberCollision = Create(DiagnosticIds.GeneratedMemberCollision, "Member collides with a generated member", DeclarationCategory);
    public static readonly DiagnosticDescriptor CrossEntropyOnSquashedOutput = Create(DiagnosticIds.CrossEntropyOnSquashedOutput, "Softmax cross-entropy on a Sigmoid, Tanh or Relu output", ShapeCategory, DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor BinaryCrossEntropyOnUnboundedOutput = Create(DiagnosticIds.BinaryCrossEntropyOnUnboundedOutput, "Binary cross-entropy on a Relu or Tanh output", ShapeCategory, DiagnosticSeverity.Warning);
    public static readonly DiagnosticDescriptor ShapeMismatch = Create(DiagnosticIds.ShapeMismatch, "Layer does not fit the shape it receives", ShapeCategory);
    public static readonly DiagnosticDescriptor EmbeddedWeights = Create(DiagnosticIds.EmbeddedWeights, "Embedded weights file is missing or does not match the network", DeclarationCategory);
    public static readonly DiagnosticDescriptor CallSiteLength = Create(DiagnosticIds.CallSiteLength, "Buffer length does not fit the network", UsageCategory, DiagnosticSeverity.Warning);

    /// <summary>Off by default: turn it on (<c>dotnet_diagnostic.BPG0100.severity = suggestion</c>) to see each network's shapes.</summary>
    public static readonly DiagnosticDescriptor NetworkSummary = new(
        DiagnosticIds.NetworkSummary, "Network shapes", "{0}", ShapeCategory, DiagnosticSeverity.Info,
        isEnabledByDefault: false, description: "The inferred shape after each layer and the parameter count.",
        helpLinkUri: HelpBase + DiagnosticIds.NetworkSummary.ToLowerInvariant());

    public static readonly ImmutableArray<DiagnosticDescriptor> DeclarationRules = ImmutableArray.Create(
        NotPartial, MissingInput, NoLayers, LayerWithoutNetwork, SplitDeclaration, NonPositiveSize, SoftmaxNotLast,
        LossMismatch, UnsupportedClass, DuplicateName, InvalidArgument, MeanSquaredErrorOnSoftmax, GeneratedMemberCollision, CrossEntropyOnSquashedOutput, BinaryCrossEntropyOnUnboundedOutput, ShapeMismatch, EmbeddedWeights, NetworkSummary);

    private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = Index();

    public static DiagnosticDescriptor ById(string id) => s_byId[id];

    private static DiagnosticDescriptor Create(string id, string title, string category, DiagnosticSeverity severity = DiagnosticSeverity.Error)
        => new(id, title, "{0}", category, severity, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());

    private static Dictionary<string, DiagnosticDescriptor> Index()
    {
        var index = new Dictionary<string, DiagnosticDescriptor>();
        foreach (var descriptor in DeclarationRules)
        {
            index[descriptor.Id] = descriptor;
        }
        index[CallSiteLength.Id] = CallSiteLength;
        return index;
    }
}
