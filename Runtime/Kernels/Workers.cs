using System;
using System.Diagnostics;
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

    /// <summary>
    /// How long a helper (or a caller waiting for one) spins on a hand-off before it blocks: long enough to bridge the
    /// gaps between the products of one pass and between the two jobs of a data-parallel step, short enough that a
    /// process predicting every few milliseconds does not keep a second core busy.
    /// </summary>
    public const int SpinMicroseconds = 50;

    private static readonly long SpinTicks = TimeSpan.FromMicroseconds(SpinMicroseconds).Ticks;

    // Guarded by s_gate: whether hand-offs still pay.
    private static readonly HandOffPacer s_pacer = new();

    /// <summary>The helper threads available (cores - 1).</summary>
    public static int Helpers => Environment.ProcessorCount - 1;

    /// <summary>
    /// Runs the job in <paramref name="parts"/> parts (fewer when there are fewer cores) on the caller and the helpers,
    /// then waits. The parts are claimed, not assigned: the caller and each helper that has woken up take the next
    /// unclaimed part until none is left, so a helper the scheduler has not run yet (another process on its core) costs
    /// nothing: the caller runs its parts too, and only waits for parts a helper has actually begun. Returns false
    /// (running nothing) when the helpers are busy with another caller, or paused because hand-offs have kept not paying
    /// (<see cref="HandOffPacer"/>: the helpers' core is taken by another process); the caller then runs the whole job itself.
    /// </summary>
    public static bool TryRun(Job job, int parts)
    {
        // A job run from inside a job (a user's shard delegate calling a threaded kernel) finds the gate held by its
        // own thread: the monitor would let it in again and hand helpers that are still busy a second job.
        if (Monitor.IsEntered(s_gate) || !Monitor.TryEnter(s_gate))
        {
            return false;
        }
        long begin = Stopwatch.GetTimestamp();
        if (s_pacer.Paused(begin))
        {
            Monitor.Exit(s_gate);
            return false;
        }
        int started = 0, own = 0;
        long partsBegin = 0, ran = 0, cpu = -1;
        Helper[] helpers = [];
        Exception? error = null;
        try
        {
            helpers = s_helpers ??= Create();
            int used = Math.Min(parts - 1, helpers.Length);
            job.Begin(used + 1);
            // The caller's CPU time from the wake-ups (a woken helper that takes the caller's core preempts it right there)
            // to the end of its own parts, against the wall clock over the same span (HandOffPacer); read again only for
            // spans long enough to be scored, so that short products pay one system call, not two.
            partsBegin = Stopwatch.GetTimestamp();
            long cpuBegin = ThreadClock.Nanoseconds();
            for (; started < used; started++)
            {
                helpers[started].Start(job);
            }
            own = job.RunParts();
            ran = Stopwatch.GetTimestamp();
            cpu = ThreadClock.Available && HandOffPacer.Scored(ran - partsBegin) ? ThreadClock.Nanoseconds() - cpuBegin : -1;
        }
        catch (Exception e)
        {
            error = e;
        }
        finally
        {
            // Every started helper is revoked (if it has not begun) or waited for, whatever happened here, even after an
            // exception: the caller's buffers stay pinned until none of the helpers can touch the job any more.
            bool revoked = false;
            for (int i = 0; i < started; i++)
            {
                var helperError = helpers[i].Finish(ref revoked);
                error ??= helperError;
            }
            if (started > 0 && error is null)
            {
                s_pacer.Record(begin, partsBegin, ran, Stopwatch.GetTimestamp(), cpu, own, job.Parts, revoked);
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

    /// <summary>A unit of parallel work: part <c>p</c> of <see cref="Parts"/>, each part run once, on whichever thread claims it.</summary>
    internal abstract class Job
    {
        public int Parts;
        private int _claimed;

        public abstract void Execute(int part);

        /// <summary>Prepares a run in <paramref name="parts"/> parts, none claimed (before any helper sees the job).</summary>
        internal void Begin(int parts)
        {
            Parts = parts;
            Volatile.Write(ref _claimed, 0);
        }

        /// <summary>Claims and runs parts until none is left; returns how many this thread ran.</summary>
        internal int RunParts()
        {
            int part, ran = 0;
            while ((part = Interlocked.Increment(ref _claimed) - 1) < Parts)
            {
                Execute(part);
                ran++;
            }
            return ran;
        }
    }

    /// <summary>
    /// One helper thread. Between hand-offs it spins for at most <see cref="SpinMicroseconds"/> (the jobs of one pass
    /// follow each other within microseconds), then blocks on a monitor, so an idle process keeps no core busy; nothing
    /// is allocated after the thread starts.
    /// </summary>
    /// <remarks>
    /// States: Idle, Started (a job handed over), Running (the helper took it), Done. The caller and the helper race on
    /// Started once: the helper moves it to Running when it wakes; the caller, once it has run out of parts, moves it
    /// back to Idle if the helper has not woken yet, and then need not wait for it at all.
    /// </remarks>
    private sealed class Helper
    {
        private const int Idle = 0, Started = 1, Running = 2, Done = 3;
        private readonly object _lock = new();
        private Job? _job;
        private int _state;
        private Exception? _error;

        public Helper(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = "Backprop worker " + index };
            thread.Start();
        }

        public void Start(Job job)
        {
            _job = job;
            lock (_lock)
            {
                Volatile.Write(ref _state, Started);
                Monitor.Pulse(_lock);
            }
        }

        /// <summary>
        /// Revokes the hand-off if the helper has not taken it (setting <paramref name="revoked"/>), else waits
        /// (uninterruptibly) until it is done; returns the helper's exception, if any.
        /// </summary>
        public Exception? Finish(ref bool revoked)
        {
            if (Interlocked.CompareExchange(ref _state, Idle, Started) == Started)
            {
                revoked = true;
                _job = null;
                return null;
            }
            WaitFor(Done);
            Volatile.Write(ref _state, Idle);
            var error = _error;
            _error = null;
            return error;
        }

        private void WaitFor(int state)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _state) != state)
            {
                if (Stopwatch.GetElapsedTime(start).Ticks > SpinTicks)
                {
                    Block(state);
                    return;
                }
                Thread.SpinWait(8);
            }
        }

        private void Block(int state)
        {
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
                _job!.RunParts();
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
                if (Interlocked.CompareExchange(ref _state, Running, Started) != Started)
                {
                    // Revoked: the caller ran every part itself.
                    continue;
                }
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
