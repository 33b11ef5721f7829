using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Backprop.Kernels;

namespace Backprop;

/// <summary>
/// Adam with PyTorch's rule (<c>torch.optim.Adam</c>): <c>g ← g + λ p</c> (L2 penalty);
/// <c>m ← β1 m + (1-β1) g</c>; <c>v ← β2 v + (1-β2) g²</c>;
/// <c>p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε)</c>.
/// </summary>
public class Adam : Optimizer
{
    private AlignedBuffer _first = AlignedBuffer.Empty, _second = AlignedBuffer.Empty;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="beta1">Decay of the first moment.</param>
    /// <param name="beta2">Decay of the second moment.</param>
    /// <param name="epsilon">Added to the denominator.</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient (for decoupled decay use <see cref="AdamW"/>).</param>
    public Adam(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
        : this(learningRate, beta1, beta2, epsilon, weightDecay, decoupled: false)
    {
    }

    private protected Adam(float learningRate, float beta1, float beta2, float epsilon, float weightDecay, bool decoupled) : base(learningRate)
    {
        Beta1 = Check(beta1, 0f, 0.9999999f, nameof(beta1));
        Beta2 = Check(beta2, 0f, 0.9999999f, nameof(beta2));
        Epsilon = epsilon > 0f && float.IsFinite(epsilon)
            ? epsilon
            : throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be a finite number > 0 (it keeps the update's denominator from 0; PyTorch's default is 1e-8).");
        WeightDecay = Check(weightDecay, 0f, float.MaxValue, nameof(weightDecay));
        Decoupled = decoupled;
    }

    /// <summary>Decay of the first moment.</summary>
    public float Beta1 { get; }

    /// <summary>Decay of the second moment.</summary>
    public float Beta2 { get; }

    /// <summary>Added to the denominator for stability.</summary>
    public float Epsilon { get; }

    /// <summary>The weight decay: an L2 penalty for Adam, decoupled for AdamW.</summary>
    public float WeightDecay { get; }

    private bool Decoupled { get; }

    /// <inheritdoc/>
    protected override void AllocateState(int length)
    {
        _first = new AlignedBuffer(length);
        _second = new AlignedBuffer(length);
    }

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
        => UpdatePart(parameters, gradients, 0, step);

    /// <summary>The first and second moments, as PyTorch names them.</summary>
    protected override System.Collections.Generic.IReadOnlyList<string> StateNames { get; } = ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override Span<float> StateBuffer(string name) => name switch
    {
        "exp_avg" => _first,
        "exp_avg_sq" => _second,
        _ => base.StateBuffer(name),
    };

    // Only Adam and AdamW themselves: a subclass may override Update (clipping, say), which partial steps would bypass.
    private protected override bool ElementWise => GetType() == typeof(Adam) || GetType() == typeof(AdamW);

    private protected override void UpdatePart(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, long step)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Update<Simd512, Vector512<float>>(parameters, gradients, offset, step);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Update<Simd256, Vector256<float>>(parameters, gradients, offset, step);
        }
        else
        {
            Update<Simd128, Vector128<float>>(parameters, gradients, offset, step);
        }
    }

    private static float Flush(float value) => MathF.Abs(value) < SimdConstants.SmallestNormal ? 0f : value; // NaN stays NaN

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Update<TS, TV>(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, long step) where TS : struct, ISimd<TV> where TV : struct
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        ref float m = ref Unsafe.Add(ref MemoryMarshal.GetReference(_first.Span), offset);
        ref float v = ref Unsafe.Add(ref MemoryMarshal.GetReference(_second.Span), offset);
        float lr = LearningRate, b1 = Beta1, b2 = Beta2;
        // Bias corrections in double, as PyTorch computes them in Python floats.
        double correction1 = 1.0 - Math.Pow(b1, step);
        double correction2Sqrt = Math.Sqrt(1.0 - Math.Pow(b2, step));
        float stepSize = (float)(lr / correction1);
        float inverseCorrection2Sqrt = (float)(1.0 / correction2Sqrt);
        // AdamW shrinks the parameters before the Adam step; Adam adds λ p to the gradient.
        float shrink = Decoupled ? 1f - lr * WeightDecay : 1f;
        float l2 = Decoupled ? 0f : WeightDecay;

        TV vb1 = TS.Broadcast(b1), vb1c = TS.Broadcast(1f - b1), vb2 = TS.Broadcast(b2), vb2c = TS.Broadcast(1f - b2);
        TV vl2 = TS.Broadcast(l2), vshrink = TS.Broadcast(shrink), veps = TS.Broadcast(Epsilon);
        TV vstep = TS.Broadcast(-stepSize), vcorr = TS.Broadcast(inverseCorrection2Sqrt);
        int length = parameters.Length, i = 0;
        for (; i + TS.Count <= length; i += TS.Count)
        {
            TV pi = TS.Multiply(TS.Load(ref Unsafe.Add(ref p, i)), vshrink);
            TV gi = TS.MultiplyAdd(vl2, pi, TS.Load(ref Unsafe.Add(ref g, i)));
            // Moments of parameters whose gradient stays 0 (dead units) decay geometrically into subnormal range,
            // where x64 arithmetic is ~100x slower: flush them to 0. It changes values below 1.2e-38 only.
            TV mi = TS.FlushSubnormal(TS.MultiplyAdd(vb1, TS.Load(ref Unsafe.Add(ref m, i)), TS.Multiply(vb1c, gi)));
            TV vi = TS.FlushSubnormal(TS.MultiplyAdd(vb2, TS.Load(ref Unsafe.Add(ref v, i)), TS.Multiply(vb2c, TS.Multiply(gi, gi))));
            TS.Store(mi, ref Unsafe.Add(ref m, i));
            TS.Store(vi, ref Unsafe.Add(ref v, i));
            TV denominator = TS.Add(TS.Multiply(TS.Sqrt(vi), vcorr), veps);
            TS.Store(TS.MultiplyAdd(vstep, TS.Divide(mi, denominator), pi), ref Unsafe.Add(ref p, i));
        }
        for (; i < length; i++)
        {
            float pi = Unsafe.Add(ref p, i) * shrink;
            float gi = ScalarMath.MultiplyAdd(l2, pi, Unsafe.Add(ref g, i));
            float mi = Flush(ScalarMath.MultiplyAdd(b1, Unsafe.Add(ref m, i), (1f - b1) * gi));
            float vi = Flush(ScalarMath.MultiplyAdd(b2, Unsafe.Add(ref v, i), (1f - b2) * (gi * gi)));
            Unsafe.Add(ref m, i) = mi;
            Unsafe.Add(ref v, i) = vi;
            float denominator = MathF.Sqrt(vi) * inverseCorrection2Sqrt + Epsilon;
            Unsafe.Add(ref p, i) = ScalarMath.MultiplyAdd(-stepSize, mi / denominator, pi);
        }
    }
}

/// <summary>
/// AdamW (<c>torch.optim.AdamW</c>): Adam with decoupled weight decay, <c>p ← p (1 - lr λ)</c> before the
/// Adam step, instead of an L2 term in the gradient.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">The step size.</param>
    /// <param name="beta1">Decay of the first moment.</param>
    /// <param name="beta2">Decay of the second moment.</param>
    /// <param name="epsilon">Added to the denominator.</param>
    /// <param name="weightDecay">Decoupled decay λ.</param>
    public AdamW(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0.01f)
        : base(learningRate, beta1, beta2, epsilon, weightDecay, decoupled: true)
    {
    }
}
