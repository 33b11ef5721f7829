using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using nietras.SeparatedValues;

namespace Backprop;

/// <summary>What a tabular label column holds: classes or real numbers.</summary>
public enum TabularTask
{
    /// <summary>Chosen from the label column: text, or integers with few distinct values, are classes; other numbers regression targets.</summary>
    Auto,

    /// <summary>One class per row (text or integer labels, mapped to 0..classes-1 in sorted order).</summary>
    Classification,

    /// <summary>One real target per row.</summary>
    Regression,
}

/// <summary>
/// A table of numeric features and one label column, read from a CSV file with a header row: the features row-major
/// (<see cref="Features"/>, <see cref="Count"/> × <see cref="FeatureCount"/>, NaN where a value is missing), and either
/// class labels (<see cref="Labels"/>, with the names in <see cref="Classes"/>) or regression targets
/// (<see cref="Targets"/>).
/// </summary>
/// <remarks>
/// <para>
/// A column whose values are all numbers (in the invariant culture) or missing (empty, <c>NA</c>, <c>N/A</c>, <c>NaN</c>,
/// <c>null</c>, <c>?</c>) is a numeric feature. A column with other text is categorical: with at most
/// <see cref="MaximumCategories"/> distinct values it becomes one 0/1 feature per value (one-hot, named
/// <c>column=value</c>), otherwise it is left out (an identifier or free text); <see cref="Skipped"/> names it. Rows
/// whose label is missing are left out and counted in <see cref="RowsWithoutLabel"/>.
/// </para>
/// <para>
/// A row with another number of fields than the header is an <see cref="InvalidDataException"/> naming the file, the
/// line, and both counts.
/// </para>
/// </remarks>
public sealed class TabularData
{
    /// <summary>The most distinct values a text column may have to be one-hot encoded.</summary>
    public const int MaximumCategories = 20;

    /// <summary>The most distinct integer labels for <see cref="TabularTask.Auto"/> to choose classification.</summary>
    public const int MaximumAutoClasses = 20;

    private TabularData(string source, string labelName, TabularTask task, string[] featureNames, float[] features, int count,
        int[]? labels, string[] classes, float[]? targets, string[] skipped, int rowsWithoutLabel)
    {
        Source = source;
        LabelName = labelName;
        Task = task;
        FeatureNames = featureNames;
        Features = features;
        Count = count;
        Labels = labels;
        Classes = classes;
        Targets = targets;
        Skipped = skipped;
        RowsWithoutLabel = rowsWithoutLabel;
    }

    /// <summary>Where the rows came from (the file's path), for messages.</summary>
    public string Source { get; }

    /// <summary>The label column's name.</summary>
    public string LabelName { get; }

    /// <summary>Classification or regression (never <see cref="TabularTask.Auto"/>).</summary>
    public TabularTask Task { get; }

    /// <summary>The rows.</summary>
    public int Count { get; }

    /// <summary>The features per row.</summary>
    public int FeatureCount => FeatureNames.Count;

    /// <summary>The features' names: numeric columns by name, one-hot columns as <c>column=value</c>.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The features, row-major, NaN where missing.</summary>
    public float[] Features { get; }

    /// <summary>For classification, each row's class in [0, <see cref="Classes"/>.Count); null for regression.</summary>
    public int[]? Labels { get; }

    /// <summary>For classification, the class names by index (sorted: numerically for integer labels, ordinally for text).</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>For regression, each row's target; null for classification.</summary>
    public float[]? Targets { get; }

    /// <summary>The columns left out: text with too many distinct values to encode.</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>The rows left out because their label was missing.</summary>
    public int RowsWithoutLabel { get; }

    /// <summary>Whether a CSV field means "no value".</summary>
    public static bool IsMissing(ReadOnlySpan<char> field)
    {
        field = field.Trim();
        return field.IsEmpty || field.Equals("NA", StringComparison.OrdinalIgnoreCase) || field.Equals("N/A", StringComparison.OrdinalIgnoreCase)
            || field.Equals("NaN", StringComparison.OrdinalIgnoreCase) || field.Equals("null", StringComparison.OrdinalIgnoreCase) || field.SequenceEqual("?");
    }

