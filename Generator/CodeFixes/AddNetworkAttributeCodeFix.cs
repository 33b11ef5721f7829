using System.Collections.Immutable;
using System.Composition;
using System.Linq;
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

/// <summary>BPG0004: adds <c>[Network]</c> to a class that has layer attributes, before its first attribute list.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddNetworkAttributeCodeFix)), Shared]
public sealed class AddNetworkAttributeCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.LayerWithoutNetwork);

    // Every layer attribute of a class reports; fix-all adds [Network] once per class. A class whose attributes are
    // spread over partial declarations in several files reports in each of them, and a project- or solution-wide
    // fix-all runs this once per document: there [Network] goes only onto the class's first declaration that has
    // [Input] or layer attributes (by file path, then position), so that two documents never both add it (CS0579).
    // The analyzer then reports the other declarations' attributes as BPG0005, whose fix moves them.
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        var root = (await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false))!;
        var model = await document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        bool wholeProject = context.Scope is FixAllScope.Project or FixAllScope.Solution;
        var declarations = diagnostics
            .Select(d => root.FindNode(d.Location.SourceSpan).FirstAncestorOrSelf<TypeDeclarationSyntax>())
            .OfType<TypeDeclarationSyntax>()
            .OrderBy(d => d.SpanStart)
            .GroupBy(d => model?.GetDeclaredSymbol(d, context.CancellationToken), SymbolEqualityComparer.Default)
            .Select(g => wholeProject && g.Key is INamedTypeSymbol type && model is not null ? FirstWithLayers(type, model.Compilation, context.CancellationToken) : g.First())
            .Where(d => d is not null && d.SyntaxTree == root.SyntaxTree)
            .Select(d => root.FindNode(d!.Span) as TypeDeclarationSyntax ?? d!)
            .ToList();
        var endOfLine = NetworkDeclarations.EndOfLine(root);
        return document.WithSyntaxRoot(root.ReplaceNodes(declarations, (_, current) => AddNetwork(current, endOfLine)));
    });

    /// <summary>The class's first declaration, over all files, that carries <c>[Input]</c> or a layer attribute.</summary>
    private static TypeDeclarationSyntax? FirstWithLayers(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
    {
        if (compilation.GetTypeByMetadataName(Names.LayerAttribute) is not { } layer || compilation.GetTypeByMetadataName(Names.InputAttribute) is not { } input)
        {
            return null;
        }
        return type.GetAttributes()
            .Where(a => NetworkAnalyzer.IsLayerOrInput(a, layer, input))
            .Select(a => a.ApplicationSyntaxReference?.GetSyntax(cancellationToken).FirstAncestorOrSelf<TypeDeclarationSyntax>())
            .OfType<TypeDeclarationSyntax>()
            .OrderBy(d => d.SyntaxTree.FilePath, System.StringComparer.Ordinal)
            .ThenBy(d => d.SpanStart)
            .FirstOrDefault();
    }

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span).FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration)
        {
            return;
        }
        context.RegisterCodeFix(
            CodeAction.Create("Add [Network]", token => Fix(context.Document, declaration, token), nameof(AddNetworkAttributeCodeFix)),
            context.Diagnostics);
    }

    private static async Task<Document> Fix(Document document, TypeDeclarationSyntax declaration, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        return document.WithSyntaxRoot(root.ReplaceNode(declaration, AddNetwork(declaration, NetworkDeclarations.EndOfLine(root))));
    }

    private static TypeDeclarationSyntax AddNetwork(TypeDeclarationSyntax declaration, SyntaxTrivia endOfLine)
    {
        var attribute = SyntaxFactory.Attribute(SyntaxFactory.ParseName("global::Backprop.Network").WithAdditionalAnnotations(Simplifier.Annotation));
        var first = declaration.AttributeLists.First();
        var list = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(attribute))
            .WithLeadingTrivia(first.GetLeadingTrivia())
            .WithTrailingTrivia(endOfLine);
        var indentation = SyntaxFactory.TriviaList(first.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)));
        return declaration.WithAttributeLists(declaration.AttributeLists.Replace(first, first.WithLeadingTrivia(indentation)).Insert(0, list));
    }
}
