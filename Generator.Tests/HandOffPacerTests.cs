using System.Diagnostics;
using Backprop.Kernels;
using Xunit;

namespace Backprop.Tests;

/// <summary>
/// <see cref="HandOffPacer"/>: which hand-offs miss, and when misses pause the hand-offs (times in microseconds,
/// turned into <see cref="Stopwatch"/> timestamps).
/// </summary>
public class HandOffPacerTests
{
    private static long Ticks(double microseconds) => (long)(microseconds * Stopwatch.Frequency / 1e6);

    /// <summary>A pacer and a clock: each call starts where the last one ended.</summary>
    private sealed class Run
    {
        public readonly HandOffPacer Pacer = new();
        public long Now = Ticks(1_000_000);

        /// <summary>A two-part hand-off: the caller ran <paramref name="ownParts"/> parts in <paramref name="own"/> µs
        /// (with <paramref name="cpu"/> µs of CPU, -1 for no thread clock), then waited <paramref name="waited"/> µs.</summary>
        public bool Call(double own, double waited, double cpu, int ownParts = 1, bool revoked = false, int parts = 2)
        {
            long begin = Now, ran = begin + Ticks(own), end = ran + Ticks(waited);
            Now = end;
            return Pacer.Record(begin, begin, ran, end, cpu < 0 ? -1 : (long)(cpu * 1000), ownParts, parts, revoked);
        }

        public bool Good() => Call(own: 300, waited: 10, cpu: 295);

        public bool Preempted() => Call(own: 900, waited: 0, cpu: 300);

        /// <summary>Whether the hand-offs are paused <paramref name="after"/> µs from now.</summary>
        public bool PausedIn(double after) => Pacer.Paused(Now + Ticks(after));

        /// <summary>Moves the clock past any pause.</summary>
        public void Wait(double microseconds) => Now += Ticks(microseconds);
    }

    [Fact]
    public void Hand_offs_that_pay_never_pause()
    {
        var run = new Run();
        for (int i = 0; i < 1000; i++)
        {
            Assert.False(run.Good());
            Assert.False(run.PausedIn(0));
        }
    }

    [Theory]
    [InlineData(300, 10, 295, 1, false, false)] // the helper finished its part while the caller ran its own
    [InlineData(300, 250, 295, 1, false, false)] // 550 µs against 600 alone: still paid
    [InlineData(300, 320, 295, 1, false, true)] // 620 µs against 600 alone: a miss
    [InlineData(300, 2000, 295, 1, false, true)] // a helper paused by the scheduler in the middle of its part
    [InlineData(600, 0, 590, 2, true, true)] // the helper never took its job (revoked): the caller ran both parts
    [InlineData(600, 5, 590, 2, false, true)] // the helper took its job too late to run a part
    [InlineData(900, 0, 300, 1, false, true)] // the caller had the CPU a third of the time: the helper took its core
    [InlineData(1300, 0, 1, 0, false, true)] // the helper ran both parts while the caller waited for its own core
    [InlineData(900, 0, -1, 1, false, false)] // no thread clock on this platform: preemption is not judged
    [InlineData(40, 0, 10, 2, true, false)] // shorter than the shortest scored call
    public void A_hand_off_misses_when_it_did_not_pay(double own, double waited, double cpu, int ownParts, bool revoked, bool miss)
    {
        var run = new Run();
        Assert.Equal(miss, run.Call(own, waited, cpu, ownParts, revoked));
        Assert.False(run.PausedIn(0)); // one miss alone never pauses
    }

    [Fact]
    public void A_helper_revoked_while_others_ran_parts_is_judged_by_the_time_the_call_took()
    {
        // Four parts on four threads: one helper never woke (revoked), the caller ran two parts, another helper one.
        var run = new Run();
        Assert.False(run.Call(own: 600, waited: 10, cpu: 590, ownParts: 2, revoked: true, parts: 4)); // 610 µs against 1,200 alone
        Assert.True(run.Call(own: 600, waited: 700, cpu: 590, ownParts: 2, revoked: true, parts: 4)); // 1,300 µs: it did not pay
    }

    [Fact]
    public void Misses_far_apart_in_time_do_not_make_a_run()
    {
        var run = new Run();
        Assert.True(run.Preempted());
        run.Wait(HandOffPacer.MaxPauseMilliseconds * 1000.0 + 1000);
        Assert.True(run.Preempted());
        Assert.False(run.PausedIn(0));
    }

