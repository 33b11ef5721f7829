using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// The geometry of a 2-D convolution or pooling window over one [channels, height, width] sample: input size, window,
/// stride and padding, and the output size they give (floor mode, as PyTorch).
/// </summary>
/// <param name="Channels">Input channels.</param>
/// <param name="Height">Input height.</param>
/// <param name="Width">Input width.</param>
/// <param name="Kernel">The window's height and width.</param>
/// <param name="Stride">The step between windows.</param>
/// <param name="Padding">Zeros on every side (0 for pooling).</param>
public readonly record struct Window2D(int Channels, int Height, int Width, int Kernel, int Stride, int Padding)
{
    /// <summary>Output height: <c>(Height + 2 Padding - Kernel) / Stride + 1</c>.</summary>
    public int OutputHeight => (Height + 2 * Padding - Kernel) / Stride + 1;

    /// <summary>Output width: <c>(Width + 2 Padding - Kernel) / Stride + 1</c>.</summary>
    public int OutputWidth => (Width + 2 * Padding - Kernel) / Stride + 1;

    /// <summary>Values of one input sample.</summary>
    public int InputLength => Channels * Height * Width;

    /// <summary>Output positions per channel.</summary>
    public int OutputPlane => OutputHeight * OutputWidth;

    /// <summary>Rows of the column matrix: one per (channel, kernel row, kernel column).</summary>
    public int Patch => Channels * Kernel * Kernel;

    /// <summary>Whether the column matrix is the input itself (a 1×1 kernel, stride 1, no padding).</summary>
    public bool IsPointwise => Kernel == 1 && Stride == 1 && Padding == 0;

    /// <summary>
    /// The geometry as given (<c>3×3 window, stride 1, padding 1 over [16, 14, 14]</c>). Not the record's generated form,
    /// which prints the computed output size too, and so divided by a stride of 0 while describing it.
    /// </summary>
    public override string ToString() => $"{Kernel}×{Kernel} window, stride {Stride}, padding {Padding} over [{Channels}, {Height}, {Width}]";

    internal void Check(string kernel)
    {
        if (Channels < 1 || Height < 1 || Width < 1 || Kernel < 1 || Stride < 1 || Padding < 0
            || Height + 2 * Padding < Kernel || Width + 2 * Padding < Kernel)
        {
            throw new ArgumentException($"{kernel}: the {this} does not fit.");
        }
    }
}

