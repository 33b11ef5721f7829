using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Backprop.CodeFixes;

/// <summary>Finding a network's declarations and its layer attributes in a solution, for the structural fixes.</summary>
internal static class NetworkDeclarations
{
    /// <summary>The class declared by the type declaration around <paramref name="node"/>.</summary>
    public static async Task<INamedTypeSymbol?> ClassAt(Document document, SyntaxNode node, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        return node.FirstAncestorOrSelf<TypeDeclarationSyntax>() is { } declaration
            ? model?.GetDeclaredSymbol(declaration, cancellationToken) as INamedTypeSymbol
            : null;
    }

    /// <summary>Whether an attribute is [Input] or derives from Backprop.LayerAttribute.</summary>
    public static bool IsLayerOrInput(AttributeData attribute)
    {
        if (attribute.AttributeClass?.ToDisplayString() == Names.InputAttribute)
        {
            return true;
        }
        for (var type = attribute.AttributeClass?.BaseType; type is not null; type = type.BaseType)
        {
            if (type.ToDisplayString() == Names.LayerAttribute)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Re-finds a class in a (possibly edited) solution by its metadata name.</summary>
    public static async Task<INamedTypeSymbol?> Find(Solution solution, ProjectId project, string metadataName, CancellationToken cancellationToken)
    {
        var compilation = await solution.GetProject(project)!.GetCompilationAsync(cancellationToken).ConfigureAwait(false);
        return compilation?.GetTypeByMetadataName(metadataName);
    }

    public static string MetadataName(INamedTypeSymbol type)
    {
        var parts = new List<string>();
        for (var current = type; current is not null; current = current.ContainingType)
        {
            parts.Insert(0, current.MetadataName);
        }
        string name = string.Join("+", parts);
        return type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." + name : name;
    }

    /// <summary>The indentation a new attribute list of <paramref name="declaration"/> should get.</summary>
    public static SyntaxTriviaList Indentation(TypeDeclarationSyntax declaration)
    {
        var first = declaration.GetFirstToken();
        return SyntaxFactory.TriviaList(first.LeadingTrivia.Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)));
    }

    /// <summary>The end-of-line used by the document (so fixes keep its line endings).</summary>
    public static SyntaxTrivia EndOfLine(SyntaxNode root)
        => root.DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) is { RawKind: not 0 } eol ? eol : SyntaxFactory.CarriageReturnLineFeed;
}
