extern alias generator;

using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using NetworkAnalyzer = generator::Backprop.Generator.Analyzers.NetworkAnalyzer;
using CallSiteAnalyzer = generator::Backprop.Generator.Analyzers.CallSiteAnalyzer;
using NetworkGenerator = generator::Backprop.Generator.NetworkGenerator;

namespace Backprop.Benchmarks;

/// <summary>
/// Time per network of the generator (a full, non-incremental run) and of each analyzer, on a file of ten
/// networks, from Roslyn's own timing (driver timing info, analyzer execution time). Medians of repeated runs.
/// </summary>
internal static class CompilerTiming
{
    private const int Networks = 10, Runs = 40;

    public static int Run()
    {
        var source = new StringBuilder("using Backprop;\nnamespace Timing;\n");
        for (int i = 0; i < Networks; i++)
        {
            source.Append(CultureInfo.InvariantCulture,
                $"[Network] [Input({784 + i})] [Dense(256, Activation = Activation.Relu)] [Dense(128, Activation = Activation.Gelu)] [Dense({10 + i})] public partial class Net{i};\n");
        }
        // Call sites for the call-site analyzer: one Predict per network, with constant-length buffers.
        source.Append("public static class Calls\n{\n    public static void Run()\n    {\n");
        for (int i = 0; i < Networks; i++)
        {
            source.Append(CultureInfo.InvariantCulture, $"        new Net{i}().Predict(new float[{784 + i}], new float[{10 + i}]);\n");
        }
        source.Append("    }\n}\n");
        var references = Basic.Reference.Assemblies.Net100.References.All.Append(MetadataReference.CreateFromFile(typeof(INetwork).Assembly.Location));
        var compilation = CSharpCompilation.Create("Timing", [CSharpSyntaxTree.ParseText(source.ToString(), new CSharpParseOptions(LanguageVersion.Latest))],
            references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));

        var generatorTimes = new List<double>();
        Compilation output = compilation;
        for (int run = 0; run < Runs; run++)
        {
            GeneratorDriver driver = CSharpGeneratorDriver.Create(new NetworkGenerator());
            driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out output, out _);
            generatorTimes.Add(driver.GetTimingInfo().ElapsedTime.TotalMilliseconds / Networks);
        }

        var analyzerTimes = new Dictionary<string, List<double>>();
        DiagnosticAnalyzer[] analyzers = [new NetworkAnalyzer(), new CallSiteAnalyzer()];
        for (int run = 0; run < Runs; run++)
        {
            var withAnalyzers = output.WithAnalyzers(ImmutableArray.Create(analyzers),
                new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), null, concurrentAnalysis: false, logAnalyzerExecutionTime: true));
            _ = withAnalyzers.GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
            foreach (var analyzer in analyzers)
            {
                var telemetry = withAnalyzers.GetAnalyzerTelemetryInfoAsync(analyzer, default).GetAwaiter().GetResult();
                string name = analyzer.GetType().Name;
                if (!analyzerTimes.TryGetValue(name, out var times))
                {
                    analyzerTimes[name] = times = [];
                }
                times.Add(telemetry.ExecutionTime.TotalMilliseconds / Networks);
            }
        }

        Console.WriteLine($"Per network, median of {Runs} runs over a file of {Networks} networks (784-256-128-10 MLPs):");
        Console.WriteLine($"  generator (full run)   {Median(generatorTimes):F3} ms");
        foreach (var (name, times) in analyzerTimes)
        {
            Console.WriteLine($"  {name,-22} {Median(times):F3} ms");
        }
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[sorted.Count / 2];
    }
}
