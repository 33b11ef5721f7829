using System;
using System.Collections;
using System.Linq;
using Backprop.Generator;
using Backprop.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Backprop.Tests;

/// <summary>The pipeline caches: an unrelated edit re-runs nothing, and no step output holds Roslyn objects.</summary>
public class IncrementalityTests
{
    private const string Networks = """
        using Backprop;

        namespace Demo;

        [Network(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(784)]
        [Dense(128, Activation = Activation.Relu)]
        [Dense(10)]
        public partial class Classifier;

        [Network(Loss = Loss.MeanSquaredError)]
        [Input(3)]
        [Dense(1)]
        public partial class Regressor;

        public class Service
        {
            public int Work(int x)
            {
                return x + 1;
            }
        }
        """;

    [Fact]
    public void An_edit_inside_a_method_body_leaves_every_step_cached()
    {
        var compilation = Compiler.Compilation(Networks, "public class Other { }");
        var driver = Compiler.Driver(trackSteps: true).RunGenerators(compilation);
        AssertNoRoslynObjects(driver.GetRunResult());

        // Typing inside a method body of the same file, then in another file.
        var tree = compilation.SyntaxTrees.First();
        var edited = compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().Replace(Networks.IndexOf("x + 1", StringComparison.Ordinal), 5, "x * 2 + 1")));
        driver = driver.RunGenerators(edited);
        AssertCached(driver.GetRunResult());

        var other = edited.SyntaxTrees.Last();
        edited = edited.ReplaceSyntaxTree(other, CSharpSyntaxTree.ParseText("public class Other { public int Field; }", Compiler.ParseOptions, path: other.FilePath));
        driver = driver.RunGenerators(edited);
        AssertCached(driver.GetRunResult());
    }

    [Fact]
    public void Typing_in_a_method_body_of_a_file_with_ten_networks_re_runs_nothing()
    {
        var source = new System.Text.StringBuilder("using Backprop;\nnamespace Ten;\n");
        for (int i = 0; i < 10; i++)
        {
            source.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"[Network] [Input({10 + i})] [Dense({20 + i}, Activation = Activation.Relu)] [Dense({2 + i})] public partial class Net{i};\n");
        }
        source.Append("public static class Code { public static int F() { return 1; } }\n");
        string text = source.ToString();
        var compilation = Compiler.Compilation(text);
        var driver = Compiler.Driver(trackSteps: true).RunGenerators(compilation);
        Assert.Equal(10, driver.GetRunResult().GeneratedTrees.Length);

        var tree = compilation.SyntaxTrees.Single();
        int at = text.IndexOf("return 1;", StringComparison.Ordinal);
        foreach (string typed in new[] { "return 12;", "return 123;", "return F() + 1;" })
        {
            var edited = compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().Replace(at, "return 1;".Length, typed)));
            driver = driver.RunGenerators(edited);
            AssertCached(driver.GetRunResult());
            Assert.Equal(10, driver.GetRunResult().Results.Single().TrackedSteps[TrackingNames.Plans].SelectMany(s => s.Outputs).Count());
        }
    }

    [Fact]
    public void Changing_a_declaration_regenerates_that_network()
    {
        var compilation = Compiler.Compilation(Networks);
        var driver = Compiler.Driver(trackSteps: true).RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.First();
        int at = Networks.IndexOf("Dense(128", StringComparison.Ordinal);
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().Replace(at, 9, "Dense(256"))));
        var plans = driver.GetRunResult().Results.Single().TrackedSteps[TrackingNames.Plans];
        Assert.Contains(plans.SelectMany(step => step.Outputs), output => output.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains(driver.GetRunResult().GeneratedTrees, t => t.ToString().Contains("Dense 784 → 256", StringComparison.Ordinal));
    }

    private static void AssertCached(GeneratorDriverRunResult result)
    {
        var run = result.Results.Single();
        foreach (string name in new[] { TrackingNames.Declarations, TrackingNames.Plans })
        {
            var outputs = run.TrackedSteps[name].SelectMany(step => step.Outputs).ToArray();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, output => Assert.True(
                output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"step {name} output was {output.Reason}"));
        }
        Assert.All(run.TrackedOutputSteps.SelectMany(step => step.Value).SelectMany(step => step.Outputs), output =>
            Assert.True(output.Reason == IncrementalStepRunReason.Cached, $"an output step was {output.Reason}"));
    }

    /// <summary>
    /// Walks the outputs of our tracked steps (and their members) and fails on a symbol, syntax node or compilation.
    /// (Roslyn's own internal steps of ForAttributeWithMetadataName legitimately hold the compilation.)
    /// </summary>
    private static void AssertNoRoslynObjects(GeneratorDriverRunResult result)
    {
        var steps = result.Results.Single().TrackedSteps;
        foreach (var step in new[] { TrackingNames.Declarations, TrackingNames.Plans }.SelectMany(name => steps[name]))
        {
            foreach (var (value, _) in step.Outputs)
            {
                Visit(value, depth: 0);
            }
        }

        static void Visit(object? node, int depth)
        {
            if (node is null || depth > 8 || node is string || node.GetType().IsPrimitive || node.GetType().IsEnum)
            {
                return;
            }
            Assert.False(node is Compilation or ISymbol or SyntaxNode or SyntaxTree or SemanticModel or Location,
                $"A pipeline step output holds a {node.GetType().Name}, which roots compilations and defeats caching.");
            if (node is IEnumerable sequence)
            {
                foreach (object? item in sequence)
                {
                    Visit(item, depth + 1);
                }
                return;
            }
            foreach (var property in node.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0))
            {
                Visit(property.GetValue(node), depth + 1);
            }
        }
    }
}
