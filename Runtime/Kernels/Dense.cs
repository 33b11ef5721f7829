using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// The dense layer's passes, forward and backward side by side. Inside the parameter block a dense weight is
/// stored transposed, [inputs, units] row-major (<c>Wᵀ</c>), so the forward product <c>X·Wᵀ</c> reads it along
/// rows; <c>CopyTensor</c>/<c>SetTensor</c> convert to and from PyTorch's [units, inputs].
/// </summary>
public static class Dense
{
    /// <summary>
    /// Forward: <c>z = x·Wᵀ + b</c>, <c>y = f(z)</c>; for activations that fuse into the product, <c>f</c> is applied in
    /// the product's epilogue and only <c>y</c> is written.
    /// </summary>
    /// <param name="input">x, (batch, inputs).</param>
    /// <param name="weight">Wᵀ, (inputs, units).</param>
    /// <param name="bias">b, (units).</param>
    /// <param name="preActivation">z, (batch, units); kept for the backward pass. Not written when the activation fuses
    /// into the product (<see cref="IActivation.FusesIntoProduct"/>: identity, ReLU, leaky ReLU), whose backward pass
    /// reads y instead; pass the output buffer then.</param>
    /// <param name="output">y, (batch, units); may be the same memory as <paramref name="preActivation"/>.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="inputs">Columns of x.</param>
    /// <param name="units">Columns of y.</param>
    /// <param name="threads">The most threads the products may use; results do not depend on it.</param>
    public static void Forward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> preActivation, Span<float> output,
        int batch, int inputs, int units, int threads = 1)
        where TActivation : struct, IActivation
    {
        if (TActivation.FusesIntoProduct)
        {
            // y[b, j] = f(b[j] + Σ_i x[b, i] · Wᵀ[i, j]), f applied in the product's epilogue; z is not stored.
            Gemm.Multiply<TActivation>(batch, units, inputs, input, inputs, 1, weight, units, output, units, bias, threads);
            return;
        }
        // z[b, j] = b[j] + Σ_i x[b, i] · Wᵀ[i, j]
        Gemm.Multiply(batch, units, inputs, input, inputs, 1, weight, units, preActivation, units, bias, accumulate: false, threads);
        // y = f(z)
        TActivation.Forward(preActivation, output, batch, units);
    }

    /// <summary>
    /// Backward. On entry <paramref name="delta"/> holds <c>∂L/∂y</c>; on exit <c>∂L/∂z</c>. Writes (overwrites) the
    /// weight and bias gradients and, when <paramref name="inputGradient"/> is not empty, <c>∂L/∂x</c>. With an
    /// <paramref name="update"/>, also applies the optimizer's step to the layer's weight and bias: the input gradient
    /// is computed first (from the old weights), then the weight gradient block by block of rows, each block updated
    /// right after it is computed, while it is still in cache (and, with threads, on the core that computed it). For
    /// plain SGD (no momentum) at a batch of 1 to 8, the gradient and the step go vector by vector in one pass over
    /// the weight, on the calling thread. The results are the same either way. No buffer may overlap another.
    /// </summary>
    /// <param name="input">x, (batch, inputs), as given to the forward pass.</param>
    /// <param name="weight">Wᵀ, (inputs, units).</param>
    /// <param name="preActivation">z, (batch, units), from the forward pass (not read when the activation fuses into the product).</param>
    /// <param name="output">y, (batch, units), from the forward pass.</param>
    /// <param name="delta">(batch, units): ∂L/∂y in, ∂L/∂z out.</param>
    /// <param name="weightGradient">∂L/∂Wᵀ, (inputs, units).</param>
    /// <param name="biasGradient">∂L/∂b, (units).</param>
    /// <param name="inputGradient">∂L/∂x, (batch, inputs); empty for the first layer (nothing needs it).</param>
    /// <param name="scratch">At least inputs × units floats, or empty; holds W in [units, inputs] layout, or δᵀ and the
    /// transposed input gradient, when that pays (see <see cref="InputGradientFormFor"/>). It must not overlap any
    /// other argument.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="inputs">Columns of x.</param>
    /// <param name="units">Columns of y.</param>
    /// <param name="threads">The most threads the products may use; results do not depend on it.</param>
    /// <param name="update">The optimizer step to apply to this layer's parameters, or <c>default</c> for none.</param>
    public static void Backward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> preActivation, ReadOnlySpan<float> output,
        Span<float> delta,
        Span<float> weightGradient, Span<float> biasGradient, Span<float> inputGradient, Span<float> scratch,
        int batch, int inputs, int units, int threads = 1, ParameterUpdate update = default)
        where TActivation : struct, IActivation
    {
        CheckParameterGradients(input, delta, weightGradient, biasGradient, batch, inputs, units, update);
        InputGradient<TActivation>(weight, preActivation, output, delta, inputGradient, scratch, batch, inputs, units, threads);
        WeightAndBiasGradients(input, delta, weightGradient, biasGradient, batch, inputs, units, threads, update);
    }

    /// <summary>
    /// The first half of <see cref="Backward{TActivation}"/>: <paramref name="delta"/> from <c>∂L/∂y</c> to <c>∂L/∂z</c>
    /// in place, then <c>∂L/∂x</c> (when <paramref name="inputGradient"/> is not empty) from the weights as they are. A
    /// network runs every layer's first half before any layer's <see cref="ParameterGradients"/>, so that
    /// <see cref="GradientBound"/> can prove every gradient finite before the first parameter changes.
    /// </summary>
    /// <param name="weight">Wᵀ, (inputs, units).</param>
    /// <param name="preActivation">z, (batch, units), from the forward pass (not read when the activation fuses into the product).</param>
    /// <param name="output">y, (batch, units), from the forward pass.</param>
    /// <param name="delta">(batch, units): ∂L/∂y in, ∂L/∂z out.</param>
    /// <param name="inputGradient">∂L/∂x, (batch, inputs); empty for the first layer (nothing needs it).</param>
    /// <param name="scratch">As for <see cref="Backward{TActivation}"/>.</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="inputs">Columns of x.</param>
    /// <param name="units">Columns of y.</param>
    /// <param name="threads">The most threads the products may use; results do not depend on it.</param>
    public static void InputGradient<TActivation>(
        ReadOnlySpan<float> weight, ReadOnlySpan<float> preActivation, ReadOnlySpan<float> output,
        Span<float> delta, Span<float> inputGradient, Span<float> scratch, int batch, int inputs, int units, int threads = 1)
        where TActivation : struct, IActivation
    {
        long activations = (long)batch * units;
        if (batch < 0 || inputs < 1 || units < 1 || weight.Length < (long)inputs * units || delta.Length < activations || output.Length < activations
            || (!TActivation.FusesIntoProduct && preActivation.Length < activations)
            || (!inputGradient.IsEmpty && inputGradient.Length < (long)batch * inputs))
        {
            throw new ArgumentException($"Dense.InputGradient: a buffer does not fit batch {batch}, {inputs} inputs and {units} units.");
        }
        // δ = ∂L/∂z = ∂L/∂y ⊙ f'(z); an activation fused into the forward product reads its slope from y alone.
        TActivation.Backward(TActivation.FusesIntoProduct ? output : preActivation, output, delta, batch, units);

        // ∂L/∂x[b, i] = Σ_j δ[b, j] · Wᵀ[i, j], before any update changes W.
        if (!inputGradient.IsEmpty)
        {
            switch (scratch.Length >= inputs * units ? InputGradientFormFor(batch, inputs, units) : InputGradientForm.Dots)
            {
                case InputGradientForm.TransposedProduct:
                {
                    // ∂L/∂x = (Wᵀ·δᵀ)ᵀ: δᵀ into the scratch, the product in broadcast form reading Wᵀ as stored, the
                    // result transposed back. Each element is the same chain of FMAs over j as in δ·W, so the result
                    // is bit-identical to the transposed-weight form; it moves batch × (inputs + units) values
                    // instead of inputs × units, and both transposed buffers fit in the scratch whenever it is chosen.
                    Span<float> deltaT = scratch[..(batch * units)];
                    Span<float> productT = scratch.Slice(batch * units, batch * inputs);
                    Vectors.Transpose(delta, batch, units, deltaT);
                    Gemm.Multiply(inputs, batch, units, weight, units, 1, deltaT, batch, productT, batch, default, accumulate: false, threads);
                    Vectors.Transpose(productT, inputs, batch, inputGradient);
                    break;
                }
                case InputGradientForm.TransposedWeight:
                    // W = (Wᵀ)ᵀ into scratch, then the broadcast-form product δ·W: the transpose costs inputs × units
                    // moves, the product batch × inputs × units FMAs, so it pays for large batches, and always when
                    // the dot products would be shorter than a vector.
                    Vectors.Transpose(weight, inputs, units, scratch);
                    Gemm.Multiply(batch, inputs, units, delta, units, 1, scratch, inputs, inputGradient, inputs, default, accumulate: false, threads);
                    break;
                default:
                    Gemm.MultiplyTransposed(batch, inputs, units, delta, units, weight, units, inputGradient, inputs);
                    break;
            }
        }
    }

    /// <summary>
    /// The second half of <see cref="Backward{TActivation}"/>: the weight and bias gradients from <paramref name="delta"/>
    /// (<c>∂L/∂z</c>, as <see cref="InputGradient{TActivation}"/> left it) and, with an <paramref name="update"/>, the
    /// optimizer's step on the layer's weight and bias, block by block of rows as they are complete.
    /// </summary>
    /// <param name="input">x, (batch, inputs), as given to the forward pass.</param>
    /// <param name="delta">∂L/∂z, (batch, units).</param>
    /// <param name="weightGradient">∂L/∂Wᵀ, (inputs, units).</param>
    /// <param name="biasGradient">∂L/∂b, (units).</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="inputs">Columns of x.</param>
    /// <param name="units">Columns of δ.</param>
    /// <param name="threads">The most threads the products may use; results do not depend on it.</param>
    /// <param name="update">The optimizer step to apply to this layer's parameters, or <c>default</c> for none.</param>
    public static void ParameterGradients(
        ReadOnlySpan<float> input, ReadOnlySpan<float> delta, Span<float> weightGradient, Span<float> biasGradient,
        int batch, int inputs, int units, int threads = 1, ParameterUpdate update = default)
    {
        CheckParameterGradients(input, delta, weightGradient, biasGradient, batch, inputs, units, update);
        WeightAndBiasGradients(input, delta, weightGradient, biasGradient, batch, inputs, units, threads, update);
    }

    private static void CheckParameterGradients(
        ReadOnlySpan<float> input, ReadOnlySpan<float> delta, Span<float> weightGradient, Span<float> biasGradient,
        int batch, int inputs, int units, ParameterUpdate update)
    {
        long weightCount = (long)inputs * units;
        if (batch < 0 || inputs < 1 || units < 1 || input.Length < (long)batch * inputs || delta.Length < (long)batch * units
            || weightGradient.Length < weightCount || biasGradient.Length < units
            || (update.Optimizer is not null && (update.WeightOffset < 0 || update.BiasOffset < 0
                || update.Parameters.Length < update.WeightOffset + weightCount || update.Parameters.Length < (long)update.BiasOffset + units)))
        {
            throw new ArgumentException($"Dense: a buffer does not fit batch {batch}, {inputs} inputs and {units} units, or the update's offsets fall outside the parameter block.");
        }
    }

    private static unsafe void WeightAndBiasGradients(
        ReadOnlySpan<float> input, ReadOnlySpan<float> delta, Span<float> weightGradient, Span<float> biasGradient,
        int batch, int inputs, int units, int threads, ParameterUpdate update)
    {
        // ∂L/∂b[j] = Σ_b δ[b, j]
        Span<float> db = biasGradient[..units];
        db.Clear();
        for (int b = 0; b < batch; b++)
        {
            Vectors.Add(db, delta.Slice(b * units, units));
        }

        if (update.Optimizer is not { } optimizer)
        {
            // ∂L/∂Wᵀ[i, j] = Σ_b x[b, i] · δ[b, j]: A = xᵀ read through strides (row stride 1, column stride inputs).
            Gemm.Multiply(inputs, units, batch, input, 1, inputs, delta, units, weightGradient, units, default, accumulate: false, threads);
            return;
        }

        optimizer.UpdatePart(update.Parameters.Slice(update.BiasOffset, units), db, update.BiasOffset);
        Span<float> weights = update.Parameters.Slice(update.WeightOffset, inputs * units);
        if (batch <= FusedSgdBatch && units >= Vectors.Width && optimizer is Sgd { Momentum: 0f } sgd)
        {
            // Plain SGD on a shallow product (batch 1 to 8): each vector of the weight gradient is stored and its
            // weights stepped while it is still in a register, one pass over Wᵀ, bound by its memory traffic (on
            // the calling thread, whatever threads says). Rows narrower than a vector (a 10-unit output layer)
            // would go element by element here; the product's vectorized column tail and the update's pass over
            // the contiguous block serve them better, with the same results.
            optimizer.CheckPart(update.WeightOffset, inputs * units);
            GradientAndSgdStep(input, delta, weightGradient, weights, batch, inputs, units, sgd.LearningRate, sgd.WeightDecay);
            return;
        }
        if (threads > 1 && (long)inputs * units * batch >= Workers.MinimumWork && inputs >= 16)
        {
            fixed (float* px = input, pd = delta, pg = weightGradient, pw = weights)
            {
                var job = s_update ??= new WeightUpdateJob();
                job.Set(px, pd, pg, pw, batch, inputs, units, optimizer, update.WeightOffset);
                try
                {
                    if (Workers.TryRun(job, threads))
                    {
                        return;
                    }
                }
                finally
                {
                    job.Clear();
                }
            }
        }
        WeightGradientAndUpdate(input, delta, weightGradient, weights, 0, inputs, batch, inputs, units, optimizer, update.WeightOffset);
    }

    /// <summary>
    /// Rows [<paramref name="first"/>, <paramref name="end"/>) of the weight gradient, a block of rows at a time, each
    /// block followed by its update. Every element is computed as in the whole product, so the gradients are the same.
    /// </summary>
    private static void WeightGradientAndUpdate(
        ReadOnlySpan<float> input, ReadOnlySpan<float> delta, Span<float> weightGradient, Span<float> weights,
        int first, int end, int batch, int inputs, int units, Optimizer optimizer, int weightOffset)
    {
        // Small batches: blocks of about 32K floats (128 KB of gradient, in L2 when the update reads it back). Large
        // batches: one product (the update is small beside it, and blocks would re-read Δ once per block).
        int block = batch >= 64 ? end - first : Math.Max(8, (32768 / units) & ~7);
        for (int r0 = first; r0 < end; r0 += block)
        {
            int rows = Math.Min(block, end - r0);
            Span<float> gradient = weightGradient.Slice(r0 * units, rows * units);
            Gemm.Multiply(rows, units, batch, input[r0..], 1, inputs, delta, units, gradient, units, default, accumulate: false);
            optimizer.UpdatePart(weights.Slice(r0 * units, rows * units), gradient, weightOffset + r0 * units);
        }
    }

    /// <summary>The largest batch whose weight gradient and plain SGD step run fused, vector by vector.</summary>
    internal const int FusedSgdBatch = 8;

    /// <summary>
    /// <c>∂L/∂Wᵀ = xᵀ·δ</c> written to <paramref name="weightGradient"/> and the plain SGD step
    /// <c>W ← W − lr·(∂L/∂W + decay·W)</c>, vector by vector. Each gradient element is the same chain of FMAs over
    /// the batch as in <see cref="Gemm.Multiply"/>, and each step the same two FMAs as <see cref="Sgd"/>'s own
    /// update, so the results are bit-identical to the product followed by <c>Step</c>.
    /// </summary>
    private static void GradientAndSgdStep(
        ReadOnlySpan<float> input, ReadOnlySpan<float> delta, Span<float> weightGradient, Span<float> weights,
        int batch, int inputs, int units, float learningRate, float decay)
    {
        ref float x = ref MemoryMarshal.GetReference(input);
        ref float d = ref MemoryMarshal.GetReference(delta);
        ref float g = ref MemoryMarshal.GetReference(weightGradient);
        ref float w = ref MemoryMarshal.GetReference(weights);
        if (Vector512.IsHardwareAccelerated)
        {
            GradientAndSgdStep<Simd512, Vector512<float>>(ref x, ref d, ref g, ref w, batch, inputs, units, learningRate, decay);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            GradientAndSgdStep<Simd256, Vector256<float>>(ref x, ref d, ref g, ref w, batch, inputs, units, learningRate, decay);
        }
        else
        {
            GradientAndSgdStep<Simd128, Vector128<float>>(ref x, ref d, ref g, ref w, batch, inputs, units, learningRate, decay);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientAndSgdStep<TS, TV>(
        ref float x, ref float delta, ref float g, ref float w, int batch, int inputs, int units, float learningRate, float decay)
        where TS : struct, ISimd<TV> where TV : struct
    {
        int width = TS.Count;
        TV rate = TS.Broadcast(-learningRate), vdecay = TS.Broadcast(decay);
        for (int r = 0; r < inputs; r++)
        {
            ref float gr = ref Unsafe.Add(ref g, r * units);
            ref float wr = ref Unsafe.Add(ref w, r * units);
            ref float xr = ref Unsafe.Add(ref x, r);
            int j = 0;
            if (batch == 1)
            {
                // ∂L/∂Wᵀ[r, j] = x[r] · δ[j]; x[r] broadcast once per row.
                TV xv = TS.Broadcast(xr);
                for (; j + width <= units; j += width)
                {
                    TV gradient = TS.MultiplyAdd(xv, TS.Load(ref Unsafe.Add(ref delta, j)), TS.Zero);
                    TS.Store(gradient, ref Unsafe.Add(ref gr, j));
                    TV p = TS.Load(ref Unsafe.Add(ref wr, j));
                    TS.Store(TS.MultiplyAdd(rate, TS.MultiplyAdd(vdecay, p, gradient), p), ref Unsafe.Add(ref wr, j));
                }
            }
            else
            {
                for (; j + width <= units; j += width)
                {
                    TV gradient = TS.Zero;
                    for (int b = 0; b < batch; b++)
                    {
                        gradient = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref xr, b * inputs)), TS.Load(ref Unsafe.Add(ref delta, b * units + j)), gradient);
                    }
                    TS.Store(gradient, ref Unsafe.Add(ref gr, j));
                    TV p = TS.Load(ref Unsafe.Add(ref wr, j));
                    TS.Store(TS.MultiplyAdd(rate, TS.MultiplyAdd(vdecay, p, gradient), p), ref Unsafe.Add(ref wr, j));
                }
            }
            for (; j < units; j++)
            {
                float gradient = 0f;
                for (int b = 0; b < batch; b++)
                {
                    gradient = ScalarMath.MultiplyAdd(Unsafe.Add(ref xr, b * inputs), Unsafe.Add(ref delta, b * units + j), gradient);
                }
                Unsafe.Add(ref gr, j) = gradient;
                float p = Unsafe.Add(ref wr, j);
                Unsafe.Add(ref wr, j) = ScalarMath.MultiplyAdd(-learningRate, ScalarMath.MultiplyAdd(decay, p, gradient), p);
            }
        }
    }

    [ThreadStatic]
    private static WeightUpdateJob? s_update;

    /// <summary>The weight gradient and its update split by rows of Wᵀ (multiples of 8): each core updates the rows it computed.</summary>
    private sealed unsafe class WeightUpdateJob : Workers.Job
    {
        private float* _x, _delta, _gradient, _weights;
        private int _batch, _inputs, _units, _weightOffset;
        private Optimizer? _optimizer;

        public void Set(float* x, float* delta, float* gradient, float* weights, int batch, int inputs, int units, Optimizer optimizer, int weightOffset)
        {
            _x = x; _delta = delta; _gradient = gradient; _weights = weights;
            _batch = batch; _inputs = inputs; _units = units; _optimizer = optimizer; _weightOffset = weightOffset;
        }

        public void Clear() => _optimizer = null;

        public override void Execute(int part)
        {
            var (first, count) = Workers.Split(_inputs, part, Parts, 8);
            if (count == 0)
            {
                return;
            }
            long length = (long)_inputs * _units;
            WeightGradientAndUpdate(
                new ReadOnlySpan<float>(_x, checked((int)((long)(_batch - 1) * _inputs + _inputs))),
                new ReadOnlySpan<float>(_delta, _batch * _units),
                new Span<float>(_gradient, (int)length), new Span<float>(_weights, (int)length),
                first, first + count, _batch, _inputs, _units, _optimizer!, _weightOffset);
        }
    }

    /// <summary>
    /// How <see cref="Backward{TActivation}"/> computes the input gradient of a layer with <paramref name="inputs"/>
    /// inputs and <paramref name="units"/> units at <paramref name="batch"/> samples (given a scratch of at least
    /// inputs × units floats; without one, <see cref="InputGradientForm.Dots"/>). Below
    /// <see cref="TransposeFromBatch"/> samples: dot products, unless they would be shorter than a vector. From
    /// there on, whichever transposes fewer values: δ and the result (batch × (inputs + units)) or the weight
    /// (inputs × units).
    /// </summary>
    public static InputGradientForm InputGradientFormFor(int batch, int inputs, int units)
        => batch < TransposeFromBatch
            ? (units < Vectors.Width ? InputGradientForm.TransposedWeight : InputGradientForm.Dots)
            : (long)batch * (inputs + units) <= (long)inputs * units ? InputGradientForm.TransposedProduct : InputGradientForm.TransposedWeight;

    /// <summary>The batch from which the input gradient goes through a transposed copy of the weight or of δ.</summary>
    internal const int TransposeFromBatch = 16;
}

/// <summary>The forms in which <see cref="Dense.Backward{TActivation}"/> computes the input gradient <c>∂L/∂x = δ·W</c> from the stored <c>Wᵀ</c>.</summary>
public enum InputGradientForm
{
    /// <summary>Dot products of δ's rows with the rows of Wᵀ as stored: no copy, for small batches.</summary>
    Dots,

    /// <summary>W transposed into the scratch, then <c>δ·W</c> in broadcast form: large batches, and layers with fewer units than a vector holds.</summary>
    TransposedWeight,

    /// <summary>
    /// <c>(Wᵀ·δᵀ)ᵀ</c>: δ transposed into the scratch, the product <c>Wᵀ·δᵀ</c> in broadcast form, the result transposed
    /// back. Bit-identical to <see cref="TransposedWeight"/>, and cheaper when the batch is small beside the layer.
    /// </summary>
    TransposedProduct,
}
