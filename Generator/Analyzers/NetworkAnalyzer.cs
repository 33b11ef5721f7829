using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using Backprop.Generator.Diagnostics;
using Backprop.Generator.Emit;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Backprop.Generator.Analyzers;

/// <summary>
/// Reports what is wrong with a network declaration, at the attribute or argument responsible. It runs the
/// generator's own parser and shape inference, so every rule is written once; it only maps each
/// <see cref="ShapeError"/> back to syntax.
/// </summary>
[DiagnosticAnalyzer(Microsoft.CodeAnalysis.LanguageNames.CSharp)]
public sealed class NetworkAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Diagnostic property: the argument value that corrects the mismatch (read by the code fix).</summary>
    public const string FixProperty = "Fix";

    /// <summary>Diagnostic property: the argument the fix applies to.</summary>
    public const string ArgumentProperty = "Argument";

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Descriptors.DeclarationRules;

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            // Nothing to do in compilations that do not reference the runtime.
            var network = start.Compilation.GetTypeByMetadataName(Names.NetworkAttribute);
            var layer = start.Compilation.GetTypeByMetadataName(Names.LayerAttribute);
            var input = start.Compilation.GetTypeByMetadataName(Names.InputAttribute);
            if (network is null || layer is null || input is null)
            {
                return;
            }
            // The headers of the project's <BackpropWeights> files (written by the build targets), read once.
            var weights = new Lazy<List<WeightsHeader>>(() => start.Options.AdditionalFiles
                .Where(file => file.Path.EndsWith(WeightsHeader.Extension, StringComparison.OrdinalIgnoreCase))
                .Select(file => file.GetText(start.CancellationToken) is { } text ? WeightsHeader.Parse(text.ToString()) : null)
                .Where(header => header is not null)
                .Select(header => header!)
                .ToList());
            start.RegisterSymbolAction(symbol => Analyze(symbol, network, layer, input, weights), SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol network, INamedTypeSymbol layer, INamedTypeSymbol input, Lazy<List<WeightsHeader>> weights)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var attributes = type.GetAttributes();
        var networkAttribute = attributes.FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, network));
        if (networkAttribute is null)
        {
            // Layer attributes without [Network] do nothing: say so on each.
            foreach (var attribute in attributes)
            {
                if (IsLayerOrInput(attribute, layer, input) && attribute.ApplicationSyntaxReference is { } reference)
                {
                    Report(context, DiagnosticTable.AttributeWithoutNetwork, reference.GetSyntax(context.CancellationToken).GetLocation(), Display(attribute), type.Name);
                }
            }
            return;
        }
        if (networkAttribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken) is not AttributeSyntax networkSyntax
            || networkSyntax.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration)
        {
            return;
        }

        var parsed = NetworkGenerator.Parse(type, declaration, context.CancellationToken);
        var result = ShapeInference.Infer(parsed);
        var ordered = NetworkGenerator.AttributesOf(type, declaration);
        foreach (var error in result.Errors)
        {
            if (error.Id == DiagnosticIds.SplitDeclaration)
            {
                ReportStrayAttributes(context, type, declaration, layer, input);
                continue;
            }
            var properties = ImmutableDictionary<string, string?>.Empty;
            if (error.Fix is not null && error.ArgumentName is not null)
            {
                properties = properties.Add(FixProperty, error.Fix).Add(ArgumentProperty, error.ArgumentName);
            }
            context.ReportDiagnostic(error.Rule.Create(Locate(error, ordered, declaration, context), properties, error.Arguments));
        }

        if (result.Plan is { } plan)
        {
            ReportCollisions(context, type, plan);
            if (plan.Weights is not null && WeightsHeader.Check(plan, WeightsHeader.Find(weights.Value, plan.Weights)) is { } problem)
            {
                var argument = networkSyntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "Weights");
                context.ReportDiagnostic(problem.Rule.Create((argument ?? (SyntaxNode)networkSyntax).GetLocation(), null, problem.Arguments));
            }
            Report(context, DiagnosticTable.Shapes, declaration.Identifier.GetLocation(), Summary(plan));
        }
    }

    /// <summary>
    /// BPG0014: a member of the user's half that the compiler rejects beside one of the generated half (same name, or
    /// a method or constructor with the same parameters), reported on the user's declaration. The generated members
    /// are read from the generator's output in this compilation, so the list never drifts from what it emits.
    /// Overloads with other parameters compile and are left alone.
    /// </summary>
    private static void ReportCollisions(SymbolAnalysisContext context, INamedTypeSymbol type, NetworkPlan plan)
    {
        string hint = NetworkEmitter.HintName(plan);
        string generator = typeof(NetworkGenerator).FullName!;
        // Generated trees are named <generator assembly>/<generator type>/<hint name>.
        bool IsGeneratedTree(SyntaxTree? tree)
            => tree is not null
                && (tree.FilePath.EndsWith(generator + "/" + hint, StringComparison.Ordinal)
                    || tree.FilePath.EndsWith(generator + "\\" + hint, StringComparison.Ordinal));
        bool IsGenerated(SyntaxReference reference) => IsGeneratedTree(reference.SyntaxTree);

        var members = type.GetMembers();
        var generated = members.Where(m => !m.IsImplicitlyDeclared && m.DeclaringSyntaxReferences.Any(IsGenerated)).ToList();
        if (generated.Count == 0)
        {
            return;
        }
        foreach (var member in members)
        {
            if (member.IsImplicitlyDeclared || member.DeclaringSyntaxReferences.All(IsGenerated))
            {
                continue;
            }
            // A nested type declared on both sides is one symbol with declarations in both (the compiler merges the names,
            // then rejects the second declaration): a clash with itself.
            var clash = member.DeclaringSyntaxReferences.Any(IsGenerated)
                ? member
                : generated.FirstOrDefault(g => !SymbolEqualityComparer.Default.Equals(g, member) && Collides(g, member));
            if (clash is null)
            {
                continue;
            }
            bool constructor = member is IMethodSymbol { MethodKind: MethodKind.Constructor };
            foreach (var location in member.Locations.Where(l => l.IsInSource && !IsGeneratedTree(l.SourceTree)))
            {
                if (constructor)
                {
                    Report(context, DiagnosticTable.ConstructorCollides, location, type.Name, Parameters(clash));
                }
                else
                {
                    Report(context, DiagnosticTable.MemberCollides, location, member.Name, type.Name);
                }
            }
        }
    }

    /// <summary>
    /// Whether C# rejects the two members side by side: the same name, unless both are methods (or constructors)
    /// with different signatures. Signatures differ by the number of type parameters, or by the parameter types and
    /// whether each is passed by reference (<c>ref</c>, <c>out</c> and <c>in</c> alone do not tell overloads apart).
    /// </summary>
    private static bool Collides(ISymbol generated, ISymbol member)
    {
        if (generated.Name != member.Name)
        {
            return false;
        }
        if (generated is not IMethodSymbol g || member is not IMethodSymbol m)
        {
            return true;
        }
        return g.Arity == m.Arity
            && g.Parameters.Length == m.Parameters.Length
            && g.Parameters.Zip(m.Parameters, (a, b) => (a.RefKind == RefKind.None) == (b.RefKind == RefKind.None) && SymbolEqualityComparer.Default.Equals(a.Type, b.Type)).All(same => same);
    }

    private static string Parameters(ISymbol method)
        => method is IMethodSymbol m ? string.Join(", ", m.Parameters.Select(p => p.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + " " + p.Name)) : "";

    /// <summary>The location of a rule: the argument, else the attribute, else the class name.</summary>
    private static Location Locate(ShapeError error, List<AttributeData> ordered, TypeDeclarationSyntax declaration, SymbolAnalysisContext context)
    {
        if (error.AttributeOrdinal < 0 || error.AttributeOrdinal >= ordered.Count
            || ordered[error.AttributeOrdinal].ApplicationSyntaxReference?.GetSyntax(context.CancellationToken) is not AttributeSyntax syntax)
        {
            return declaration.Identifier.GetLocation();
        }
        if (error.ArgumentName is { } name && syntax.ArgumentList is { } list)
        {
            // "shape[2]": the third element of a params array, written as the third positional argument.
            int open = name.IndexOf('[');
            if (open > 0 && int.TryParse(name.Substring(open + 1, name.Length - open - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int element))
            {
                var positional = list.Arguments.Where(a => a.NameEquals is null && a.NameColon is null).ToList();
                return element < positional.Count && positional.Count > 1 ? positional[element].GetLocation()
                    : positional.Count > 0 ? positional[0].GetLocation() : syntax.GetLocation();
            }
            var constructor = ordered[error.AttributeOrdinal].AttributeConstructor;
            int position = 0;
            foreach (var argument in list.Arguments)
            {
                if (argument.NameEquals is { } equals)
                {
                    if (equals.Name.Identifier.ValueText == name)
                    {
                        return argument.GetLocation();
                    }
                    continue;
                }
                string? parameter = argument.NameColon?.Name.Identifier.ValueText
                    ?? (constructor is not null && position < constructor.Parameters.Length ? constructor.Parameters[position].Name : null);
                if (parameter == name)
                {
                    return argument.GetLocation();
                }
                position++;
            }
        }
        return syntax.GetLocation();
    }

    private static void ReportStrayAttributes(SymbolAnalysisContext context, INamedTypeSymbol type, TypeDeclarationSyntax declaration, INamedTypeSymbol layer, INamedTypeSymbol input)
    {
        foreach (var attribute in type.GetAttributes())
        {
            if (IsLayerOrInput(attribute, layer, input)
                && attribute.ApplicationSyntaxReference is { } reference
                && !(reference.SyntaxTree == declaration.SyntaxTree && declaration.Span.Contains(reference.Span)))
            {
                Report(context, DiagnosticTable.AttributeOnAnotherDeclaration, reference.GetSyntax(context.CancellationToken).GetLocation(), Display(attribute), type.Name);
            }
        }
    }

    /// <summary>Whether an attribute is <c>[Input]</c> or a layer attribute (shared with the code fixes).</summary>
    internal static bool IsLayerOrInput(AttributeData attribute, INamedTypeSymbol layer, INamedTypeSymbol input)
    {
        if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, input))
        {
            return true;
        }
        for (var current = attribute.AttributeClass?.BaseType; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current, layer))
            {
                return true;
            }
        }
        return false;
    }

    private static string Display(AttributeData attribute)
    {
        string name = attribute.AttributeClass?.Name ?? "?";
        return name.EndsWith("Attribute", StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;
    }

    /// <summary>
    /// The arguments of BPG0100 (<see cref="DiagnosticTable.Shapes"/>): the class, the input shape, the shape after each
    /// layer (<c> → dense1 [256] → …</c>), the parameter count and the loss.
    /// </summary>
    internal static object[] Summary(NetworkPlan plan)
    {
        var layers = new StringBuilder();
        foreach (var layer in plan.Layers)
        {
            layers.Append(" → ").Append(layer.Name).Append(' ').Append(layer.OutputShape.ToString());
        }
        return new object[] { plan.ClassName, plan.InputShape.ToString(), layers.ToString(), plan.ParameterCount.ToString("N0", CultureInfo.InvariantCulture), Names.Loss(plan.Loss) };
    }

    private static void Report(SymbolAnalysisContext context, DiagnosticMessage message, Location location, params object[] arguments)
        => context.ReportDiagnostic(message.Create(location, arguments));
}
