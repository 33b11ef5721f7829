using System;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>The cell of a recurrent layer, with PyTorch's equations and gate order.</summary>
public enum RecurrentCell
{
    /// <summary><c>nn.RNN</c> (tanh): one gate, <c>h = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)</c>.</summary>
    SimpleRnn,

    /// <summary><c>nn.LSTM</c>: gates input, forget, cell, output.</summary>
    Lstm,

    /// <summary><c>nn.GRU</c>: gates reset, update, new.</summary>
    Gru,
}

/// <summary>
/// The passes of a recurrent layer over a whole sequence, forward and backward (through time) side by side.
/// </summary>
/// <remarks>
/// <para>
/// The layer's parameters are one block: <c>W_ihᵀ</c> [inputs, G·units], <c>W_hhᵀ</c> [units, G·units] (both stored
/// transposed, so the products read them along rows, as a dense layer's; <c>W_hhᵀ</c> in column panels of
/// <see cref="PanelWidth"/>), then <c>b_ih</c> and <c>b_hh</c> [G·units],
/// where G is the number of gates (1, 4 or 3). Its gradients have the same layout.
/// </para>
/// <para>
/// Sequences are row-major [batch, steps, features]. The forward pass computes the input projections of every step in
/// one product, then per step the recurrent product <c>h_(t-1) W_hhᵀ</c> for the whole batch and the cell's element-wise
/// equations; it keeps every step's activated gates (and the LSTM's cell states, the GRU's <c>W_hn h + b_hn</c>) for
/// the backward pass. The backward pass walks the steps in reverse, turning the gates into their pre-activation
/// gradients in place, carrying <c>∂L/∂h</c> (and the LSTM's <c>∂L/∂c</c>) from step to step through one product per
/// step; the weight gradients and the input gradient are then one product each over all steps.
/// </para>
/// </remarks>
public static class Recurrent
{
    /// <summary>
    /// The columns of one panel of <c>W_hhᵀ</c>. The recurrent weight is stored as column panels, each
    /// [units, ≤ 256] row-major and contiguous, one after the other: the per-step products then read each panel as one
    /// forward stream (a 1 × 256 × 128 product read its B at 153 GB/s from a contiguous panel, at 96 GB/s as 256
    /// columns of 384- or 512-wide rows), which is what a prediction at batch 1 is bound by.
    /// </summary>
    public const int PanelWidth = 256;

    /// <summary>
    /// <c>W_hh</c> in PyTorch's layout, [G·units, units], into the stored panels of <c>W_hhᵀ</c> (see <see cref="PanelWidth"/>).
    /// </summary>
    public static void PackRecurrentWeight(ReadOnlySpan<float> source, Span<float> destination, int units, int width)
    {
        CheckPacking(source.Length, destination.Length, units, width);
        for (int j0 = 0; j0 < width; j0 += PanelWidth)
        {
            int columns = Math.Min(PanelWidth, width - j0);
            Span<float> panel = destination.Slice(units * j0, units * columns);
            for (int i = 0; i < units; i++)
            {
                for (int j = 0; j < columns; j++)
                {
                    panel[i * columns + j] = source[(j0 + j) * units + i];
                }
            }
        }
    }

    /// <summary>The stored panels of <c>W_hhᵀ</c> back into PyTorch's layout, [G·units, units].</summary>
    public static void UnpackRecurrentWeight(ReadOnlySpan<float> source, Span<float> destination, int units, int width)
    {
        CheckPacking(source.Length, destination.Length, units, width);
        for (int j0 = 0; j0 < width; j0 += PanelWidth)
        {
            int columns = Math.Min(PanelWidth, width - j0);
            ReadOnlySpan<float> panel = source.Slice(units * j0, units * columns);
            for (int i = 0; i < units; i++)
            {
                for (int j = 0; j < columns; j++)
                {
                    destination[(j0 + j) * units + i] = panel[i * columns + j];
                }
            }
        }
    }

