using System;
using System.ComponentModel;
using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// The ONNX nodes of each layer kind in inference mode, as the generated <c>ExportOnnx</c> calls them (a layer unit of the
/// generator chooses the call and its arguments): the same computation as the layer's forward pass in <c>Predict</c>,
/// from standard opset-17 operators, reading the layer's tensors under their PyTorch names. Tensors flow batch first,
/// in PyTorch's layouts ([batch, channels, height, width] images, [batch, steps, features] sequences).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class OnnxLayers
{
    /// <summary>
    /// An element-wise activation by its name in <c>Activation</c> (<c>Linear</c> adds nothing; <c>Softmax</c> over the
    /// last axis; <c>LeakyRelu</c> with slope 0.01; <c>Gelu</c>, which opset 17 lacks, as <c>x · ½ · (1 + erf(x / √2))</c>).
    /// </summary>
    public static string Activation(OnnxGraph graph, string x, string layer, string activation)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return activation switch
        {
            "Linear" => x,
            "Relu" => graph.Node("Relu", layer, [x]),
            "LeakyRelu" => graph.Node("LeakyRelu", layer, [x], OnnxAttribute.Float("alpha", Kernels.LeakyRelu.NegativeSlope)),
            "Sigmoid" => graph.Node("Sigmoid", layer, [x]),
            "Tanh" => graph.Node("Tanh", layer, [x]),
            "Softmax" => graph.Node("Softmax", layer, [x], OnnxAttribute.Int("axis", -1)),
            "Gelu" => Gelu(graph, x, layer),
            _ => throw new ArgumentException($"'{activation}' is not an activation ONNX export knows.", nameof(activation)),
        };
    }

    /// <summary>
    /// <c>Dense</c>: <c>Flatten</c> (when a sample has more than one axis) and <c>Gemm</c> with the weight [units, inputs]
    /// transposed by the operator; per step (<paramref name="perStep"/>), <c>MatMul</c> with the transposed weight and
    /// <c>Add</c> of the bias over [batch, steps, features].
    /// </summary>
    public static string Dense(OnnxGraph graph, string x, string layer, bool flatten, bool perStep, string activation)
    {
        ArgumentNullException.ThrowIfNull(graph);
        string weight = graph.Parameter(layer + ".weight"), bias = graph.Parameter(layer + ".bias");
        string y;
        if (perStep)
        {
            string transposed = graph.Node("Transpose", layer, [weight], OnnxAttribute.Ints("perm", 1, 0));
            y = graph.Node("Add", layer, [graph.Node("MatMul", layer, [x, transposed]), bias]);
        }
        else
        {
            if (flatten)
            {
                x = graph.Node("Flatten", layer, [x], OnnxAttribute.Int("axis", 1));
            }
            y = graph.Node("Gemm", layer, [x, weight, bias], OnnxAttribute.Int("transB", 1));
        }
        return Activation(graph, y, layer, activation);
    }

    /// <summary><c>Conv2D</c>: <c>Conv</c> with square kernel, stride and symmetric zero padding, then the activation.</summary>
    public static string Conv2D(OnnxGraph graph, string x, string layer, int kernel, int stride, int padding, bool bias, string activation)
    {
        ArgumentNullException.ThrowIfNull(graph);
        string weight = graph.Parameter(layer + ".weight");
        string[] inputs = bias ? [x, weight, graph.Parameter(layer + ".bias")] : [x, weight];
        string y = graph.Node("Conv", layer, inputs,
            OnnxAttribute.Ints("kernel_shape", kernel, kernel), OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", padding, padding, padding, padding), OnnxAttribute.Ints("dilations", 1, 1));
        return Activation(graph, y, layer, activation);
    }

    /// <summary><c>MaxPool2D</c> / <c>AvgPool2D</c>: <c>MaxPool</c> or <c>AveragePool</c>, no padding, floor mode.</summary>
    public static string Pool2D(OnnxGraph graph, string x, string layer, bool max, int size, int stride)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Node(max ? "MaxPool" : "AveragePool", layer, [x],
            OnnxAttribute.Ints("kernel_shape", size, size), OnnxAttribute.Ints("strides", stride, stride), OnnxAttribute.Ints("pads", 0, 0, 0, 0));
    }

    /// <summary><c>GlobalAvgPool2D</c>: <c>GlobalAveragePool</c> ([batch, c, 1, 1]) flattened to [batch, c].</summary>
    public static string GlobalAvgPool2D(OnnxGraph graph, string x, string layer)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return Flatten(graph, graph.Node("GlobalAveragePool", layer, [x]), layer);
    }

    /// <summary><c>Flatten</c>: every axis but the batch into one.</summary>
    public static string Flatten(OnnxGraph graph, string x, string layer)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Node("Flatten", layer, [x], OnnxAttribute.Int("axis", 1));
    }

    /// <summary>
    /// <c>BatchNorm</c> in inference mode: <c>BatchNormalization</c> with the running statistics (axis 1 is the channel or
    /// feature axis, as in PyTorch), then the activation.
    /// </summary>
    public static string BatchNorm(OnnxGraph graph, string x, string layer, float epsilon, string activation)
    {
        ArgumentNullException.ThrowIfNull(graph);
        string y = graph.Node("BatchNormalization", layer,
            [x, graph.Parameter(layer + ".weight"), graph.Parameter(layer + ".bias"), graph.Parameter(layer + ".running_mean"), graph.Parameter(layer + ".running_var")],
            OnnxAttribute.Float("epsilon", epsilon));
        return Activation(graph, y, layer, activation);
    }

    /// <summary>
    /// <c>Normalization</c>: <c>(x − mean) · s</c> per value of the sample, with <c>s = 1 / √variance</c>, or 1 where the
    /// variance is 0 (as the layer's kernel), computed in the graph from the <c>mean</c> and <c>variance</c> tensors.
    /// </summary>
    public static string Normalization(OnnxGraph graph, string x, string layer, params int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(sampleShape);
        string mean = graph.Parameter(layer + ".mean"), variance = graph.Parameter(layer + ".variance");
        if (sampleShape.Length > 1)
        {
            // The statistics are kept per value of the layer's flat sample: shaped like one sample, they broadcast over the batch.
            var dims = new long[sampleShape.Length];
            for (int i = 0; i < dims.Length; i++)
            {
                dims[i] = sampleShape[i];
            }
            string sample = graph.Int64s(layer + "/sample_shape", dims);
            mean = graph.Node("Reshape", layer, [mean, sample]);
            variance = graph.Node("Reshape", layer, [variance, sample]);
        }
        string positive = graph.Node("Greater", layer, [variance, graph.Scalar(layer + "/smallest_variance", FeatureNormalization.SmallestVariance)]);
        string inverse = graph.Node("Reciprocal", layer, [graph.Node("Sqrt", layer, [variance])]);
        string scale = graph.Node("Where", layer, [positive, inverse, graph.Scalar(layer + "/one", 1f)]);
        return graph.Node("Mul", layer, [graph.Node("Sub", layer, [x, mean]), scale]);
    }

    /// <summary><c>Embedding</c>: the float ids cast to INT64, then <c>Gather</c> of the weight's rows.</summary>
    public static string Embedding(OnnxGraph graph, string x, string layer)
    {
        ArgumentNullException.ThrowIfNull(graph);
        string ids = graph.Node("Cast", layer, [x], OnnxAttribute.Int("to", 7));
        return graph.Node("Gather", layer, [graph.Parameter(layer + ".weight"), ids], OnnxAttribute.Int("axis", 0));
    }

    /// <summary>
    /// <c>SimpleRnn</c>, <c>Lstm</c>, <c>Gru</c>: ONNX's <c>RNN</c> (tanh), <c>LSTM</c> and <c>GRU</c> (with
    /// <c>linear_before_reset</c>, PyTorch's form) over [steps, batch, features], from zero initial states. PyTorch's gate
    /// blocks (LSTM i, f, g, o; GRU r, z, n) are reordered in the graph into ONNX's (i, o, f, c; z, r, h), so the
    /// initializers keep PyTorch's tensors and names. The output is every step's hidden state [batch, steps, units]
    /// when <paramref name="returnSequences"/>, else the last step's [batch, units].
    /// </summary>
    public static string Recurrent(OnnxGraph graph, string x, string layer, string kind, int units, bool returnSequences)
    {
        ArgumentNullException.ThrowIfNull(graph);
        (string op, int[] order) = kind switch
        {
            "SimpleRnn" => ("RNN", new[] { 0 }),
            "Lstm" => ("LSTM", new[] { 0, 3, 1, 2 }),
            "Gru" => ("GRU", new[] { 1, 0, 2 }),
            _ => throw new ArgumentException($"'{kind}' is not a recurrent layer kind.", nameof(kind)),
        };
        string zero = graph.Int64s(layer + "/axis0", 0);
        string w = graph.Node("Unsqueeze", layer, [Reorder(graph, graph.Parameter(layer + ".weight_ih_l0"), layer, units, order), zero]);
        string r = graph.Node("Unsqueeze", layer, [Reorder(graph, graph.Parameter(layer + ".weight_hh_l0"), layer, units, order), zero]);
        string biases = graph.Node("Concat", layer,
            [Reorder(graph, graph.Parameter(layer + ".bias_ih_l0"), layer, units, order), Reorder(graph, graph.Parameter(layer + ".bias_hh_l0"), layer, units, order)],
            OnnxAttribute.Int("axis", 0));
        string b = graph.Node("Unsqueeze", layer, [biases, zero]);
        string steps = graph.Node("Transpose", layer, [x], OnnxAttribute.Ints("perm", 1, 0, 2));
        OnnxAttribute[] attributes = op == "GRU"
            ? [OnnxAttribute.Int("hidden_size", units), OnnxAttribute.Int("linear_before_reset", 1)]
            : [OnnxAttribute.Int("hidden_size", units)];
        string[] outputs = graph.Node(op, layer, [steps, w, r, b], 2, attributes);
        if (returnSequences)
        {
            // Y: [steps, directions = 1, batch, units].
            string sequence = graph.Node("Squeeze", layer, [outputs[0], graph.Int64s(layer + "/axis1", 1)]);
            return graph.Node("Transpose", layer, [sequence], OnnxAttribute.Ints("perm", 1, 0, 2));
        }
        // Y_h: [directions = 1, batch, units].
        return graph.Node("Squeeze", layer, [outputs[1], zero]);
    }

    /// <summary>A tensor's gate blocks (rows of <paramref name="units"/> each) in <paramref name="order"/>.</summary>
    private static string Reorder(OnnxGraph graph, string tensor, string layer, int units, int[] order)
    {
        if (order.Length == 1)
        {
            return tensor;
        }
        var sizes = new long[order.Length];
        Array.Fill(sizes, units);
        string[] blocks = graph.Node("Split", layer, [tensor, graph.Int64s(layer + "/gate_sizes", sizes)], order.Length, OnnxAttribute.Int("axis", 0));
        var reordered = new string[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            reordered[i] = blocks[order[i]];
        }
        return graph.Node("Concat", layer, reordered, OnnxAttribute.Int("axis", 0));
    }

    private static string Gelu(OnnxGraph graph, string x, string layer)
    {
        string scaled = graph.Node("Div", layer, [x, graph.Scalar(layer + "/sqrt2", MathF.Sqrt(2f))]);
        string cdf = graph.Node("Add", layer, [graph.Node("Erf", layer, [scaled]), graph.Scalar(layer + "/one", 1f)]);
        return graph.Node("Mul", layer, [graph.Node("Mul", layer, [x, cdf]), graph.Scalar(layer + "/half", 0.5f)]);
    }
}
