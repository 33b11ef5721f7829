using System;
using System.IO;

namespace Backprop;

/// <summary>A labelled image set in memory: row-major pixels in [0, 1], one label per image.</summary>
public sealed class ImageDataset
{
    /// <summary>Wraps pixels and labels.</summary>
    public ImageDataset(float[] pixels, int[] labels, int rows, int columns)
    {
        if (pixels.Length != labels.Length * rows * columns)
        {
            throw new ArgumentException($"{pixels.Length} pixels for {labels.Length} images of {rows} x {columns}.", nameof(pixels));
        }
        Pixels = pixels;
        Labels = labels;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>All images, row-major, one after another.</summary>
    public float[] Pixels { get; }

    /// <summary>One label per image.</summary>
    public int[] Labels { get; }

    /// <summary>Image height.</summary>
    public int Rows { get; }

    /// <summary>Image width.</summary>
    public int Columns { get; }

    /// <summary>Pixels per image.</summary>
    public int SampleSize => Rows * Columns;

    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>
    /// Loads the MNIST-format files of one split from a directory: <c>train-images-idx3-ubyte</c> and
    /// <c>train-labels-idx1-ubyte</c> (or <c>t10k-…</c> for the test split), each raw or with <c>.gz</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message says which names were tried.</exception>
    public static ImageDataset LoadMnistFormat(string directory, bool train)
    {
        string prefix = train ? "train" : "t10k";
        string images = Find(directory, prefix + "-images-idx3-ubyte");
        string labels = Find(directory, prefix + "-labels-idx1-ubyte");
        var (pixels, count, rows, columns) = Idx.ReadImages(images);
        int[] labelValues = Idx.ReadLabels(labels);
        if (labelValues.Length != count)
        {
            throw new InvalidDataException($"{images} holds {count} images but {labels} holds {labelValues.Length} labels.");
        }
        return new ImageDataset(pixels, labelValues, rows, columns);
    }

    /// <summary>Standardizes every pixel in place: <c>(x - mean) / standardDeviation</c>.</summary>
    public void Normalize(float mean, float standardDeviation)
    {
        float scale = 1f / standardDeviation;
        for (int i = 0; i < Pixels.Length; i++)
        {
            Pixels[i] = (Pixels[i] - mean) * scale;
        }
    }

    /// <summary>The mean and standard deviation over all pixels (to normalize a test set with a training set's figures).</summary>
    public (float Mean, float StandardDeviation) Statistics()
    {
        double sum = 0, squares = 0;
        foreach (float pixel in Pixels)
        {
            sum += pixel;
            squares += (double)pixel * pixel;
        }
        double mean = sum / Pixels.Length;
        return ((float)mean, (float)Math.Sqrt(Math.Max(squares / Pixels.Length - mean * mean, 1e-12)));
    }

    private static string Find(string directory, string name)
    {
        foreach (string candidate in new[] { name, name + ".gz" })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path))
            {
                return path;
            }
        }
        throw new FileNotFoundException($"Neither {name} nor {name}.gz is in {directory}.", Path.Combine(directory, name));
    }
}
