using System;

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
    /// weight and bias gradients and, when <paramref name="inputGradient"/> is not empty, <c>∂L/∂x</c>.
    /// </summary>
    /// <param name="input">x, (batch, inputs), as given to the forward pass.</param>
    /// <param name="weight">Wᵀ, (inputs, units).</param>
    /// <param name="preActivation">z, (batch, units), from the forward pass (not read when the activation fuses into the product).</param>
    /// <param name="output">y, (batch, units), from the forward pass.</param>
    /// <param name="delta">(batch, units): ∂L/∂y in, ∂L/∂z out.</param>
    /// <param name="weightGradient">∂L/∂Wᵀ, (inputs, units).</param>
    /// <param name="biasGradient">∂L/∂b, (units).</param>
    /// <param name="inputGradient">∂L/∂x, (batch, inputs); empty for the first layer (nothing needs it).</param>
    /// <param name="scratch">At least inputs × units floats for W in [units, inputs] layout, or empty; used for the
    /// input gradient when it pays (large batches, or fewer units than a vector holds).</param>
    /// <param name="batch">Rows of x.</param>
    /// <param name="inputs">Columns of x.</param>
    /// <param name="units">Columns of y.</param>
    /// <param name="threads">The most threads the products may use; results do not depend on it.</param>
    public static void Backward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> preActivation, ReadOnlySpan<float> output,
        Span<float> delta,
        Span<float> weightGradient, Span<float> biasGradient, Span<float> inputGradient, Span<float> scratch,
        int batch, int inputs, int units, int threads = 1)
        where TActivation : struct, IActivation
    {
        // δ = ∂L/∂z = ∂L/∂y ⊙ f'(z); an activation fused into the forward product reads its slope from y alone.
        TActivation.Backward(TActivation.FusesIntoProduct ? output : preActivation, output, delta, batch, units);

        // ∂L/∂Wᵀ[i, j] = Σ_b x[b, i] · δ[b, j]: A = xᵀ read through strides (row stride 1, column stride inputs).
        Gemm.Multiply(inputs, units, batch, input, 1, inputs, delta, units, weightGradient, units, default, accumulate: false, threads);

        // ∂L/∂b[j] = Σ_b δ[b, j]
        Span<float> db = biasGradient[..units];
        db.Clear();
        for (int b = 0; b < batch; b++)
        {
            Vectors.Add(db, delta.Slice(b * units, units));
        }

        // ∂L/∂x[b, i] = Σ_j δ[b, j] · Wᵀ[i, j]
        if (!inputGradient.IsEmpty)
        {
            if (scratch.Length >= inputs * units && InputGradientThroughTranspose(batch, units))
            {
                // W = (Wᵀ)ᵀ into scratch, then the broadcast-form product δ·W: the transpose costs inputs × units
                // moves, the product batch × inputs × units FMAs, so it pays for large batches, and always when
                // the dot products would be shorter than a vector.
                Vectors.Transpose(weight, inputs, units, scratch);
                Gemm.Multiply(batch, inputs, units, delta, units, 1, scratch, inputs, inputGradient, inputs, default, accumulate: false, threads);
            }
            else
            {
                Gemm.MultiplyTransposed(batch, inputs, units, delta, units, weight, units, inputGradient, inputs);
            }
        }
    }

    /// <summary>
    /// The batch from which generated networks split training products over threads. Below it the traffic between
    /// the cores' caches (gradients written on one core, parameters updated on the other) costs more than the
    /// split saves (measured on the MLP 784-256-128-10: two threads made batch 32 slower, batch 256 faster).
    /// Prediction splits whenever a product is large enough.
    /// </summary>
    public const int ParallelTrainingBatch = 128;

    /// <summary>
    /// Whether the input gradient goes through a transposed copy of the weight (broadcast-form product) rather than
    /// dot products against the stored rows: from <see cref="TransposeFromBatch"/> samples, and whenever the dot
    /// products would be shorter than a vector.
    /// </summary>
    public static bool InputGradientThroughTranspose(int batch, int units) => batch >= TransposeFromBatch || units < Vectors.Width;

    /// <summary>The batch from which the input gradient goes through a transposed copy of the weight.</summary>
    internal const int TransposeFromBatch = 16;
}
