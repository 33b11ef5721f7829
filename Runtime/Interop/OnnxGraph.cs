using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.IO;
using Backprop.Interop;

namespace Backprop;

/// <summary>An attribute of an ONNX node: a float, an integer, a string, or a list of integers or floats.</summary>
public readonly struct OnnxAttribute
{
    internal OnnxAttribute(OnnxAttributeMessage message) => Message = message;

    internal OnnxAttributeMessage Message { get; }

    /// <summary>An integer attribute (<c>axis</c>, <c>hidden_size</c>).</summary>
    public static OnnxAttribute Int(string name, long value) => new(new OnnxAttributeMessage(name, OnnxAttributeMessage.IntType, 0, value, null, null, null));

    /// <summary>A list of integers (<c>kernel_shape</c>, <c>pads</c>, <c>perm</c>).</summary>
    public static OnnxAttribute Ints(string name, params long[] values) => new(new OnnxAttributeMessage(name, OnnxAttributeMessage.IntsType, 0, 0, null, (long[])values.Clone(), null));

    /// <summary>A float attribute (<c>epsilon</c>, <c>alpha</c>).</summary>
    public static OnnxAttribute Float(string name, float value) => new(new OnnxAttributeMessage(name, OnnxAttributeMessage.FloatType, value, 0, null, null, null));

    /// <summary>A list of floats.</summary>
    public static OnnxAttribute Floats(string name, params float[] values) => new(new OnnxAttributeMessage(name, OnnxAttributeMessage.FloatsType, 0, 0, null, null, (float[])values.Clone()));

    /// <summary>A string attribute.</summary>
    public static OnnxAttribute String(string name, string value) => new(new OnnxAttributeMessage(name, OnnxAttributeMessage.StringType, 0, 0, value, null, null));
}