    private static void CheckPacking(int source, int destination, int units, int width)
    {
        if (units < 1 || width < 1 || source < (long)units * width || destination < (long)units * width)
        {
            throw new ArgumentException($"Recurrent: a recurrent weight of {width} x {units} does not fit buffers of {source} and {destination} values.");
        }
    }

    /// <summary>The number of gates of a cell: 1 (SimpleRnn), 4 (LSTM), 3 (GRU).</summary>
    public static int Gates(RecurrentCell cell) => cell switch
    {
        RecurrentCell.Lstm => 4,
        RecurrentCell.Gru => 3,
        _ => 1,
    };

    /// <summary>The floats of a layer's parameter block: <c>(inputs + units + 2) · G · units</c>.</summary>
    public static int ParameterCount(RecurrentCell cell, int inputs, int units) => (inputs + units + 2) * Gates(cell) * units;

    /// <summary>
    /// The forward pass over every step.
    /// </summary>
    /// <param name="cell">The cell.</param>
    /// <param name="input">x, [batch, steps, inputs].</param>
    /// <param name="parameters">The layer's parameter block (see the remarks on <see cref="Recurrent"/>).</param>
    /// <param name="gates">[batch, steps, G·units]: receives every step's activated gates.</param>
    /// <param name="hidden">[batch, steps, units]: receives every step's hidden state.</param>
    /// <param name="cells">LSTM: [batch, steps, units], every step's cell state; otherwise empty.</param>
    /// <param name="newGate">GRU: [batch, steps, units], every step's <c>W_hn h_(t-1) + b_hn</c>; otherwise empty.</param>
    /// <param name="step">[batch, G·units]: room for one step's recurrent projections.</param>
    /// <param name="batch">Samples.</param>
    /// <param name="steps">Steps per sample.</param>
    /// <param name="inputs">Features per step.</param>
    /// <param name="units">Hidden units.</param>
    /// <param name="threads">The most threads the products may use; results do not depend on it.</param>
    /// <param name="training">
    /// Whether the backward pass will follow. In inference (false) the cells store only what the next step reads, the hidden
    /// states (and the LSTM's cell states), not the activated gates or the GRU's <c>W_hn h + b_hn</c> (except for the units
    /// past the last whole vector): <paramref name="gates"/> then holds no values the backward pass could use. The hidden
    /// states are the same bit for bit.
    /// </param>
    public static void Forward(
        RecurrentCell cell, ReadOnlySpan<float> input, ReadOnlySpan<float> parameters,
        Span<float> gates, Span<float> hidden, Span<float> cells, Span<float> newGate, Span<float> step,
        int batch, int steps, int inputs, int units, int threads = 1, bool training = true)
    {
        int g = Gates(cell), width = g * units;
        Check(cell, input, parameters, gates, hidden, cells, newGate, batch, steps, inputs, units);
        if (step.Length < (long)batch * width)
        {
            throw new ArgumentException($"Recurrent.Forward: the step buffer holds {step.Length} values; {(long)batch * width} are needed.", nameof(step));
        }
        if (batch == 0)
        {
            return;
        }
        var weightIh = parameters[..(inputs * width)];
        var weightHh = parameters.Slice(inputs * width, units * width);
        var biasIh = parameters.Slice((inputs + units) * width, width);
        var biasHh = parameters.Slice((inputs + units + 1) * width, width);

        // The input projections of every step at once: gates[b, t] = x[b, t] W_ihᵀ + b_ih.
        Gemm.Multiply(batch * steps, width, inputs, input, inputs, 1, weightIh, width, gates, width, biasIh, accumulate: false, threads);

        for (int t = 0; t < steps; t++)
        {
            // The recurrent projections: step[b] = h[b, t - 1] W_hhᵀ + b_hh; h[b, -1] = 0, so b_hh alone at the first step.
            if (t == 0)
            {
                for (int b = 0; b < batch; b++)
                {
                    biasHh.CopyTo(step.Slice(b * width, width));
                }
            }
            else
            {
                for (int j0 = 0; j0 < width; j0 += PanelWidth)
                {
                    int columns = Math.Min(PanelWidth, width - j0);
                    Gemm.Multiply(batch, columns, units, hidden[((t - 1) * units)..], steps * units, 1, weightHh.Slice(units * j0, units * columns), columns,
                        step[j0..], width, biasHh[j0..], accumulate: false, threads);
                }
            }
            for (int b = 0; b < batch; b++)
            {
                int at = b * steps + t;
                Span<float> gate = gates.Slice(at * width, width);
                ReadOnlySpan<float> projection = step.Slice(b * width, width);
                Span<float> h = hidden.Slice(at * units, units);
                ReadOnlySpan<float> previous = t == 0 ? default : hidden.Slice((at - 1) * units, units);
                switch (cell)
                {
                    case RecurrentCell.Lstm:
                        LstmStep(gate, projection, cells.Slice(at * units, units), t == 0 ? default : cells.Slice((at - 1) * units, units), h, units, training);
                        break;
                    case RecurrentCell.Gru:
                        GruStep(gate, projection, newGate.Slice(at * units, units), previous, h, units, training);
                        break;
                    default:
                        SimpleRnnStep(gate, projection, h, units);
                        break;
                }
            }
        }
    }

