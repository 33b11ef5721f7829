using System.Collections.Generic;

namespace Backprop.Interop;

// The messages of onnx.proto (ONNX 1.12, IR version 8) that a feed-forward inference graph uses, with their field
// numbers. Only what OnnxGraph writes: no training info, no functions, no external data, no sparse tensors.

/// <summary><c>ModelProto</c>.</summary>
internal sealed class OnnxModelMessage(long irVersion, string producer, string producerVersion, string docString, OnnxGraphMessage graph,
    IReadOnlyList<(string Domain, long Version)> opsets, IReadOnlyList<(string Key, string Value)> metadata) : ProtoMessage
{
    protected override long ComputeSize()
    {
        long size = ProtoWriter.VarintSize(1, irVersion) + ProtoWriter.StringSize(2, producer) + ProtoWriter.StringSize(3, producerVersion)
            + ProtoWriter.StringSize(6, docString) + ProtoWriter.MessageSize(7, graph);
        foreach (var (domain, version) in opsets)
        {
            size += ProtoWriter.LengthDelimitedSize(8, OpsetSize(domain, version));
        }
        foreach (var (key, value) in metadata)
        {
            size += ProtoWriter.LengthDelimitedSize(14, ProtoWriter.StringSize(1, key) + ProtoWriter.StringSize(2, value));
        }
        return size;
    }

    public override void WriteTo(ProtoWriter writer)
    {
        writer.Varint(1, irVersion);
        writer.String(2, producer);
        writer.String(3, producerVersion);
        writer.String(6, docString);
        writer.Message(7, graph);
        foreach (var (domain, version) in opsets)
        {
            writer.Message(8, new OpsetMessage(domain, version));
        }
        foreach (var (key, value) in metadata)
        {
            writer.Message(14, new EntryMessage(key, value));
        }
    }

    private static long OpsetSize(string domain, long version) => ProtoWriter.StringSize(1, domain) + ProtoWriter.VarintSize(2, version);

    /// <summary><c>OperatorSetIdProto</c>.</summary>
    private sealed class OpsetMessage(string domain, long version) : ProtoMessage
    {
        protected override long ComputeSize() => OpsetSize(domain, version);

        public override void WriteTo(ProtoWriter writer)
        {
            writer.String(1, domain);
            writer.Varint(2, version);
        }
    }

    /// <summary><c>StringStringEntryProto</c>.</summary>
    private sealed class EntryMessage(string key, string value) : ProtoMessage
    {
        protected override long ComputeSize() => ProtoWriter.StringSize(1, key) + ProtoWriter.StringSize(2, value);

        public override void WriteTo(ProtoWriter writer)
        {
            writer.String(1, key);
            writer.String(2, value);
        }
    }
}

/// <summary><c>GraphProto</c>.</summary>
internal sealed class OnnxGraphMessage(string name, string docString, IReadOnlyList<OnnxNodeMessage> nodes, IReadOnlyList<OnnxTensorMessage> initializers,
    IReadOnlyList<OnnxValueInfoMessage> inputs, IReadOnlyList<OnnxValueInfoMessage> outputs) : ProtoMessage
{
    protected override long ComputeSize()
    {
        long size = ProtoWriter.StringSize(2, name) + ProtoWriter.StringSize(10, docString);
        foreach (var node in nodes)
        {
            size += ProtoWriter.MessageSize(1, node);
        }
        foreach (var tensor in initializers)
        {
            size += ProtoWriter.MessageSize(5, tensor);
        }
        foreach (var input in inputs)
        {
            size += ProtoWriter.MessageSize(11, input);
        }
        foreach (var output in outputs)
        {
            size += ProtoWriter.MessageSize(12, output);
        }
        return size;
    }

    public override void WriteTo(ProtoWriter writer)
    {
        foreach (var node in nodes)
        {
            writer.Message(1, node);
        }
        writer.String(2, name);
        foreach (var tensor in initializers)
        {
            writer.Message(5, tensor);
        }
        writer.String(10, docString);
        foreach (var input in inputs)
        {
            writer.Message(11, input);
        }
        foreach (var output in outputs)
        {
            writer.Message(12, output);
        }
    }
}

/// <summary><c>NodeProto</c> (default domain).</summary>
internal sealed class OnnxNodeMessage(string name, string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyList<OnnxAttribute> attributes) : ProtoMessage
{
    protected override long ComputeSize()
    {
        long size = ProtoWriter.StringSize(3, name) + ProtoWriter.StringSize(4, opType);
        foreach (string input in inputs)
        {
            size += ProtoWriter.StringSize(1, input);
        }
        foreach (string output in outputs)
        {
            size += ProtoWriter.StringSize(2, output);
        }
        foreach (var attribute in attributes)
        {
            size += ProtoWriter.MessageSize(5, attribute.Message);
        }
        return size;
    }

    public override void WriteTo(ProtoWriter writer)
    {
        foreach (string input in inputs)
        {
            writer.String(1, input);
        }
        foreach (string output in outputs)
        {
            writer.String(2, output);
        }
        writer.String(3, name);
        writer.String(4, opType);
        foreach (var attribute in attributes)
        {
            writer.Message(5, attribute.Message);
        }
    }
}

