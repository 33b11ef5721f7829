using System;

namespace Backprop.Kernels;

/// <summary>
/// Data-parallel training for generated networks: a batch is cut into shards of consecutive samples, each core
/// runs the whole forward pass, loss and backward pass on its shard (its rows of the activation buffers, its own
/// gradient buffer), and the shards' gradients are then summed in shard order, range by range on every core, with
/// each range updated by the optimizer right after it is summed. Only the finished gradients and the updated
/// parameters cross between the cores' caches, once per step.
/// </summary>
/// <remarks>
/// The shard count depends only on the batch and the thread count (<see cref="Shards"/>), never on which helper
/// happens to be free, so a given thread count gives bit-identical results run after run; one and two threads
/// differ in the last bits, as the gradient sums are grouped differently.
/// </remarks>
public static class DataParallel
{
    /// <summary>
    /// The fewest samples a shard gets. Below it a shard's products get too short to pay for the per-step sum of
    /// one more gradient buffer (one read of the whole parameter block per extra shard).
    /// </summary>
    public const int MinimumShardSamples = 16;

    /// <summary>
    /// How many shards a training batch of <paramref name="batch"/> samples is cut into with up to
    /// <paramref name="threads"/> threads: one per core used, at most one per <see cref="MinimumShardSamples"/>
    /// samples, and 1 (no data parallelism) when the batch is too small or one thread is asked for.
    /// </summary>
    public static int Shards(int batch, int threads)
        => Math.Max(1, Math.Min(Math.Min(threads, Environment.ProcessorCount), batch / MinimumShardSamples));

    /// <summary>Shard <paramref name="shard"/>'s samples: [Start, Start + Count) of the batch, in multiples of 8 (whole micro-kernel rows).</summary>
    public static (int Start, int Count) Samples(int batch, int shard, int shards) => Workers.Split(batch, shard, shards, 8);
}

/// <summary>
/// One shard of a data-parallel pass, run on one thread: forward pass, loss and backward pass for samples
/// [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) of a batch of
/// <paramref name="batch"/>, writing (overwriting) the gradients of the whole batch's mean loss with respect to
/// every parameter, from these samples alone, into <paramref name="gradients"/>. Returns the shard's share of the
/// batch's mean loss (its summed loss divided by the batch's reduction count).
/// </summary>
/// <param name="inputs">The whole batch's inputs.</param>
/// <param name="targets">The whole batch's labels or targets.</param>
/// <param name="first">The shard's first sample.</param>
/// <param name="count">The shard's samples.</param>
/// <param name="batch">The whole batch's samples.</param>
/// <param name="gradients">The shard's gradient buffer, in the layout of the parameter block.</param>
/// <param name="scratch">The shard's own scratch for the backward pass.</param>
/// <param name="gradientBound">Receives a bound on the magnitude of every gradient the shard wrote
/// (<see cref="GradientBound"/>); the shards' bounds add up to a bound on their sum.</param>
public delegate double ShardPass<TTarget>(
    ReadOnlySpan<float> inputs, ReadOnlySpan<TTarget> targets, int first, int count, int batch, Span<float> gradients, Span<float> scratch,
    out double gradientBound)
    where TTarget : unmanaged;

/// <summary>
/// The forward pass for samples [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) of a
/// batch, on one thread, with their outputs written to the same rows of <paramref name="outputs"/>.
/// </summary>
/// <param name="inputs">The whole batch's inputs.</param>
/// <param name="outputs">The whole batch's outputs.</param>
/// <param name="first">The shard's first sample.</param>
/// <param name="count">The shard's samples.</param>
public delegate void ForwardShard(ReadOnlySpan<float> inputs, Span<float> outputs, int first, int count);

/// <summary>
/// Data-parallel prediction: each core runs the whole forward pass on its shard of the batch. Every output row is
/// computed as on one thread, so the outputs do not depend on the shard count.
/// </summary>
public sealed unsafe class DataParallelForward
{
    private readonly ForwardJob _job;

