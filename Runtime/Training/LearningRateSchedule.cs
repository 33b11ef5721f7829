using System;

namespace Backprop;

/// <summary>
/// A learning-rate schedule for <see cref="Fitting"/>: the rate of each epoch from the optimizer's initial rate, set
/// before the epoch runs (PyTorch's schedulers stepped once per epoch). Build one with the factory methods.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The rate of <paramref name="epoch"/> (1-based) of <paramref name="epochs"/>, from the initial rate.</summary>
    public abstract float Rate(int epoch, int epochs, float initial);

    /// <summary>Told each epoch's validation loss after the epoch (reduce-on-plateau reads it; the others ignore it).</summary>
    public virtual void Observe(int epoch, float validationLoss)
    {
    }

    /// <summary>
    /// The state a <c>Fit</c> checkpoint keeps: what <see cref="Observe"/> has learned, as floats; empty (the default) for
    /// a schedule whose rate depends on the epoch alone. A schedule of your own that keeps state overrides this and
    /// <see cref="RestoreState"/>, so that a resumed run continues exactly as the uninterrupted one.
    /// </summary>
    /// <returns>A new array each call (the checkpoint keeps it).</returns>
    public virtual float[] SaveState() => [];

    /// <summary>
    /// Whether <paramref name="state"/> (what <see cref="SaveState"/> returned when the checkpoint was written) fits this
    /// schedule; with <paramref name="apply"/>, also puts it back. <c>Fit</c> first asks with <paramref name="apply"/> false,
    /// before anything changes, and refuses the checkpoint on false; then applies it, before the rest of the checkpoint.
    /// Once the check has said true, applying the same state must succeed (if it returns false or throws, <c>Fit</c> puts the
    /// schedule's previous state back the same way and refuses the checkpoint).
    /// </summary>
    /// <param name="state">What <see cref="SaveState"/> returned (empty for a checkpoint without schedule state).</param>
    /// <param name="apply">False: only check; true: also put it back.</param>
    /// <returns>Whether the state fits this schedule.</returns>
    public virtual bool RestoreState(ReadOnlySpan<float> state, bool apply) => state.Length == 0;

    /// <summary><c>initial × factor^⌊(epoch − 1) / every⌋</c>, as <c>StepLR(step_size=every, gamma=factor)</c>.</summary>
    public static LearningRateSchedule Step(int every, float factor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        return new StepSchedule(every, Factor(factor));
    }

    /// <summary><c>initial × factor^(epoch − 1)</c>, as <c>ExponentialLR(gamma=factor)</c>.</summary>
    public static LearningRateSchedule Exponential(float factor) => new StepSchedule(1, Factor(factor));

    /// <summary>
    /// A linear warmup from <c>initial / warmup</c> to <c>initial</c> over the first <paramref name="warmup"/> epochs,
    /// then cosine decay toward <paramref name="minimum"/> over the remaining epochs, as
    /// <c>CosineAnnealingLR(T_max = epochs − warmup, eta_min = minimum)</c> stepped after each epoch.
    /// </summary>
    public static LearningRateSchedule Cosine(int warmup = 0, float minimum = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        if (!(minimum >= 0) || float.IsInfinity(minimum))
        {
            throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "The minimum rate must be finite and >= 0.");
        }
        return new CosineSchedule(warmup, minimum);
    }

    /// <summary>
    /// Multiplies the rate by <paramref name="factor"/> after <paramref name="patience"/> epochs without a validation
    /// loss lower than the best by more than <paramref name="threshold"/> (relative), down to <paramref name="minimum"/>,
    /// as <c>ReduceLROnPlateau(mode="min", threshold_mode="rel")</c>.
    /// </summary>
    public static LearningRateSchedule ReduceOnPlateau(float factor = 0.1f, int patience = 10, float minimum = 0f, float threshold = 1e-4f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        if (!(threshold >= 0) || !(minimum >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), "The threshold and the minimum rate must be >= 0.");
        }
        return new PlateauSchedule(Factor(factor), patience, minimum, threshold);
    }

    private static float Factor(float factor)
        => factor > 0 && factor <= 1 ? factor : throw new ArgumentOutOfRangeException(nameof(factor), factor, "The factor must be in (0, 1].");

    private sealed class StepSchedule(int every, float factor) : LearningRateSchedule
    {
        public override float Rate(int epoch, int epochs, float initial) => initial * MathF.Pow(factor, (epoch - 1) / every);
    }

    private sealed class CosineSchedule(int warmup, float minimum) : LearningRateSchedule
    {
        public override float Rate(int epoch, int epochs, float initial)
        {
            if (epoch <= warmup)
            {
                return initial * epoch / warmup;
            }
            int span = Math.Max(1, epochs - warmup);
            double progress = Math.Min(1.0, (epoch - warmup - 1) / (double)span);
            return (float)(minimum + (initial - minimum) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
        }
    }

    private sealed class PlateauSchedule(float factor, int patience, float minimum, float threshold) : LearningRateSchedule
    {
        private float _best = float.PositiveInfinity;
        private int _bad;
        private float _scale = 1f;

        public override float Rate(int epoch, int epochs, float initial) => Math.Max(minimum, initial * _scale);

        public override float[] SaveState() => [_best, _bad, _scale];

        public override bool RestoreState(ReadOnlySpan<float> state, bool apply)
        {
            if (state.Length != 3 || float.IsNaN(state[0]) || !(state[1] >= 0 && state[1] <= int.MaxValue && state[1] == MathF.Floor(state[1])) || !(state[2] >= 0 && state[2] <= 1))
            {
                return false;
            }
            if (apply)
            {
                (_best, _bad, _scale) = (state[0], (int)state[1], state[2]);
            }
            return true;
        }

        public override void Observe(int epoch, float validationLoss)
        {
            if (validationLoss < _best * (1 - threshold))
            {
                _best = validationLoss;
                _bad = 0;
                return;
            }
            if (++_bad > patience)
            {
                _scale *= factor;
                _bad = 0;
            }
        }
    }
}