    // The scalar forms of RecurrentCells' σ and tanh, for the units past the last whole vector.
    private static float Logistic(float x) => 1f / (1f + MathF.Exp(Math.Clamp(-x, -80f, 80f)));

    private static float Tanh(float x) => 1f - 2f / (1f + MathF.Exp(Math.Clamp(2f * x, -80f, 80f)));

    private static void SimpleRnnStep(Span<float> gate, ReadOnlySpan<float> projection, Span<float> h, int units)
    {
        int j = Vector512.IsHardwareAccelerated ? RecurrentCells<Simd512, Vector512<float>>.SimpleRnn(gate, projection, h, units)
            : Vector256.IsHardwareAccelerated ? RecurrentCells<Simd256, Vector256<float>>.SimpleRnn(gate, projection, h, units)
            : RecurrentCells<Simd128, Vector128<float>>.SimpleRnn(gate, projection, h, units);
        for (; j < units; j++)
        {
            h[j] = gate[j] = Tanh(gate[j] + projection[j]);
        }
    }

    private static void LstmStep(Span<float> gate, ReadOnlySpan<float> projection, Span<float> c, ReadOnlySpan<float> previousC, Span<float> h, int units, bool training)
    {
        int j = training ? LstmVectors<KeepGates>(gate, projection, c, previousC, h, units) : LstmVectors<DropGates>(gate, projection, c, previousC, h, units);
        for (; j < units; j++)
        {
            float i = Logistic(gate[j] + projection[j]);
            float f = Logistic(gate[units + j] + projection[units + j]);
            float g = Tanh(gate[2 * units + j] + projection[2 * units + j]);
            float o = Logistic(gate[3 * units + j] + projection[3 * units + j]);
            gate[j] = i;
            gate[units + j] = f;
            gate[2 * units + j] = g;
            gate[3 * units + j] = o;
            float cell = i * g;
            if (!previousC.IsEmpty)
            {
                cell = ScalarMath.MultiplyAdd(f, previousC[j], cell);
            }
            c[j] = cell;
            h[j] = o * Tanh(cell);
        }
    }

    private static int LstmVectors<TGates>(Span<float> gate, ReadOnlySpan<float> projection, Span<float> c, ReadOnlySpan<float> previousC, Span<float> h, int units)
        where TGates : struct, IGateStorage
        => Vector512.IsHardwareAccelerated ? RecurrentCells<Simd512, Vector512<float>>.Lstm<TGates>(gate, projection, c, previousC, h, units)
            : Vector256.IsHardwareAccelerated ? RecurrentCells<Simd256, Vector256<float>>.Lstm<TGates>(gate, projection, c, previousC, h, units)
            : RecurrentCells<Simd128, Vector128<float>>.Lstm<TGates>(gate, projection, c, previousC, h, units);

