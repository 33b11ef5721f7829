using System;

namespace Backprop;

/// <summary>
/// Weight initialization from a seed, bit-identical on every run: a SplitMix64 generator (no dependence on
/// <see cref="Random"/>'s algorithm) and Box-Muller normals.
/// </summary>
public static class Initialization
{
    /// <summary>He (Kaiming) normal: standard deviation <c>√(2 / fanIn)</c>; for Relu, LeakyRelu and Gelu layers.</summary>
    public static float HeStandardDeviation(int fanIn) => MathF.Sqrt(2f / fanIn);

    /// <summary>Glorot (Xavier) normal: standard deviation <c>√(2 / (fanIn + fanOut))</c>; for the other activations.</summary>
    public static float GlorotStandardDeviation(int fanIn, int fanOut) => MathF.Sqrt(2f / (fanIn + fanOut));

    /// <summary>
    /// Fills <paramref name="destination"/> with normal values of mean 0 and the given deviation, from a stream
    /// identified by <paramref name="seed"/> and <paramref name="stream"/> (for example the layer index), so each
    /// tensor's values do not depend on the others.
    /// </summary>
    public static void Normal(Span<float> destination, float standardDeviation, int seed, int stream)
    {
        ulong state = Mix(((ulong)(uint)seed << 32) ^ (uint)stream ^ 0x9E3779B97F4A7C15UL);
        for (int i = 0; i < destination.Length; i += 2)
        {
            // Box-Muller: two uniforms in (0, 1] give two independent standard normals.
            double u1 = ((Next(ref state) >> 11) + 1) * (1.0 / 9007199254740992.0);
            double u2 = (Next(ref state) >> 11) * (1.0 / 9007199254740992.0);
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            double angle = 2.0 * Math.PI * u2;
            destination[i] = (float)(radius * Math.Cos(angle) * standardDeviation);
            if (i + 1 < destination.Length)
            {
                destination[i + 1] = (float)(radius * Math.Sin(angle) * standardDeviation);
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with values uniform in [-<paramref name="bound"/>, <paramref name="bound"/>),
    /// from the stream identified by <paramref name="seed"/> and <paramref name="stream"/>; PyTorch initializes its
    /// recurrent layers so, with the bound <c>1 / √units</c>.
    /// </summary>
    public static void Uniform(Span<float> destination, float bound, int seed, int stream)
    {
        ulong state = Mix(((ulong)(uint)seed << 32) ^ (uint)stream ^ 0xD1B54A32D192ED03UL);
        for (int i = 0; i < destination.Length; i++)
        {
            double u = (Next(ref state) >> 11) * (1.0 / 9007199254740992.0);
            destination[i] = (float)((2 * u - 1) * bound);
        }
    }

    private static ulong Next(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