    /// <summary>Creates the prediction for a network.</summary>
    /// <param name="forward">Runs one shard's forward pass.</param>
    public DataParallelForward(ForwardShard forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        _job = new ForwardJob(forward);
    }

    /// <summary>Runs the forward pass over <paramref name="batch"/> samples cut into <paramref name="shards"/> shards, on up to one core per shard.</summary>
    /// <exception cref="ArgumentException">The shard count does not fit the batch.</exception>
    public void Run(ReadOnlySpan<float> inputs, Span<float> outputs, int batch, int shards)
    {
        if (shards < 1 || batch < shards)
        {
            throw new ArgumentException($"A data-parallel forward pass over {batch} samples cannot have {shards} shards.", nameof(shards));
        }
        fixed (float* pInputs = inputs, pOutputs = outputs)
        {
            _job.Set(pInputs, inputs.Length, pOutputs, outputs.Length, batch, shards);
            try
            {
                if (shards == 1 || !Workers.TryRun(_job, shards))
                {
                    _job.Parts = 1;
                    _job.Execute(0);
                }
            }
            finally
            {
                _job.Set(null, 0, null, 0, 0, 0);
            }
        }
    }

    /// <summary>Part p runs shards p, p + Parts, ...</summary>
    private sealed class ForwardJob(ForwardShard forward) : Workers.Job
    {
        private float* _inputs, _outputs;
        private int _inputLength, _outputLength, _batch, _shards;

        public void Set(float* inputs, int inputLength, float* outputs, int outputLength, int batch, int shards)
        {
            _inputs = inputs; _inputLength = inputLength; _outputs = outputs; _outputLength = outputLength;
            _batch = batch; _shards = shards;
        }

        public override void Execute(int part)
        {
            var inputs = new ReadOnlySpan<float>(_inputs, _inputLength);
            var outputs = new Span<float>(_outputs, _outputLength);
            for (int s = part; s < _shards; s += Parts)
            {
                var (first, count) = DataParallel.Samples(_batch, s, _shards);
                if (count > 0)
                {
                    forward(inputs, outputs, first, count);
                }
            }
        }
    }
}

/// <summary>
/// The data-parallel training step of one network (see <see cref="DataParallel"/>): shard buffers, allocated on
/// the first step that needs them, and the two jobs of a step. Generated networks create one on their first
/// step whose batch is cut into shards; a step after that allocates nothing, unless it needs more shards than
/// any step before it (a larger <c>MaxThreads</c> or batch).
/// </summary>
/// <typeparam name="TTarget">The training targets: <see cref="int"/> class labels or <see cref="float"/> values.</typeparam>
public sealed unsafe class DataParallel<TTarget> where TTarget : unmanaged
{
    // Summing the shards' gradients is worth a helper's wake-up only for blocks of at least this many floats.
    private const int ParallelSumLength = 1 << 15;

    private readonly string _network;
    private readonly int _parameterCount;
    private readonly int _scratchLength;
    private readonly ShardPass<TTarget> _pass;
    private readonly System.Collections.Generic.IReadOnlyList<TensorInfo> _tensors;
    private readonly ShardJob _shardJob;
    private readonly SumJob _sumJob = new();
    private AlignedBuffer[] _gradients = [];
    private AlignedBuffer[] _scratch = [];
    private double[] _losses = [];
    private double[] _bounds = [];

    /// <summary>Creates the step for a network.</summary>
    /// <param name="network">The network's name, for messages.</param>
    /// <param name="parameterCount">The length of the parameter block.</param>
    /// <param name="scratchLength">The floats of scratch one backward pass needs.</param>
    /// <param name="pass">Runs one shard (the network's forward, loss and backward on some of the samples).</param>
    /// <param name="tensors">The network's tensors in the block's order, to name the one whose gradient is not finite.</param>
    public DataParallel(string network, int parameterCount, int scratchLength, ShardPass<TTarget> pass, System.Collections.Generic.IReadOnlyList<TensorInfo>? tensors = null)
    {
        _tensors = tensors ?? [];
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(pass);
        ArgumentOutOfRangeException.ThrowIfNegative(parameterCount);
        ArgumentOutOfRangeException.ThrowIfNegative(scratchLength);
        _network = network;
        _parameterCount = parameterCount;
        _scratchLength = scratchLength;
        _pass = pass;
        _shardJob = new ShardJob(this);
    }

