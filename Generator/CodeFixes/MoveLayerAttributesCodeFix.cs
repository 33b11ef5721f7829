using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;

namespace Backprop.CodeFixes;

/// <summary>
/// BPG0005: moves every layer and input attribute of a network onto the declaration that has <c>[Network]</c>,
/// after its own attributes, in source order (other files after the network's, ordered by path).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MoveLayerAttributesCodeFix)), Shared]
public sealed class MoveLayerAttributesCodeFix : CodeFixProvider
{
    private const string Title = "Move the layer attributes onto the [Network] declaration";

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.SplitDeclaration);

    public override FixAllProvider GetFixAllProvider() => new PerClassFixAll();

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || await NetworkDeclarations.ClassAt(context.Document, root.FindNode(context.Span), context.CancellationToken).ConfigureAwait(false) is not { } type)
        {
            return;
        }
        string name = NetworkDeclarations.MetadataName(type);
        context.RegisterCodeFix(
            CodeAction.Create(Title, token => Move(context.Document.Project.Solution, context.Document.Project.Id, [name], token), nameof(MoveLayerAttributesCodeFix)),
            context.Diagnostics);
    }

    /// <summary>Moves the stray attributes of each named class, one class at a time.</summary>
    private static async Task<Solution> Move(Solution solution, ProjectId project, IEnumerable<string> classes, CancellationToken cancellationToken)
    {
        foreach (string name in classes)
        {
            if (await NetworkDeclarations.Find(solution, project, name, cancellationToken).ConfigureAwait(false) is { } type)
            {
                solution = await Move(solution, type, cancellationToken).ConfigureAwait(false);
            }
        }
        return solution;
    }

    private static async Task<Solution> Move(Solution solution, INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var attributes = type.GetAttributes();
        var network = attributes.FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == Names.NetworkAttribute);
        if (network?.ApplicationSyntaxReference?.GetSyntax(cancellationToken).FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } target)
        {
            return solution;
        }
        var stray = attributes
            .Where(NetworkDeclarations.IsLayerOrInput)
            .Select(a => a.ApplicationSyntaxReference)
            .Where(r => r is not null && !(r.SyntaxTree == target.SyntaxTree && target.Span.Contains(r.Span)))
            .Select(r => (AttributeSyntax)r!.GetSyntax(cancellationToken))
            .OrderBy(a => a.SyntaxTree == target.SyntaxTree ? "" : a.SyntaxTree.FilePath, System.StringComparer.Ordinal)
            .ThenBy(a => a.SpanStart)
            .ToList();
        if (stray.Count == 0)
        {
            return solution;
        }

        var editor = new SolutionEditor(solution);
        foreach (var group in stray.GroupBy(a => a.FirstAncestorOrSelf<TypeDeclarationSyntax>()!))
        {
            // Remove the attributes (and lists left empty); the declaration keeps the leading trivia it had.
            var declaration = group.Key;
            var strayInGroup = group.ToList();
            var lists = new List<AttributeListSyntax>();
            foreach (var list in declaration.AttributeLists)
            {
                var kept = list.Attributes.Where(a => !strayInGroup.Contains(a)).ToList();
                if (kept.Count == list.Attributes.Count)
                {
                    lists.Add(list);
                }
                else if (kept.Count > 0)
                {
                    lists.Add(list.WithAttributes(SyntaxFactory.SeparatedList(kept)));
                }
            }
            var updated = declaration.WithAttributeLists(SyntaxFactory.List(lists)).WithLeadingTrivia(declaration.GetLeadingTrivia());
            var documentEditor = await editor.GetDocumentEditorAsync(solution.GetDocumentId(declaration.SyntaxTree)!, cancellationToken).ConfigureAwait(false);
            documentEditor.ReplaceNode(declaration, updated);
        }

        var targetEditor = await editor.GetDocumentEditorAsync(solution.GetDocumentId(target.SyntaxTree)!, cancellationToken).ConfigureAwait(false);
        var endOfLine = NetworkDeclarations.EndOfLine(target.SyntaxTree.GetRoot(cancellationToken));
        var indentation = NetworkDeclarations.Indentation(target);
        var moved = stray.Select(a => SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(a.WithoutTrivia()))
            .WithLeadingTrivia(indentation).WithTrailingTrivia(endOfLine)).ToArray();
        var last = target.AttributeLists.Last();
        targetEditor.InsertAfter(last, moved);
        var changed = editor.GetChangedSolution();

        // The moved attributes must bind where they land: bring over the using directives of their files that the
        // target file lacks (typically `using Backprop;`).
        var targetId = solution.GetDocumentId(target.SyntaxTree)!;
        var usings = stray
            .Where(a => a.SyntaxTree != target.SyntaxTree)
            .SelectMany(a => ((CompilationUnitSyntax)a.SyntaxTree.GetRoot(cancellationToken)).Usings)
            .ToList();
        if (usings.Count > 0 && await changed.GetDocument(targetId)!.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is CompilationUnitSyntax unit)
        {
            var present = new HashSet<string>(unit.Usings.Select(u => u.WithoutTrivia().ToString()), System.StringComparer.Ordinal);
            var missing = usings.Where(u => present.Add(u.WithoutTrivia().ToString())).Select(u => u.WithoutTrivia().WithTrailingTrivia(endOfLine)).ToArray();
            if (missing.Length > 0)
            {
                if (unit.Usings.Count == 0)
                {
                    // A file without usings gets a blank line between them and the code.
                    missing[missing.Length - 1] = missing[missing.Length - 1].WithTrailingTrivia(endOfLine, endOfLine);
                }
                changed = changed.WithDocumentSyntaxRoot(targetId, unit.AddUsings(missing));
            }
        }
        return changed;
    }

    /// <summary>Fix-all: one move per class, whatever number of its attributes reported.</summary>
    private sealed class PerClassFixAll : FixAllProvider
    {
        public override async Task<CodeAction?> GetFixAsync(FixAllContext context)
        {
            var diagnostics = new List<(Document Document, Diagnostic Diagnostic)>();
            var documents = context.Scope switch
            {
                FixAllScope.Document when context.Document is not null => [context.Document],
                FixAllScope.Solution => context.Solution.Projects.SelectMany(p => p.Documents).ToList(),
                _ => context.Project.Documents.ToList(),
            };
            foreach (var document in documents)
            {
                foreach (var diagnostic in await context.GetDocumentDiagnosticsAsync(document).ConfigureAwait(false))
                {
                    diagnostics.Add((document, diagnostic));
                }
            }
            var classes = new List<(ProjectId Project, string Name)>();
            foreach (var (document, diagnostic) in diagnostics)
            {
                var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
                if (root is not null && await NetworkDeclarations.ClassAt(document, root.FindNode(diagnostic.Location.SourceSpan), context.CancellationToken).ConfigureAwait(false) is { } type)
                {
                    var entry = (document.Project.Id, NetworkDeclarations.MetadataName(type));
                    if (!classes.Contains(entry))
                    {
                        classes.Add(entry);
                    }
                }
            }
            return CodeAction.Create(Title, async token =>
            {
                var solution = context.Solution;
                foreach (var group in classes.GroupBy(c => c.Project))
                {
                    solution = await Move(solution, group.Key, group.Select(c => c.Name), token).ConfigureAwait(false);
                }
                return solution;
            }, nameof(MoveLayerAttributesCodeFix));
        }
    }
}
