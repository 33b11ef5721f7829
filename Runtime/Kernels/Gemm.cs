using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Matrix products for dense layers, register-blocked on the widest accelerated vector width (512, 256 or 128
/// bits). The width is chosen by <c>VectorNNN.IsHardwareAccelerated</c>, which the JIT folds to a constant, so
/// the choice costs nothing per call.
/// </summary>
/// <remarks>
/// Two shapes of product cover a dense layer's three products without materializing a transpose:
/// <list type="bullet">
/// <item><see cref="Multiply"/>: <c>C = start + A·B</c> with <c>B</c> read along rows and <c>A</c> read through
/// arbitrary strides, so it serves both <c>X·W</c> (forward) and <c>Xᵀ·Δ</c> (weight gradient).</item>
/// <item><see cref="MultiplyTransposed"/>: <c>C = A·Bᵀ</c>, both read along rows (dot products), for the
/// input gradient <c>Δ·Wᵀ</c>.</item>
/// </list>
/// </remarks>
public static class Gemm
{
    // Kernels are compiled fully optimized on first use ([AggressiveOptimization]): tier-0 code with on-stack
    // replacement runs these loops an order of magnitude slower, and a model's first calls matter too.


    /// <summary>
    /// <c>C[i, j] = start(i, j) + Σ_p A(i, p) · B[p, j]</c> for <c>i &lt; m</c>, <c>j &lt; n</c>, <c>p &lt; k</c>, where
    /// <c>A(i, p) = a[i * aRowStride + p * aColumnStride]</c>, <c>B</c> is row-major with <paramref name="ldb"/>,
    /// <c>C</c> row-major with <paramref name="ldc"/>. <c>start</c> is <c>bias[j]</c> when a bias is given,
    /// the current <c>C</c> when <paramref name="accumulate"/> is set, zero otherwise.
    /// </summary>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="a">A, read through the strides.</param>
    /// <param name="aRowStride">Distance between A(i, p) and A(i + 1, p).</param>
    /// <param name="aColumnStride">Distance between A(i, p) and A(i, p + 1).</param>
    /// <param name="b">B, row-major.</param>
    /// <param name="ldb">B's row length in memory.</param>
    /// <param name="c">C, row-major.</param>
    /// <param name="ldc">C's row length in memory.</param>
    /// <param name="bias">A bias per column that C starts from, or empty.</param>
    /// <param name="accumulate">Without a bias: add to C instead of overwriting it.</param>
    /// <param name="threads">The most threads the product may use (1: the calling thread only). Results do not
    /// depend on it.</param>
    public static void Multiply(
        int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColumnStride,
        ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc,
        ReadOnlySpan<float> bias, bool accumulate, int threads = 1)
        => Run<Identity>(m, n, k, a, aRowStride, aColumnStride, b, ldb, c, ldc, bias, !bias.IsEmpty ? StartBias : accumulate ? StartAccumulate : StartZero, threads);

    /// <summary>
    /// <c>C[i, j] = f(bias[j] + Σ_p A(i, p) · B[p, j])</c>: the product of <see cref="Multiply"/> with the bias and an
    /// element-wise activation <c>f</c> applied in the micro-kernels' epilogue, while the results are still in
    /// registers (no second pass over C). <typeparamref name="TActivation"/> must fuse into a product
    /// (<see cref="IActivation.FusesIntoProduct"/>).
    /// </summary>
    /// <inheritdoc cref="Multiply" path="/param"/>
    public static void Multiply<TActivation>(
        int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColumnStride,
        ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc,
        ReadOnlySpan<float> bias, int threads = 1)
        where TActivation : struct, IActivation
    {
        if (!TActivation.FusesIntoProduct)
        {
            throw new ArgumentException($"Gemm: {typeof(TActivation).Name} does not fuse into a product.");
        }
        Run<TActivation>(m, n, k, a, aRowStride, aColumnStride, b, ldb, c, ldc, bias, bias.IsEmpty ? StartZero : StartBias, threads);
    }

    private static unsafe void Run<TA>(
        int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColumnStride,
        ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc,
        ReadOnlySpan<float> bias, int mode, int threads)
        where TA : struct, IActivation
    {
        if (m == 0 || n == 0)
        {
            return;
        }
        Require(m > 0 && n > 0 && k >= 0, "sizes must not be negative");
        Require(aRowStride >= 0 && aColumnStride >= 0 && ldb >= 0 && ldc >= n, "strides must not be negative, and C's rows must hold n values");
        Require(k == 0 || a.Length > (long)(m - 1) * aRowStride + (long)(k - 1) * aColumnStride, "A is too short");
        Require(k == 0 || b.Length >= (long)(k - 1) * ldb + n, "B is too short");
        Require(c.Length >= (long)(m - 1) * ldc + n, "C is too short");
        Require(bias.IsEmpty || bias.Length >= n, "bias is too short");

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rc = ref MemoryMarshal.GetReference(c);
        ref float rbias = ref MemoryMarshal.GetReference(bias);
        bool vectorProduct = m < 4 && (long)m * n * k < Workers.MinimumWork;
        if (vectorProduct && threads > 1)
        {
            // Matrix-vector products are split for the bandwidth of another core's cache, not for FMAs: one more
            // thread per 512 KB of weight (two from 512 KB), and at least 128 columns each, so no helper is woken for a
            // sliver of work.
            threads = (int)Math.Min(threads, Math.Min(1 + (long)n * k / MinimumSplitVectorProduct, n / 128));
        }
        if (threads > 1 && ((long)m * n * k >= Workers.MinimumWork || (vectorProduct && (long)n * k >= MinimumSplitVectorProduct)) && (m >= 16 || n >= 64))
        {
            // The callers' buffers stay pinned while the helpers read and write them.
            fixed (float* pa = &ra, pb = &rb, pc = &rc, pbias = &rbias)
            {
                var job = MultiplyJob<TA>.ForThisThread;
                job.Set(m, n, k, pa, aRowStride, aColumnStride, pb, ldb, pc, ldc, pbias, mode);
                if (Workers.TryRun(job, threads))
                {
                    return;
                }
            }
        }
        MultiplyAny<TA>(m, n, k, ref ra, aRowStride, aColumnStride, ref rb, ldb, ref rc, ldc, ref rbias, mode);
    }

    private static void MultiplyAny<TA>(
        int m, int n, int k,
        ref float ra, int aRowStride, int aColumnStride,
        ref float rb, int ldb,
        ref float rc, int ldc,
        ref float rbias, int mode)
        where TA : struct, IActivation
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Multiply<Simd512, Vector512<float>, TA>(m, n, k, ref ra, aRowStride, aColumnStride, ref rb, ldb, ref rc, ldc, ref rbias, mode);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Multiply<Simd256, Vector256<float>, TA>(m, n, k, ref ra, aRowStride, aColumnStride, ref rb, ldb, ref rc, ldc, ref rbias, mode);
        }
        else
        {
            Multiply<Simd128, Vector128<float>, TA>(m, n, k, ref ra, aRowStride, aColumnStride, ref rb, ldb, ref rc, ldc, ref rbias, mode);
        }
    }

    /// <summary>
    /// <c>C[i, j] = Σ_p A[i, p] · B[j, p]</c> (<c>C = A·Bᵀ</c>) for <c>i &lt; m</c>, <c>j &lt; n</c>, <c>p &lt; k</c>;
    /// all three row-major with leading dimensions <paramref name="lda"/>, <paramref name="ldb"/>, <paramref name="ldc"/>.
    /// </summary>
    public static void MultiplyTransposed(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc)
    {
        if (m == 0 || n == 0)
        {
            return;
        }
        Require(m > 0 && n > 0 && k >= 0, "sizes must not be negative");
        Require(lda >= k && ldb >= k && ldc >= n, "leading dimensions must hold a row");
        Require(k == 0 || a.Length >= (long)(m - 1) * lda + k, "A is too short");
        Require(k == 0 || b.Length >= (long)(n - 1) * ldb + k, "B is too short");
        Require(c.Length >= (long)(m - 1) * ldc + n, "C is too short");

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rc = ref MemoryMarshal.GetReference(c);
        if (Vector512.IsHardwareAccelerated)
        {
            MultiplyTransposed<Simd512, Vector512<float>>(m, n, k, ref ra, lda, ref rb, ldb, ref rc, ldc);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            MultiplyTransposed<Simd256, Vector256<float>>(m, n, k, ref ra, lda, ref rb, ldb, ref rc, ldc);
        }
        else
        {
            MultiplyTransposed<Simd128, Vector128<float>>(m, n, k, ref ra, lda, ref rb, ldb, ref rc, ldc);
        }
    }

    // A matrix-vector product (1 to 3 rows) is bound by reading B, not by its FMAs: from this many floats of B
    // (512 KB), each of two cores reading its half beats one core reading all of it, despite the hand-off.
    private const long MinimumSplitVectorProduct = 1 << 17;

    private const int StartZero = 0, StartBias = 1, StartAccumulate = 2;

    // Depth of one pass over k when many rows share B: a 256-deep, two-vector panel of B is 32 KB (512-bit),
    // which stays in L1 while every block of rows of A streams past it (GotoBLAS-style blocking). Between passes
    // C is stored and reloaded exactly, so every element's sums are the same as without blocking.
    private const int DepthBlock = 256;

    // Products at most this deep fill C row block by row block (see MultiplyBlock).
    private const int ShallowDepth = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply<TS, TV, TA>(
        int m, int n, int k,
        ref float a, int ars, int acs,
        ref float b, int ldb,
        ref float c, int ldc,
        ref float bias, int mode)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        if (k > DepthBlock && m >= 32)
        {
            // Passes of equal depth (784 = 4 x 196, not 3 x 256 + 16: a shallow last pass would load and store C
            // for little work). Every pass but the last stores plain sums; the last one applies the epilogue.
            int passes = (k + DepthBlock - 1) / DepthBlock;
            int depth = (k + passes - 1) / passes;
            int p0 = 0;
            for (; p0 + depth < k; p0 += depth)
            {
                MultiplyBlock<TS, TV, Identity>(m, n, depth, ref Unsafe.Add(ref a, p0 * acs), ars, acs, ref Unsafe.Add(ref b, p0 * ldb), ldb,
                    ref c, ldc, ref bias, p0 == 0 ? mode : StartAccumulate);
            }
            MultiplyBlock<TS, TV, TA>(m, n, k - p0, ref Unsafe.Add(ref a, p0 * acs), ars, acs, ref Unsafe.Add(ref b, p0 * ldb), ldb,
                ref c, ldc, ref bias, p0 == 0 ? mode : StartAccumulate);
            return;
        }
        MultiplyBlock<TS, TV, TA>(m, n, k, ref a, ars, acs, ref b, ldb, ref c, ldc, ref bias, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void MultiplyBlock<TS, TV, TA>(
        int m, int n, int k,
        ref float a, int ars, int acs,
        ref float b, int ldb,
        ref float c, int ldc,
        ref float bias, int mode)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        int width = TS.Count;
        int j = 0;
        if (m < 4)
        {
            // Few rows (batch 1 to 3): one row against sixteen (512-bit path: 256 columns, one KB of each B row)
            // or eight vectors of columns, as many independent FMA chains, B streamed along its rows.
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + 16 * width <= n; j += 16 * width)
                {
                    for (int i = 0; i < m; i++)
                    {
                        Block1x8<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), acs, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref bias, j), mode, twice: true);
                    }
                }
            }
            for (; j + 8 * width <= n; j += 8 * width)
            {
                for (int i = 0; i < m; i++)
                {
                    Block1x8<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), acs, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref bias, j), mode, twice: false);
                }
            }
        }
        // Column panels two vectors wide: each B row segment is loaded once per block of rows. With 32 vector
        // registers (512-bit) an 8-row block keeps 16 accumulators; with 16 registers, 6 rows (12 accumulators).
        // When several row blocks share a panel and B's rows are far apart, the panel is first copied into a
        // contiguous buffer: rows of B a power of two apart fall into a few L1 sets and evict each other, while
        // the contiguous copy (at most DepthBlock × 2 vectors, 32 KB) stays in L1 for every block of rows.
        int first = 0;
        if (Vector512.IsHardwareAccelerated && k <= ShallowDepth && m >= 8)
        {
            // Shallow products (the weight gradient of a batch of 1 to 8 samples) are bound by writing C: fill it a
            // block of eight whole rows at a time, in memory order, instead of panel by panel (eight passes down C a
            // row length apart, which the prefetchers follow poorly). B's k rows stay in L1 either way.
            int panels = n - n % (2 * width);
            for (; first + 8 <= m; first += 8)
            {
                for (int jj = 0; jj < panels; jj += 2 * width)
                {
                    Block8x2<TS, TV, TA>(k, ref Unsafe.Add(ref a, first * ars), ars, acs, ref Unsafe.Add(ref b, jj), ldb,
                        ref Unsafe.Add(ref c, first * ldc + jj), ldc, ref Unsafe.Add(ref bias, jj), mode);
                }
            }
        }
        bool pack = m - first >= 64 && ldb != 2 * width && k <= DepthBlock;
        Span<float> panel = pack ? stackalloc float[DepthBlock * 2 * 16] : default;
        ref float rpanel = ref MemoryMarshal.GetReference(panel);
        for (; j + 2 * width <= n; j += 2 * width)
        {
            scoped ref float bj = ref Unsafe.Add(ref b, j);
            int ldp = ldb;
            if (pack)
            {
                for (int p = 0; p < k; p++)
                {
                    ref float source = ref Unsafe.Add(ref bj, p * ldb);
                    ref float target = ref Unsafe.Add(ref rpanel, p * 2 * width);
                    TS.Store(TS.Load(ref source), ref target);
                    TS.Store(TS.Load(ref Unsafe.Add(ref source, width)), ref Unsafe.Add(ref target, width));
                }
                bj = ref rpanel;
                ldp = 2 * width;
            }
            int i = first;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; i + 8 <= m; i += 8)
                {
                    Block8x2<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), ars, acs, ref bj, ldp,
                        ref Unsafe.Add(ref c, i * ldc + j), ldc, ref Unsafe.Add(ref bias, j), mode);
                }
            }
            else
            {
                // Blocks of six rows, leaving the rest to Block4x2 where that leaves fewer single rows (each a lone
                // FMA chain): 6q + 2 rows go as 6(q - 1) + 4 + 4, and 6q + 3 as 6(q - 1) + 4 + 4 + 1.
                int rest = m - i, sixes = rest - (rest % 6 == 2 && rest >= 8 ? 8 : rest % 6 == 3 && rest >= 9 ? 9 : 0);
                for (int end = i + sixes / 6 * 6; i < end; i += 6)
                {
                    Block6x2<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), ars, acs, ref bj, ldp,
                        ref Unsafe.Add(ref c, i * ldc + j), ldc, ref Unsafe.Add(ref bias, j), mode);
                }
            }
            for (; i + 4 <= m; i += 4)
            {
                Block4x2<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), ars, acs, ref bj, ldp,
                    ref Unsafe.Add(ref c, i * ldc + j), ldc, ref Unsafe.Add(ref bias, j), mode);
            }
            for (; i < m; i++)
            {
                Block1x1<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), acs, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref bias, j), mode);
                Block1x1<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), acs, ref Unsafe.Add(ref b, j + width), ldb, ref Unsafe.Add(ref c, i * ldc + j + width), ref Unsafe.Add(ref bias, j + width), mode);
            }
        }
        // One-vector panel.
        for (; j + width <= n; j += width)
        {
            for (int i = 0; i < m; i++)
            {
                Block1x1<TS, TV, TA>(k, ref Unsafe.Add(ref a, i * ars), acs, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref bias, j), mode);
            }
        }
        // The last n mod width columns, still vectorized: B's tail columns packed zero-padded to one vector.
        if (j < n)
        {
            Tail<TS, TV, TA>(m, k, n - j, ref a, ars, acs, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, j), ldc, ref Unsafe.Add(ref bias, j), mode);
        }
    }

    // The column tail (fewer columns than one vector), without packing: each row of B is loaded as a whole vector
    // straight from B, and the lanes past the tail (the next row's first values) only feed lanes of the result
    // that are never stored. Only the last rows of B, where a whole vector would read past the matrix, are copied
    // zero-padded to the stack. Eight rows of A at a time keep eight FMA chains in flight. Partial rows of C go
    // through a stack buffer, so nothing writes past the matrix either.
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Tail<TS, TV, TA>(int m, int k, int tail, ref float a, int ars, int acs, ref float b, int ldb, ref float c, int ldc, ref float bias, int mode)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        const int Rows = 8;
        int w = TS.Count;
        // Rows p < direct of B can be read a whole vector wide: p·ldb + w ≤ (k - 1)·ldb + tail, the end of B.
        // With ldb = 0 every row of B is the same row: one padded copy serves them all.
        int direct = ldb == 0 ? 0 : (int)Math.Max(0L, k - ((long)w - tail + ldb - 1) / ldb);
        int padded = ldb == 0 ? Math.Min(k, 1) : k - direct;
        int paddedStep = ldb == 0 ? 0 : w;
        Span<float> last = stackalloc float[16 * 16];
        Span<float> rows = stackalloc float[Rows * 16];
        Span<float> start = stackalloc float[16];
        ref float rl = ref MemoryMarshal.GetReference(last);
        ref float rr = ref MemoryMarshal.GetReference(rows);
        last[..(padded * w)].Clear();
        for (int p = 0; p < padded; p++)
        {
            for (int t = 0; t < tail; t++)
            {
                Unsafe.Add(ref rl, p * w + t) = Unsafe.Add(ref b, (direct + p) * ldb + t);
            }
        }
        start.Clear();
        if (mode == StartBias)
        {
            for (int t = 0; t < tail; t++)
            {
                start[t] = Unsafe.Add(ref bias, t);
            }
        }
        TV first = TS.Load(ref MemoryMarshal.GetReference(start));
        for (int i = 0; i < m; i += Rows)
        {
            int count = Math.Min(Rows, m - i);
            TV c0 = first, c1 = first, c2 = first, c3 = first, c4 = first, c5 = first, c6 = first, c7 = first;
            if (mode == StartAccumulate)
            {
                rows.Clear();
                for (int r = 0; r < count; r++)
                {
                    for (int t = 0; t < tail; t++)
                    {
                        Unsafe.Add(ref rr, r * w + t) = Unsafe.Add(ref c, (i + r) * ldc + t);
                    }
                }
                c0 = TS.Load(ref rr); c1 = TS.Load(ref Unsafe.Add(ref rr, w));
                c2 = TS.Load(ref Unsafe.Add(ref rr, 2 * w)); c3 = TS.Load(ref Unsafe.Add(ref rr, 3 * w));
                c4 = TS.Load(ref Unsafe.Add(ref rr, 4 * w)); c5 = TS.Load(ref Unsafe.Add(ref rr, 5 * w));
                c6 = TS.Load(ref Unsafe.Add(ref rr, 6 * w)); c7 = TS.Load(ref Unsafe.Add(ref rr, 7 * w));
            }
            // Rows past m read row i instead (their results are discarded): no out-of-range reads of A.
            ref float a0 = ref Unsafe.Add(ref a, i * ars);
            ref float a1 = ref Unsafe.Add(ref a, (count > 1 ? i + 1 : i) * ars);
            ref float a2 = ref Unsafe.Add(ref a, (count > 2 ? i + 2 : i) * ars);
            ref float a3 = ref Unsafe.Add(ref a, (count > 3 ? i + 3 : i) * ars);
            ref float a4 = ref Unsafe.Add(ref a, (count > 4 ? i + 4 : i) * ars);
            ref float a5 = ref Unsafe.Add(ref a, (count > 5 ? i + 5 : i) * ars);
            ref float a6 = ref Unsafe.Add(ref a, (count > 6 ? i + 6 : i) * ars);
            ref float a7 = ref Unsafe.Add(ref a, (count > 7 ? i + 7 : i) * ars);
            for (int p = 0; p < k; p++)
            {
                TV bp = p < direct ? TS.Load(ref Unsafe.Add(ref b, p * ldb)) : TS.Load(ref Unsafe.Add(ref rl, (p - direct) * paddedStep));
                int offset = p * acs;
                c0 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a0, offset)), bp, c0);
                c1 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a1, offset)), bp, c1);
                c2 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a2, offset)), bp, c2);
                c3 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a3, offset)), bp, c3);
                c4 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a4, offset)), bp, c4);
                c5 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a5, offset)), bp, c5);
                c6 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a6, offset)), bp, c6);
                c7 = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a7, offset)), bp, c7);
            }
            Put<TS, TV, TA>(c0, ref rr); Put<TS, TV, TA>(c1, ref Unsafe.Add(ref rr, w));
            Put<TS, TV, TA>(c2, ref Unsafe.Add(ref rr, 2 * w)); Put<TS, TV, TA>(c3, ref Unsafe.Add(ref rr, 3 * w));
            Put<TS, TV, TA>(c4, ref Unsafe.Add(ref rr, 4 * w)); Put<TS, TV, TA>(c5, ref Unsafe.Add(ref rr, 5 * w));
            Put<TS, TV, TA>(c6, ref Unsafe.Add(ref rr, 6 * w)); Put<TS, TV, TA>(c7, ref Unsafe.Add(ref rr, 7 * w));
            for (int r = 0; r < count; r++)
            {
                for (int t = 0; t < tail; t++)
                {
                    Unsafe.Add(ref c, (i + r) * ldc + t) = Unsafe.Add(ref rr, r * w + t);
                }
            }
        }
    }

    /// <summary>Stores a vector of results through the epilogue <typeparamref name="TA"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Put<TS, TV, TA>(TV value, ref float destination)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        if (typeof(TA) == typeof(Identity))
        {
            TS.Store(value, ref destination);
        }
        else if (typeof(TV) == typeof(Vector512<float>))
        {
            TA.Apply(Unsafe.As<TV, Vector512<float>>(ref value)).StoreUnsafe(ref destination);
        }
        else if (typeof(TV) == typeof(Vector256<float>))
        {
            TA.Apply(Unsafe.As<TV, Vector256<float>>(ref value)).StoreUnsafe(ref destination);
        }
        else
        {
            TA.Apply(Unsafe.As<TV, Vector128<float>>(ref value)).StoreUnsafe(ref destination);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Start<TS, TV>(ref float c, ref float bias, int mode) where TS : struct, ISimd<TV> where TV : struct
        => mode == StartBias ? TS.Load(ref bias) : mode == StartAccumulate ? TS.Load(ref c) : TS.Zero;

    // C[0..4, 0..2w] = start + A[0..4, :] · B[:, 0..2w]: eight accumulators, two B loads and four broadcasts
    // per step of p (the 512-bit path's last rows, and the 256- and 128-bit paths' rows that Block6x2 leaves).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x2<TS, TV, TA>(int k, ref float a, int ars, int acs, ref float b, int ldb, ref float c, int ldc, ref float bias, int mode)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        int w = TS.Count;
        TV c00 = Start<TS, TV>(ref c, ref bias, mode), c01 = Start<TS, TV>(ref Unsafe.Add(ref c, w), ref Unsafe.Add(ref bias, w), mode);
        TV c10 = Start<TS, TV>(ref Unsafe.Add(ref c, ldc), ref bias, mode), c11 = Start<TS, TV>(ref Unsafe.Add(ref c, ldc + w), ref Unsafe.Add(ref bias, w), mode);
        TV c20 = Start<TS, TV>(ref Unsafe.Add(ref c, 2 * ldc), ref bias, mode), c21 = Start<TS, TV>(ref Unsafe.Add(ref c, 2 * ldc + w), ref Unsafe.Add(ref bias, w), mode);
        TV c30 = Start<TS, TV>(ref Unsafe.Add(ref c, 3 * ldc), ref bias, mode), c31 = Start<TS, TV>(ref Unsafe.Add(ref c, 3 * ldc + w), ref Unsafe.Add(ref bias, w), mode);
        // As in Block6x2: native-integer row offsets, the read positions bumped each step.
        nint r1 = ars, r2 = 2 * (nint)ars, r3 = 3 * (nint)ars, aStep = acs, bStep = ldb;
        ref float ap = ref a;
        ref float bp = ref b;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TS.Load(ref bp);
            TV b1 = TS.Load(ref Unsafe.Add(ref bp, w));
            TV x = TS.Broadcast(ap);
            c00 = TS.MultiplyAdd(x, b0, c00); c01 = TS.MultiplyAdd(x, b1, c01);
            x = TS.Broadcast(Unsafe.Add(ref ap, r1));
            c10 = TS.MultiplyAdd(x, b0, c10); c11 = TS.MultiplyAdd(x, b1, c11);
            x = TS.Broadcast(Unsafe.Add(ref ap, r2));
            c20 = TS.MultiplyAdd(x, b0, c20); c21 = TS.MultiplyAdd(x, b1, c21);
            x = TS.Broadcast(Unsafe.Add(ref ap, r3));
            c30 = TS.MultiplyAdd(x, b0, c30); c31 = TS.MultiplyAdd(x, b1, c31);
            ap = ref Unsafe.Add(ref ap, aStep);
            bp = ref Unsafe.Add(ref bp, bStep);
        }
        Put<TS, TV, TA>(c00, ref c); Put<TS, TV, TA>(c01, ref Unsafe.Add(ref c, w));
        Put<TS, TV, TA>(c10, ref Unsafe.Add(ref c, ldc)); Put<TS, TV, TA>(c11, ref Unsafe.Add(ref c, ldc + w));
        Put<TS, TV, TA>(c20, ref Unsafe.Add(ref c, 2 * ldc)); Put<TS, TV, TA>(c21, ref Unsafe.Add(ref c, 2 * ldc + w));
        Put<TS, TV, TA>(c30, ref Unsafe.Add(ref c, 3 * ldc)); Put<TS, TV, TA>(c31, ref Unsafe.Add(ref c, 3 * ldc + w));
    }

    // C[0..6, 0..2w] = start + A[0..6, :] · B[:, 0..2w]: twelve accumulators, two B loads and six broadcasts per step
    // of p, fifteen of the sixteen registers of the 256- and 128-bit paths. Twelve independent FMA chains keep two FMA
    // pipes of four or five cycles' latency busy, where Block4x2's eight leave them idle a fifth of the time or more.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block6x2<TS, TV, TA>(int k, ref float a, int ars, int acs, ref float b, int ldb, ref float c, int ldc, ref float bias, int mode)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        int w = TS.Count;
        ref float bias1 = ref Unsafe.Add(ref bias, w);
        TV c00 = Start<TS, TV>(ref c, ref bias, mode), c01 = Start<TS, TV>(ref Unsafe.Add(ref c, w), ref bias1, mode);
        TV c10 = Start<TS, TV>(ref Unsafe.Add(ref c, ldc), ref bias, mode), c11 = Start<TS, TV>(ref Unsafe.Add(ref c, ldc + w), ref bias1, mode);
        TV c20 = Start<TS, TV>(ref Unsafe.Add(ref c, 2 * ldc), ref bias, mode), c21 = Start<TS, TV>(ref Unsafe.Add(ref c, 2 * ldc + w), ref bias1, mode);
        TV c30 = Start<TS, TV>(ref Unsafe.Add(ref c, 3 * ldc), ref bias, mode), c31 = Start<TS, TV>(ref Unsafe.Add(ref c, 3 * ldc + w), ref bias1, mode);
        TV c40 = Start<TS, TV>(ref Unsafe.Add(ref c, 4 * ldc), ref bias, mode), c41 = Start<TS, TV>(ref Unsafe.Add(ref c, 4 * ldc + w), ref bias1, mode);
        TV c50 = Start<TS, TV>(ref Unsafe.Add(ref c, 5 * ldc), ref bias, mode), c51 = Start<TS, TV>(ref Unsafe.Add(ref c, 5 * ldc + w), ref bias1, mode);
        // Row offsets and steps as native integers, the two read positions bumped each step: the loop's addresses are
        // then base + scaled index, with no index arithmetic among the FMAs (the front end would otherwise be the limit).
        nint r1 = ars, r2 = 2 * (nint)ars, r3 = 3 * (nint)ars, r4 = 4 * (nint)ars, r5 = 5 * (nint)ars, aStep = acs, bStep = ldb;
        ref float ap = ref a;
        ref float bp = ref b;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TS.Load(ref bp);
            TV b1 = TS.Load(ref Unsafe.Add(ref bp, w));
            TV x = TS.Broadcast(ap);
            c00 = TS.MultiplyAdd(x, b0, c00); c01 = TS.MultiplyAdd(x, b1, c01);
            x = TS.Broadcast(Unsafe.Add(ref ap, r1));
            c10 = TS.MultiplyAdd(x, b0, c10); c11 = TS.MultiplyAdd(x, b1, c11);
            x = TS.Broadcast(Unsafe.Add(ref ap, r2));
            c20 = TS.MultiplyAdd(x, b0, c20); c21 = TS.MultiplyAdd(x, b1, c21);
            x = TS.Broadcast(Unsafe.Add(ref ap, r3));
            c30 = TS.MultiplyAdd(x, b0, c30); c31 = TS.MultiplyAdd(x, b1, c31);
            x = TS.Broadcast(Unsafe.Add(ref ap, r4));
            c40 = TS.MultiplyAdd(x, b0, c40); c41 = TS.MultiplyAdd(x, b1, c41);
            x = TS.Broadcast(Unsafe.Add(ref ap, r5));
            c50 = TS.MultiplyAdd(x, b0, c50); c51 = TS.MultiplyAdd(x, b1, c51);
            ap = ref Unsafe.Add(ref ap, aStep);
            bp = ref Unsafe.Add(ref bp, bStep);
        }
        Put<TS, TV, TA>(c00, ref c); Put<TS, TV, TA>(c01, ref Unsafe.Add(ref c, w));
        Put<TS, TV, TA>(c10, ref Unsafe.Add(ref c, ldc)); Put<TS, TV, TA>(c11, ref Unsafe.Add(ref c, ldc + w));
        Put<TS, TV, TA>(c20, ref Unsafe.Add(ref c, 2 * ldc)); Put<TS, TV, TA>(c21, ref Unsafe.Add(ref c, 2 * ldc + w));
        Put<TS, TV, TA>(c30, ref Unsafe.Add(ref c, 3 * ldc)); Put<TS, TV, TA>(c31, ref Unsafe.Add(ref c, 3 * ldc + w));
        Put<TS, TV, TA>(c40, ref Unsafe.Add(ref c, 4 * ldc)); Put<TS, TV, TA>(c41, ref Unsafe.Add(ref c, 4 * ldc + w));
        Put<TS, TV, TA>(c50, ref Unsafe.Add(ref c, 5 * ldc)); Put<TS, TV, TA>(c51, ref Unsafe.Add(ref c, 5 * ldc + w));
    }

    // C[0..8, 0..2w] = start + A[0..8, :] · B[:, 0..2w]: sixteen accumulators (512-bit path, 32 registers).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block8x2<TS, TV, TA>(int k, ref float a, int ars, int acs, ref float b, int ldb, ref float c, int ldc, ref float bias, int mode)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        int w = TS.Count;
        ref float bias1 = ref Unsafe.Add(ref bias, w);
        TV c00 = Start<TS, TV>(ref c, ref bias, mode), c01 = Start<TS, TV>(ref Unsafe.Add(ref c, w), ref bias1, mode);
        TV c10 = Start<TS, TV>(ref Unsafe.Add(ref c, ldc), ref bias, mode), c11 = Start<TS, TV>(ref Unsafe.Add(ref c, ldc + w), ref bias1, mode);
        TV c20 = Start<TS, TV>(ref Unsafe.Add(ref c, 2 * ldc), ref bias, mode), c21 = Start<TS, TV>(ref Unsafe.Add(ref c, 2 * ldc + w), ref bias1, mode);
        TV c30 = Start<TS, TV>(ref Unsafe.Add(ref c, 3 * ldc), ref bias, mode), c31 = Start<TS, TV>(ref Unsafe.Add(ref c, 3 * ldc + w), ref bias1, mode);
        TV c40 = Start<TS, TV>(ref Unsafe.Add(ref c, 4 * ldc), ref bias, mode), c41 = Start<TS, TV>(ref Unsafe.Add(ref c, 4 * ldc + w), ref bias1, mode);
        TV c50 = Start<TS, TV>(ref Unsafe.Add(ref c, 5 * ldc), ref bias, mode), c51 = Start<TS, TV>(ref Unsafe.Add(ref c, 5 * ldc + w), ref bias1, mode);
        TV c60 = Start<TS, TV>(ref Unsafe.Add(ref c, 6 * ldc), ref bias, mode), c61 = Start<TS, TV>(ref Unsafe.Add(ref c, 6 * ldc + w), ref bias1, mode);
        TV c70 = Start<TS, TV>(ref Unsafe.Add(ref c, 7 * ldc), ref bias, mode), c71 = Start<TS, TV>(ref Unsafe.Add(ref c, 7 * ldc + w), ref bias1, mode);
        // As in Block6x2, but from two read positions four rows apart, so that three row offsets serve all eight rows:
        // seven offsets, the steps and the positions would not fit the general registers, and the JIT would reload the
        // steps from the stack every step.
        nint r1 = ars, r2 = 2 * (nint)ars, r3 = 3 * (nint)ars, aStep = acs, bStep = ldb;
        ref float ap = ref a;
        ref float aq = ref Unsafe.Add(ref a, 4 * (nint)ars);
        ref float bp = ref b;
        for (int p = 0; p < k; p++)
        {
            TV b0 = TS.Load(ref bp);
            TV b1 = TS.Load(ref Unsafe.Add(ref bp, w));
            TV x = TS.Broadcast(ap);
            c00 = TS.MultiplyAdd(x, b0, c00); c01 = TS.MultiplyAdd(x, b1, c01);
            x = TS.Broadcast(Unsafe.Add(ref ap, r1));
            c10 = TS.MultiplyAdd(x, b0, c10); c11 = TS.MultiplyAdd(x, b1, c11);
            x = TS.Broadcast(Unsafe.Add(ref ap, r2));
            c20 = TS.MultiplyAdd(x, b0, c20); c21 = TS.MultiplyAdd(x, b1, c21);
            x = TS.Broadcast(Unsafe.Add(ref ap, r3));
            c30 = TS.MultiplyAdd(x, b0, c30); c31 = TS.MultiplyAdd(x, b1, c31);
            x = TS.Broadcast(aq);
            c40 = TS.MultiplyAdd(x, b0, c40); c41 = TS.MultiplyAdd(x, b1, c41);
            x = TS.Broadcast(Unsafe.Add(ref aq, r1));
            c50 = TS.MultiplyAdd(x, b0, c50); c51 = TS.MultiplyAdd(x, b1, c51);
            x = TS.Broadcast(Unsafe.Add(ref aq, r2));
            c60 = TS.MultiplyAdd(x, b0, c60); c61 = TS.MultiplyAdd(x, b1, c61);
            x = TS.Broadcast(Unsafe.Add(ref aq, r3));
            c70 = TS.MultiplyAdd(x, b0, c70); c71 = TS.MultiplyAdd(x, b1, c71);
            ap = ref Unsafe.Add(ref ap, aStep);
            aq = ref Unsafe.Add(ref aq, aStep);
            bp = ref Unsafe.Add(ref bp, bStep);
        }
        Put<TS, TV, TA>(c00, ref c); Put<TS, TV, TA>(c01, ref Unsafe.Add(ref c, w));
        Put<TS, TV, TA>(c10, ref Unsafe.Add(ref c, ldc)); Put<TS, TV, TA>(c11, ref Unsafe.Add(ref c, ldc + w));
        Put<TS, TV, TA>(c20, ref Unsafe.Add(ref c, 2 * ldc)); Put<TS, TV, TA>(c21, ref Unsafe.Add(ref c, 2 * ldc + w));
        Put<TS, TV, TA>(c30, ref Unsafe.Add(ref c, 3 * ldc)); Put<TS, TV, TA>(c31, ref Unsafe.Add(ref c, 3 * ldc + w));
        Put<TS, TV, TA>(c40, ref Unsafe.Add(ref c, 4 * ldc)); Put<TS, TV, TA>(c41, ref Unsafe.Add(ref c, 4 * ldc + w));
        Put<TS, TV, TA>(c50, ref Unsafe.Add(ref c, 5 * ldc)); Put<TS, TV, TA>(c51, ref Unsafe.Add(ref c, 5 * ldc + w));
        Put<TS, TV, TA>(c60, ref Unsafe.Add(ref c, 6 * ldc)); Put<TS, TV, TA>(c61, ref Unsafe.Add(ref c, 6 * ldc + w));
        Put<TS, TV, TA>(c70, ref Unsafe.Add(ref c, 7 * ldc)); Put<TS, TV, TA>(c71, ref Unsafe.Add(ref c, 7 * ldc + w));
    }

    // One row against eight (or, with twice, sixteen) vectors of columns: batch-1 products (matrix-vector),
    // one FMA chain per vector, each B row segment read once, contiguously.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block1x8<TS, TV, TA>(int k, ref float a, int acs, ref float b, int ldb, ref float c, ref float bias, int mode, bool twice)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        int w = TS.Count;
        TV c0 = Start<TS, TV>(ref c, ref bias, mode);
        TV c1 = Start<TS, TV>(ref Unsafe.Add(ref c, w), ref Unsafe.Add(ref bias, w), mode);
        TV c2 = Start<TS, TV>(ref Unsafe.Add(ref c, 2 * w), ref Unsafe.Add(ref bias, 2 * w), mode);
        TV c3 = Start<TS, TV>(ref Unsafe.Add(ref c, 3 * w), ref Unsafe.Add(ref bias, 3 * w), mode);
        TV c4 = Start<TS, TV>(ref Unsafe.Add(ref c, 4 * w), ref Unsafe.Add(ref bias, 4 * w), mode);
        TV c5 = Start<TS, TV>(ref Unsafe.Add(ref c, 5 * w), ref Unsafe.Add(ref bias, 5 * w), mode);
        TV c6 = Start<TS, TV>(ref Unsafe.Add(ref c, 6 * w), ref Unsafe.Add(ref bias, 6 * w), mode);
        TV c7 = Start<TS, TV>(ref Unsafe.Add(ref c, 7 * w), ref Unsafe.Add(ref bias, 7 * w), mode);
        if (!twice)
        {
            for (int p = 0; p < k; p++)
            {
                ref float bp = ref Unsafe.Add(ref b, p * ldb);
                TV x = TS.Broadcast(Unsafe.Add(ref a, p * acs));
                c0 = TS.MultiplyAdd(x, TS.Load(ref bp), c0);
                c1 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, w)), c1);
                c2 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 2 * w)), c2);
                c3 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 3 * w)), c3);
                c4 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 4 * w)), c4);
                c5 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 5 * w)), c5);
                c6 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 6 * w)), c6);
                c7 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 7 * w)), c7);
            }
        }
        else
        {
            ref float c8r = ref Unsafe.Add(ref c, 8 * w);
            ref float bias8 = ref Unsafe.Add(ref bias, 8 * w);
            TV c8 = Start<TS, TV>(ref c8r, ref bias8, mode);
            TV c9 = Start<TS, TV>(ref Unsafe.Add(ref c8r, w), ref Unsafe.Add(ref bias8, w), mode);
            TV c10 = Start<TS, TV>(ref Unsafe.Add(ref c8r, 2 * w), ref Unsafe.Add(ref bias8, 2 * w), mode);
            TV c11 = Start<TS, TV>(ref Unsafe.Add(ref c8r, 3 * w), ref Unsafe.Add(ref bias8, 3 * w), mode);
            TV c12 = Start<TS, TV>(ref Unsafe.Add(ref c8r, 4 * w), ref Unsafe.Add(ref bias8, 4 * w), mode);
            TV c13 = Start<TS, TV>(ref Unsafe.Add(ref c8r, 5 * w), ref Unsafe.Add(ref bias8, 5 * w), mode);
            TV c14 = Start<TS, TV>(ref Unsafe.Add(ref c8r, 6 * w), ref Unsafe.Add(ref bias8, 6 * w), mode);
            TV c15 = Start<TS, TV>(ref Unsafe.Add(ref c8r, 7 * w), ref Unsafe.Add(ref bias8, 7 * w), mode);
            for (int p = 0; p < k; p++)
            {
                ref float bp = ref Unsafe.Add(ref b, p * ldb);
                TV x = TS.Broadcast(Unsafe.Add(ref a, p * acs));
                c0 = TS.MultiplyAdd(x, TS.Load(ref bp), c0);
                c1 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, w)), c1);
                c2 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 2 * w)), c2);
                c3 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 3 * w)), c3);
                c4 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 4 * w)), c4);
                c5 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 5 * w)), c5);
                c6 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 6 * w)), c6);
                c7 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bp, 7 * w)), c7);
                ref float bq = ref Unsafe.Add(ref bp, 8 * w);
                c8 = TS.MultiplyAdd(x, TS.Load(ref bq), c8);
                c9 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bq, w)), c9);
                c10 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bq, 2 * w)), c10);
                c11 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bq, 3 * w)), c11);
                c12 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bq, 4 * w)), c12);
                c13 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bq, 5 * w)), c13);
                c14 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bq, 6 * w)), c14);
                c15 = TS.MultiplyAdd(x, TS.Load(ref Unsafe.Add(ref bq, 7 * w)), c15);
            }
            Put<TS, TV, TA>(c8, ref c8r);
            Put<TS, TV, TA>(c9, ref Unsafe.Add(ref c8r, w));
            Put<TS, TV, TA>(c10, ref Unsafe.Add(ref c8r, 2 * w));
            Put<TS, TV, TA>(c11, ref Unsafe.Add(ref c8r, 3 * w));
            Put<TS, TV, TA>(c12, ref Unsafe.Add(ref c8r, 4 * w));
            Put<TS, TV, TA>(c13, ref Unsafe.Add(ref c8r, 5 * w));
            Put<TS, TV, TA>(c14, ref Unsafe.Add(ref c8r, 6 * w));
            Put<TS, TV, TA>(c15, ref Unsafe.Add(ref c8r, 7 * w));
        }
        Put<TS, TV, TA>(c0, ref c);
        Put<TS, TV, TA>(c1, ref Unsafe.Add(ref c, w));
        Put<TS, TV, TA>(c2, ref Unsafe.Add(ref c, 2 * w));
        Put<TS, TV, TA>(c3, ref Unsafe.Add(ref c, 3 * w));
        Put<TS, TV, TA>(c4, ref Unsafe.Add(ref c, 4 * w));
        Put<TS, TV, TA>(c5, ref Unsafe.Add(ref c, 5 * w));
        Put<TS, TV, TA>(c6, ref Unsafe.Add(ref c, 6 * w));
        Put<TS, TV, TA>(c7, ref Unsafe.Add(ref c, 7 * w));
    }

    // One row, one vector of columns: the row and column remainders.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block1x1<TS, TV, TA>(int k, ref float a, int acs, ref float b, int ldb, ref float c, ref float bias, int mode)
        where TS : struct, ISimd<TV> where TV : struct where TA : struct, IActivation
    {
        TV acc = Start<TS, TV>(ref c, ref bias, mode);
        for (int p = 0; p < k; p++)
        {
            acc = TS.MultiplyAdd(TS.Broadcast(Unsafe.Add(ref a, p * acs)), TS.Load(ref Unsafe.Add(ref b, p * ldb)), acc);
        }
        Put<TS, TV, TA>(acc, ref c);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyTransposed<TS, TV>(int m, int n, int k, ref float a, int lda, ref float b, int ldb, ref float c, int ldc)
        where TS : struct, ISimd<TV> where TV : struct
    {
        int w = TS.Count;
        int i = 0;
        // Two rows of A against two rows of B: four dot products share each load.
        for (; i + 2 <= m; i += 2)
        {
            ref float a0 = ref Unsafe.Add(ref a, i * lda);
            ref float a1 = ref Unsafe.Add(ref a, (i + 1) * lda);
            int j = 0;
            for (; j + 2 <= n; j += 2)
            {
                ref float b0 = ref Unsafe.Add(ref b, j * ldb);
                ref float b1 = ref Unsafe.Add(ref b, (j + 1) * ldb);
                TV s00 = TS.Zero, s01 = TS.Zero, s10 = TS.Zero, s11 = TS.Zero;
                int p = 0;
                for (; p + w <= k; p += w)
                {
                    TV x0 = TS.Load(ref Unsafe.Add(ref a0, p)), x1 = TS.Load(ref Unsafe.Add(ref a1, p));
                    TV y0 = TS.Load(ref Unsafe.Add(ref b0, p)), y1 = TS.Load(ref Unsafe.Add(ref b1, p));
                    s00 = TS.MultiplyAdd(x0, y0, s00); s01 = TS.MultiplyAdd(x0, y1, s01);
                    s10 = TS.MultiplyAdd(x1, y0, s10); s11 = TS.MultiplyAdd(x1, y1, s11);
                }
                float t00 = TS.Sum(s00), t01 = TS.Sum(s01), t10 = TS.Sum(s10), t11 = TS.Sum(s11);
                for (; p < k; p++)
                {
                    float x0 = Unsafe.Add(ref a0, p), x1 = Unsafe.Add(ref a1, p);
                    float y0 = Unsafe.Add(ref b0, p), y1 = Unsafe.Add(ref b1, p);
                    t00 = ScalarMath.MultiplyAdd(x0, y0, t00); t01 = ScalarMath.MultiplyAdd(x0, y1, t01);
                    t10 = ScalarMath.MultiplyAdd(x1, y0, t10); t11 = ScalarMath.MultiplyAdd(x1, y1, t11);
                }
                Unsafe.Add(ref c, i * ldc + j) = t00; Unsafe.Add(ref c, i * ldc + j + 1) = t01;
                Unsafe.Add(ref c, (i + 1) * ldc + j) = t10; Unsafe.Add(ref c, (i + 1) * ldc + j + 1) = t11;
            }
            for (; j < n; j++)
            {
                ref float bj = ref Unsafe.Add(ref b, j * ldb);
                Unsafe.Add(ref c, i * ldc + j) = Dot<TS, TV>(ref a0, ref bj, k);
                Unsafe.Add(ref c, (i + 1) * ldc + j) = Dot<TS, TV>(ref a1, ref bj, k);
            }
        }
        for (; i < m; i++)
        {
            ref float ai = ref Unsafe.Add(ref a, i * lda);
            for (int j = 0; j < n; j++)
            {
                Unsafe.Add(ref c, i * ldc + j) = Dot<TS, TV>(ref ai, ref Unsafe.Add(ref b, j * ldb), k);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot<TS, TV>(ref float x, ref float y, int k) where TS : struct, ISimd<TV> where TV : struct
    {
        int w = TS.Count;
        TV acc = TS.Zero;
        int p = 0;
        for (; p + w <= k; p += w)
        {
            acc = TS.MultiplyAdd(TS.Load(ref Unsafe.Add(ref x, p)), TS.Load(ref Unsafe.Add(ref y, p)), acc);
        }
        float sum = TS.Sum(acc);
        for (; p < k; p++)
        {
            sum = ScalarMath.MultiplyAdd(Unsafe.Add(ref x, p), Unsafe.Add(ref y, p), sum);
        }
        return sum;
    }

    /// <summary>
    /// One product split into parts: by blocks of rows of C (multiples of 8, so each part keeps the full
    /// micro-kernel), or by column panels when there are few rows.
    /// </summary>
    private sealed unsafe class MultiplyJob<TA> : Workers.Job where TA : struct, IActivation
    {
        [ThreadStatic]
        private static MultiplyJob<TA>? s_job;

        /// <summary>The calling thread's job object (one per thread and epilogue, created on first use).</summary>
        public static MultiplyJob<TA> ForThisThread => s_job ??= new MultiplyJob<TA>();

        private int _m, _n, _k, _ars, _acs, _ldb, _ldc, _mode;
        private float* _a, _b, _c, _bias;

        public void Set(int m, int n, int k, float* a, int ars, int acs, float* b, int ldb, float* c, int ldc, float* bias, int mode)
        {
            _m = m; _n = n; _k = k; _ars = ars; _acs = acs; _ldb = ldb; _ldc = ldc; _mode = mode;
            _a = a; _b = b; _c = c; _bias = bias;
        }

        public override void Execute(int part)
        {
            // Split the larger of C's dimensions: by rows when there are many, by column panels otherwise, so each
            // thread reads only its half of B (the weights, when the batch is small) and keeps it in its own cache.
            if (_m >= 16 && _m >= _n)
            {
                var (start, count) = Workers.Split(_m, part, Parts, 8);
                if (count > 0)
                {
                    MultiplyAny<TA>(count, _n, _k, ref Unsafe.AsRef<float>(_a + (long)start * _ars), _ars, _acs, ref Unsafe.AsRef<float>(_b), _ldb,
                        ref Unsafe.AsRef<float>(_c + (long)start * _ldc), _ldc, ref Unsafe.AsRef<float>(_bias), _mode);
                }
            }
            else
            {
                var (start, count) = Workers.Split(_n, part, Parts, 32);
                if (count > 0)
                {
                    MultiplyAny<TA>(_m, count, _k, ref Unsafe.AsRef<float>(_a), _ars, _acs, ref Unsafe.AsRef<float>(_b + start), _ldb,
                        ref Unsafe.AsRef<float>(_c + start), _ldc, ref Unsafe.AsRef<float>(_bias + start), _mode);
                }
            }
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException("Gemm: " + message + ".");
        }
    }
}