    private static int GruVectors<TGates>(Span<float> gate, ReadOnlySpan<float> projection, Span<float> newGate, ReadOnlySpan<float> previous, Span<float> h, int units)
        where TGates : struct, IGateStorage
        => Vector512.IsHardwareAccelerated ? RecurrentCells<Simd512, Vector512<float>>.Gru<TGates>(gate, projection, newGate, previous, h, units)
            : Vector256.IsHardwareAccelerated ? RecurrentCells<Simd256, Vector256<float>>.Gru<TGates>(gate, projection, newGate, previous, h, units)
            : RecurrentCells<Simd128, Vector128<float>>.Gru<TGates>(gate, projection, newGate, previous, h, units);

    private static void GruStep(Span<float> gate, ReadOnlySpan<float> projection, Span<float> newGate, ReadOnlySpan<float> previous, Span<float> h, int units, bool training)
    {
        int j = training ? GruVectors<KeepGates>(gate, projection, newGate, previous, h, units) : GruVectors<DropGates>(gate, projection, newGate, previous, h, units);
        for (; j < units; j++)
        {
            float r = Logistic(gate[j] + projection[j]);
            float z = Logistic(gate[units + j] + projection[units + j]);
            float hn = projection[2 * units + j];
            float n = Tanh(ScalarMath.MultiplyAdd(r, hn, gate[2 * units + j]));
            gate[j] = r;
            gate[units + j] = z;
            gate[2 * units + j] = n;
            newGate[j] = hn;
            // h = (1 - z) n + z h_(t-1) = n + z (h_(t-1) - n)
            h[j] = ScalarMath.MultiplyAdd(z, (previous.IsEmpty ? 0f : previous[j]) - n, n);
        }
    }

