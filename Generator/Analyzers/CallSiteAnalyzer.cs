using System.Collections.Immutable;
using Backprop.Generator.Diagnostics;
using Backprop.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Backprop.Generator.Analyzers;

/// <summary>
/// Warns when an array, collection expression or <c>stackalloc</c> whose length is a compile-time constant is
/// passed to a network's <c>Predict</c>, <c>ComputeGradients</c> or <c>TrainStep</c> and cannot fit its sizes.
/// </summary>
[DiagnosticAnalyzer(Microsoft.CodeAnalysis.LanguageNames.CSharp)]
public sealed class CallSiteAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Descriptors.CallSiteRules;

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var network = start.Compilation.GetTypeByMetadataName(Names.NetworkAttribute);
            if (network is not null)
            {
                start.RegisterOperationAction(operation => Analyze(operation, network), OperationKind.Invocation);
            }
        });
    }

    private static void Analyze(OperationAnalysisContext context, INamedTypeSymbol network)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (method.Name is not ("Predict" or "ComputeGradients" or "TrainStep") || method.IsStatic)
        {
            return;
        }
        var type = method.ContainingType;
        bool isNetwork = false;
        foreach (var attribute in type.GetAttributes())
        {
            isNetwork |= SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, network);
        }
        if (!isNetwork || Constant(type, "InputSize") is not int inputSize || Constant(type, "OutputSize") is not int outputSize || inputSize < 1 || outputSize < 1)
        {
            return;
        }

        int? batch = null;
        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter is null || Length(argument, context) is not int length)
            {
                continue;
            }
            string call = $"{type.Name}.{method.Name}";
            switch (argument.Parameter.Name)
            {
                case "inputs":
                    if (length == 0 || length % inputSize != 0)
                    {
                        Report(context, argument, DiagnosticTable.InputsNotWholeSamples, call, inputSize, length);
                    }
                    else
                    {
                        batch = length / inputSize;
                    }
                    break;
                case "outputs" or "targets":
                    string what = argument.Parameter.Name;
                    if (batch is int rows && length != rows * outputSize)
                    {
                        Report(context, argument, DiagnosticTable.OutputsDoNotMatchInputs, call, rows, what, outputSize, rows * outputSize, length);
                    }
                    else if (batch is null && (length == 0 || length % outputSize != 0))
                    {
                        Report(context, argument, DiagnosticTable.OutputsNotWholeSamples, call, what, outputSize, length);
                    }
                    break;
                case "labels":
                    if (batch is int samples && length != samples)
                    {
                        Report(context, argument, DiagnosticTable.LabelsDoNotMatchInputs, call, samples, length);
                    }
                    break;
            }
        }
    }

    private static int? Constant(INamedTypeSymbol type, string name)
    {
        foreach (var member in type.GetMembers(name))
        {
            if (member is IFieldSymbol { HasConstantValue: true, ConstantValue: int value })
            {
                return value;
            }
        }
        return null;
    }

    /// <summary>The element count of an argument whose length is a compile-time constant, else null.</summary>
    private static int? Length(IArgumentOperation argument, OperationAnalysisContext context)
    {
        IOperation value = argument.Value;
        while (value is IConversionOperation conversion)
        {
            value = conversion.Operand;
        }
        if (value is IArrayCreationOperation { DimensionSizes.Length: 1 } array && array.DimensionSizes[0].ConstantValue is { HasValue: true, Value: int size })
        {
            return size;
        }
        switch (value.Syntax)
        {
            case CollectionExpressionSyntax collection:
                foreach (var element in collection.Elements)
                {
                    if (element is not ExpressionElementSyntax)
                    {
                        return null; // a spread: not a constant length
                    }
                }
                return collection.Elements.Count;
            case StackAllocArrayCreationExpressionSyntax { Initializer: { } initializer }:
                return initializer.Expressions.Count;
            case StackAllocArrayCreationExpressionSyntax { Type: ArrayTypeSyntax { RankSpecifiers.Count: 1 } arrayType }
                when arrayType.RankSpecifiers[0].Sizes.Count == 1 && value.SemanticModel is { } model:
                return model.GetConstantValue(arrayType.RankSpecifiers[0].Sizes[0], context.CancellationToken) is { HasValue: true, Value: int count } ? count : null;
            case ImplicitStackAllocArrayCreationExpressionSyntax implicitStackAlloc:
                return implicitStackAlloc.Initializer.Expressions.Count;
            default:
                return null;
        }
    }

    private static void Report(OperationAnalysisContext context, IArgumentOperation argument, DiagnosticMessage message, params object[] arguments)
        => context.ReportDiagnostic(message.Create(argument.Syntax.GetLocation(), arguments));
}
