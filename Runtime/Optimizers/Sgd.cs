using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// Stochastic gradient descent with PyTorch's rule (<c>torch.optim.SGD</c>, dampening 0):
/// <c>g ← g + λ p</c>; with momentum <c>μ</c>, <c>v ← g</c> on the first step and <c>v ← μ v + g</c> after;
/// <c>d = g + μ v</c> (Nesterov) or <c>d = v</c>; <c>p ← p - lr d</c>.
/// </summary>
public sealed class Sgd : Optimizer
{
    private AlignedBuffer _velocity = AlignedBuffer.Empty;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="momentum">The momentum factor μ (0 for plain SGD).</param>
    /// <param name="nesterov">Nesterov momentum (needs <paramref name="momentum"/> &gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    public Sgd(float learningRate, float momentum = 0f, bool nesterov = false, float weightDecay = 0f) : base(learningRate)
    {
        Momentum = Check(momentum, 0f, 1f, nameof(momentum));
        WeightDecay = Check(weightDecay, 0f, float.MaxValue, nameof(weightDecay));
        if (nesterov && momentum <= 0f)
        {
            throw new ArgumentException("Nesterov momentum needs a momentum > 0.", nameof(nesterov));
        }
        Nesterov = nesterov;
    }

    /// <summary>The momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>The L2 penalty.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    protected override void AllocateState(int length) => _velocity = Momentum > 0f ? new AlignedBuffer(length) : AlignedBuffer.Empty;

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
        => UpdatePart(parameters, gradients, 0, step);

    /// <summary>The velocity, as PyTorch names it (none without momentum).</summary>
    protected override System.Collections.Generic.IReadOnlyList<string> StateNames => Momentum > 0f ? ["momentum_buffer"] : [];

    /// <inheritdoc/>
    protected override Span<float> StateBuffer(string name) => name == "momentum_buffer" && Momentum > 0f ? _velocity : base.StateBuffer(name);

    private protected override bool ElementWise => true;

    private protected override void UpdatePart(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, long step)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Update<Simd512, Vector512<float>>(parameters, gradients, offset, step == 1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Update<Simd256, Vector256<float>>(parameters, gradients, offset, step == 1);
        }
        else
        {
            Update<Simd128, Vector128<float>>(parameters, gradients, offset, step == 1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Update<TS, TV>(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, bool first) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        bool momentum = Momentum > 0f;
        ref float v = ref momentum ? ref Unsafe.Add(ref MemoryMarshal.GetReference(_velocity.Span), offset) : ref MemoryMarshal.GetReference(_velocity.Span);
        float lr = LearningRate, mu = Momentum, decay = WeightDecay;
        // On the first step PyTorch's buffer is the gradient itself: v = 0·μ + g gives the same.
        float keep = first ? 0f : mu;
        int length = parameters.Length, i = 0;
        TV vlr = TS.Broadcast(-lr), vdecay = TS.Broadcast(decay), vkeep = TS.Broadcast(keep), vmu = TS.Broadcast(mu);
        for (; i + TS.Count <= length; i += TS.Count)
        {
            TV pi = TS.Load(ref Unsafe.Add(ref p, i));
            TV d = TS.MultiplyAdd(vdecay, pi, TS.Load(ref Unsafe.Add(ref g, i)));
            if (momentum)
            {
                TV vi = TS.MultiplyAdd(vkeep, TS.Load(ref Unsafe.Add(ref v, i)), d);
                TS.Store(vi, ref Unsafe.Add(ref v, i));
                d = Nesterov ? TS.MultiplyAdd(vmu, vi, d) : vi;
            }
            TS.Store(TS.MultiplyAdd(vlr, d, pi), ref Unsafe.Add(ref p, i));
        }
        for (; i < length; i++)
        {
            float pi = Unsafe.Add(ref p, i);
            float d = ScalarMath.MultiplyAdd(decay, pi, Unsafe.Add(ref g, i));
            if (momentum)
            {
                float vi = ScalarMath.MultiplyAdd(keep, Unsafe.Add(ref v, i), d);
                Unsafe.Add(ref v, i) = vi;
                d = Nesterov ? ScalarMath.MultiplyAdd(mu, vi, d) : vi;
            }
            Unsafe.Add(ref p, i) = ScalarMath.MultiplyAdd(-lr, d, pi);
        }
    }
}
