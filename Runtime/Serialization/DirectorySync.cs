using System;
using System.Runtime.InteropServices;

namespace Backprop;

/// <summary>
/// Flushes a directory's entries to disk on Unix (<c>open</c>, <c>fsync</c>, <c>close</c>), so that a rename
/// into it survives a power cut. .NET has no managed call for this: it refuses to open a directory as a file.
/// Windows needs nothing (NTFS journals the rename).
/// </summary>
internal static partial class DirectorySync
{
    /// <summary>Syncs the directory; returns whether it was synced (false on Windows or where libc is absent).</summary>
    /// <exception cref="System.IO.IOException">The directory could not be opened or synced.</exception>
    internal static bool Flush(string directory)
    {
        if (OperatingSystem.IsWindows() || OperatingSystem.IsBrowser() || OperatingSystem.IsWasi())
        {
            return false;
        }
        int descriptor;
        try
        {
            descriptor = Open(directory, 0 /* O_RDONLY */);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        if (descriptor < 0)
        {
            throw new System.IO.IOException($"The directory '{directory}' could not be opened to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }
        try
        {
            if (Sync(descriptor) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                // EINVAL: the file system does not support syncing a directory (some network mounts): nothing to do.
                if (errno != 22)
                {
                    throw new System.IO.IOException($"The directory '{directory}' could not be synced (errno {errno}).");
                }
                return false;
            }
            return true;
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Sync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
