using System;
using System.Collections.Generic;
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

    /// <summary>
    /// The images of some classes, relabelled by their position in <paramref name="classes"/> (classes 5..9 become
    /// 0..4): for a task on part of the classes, as transfer learning's source and target. With
    /// <paramref name="perClass"/>, at most that many images of each class, drawn from <paramref name="seed"/> (few-shot
    /// training sets); the images keep the dataset's order.
    /// </summary>
    /// <exception cref="ArgumentException">No classes, a class listed twice or negative, or <paramref name="perClass"/> below 1.</exception>
    public ImageDataset SelectClasses(int[] classes, int perClass = int.MaxValue, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Length == 0 || perClass < 1)
        {
            throw new ArgumentException("Select at least one class, and at least one image of each.");
        }
        var position = new Dictionary<int, int>();
        foreach (int label in classes)
        {
            if (label < 0 || !position.TryAdd(label, position.Count))
            {
                throw new ArgumentException($"Class {label} is negative or listed twice.", nameof(classes));
            }
        }
        // Each class's images, in a seeded random order; the first perClass of each are kept, in dataset order.
        var taken = new int[classes.Length];
        var chosen = new bool[Count];
        foreach (int image in RandomOrder(seed))
        {
            if (position.TryGetValue(Labels[image], out int index) && taken[index] < perClass)
            {
                taken[index]++;
                chosen[image] = true;
            }
        }
        return Subset(chosen, keep: true, label => position[label]);
    }

    /// <summary>
    /// Holds out a share of the images for validation, stratified by label (each class gives the same share, drawn from
    /// <paramref name="seed"/>); both parts keep the dataset's order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validation"/> is not in (0, 1).</exception>
    public (ImageDataset Train, ImageDataset Validation) Split(double validation, int seed = 0)
    {
        if (!(validation > 0 && validation < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validation), validation, "The validation share must be in (0, 1).");
        }
        var perClass = new Dictionary<int, int>();
        foreach (int label in Labels)
        {
            perClass[label] = perClass.GetValueOrDefault(label) + 1;
        }
        var held = new bool[Count];
        var taken = new Dictionary<int, int>();
        foreach (int image in RandomOrder(seed))
        {
            int label = Labels[image];
            int quota = (int)Math.Round(perClass[label] * validation);
            if (taken.GetValueOrDefault(label) < quota)
            {
                taken[label] = taken.GetValueOrDefault(label) + 1;
                held[image] = true;
            }
        }
        return (Subset(held, keep: false, label => label), Subset(held, keep: true, label => label));
    }

    /// <summary>The images in a random order drawn from <paramref name="seed"/>.</summary>
    private int[] RandomOrder(int seed)
    {
        var order = new int[Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        new Random(seed).Shuffle(order);
        return order;
    }

    /// <summary>The images whose mark is <paramref name="keep"/>, in dataset order, their labels through <paramref name="relabel"/>.</summary>
    private ImageDataset Subset(bool[] marked, bool keep, Func<int, int> relabel)
    {
        int count = 0;
        foreach (bool mark in marked)
        {
            count += mark == keep ? 1 : 0;
        }
        var pixels = new float[count * SampleSize];
        var labels = new int[count];
        for (int image = 0, at = 0; image < Count; image++)
        {
            if (marked[image] == keep)
            {
                Pixels.AsSpan(image * SampleSize, SampleSize).CopyTo(pixels.AsSpan(at * SampleSize));
                labels[at++] = relabel(Labels[image]);
            }
        }
        return new ImageDataset(pixels, labels, Rows, Columns);
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
