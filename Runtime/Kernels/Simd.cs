using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// One vector width's operations, so that each kernel is written once and specialized by the JIT for the
/// widest width the CPU accelerates. Struct type arguments make every call a direct, inlinable call.
/// </summary>
/// <typeparam name="TVector">The vector type (<see cref="Vector512{T}"/>, <see cref="Vector256{T}"/> or <see cref="Vector128{T}"/> of float).</typeparam>
internal interface ISimd<TVector> where TVector : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TVector Zero { get; }
    static abstract TVector Broadcast(float value);
    static abstract TVector Load(ref float source);
    static abstract void Store(TVector value, ref float destination);
    static abstract TVector Add(TVector left, TVector right);
    static abstract TVector Subtract(TVector left, TVector right);
    static abstract TVector Multiply(TVector left, TVector right);
    static abstract TVector Divide(TVector left, TVector right);
    /// <summary><c>a * b + c</c> in one rounding where the CPU has FMA.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);
    static abstract TVector Sqrt(TVector value);
    static abstract float Sum(TVector value);
    /// <summary><c>exp</c> of each element (the runtime's vector implementation, within a couple of ulps).</summary>
    static abstract TVector Exp(TVector value);
    /// <summary>
    /// <c>e^x</c> with <c>x</c> clamped to [-80, 80] (so the result is a normal float): a Cody-Waite reduction to
    /// <c>|r| ≤ ln 2 / 2</c> and Cephes' degree-6 polynomial, within 2 ulps, several times faster than <see cref="Exp"/>.
    /// For the recurrent cells' σ and tanh, which are flat (to float precision) beyond the clamp.
    /// </summary>
    static abstract TVector ExpClamped(TVector value);
    /// <summary>
    /// <c>1 / x</c> for normal, positive <c>x</c>, to a few ulps: the CPU's reciprocal estimate refined by one Newton step
    /// where it has one (several times the throughput of a division), a division elsewhere.
    /// </summary>
    static abstract TVector Reciprocal(TVector value);
    /// <summary>Replaces subnormal values by zero (they take a slow microcode path on x64); NaN and infinities pass through unchanged.</summary>
    static abstract TVector FlushSubnormal(TVector value);

    /// <summary>max(<paramref name="max"/>, |<paramref name="value"/>|) lane by lane (x86 max: NaN lanes are not propagated).</summary>
    static abstract TVector MaxMagnitude(TVector max, TVector value);

    /// <summary>The largest lane.</summary>
    static abstract float Largest(TVector value);

    /// <summary>Whether every lane is zero (false when one is NaN).</summary>
    static abstract bool IsZero(TVector value);
}

/// <summary>Constants shared by the vector widths.</summary>
internal static class SimdConstants
{
    /// <summary>The smallest positive normal float, 2^-126.</summary>
    public const float SmallestNormal = 1.17549435E-38f;

    // Cephes expf: ln 2 split in two (C1 exact in few bits), log2(e), and the polynomial of e^r - 1 - r over r².
    public const float Log2E = 1.44269504088896341f, Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    public const float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f, P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;
}