    /// <summary>
    /// Backpropagation through time. Reads the forward pass's buffers and <paramref name="delta"/>, overwrites the
    /// layer's gradient block and, unless <paramref name="inputGradient"/> is empty, writes <c>∂L/∂x</c>. The gates
    /// buffer ends holding the pre-activation gradients of the input projections. With an <paramref name="update"/>,
    /// applies the optimizer's step to the layer's block (at <c>update.WeightOffset</c> in the whole parameter block)
    /// once every gradient (and the input gradient, from the old weights) is complete.
    /// </summary>
    /// <param name="cell">The cell.</param>
    /// <param name="input">x, [batch, steps, inputs], as given to the forward pass.</param>
    /// <param name="parameters">The layer's parameter block.</param>
    /// <param name="gates">The forward pass's activated gates; overwritten with gradients.</param>
    /// <param name="hidden">The forward pass's hidden states.</param>
    /// <param name="cells">LSTM: the forward pass's cell states; otherwise empty.</param>
    /// <param name="newGate">GRU: the forward pass's <c>W_hn h + b_hn</c>; otherwise empty.</param>
    /// <param name="delta">∂L/∂output: [batch, steps, units] when <paramref name="returnSequences"/>, else [batch, units] (the last step's).</param>
    /// <param name="returnSequences">Whether the layer's output is every step's hidden state.</param>
    /// <param name="gradients">The layer's gradient block, overwritten.</param>
    /// <param name="inputGradient">∂L/∂x, [batch, steps, inputs]; empty when nothing needs it.</param>
    /// <param name="carry">[batch, units]: ∂L/∂h carried between steps.</param>
    /// <param name="cellCarry">LSTM: [batch, units], ∂L/∂c carried between steps; otherwise empty.</param>
    /// <param name="hiddenDeltas">GRU: [batch, steps, G·units], the recurrent projections' gradients; otherwise empty (they equal the gates').</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/> floats: the weights in [G·units, n] layout.</param>
    /// <param name="batch">Samples.</param>
    /// <param name="steps">Steps per sample.</param>
    /// <param name="inputs">Features per step.</param>
    /// <param name="units">Hidden units.</param>
    /// <param name="threads">The most threads the products may use; results do not depend on it.</param>
    /// <param name="update">The optimizer step for the layer's block, or default for none.</param>
    public static void Backward(
        RecurrentCell cell, ReadOnlySpan<float> input, ReadOnlySpan<float> parameters,
        Span<float> gates, ReadOnlySpan<float> hidden, ReadOnlySpan<float> cells, ReadOnlySpan<float> newGate,
        ReadOnlySpan<float> delta, bool returnSequences,
        Span<float> gradients, Span<float> inputGradient,
        Span<float> carry, Span<float> cellCarry, Span<float> hiddenDeltas, Span<float> scratch,
        int batch, int steps, int inputs, int units, int threads = 1, ParameterUpdate update = default)
    {
        int g = Gates(cell), width = g * units, count = ParameterCount(cell, inputs, units);
        Check(cell, input, parameters, gates, hidden, cells, newGate, batch, steps, inputs, units);
        long sequence = (long)batch * steps;
        if (delta.Length < (returnSequences ? sequence : batch) * units || gradients.Length < count || carry.Length < (long)batch * units
            || (cell == RecurrentCell.Lstm && cellCarry.Length < (long)batch * units)
            || (cell == RecurrentCell.Gru && hiddenDeltas.Length < sequence * width)
            || (!inputGradient.IsEmpty && inputGradient.Length < sequence * inputs)
            || scratch.Length < ScratchLength(cell, inputs, units, !inputGradient.IsEmpty)
            || (update.Optimizer is not null && (update.WeightOffset < 0 || update.Parameters.Length < (long)update.WeightOffset + count)))
        {
            throw new ArgumentException($"Recurrent.Backward: a buffer does not fit batch {batch}, {steps} steps, {inputs} inputs and {units} units, or the update's offset falls outside the parameter block.");
        }
        var weightIh = parameters[..(inputs * width)];
        var weightHh = parameters.Slice(inputs * width, units * width);
        var gradientIh = gradients[..(inputs * width)];
        var gradientHh = gradients.Slice(inputs * width, units * width);
        var gradientBiasIh = gradients.Slice((inputs + units) * width, width);
        var gradientBiasHh = gradients.Slice((inputs + units + 1) * width, width);
        if (batch == 0)
        {
            gradients[..count].Clear();
            return;
        }

        // W_hh as [G·units, units], so ∂L/∂h_(t-1) = δ_hh W_hh is a broadcast-form product.
        Span<float> recurrentWeight = scratch[..(width * units)];
        for (int j0 = 0; j0 < width; j0 += PanelWidth)
        {
            int columns = Math.Min(PanelWidth, width - j0);
            Vectors.Transpose(weightHh.Slice(units * j0, units * columns), units, columns, recurrentWeight.Slice(j0 * units, columns * units));
        }

        Span<float> dh = carry[..(batch * units)];
        if (returnSequences)
        {
            dh.Clear();
        }
        else
        {
            delta[..(batch * units)].CopyTo(dh);
        }
        if (cell == RecurrentCell.Lstm)
        {
            cellCarry[..(batch * units)].Clear();
        }
        Span<float> projectionDeltas = cell == RecurrentCell.Gru ? hiddenDeltas : gates;
        for (int t = steps - 1; t >= 0; t--)
        {
            for (int b = 0; b < batch; b++)
            {
                int at = b * steps + t;
                Span<float> gate = gates.Slice(at * width, width);
                Span<float> h = dh.Slice(b * units, units);
                if (returnSequences)
                {
                    Vectors.Add(h, delta.Slice(at * units, units));
                }
                ReadOnlySpan<float> previous = t == 0 ? default : hidden.Slice((at - 1) * units, units);
                switch (cell)
                {
                    case RecurrentCell.Lstm:
                        LstmBack(gate, cells.Slice(at * units, units), t == 0 ? default : cells.Slice((at - 1) * units, units), h, cellCarry.Slice(b * units, units), units);
                        break;
                    case RecurrentCell.Gru:
                        GruBack(gate, newGate.Slice(at * units, units), previous, h, hiddenDeltas.Slice(at * width, width), units);
                        break;
                    default:
                        SimpleRnnBack(gate, h, units);
                        break;
                }
            }
            if (t > 0)
            {
                // ∂L/∂h_(t-1) = δ_hh(t) W_hh (+ the GRU's direct path z ⊙ ∂L/∂h_t, already in the carry).
                Gemm.Multiply(batch, units, width, projectionDeltas[(t * width)..], steps * width, 1, recurrentWeight, units, dh, units,
                    default, accumulate: cell == RecurrentCell.Gru, threads);
            }
        }

        // Weight gradients over every step: ∂L/∂W_ihᵀ = Σ x_tᵀ δ_ih(t); ∂L/∂W_hhᵀ = Σ_(t ≥ 1) h_(t-1)ᵀ δ_hh(t).
        Gemm.Multiply(inputs, width, batch * steps, input, 1, inputs, gates, width, gradientIh, width, default, accumulate: false, threads);
        gradientHh.Clear();
        for (int t = 1; t < steps; t++)
        {
            for (int j0 = 0; j0 < width; j0 += PanelWidth)
            {
                int columns = Math.Min(PanelWidth, width - j0);
                Gemm.Multiply(units, columns, batch, hidden[((t - 1) * units)..], 1, steps * units, projectionDeltas[(t * width + j0)..], steps * width,
                    gradientHh.Slice(units * j0, units * columns), columns, default, accumulate: true, threads);
            }
        }
        gradientBiasIh.Clear();
        gradientBiasHh.Clear();
        for (int at = 0; at < batch * steps; at++)
        {
            Vectors.Add(gradientBiasIh, gates.Slice(at * width, width));
            if (cell == RecurrentCell.Gru)
            {
                Vectors.Add(gradientBiasHh, hiddenDeltas.Slice(at * width, width));
            }
        }
        if (cell != RecurrentCell.Gru)
        {
            gradientBiasIh.CopyTo(gradientBiasHh);
        }

        // ∂L/∂x = δ_ih W_ih, before any update changes W_ih.
        if (!inputGradient.IsEmpty)
        {
            Span<float> inputWeight = scratch.Slice(width * units, width * inputs);
            Vectors.Transpose(weightIh, inputs, width, inputWeight);
            Gemm.Multiply(batch * steps, inputs, width, gates, width, 1, inputWeight, inputs, inputGradient, inputs, default, accumulate: false, threads);
        }

        if (update.Optimizer is { } optimizer)
        {
            optimizer.UpdatePart(update.Parameters.Slice(update.WeightOffset, count), gradients[..count], update.WeightOffset);
        }
    }

