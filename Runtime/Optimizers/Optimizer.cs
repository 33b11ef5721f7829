using System;

namespace Backprop;

/// <summary>
/// Updates a parameter block from its gradients. State (momentum, moments) is allocated once, on the first
/// <see cref="Step"/>, for that block's length; an optimizer serves one parameter block.
/// </summary>
public abstract class Optimizer
{
    private float _learningRate;
    private int _length = -1;

    /// <summary>Creates an optimizer with the given learning rate.</summary>
    protected Optimizer(float learningRate) => LearningRate = learningRate;

    /// <summary>The learning rate; may be changed between steps (schedules).</summary>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0f) || float.IsInfinity(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a finite number >= 0.");
            }
            _learningRate = value;
        }
    }

    /// <summary>The number of updates done so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>Applies one update to <paramref name="parameters"/> from <paramref name="gradients"/>.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (parameters.Length != gradients.Length)
        {
            throw new ArgumentException($"{parameters.Length} parameters but {gradients.Length} gradients.", nameof(gradients));
        }
        if (_length < 0)
        {
            AllocateState(parameters.Length);
            _length = parameters.Length;
        }
        else if (_length != parameters.Length)
        {
            throw new ArgumentException(
                $"This {GetType().Name} holds state for {_length} parameters but was given {parameters.Length}; use one optimizer per network.",
                nameof(parameters));
        }
        StepCount++;
        Update(parameters, gradients, StepCount);
    }

    /// <summary>Allocates the per-parameter state, once.</summary>
    protected abstract void AllocateState(int length);

    /// <summary>The update rule; <paramref name="step"/> counts from 1.</summary>
    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step);

    /// <summary>Checks a hyperparameter: finite and within [min, max].</summary>
    protected static float Check(float value, float min, float max, string name)
    {
        if (!(value >= min && value <= max))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{min}, {max}].");
        }
        return value;
    }
}