    private static bool TryNumber(ReadOnlySpan<char> field, out double value)
        => double.TryParse(field.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>
    /// Reads a CSV file with a header row (the separator detected from the header: comma, semicolon, tab or pipe;
    /// quoted fields unescaped).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="label">The label column's name (compared ordinally, then ignoring case).</param>
    /// <param name="task">Classification, regression, or <see cref="TabularTask.Auto"/>.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">The header has no column <paramref name="label"/> (the message lists them), or a
    /// regression label holds text.</exception>
    /// <exception cref="InvalidDataException">The file is empty, a row has another number of fields than the header, or
    /// no row has a label.</exception>
    public static TabularData LoadCsv(string path, string label, TabularTask task = TabularTask.Auto)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(label);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }
        var (names, rows) = ReadRows(path);
        int labelColumn = Array.IndexOf(names, label);
        if (labelColumn < 0)
        {
            labelColumn = Array.FindIndex(names, n => string.Equals(n, label, StringComparison.OrdinalIgnoreCase));
        }
        if (labelColumn < 0)
        {
            throw new ArgumentException($"{path}: no column '{label}'; the columns are {string.Join(", ", names)}.", nameof(label));
        }
        return Build(path, names, rows, labelColumn, task);
    }

    /// <summary>
    /// Reads a CSV file in the encoding of a trained model (<see cref="TabularModel.LoadCsv"/>): the features named
    /// <paramref name="featureNames"/> (a column of that name, or <c>column=value</c> for a one-hot feature: 1 where the
    /// column holds that value; an unseen value, like a missing one, leaves its column's features 0), the label mapped
    /// onto <paramref name="classes"/>. A file without the label column gives rows to predict (no labels or targets).
    /// </summary>
    /// <exception cref="InvalidDataException">A feature's column is missing, a numeric feature holds text, or a label is not one of the classes.</exception>
    internal static TabularData LoadCsv(string path, string label, TabularTask task, IReadOnlyList<string> featureNames, IReadOnlyList<string> classes)
    {
        var (names, rows) = ReadRows(path);
        int labelColumn = Array.FindIndex(names, n => string.Equals(n, label, StringComparison.OrdinalIgnoreCase));
        var plan = new List<(int Column, string? Category)>();
        foreach (string feature in featureNames)
        {
            int column = Array.IndexOf(names, feature);
            string? category = null;
            if (column < 0 && feature.IndexOf('=') is int equals and > 0)
            {
                column = Array.IndexOf(names, feature[..equals]);
                category = feature[(equals + 1)..];
            }
            if (column < 0 || column == labelColumn)
            {
                throw new InvalidDataException($"{path}: no column for the model's feature '{feature}'; the columns are {string.Join(", ", names)}.");
            }
            plan.Add((column, category));
        }
        var kept = labelColumn < 0 ? rows : rows.FindAll(r => !IsMissing(r[labelColumn]));
        var features = new float[kept.Count * plan.Count];
        int[]? labels = labelColumn >= 0 && task == TabularTask.Classification ? new int[kept.Count] : null;
        float[]? targets = labelColumn >= 0 && task == TabularTask.Regression ? new float[kept.Count] : null;
        var classIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < classes.Count; c++)
        {
            classIndex[classes[c]] = c;
        }
        for (int i = 0; i < kept.Count; i++)
        {
            for (int f = 0; f < plan.Count; f++)
            {
                var (column, category) = plan[f];
                string field = kept[i][column];
                if (category is not null)
                {
                    features[i * plan.Count + f] = !IsMissing(field) && field.Trim() == category ? 1f : 0f;
                }
                else if (IsMissing(field))
                {
                    features[i * plan.Count + f] = float.NaN;
                }
                else
                {
                    features[i * plan.Count + f] = TryNumber(field, out double v) ? (float)v
                        : throw new InvalidDataException($"{path}, data row {i + 1}: '{names[column]}' holds '{field}'; the model reads it as a number.");
                }
            }
            if (labels is not null)
            {
                labels[i] = classIndex.TryGetValue(kept[i][labelColumn].Trim(), out int index) ? index
                    : throw new InvalidDataException($"{path}, data row {i + 1}: the label '{kept[i][labelColumn]}' is not one of the model's classes ({string.Join(", ", classes)}).");
            }
            else if (targets is not null)
            {
                targets[i] = TryNumber(kept[i][labelColumn], out double v) ? (float)v
                    : throw new InvalidDataException($"{path}, data row {i + 1}: the label '{kept[i][labelColumn]}' is not a number.");
            }
        }
        return new TabularData(path, labelColumn >= 0 ? names[labelColumn] : label, task, [.. featureNames], features, kept.Count, labels, [.. classes], targets, [], rows.Count - kept.Count);
    }

    /// <summary>The header's column names and every data row's fields (blank lines skipped; a row of another width refused).</summary>
    private static (string[] Names, List<string[]> Rows) ReadRows(string path)
    {
        string[] names;
        var rows = new List<string[]>();
        using (var reader = Sep.Reader(o => o with { Unescape = true, DisableColCountCheck = true, Trim = SepTrim.Outer }).FromFile(path))
        {
            names = [.. reader.Header.ColNames];
            if (names.Length == 0)
            {
                throw new InvalidDataException($"{path}: the file is empty; it needs a header row and data rows.");
            }
            foreach (var row in reader)
            {
                if (row.ColCount == 1 && row[0].Span.Trim().IsEmpty)
                {
                    continue; // a blank line
                }
                if (row.ColCount != names.Length)
                {
                    throw new InvalidDataException(
                        $"{path}, line {row.LineNumberFrom.ToString(CultureInfo.InvariantCulture)}: {row.ColCount.ToString(CultureInfo.InvariantCulture)} fields, but the header has {names.Length.ToString(CultureInfo.InvariantCulture)} ({string.Join(", ", names)}).");
                }
                var fields = new string[names.Length];
                for (int c = 0; c < fields.Length; c++)
                {
                    fields[c] = row[c].ToString();
                }
                rows.Add(fields);
            }
        }
        return (names, rows);
    }

    private static TabularData Build(string source, string[] names, List<string[]> allRows, int labelColumn, TabularTask task)
    {
        var rows = allRows.FindAll(r => !IsMissing(r[labelColumn]));
        int withoutLabel = allRows.Count - rows.Count;
        if (rows.Count == 0)
        {
            throw new InvalidDataException($"{source}: no row has a value in the label column '{names[labelColumn]}'.");
        }

        // The label: classes or targets.
        bool numeric = rows.TrueForAll(r => TryNumber(r[labelColumn], out _));
        if (task == TabularTask.Auto)
        {
            var distinct = new HashSet<string>(StringComparer.Ordinal);
            bool integers = true;
            foreach (var r in rows)
            {
                distinct.Add(r[labelColumn].Trim());
                integers &= TryNumber(r[labelColumn], out double v) && v == Math.Floor(v);
            }
            task = !numeric || (integers && distinct.Count <= MaximumAutoClasses) ? TabularTask.Classification : TabularTask.Regression;
        }
        int[]? labels = null;
        float[]? targets = null;
        string[] classes = [];
        if (task == TabularTask.Classification)
        {
            var values = new SortedSet<string>(rows.ConvertAll(r => r[labelColumn].Trim()), numeric ? new NumericOrder() : StringComparer.Ordinal);
            classes = [.. values];
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < classes.Length; i++)
            {
                index[classes[i]] = i;
            }
            labels = rows.ConvertAll(r => index[r[labelColumn].Trim()]).ToArray();
        }
        else
        {
            targets = new float[rows.Count];
            for (int i = 0; i < rows.Count; i++)
            {
                if (!TryNumber(rows[i][labelColumn], out double v))
                {
                    throw new ArgumentException($"{source}: the label '{names[labelColumn]}' of data row {i + 1} is '{rows[i][labelColumn]}', not a number; regression needs numeric labels.");
                }
                targets[i] = (float)v;
            }
        }

        // The features, planned once per column: numeric as they are (null), text one-hot (its values' feature
        // indices), or skipped (too many distinct values).
        var featureNames = new List<string>();
        var skipped = new List<string>();
        var plan = new List<(int Column, int First, Dictionary<string, int>? Categories)>();
        for (int c = 0; c < names.Length; c++)
        {
            if (c == labelColumn)
            {
                continue;
            }
            int column = c;
            if (rows.TrueForAll(r => IsMissing(r[column]) || TryNumber(r[column], out _)))
            {
                plan.Add((c, featureNames.Count, null));
                featureNames.Add(names[c]);
                continue;
            }
            var values = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var r in rows)
            {
                if (!IsMissing(r[column]))
                {
                    values.Add(r[column].Trim());
                }
            }
            if (values.Count > MaximumCategories)
            {
                skipped.Add(names[c]);
                continue;
            }
            var categories = new Dictionary<string, int>(StringComparer.Ordinal);
            plan.Add((c, featureNames.Count, categories));
            foreach (string value in values)
            {
                categories[value] = categories.Count;
                featureNames.Add(names[c] + "=" + value);
            }
        }

        int width = featureNames.Count;
        var features = new float[rows.Count * width];
        for (int i = 0; i < rows.Count; i++)
        {
            foreach (var (column, first, categories) in plan)
            {
                string field = rows[i][column];
                if (categories is null)
                {
                    features[i * width + first] = TryNumber(field, out double v) ? (float)v : float.NaN;
                }
                else if (!IsMissing(field))
                {
                    // One-hot: 1 at the value's feature; a missing value leaves them all 0.
                    features[i * width + first + categories[field.Trim()]] = 1f;
                }
            }
        }
        return new TabularData(source, names[labelColumn], task, [.. featureNames], features, rows.Count, labels, classes, targets, [.. skipped], withoutLabel);
    }

    /// <summary>
    /// A seeded split into training, validation and test rows (each row in one part), stratified by class for
    /// classification (each class split in the same proportions), in a shuffled order.
    /// </summary>
    /// <param name="validation">The share of rows for validation, in [0, 1).</param>
    /// <param name="test">The share of rows for the test, in [0, 1); with <paramref name="validation"/> less than 1.</param>
    /// <param name="seed">The shuffle's seed.</param>
    public (TabularData Training, TabularData Validation, TabularData Test) Split(double validation, double test, int seed)
    {
        if (!(validation >= 0 && test >= 0 && validation + test < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validation), $"The validation ({validation}) and test ({test}) shares must be non-negative and leave rows for training.");
        }
        var random = new Random(seed);
        var parts = new List<int>[] { new(), new(), new() };
        // Stratified: the rows of each class (or all rows for regression) shuffled and cut in the same proportions.
        var groups = new List<List<int>>();
        if (Labels is { } labels)
        {
            for (int c = 0; c < Classes.Count; c++)
            {
                groups.Add([]);
            }
            for (int i = 0; i < Count; i++)
            {
                groups[labels[i]].Add(i);
            }
        }
        else
        {
            var all = new List<int>(Count);
            for (int i = 0; i < Count; i++)
            {
                all.Add(i);
            }
            groups.Add(all);
        }
        foreach (var group in groups)
        {
            var rows = group.ToArray();
            random.Shuffle(rows);
            int testRows = (int)Math.Round(rows.Length * test), validationRows = (int)Math.Round(rows.Length * validation);
            if (testRows + validationRows >= rows.Length && rows.Length > 0)
            {
                // A tiny class keeps at least one training row.
                testRows = Math.Min(testRows, Math.Max(0, rows.Length - 1));
                validationRows = Math.Max(0, Math.Min(validationRows, rows.Length - 1 - testRows));
            }
            parts[2].AddRange(rows.AsSpan(0, testRows).ToArray());
            parts[1].AddRange(rows.AsSpan(testRows, validationRows).ToArray());
            parts[0].AddRange(rows.AsSpan(testRows + validationRows).ToArray());
        }
        foreach (var part in parts)
        {
            var shuffled = part.ToArray();
            random.Shuffle(shuffled);
            part.Clear();
            part.AddRange(shuffled);
        }
        return (Subset(parts[0]), Subset(parts[1]), Subset(parts[2]));
    }

    /// <summary>The rows at <paramref name="indices"/>, in that order.</summary>
    public TabularData Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int width = FeatureCount;
        var features = new float[indices.Count * width];
        int[]? labels = Labels is null ? null : new int[indices.Count];
        float[]? targets = Targets is null ? null : new float[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            int row = indices[i];
            Features.AsSpan(row * width, width).CopyTo(features.AsSpan(i * width));
            if (labels is not null)
            {
                labels[i] = Labels![row];
            }
            if (targets is not null)
            {
                targets[i] = Targets![row];
            }
        }
        return new TabularData(Source, LabelName, Task, [.. FeatureNames], features, indices.Count, labels, [.. Classes], targets, [.. Skipped], 0);
    }

    /// <summary>Orders numeric class labels by value ("2" before "10").</summary>
    private sealed class NumericOrder : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            TryNumber(x, out double a);
            TryNumber(y, out double b);
            int order = a.CompareTo(b);
            return order != 0 ? order : string.CompareOrdinal(x, y);
        }
    }
}
