using Backprop.Generator.Emit;
using Backprop.Generator.Model;
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

        // Embedded weights: the build targets write each <BackpropWeights> file's safetensors header into a text file
        // (a generator sees additional files only as text); the bytes reach the assembly as a manifest resource.
        var weights = context.AdditionalTextsProvider
            .Where(static text => text.Path.EndsWith(WeightsHeader.Extension, System.StringComparison.OrdinalIgnoreCase))
            .Select(static (text, cancellationToken) => text.GetText(cancellationToken) is { } source ? WeightsHeader.Parse(source.ToString()) : null)
            .Where(static header => header is not null)
            .Collect()
            .WithTrackingName(TrackingNames.Weights);

        // The generated members are the network's public API, so they go through RegisterSourceOutput
        // (the IDE needs them while typing), not RegisterImplementationSourceOutput. A network whose weights file is
        // missing or does not match gets no loader: the analyzer reports BPG0018 on its Weights argument.
        context.RegisterSourceOutput(plans.Combine(weights), static (output, pair) =>
        {
            var plan = pair.Left!;
            WeightsHeader? header = null;
            if (plan.Weights is not null)
            {
                header = WeightsHeader.Find(pair.Right!, plan.Weights);
                if (WeightsHeader.Check(plan, header) is not null)
                {
                    header = null;
                }
            }
            output.AddSource(NetworkEmitter.HintName(plan), NetworkEmitter.Emit(plan, header));
        });
    }
}

/// <summary>Names of the tracked pipeline steps (incrementality tests look them up).</summary>
internal static class TrackingNames
{
    public const string Declarations = "Declarations";
    public const string Plans = "Plans";
    public const string Weights = "Weights";
}