/// <summary>512-bit vectors: 16 floats; two FMAs per cycle on the CPUs this was tuned on.</summary>
internal readonly struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float source) => Vector512.LoadUnsafe(ref source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> left, Vector512<float> right) => left + right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> left, Vector512<float> right) => left - right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> left, Vector512<float> right) => left * right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> left, Vector512<float> right) => left / right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> value) => Vector512.Sqrt(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> value) => Vector512.Sum(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp(Vector512<float> value) => Vector512.Exp(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Reciprocal(Vector512<float> x)
    {
        if (!Avx512F.IsSupported)
        {
            return Vector512<float>.One / x;
        }
        // r ← r (2 − x r): one Newton step doubles the estimate's correct bits (12 or 14) to about 23.
        Vector512<float> r = Avx512F.Reciprocal14(x);
        return r * (Vector512.Create(2f) - x * r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExpClamped(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-80f)), Vector512.Create(80f));
        Vector512<float> n = Vector512.Floor(Vector512.FusedMultiplyAdd(x, Vector512.Create(SimdConstants.Log2E), Vector512.Create(0.5f)));
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-SimdConstants.Ln2High), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-SimdConstants.Ln2Low), r);
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(SimdConstants.P0), r, Vector512.Create(SimdConstants.P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(SimdConstants.P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(SimdConstants.P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(SimdConstants.P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(SimdConstants.P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        // × 2^n through the exponent bits; n is in [-115, 116], so the scale is a normal float.
        Vector512<int> scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23);
        return p * scale.AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MaxMagnitude(Vector512<float> max, Vector512<float> value) => Vector512.MaxNative(max, Vector512.Abs(value));
    public static float Largest(Vector512<float> value)
    {
        float largest = value[0];
        for (int lane = 1; lane < Vector512<float>.Count; lane++)
        {
            largest = System.Math.Max(largest, value[lane]);
        }
        return largest;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool IsZero(Vector512<float> value) => Vector512.EqualsAll(value, Vector512<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> FlushSubnormal(Vector512<float> value)
        => Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(value), Vector512.Create(SimdConstants.SmallestNormal)), Vector512<float>.Zero, value);
}

/// <summary>256-bit vectors: 8 floats; the path for CPUs (and AOT builds) without accelerated 512-bit vectors.</summary>
internal readonly struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float source) => Vector256.LoadUnsafe(ref source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> left, Vector256<float> right) => left + right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> left, Vector256<float> right) => left - right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> left, Vector256<float> right) => left * right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> left, Vector256<float> right) => left / right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> value) => Vector256.Sqrt(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> value) => Vector256.Sum(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Exp(Vector256<float> value) => Vector256.Exp(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Reciprocal(Vector256<float> x)
    {
        if (!Avx.IsSupported)
        {
            return Vector256<float>.One / x;
        }
        // r ← r (2 − x r): one Newton step doubles the estimate's correct bits (12 or 14) to about 23.
        Vector256<float> r = Avx.Reciprocal(x);
        return r * (Vector256.Create(2f) - x * r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExpClamped(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-80f)), Vector256.Create(80f));
        Vector256<float> n = Vector256.Floor(Vector256.FusedMultiplyAdd(x, Vector256.Create(SimdConstants.Log2E), Vector256.Create(0.5f)));
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-SimdConstants.Ln2High), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-SimdConstants.Ln2Low), r);
        Vector256<float> p = Vector256.FusedMultiplyAdd(Vector256.Create(SimdConstants.P0), r, Vector256.Create(SimdConstants.P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(SimdConstants.P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(SimdConstants.P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(SimdConstants.P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(SimdConstants.P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        // × 2^n through the exponent bits; n is in [-115, 116], so the scale is a normal float.
        Vector256<int> scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23);
        return p * scale.AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MaxMagnitude(Vector256<float> max, Vector256<float> value) => Vector256.MaxNative(max, Vector256.Abs(value));
    public static float Largest(Vector256<float> value)
    {
        float largest = value[0];
        for (int lane = 1; lane < Vector256<float>.Count; lane++)
        {
            largest = System.Math.Max(largest, value[lane]);
        }
        return largest;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool IsZero(Vector256<float> value) => Vector256.EqualsAll(value, Vector256<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> FlushSubnormal(Vector256<float> value)
        => Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(value), Vector256.Create(SimdConstants.SmallestNormal)), Vector256<float>.Zero, value);
}

/// <summary>128-bit vectors: 4 floats; the path for CPUs without accelerated 256-bit vectors (SSE-only x64, Arm64 NEON).</summary>
internal readonly struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref float source) => Vector128.LoadUnsafe(ref source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, ref float destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> left, Vector128<float> right) => left + right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> left, Vector128<float> right) => left - right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> left, Vector128<float> right) => left * right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> left, Vector128<float> right) => left / right;
    // Without an FMA instruction (x64 before Haswell, the x64 baseline NativeAOT compiles for by default, or
    // DOTNET_EnableAVX2=0) the fused form is emulated in software, hundreds of times slower than a multiply and an add.
    // Written as early returns on the ISA flags (JIT-time constants at every tier, so every tier computes the same
    // values): a conditional expression between the fused and the unfused form (an earlier version) kept the JIT from
    // holding the kernels' accumulators in registers.
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c)
    {
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported)
        {
            return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c);
        }
        if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)
        {
            return System.Runtime.Intrinsics.Arm.AdvSimd.FusedMultiplyAdd(c, a, b);
        }
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sqrt(Vector128<float> value) => Vector128.Sqrt(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> value) => Vector128.Sum(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Exp(Vector128<float> value) => Vector128.Exp(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Reciprocal(Vector128<float> x)
    {
        if (!Sse.IsSupported)
        {
            return Vector128<float>.One / x;
        }
        // r ← r (2 − x r): one Newton step doubles the estimate's correct bits (12 or 14) to about 23.
        Vector128<float> r = Sse.Reciprocal(x);
        return r * (Vector128.Create(2f) - x * r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ExpClamped(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(-80f)), Vector128.Create(80f));
        Vector128<float> n = Vector128.Floor(MultiplyAdd(x, Vector128.Create(SimdConstants.Log2E), Vector128.Create(0.5f)));
        Vector128<float> r = MultiplyAdd(n, Vector128.Create(-SimdConstants.Ln2High), x);
        r = MultiplyAdd(n, Vector128.Create(-SimdConstants.Ln2Low), r);
        Vector128<float> p = MultiplyAdd(Vector128.Create(SimdConstants.P0), r, Vector128.Create(SimdConstants.P1));
        p = MultiplyAdd(p, r, Vector128.Create(SimdConstants.P2));
        p = MultiplyAdd(p, r, Vector128.Create(SimdConstants.P3));
        p = MultiplyAdd(p, r, Vector128.Create(SimdConstants.P4));
        p = MultiplyAdd(p, r, Vector128.Create(SimdConstants.P5));
        p = MultiplyAdd(p, r * r, r + Vector128<float>.One);
        // × 2^n through the exponent bits; n is in [-115, 116], so the scale is a normal float.
        Vector128<int> scale = Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(127), 23);
        return p * scale.AsSingle();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MaxMagnitude(Vector128<float> max, Vector128<float> value) => Vector128.MaxNative(max, Vector128.Abs(value));
    public static float Largest(Vector128<float> value)
    {
        float largest = value[0];
        for (int lane = 1; lane < Vector128<float>.Count; lane++)
        {
            largest = System.Math.Max(largest, value[lane]);
        }
        return largest;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool IsZero(Vector128<float> value) => Vector128.EqualsAll(value, Vector128<float>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> FlushSubnormal(Vector128<float> value)
        => Vector128.ConditionalSelect(Vector128.LessThan(Vector128.Abs(value), Vector128.Create(SimdConstants.SmallestNormal)), Vector128<float>.Zero, value);
}

/// <summary>Scalar multiply-add: fused where the CPU has an FMA instruction, a multiply and an add elsewhere.</summary>
internal static class ScalarMath
{
    /// <summary>Whether the CPU fuses multiply-adds in hardware (a JIT-time constant).</summary>
    public static bool HasFma
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
    }

    /// <summary><c>x × y + z</c>, rounded once where the CPU fuses it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float x, float y, float z) => HasFma ? System.MathF.FusedMultiplyAdd(x, y, z) : x * y + z;
}
