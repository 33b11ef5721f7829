using System;
using System.Buffers.Binary;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace Backprop.Interop;

/// <summary>
/// The protocol buffers wire format, as much of it as an ONNX file needs: varints, 32-bit floats, and length-delimited
/// strings, bytes and nested messages. Written straight to a stream in one pass; a message's length prefix comes from
/// <see cref="ProtoMessage.Size"/>, computed (once) before the message is written, so large tensors are never copied
/// into an intermediate buffer.
/// </summary>
internal sealed class ProtoWriter(Stream stream)
{
    private const int VarintWire = 0, Fixed32Wire = 5, LengthWire = 2;

    private readonly byte[] _buffer = new byte[1 << 16];
    private int _used;

    public void Varint(int field, long value)
    {
        Tag(field, VarintWire);
        RawVarint((ulong)value);
    }

    public void Float(int field, float value)
    {
        Tag(field, Fixed32Wire);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        Raw(bytes);
    }

    public void String(int field, string value)
    {
        Tag(field, LengthWire);
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        RawVarint((ulong)bytes.Length);
        Raw(bytes);
    }

    /// <summary>Little-endian floats as one length-delimited field (ONNX's <c>raw_data</c>).</summary>
    public void Floats(int field, ReadOnlySpan<float> values)
    {
        Tag(field, LengthWire);
        RawVarint((ulong)values.Length * sizeof(float));
        if (BitConverter.IsLittleEndian)
        {
            Raw(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> bytes = stackalloc byte[4];
        foreach (float value in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            Raw(bytes);
        }
    }

    /// <summary>Little-endian 64-bit integers as one length-delimited field (ONNX's <c>raw_data</c> of an INT64 tensor).</summary>
    public void Int64s(int field, ReadOnlySpan<long> values)
    {
        Tag(field, LengthWire);
        RawVarint((ulong)values.Length * sizeof(long));
        Span<byte> bytes = stackalloc byte[8];
        foreach (long value in values)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            Raw(bytes);
        }
    }

    public void Message(int field, ProtoMessage message)
    {
        Tag(field, LengthWire);
        RawVarint((ulong)message.Size);
        message.WriteTo(this);
    }

    public void Flush()
    {
        stream.Write(_buffer, 0, _used);
        _used = 0;
    }

    public static long VarintSize(int field, long value) => TagSize(field) + RawVarintSize((ulong)value);

    public static long FloatSize(int field) => TagSize(field) + 4;

    public static long StringSize(int field, string value) => LengthDelimitedSize(field, Encoding.UTF8.GetByteCount(value));

    public static long MessageSize(int field, ProtoMessage message) => LengthDelimitedSize(field, message.Size);

    public static long LengthDelimitedSize(int field, long length) => TagSize(field) + RawVarintSize((ulong)length) + length;

    private static long TagSize(int field) => RawVarintSize((ulong)field << 3);

    private static long RawVarintSize(ulong value)
    {
        long size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }
        return size;
    }

    private void Tag(int field, int wire) => RawVarint(((ulong)field << 3) | (uint)wire);

    private void RawVarint(ulong value)
    {
        Span<byte> bytes = stackalloc byte[10];
        int count = 0;
        while (value >= 0x80)
        {
            bytes[count++] = (byte)(value | 0x80);
            value >>= 7;
        }
        bytes[count++] = (byte)value;
        Raw(bytes[..count]);
    }

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            if (_used == _buffer.Length)
            {
                Flush();
            }
            int count = Math.Min(bytes.Length, _buffer.Length - _used);
            bytes[..count].CopyTo(_buffer.AsSpan(_used));
            _used += count;
            bytes = bytes[count..];
        }
    }
}

/// <summary>A message that knows its encoded size (computed once) and writes its fields.</summary>
internal abstract class ProtoMessage
{
    private long _size = -1;

    /// <summary>The encoded size in bytes, without the field's tag and length prefix.</summary>
    public long Size => _size >= 0 ? _size : _size = ComputeSize();

    protected abstract long ComputeSize();

    public abstract void WriteTo(ProtoWriter writer);
}
