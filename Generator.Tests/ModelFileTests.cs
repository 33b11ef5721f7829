using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text;
using Xunit;

namespace Backprop.Tests;

/// <summary>Saving and loading: round trips, the file format, and every kind of damaged or foreign file.</summary>
public class ModelFileTests
{
    private static byte[] Saved(INetwork network)
    {
        var stream = new MemoryStream();
        network.Save(stream);
        return stream.ToArray();
    }

    [Fact]
    public void Save_then_Load_restores_every_parameter_and_prediction()
    {
        var trained = new DeepNet(maxBatch: 2, seed: 1);
        var fresh = new DeepNet(maxBatch: 2, seed: 2);
        Assert.NotEqual(trained.Parameters.ToArray(), fresh.Parameters.ToArray());

        string path = Path.Combine(Path.GetTempPath(), $"deepnet-{Guid.NewGuid():N}.safetensors");
        try
        {
            trained.Save(path);
            fresh.Load(path);
            Assert.Equal(trained.Parameters.ToArray(), fresh.Parameters.ToArray());
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + ".*.tmp"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_file_is_standard_safetensors_with_PyTorch_names_layouts_and_metadata()
    {
        var net = new SoftmaxNet(maxBatch: 1, seed: 9);
        byte[] bytes = Saved(net);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + headerLength) % 8);
        Assert.Equal((long)(8 + headerLength) + SoftmaxNet.ParameterCount * 4, bytes.Length);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Contains("\"dense1.weight\":{\"dtype\":\"F32\",\"shape\":[13,7],\"data_offsets\":[0,364]}", header);

        var file = SafeTensorsFile.Read(new MemoryStream(bytes));
        Assert.Equal("backprop.gen", file.Metadata["format"]);
        Assert.Equal("1", file.Metadata["format_version"]);
        Assert.Equal("SoftmaxNet", file.Metadata["network"]);
        Assert.StartsWith("xxh64:", file.Metadata["checksum"]);
        Assert.Contains("\"activation\":\"Softmax\"", file.Metadata["architecture"]);

        // PyTorch layout: weight[j, i] is the weight from input i to unit j.
        var weight = new float[13 * 7];
        net.CopyTensor("dense1.weight", weight);
        Assert.Equal(weight, file.Get("dense1.weight").ToArray());
    }

    [Fact]
    public void Tensors_are_in_PyTorch_layout_whatever_the_layout_inside()
    {
        // Set dense1.weight[j, i] = 10 j + i (PyTorch's [units, inputs]) and read it back the same way.
        var net = new SoftmaxNet(maxBatch: 1);
        var weight = new float[13 * 7];
        for (int j = 0; j < 13; j++)
        {
            for (int i = 0; i < 7; i++)
            {
                weight[j * 7 + i] = 10 * j + i;
            }
        }
        net.SetTensor("dense1.weight", weight);
        var back = new float[weight.Length];
        net.CopyTensor("dense1.weight", back);
        Assert.Equal(weight, back);

        // With zero biases and a one-hot input e_i, dense1's output j is Relu(weight[j, i]): a check of the
        // layout through the forward pass itself. Unit 0 of dense2 copies unit j of dense1 (all other weights 0).
        net.SetTensor("dense1.bias", new float[13]);
        var second = new float[5 * 13];
        second[0 * 13 + 4] = 1; // dense2.weight[0, 4] = 1
        net.SetTensor("dense2.weight", second);
        net.SetTensor("dense2.bias", new float[5]);
        var input = new float[7];
        input[2] = 1;
        var probabilities = new float[5];
        net.Predict(input, probabilities);
        // Softmax of (42, 0, 0, 0, 0): unit 4 of dense1 is weight[4, 2] = 42.
        Assert.True(probabilities[0] > 0.999f, string.Join(", ", probabilities));
    }

