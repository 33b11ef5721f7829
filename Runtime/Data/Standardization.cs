using System;

namespace Backprop;

/// <summary>
/// Per-feature scaling fitted on training rows only, <c>(x - center) / scale</c>: standardization
/// (<see cref="Fit(ReadOnlySpan{float}, int, int)"/>, center the mean and scale the deviation, as scikit-learn's
/// <c>StandardScaler</c>) or min-max scaling into [0, 1] (<see cref="FitMinMax(ReadOnlySpan{float}, int, int)"/>,
/// center the minimum and scale the range, as <c>MinMaxScaler</c>). Missing values (NaN) are left out of the fit and
/// become the training mean (0 after standardization); a constant feature keeps scale 1. Apply the same instance to
/// validation, test and new rows, or write it into the network's <c>[Normalization]</c> layer with <see cref="WriteTo"/>.
/// </summary>
public sealed class Standardization
{
    private readonly float[] _missing;

    private Standardization(float[] means, float[] deviations, float[] missing, bool minMax)
    {
        Means = means;
        Deviations = deviations;
        _missing = missing;
        IsMinMax = minMax;
    }

    /// <summary>The center of each feature: its training mean, or its training minimum for min-max scaling.</summary>
    public float[] Means { get; }

    /// <summary>
    /// The scale of each feature: its training standard deviation (population), or its training range (maximum minus
    /// minimum) for min-max scaling; 1 where that is 0.
    /// </summary>
    public float[] Deviations { get; }

    /// <summary>Whether this is min-max scaling into [0, 1] rather than standardization.</summary>
    public bool IsMinMax { get; }

    /// <summary>The features per row.</summary>
    public int Width => Means.Length;

    /// <summary>What a missing value of each feature stands for, unscaled: its training mean.</summary>
    internal float[] MissingValues
    {
        get
        {
            var values = new float[Width];
            for (int f = 0; f < values.Length; f++)
            {
                values[f] = Means[f] + _missing[f] * Deviations[f];
            }
            return values;
        }
    }

    /// <summary>Fits the statistics of <paramref name="count"/> rows of <paramref name="width"/> features, in double precision.</summary>
    public static Standardization Fit(ReadOnlySpan<float> features, int count, int width)
    {
        if (count < 0 || width < 0 || features.Length < (long)count * width)
        {
            throw new ArgumentException($"{features.Length} values do not hold {count} rows of {width} features.", nameof(features));
        }
        var means = new float[width];
        var deviations = new float[width];
        for (int f = 0; f < width; f++)
        {
            double sum = 0, squares = 0;
            int n = 0;
            for (int i = 0; i < count; i++)
            {
                float v = features[i * width + f];
                if (!float.IsNaN(v))
                {
                    sum += v;
                    squares += (double)v * v;
                    n++;
                }
            }
            double mean = n == 0 ? 0 : sum / n;
            double variance = n == 0 ? 0 : Math.Max(0, squares / n - mean * mean);
            means[f] = (float)mean;
            deviations[f] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }
        return new Standardization(means, deviations, new float[width], minMax: false);
    }

    /// <summary>
    /// Fits min-max scaling of <paramref name="count"/> rows of <paramref name="width"/> features: <c>(x - min) / (max - min)</c>,
    /// so training values land in [0, 1] (others may fall outside). A missing value becomes the feature's scaled training mean.
    /// </summary>
    public static Standardization FitMinMax(ReadOnlySpan<float> features, int count, int width)
    {
        if (count < 0 || width < 0 || features.Length < (long)count * width)
        {
            throw new ArgumentException($"{features.Length} values do not hold {count} rows of {width} features.", nameof(features));
        }
        var minimums = new float[width];
        var ranges = new float[width];
        var missing = new float[width];
        for (int f = 0; f < width; f++)
        {
            float minimum = float.PositiveInfinity, maximum = float.NegativeInfinity;
            double sum = 0;
            int n = 0;
            for (int i = 0; i < count; i++)
            {
                float v = features[i * width + f];
                if (!float.IsNaN(v))
                {
                    minimum = Math.Min(minimum, v);
                    maximum = Math.Max(maximum, v);
                    sum += v;
                    n++;
                }
            }
            if (n == 0)
            {
                minimum = maximum = 0f;
            }
            double range = (double)maximum - minimum;
            minimums[f] = minimum;
            // The [Normalization] layer treats a variance of 1e-12 or less as constant; the range's threshold is its root.
            ranges[f] = range > 1e-6 ? (float)range : 1f;
            missing[f] = n == 0 ? 0f : (float)((sum / n - minimum) / ranges[f]);
        }
        return new Standardization(minimums, ranges, missing, minMax: true);
    }

