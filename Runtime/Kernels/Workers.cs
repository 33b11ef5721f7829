using System;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Backprop.Kernels;

/// <summary>
/// Helper threads for large products and data-parallel passes, created once (lazily, one per extra core) and kept
/// for the life of the process. A product is split into disjoint blocks of rows (or columns) of C: every element is
/// computed by the same instructions in the same order whatever the split, so its results are bit-identical for
/// any thread count. A data-parallel pass (<see cref="DataParallel"/>) is split into shards fixed before it starts.
/// A call allocates nothing; when the helpers are busy with another caller, the job runs on the calling thread alone.
/// </summary>
internal static unsafe class Workers
{
    /// <summary>Products smaller than this many multiply-adds stay on one thread (waking a helper costs microseconds).</summary>
    public const long MinimumWork = 1L << 20;

    private static readonly object s_gate = new();
    private static Helper[]? s_helpers;

    /// <summary>The helper threads available (cores - 1).</summary>
    public static int Helpers => Environment.ProcessorCount - 1;

    /// <summary>
    /// Runs <paramref name="parts"/> - 1 of the job's parts on helpers and part 0 on the caller, then waits.
    /// Returns false (running nothing) when the helpers are busy; the caller then runs the whole job itself.
    /// </summary>
    public static bool TryRun(Job job, int parts)
    {
        // A job run from inside a job (a user's shard delegate calling a threaded kernel) finds the gate held by its
        // own thread: the monitor would let it in again and hand helpers that are still busy a second job.
        if (Monitor.IsEntered(s_gate) || !Monitor.TryEnter(s_gate))
        {
            return false;
        }
        var helpers = s_helpers ??= Create();
        int started = 0;
        Exception? error = null;
        try
        {
            int used = Math.Min(parts - 1, helpers.Length);
            job.Parts = used + 1;
            for (; started < used; started++)
            {
                helpers[started].Start(job, started + 1);
            }
            job.Execute(0);
        }
        catch (Exception e)
        {
            error = e;
        }
        finally
        {
            // Every started helper is waited for, whatever happened here: the caller's buffers stay pinned, and the
            // helpers idle, until none of them can touch the job any more.
            for (int i = 0; i < started; i++)
            {
                error ??= helpers[i].Wait();
            }
            Monitor.Exit(s_gate);
        }
        if (error is not null)
        {
            ExceptionDispatchInfo.Capture(error).Throw();
        }
        return true;
    }

    private static Helper[] Create()
    {
        var helpers = new Helper[Math.Max(0, Helpers)];
        for (int i = 0; i < helpers.Length; i++)
        {
            helpers[i] = new Helper(i);
        }
        return helpers;
    }

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> of the range [0, <paramref name="total"/>), split in
    /// multiples of <paramref name="unit"/> (so each part keeps whole micro-kernel blocks); may be empty.
    /// </summary>
    public static (int Start, int Count) Split(int total, int part, int parts, int unit)
    {
        int units = (total + unit - 1) / unit;
        int first = (int)((long)units * part / parts) * unit;
        int last = Math.Min(total, (int)((long)units * (part + 1) / parts) * unit);
        return (first, Math.Max(0, last - first));
    }

    /// <summary>A unit of parallel work: part <c>p</c> of <see cref="Parts"/>.</summary>
    internal abstract class Job
    {
        public int Parts;

        public abstract void Execute(int part);
    }

    /// <summary>
    /// One helper thread. Hand-offs spin briefly first (consecutive products of one pass follow each other within
    /// microseconds), then block on a monitor; nothing is allocated after the thread starts.
    /// </summary>
    private sealed class Helper
    {
        private const int Idle = 0, Started = 1, Done = 2, SpinLimit = 20_000;
        private readonly object _lock = new();
        private Job? _job;
        private int _part;
        private int _state;
        private Exception? _error;

        public Helper(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = "Backprop worker " + index };
            thread.Start();
        }

        public void Start(Job job, int part)
        {
            _job = job;
            _part = part;
            lock (_lock)
            {
                Volatile.Write(ref _state, Started);
                Monitor.Pulse(_lock);
            }
        }

        /// <summary>Waits (uninterruptibly) until the helper is done; returns its exception, if any.</summary>
        public Exception? Wait()
        {
            WaitFor(Done);
            Volatile.Write(ref _state, Idle);
            var error = _error;
            _error = null;
            return error;
        }

        private void WaitFor(int state)
        {
            for (int spin = 0; spin < SpinLimit; spin++)
            {
                if (Volatile.Read(ref _state) == state)
                {
                    return;
                }
                Thread.SpinWait(8);
            }
            bool interrupted = false;
            lock (_lock)
            {
                while (Volatile.Read(ref _state) != state)
                {
                    try
                    {
                        Monitor.Wait(_lock);
                    }
                    catch (ThreadInterruptedException)
                    {
                        // Not abandoned half-way: remember the interrupt and deliver it once the hand-off is done.
                        interrupted = true;
                    }
                }
            }
            if (interrupted)
            {
                Thread.CurrentThread.Interrupt();
            }
        }

        /// <summary>
        /// Runs the job handed over, then forgets it: jobs hold their network (through its delegates), and an idle
        /// helper must not keep that alive. In a frame of its own, so that no stack slot of the never-ending loop
        /// (which starts as unoptimized code, where every temporary stays reported to the GC) holds the job either.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void RunJob()
        {
            try
            {
                _job!.Execute(_part);
            }
            catch (Exception e)
            {
                _error = e;
            }
            _job = null;
        }

        private void Loop()
        {
            while (true)
            {
                WaitFor(Started);
                RunJob();
                lock (_lock)
                {
                    Volatile.Write(ref _state, Done);
                    Monitor.PulseAll(_lock);
                }
            }
        }
    }
}