    [Fact]
    public void A_file_of_another_architecture_is_refused_and_nothing_changes()
    {
        var net = new SoftmaxNet(maxBatch: 1, seed: 1);
        float[] before = net.Parameters.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => net.Load(new MemoryStream(Saved(new DeepNet(maxBatch: 1)))));
        Assert.Contains("another network ('DeepNet')", e.Message);
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void Truncated_files_are_refused_and_nothing_changes()
    {
        var net = new SoftmaxNet(maxBatch: 1, seed: 1);
        float[] before = net.Parameters.ToArray();
        byte[] bytes = Saved(new SoftmaxNet(maxBatch: 1, seed: 2));
        foreach (int length in new[] { 0, 4, 8, 20, bytes.Length / 2, bytes.Length - 1 })
        {
            var e = Assert.Throws<InvalidDataException>(() => net.Load(new MemoryStream(bytes, 0, length)));
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void A_flipped_data_bit_fails_the_checksum()
    {
        var net = new SoftmaxNet(maxBatch: 1, seed: 1);
        float[] before = net.Parameters.ToArray();
        byte[] bytes = Saved(new SoftmaxNet(maxBatch: 1, seed: 2));
        bytes[^3] ^= 0x10;
        var e = Assert.Throws<InvalidDataException>(() => net.Load(new MemoryStream(bytes)));
        Assert.Contains("corrupt", e.Message);
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void Extra_bytes_a_wrong_dtype_and_a_huge_header_are_refused()
    {
        var net = new SoftmaxNet(maxBatch: 1, seed: 1);
        byte[] bytes = Saved(new SoftmaxNet(maxBatch: 1, seed: 2));
        Assert.Contains("after", Assert.Throws<InvalidDataException>(() => net.Load(new MemoryStream([.. bytes, 0, 0, 0, 0]))).Message);

        byte[] f16 = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\"F32\"", "\"F16\""));
        Assert.Contains("F16", Assert.Throws<InvalidDataException>(() => net.Load(new MemoryStream(f16))).Message);

        byte[] huge = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue / 2);
        Assert.Contains("header length", Assert.Throws<InvalidDataException>(() => net.Load(new MemoryStream(huge))).Message);
    }

    /// <summary>
    /// Random corruptions of a saved file (bit flips, byte overwrites, truncations, insertions, header edits):
    /// every load either succeeds with exactly the saved parameters (a harmless edit such as header whitespace)
    /// or throws InvalidDataException and leaves the model as it was. Never another exception, never a partial load.
    /// </summary>
    [Fact]
    public void Fuzzed_corruptions_never_crash_and_never_load_partially()
    {
        var source = new DeepNet(maxBatch: 1, seed: 5);
        byte[] original = Saved(source);
        float[] saved = source.Parameters.ToArray();
        var target = new DeepNet(maxBatch: 1, seed: 6);
        float[] before = target.Parameters.ToArray();
        var random = new Random(1234);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        int refused = 0, loaded = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] bytes = Corrupt(original, headerEnd, random);
            try
            {
                target.Load(new MemoryStream(bytes));
                loaded++;
                Assert.Equal(saved, target.Parameters.ToArray());
                before.CopyTo(target.Parameters);
            }
            catch (InvalidDataException)
            {
                refused++;
                Assert.Equal(before, target.Parameters.ToArray());
            }
        }
        Assert.True(refused > 2500, $"only {refused} of 3000 corruptions were refused ({loaded} loaded)");
    }

    private static byte[] Corrupt(byte[] original, int headerEnd, Random random)
    {
        byte[] bytes = (byte[])original.Clone();
        switch (random.Next(6))
        {
            case 0: // one bit anywhere
                int bit = random.Next(bytes.Length * 8);
                bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                return bytes;
            case 1: // one bit in the header
                int headerBit = random.Next(headerEnd * 8);
                bytes[headerBit / 8] ^= (byte)(1 << (headerBit % 8));
                return bytes;
            case 2: // a run of random bytes
                int start = random.Next(bytes.Length), count = random.Next(1, 16);
                for (int i = start; i < Math.Min(bytes.Length, start + count); i++)
                {
                    bytes[i] = (byte)random.Next(256);
                }
                return bytes;
            case 3: // truncation
                return bytes[..random.Next(bytes.Length)];
            case 4: // an inserted byte
                int at = random.Next(bytes.Length);
                return [.. bytes[..at], (byte)random.Next(256), .. bytes[at..]];
            default: // a header digit changed (shapes, offsets)
                var digits = Enumerable.Range(8, headerEnd - 8).Where(i => bytes[i] is >= (byte)'0' and <= (byte)'9').ToArray();
                bytes[digits[random.Next(digits.Length)]] = (byte)('0' + random.Next(10));
                return bytes;
        }
    }
}
