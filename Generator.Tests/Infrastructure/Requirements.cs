using System;
using System.Diagnostics;
using System.IO;
using Xunit;
using Xunit.Sdk;

namespace Backprop.Tests.Infrastructure;

/// <summary>
/// External things some tests need. Without them a test is skipped with the reason and the install command,
/// except under CI (CI=true), where a missing requirement is a failure: CI must run these tests, not skip them.
/// </summary>
internal static class Requirements
{
    public const string Python = "/usr/bin/python3";
    public const string DefaultFashionMnist = "/usr/share/datasets/fashion-mnist";

    private static readonly Lazy<string?> s_torchProblem = new(() => ProbeModule("torch"));
    private static readonly Lazy<string?> s_onnxProblem = new(() => ProbeModule("onnx"));

    private static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Requires Debian's python3-torch at /usr/bin/python3.</summary>
    public static void PyTorch()
    {
        if (s_torchProblem.Value is { } problem)
        {
            Missing($"PyTorch is not available ({problem}); install it with: sudo apt-get install python3-torch");
        }
    }

    /// <summary>Requires Debian's python3-onnx (onnx.checker) at /usr/bin/python3.</summary>
    public static void PythonOnnx()
    {
        if (s_onnxProblem.Value is { } problem)
        {
            Missing($"The onnx Python package is not available ({problem}); install it with: sudo apt-get install python3-onnx");
        }
    }

    /// <summary>Requires the Fashion-MNIST IDX files; returns their directory.</summary>
    public static string FashionMnist()
    {
        string directory = Environment.GetEnvironmentVariable("FASHION_MNIST_DIR") ?? DefaultFashionMnist;
        if (!File.Exists(Path.Combine(directory, "train-images-idx3-ubyte.gz")) && !File.Exists(Path.Combine(directory, "train-images-idx3-ubyte")))
        {
            Missing($"Fashion-MNIST is not in {directory}; install it with: sudo apt-get install dataset-fashion-mnist (or set FASHION_MNIST_DIR)");
        }
        return directory;
    }

    /// <summary>The real tabular datasets that Debian's python3-sklearn ships as CSV files; returns their directory.</summary>
    public static string ScikitLearnData()
    {
        const string Directory = "/usr/lib/python3/dist-packages/sklearn/datasets/data";
        if (!File.Exists(Path.Combine(Directory, "iris.csv")) || !File.Exists(Path.Combine(Directory, "boston_house_prices.csv")))
        {
            Missing($"scikit-learn's datasets are not in {Directory}; install them with: sudo apt-get install python3-sklearn");
        }
        return Directory;
    }

    private static void Missing(string reason)
    {
        if (InCi)
        {
            throw new XunitException("CI=true, so this test must run, but: " + reason);
        }
        Skip.If(true, reason);
    }

    private static string? ProbeModule(string module)
    {
        if (!File.Exists(Python))
        {
            return Python + " does not exist";
        }
        var (exit, _, error) = Run(Python, ["-c", "import " + module], TimeSpan.FromMinutes(1));
        return exit == 0 ? null : $"import {module} failed: " + error.Trim();
    }

    /// <summary>Runs a process to completion; returns its exit code and output.</summary>
    public static (int Exit, string Output, string Error) Run(string file, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish in {timeout}.");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}