    /// <summary>
    /// One data-parallel pass over a batch cut into <paramref name="shards"/> shards: every shard's forward, loss
    /// and backward (on up to one core per shard), then the gradients summed in shard order into
    /// <paramref name="gradients"/> and, with an optimizer and a finite loss, one optimizer step. Returns the
    /// batch's mean loss.
    /// </summary>
    /// <param name="inputs">The batch's inputs, as the shard pass expects them.</param>
    /// <param name="targets">The batch's labels or targets.</param>
    /// <param name="batch">The batch's samples.</param>
    /// <param name="shards">The shard count, from <see cref="DataParallel.Shards"/> (the results depend on it, and on nothing else of the machine).</param>
    /// <param name="parameters">The network's parameter block; changed only by the optimizer's step.</param>
    /// <param name="gradients">The network's gradient block: shard 0 writes it, the other shards are summed into it.</param>
    /// <param name="optimizer">The optimizer to step, or null to compute the gradients only.</param>
    /// <exception cref="ArgumentException">The shard count, the batch or a block's length does not fit.</exception>
    /// <exception cref="ArithmeticException">The loss or a summed gradient is not finite (with an optimizer): the gradients are filled, the parameters and the optimizer untouched.</exception>
    public float Train(
        ReadOnlySpan<float> inputs, ReadOnlySpan<TTarget> targets, int batch, int shards,
        Span<float> parameters, Span<float> gradients, Optimizer? optimizer)
    {
        if (shards < 1 || batch < shards || parameters.Length != _parameterCount || gradients.Length != _parameterCount)
        {
            throw new ArgumentException(
                $"{_network}: a data-parallel pass over {batch} samples in {shards} shards needs parameter and gradient blocks of {_parameterCount} floats; got {parameters.Length} and {gradients.Length}.");
        }
        Reserve(shards);
        float loss;
        fixed (float* pInputs = inputs, pParameters = parameters, pGradients = gradients)
        fixed (TTarget* pTargets = targets)
        {
            // 1. Each shard: forward, loss and backward on its samples, into its own gradient buffer.
            _shardJob.Set(pInputs, inputs.Length, pTargets, targets.Length, pGradients, batch, shards);
            try
            {
                Run(_shardJob, shards);
            }
            finally
            {
                _shardJob.Clear();
            }

            // The loss: the shards' shares, summed in shard order; the bound on the summed gradients, the sum of the shards'.
            double total = 0, bound = 0;
            for (int s = 0; s < shards; s++)
            {
                total += _losses[s];
                bound += _bounds[s];
            }
            loss = (float)total;

            // 2. The gradient sum, range by range on every core, each range updated right after it is summed (while
            // it is in that core's cache) when the optimizer's rule is element-wise and the bound proves every summed
            // gradient finite; otherwise they are summed, checked, and the whole block stepped. A non-finite loss leaves
            // the parameters alone: the gradients are still summed, for inspection.
            bool step = optimizer is not null && float.IsFinite(loss);
            bool partial = step && bound <= GradientBound.Limit && optimizer!.BeginPartialStep(_parameterCount);
            _sumJob.Set(pGradients, pParameters, _parameterCount, _gradients, shards, partial ? optimizer : null);
            try
            {
                Run(_sumJob, _parameterCount >= ParallelSumLength ? shards : 1);
            }
            finally
            {
                _sumJob.Clear();
            }
            if (step && !partial)
            {
                NetworkGuard.FiniteGradients(_network, gradients, _tensors, optimizer!.StepCount);
                optimizer!.Step(parameters, gradients);
            }
        }
        if (optimizer is not null && !float.IsFinite(loss))
        {
            NetworkGuard.FiniteLoss(_network, loss, optimizer.StepCount);
        }
        return loss;
    }

