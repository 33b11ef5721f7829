using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Backprop.Generator.Layers;
using Backprop.Generator.Model;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Backprop.Generator;

public sealed partial class NetworkGenerator
{
    /// <summary>
    /// Reads a <c>[Network]</c> class into a <see cref="NetworkDeclaration"/>. The only code that touches symbols;
    /// it keeps constant values and names, never a symbol, node or location. Never throws on bad input.
    /// </summary>
    internal static NetworkDeclaration? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax syntax)
        {
            return null;
        }
        try
        {
            return Parse(type, syntax, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Half-typed code can put the compiler's model in states we did not foresee; a generator must not
            // take the build down for it. The analyzer, which parses the same way, reports what it can.
            return null;
        }
    }

    /// <summary>Reads a class declaration (shared with the analyzer).</summary>
    internal static NetworkDeclaration Parse(INamedTypeSymbol type, TypeDeclarationSyntax syntax, CancellationToken cancellationToken)
    {
        var problems = new List<DeclarationProblem>();
        if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            problems.Add(DeclarationProblem.NotPartial);
        }
        var containing = new List<ContainingType>();
        for (var parent = syntax.Parent as TypeDeclarationSyntax; parent is not null; parent = parent.Parent as TypeDeclarationSyntax)
        {
            if (!parent.Modifiers.Any(SyntaxKind.PartialKeyword) && !problems.Contains(DeclarationProblem.ContainingTypeNotPartial))
            {
                problems.Add(DeclarationProblem.ContainingTypeNotPartial);
            }
            containing.Insert(0, new ContainingType(Keyword(parent), parent.Identifier.ValueText + (parent.TypeParameterList?.ToString() ?? "")));
        }
        for (var current = type; current is not null; current = current.ContainingType)
        {
            if (current.TypeParameters.Length > 0)
            {
                problems.Add(DeclarationProblem.Generic);
                break;
            }
        }
        // A file-local type cannot span files, so a generated half would declare another type (CS9071 or no members).
        for (TypeDeclarationSyntax? declaration = syntax; declaration is not null; declaration = declaration.Parent as TypeDeclarationSyntax)
        {
            if (declaration.Modifiers.Any(SyntaxKind.FileKeyword))
            {
                problems.Add(DeclarationProblem.FileLocal);
                break;
            }
        }
        if (type.IsStatic)
        {
            problems.Add(DeclarationProblem.Static);
        }
        if (type.IsRecord)
        {
            problems.Add(DeclarationProblem.Record);
        }
        if (type.IsAbstract && !type.IsStatic)
        {
            problems.Add(DeclarationProblem.Abstract);
        }

        var attributes = AttributesOf(type, syntax);
        int networkOrdinal = -1;
        int? loss = null;
        string? weights = null;
        AttributeSpec? input = null;
        var layers = new List<AttributeSpec>();
        for (int ordinal = 0; ordinal < attributes.Count; ordinal++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var attribute = attributes[ordinal];
            string? name = MetadataName(attribute.AttributeClass);
            if (name == Names.NetworkAttribute)
            {
                networkOrdinal = ordinal;
                foreach (var named in attribute.NamedArguments)
                {
                    if (named.Key == "Loss" && named.Value.Kind == TypedConstantKind.Enum && named.Value.Value is int value)
                    {
                        loss = value;
                    }
                    else if (named.Key == "Loss")
                    {
                        loss = -1;
                    }
                    else if (named.Key == "Weights" && named.Value.Value is string path)
                    {
                        weights = path;
                    }
                }
            }
            else if (name == Names.InputAttribute)
            {
                input = Read(attribute, name, ordinal);
            }
            else if (name is not null && (LayerRegistry.ForAttribute(name) is not null || DerivesFromLayer(attribute.AttributeClass)))
            {
                // An unknown LayerAttribute subclass is kept, so shape inference can say it is not supported.
                layers.Add(Read(attribute, name, ordinal));
            }
        }

        int elsewhere = 0;
        foreach (var attribute in type.GetAttributes())
        {
            string? name = MetadataName(attribute.AttributeClass);
            if ((name == Names.InputAttribute || (name is not null && (LayerRegistry.ForAttribute(name) is not null || DerivesFromLayer(attribute.AttributeClass)))) && !IsOn(attribute, syntax))
            {
                elsewhere++;
            }
        }

        string ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
        return new NetworkDeclaration(
            ns,
            new EquatableArray<ContainingType>(containing.ToArray()),
            type.Name,
            new EquatableArray<DeclarationProblem>(problems.ToArray()),
            networkOrdinal,
            loss,
            input,
            new EquatableArray<AttributeSpec>(layers.ToArray()),
            elsewhere,
            weights);
    }

    /// <summary>The attributes applied on this declaration, in source order (the order layers are read in).</summary>
    internal static List<AttributeData> AttributesOf(INamedTypeSymbol type, TypeDeclarationSyntax syntax)
    {
        var list = new List<AttributeData>();
        foreach (var attribute in type.GetAttributes())
        {
            if (IsOn(attribute, syntax))
            {
                list.Add(attribute);
            }
        }
        list.Sort((x, y) => x.ApplicationSyntaxReference!.Span.Start.CompareTo(y.ApplicationSyntaxReference!.Span.Start));
        return list;
    }

    private static bool IsOn(AttributeData attribute, TypeDeclarationSyntax syntax)
        => attribute.ApplicationSyntaxReference is { } reference
           && reference.SyntaxTree == syntax.SyntaxTree
           && syntax.Span.Contains(reference.Span);

    private static AttributeSpec Read(AttributeData attribute, string kind, int ordinal)
    {
        var arguments = new List<ArgumentSpec>();
        bool errors = attribute.AttributeConstructor is null || attribute.AttributeClass is IErrorTypeSymbol;
        if (attribute.AttributeConstructor is { } constructor)
        {
            for (int i = 0; i < attribute.ConstructorArguments.Length && i < constructor.Parameters.Length; i++)
            {
                errors |= attribute.ConstructorArguments[i].Kind == TypedConstantKind.Error;
                arguments.Add(Argument(constructor.Parameters[i].Name, attribute.ConstructorArguments[i]));
            }
        }
        foreach (var named in attribute.NamedArguments)
        {
            errors |= named.Value.Kind == TypedConstantKind.Error;
            arguments.Add(Argument(named.Key, named.Value));
        }
        return new AttributeSpec(kind, ordinal, new EquatableArray<ArgumentSpec>(arguments.ToArray()), errors);
    }

    private static ArgumentSpec Argument(string name, TypedConstant constant)
    {
        if (constant.Kind == TypedConstantKind.Enum && constant.Value is not null)
        {
            return new ArgumentSpec(name, ArgumentKind.Enum, Convert.ToDouble(constant.Value, System.Globalization.CultureInfo.InvariantCulture), null);
        }
        if (constant.Kind == TypedConstantKind.Array)
        {
            if (constant.IsNull)
            {
                return new ArgumentSpec(name, ArgumentKind.Null, 0, null);
            }
            var items = new List<ArgumentSpec>();
            foreach (var item in constant.Values)
            {
                items.Add(Argument(name, item));
            }
            return new ArgumentSpec(name, ArgumentKind.Array, items.Count, null, new EquatableArray<ArgumentSpec>(items.ToArray()));
        }
        if (constant.Kind != TypedConstantKind.Primitive)
        {
            return new ArgumentSpec(name, ArgumentKind.Other, 0, null);
        }
        return constant.Value switch
        {
            null => new ArgumentSpec(name, ArgumentKind.Null, 0, null),
            string text => new ArgumentSpec(name, ArgumentKind.String, 0, text),
            bool flag => new ArgumentSpec(name, ArgumentKind.Boolean, flag ? 1 : 0, null),
            int or long or short or sbyte or byte or ushort or uint => new ArgumentSpec(name, ArgumentKind.Integer, Convert.ToDouble(constant.Value, System.Globalization.CultureInfo.InvariantCulture), null),
            float or double => new ArgumentSpec(name, ArgumentKind.Real, Convert.ToDouble(constant.Value, System.Globalization.CultureInfo.InvariantCulture), null),
            _ => new ArgumentSpec(name, ArgumentKind.Other, 0, null),
        };
    }

    private static bool DerivesFromLayer(INamedTypeSymbol? type)
    {
        for (var current = type?.BaseType; current is not null; current = current.BaseType)
        {
            if (MetadataName(current) == Names.LayerAttribute)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The full metadata name (<c>Backprop.DenseAttribute</c>) of a type, or null for error types.</summary>
    internal static string? MetadataName(INamedTypeSymbol? type)
    {
        if (type is null || type is IErrorTypeSymbol)
        {
            return null;
        }
        return type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." + type.MetadataName : type.MetadataName;
    }

    private static string Keyword(TypeDeclarationSyntax declaration) => declaration switch
    {
        RecordDeclarationSyntax record => record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
        StructDeclarationSyntax => "struct",
        InterfaceDeclarationSyntax => "interface",
        _ => "class",
    };
}