    /// <summary>Scratch floats <see cref="Backward"/> needs: <c>W_hh</c> transposed, and <c>W_ih</c> too when it computes the input gradient.</summary>
    public static int ScratchLength(RecurrentCell cell, int inputs, int units, bool inputGradient)
        => Gates(cell) * units * (units + (inputGradient ? inputs : 0));

    private static void SimpleRnnBack(Span<float> gate, ReadOnlySpan<float> dh, int units)
    {
        int j = Vector512.IsHardwareAccelerated ? RecurrentCells<Simd512, Vector512<float>>.SimpleRnnBack(gate, dh, units)
            : Vector256.IsHardwareAccelerated ? RecurrentCells<Simd256, Vector256<float>>.SimpleRnnBack(gate, dh, units)
            : RecurrentCells<Simd128, Vector128<float>>.SimpleRnnBack(gate, dh, units);
        for (; j < units; j++)
        {
            float y = gate[j];
            gate[j] = dh[j] * (1f - y * y);
        }
    }

    private static void LstmBack(Span<float> gate, ReadOnlySpan<float> c, ReadOnlySpan<float> previousC, Span<float> dh, Span<float> dc, int units)
    {
        int j = Vector512.IsHardwareAccelerated ? RecurrentCells<Simd512, Vector512<float>>.LstmBack(gate, c, previousC, dh, dc, units)
            : Vector256.IsHardwareAccelerated ? RecurrentCells<Simd256, Vector256<float>>.LstmBack(gate, c, previousC, dh, dc, units)
            : RecurrentCells<Simd128, Vector128<float>>.LstmBack(gate, c, previousC, dh, dc, units);
        for (; j < units; j++)
        {
            float i = gate[j], f = gate[units + j], g = gate[2 * units + j], o = gate[3 * units + j];
            float tc = Tanh(c[j]);
            float dcell = ScalarMath.MultiplyAdd(dh[j] * o, 1f - tc * tc, dc[j]);
            gate[j] = dcell * g * (i * (1f - i));
            gate[units + j] = previousC.IsEmpty ? 0f : dcell * previousC[j] * (f * (1f - f));
            gate[2 * units + j] = dcell * i * (1f - g * g);
            gate[3 * units + j] = dh[j] * tc * (o * (1f - o));
            dc[j] = dcell * f;
        }
    }

