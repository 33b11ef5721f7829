using System;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// The calling thread's CPU time (<c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>, one system call), where the
/// platform has it: Linux and macOS, 64-bit. Against the wall clock it tells whether the thread ran all along or
/// waited for a core that another thread held (<see cref="Workers"/> uses it to notice oversubscribed cores).
/// </summary>
internal static unsafe partial class ThreadClock
{
    private static readonly int s_clock =
        !Environment.Is64BitProcess ? -1
        : OperatingSystem.IsLinux() ? 3 /* CLOCK_THREAD_CPUTIME_ID */
        : OperatingSystem.IsMacOS() ? 16 /* CLOCK_THREAD_CPUTIME_ID */
        : -1;

    private static bool s_available = s_clock >= 0;

    /// <summary>Whether <see cref="Nanoseconds"/> reads a clock (false where the platform has none; it then returns 0).</summary>
    public static bool Available => s_available;

    /// <summary>The calling thread's CPU time in nanoseconds since it started, or 0 where there is no such clock.</summary>
    public static long Nanoseconds()
    {
        if (!s_available)
        {
            return 0;
        }
        long* time = stackalloc long[2]; // struct timespec { time_t tv_sec; long tv_nsec; }, both 64-bit here
        try
        {
            if (GetTime(s_clock, time) == 0)
            {
                return time[0] * 1_000_000_000 + time[1];
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        s_available = false;
        return 0;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int GetTime(int clock, long* time);
}