/// <summary>
/// An ONNX inference graph of one network, built layer by layer by the generated <c>ExportOnnx</c> (each layer kind
/// adds its nodes through <see cref="OnnxLayers"/>) and written as an ONNX model: IR version 8, opset 17, the network's
/// tensors as initializers under their PyTorch names, the input <c>input</c> and the output <c>output</c> with a
/// symbolic batch dimension <c>batch</c>, and the architecture in the model's metadata (<c>backprop.architecture</c>).
/// </summary>
/// <remarks>
/// The file is written by a small protocol-buffers writer of this library (the dozen ONNX messages an inference graph
/// needs), not by a protobuf package: the runtime stays free of dependencies and of reflection, so the export works
/// under NativeAOT and trimming. Called by generated code; use a network's <c>ExportOnnx</c>.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class OnnxGraph
{
    /// <summary>The operator set the graph uses (ONNX 1.12, ONNX Runtime 1.12 and later).</summary>
    public const int Opset = 17;

    /// <summary>The IR version of opset 17.</summary>
    public const int IrVersion = 8;

    /// <summary>The name of the graph's symbolic batch dimension.</summary>
    public const string BatchDimension = "batch";

    private readonly INetwork _network;
    private readonly string _networkName;
    private readonly string _architecture;
    private readonly List<OnnxNodeMessage> _nodes = [];
    private readonly List<OnnxTensorMessage> _initializers = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _parameters = new(StringComparer.Ordinal);
    private string? _output;

    /// <summary>Starts the graph of <paramref name="network"/>: its input, and nothing else yet.</summary>
    /// <param name="network">The network whose tensors become the initializers.</param>
    /// <param name="networkName">The network's class name (the graph's name).</param>
    /// <param name="architecture">The architecture description (JSON), written into the model's metadata.</param>
    public OnnxGraph(INetwork network, string networkName, string architecture)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(networkName);
        ArgumentNullException.ThrowIfNull(architecture);
        _network = network;
        _networkName = networkName;
        _architecture = architecture;
        _names.Add(Input);
        _names.Add(OutputName);
    }

    /// <summary>The graph input's name: a float tensor [batch, ...InputShape].</summary>
    public string Input => "input";

    /// <summary>The graph output's name: a float tensor [batch, ...OutputShape], what <c>Predict</c> returns.</summary>
    public const string OutputName = "output";

    /// <summary>The shape of one sample of the network's input.</summary>
    public IReadOnlyList<int> InputShape => _network.InputShape;

    /// <summary>
    /// The network's tensor <paramref name="tensorName"/> (PyTorch name, layout and shape) as an initializer of that
    /// name, its values copied out of the network now; a second call returns the same initializer.
    /// </summary>
    public string Parameter(string tensorName)
    {
        if (_parameters.Contains(tensorName))
        {
            return tensorName;
        }
        foreach (var tensor in _network.Tensors)
        {
            if (tensor.Name == tensorName)
            {
                var values = new float[tensor.Length];
                _network.CopyTensor(tensor.Name, values);
                var dims = new long[tensor.Shape.Count];
                for (int i = 0; i < dims.Length; i++)
                {
                    dims[i] = tensor.Shape[i];
                }
                Reserve(tensor.Name);
                _parameters.Add(tensor.Name);
                _initializers.Add(new OnnxTensorMessage(tensor.Name, dims, values, null));
                return tensor.Name;
            }
        }
        throw new ArgumentException($"{_networkName} has no tensor '{tensorName}'.", nameof(tensorName));
    }

    /// <summary>A constant 1-D INT64 initializer (axes, shapes, split sizes), named after <paramref name="name"/>.</summary>
    public string Int64s(string name, params long[] values)
    {
        string unique = Unique(name);
        _initializers.Add(new OnnxTensorMessage(unique, [values.Length], null, (long[])values.Clone()));
        return unique;
    }

    /// <summary>A constant float scalar initializer, named after <paramref name="name"/>.</summary>
    public string Scalar(string name, float value)
    {
        string unique = Unique(name);
        _initializers.Add(new OnnxTensorMessage(unique, [], [value], null));
        return unique;
    }

    /// <summary>Adds a node of <paramref name="opType"/> with one output, named after <paramref name="layer"/> and the operator; returns the output.</summary>
    public string Node(string opType, string layer, string[] inputs, params OnnxAttribute[] attributes)
        => Node(opType, layer, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs (<c>layer/Op</c>, <c>layer/Op:1</c>, ...); returns their names.</summary>
    public string[] Node(string opType, string layer, string[] inputs, int outputs, params OnnxAttribute[] attributes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        string name = Unique(layer + "/" + opType);
        var names = new string[outputs];
        names[0] = name;
        for (int i = 1; i < outputs; i++)
        {
            names[i] = Unique(name + ":" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        _nodes.Add(new OnnxNodeMessage(name, opType, (string[])inputs.Clone(), names, (OnnxAttribute[])attributes.Clone()));
        return names;
    }

    /// <summary>Marks <paramref name="tensor"/> as the graph's output (an <c>Identity</c> node names it <c>output</c>).</summary>
    public void Output(string tensor)
    {
        if (_output is not null)
        {
            throw new InvalidOperationException("The graph's output is already set.");
        }
        _nodes.Add(new OnnxNodeMessage(OutputName + "/Identity", "Identity", [tensor], [OutputName], []));
        _output = tensor;
    }

    /// <summary>Writes the model to <paramref name="stream"/> (which stays open).</summary>
    /// <exception cref="InvalidOperationException">No output was set.</exception>
    /// <exception cref="NotSupportedException">The model exceeds the 2 GB a protocol-buffers message can hold.</exception>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (_output is null)
        {
            throw new InvalidOperationException("The graph has no output: call Output first.");
        }
        var input = new long[_network.InputShape.Count + 1];
        var output = new long[_network.OutputShape.Count + 1];
        input[0] = output[0] = -1;
        for (int i = 0; i < _network.InputShape.Count; i++)
        {
            input[i + 1] = _network.InputShape[i];
        }
        for (int i = 0; i < _network.OutputShape.Count; i++)
        {
            output[i + 1] = _network.OutputShape[i];
        }
        var graph = new OnnxGraphMessage(_networkName, $"{_networkName}, exported by Backprop.Gen for inference.", _nodes, _initializers,
            [new OnnxValueInfoMessage(Input, BatchDimension, input)], [new OnnxValueInfoMessage(OutputName, BatchDimension, output)]);
        string version = typeof(OnnxGraph).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var model = new OnnxModelMessage(IrVersion, "Backprop.Gen", version, $"{_networkName}: the inference graph of a Backprop.Gen network.", graph,
            [("", Opset)], [("backprop.network", _networkName), ("backprop.architecture", _architecture)]);
        if (model.Size > int.MaxValue)
        {
            throw new NotSupportedException(
                $"{_networkName} is too large for one ONNX file ({model.Size} bytes; protocol buffers hold at most 2 GB, and external tensor data is not supported).");
        }
        var writer = new ProtoWriter(stream);
        model.WriteTo(writer);
        writer.Flush();
    }

    /// <summary>Writes the model to <paramref name="path"/> through a temporary file renamed over it (never a half-written file).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ModelFile.WriteAtomically(path, _networkName, WriteTo);
    }

    private void Reserve(string name)
    {
        if (!_names.Add(name))
        {
            throw new InvalidOperationException($"The ONNX graph of {_networkName} already has a value named '{name}'.");
        }
    }

    private string Unique(string name)
    {
        string candidate = name;
        for (int i = 1; !_names.Add(candidate); i++)
        {
            candidate = name + "_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return candidate;
    }
}
