using Backprop.Generator.Emit;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Backprop.Generator;

/// <summary>
/// Compiles each <c>[Network]</c> partial class into a specialized model. The pipeline is
/// parse → shape inference → emit; only value-equatable models flow between the steps, so an edit that does
/// not change a network's declaration leaves its output cached.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class NetworkGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // ForAttributeWithMetadataName visits only classes that carry [Network], and re-runs the transform only
        // for files whose syntax changed. The transform reads symbols and returns plain data.
        var declarations = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                Names.NetworkAttribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (context, cancellationToken) => Parse(context, cancellationToken))
            .Where(static declaration => declaration is not null)
            .WithTrackingName(TrackingNames.Declarations);

        // Shape inference is pure. An invalid network yields no plan and no source: the analyzer reports why,
        // and emitting code that does not compile would only bury its message.
        var plans = declarations
            .Select(static (declaration, _) => ShapeInference.Infer(declaration!).Plan)
            .Where(static plan => plan is not null)
            .WithTrackingName(TrackingNames.Plans);

        // The generated members are the network's public API, so they go through RegisterSourceOutput
        // (the IDE needs them while typing), not RegisterImplementationSourceOutput.
        context.RegisterSourceOutput(plans, static (output, plan) =>
            output.AddSource(NetworkEmitter.HintName(plan!), NetworkEmitter.Emit(plan!)));
    }
}

/// <summary>Names of the tracked pipeline steps (incrementality tests look them up).</summary>
internal static class TrackingNames
{
    public const string Declarations = "Declarations";
    public const string Plans = "Plans";
}