    private static void GruBack(Span<float> gate, ReadOnlySpan<float> newGate, ReadOnlySpan<float> previous, Span<float> dh, Span<float> hiddenDelta, int units)
    {
        int j = Vector512.IsHardwareAccelerated ? RecurrentCells<Simd512, Vector512<float>>.GruBack(gate, newGate, previous, dh, hiddenDelta, units)
            : Vector256.IsHardwareAccelerated ? RecurrentCells<Simd256, Vector256<float>>.GruBack(gate, newGate, previous, dh, hiddenDelta, units)
            : RecurrentCells<Simd128, Vector128<float>>.GruBack(gate, newGate, previous, dh, hiddenDelta, units);
        for (; j < units; j++)
        {
            float r = gate[j], z = gate[units + j], n = gate[2 * units + j];
            float d = dh[j];
            float hPrevious = previous.IsEmpty ? 0f : previous[j];
            float dn = d * (1f - z) * (1f - n * n);
            float dz = d * (hPrevious - n) * (z * (1f - z));
            float dr = dn * newGate[j] * (r * (1f - r));
            gate[j] = hiddenDelta[j] = dr;
            gate[units + j] = hiddenDelta[units + j] = dz;
            gate[2 * units + j] = dn;
            hiddenDelta[2 * units + j] = dn * r;
            dh[j] = d * z;
        }
    }

    private static void Check(
        RecurrentCell cell, ReadOnlySpan<float> input, ReadOnlySpan<float> parameters, ReadOnlySpan<float> gates, ReadOnlySpan<float> hidden,
        ReadOnlySpan<float> cells, ReadOnlySpan<float> newGate, int batch, int steps, int inputs, int units)
    {
        long sequence = (long)batch * steps;
        int width = Gates(cell) * units;
        if (batch < 0 || steps < 1 || inputs < 1 || units < 1 || input.Length < sequence * inputs || parameters.Length < ParameterCount(cell, inputs, units)
            || gates.Length < sequence * width || hidden.Length < sequence * units
            || (cell == RecurrentCell.Lstm && cells.Length < sequence * units) || (cell == RecurrentCell.Gru && newGate.Length < sequence * units))
        {
            throw new ArgumentException($"Recurrent: a buffer does not fit batch {batch}, {steps} steps, {inputs} inputs and {units} units of a {cell} layer.");
        }
    }
}
