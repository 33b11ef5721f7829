using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// Loading stays bounded and typed: sizes a file declares never decide how much is allocated before the bytes
/// arrive, on seekable and non-seekable streams alike; every malformed header is an InvalidDataException;
/// saving names the caller's path and leaves nothing behind.
/// </summary>
public class BoundedLoadingTests
{
    /// <summary>A stream that hides its length, like a network or pipe stream.</summary>
    private sealed class NonSeekable(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 4096));
        public override int Read(Span<byte> buffer) => _inner.Read(buffer[..Math.Min(buffer.Length, 4096)]);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static byte[] File(string header, int dataBytes = 0)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    private static long Allocated(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>The fixed allowance: one read chunk plus small bookkeeping.</summary>
    private const long Allowance = BoundedRead.ChunkBytes + 256 * 1024;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_small_file_claiming_a_huge_tensor_allocates_no_more_than_its_bytes_plus_a_chunk(bool seekable)
    {
        // 500 million floats (2 GB) claimed by a file of well under 200 bytes.
        byte[] bytes = File("""{"w":{"dtype":"F32","shape":[500000000],"data_offsets":[0,2000000000]}}""", dataBytes: 8);
        Stream Open() => seekable ? new MemoryStream(bytes) : new NonSeekable(bytes);
        Open().Dispose();
        InvalidDataException? error = null;
        long allocated = Allocated(() => error = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(Open())));
        Assert.Contains("truncated", error!.Message);
        Assert.InRange(allocated, 0, Allowance);

        var net = new SoftmaxNet(maxBatch: 1, seed: 1);
        float[] before = net.Parameters.ToArray();
        allocated = Allocated(() => Assert.Throws<InvalidDataException>(() => net.Load(Open())));
        Assert.InRange(allocated, 0, Allowance);
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void A_header_length_near_the_limit_on_a_non_seekable_stream_allocates_only_what_arrives()
    {
        byte[] bytes = new byte[8 + 40];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 90_000_000);
        InvalidDataException? error = null;
        long allocated = Allocated(() => error = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(new NonSeekable(bytes))));
        Assert.Contains("truncated inside its 90000000-byte header (40 bytes follow", error!.Message);
        Assert.InRange(allocated, 0, Allowance);
    }

    [Fact]
    public void Data_larger_than_a_chunk_reads_exactly_from_a_non_seekable_stream()
    {
        int count = 3 * BoundedRead.ChunkBytes / sizeof(float) + 5;
        float[] values = Enumerable.Range(0, count).Select(i => i * 0.25f - 7f).ToArray();
        var stream = new MemoryStream();
        SafeTensorsFile.Write(stream, [new TensorInfo("x", [count])], values);
        var file = SafeTensorsFile.Read(new NonSeekable(stream.ToArray()));
        Assert.Equal(values, file.Get("x").ToArray());

        byte[] truncated = stream.ToArray()[..^4];
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(new NonSeekable(truncated))).Message);
    }

    [Fact]
    public void Load_from_a_non_seekable_stream_restores_the_model()
    {
        var source = new DeepNet(maxBatch: 1, seed: 3);
        var saved = new MemoryStream();
        source.Save(saved);
        var target = new DeepNet(maxBatch: 1, seed: 4);
        target.Load(new NonSeekable(saved.ToArray()));
        Assert.Equal(source.Parameters.ToArray(), target.Parameters.ToArray());
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}}""", "invalid data_offsets")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}""", "invalid data_offsets")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,null]}}""", "invalid data_offsets")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0.0,4.5]}}""", "invalid data_offsets")]
    [InlineData("""{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}""", "shape entry")]
    [InlineData("""{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "Tensor 'w' names 'dtype' twice")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}""", "names 'data_offsets' twice")]
    [InlineData("""{"__metadata__":{"a":"1","a":"2"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "__metadata__ names 'a' twice")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "names 'w' twice")]
    [InlineData("""{"w":[1,2]}""", "not a JSON object")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""", "not valid JSON")]
    [InlineData("""[]""", "not a JSON object")]
    public void Malformed_headers_are_InvalidDataException(string header, string expected)
    {
        byte[] bytes = File(header, dataBytes: 4);
        var error = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(new MemoryStream(bytes)));
        Assert.Contains(expected, error.Message);
        Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(new NonSeekable(bytes)));
    }

    /// <summary>
    /// Random JSON-typed values in every slot of a tensor entry (strings, nulls, floats, nesting, huge numbers,
    /// missing and repeated keys): each header is read or refused with InvalidDataException, nothing else.
    /// </summary>
    [Fact]
    public void Fuzzed_header_values_are_read_or_refused_with_InvalidDataException()
    {
        var random = new Random(20261204);
        string[] values = ["0", "4", "\"4\"", "null", "true", "-1", "4.0", "1e30", "[]", "{}", "[0,4]", "[[0],4]", "\"F32\"", "[1]", "[1,1]", "18446744073709551616"];
        string[] keys = ["dtype", "shape", "data_offsets", "x"];
        int refused = 0, read = 0;
        for (int trial = 0; trial < 5000; trial++)
        {
            var entry = new StringBuilder("{");
            int slots = random.Next(1, 6);
            for (int i = 0; i < slots; i++)
            {
                string key = keys[random.Next(keys.Length)];
                string value = key switch
                {
                    "dtype" when random.Next(2) == 0 => "\"F32\"",
                    "shape" when random.Next(2) == 0 => "[1]",
                    "data_offsets" when random.Next(2) == 0 => $"[{values[random.Next(values.Length)]},{values[random.Next(values.Length)]}]",
                    _ => values[random.Next(values.Length)],
                };
                entry.Append(i == 0 ? "" : ",").Append('"').Append(key).Append("\":").Append(value);
            }
            entry.Append('}');
            byte[] bytes = File("{\"w\":" + entry + "}", dataBytes: 4);
            try
            {
                var file = SafeTensorsFile.Read(random.Next(2) == 0 ? new MemoryStream(bytes) : new NonSeekable(bytes));
                Assert.Equal(4, file.Get("w").Length * sizeof(float));
                read++;
            }
            catch (InvalidDataException)
            {
                refused++;
            }
        }
        Assert.True(read > 0 && refused > 0, $"{read} read, {refused} refused");
    }

    [Fact]
    public void An_idx_file_claiming_two_billion_values_allocates_no_more_than_its_bytes_plus_a_chunk()
    {
        byte[] header = [0, 0, 0x08, 1, 0, 0, 0, 0, 1, 2, 3, 4];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 2_000_000_000);
        string directory = Path.Combine(Path.GetTempPath(), "bpg-idx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string plain = Path.Combine(directory, "labels-idx1-ubyte");
            System.IO.File.WriteAllBytes(plain, header);
            string gzip = plain + ".gz";
            using (var file = System.IO.File.Create(gzip))
            using (var zip = new GZipStream(file, CompressionLevel.Fastest))
            {
                zip.Write(header);
            }
            foreach (string path in new[] { plain, gzip })
            {
                InvalidDataException? error = null;
                long allocated = Allocated(() => error = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path)));
                Assert.Contains("declares 2000000000 values, but 4 follow", error!.Message);
                Assert.InRange(allocated, 0, Allowance);
            }
            long streamed = Allocated(() => Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(new NonSeekable(header), "stream")));
            Assert.InRange(streamed, 0, Allowance);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Save_errors_name_the_callers_path_and_leave_no_temporary_file()
    {
        string directory = Path.Combine(Path.GetTempPath(), "bpg-save-" + Guid.NewGuid().ToString("N"));
        var net = new SoftmaxNet(maxBatch: 1, seed: 1);
        string missing = Path.Combine(directory, "absent", "model.safetensors");
        var error = Assert.Throws<DirectoryNotFoundException>(() => net.Save(missing));
        Assert.Equal($"SoftmaxNet could not be saved to '{missing}': its directory does not exist.", error.Message);

        Directory.CreateDirectory(directory);
        try
        {
            // A name of the longest length a file system allows: the temporary name must not exceed it.
            string longest = Path.Combine(directory, new string('m', 255));
            net.Save(longest);
            var copy = new SoftmaxNet(maxBatch: 1, seed: 2);
            copy.Load(longest);
            Assert.Equal(net.Parameters.ToArray(), copy.Parameters.ToArray());

            string single = Path.Combine(directory, "m");
            net.Save(single);
            net.Save(single);
            Assert.Equal(new[] { longest, single }.Order().ToArray(), Directory.GetFileSystemEntries(directory).Order().ToArray());

            // Saving over a directory fails with the caller's path, and the directory is untouched.
            string occupied = Path.Combine(directory, "taken");
            Directory.CreateDirectory(occupied);
            var blocked = Assert.ThrowsAny<IOException>(() => net.Save(occupied));
            Assert.StartsWith($"SoftmaxNet could not be saved to '{occupied}'", blocked.Message);
            Assert.True(Directory.Exists(occupied));
            Assert.Equal(3, Directory.GetFileSystemEntries(directory).Length);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Temporary_names_are_never_longer_than_the_target_name()
    {
        string directory = Path.Combine(Path.GetTempPath(), "bpg-tmp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            foreach (string name in new[] { "a", "ab", "model.st", new string('x', 40) })
            {
                using (ModelFile.CreateTemporary(directory, name, out string temporary))
                {
                    string temporaryName = Path.GetFileName(temporary);
                    Assert.Equal(Math.Min(name.Length, 16), temporaryName.Length);
                    Assert.NotEqual(name, temporaryName);
                }
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void The_directory_is_synced_after_the_rename_on_unix()
    {
        Assert.Equal(!OperatingSystem.IsWindows(), DirectorySync.Flush(Path.GetTempPath()));
        Assert.Throws<IOException>(() => DirectorySync.Flush(Path.Combine(Path.GetTempPath(), "bpg-absent-" + Guid.NewGuid().ToString("N"))));
    }
}
