using System;
using System.Runtime.CompilerServices;

namespace Backprop.Kernels;

/// <summary>
/// The element-wise equations of the recurrent cells for one sample and one step, over whole vectors of units; each
/// returns the first unit it did not reach (the callers finish the last <c>units % Count</c> with the scalar forms of
/// the same formulas). <c>σ(x) = 1 / (1 + e^(-x))</c> and <c>tanh(x) = 1 - 2 / (1 + e^(2x))</c>, the reciprocals by
/// <see cref="ISimd{TVector}.Reciprocal"/>, which saturate
/// within float precision of 0, 1 and ±1 where the exponent is clamped (<see cref="ISimd{TVector}.ExpClamped"/>).
/// </summary>
internal static class RecurrentCells<TS, TV> where TS : struct, ISimd<TV> where TV : struct
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Sigmoid(TV x) => TS.Reciprocal(TS.Add(TS.Broadcast(1f), TS.ExpClamped(TS.Subtract(TS.Zero, x))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Tanh(TV x) => TS.Subtract(TS.Broadcast(1f), TS.Multiply(TS.Broadcast(2f), TS.Reciprocal(TS.Add(TS.Broadcast(1f), TS.ExpClamped(TS.Add(x, x))))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Load(ref float start, int offset) => TS.Load(ref Unsafe.Add(ref start, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(TV value, ref float start, int offset) => TS.Store(value, ref Unsafe.Add(ref start, offset));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int SimpleRnn(Span<float> gate, ReadOnlySpan<float> projection, Span<float> h, int units)
    {
        ref float g = ref gate[0];
        ref float p = ref Unsafe.AsRef(in projection[0]);
        ref float y = ref h[0];
        int j = 0;
        for (; j + TS.Count <= units; j += TS.Count)
        {
            TV value = Tanh(TS.Add(Load(ref g, j), Load(ref p, j)));
            Store(value, ref g, j);
            Store(value, ref y, j);
        }
        return j;
    }

    /// <summary>
    /// One LSTM step; with <typeparamref name="TGates"/> = <see cref="KeepGates"/> (training) the activated gates are stored
    /// for the backward pass, with <see cref="DropGates"/> (inference) only the cell and hidden states the next step reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Lstm<TGates>(Span<float> gate, ReadOnlySpan<float> projection, Span<float> c, ReadOnlySpan<float> previousC, Span<float> h, int units)
        where TGates : struct, IGateStorage
    {
        ref float g = ref gate[0];
        ref float p = ref Unsafe.AsRef(in projection[0]);
        ref float cell = ref c[0];
        ref float y = ref h[0];
        bool first = previousC.IsEmpty;
        ref float before = ref first ? ref cell : ref Unsafe.AsRef(in previousC[0]);
        int j = 0;
        for (; j + TS.Count <= units; j += TS.Count)
        {
            TV i = Sigmoid(TS.Add(Load(ref g, j), Load(ref p, j)));
            TV f = Sigmoid(TS.Add(Load(ref g, units + j), Load(ref p, units + j)));
            TV n = Tanh(TS.Add(Load(ref g, 2 * units + j), Load(ref p, 2 * units + j)));
            TV o = Sigmoid(TS.Add(Load(ref g, 3 * units + j), Load(ref p, 3 * units + j)));
            if (TGates.Keep)
            {
                Store(i, ref g, j);
                Store(f, ref g, units + j);
                Store(n, ref g, 2 * units + j);
                Store(o, ref g, 3 * units + j);
            }
            TV state = TS.Multiply(i, n);
            if (!first)
            {
                state = TS.MultiplyAdd(f, Load(ref before, j), state);
            }
            Store(state, ref cell, j);
            Store(TS.Multiply(o, Tanh(state)), ref y, j);
        }
        return j;
    }

    /// <summary>
    /// One GRU step; with <typeparamref name="TGates"/> = <see cref="KeepGates"/> (training) the activated gates and
    /// <c>W_hn h + b_hn</c> are stored for the backward pass, with <see cref="DropGates"/> (inference) only the hidden state
    /// (<paramref name="newGate"/> may then be empty).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Gru<TGates>(Span<float> gate, ReadOnlySpan<float> projection, Span<float> newGate, ReadOnlySpan<float> previous, Span<float> h, int units)
        where TGates : struct, IGateStorage
    {
        ref float g = ref gate[0];
        ref float p = ref Unsafe.AsRef(in projection[0]);
        ref float hn = ref TGates.Keep ? ref newGate[0] : ref g;
        ref float y = ref h[0];
        bool first = previous.IsEmpty;
        ref float before = ref first ? ref y : ref Unsafe.AsRef(in previous[0]);
        int j = 0;
        for (; j + TS.Count <= units; j += TS.Count)
        {
            TV r = Sigmoid(TS.Add(Load(ref g, j), Load(ref p, j)));
            TV z = Sigmoid(TS.Add(Load(ref g, units + j), Load(ref p, units + j)));
            TV recurrent = Load(ref p, 2 * units + j);
            TV n = Tanh(TS.MultiplyAdd(r, recurrent, Load(ref g, 2 * units + j)));
            if (TGates.Keep)
            {
                Store(r, ref g, j);
                Store(z, ref g, units + j);
                Store(n, ref g, 2 * units + j);
                Store(recurrent, ref hn, j);
            }
            TV last = first ? TS.Zero : Load(ref before, j);
            Store(TS.MultiplyAdd(z, TS.Subtract(last, n), n), ref y, j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int SimpleRnnBack(Span<float> gate, ReadOnlySpan<float> dh, int units)
    {
        ref float g = ref gate[0];
        ref float d = ref Unsafe.AsRef(in dh[0]);
        TV one = TS.Broadcast(1f);
        int j = 0;
        for (; j + TS.Count <= units; j += TS.Count)
        {
            TV y = Load(ref g, j);
            Store(TS.Multiply(Load(ref d, j), TS.Subtract(one, TS.Multiply(y, y))), ref g, j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int LstmBack(Span<float> gate, ReadOnlySpan<float> c, ReadOnlySpan<float> previousC, ReadOnlySpan<float> dh, Span<float> dc, int units)
    {
        ref float g = ref gate[0];
        ref float cell = ref Unsafe.AsRef(in c[0]);
        ref float d = ref Unsafe.AsRef(in dh[0]);
        ref float carry = ref dc[0];
        bool first = previousC.IsEmpty;
        ref float before = ref first ? ref cell : ref Unsafe.AsRef(in previousC[0]);
        TV one = TS.Broadcast(1f);
        int j = 0;
        for (; j + TS.Count <= units; j += TS.Count)
        {
            TV i = Load(ref g, j), f = Load(ref g, units + j), n = Load(ref g, 2 * units + j), o = Load(ref g, 3 * units + j);
            TV tc = Tanh(Load(ref cell, j));
            TV delta = Load(ref d, j);
            TV dState = TS.MultiplyAdd(TS.Multiply(delta, o), TS.Subtract(one, TS.Multiply(tc, tc)), Load(ref carry, j));
            Store(TS.Multiply(TS.Multiply(dState, n), TS.Multiply(i, TS.Subtract(one, i))), ref g, j);
            Store(first ? TS.Zero : TS.Multiply(TS.Multiply(dState, Load(ref before, j)), TS.Multiply(f, TS.Subtract(one, f))), ref g, units + j);
            Store(TS.Multiply(TS.Multiply(dState, i), TS.Subtract(one, TS.Multiply(n, n))), ref g, 2 * units + j);
            Store(TS.Multiply(TS.Multiply(delta, tc), TS.Multiply(o, TS.Subtract(one, o))), ref g, 3 * units + j);
            Store(TS.Multiply(dState, f), ref carry, j);
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int GruBack(Span<float> gate, ReadOnlySpan<float> newGate, ReadOnlySpan<float> previous, Span<float> dh, Span<float> hiddenDelta, int units)
    {
        ref float g = ref gate[0];
        ref float hn = ref Unsafe.AsRef(in newGate[0]);
        ref float d = ref dh[0];
        ref float hd = ref hiddenDelta[0];
        bool first = previous.IsEmpty;
        ref float before = ref first ? ref d : ref Unsafe.AsRef(in previous[0]);
        TV one = TS.Broadcast(1f);
        int j = 0;
        for (; j + TS.Count <= units; j += TS.Count)
        {
            TV r = Load(ref g, j), z = Load(ref g, units + j), n = Load(ref g, 2 * units + j);
            TV delta = Load(ref d, j);
            TV last = first ? TS.Zero : Load(ref before, j);
            TV dn = TS.Multiply(TS.Multiply(delta, TS.Subtract(one, z)), TS.Subtract(one, TS.Multiply(n, n)));
            TV dz = TS.Multiply(TS.Multiply(delta, TS.Subtract(last, n)), TS.Multiply(z, TS.Subtract(one, z)));
            TV dr = TS.Multiply(TS.Multiply(dn, Load(ref hn, j)), TS.Multiply(r, TS.Subtract(one, r)));
            Store(dr, ref g, j);
            Store(dr, ref hd, j);
            Store(dz, ref g, units + j);
            Store(dz, ref hd, units + j);
            Store(dn, ref g, 2 * units + j);
            Store(TS.Multiply(dn, r), ref hd, 2 * units + j);
            Store(TS.Multiply(delta, z), ref d, j);
        }
        return j;
    }
}

/// <summary>Whether a recurrent cell stores its gates for the backward pass: a type argument, so each form compiles without the other's branch.</summary>
internal interface IGateStorage
{
    /// <summary>True in training, false in inference.</summary>
    static abstract bool Keep { get; }
}

/// <summary>Training: the cells store every activated gate.</summary>
internal readonly struct KeepGates : IGateStorage
{
    public static bool Keep => true;
}

/// <summary>Inference: the cells store only the states the next step reads.</summary>
internal readonly struct DropGates : IGateStorage
{
    public static bool Keep => false;
}