    /// <summary>Fits min-max scaling of a table's features.</summary>
    public static Standardization FitMinMax(TabularData training)
    {
        ArgumentNullException.ThrowIfNull(training);
        return FitMinMax(training.Features, training.Count, training.FeatureCount);
    }

    /// <summary>Fits the statistics of a table's features.</summary>
    public static Standardization Fit(TabularData training)
    {
        ArgumentNullException.ThrowIfNull(training);
        return Fit(training.Features, training.Count, training.FeatureCount);
    }

    /// <summary>
    /// Standardized rows for a network: <paramref name="count"/> rows of <see cref="Width"/> features become rows of
    /// <paramref name="inputSize"/> values (at least <see cref="Width"/>; the values beyond are 0, so a network declared
    /// for more inputs than the table has sees them as absent).
    /// </summary>
    public float[] Transform(ReadOnlySpan<float> features, int count, int inputSize)
    {
        if (inputSize < Width)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, $"The rows have {Width} features; the network takes {inputSize}.");
        }
        if (count < 0 || features.Length < (long)count * Width)
        {
            throw new ArgumentException($"{features.Length} values do not hold {count} rows of {Width} features.", nameof(features));
        }
        var result = new float[count * inputSize];
        for (int i = 0; i < count; i++)
        {
            for (int f = 0; f < Width; f++)
            {
                float v = features[i * Width + f];
                result[i * inputSize + f] = float.IsNaN(v) ? _missing[f] : (v - Means[f]) / Deviations[f];
            }
        }
        return result;
    }

    /// <summary>
    /// Writes these statistics into a network's <c>[Normalization]</c> layer (its <c>mean</c> and <c>variance</c> state
    /// tensors: the centers and the squared scales, padded with 0 and 1 up to the network's input size), so the model
    /// scales its own inputs (min-max scaling too: <c>(x − min) / √(range²)</c>), and saves the statistics with its weights.
    /// </summary>
    /// <param name="network">The network.</param>
    /// <param name="layer">The normalization layer's name (<c>normalization1</c> by default).</param>
    /// <exception cref="ArgumentException">The network has no such tensors, or fewer inputs than this standardization's features.</exception>
    public void WriteTo(INetwork network, string layer = "normalization1")
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(layer);
        int features = -1;
        foreach (var tensor in network.Tensors)
        {
            if (tensor.Name == layer + ".mean")
            {
                features = tensor.Length;
            }
        }
        if (features < Width)
        {
            throw new ArgumentException(features < 0
                ? $"{network.GetType().Name} has no tensor '{layer}.mean'; declare [Normalization] (named '{layer}') first."
                : $"{network.GetType().Name}'s layer '{layer}' normalizes {features} features; this standardization has {Width}.", nameof(layer));
        }
        var mean = new float[features];
        var variance = new float[features];
        for (int f = 0; f < features; f++)
        {
            mean[f] = f < Width ? Means[f] : 0f;
            variance[f] = f < Width ? Deviations[f] * Deviations[f] : 1f;
        }
        network.SetTensor(layer + ".mean", mean);
        network.SetTensor(layer + ".variance", variance);
    }

    /// <summary>A table's rows, standardized, for a network of <paramref name="inputSize"/> inputs.</summary>
    public float[] Transform(TabularData data, int inputSize)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureCount != Width)
        {
            throw new ArgumentException($"The table has {data.FeatureCount} features; this standardization was fitted on {Width}.", nameof(data));
        }
        return Transform(data.Features, data.Count, inputSize);
    }
}