/// <summary><c>AttributeProto</c>: one of a float, an integer, a string, or a list of integers or floats.</summary>
internal sealed class OnnxAttributeMessage(string name, int type, float f, long i, string? s, long[]? ints, float[]? floats) : ProtoMessage
{
    public const int FloatType = 1, IntType = 2, StringType = 3, FloatsType = 6, IntsType = 7;

    protected override long ComputeSize()
    {
        long size = ProtoWriter.StringSize(1, name) + ProtoWriter.VarintSize(20, type);
        switch (type)
        {
            case FloatType:
                size += ProtoWriter.FloatSize(2);
                break;
            case IntType:
                size += ProtoWriter.VarintSize(3, i);
                break;
            case StringType:
                size += ProtoWriter.StringSize(4, s!);
                break;
            case FloatsType:
                size += floats!.Length * ProtoWriter.FloatSize(7);
                break;
            default:
                foreach (long value in ints!)
                {
                    size += ProtoWriter.VarintSize(8, value);
                }
                break;
        }
        return size;
    }

    public override void WriteTo(ProtoWriter writer)
    {
        writer.String(1, name);
        switch (type)
        {
            case FloatType:
                writer.Float(2, f);
                break;
            case IntType:
                writer.Varint(3, i);
                break;
            case StringType:
                writer.String(4, s!);
                break;
            case FloatsType:
                // onnx.proto is proto2: repeated scalars unpacked, one tagged value each.
                foreach (float value in floats!)
                {
                    writer.Float(7, value);
                }
                break;
            default:
                foreach (long value in ints!)
                {
                    writer.Varint(8, value);
                }
                break;
        }
        writer.Varint(20, type);
    }
}

/// <summary><c>TensorProto</c> with its values in <c>raw_data</c>: FLOAT (1) or INT64 (7).</summary>
internal sealed class OnnxTensorMessage(string name, long[] dims, float[]? floats, long[]? int64s) : ProtoMessage
{
    public const int FloatType = 1, Int64Type = 7;

    public string Name => name;

    protected override long ComputeSize()
    {
        long size = ProtoWriter.VarintSize(2, floats is null ? Int64Type : FloatType) + ProtoWriter.StringSize(8, name)
            + ProtoWriter.LengthDelimitedSize(9, floats is null ? int64s!.Length * 8L : floats.Length * 4L);
        foreach (long dim in dims)
        {
            size += ProtoWriter.VarintSize(1, dim);
        }
        return size;
    }

    public override void WriteTo(ProtoWriter writer)
    {
        foreach (long dim in dims)
        {
            writer.Varint(1, dim);
        }
        writer.Varint(2, floats is null ? Int64Type : FloatType);
        writer.String(8, name);
        if (floats is null)
        {
            writer.Int64s(9, int64s);
        }
        else
        {
            writer.Floats(9, floats);
        }
    }
}

/// <summary>
/// <c>ValueInfoProto</c> of a float tensor: <c>TypeProto.tensor_type</c> with a shape whose dimensions are a value, or a
/// named parameter (the batch) where the value is negative.
/// </summary>
internal sealed class OnnxValueInfoMessage(string name, string batchName, long[] dims) : ProtoMessage
{
    protected override long ComputeSize()
        => ProtoWriter.StringSize(1, name) + ProtoWriter.LengthDelimitedSize(2, ProtoWriter.LengthDelimitedSize(1, TensorTypeSize()));

    public override void WriteTo(ProtoWriter writer)
    {
        writer.String(1, name);
        writer.Message(2, new Wrapper(ProtoWriter.LengthDelimitedSize(1, TensorTypeSize()), w => w.Message(1, new Wrapper(TensorTypeSize(), WriteTensorType))));
    }

    private long DimensionSize(long dim) => dim < 0 ? ProtoWriter.StringSize(2, batchName) : ProtoWriter.VarintSize(1, dim);

    private long ShapeSize()
    {
        long size = 0;
        foreach (long dim in dims)
        {
            size += ProtoWriter.LengthDelimitedSize(1, DimensionSize(dim));
        }
        return size;
    }

    private long TensorTypeSize() => ProtoWriter.VarintSize(1, OnnxTensorMessage.FloatType) + ProtoWriter.LengthDelimitedSize(2, ShapeSize());

    private void WriteTensorType(ProtoWriter writer)
    {
        writer.Varint(1, OnnxTensorMessage.FloatType);
        writer.Message(2, new Wrapper(ShapeSize(), w =>
        {
            foreach (long dim in dims)
            {
                w.Message(1, new Wrapper(DimensionSize(dim), d =>
                {
                    if (dim < 0)
                    {
                        d.String(2, batchName);
                    }
                    else
                    {
                        d.Varint(1, dim);
                    }
                }));
            }
        }));
    }

    /// <summary>A small nested message given by its size and a writer.</summary>
    private sealed class Wrapper(long size, System.Action<ProtoWriter> write) : ProtoMessage
    {
        protected override long ComputeSize() => size;

        public override void WriteTo(ProtoWriter writer) => write(writer);
    }
}
