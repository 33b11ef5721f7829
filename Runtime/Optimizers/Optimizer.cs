using System;
using System.Threading;
using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// Updates a parameter block from its gradients. State (momentum, moments) is allocated once, on the first
/// <see cref="Step"/>, for that block's length; an optimizer serves one parameter block.
/// </summary>
public abstract class Optimizer
{
    private float _learningRate;
    private int _length = -1;
    private INetwork? _network;
    // The frozen tensors of the network being stepped (set by Attach), and the copy of their values that a
    // non-element-wise rule's step puts back.
    private FrozenTensors? _frozen;
    private float[]? _saved;

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

    private float? _maxGradientNorm;
    private float[]? _clipped;

    /// <summary>
    /// Gradient clipping by global norm, as <c>torch.nn.utils.clip_grad_norm_(parameters, max_norm)</c> before each step:
    /// when the L2 norm of all gradients together exceeds this value, every gradient is scaled by
    /// <c>max / (norm + 1e-6)</c> for the update (the network's <c>Gradients</c> keep the unclipped values). Null (the
    /// default) turns clipping off. The norm before clipping is reported in <see cref="LastGradientNorm"/>. A step that
    /// clips needs every gradient before any update, so it does not use the fused update that generated networks
    /// otherwise apply inside the backward pass.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a positive finite number.</exception>
    public float? MaxGradientNorm
    {
        get => _maxGradientNorm;
        set
        {
            if (value is { } max && !(max > 0f && float.IsFinite(max)))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The largest gradient norm must be a positive finite number (or null for no clipping).");
            }
            _maxGradientNorm = value;
        }
    }

    /// <summary>
    /// The global L2 norm of the gradients of the last step, before clipping; computed while <see cref="MaxGradientNorm"/>
    /// is set (NaN before such a step). The value <c>clip_grad_norm_</c> returns.
    /// </summary>
    public float LastGradientNorm { get; private set; } = float.NaN;

    /// <summary>Applies one update to <paramref name="parameters"/> from <paramref name="gradients"/>, clipped first if <see cref="MaxGradientNorm"/> is set.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (parameters.Length != gradients.Length)
        {
            throw new ArgumentException($"{parameters.Length} parameters but {gradients.Length} gradients.", nameof(gradients));
        }
        Prepare(parameters.Length);
        if (_maxGradientNorm is { } max)
        {
            float norm = (float)Math.Sqrt(Kernels.Vectors.SumOfSquares(gradients));
            LastGradientNorm = norm;
            float coefficient = max / (norm + 1e-6f);
            if (coefficient < 1f)
            {
                _clipped ??= new float[parameters.Length];
                Kernels.Vectors.Scale(gradients, coefficient, _clipped);
                gradients = _clipped;
            }
        }
        StepCount++;
        if (_frozen is { AnyParameters: true } frozen && parameters.Length == frozen.BlockLength)
        {
            // Frozen tensors keep their values to the bit: an element-wise rule skips them, any other rule runs on the
            // whole block and they are put back afterwards.
            if (ElementWise)
            {
                UpdateTrainable(frozen, parameters, gradients, 0, StepCount);
                return;
            }
            _saved ??= new float[frozen.FrozenLength];
            if (_saved.Length != frozen.FrozenLength)
            {
                _saved = new float[frozen.FrozenLength];
            }
            frozen.Preserve(parameters, _saved, restore: false);
            Update(parameters, gradients, StepCount);
            frozen.Preserve(parameters, _saved, restore: true);
            return;
        }
        Update(parameters, gradients, StepCount);
    }

    /// <summary>The rule on the parts of [<paramref name="offset"/>, <paramref name="offset"/> + length) that are not frozen.</summary>
    private void UpdateTrainable(FrozenTensors frozen, Span<float> parameters, ReadOnlySpan<float> gradients, int offset, long step)
    {
        int position = offset;
        while (frozen.NextTrainable(ref position, offset + parameters.Length, out int start, out int length))
        {
            UpdatePart(parameters.Slice(start - offset, length), gradients.Slice(start - offset, length), start, step);
        }
    }

    /// <summary>
    /// Binds this optimizer to the network whose parameters it steps; generated <c>TrainStep</c> methods call it before
    /// every step, after checking their arguments. An optimizer's state (momentum or moments, and
    /// <see cref="StepCount"/>) belongs to one network: once bound, a step on another network throws and changes
    /// nothing, until <see cref="Detach"/>. Safe to call from several threads.
    /// </summary>
    /// <param name="network">The network about to be stepped.</param>
    /// <exception cref="ArgumentException">This optimizer is bound to another network (reported against the
    /// <c>optimizer</c> argument of the <c>TrainStep</c> that passed it).</exception>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public void Attach(INetwork network) => Attach(network, frozen: null);

    /// <summary>
    /// <see cref="Attach(INetwork)"/>, with the network's frozen tensors (<c>Freeze</c>): the steps that follow leave
    /// them unchanged (no update, no weight decay, no momentum), whichever path applies the step.
    /// </summary>
    /// <param name="network">The network about to be stepped.</param>
    /// <param name="frozen">Its frozen tensors, or null if it has none to keep.</param>
    /// <exception cref="ArgumentException">This optimizer is bound to another network.</exception>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public void Attach(INetwork network, FrozenTensors? frozen)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (_length >= 0 && network.ParameterCount != _length)
        {
            // Refused before binding: after Detach, a network of another size must not take the optimizer over.
            throw StateLength($"{network.GetType().Name} has {network.ParameterCount}", "optimizer");
        }
        var bound = Volatile.Read(ref _network) ?? Interlocked.CompareExchange(ref _network, network, null) ?? network;
        if (!ReferenceEquals(bound, network))
        {
            throw new ArgumentException(
                $"This {GetType().Name} already steps another network ({bound.GetType().Name}, {bound.ParameterCount} parameters), and its state belongs to that one; use one optimizer per network, or call Detach() to hand it over.",
                "optimizer");
        }
        _frozen = frozen;
    }

    /// <summary>
    /// Releases the optimizer from the network it steps: the next <c>TrainStep</c> binds it, state included, to
    /// whichever network it is given. Use it to go on training a copy of the network (for example one restored with
    /// <c>Load</c> into a new instance) with the same momentum or moments; the copy must have the same parameter count.
    /// </summary>
    public void Detach()
    {
        _frozen = null;
        Volatile.Write(ref _network, null);
    }

    /// <summary>The network this optimizer is bound to (<see cref="Attach(INetwork)"/>), or null.</summary>
    internal INetwork? BoundNetwork => Volatile.Read(ref _network);

    /// <summary>
    /// Begins a step that is applied part by part, each part as soon as its gradient is complete (generated
    /// <c>TrainStep</c> methods update each layer's parameters inside the backward pass, while its gradient is still
    /// in cache). Returns false, doing nothing, for an optimizer whose rule is not element-wise or that clips by
    /// <see cref="MaxGradientNorm"/> (the caller then
    /// computes every gradient and calls <see cref="Step"/>); otherwise counts the step and returns true, and the
    /// whole block must then be updated, exactly once, through the runtime's kernels.
    /// </summary>
    /// <param name="length">The length of the parameter block.</param>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public bool BeginPartialStep(int length)
    {
        if (!ElementWise || _maxGradientNorm is not null)
        {
            // Clipping by global norm needs every gradient before any update: the caller computes them all and calls Step.
            return false;
        }
        Prepare(length);
        StepCount++;
        return true;
    }

    /// <summary>
    /// Updates the part of the block that starts at <paramref name="offset"/>, in the step begun by
    /// <see cref="BeginPartialStep"/>. Parts may be updated concurrently from different threads when disjoint.
    /// </summary>
    internal void UpdatePart(Span<float> parameters, ReadOnlySpan<float> gradients, int offset)
    {
        if (parameters.Length != gradients.Length)
        {
            throw new ArgumentException($"A part of {parameters.Length} parameters came with {gradients.Length} gradients.");
        }
        CheckPart(offset, parameters.Length);
        if (_frozen is { AnyParameters: true } frozen)
        {
            UpdateTrainable(frozen, parameters, gradients, offset, StepCount);
            return;
        }
        UpdatePart(parameters, gradients, offset, StepCount);
    }

    /// <summary>Throws unless [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) lies in the block this step began for.</summary>
    internal void CheckPart(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset > _length - length)
        {
            throw new ArgumentException($"A part of {length} parameters at {offset} does not fit a block of {_length}.");
        }
    }

    /// <summary>
    /// Whether the update rule is element-wise (each parameter's update reads only its own gradient and state), so
    /// that <see cref="UpdatePart(Span{float}, ReadOnlySpan{float}, int, long)"/> can apply it to any part of the block.
    /// </summary>
    private protected virtual bool ElementWise => false;

    /// <summary>The update rule on a part of the block whose state starts at <paramref name="offset"/>.</summary>
    private protected virtual void UpdatePart(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, long step)
        => throw new NotSupportedException();

    private void Prepare(int length)
    {
        if (_length < 0)
        {
            AllocateState(length);
            _length = length;
        }
        else if (_length != length)
        {
            throw StateLength($"was given {length}", "parameters");
        }
    }

    /// <summary>The refusal of a block (or network) of another length than the state was allocated for.</summary>
    private ArgumentException StateLength(string other, string parameter)
        => new($"This {GetType().Name} holds state for {_length} parameters but {other}; use one optimizer per network.", parameter);

    /// <summary>
    /// The names of the per-parameter state buffers a checkpoint keeps, as PyTorch names them (<c>exp_avg</c>,
    /// <c>exp_avg_sq</c>, <c>momentum_buffer</c>); empty for a rule without state. A subclass with state of its own
    /// overrides this and <see cref="StateBuffer"/>, or its checkpoints would resume without that state.
    /// </summary>
    protected virtual System.Collections.Generic.IReadOnlyList<string> StateNames => [];

    /// <summary>The state buffer named in <see cref="StateNames"/>, as allocated by <see cref="AllocateState"/>.</summary>
    protected virtual Span<float> StateBuffer(string name)
        => throw new ArgumentException($"{GetType().Name} has no state buffer '{name}'.", nameof(name));

    /// <summary>The length the state was allocated for; -1 before the first step.</summary>
    internal int StateBlockLength => _length;

    /// <summary>The state buffers' names, for checkpoints.</summary>
    internal System.Collections.Generic.IReadOnlyList<string> CheckpointNames => StateNames;

    /// <summary>A state buffer, for checkpoints (after the first step).</summary>
    internal ReadOnlySpan<float> CheckpointState(string name) => StateBuffer(name);

    /// <summary>
    /// Puts back the state a checkpoint kept: the step count and, when <paramref name="length"/> is not -1, the buffers
    /// for a block of that length (allocated now if this optimizer has not stepped yet).
    /// </summary>
    internal void RestoreState(int length, long stepCount, Func<string, float[]> values)
    {
        if (length >= 0)
        {
            Prepare(length);
            foreach (string name in StateNames)
            {
                values(name).CopyTo(StateBuffer(name));
            }
        }
        StepCount = stepCount;
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
