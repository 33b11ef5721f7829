using System;
using System.Diagnostics;

namespace Backprop.Kernels;

/// <summary>
/// Decides whether handing jobs to the helper threads still pays (<see cref="Workers.TryRun"/>), from how the last
/// hand-offs went, and pauses the hand-offs when they keep not paying: almost always because another process holds
/// the helpers' core. Not thread-safe: <see cref="Workers"/> calls it under its gate. Times are
/// <see cref="Stopwatch"/> timestamps.
/// </summary>
/// <remarks>
/// <para>A hand-off <em>misses</em> when</para>
/// <list type="bullet">
/// <item>no helper ran a part: the caller ran them all, and a helper's wake-up cost something and bought nothing (a
/// helper revoked while others ran parts, which happens with many cores, is judged by the next test instead);</item>
/// <item>the call took longer than the caller alone would have taken at its own pace: a helper took no part, or the
/// scheduler paused one in the middle of its part and the caller waited for it;</item>
/// <item>or the caller ran less than half of the time from waking the helpers to the end of its own parts (its CPU time
/// from <see cref="ThreadClock"/> against the wall clock): the woken helper took the caller's core, two of this
/// process's threads sharing one core while another process held the other.</item>
/// </list>
/// <para>On an idle machine misses are rare (3% of the hand-offs of a training loop, measured in docs/performance.md)
/// and mostly come alone; with another process keeping a core busy, they come in long runs. So a miss that follows a
/// miss (within <see cref="MaxPauseMilliseconds"/> of it, or of the end of the pause it caused) pauses the hand-offs: jobs run on the caller alone, which costs the sum of the shards (a few percent over one
/// thread) instead of waiting for a core. The pause starts at <see cref="MinPauseMilliseconds"/> and doubles with
/// each miss that follows it, up to <see cref="MaxPauseMilliseconds"/>, so that a busy core costs one probing
/// hand-off per pause; a hand-off that pays ends the run. Calls shorter than <see cref="ShortestScoredMicroseconds"/>
/// are not scored: a cold helper's wake-up alone can make them miss, and they have little to lose. How a job is split
/// never changes its results: data-parallel shards are fixed by the thread count, not by the threads that run them.</para>
/// </remarks>
internal sealed class HandOffPacer
{
    /// <summary>The shortest call that is scored.</summary>
    public const int ShortestScoredMicroseconds = 100;

    /// <summary>The first pause in handing jobs to helpers.</summary>
    public const int MinPauseMilliseconds = 2;

    /// <summary>The longest pause in handing jobs to helpers.</summary>
    public const int MaxPauseMilliseconds = 64;

    private static readonly long ShortestScored = Stopwatch.Frequency * ShortestScoredMicroseconds / 1_000_000;
    private static readonly long MinPause = Stopwatch.Frequency * MinPauseMilliseconds / 1000;
    private static readonly long MaxPause = Stopwatch.Frequency * MaxPauseMilliseconds / 1000;
    private static readonly double NanosecondsPerTimestamp = 1e9 / Stopwatch.Frequency;

    private bool _missed;
    private long _pause = MinPause;
    private long _resumeAt = long.MinValue;
    private long _lastEnd = long.MinValue;

    /// <summary>Whether a span of <paramref name="timestamps"/> is long enough to be scored.</summary>
    public static bool Scored(long timestamps) => timestamps >= ShortestScored;

    /// <summary>Whether hand-offs are paused at <paramref name="now"/>.</summary>
    public bool Paused(long now) => now < _resumeAt;

    /// <summary>
    /// Scores a hand-off and, after a second miss in a row, pauses the next ones; returns whether it missed (false for
    /// a call too short to be scored).
    /// </summary>
    /// <param name="begin">When the caller began handing the job over.</param>
    /// <param name="partsBegin">When the caller began waking the helpers (the span of <paramref name="cpuNanoseconds"/> starts here).</param>
    /// <param name="ran">When the caller had run out of parts.</param>
    /// <param name="end">When every helper had finished or been revoked.</param>
    /// <param name="cpuNanoseconds">The caller's CPU time between <paramref name="partsBegin"/> and <paramref name="ran"/>,
    /// or a negative value where the platform has no thread clock.</param>
    /// <param name="ownParts">The parts the caller ran.</param>
    /// <param name="parts">The job's parts.</param>
    /// <param name="revoked">Whether a helper never took its job.</param>
    public bool Record(long begin, long partsBegin, long ran, long end, long cpuNanoseconds, int ownParts, int parts, bool revoked)
    {
        if (!Scored(end - begin))
        {
            return false;
        }
        if (begin - Math.Max(_lastEnd, _resumeAt) > MaxPause)
        {
            // The last scored hand-off (or the end of the last pause) is too long ago to make a run with this one.
            _missed = false;
            _pause = MinPause;
        }
        _lastEnd = end;
        long own = ran - begin, waited = end - ran;
        bool alone = revoked && ownParts == parts;
        bool preempted = cpuNanoseconds >= 0 && cpuNanoseconds < (ran - partsBegin) * NanosecondsPerTimestamp / 2;
        // At the caller's pace (own / ownParts per part) the whole job alone would have taken own × parts / ownParts.
        bool late = ownParts > 0 && (own + waited) * ownParts > own * parts;
        bool miss = alone || preempted || late;
        if (!miss)
        {
            _pause = MinPause;
        }
        else if (_missed)
        {
            _resumeAt = end + _pause;
            _pause = Math.Min(_pause * 2, MaxPause);
        }
        _missed = miss;
        return miss;
    }
}
