using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Backprop.Generator.Analyzers;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Simplification;

namespace Backprop.CodeFixes;

/// <summary>
/// BPG0008, BPG0012, BPG0015 and BPG0016: corrects a loss/activation mismatch in the obvious direction, as the
/// analyzer proposes (softmax cross-entropy on one output → binary cross-entropy; binary cross-entropy on Softmax →
/// Sigmoid; mean squared error on Softmax → softmax cross-entropy; softmax cross-entropy on Sigmoid, Tanh or Relu →
/// Softmax; binary cross-entropy on Relu or Tanh → Sigmoid).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LossMismatchCodeFix)), Shared]
public sealed class LossMismatchCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.LossMismatch, DiagnosticIds.MeanSquaredErrorOnSoftmax, DiagnosticIds.CrossEntropyOnSquashedOutput, DiagnosticIds.BinaryCrossEntropyOnUnboundedOutput);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(NetworkAnalyzer.FixProperty, out string? value) || value is null
                || !diagnostic.Properties.TryGetValue(NetworkAnalyzer.ArgumentProperty, out string? argument) || argument is null)
            {
                continue;
            }
            var node = root?.FindNode(diagnostic.Location.SourceSpan);
            if (node?.FirstAncestorOrSelf<AttributeSyntax>() is not { } attribute)
            {
                continue;
            }
            context.RegisterCodeFix(
                CodeAction.Create($"Use {value}", token => Fix(context.Document, attribute, argument, value, token), nameof(LossMismatchCodeFix)),
                diagnostic);
        }
    }

    /// <summary>Sets the named argument (adding it when absent) to <c>global::Backprop.{value}</c>, simplified.</summary>
    private static async Task<Document> Fix(Document document, AttributeSyntax attribute, string argument, string value, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var expression = SyntaxFactory.ParseExpression("global::Backprop." + value).WithAdditionalAnnotations(Simplifier.Annotation);
        AttributeSyntax updated;
        var existing = attribute.ArgumentList?.Arguments.FirstOrDefaultNamed(argument);
        if (existing is not null)
        {
            updated = attribute.ReplaceNode(existing, existing.WithExpression(expression.WithTriviaFrom(existing.Expression)));
        }
        else
        {
            var added = SyntaxFactory.AttributeArgument(SyntaxFactory.NameEquals(argument), null, expression);
            updated = attribute.WithArgumentList((attribute.ArgumentList ?? SyntaxFactory.AttributeArgumentList()).AddArguments(added));
        }
        return document.WithSyntaxRoot(root!.ReplaceNode(attribute, updated));
    }
}

internal static class ArgumentListExtensions
{
    public static AttributeArgumentSyntax? FirstOrDefaultNamed(this SeparatedSyntaxList<AttributeArgumentSyntax> arguments, string name)
    {
        foreach (var argument in arguments)
        {
            if (argument.NameEquals?.Name.Identifier.ValueText == name)
            {
                return argument;
            }
        }
        return null;
    }
}
