namespace Backprop.Generator.Shapes;

/// <summary>The runtime's type and enum names, mirrored by value (the generator cannot reference the runtime).</summary>
internal static class Names
{
    public const string NetworkAttribute = "Backprop.NetworkAttribute";
    public const string InputAttribute = "Backprop.InputAttribute";
    public const string LayerAttribute = "Backprop.LayerAttribute";

    /// <summary><c>Backprop.Activation</c> names by value.</summary>
    public static readonly string[] Activations = { "Linear", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "Softmax" };

    /// <summary><c>Backprop.Loss</c> names by value.</summary>
    public static readonly string[] Losses = { "SoftmaxCrossEntropy", "BinaryCrossEntropy", "MeanSquaredError" };

    public const int Linear = 0, Relu = 1, LeakyRelu = 2, Sigmoid = 3, Tanh = 4, Gelu = 5, Softmax = 6;
    public const int SoftmaxCrossEntropy = 0, BinaryCrossEntropy = 1, MeanSquaredError = 2;

    public static string Activation(int value) => value >= 0 && value < Activations.Length ? Activations[value] : value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Loss(int value) => value >= 0 && value < Losses.Length ? Losses[value] : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
