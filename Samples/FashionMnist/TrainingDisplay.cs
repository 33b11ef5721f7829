// What a person watching a training run sees: a live progress bar per epoch (Spectre.Console) with the loss, the
// samples per second and the last epoch's validation figures, or one plain line per epoch when the output is
// redirected or CI is set; and a PNG plot of the loss and accuracy curves (ScottPlot). The library reports progress
// through Fit's callbacks and knows nothing of either.
using System;
using System.Diagnostics;
using System.Linq;
using Backprop;
using Spectre.Console;

internal static class TrainingDisplay
{
    /// <summary>Whether to draw a live progress bar: a terminal, not CI.</summary>
    private static bool Live => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs Fit on the images with the options given and the sample's progress output.</summary>
    public static FitHistory Fit(INetwork net, Optimizer optimizer, ImageDataset train, ImageDataset validation, FitOptions options)
    {
        if (!Live)
        {
            Console.WriteLine("epoch  lr       loss    train acc  val loss  val acc  val F1  samples/s    s");
            return net.Fit(optimizer, train.Pixels, train.Labels, validation.Pixels, validation.Labels, With(options, onStep: null, onEpoch: e => Console.WriteLine(Line(e, train.Count))));
        }

        FitHistory? history = null;
        AnsiConsole.WriteLine("epoch  lr       loss    train acc  val loss  val acc  val F1  samples/s    s");
        AnsiConsole.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask? task = null;
                var refresh = Stopwatch.StartNew();
                history = net.Fit(optimizer, train.Pixels, train.Labels, validation.Pixels, validation.Labels, With(options,
                    onStep: step =>
                    {
                        task ??= context.AddTask($"epoch {step.Epoch}", maxValue: step.Steps);
                        // A few refreshes a second: the description's string is the only allocation, not one per step.
                        if (step.Step == step.Steps || refresh.ElapsedMilliseconds >= 200)
                        {
                            refresh.Restart();
                            task.Value = step.Step;
                            task.Description = $"epoch {step.Epoch}: loss {step.Loss:F4}, {step.Rows / Math.Max(step.Seconds, 1e-9):N0}/s";
                        }
                    },
                    onEpoch: e =>
                    {
                        task?.StopTask();
                        task = null;
                        AnsiConsole.WriteLine(Line(e, train.Count));
                    }));
            });
        return history!;
    }

    /// <summary>One epoch's line: rate, losses, accuracies, macro F1, speed.</summary>
    private static string Line(EpochResult e, int rows)
        => $"{e.Epoch,5}  {e.LearningRate,-7:G3}  {e.TrainingLoss,6:F4}  {e.Training?.Accuracy,9:P2}  {e.ValidationLoss,8:F4}  {e.ValidationMetric,7:P2}  " +
           $"{e.Validation?.MacroF1,6:F4}  {rows / e.Seconds,9:N0}  {e.Seconds,4:F1}";

    private static FitOptions With(FitOptions options, Action<StepProgress>? onStep, Action<EpochResult> onEpoch)
        => options with { OnStep = onStep, OnEpoch = onEpoch };

    /// <summary>Writes the loss curves (left axis) and the validation accuracy (right axis) of every epoch as a PNG.</summary>
    public static void Plot(FitHistory history, string path, string title)
    {
        if (history.Epochs.Count == 0)
        {
            return;
        }
        double[] epochs = history.Epochs.Select(e => (double)e.Epoch).ToArray();
        var plot = new ScottPlot.Plot();
        var training = plot.Add.Scatter(epochs, history.Epochs.Select(e => (double)e.TrainingLoss).ToArray());
        training.LegendText = "training loss";
        var validationLoss = plot.Add.Scatter(epochs, history.Epochs.Select(e => (double)e.ValidationLoss).ToArray());
        validationLoss.LegendText = "validation loss";
        var accuracy = plot.Add.Scatter(epochs, history.Epochs.Select(e => 100.0 * e.ValidationMetric).ToArray());
        accuracy.LegendText = "validation accuracy (%)";
        accuracy.Axes.YAxis = plot.Axes.Right;
        if (history.Epochs.All(e => e.Training is not null))
        {
            var trainingAccuracy = plot.Add.Scatter(epochs, history.Epochs.Select(e => 100.0 * e.Training!.Accuracy).ToArray());
            trainingAccuracy.LegendText = "training accuracy (%)";
            trainingAccuracy.Axes.YAxis = plot.Axes.Right;
        }
        if (history.BestEpoch > 0)
        {
            var best = plot.Add.VerticalLine(history.BestEpoch);
            best.LegendText = $"best epoch ({history.BestEpoch})";
            best.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plot.Title($"{title} on Fashion-MNIST");
        plot.XLabel("epoch");
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "accuracy (%)";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(ScottPlot.Edge.Bottom);
        plot.SavePng(path, 900, 540);
    }
}