    /// <summary>Runs a job on up to <paramref name="parts"/> threads, or wholly on the caller when the helpers are busy.</summary>
    private static void Run(Workers.Job job, int parts)
    {
        if (parts <= 1 || !Workers.TryRun(job, parts))
        {
            job.Parts = 1;
            job.Execute(0);
        }
    }

    /// <summary>Buffers for <paramref name="shards"/> shards: a gradient block for each after the first, a scratch and a loss for each.</summary>
    private void Reserve(int shards)
    {
        if (_scratch.Length >= shards)
        {
            return;
        }
        var gradients = new AlignedBuffer[shards - 1];
        var scratch = new AlignedBuffer[shards];
        _gradients.CopyTo(gradients, 0);
        _scratch.CopyTo(scratch, 0);
        for (int s = _gradients.Length; s < gradients.Length; s++)
        {
            gradients[s] = new AlignedBuffer(_parameterCount);
        }
        for (int s = _scratch.Length; s < scratch.Length; s++)
        {
            scratch[s] = new AlignedBuffer(_scratchLength);
        }
        _losses = new double[shards];
        _bounds = new double[shards];
        _gradients = gradients;
        _scratch = scratch;
    }

    /// <summary>Part p runs shards p, p + Parts, ...: with fewer threads than shards a thread runs several, and the results do not change.</summary>
    private sealed class ShardJob(DataParallel<TTarget> owner) : Workers.Job
    {
        private float* _inputs, _gradients;
        private TTarget* _targets;
        private int _inputLength, _targetLength, _batch, _shards;

        public void Set(float* inputs, int inputLength, TTarget* targets, int targetLength, float* gradients, int batch, int shards)
        {
            _inputs = inputs; _inputLength = inputLength; _targets = targets; _targetLength = targetLength;
            _gradients = gradients; _batch = batch; _shards = shards;
        }

        public void Clear() => _inputs = _gradients = null;

        public override void Execute(int part)
        {
            var inputs = new ReadOnlySpan<float>(_inputs, _inputLength);
            var targets = new ReadOnlySpan<TTarget>(_targets, _targetLength);
            for (int s = part; s < _shards; s += Parts)
            {
                var (first, count) = DataParallel.Samples(_batch, s, _shards);
                Span<float> gradients = s == 0 ? new Span<float>(_gradients, owner._parameterCount) : owner._gradients[s - 1];
                if (count == 0)
                {
                    gradients.Clear();
                    owner._losses[s] = 0;
                    owner._bounds[s] = 0;
                    continue;
                }
                owner._losses[s] = owner._pass(inputs, targets, first, count, _batch, gradients, owner._scratch[s], out owner._bounds[s]);
            }
        }
    }

    /// <summary>
    /// Part p sums the shards' gradients over its range of the block and, with an optimizer, updates that range. The
    /// ranges are multiples of 16 floats (64 bytes): for blocks that start on a cache line, as a network's do
    /// (<see cref="AlignedBuffer"/>), no line is written by two cores (otherwise two ranges may share the line at
    /// their edge, which costs a line's transfer and nothing else).
    /// </summary>
    private sealed class SumJob : Workers.Job
    {
        private float* _gradients, _parameters;
        private int _length, _shards;
        private AlignedBuffer[] _others = [];
        private Optimizer? _optimizer;

        public void Set(float* gradients, float* parameters, int length, AlignedBuffer[] others, int shards, Optimizer? optimizer)
        {
            _gradients = gradients; _parameters = parameters; _length = length;
            _others = others; _shards = shards; _optimizer = optimizer;
        }

        public void Clear()
        {
            _gradients = _parameters = null;
            _optimizer = null;
        }

        public override void Execute(int part)
        {
            var (start, count) = Workers.Split(_length, part, Parts, 16);
            if (count == 0)
            {
                return;
            }
            var gradients = new Span<float>(_gradients + start, count);
            // g = ((g₀ + g₁) + g₂) + …: a fixed order, whatever the split.
            for (int s = 1; s < _shards; s++)
            {
                Vectors.Add(gradients, _others[s - 1].Slice(start, count));
            }
            _optimizer?.UpdatePart(new Span<float>(_parameters + start, count), gradients, start);
        }
    }
}