/// <summary>
/// 2-D convolution (<c>nn.Conv2d</c>), batches NCHW, the weight [filters, channels, k, k] as PyTorch's, by one of two
/// methods chosen from the window alone (the generator makes the same choice to size the scratch):
/// <list type="bullet">
/// <item>Stride 1 (the usual 3×3 "same" convolution): the direct method of <see cref="DirectConvolution"/>. Each sample is
/// copied once into zero-padded planes (kept in the layer's column buffer for the weight gradient, about 1.3x the input
/// rather than the column matrix's k² times) and the products read shifted views of it; about twice as fast as
/// unfolding at the Fashion-MNIST CNN's shapes.</item>
/// <item>Otherwise: each sample's input is unfolded into a column matrix (im2col, [channels × k × k, output positions]),
/// so the forward pass is <c>Z = W · cols</c>, the weight gradient <c>ΔZ · colsᵀ</c>, and the input gradient
/// <c>Wᵀ · ΔZ</c> folded back (col2im), on the packed matrix kernels. A 1×1 convolution with stride 1 and no padding
/// uses the input itself.</item>
/// </list>
/// </summary>
public static class Convolution
{
    /// <summary>
    /// The forward pass of a batch: <c>cols = im2col(x)</c>, <c>z = W · cols + b</c>, <c>y = f(z)</c>, per sample.
    /// When <typeparamref name="TActivation"/> fuses into a product, <paramref name="z"/> and <paramref name="y"/> may be
    /// the same memory.
    /// </summary>
    /// <param name="input">The batch, [batch, channels, height, width].</param>
    /// <param name="weights">The weight, [filters, channels × k × k].</param>
    /// <param name="bias">The bias [filters], or empty for none.</param>
    /// <param name="columns">The column matrices, [batch, patch, output positions]; empty for a pointwise window.</param>
    /// <param name="z">The pre-activation, [batch, filters, output positions].</param>
    /// <param name="y">The output, same shape.</param>
    /// <param name="batch">The samples.</param>
    /// <param name="window">The geometry.</param>
    /// <param name="filters">The output channels.</param>
    /// <param name="threads">The most threads each product may use.</param>
    public static void Forward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias,
        Span<float> columns, Span<float> z, Span<float> y, int batch, Window2D window, int filters, int threads)
        where TActivation : struct, IActivation
    {
        window.Check("Convolution.Forward");
        bool direct = DirectConvolution.Applies(window, filters);
        int patch = window.Patch, plane = window.OutputPlane, output = filters * plane;
        Require(input.Length >= batch * window.InputLength && weights.Length == filters * patch
            && (bias.IsEmpty || bias.Length == filters) && z.Length >= batch * output && y.Length >= batch * output
            && columns.Length >= (long)batch * ColumnsFor(window, direct), "Convolution.Forward");
        if (direct)
        {
            if (threads > 1 && batch > 1 && (long)batch * output * patch >= Workers.MinimumWork
                && DirectJob<TActivation>.TryRun(input, weights, bias, columns, z, y, batch, window, filters, threads))
            {
                return;
            }
            ForwardDirect<TActivation>(input, weights, bias, columns, z, y, 0, batch, window, filters);
            return;
        }
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> cols = Columns(input.Slice(n * window.InputLength, window.InputLength), columns, n, window);
            Span<float> zn = z.Slice(n * output, output);
            Gemm.Multiply(filters, plane, patch, weights, patch, 1, cols, plane, zn, plane, default, accumulate: false, threads);
            if (!bias.IsEmpty)
            {
                for (int f = 0; f < filters; f++)
                {
                    Vectors.AddScalar(zn.Slice(f * plane, plane), bias[f]);
                }
            }
            // Sample by sample, while its z is still in cache.
            TActivation.Forward(zn, y.Slice(n * output, output), 1, output);
        }
    }

    /// <summary>The smallest batch for which the fused pass transposes the weights to put filters along the vectors
    /// (<see cref="DirectConvolution.CorrelatePooledBlocked{TA}"/>): the transposition costs about what one sample gains.</summary>
    private const int BlockedBatch = 2;

    /// <summary>Weights this small (a first convolution's, 16 × 1 × 3 × 3) are transposed for a single sample too: well under a
    /// microsecond.</summary>
    private const int BlockedAlwaysWeights = 1024;

    /// <summary>
    /// Inference: <see cref="Forward{TActivation}"/> and a 2×2, stride-2 max pooling of its output in one pass, where the
    /// direct path applies (<see cref="DirectConvolution.CorrelatePooled{TA}"/>: stride 1, the 512-bit path, an activation
    /// applied in registers, one thread): the convolution's output never goes to memory. Elsewhere the two layers run one
    /// after the other, through <paramref name="z"/>, <paramref name="y"/> and <paramref name="indices"/>. The pooled values are
    /// the same either way, bit for bit.
    /// </summary>
    /// <typeparam name="TActivation">The convolution's activation, applied before the pooling.</typeparam>
    /// <param name="input">[batch, channels, height, width].</param>
    /// <param name="weights">[filters, patch].</param>
    /// <param name="bias">[filters], or empty.</param>
    /// <param name="columns">The convolution's column buffer (each sample's padded copy on the direct path).</param>
    /// <param name="z">The convolution's pre-activation buffer (used only when the pass is not fused).</param>
    /// <param name="y">The convolution's output buffer (used only when the pass is not fused; the channel-blocked pass keeps the
    /// transposed weights there).</param>
    /// <param name="pooled">[batch, filters, outHeight / 2, outWidth / 2]: the pooling layer's output, overwritten.</param>
    /// <param name="indices">The pooling layer's index buffer (written only when the pass is not fused).</param>
    /// <param name="batch">The samples.</param>
    /// <param name="window">The convolution's geometry.</param>
    /// <param name="filters">The output channels.</param>
    /// <param name="threads">The most threads; with more than one, a batch is split by samples, not fused.</param>
    public static void ForwardPooled<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias,
        Span<float> columns, Span<float> z, Span<float> y, Span<float> pooled, Span<int> indices, int batch, Window2D window, int filters, int threads)
        where TActivation : struct, IActivation
    {
        window.Check("Convolution.ForwardPooled");
        var pool = new Window2D(filters, window.OutputHeight, window.OutputWidth, 2, 2, 0);
        if (!DirectConvolution.Applies(window, filters) || !DirectConvolution.PoolingApplies<TActivation>() || (threads > 1 && batch > 1))
        {
            Forward<TActivation>(input, weights, bias, columns, z, y, batch, window, filters, threads);
            Pooling.MaxForward(y, pooled, indices, batch, pool);
            return;
        }
        int output = filters * pool.OutputPlane;
        Require(input.Length >= batch * window.InputLength && weights.Length == filters * window.Patch && (bias.IsEmpty || bias.Length == filters)
            && pooled.Length >= batch * output && columns.Length >= batch * DirectConvolution.PaddedSlot(window), "Convolution.ForwardPooled");
        if ((batch >= BlockedBatch || filters * window.Patch <= BlockedAlwaysWeights) && DirectConvolution.BlockedApplies<TActivation>(filters)
            && y.Length >= filters * window.Patch)
        {
            Span<float> transposed = y[..(filters * window.Patch)];
            DirectConvolution.TransposeWeights(weights, transposed, filters, window.Patch);
            for (int n = 0; n < batch; n++)
            {
                Span<float> xp = PadSample(input, columns, n, window, out int pitch, out int planeStride);
                DirectConvolution.CorrelatePooledBlocked<TActivation>(xp, window.Channels, planeStride, pitch, window.Kernel, transposed, bias, filters,
                    pooled.Slice(n * output, output), window.OutputHeight, window.OutputWidth);
            }
            return;
        }
        for (int n = 0; n < batch; n++)
        {
            Span<float> xp = PadSample(input, columns, n, window, out int pitch, out int planeStride);
            DirectConvolution.CorrelatePooled<TActivation>(xp, window.Channels, planeStride, pitch, window.Kernel, weights, bias, filters,
                pooled.Slice(n * output, output), window.OutputHeight, window.OutputWidth);
        }
    }

    /// <summary>
    /// The backward pass of a batch, from <c>∂L/∂y</c> in <paramref name="delta"/> (turned into <c>∂L/∂z</c> in place):
    /// the weight and bias gradients (overwritten) and, unless <paramref name="inputDelta"/> is empty, <c>∂L/∂x</c>
    /// (overwritten). With an update, the weight and bias are stepped once their gradients are complete and the input
    /// gradient has used the old weights.
    /// </summary>
    /// <param name="input">The forward pass's input.</param>
    /// <param name="weights">The weight, [filters, patch].</param>
    /// <param name="columns">The forward pass's column matrices (empty for a pointwise window).</param>
    /// <param name="z">The forward pass's pre-activation (the output itself for activations that fuse).</param>
    /// <param name="y">The forward pass's output.</param>
    /// <param name="delta">∂L/∂y on entry, ∂L/∂z on return.</param>
    /// <param name="weightGradient">∂L/∂W, [filters, patch].</param>
    /// <param name="biasGradient">∂L/∂b [filters], or empty without a bias.</param>
    /// <param name="inputDelta">∂L/∂x, or empty for the first layer.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/> floats.</param>
    /// <param name="batch">The samples.</param>
    /// <param name="window">The geometry.</param>
    /// <param name="filters">The output channels.</param>
    /// <param name="update">The optimizer step to apply to the weight (at <c>WeightOffset</c>) and bias, or default.</param>
    public static void Backward<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> columns,
        ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta,
        Span<float> weightGradient, Span<float> biasGradient, Span<float> inputDelta, Span<float> scratch,
        int batch, Window2D window, int filters, ParameterUpdate update = default)
        where TActivation : struct, IActivation
    {
        window.Check("Convolution.Backward");
        bool direct = DirectConvolution.Applies(window, filters);
        int patch = window.Patch, plane = window.OutputPlane, output = filters * plane;
        Require(input.Length >= batch * window.InputLength && weights.Length == filters * patch
            && weightGradient.Length == filters * patch && delta.Length >= batch * output
            && (inputDelta.IsEmpty || inputDelta.Length >= batch * window.InputLength)
            && scratch.Length >= ScratchFor(window, filters, !inputDelta.IsEmpty, direct)
            && columns.Length >= (long)batch * ColumnsFor(window, direct), "Convolution.Backward");

        if (direct)
        {
            BackwardDirect<TActivation>(weights, columns, z, y, delta, weightGradient, biasGradient, inputDelta, scratch, batch, window, filters);
        }
        else
        {
            BackwardUnfolded<TActivation>(input, weights, columns, z, y, delta, weightGradient, biasGradient, inputDelta, scratch, batch, window, filters);
        }

        if (update.Optimizer is { } optimizer)
        {
            optimizer.UpdatePart(update.Parameters.Slice(update.WeightOffset, filters * patch), weightGradient, update.WeightOffset);
            if (!biasGradient.IsEmpty)
            {
                optimizer.UpdatePart(update.Parameters.Slice(update.BiasOffset, filters), biasGradient, update.BiasOffset);
            }
        }
    }

    /// <summary>
    /// The direct path's forward pass for samples [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>):
    /// each sample padded into its slot of <paramref name="columns"/> (kept for the weight gradient) and correlated with the
    /// weight, the bias and a fusing activation applied as the results leave the registers.
    /// </summary>
    private static void ForwardDirect<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias,
        Span<float> columns, Span<float> z, Span<float> y, int first, int count, Window2D window, int filters)
        where TActivation : struct, IActivation
    {
        int output = filters * window.OutputPlane;
        bool fused = TActivation.FusesIntoProduct && Unsafe.AreSame(ref MemoryMarshal.GetReference(z), ref MemoryMarshal.GetReference(y));
        for (int n = first; n < first + count; n++)
        {
            Span<float> xp = PadSample(input, columns, n, window, out int pitch, out int planeStride);
            Span<float> yn = y.Slice(n * output, output);
            if (fused)
            {
                DirectConvolution.Correlate<TActivation>(xp, window.Channels, planeStride, pitch, window.Kernel, weights, bias, filters, yn, window.OutputHeight, window.OutputWidth);
            }
            else
            {
                Span<float> zn = z.Slice(n * output, output);
                DirectConvolution.Correlate<Identity>(xp, window.Channels, planeStride, pitch, window.Kernel, weights, bias, filters, zn, window.OutputHeight, window.OutputWidth);
                TActivation.Forward(zn, yn, 1, output);
            }
        }
    }

    /// <summary>
    /// Sample <paramref name="n"/>'s zero-padded copy, written into its slot of the column buffer (the direct path keeps
    /// it for the weight gradient), with the copy's row pitch and plane stride.
    /// </summary>
    private static Span<float> PadSample(ReadOnlySpan<float> input, Span<float> columns, int n, Window2D window, out int pitch, out int planeStride)
    {
        int p = window.Padding;
        pitch = window.Width + 2 * p;
        planeStride = (window.Height + 2 * p) * pitch;
        Span<float> xp = columns.Slice(n * (int)DirectConvolution.PaddedSlot(window), (int)DirectConvolution.PaddedLength(window));
        DirectConvolution.Pad(input.Slice(n * window.InputLength, window.InputLength), xp, window.Channels, window.Height, window.Width, p, window.Kernel);
        return xp;
    }

    /// <summary>The direct forward pass split by samples over the worker threads (each sample's slots are its own).</summary>
    private sealed unsafe class DirectJob<TActivation> : Workers.Job where TActivation : struct, IActivation
    {
        [ThreadStatic]
        private static DirectJob<TActivation>? s_job;

        private float* _input, _weights, _bias, _columns, _z, _y;
        private int _inputLength, _weightLength, _biasLength, _columnLength, _outputLength, _batch, _filters;
        private Window2D _window;

        public static bool TryRun(ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias,
            Span<float> columns, Span<float> z, Span<float> y, int batch, Window2D window, int filters, int threads)
        {
            var job = s_job ??= new DirectJob<TActivation>();
            // The callers' buffers stay pinned while the helpers read and write them; the job forgets them on return.
            fixed (float* pi = input, pw = weights, pb = bias, pc = columns, pz = z, py = y)
            {
                job._input = pi; job._weights = pw; job._bias = pb; job._columns = pc; job._z = pz; job._y = py;
                job._inputLength = input.Length; job._weightLength = weights.Length; job._biasLength = bias.Length;
                job._columnLength = columns.Length; job._outputLength = Math.Min(z.Length, y.Length);
                job._batch = batch; job._window = window; job._filters = filters;
                try
                {
                    return Workers.TryRun(job, Math.Min(threads, batch));
                }
                finally
                {
                    job._input = job._weights = job._bias = job._columns = job._z = job._y = null;
                }
            }
        }

        public override void Execute(int part)
        {
            var (start, count) = Workers.Split(_batch, part, Parts, 1);
            if (count > 0)
            {
                var z = new Span<float>(_z, _outputLength);
                var y = _z == _y ? z : new Span<float>(_y, _outputLength);
                ForwardDirect<TActivation>(new ReadOnlySpan<float>(_input, _inputLength), new ReadOnlySpan<float>(_weights, _weightLength),
                    new ReadOnlySpan<float>(_bias, _biasLength), new Span<float>(_columns, _columnLength), z, y, start, count, _window, _filters);
            }
        }
    }

    /// <summary>
    /// The direct path's backward pass: per sample ∂L/∂z, the bias gradient, the output gradient laid on the padded input's
    /// grid for the weight gradient (a group of samples per pass), and the input gradient as the correlation of the output
    /// gradient, padded by <c>k - 1 - p</c>, with the flipped, transposed weight.
    /// </summary>
    private static void BackwardDirect<TActivation>(
        ReadOnlySpan<float> weights, ReadOnlySpan<float> columns, ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta,
        Span<float> weightGradient, Span<float> biasGradient, Span<float> inputDelta, Span<float> scratch,
        int batch, Window2D window, int filters)
        where TActivation : struct, IActivation
    {
        int patch = window.Patch, plane = window.OutputPlane, output = filters * plane, slot = (int)DirectConvolution.PaddedSlot(window);
        int k = window.Kernel, p = window.Padding, q = k - 1 - p, oh = window.OutputHeight, ow = window.OutputWidth;
        int pitch = window.Width + 2 * p, planeStride = (window.Height + 2 * p) * pitch;
        int deltaPitch = ow + 2 * q, deltaPlane = (oh + 2 * q) * deltaPitch;
        var (deltaAt, gridsAt, _) = DirectConvolution.ScratchLayout(window, filters, !inputDelta.IsEmpty);
        int group = DirectConvolution.Group(window), gridLength = DirectConvolution.GridLength(window);
        Span<float> flipped = scratch[..(filters * patch)];
        Span<float> paddedDelta = scratch[(int)deltaAt..(int)gridsAt];
        Span<float> grids = scratch.Slice((int)gridsAt, group * filters * gridLength);
        if (!inputDelta.IsEmpty)
        {
            DirectConvolution.FlipTranspose(weights, flipped, filters, window.Channels, k);
        }
        biasGradient.Clear();
        weightGradient.Clear();
        for (int n0 = 0; n0 < batch; n0 += group)
        {
            int samples = Math.Min(group, batch - n0);
            for (int i = 0; i < samples; i++)
            {
                int n = n0 + i;
                Span<float> dz = delta.Slice(n * output, output);
                TActivation.Backward(z.Slice(n * output, output), y.Slice(n * output, output), dz, 1, output);
                if (!biasGradient.IsEmpty)
                {
                    for (int f = 0; f < filters; f++)
                    {
                        biasGradient[f] += Vectors.Sum(dz.Slice(f * plane, plane));
                    }
                }
                DirectConvolution.ToGrid(dz, grids.Slice(i * filters * gridLength, filters * gridLength), filters, oh, ow, pitch, gridLength);
                if (!inputDelta.IsEmpty)
                {
                    DirectConvolution.Pad(dz, paddedDelta, filters, oh, ow, q, k);
                    DirectConvolution.Correlate<Identity>(paddedDelta, filters, deltaPlane, deltaPitch, k, flipped, default, window.Channels,
                        inputDelta.Slice(n * window.InputLength, window.InputLength), window.Height, window.Width);
                }
            }
            DirectConvolution.AccumulateWeightGradient(grids, gridLength, columns[(n0 * slot)..], slot, samples,
                window.Channels, planeStride, pitch, k, filters, weightGradient);
        }
    }

    /// <summary>The unfolded (im2col) path's backward pass, for strides above 1 and windows the direct path does not take.</summary>
    private static void BackwardUnfolded<TActivation>(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> columns,
        ReadOnlySpan<float> z, ReadOnlySpan<float> y, Span<float> delta,
        Span<float> weightGradient, Span<float> biasGradient, Span<float> inputDelta, Span<float> scratch,
        int batch, Window2D window, int filters)
        where TActivation : struct, IActivation
    {
        int patch = window.Patch, plane = window.OutputPlane, output = filters * plane;
        // Sample by sample, each sample's ∂L/∂z used while it is in cache: the bias (the sum of ∂L/∂z over the
        // positions of each filter), the weight (Σ_n ΔZ_n · cols_nᵀ, each sample's product into scratch, then added in
        // sample order) and the input (Wᵀ · ΔZ_n, folded back onto the input positions: col2im).
        biasGradient.Clear();
        Span<float> product = scratch[..(filters * patch)];
        Span<float> unfolded = inputDelta.IsEmpty || window.IsPointwise ? default : scratch.Slice(filters * patch, patch * plane);
        for (int n = 0; n < batch; n++)
        {
            Span<float> dz = delta.Slice(n * output, output);
            TActivation.Backward(z.Slice(n * output, output), y.Slice(n * output, output), dz, 1, output);
            if (!biasGradient.IsEmpty)
            {
                for (int f = 0; f < filters; f++)
                {
                    biasGradient[f] += Vectors.Sum(dz.Slice(f * plane, plane));
                }
            }

            ReadOnlySpan<float> cols = window.IsPointwise ? input.Slice(n * window.InputLength, window.InputLength) : columns.Slice(n * patch * plane, patch * plane);
            Gemm.MultiplyTransposed(filters, patch, plane, dz, plane, cols, plane, n == 0 ? weightGradient : product, patch);
            if (n > 0)
            {
                Vectors.Add(weightGradient, product);
            }

            if (!inputDelta.IsEmpty)
            {
                Span<float> dx = inputDelta.Slice(n * window.InputLength, window.InputLength);
                Gemm.Multiply(patch, plane, filters, weights, 1, patch, dz, plane, window.IsPointwise ? dx : unfolded, plane, default, accumulate: false);
                if (!window.IsPointwise)
                {
                    Fold(unfolded, dx, window);
                }
            }
        }
    }

    /// <summary>
    /// Floats per sample of the column buffer that <see cref="Forward"/> fills and <see cref="Backward"/> reads: the
    /// zero-padded input (rounded up to a cache line) on the direct path, the column matrix
    /// (<c>channels × k × k × output positions</c>) on the unfolded path, none for a pointwise window.
    /// </summary>
    public static int ColumnLength(Window2D window, int filters) => ColumnsFor(window, DirectConvolution.Applies(window, filters));

    private static int ColumnsFor(Window2D window, bool direct)
        => direct ? (int)DirectConvolution.PaddedSlot(window) : window.IsPointwise ? 0 : window.Patch * window.OutputPlane;

    /// <summary>
    /// Scratch floats <see cref="Backward"/> needs. Direct path: the flipped weight and the padded output gradient (for ∂L/∂x)
    /// and a group of output gradients on the input's grid. Unfolded path: one weight-gradient product, and one unfolded
    /// input gradient when it computes ∂L/∂x.
    /// </summary>
    public static int ScratchLength(Window2D window, int filters, bool inputGradient)
        => ScratchFor(window, filters, inputGradient, DirectConvolution.Applies(window, filters));

    private static int ScratchFor(Window2D window, int filters, bool inputGradient, bool direct)
        => direct
            ? (int)DirectConvolution.ScratchLayout(window, filters, inputGradient).Length
            : filters * window.Patch + (inputGradient && !window.IsPointwise ? window.Patch * window.OutputPlane : 0);

    /// <summary>Sample <paramref name="n"/>'s column matrix: unfolded into its rows of <paramref name="columns"/>, or the input itself when pointwise.</summary>
    private static ReadOnlySpan<float> Columns(ReadOnlySpan<float> x, Span<float> columns, int n, Window2D window)
    {
        if (window.IsPointwise)
        {
            return x;
        }
        int length = window.Patch * window.OutputPlane;
        Span<float> cols = columns.Slice(n * length, length);
        Unfold(x, cols, window);
        return cols;
    }

    /// <summary>
    /// im2col: <c>cols[(c, ky, kx), (oy, ox)] = x[c, oy s - p + ky, ox s - p + kx]</c>, zero outside the input. The lines are
    /// short (an output row of 14 or 28 values in the CNN): at 21 µs per 28,224 values for the CNN's conv2, this pass
    /// takes as long as the product it feeds, and is the next thing to fold into the product's packing.
    /// </summary>
    /// <exception cref="ArgumentException">A buffer does not fit the window.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unfold(ReadOnlySpan<float> x, Span<float> cols, Window2D w)
    {
        w.Check("Convolution.Unfold");
        if (x.Length < w.InputLength || cols.Length < w.Patch * w.OutputPlane)
        {
            throw new ArgumentException("Convolution.Unfold: a buffer does not fit the window.");
        }
        int oh = w.OutputHeight, ow = w.OutputWidth, row = 0, s = w.Stride, p = w.Padding, width = w.Width, height = w.Height;
        ref float source = ref MemoryMarshal.GetReference(x);
        ref float target = ref MemoryMarshal.GetReference(cols);
        for (int c = 0; c < w.Channels; c++)
        {
            ref float channel = ref Unsafe.Add(ref source, c * height * width);
            for (int ky = 0; ky < w.Kernel; ky++)
            {
                for (int kx = 0; kx < w.Kernel; kx++, row++)
                {
                    ref float rowStart = ref Unsafe.Add(ref target, row * oh * ow);
                    // The output columns whose input column ox s - p + kx lies in [0, width).
                    int first = Math.Min(ow, Math.Max(0, CeilDiv(p - kx, s)));
                    int last = Math.Max(first, Math.Min(ow, CeilDiv(width + p - kx, s)));
                    for (int oy = 0; oy < oh; oy++)
                    {
                        ref float line = ref Unsafe.Add(ref rowStart, oy * ow);
                        int iy = oy * s - p + ky;
                        if (iy < 0 || iy >= height)
                        {
                            for (int ox = 0; ox < ow; ox++)
                            {
                                Unsafe.Add(ref line, ox) = 0f;
                            }
                            continue;
                        }
                        for (int ox = 0; ox < first; ox++)
                        {
                            Unsafe.Add(ref line, ox) = 0f;
                        }
                        ref float input = ref Unsafe.Add(ref channel, iy * width + first * s - p + kx);
                        if (s == 1)
                        {
                            for (int ox = first; ox < last; ox++)
                            {
                                Unsafe.Add(ref line, ox) = Unsafe.Add(ref input, ox - first);
                            }
                        }
                        else
                        {
                            for (int ox = first; ox < last; ox++)
                            {
                                Unsafe.Add(ref line, ox) = Unsafe.Add(ref input, (ox - first) * s);
                            }
                        }
                        for (int ox = last; ox < ow; ox++)
                        {
                            Unsafe.Add(ref line, ox) = 0f;
                        }
                    }
                }
            }
        }
    }

    /// <summary>col2im: the adjoint of <see cref="Unfold"/>, <c>dx</c> overwritten with the sum of every column entry that read each input.</summary>
    /// <exception cref="ArgumentException">A buffer does not fit the window.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fold(ReadOnlySpan<float> cols, Span<float> dx, Window2D w)
    {
        w.Check("Convolution.Fold");
        if (dx.Length < w.InputLength || cols.Length < w.Patch * w.OutputPlane)
        {
            throw new ArgumentException("Convolution.Fold: a buffer does not fit the window.");
        }
        dx[..w.InputLength].Clear();
        int oh = w.OutputHeight, ow = w.OutputWidth, row = 0, s = w.Stride, p = w.Padding, width = w.Width, height = w.Height;
        ref float source = ref MemoryMarshal.GetReference(cols);
        ref float target = ref MemoryMarshal.GetReference(dx);
        for (int c = 0; c < w.Channels; c++)
        {
            ref float channel = ref Unsafe.Add(ref target, c * height * width);
            for (int ky = 0; ky < w.Kernel; ky++)
            {
                for (int kx = 0; kx < w.Kernel; kx++, row++)
                {
                    ref float rowStart = ref Unsafe.Add(ref source, row * oh * ow);
                    int first = Math.Min(ow, Math.Max(0, CeilDiv(p - kx, s)));
                    int last = Math.Max(first, Math.Min(ow, CeilDiv(width + p - kx, s)));
                    if (first >= last)
                    {
                        continue;
                    }
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * s - p + ky;
                        if (iy < 0 || iy >= height)
                        {
                            continue;
                        }
                        ref float line = ref Unsafe.Add(ref rowStart, oy * ow);
                        ref float output = ref Unsafe.Add(ref channel, iy * width + first * s - p + kx);
                        for (int ox = first; ox < last; ox++)
                        {
                            Unsafe.Add(ref output, (ox - first) * s) += Unsafe.Add(ref line, ox);
                        }
                    }
                }
            }
        }
    }

    /// <summary>⌈a / b⌉ for b &gt; 0 and any sign of a.</summary>
    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    private static void Require(bool condition, string kernel)
    {
        if (!condition)
        {
            throw new ArgumentException($"{kernel}: a buffer does not fit the batch, the window or the filters.");
        }
    }
}
