using System.Collections.Immutable;
using System.Linq;

namespace Backprop.Generator.Diagnostics;

/// <summary>
/// The analyzers' descriptors, built from <see cref="DiagnosticTable"/>: one per message (a rule reported with several
/// wordings has several descriptors with its ID, title, severity and help link).
/// </summary>
internal static class Descriptors
{
    /// <summary>What <see cref="Analyzers.NetworkAnalyzer"/> reports: every rule but the call-site check.</summary>
    public static readonly ImmutableArray<Microsoft.CodeAnalysis.DiagnosticDescriptor> DeclarationRules = DiagnosticTable.Rules
        .Where(rule => rule != DiagnosticTable.CallSiteLength)
        .SelectMany(rule => rule.Messages)
        .Select(message => message.Descriptor)
        .ToImmutableArray();

    /// <summary>What <see cref="Analyzers.CallSiteAnalyzer"/> reports.</summary>
    public static readonly ImmutableArray<Microsoft.CodeAnalysis.DiagnosticDescriptor> CallSiteRules = DiagnosticTable.CallSiteLength.Messages
        .Select(message => message.Descriptor)
        .ToImmutableArray();
}