    [Fact]
    public void Isolated_misses_do_not_pause()
    {
        var run = new Run();
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(i % 5 == 0, i % 5 == 0 ? run.Preempted() : run.Good());
            Assert.False(run.PausedIn(0));
        }
    }

    [Fact]
    public void Misses_in_a_row_pause_for_a_time_that_doubles_up_to_the_longest_and_a_hand_off_that_pays_resets_it()
    {
        var run = new Run();
        Assert.True(run.Preempted());
        Assert.False(run.PausedIn(0));
        double pause = HandOffPacer.MinPauseMilliseconds * 1000.0;
        for (int i = 0; i < 8; i++)
        {
            Assert.True(run.Preempted());
            Assert.True(run.PausedIn(0));
            Assert.True(run.PausedIn(pause - 50));
            Assert.False(run.PausedIn(pause + 50));
            run.Wait(pause + 50);
            pause = System.Math.Min(pause * 2, HandOffPacer.MaxPauseMilliseconds * 1000.0);
        }
        Assert.Equal(HandOffPacer.MaxPauseMilliseconds * 1000.0, pause);

        // A hand-off that pays ends the run of misses: the next miss alone does not pause, and the next pause is the shortest again.
        Assert.False(run.Good());
        Assert.True(run.Preempted());
        Assert.False(run.PausedIn(0));
        Assert.True(run.Preempted());
        Assert.True(run.PausedIn(HandOffPacer.MinPauseMilliseconds * 1000.0 - 50));
        Assert.False(run.PausedIn(HandOffPacer.MinPauseMilliseconds * 1000.0 + 50));
    }

    [Fact]
    public void Short_calls_neither_miss_nor_break_a_run_of_misses()
    {
        var run = new Run();
        Assert.True(run.Preempted());
        Assert.False(run.Call(own: 30, waited: 0, cpu: 30, ownParts: 2, revoked: true));
        Assert.False(run.Call(own: 30, waited: 5, cpu: 30));
        Assert.False(run.PausedIn(0));
        Assert.True(run.Preempted());
        Assert.True(run.PausedIn(0));
    }

    [Fact]
    public void The_thread_clock_reads_this_thread_s_CPU_time_where_the_platform_has_one()
    {
        if (!ThreadClock.Available)
        {
            Assert.Equal(0, ThreadClock.Nanoseconds());
            return;
        }
        // Busy until the thread has had 2 ms of CPU (however long a loaded machine takes to give it): the clock moves,
        // and never faster than the wall clock (plus a scheduler tick of slack).
        long start = ThreadClock.Nanoseconds(), spent = 0;
        var watch = Stopwatch.StartNew();
        double sink = 0;
        while ((spent = ThreadClock.Nanoseconds() - start) < 2_000_000 && watch.Elapsed.TotalSeconds < 30)
        {
            sink += System.Math.Sqrt(sink + 1);
        }
        double wall = watch.Elapsed.TotalMilliseconds * 1e6;
        Assert.True(sink > 0);
        Assert.InRange(spent, 2_000_000, (long)wall + 5_000_000);
        // Asleep, a thread spends (almost) no CPU time.
        start = ThreadClock.Nanoseconds();
        System.Threading.Thread.Sleep(30);
        Assert.InRange(ThreadClock.Nanoseconds() - start, 0, 10_000_000);
    }
}

/// <summary><see cref="Workers.TryRun"/> on its error path: every helper that began the job is waited for.</summary>
public class WorkersErrorPathTests
{
    /// <summary>A two-part job whose part on the calling thread throws once a helper has begun the other part.</summary>
    private sealed class ThrowingJob : Workers.Job
    {
        private readonly int _caller = System.Environment.CurrentManagedThreadId;
        public volatile bool HelperBegan, HelperDone;

        public override void Execute(int part)
        {
            if (System.Environment.CurrentManagedThreadId == _caller)
            {
                var watch = Stopwatch.StartNew();
                while (!HelperBegan && watch.ElapsedMilliseconds < 2000)
                {
                    System.Threading.Thread.Yield();
                }
                throw new System.InvalidOperationException("the caller's part failed");
            }
            HelperBegan = true;
            System.Threading.Thread.Sleep(200);
            HelperDone = true;
        }
    }

    [SkippableFact]
    public void A_job_whose_caller_part_throws_returns_only_after_the_helper_that_began_is_done()
    {
        Skip.If(Workers.Helpers < 1, "needs a second core for a helper thread");
        var watch = Stopwatch.StartNew();
        bool tested = false;
        while (!tested && watch.Elapsed.TotalSeconds < 20)
        {
            var job = new ThrowingJob();
            try
            {
                if (!Workers.TryRun(job, 2))
                {
                    // The helpers are busy with another test's job, or paused: try again.
                    System.Threading.Thread.Sleep(10);
                    continue;
                }
                Assert.Fail("the caller's part throws: TryRun cannot return normally");
            }
            catch (System.InvalidOperationException e) when (e.Message == "the caller's part failed")
            {
                // Before, a caller whose own part threw returned without waiting for the helper, which kept using the
                // job (and, in a real kernel, the caller's unpinned buffers).
                Assert.Equal(job.HelperBegan, job.HelperDone);
                tested = job.HelperBegan;
            }
        }
        Skip.IfNot(tested, "no helper took its part within 20 s (the machine is too busy)");
    }
}
