using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Linq;

namespace Backprop.Kernels;

/// <summary>
/// Which tensors of one network instance are frozen (<c>Freeze</c>, as PyTorch's <c>requires_grad_(False)</c> or
/// Keras's <c>trainable = False</c>): a frozen parameter tensor gets no gradient (its part of <c>Gradients</c> reads
/// zero after every pass) and no update (no step, no weight decay, no momentum), and a frozen layer's running statistics
/// stop moving, so that training leaves a frozen layer unchanged to the bit. Kept by generated code, read by the
/// optimizer's steps; not meant to be called directly.
/// </summary>
/// <remarks>
/// The network changes the flags only inside a writing call (no pass runs meanwhile), so the passes read them without
/// locks. Trainable tensors lie in the parameter block one after the other in <c>Tensors</c> order; state tensors
/// (running statistics) lie outside it.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class FrozenTensors
{
    private readonly IReadOnlyList<TensorInfo> _tensors;
    private readonly bool[] _frozen;
    private readonly int[] _offsets; // where each trainable tensor starts in the parameter block (-1 for state)
    private (int Start, int End)[] _ranges = []; // the frozen parts of the parameter block, sorted and merged

    /// <summary>Creates the flags of a network with these tensors, none frozen.</summary>
    /// <param name="tensors">The network's tensors, in <c>Tensors</c> order.</param>
    public FrozenTensors(IReadOnlyList<TensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _tensors = tensors;
        _frozen = new bool[tensors.Count];
        _offsets = new int[tensors.Count];
        int offset = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            _offsets[i] = tensors[i].Trainable ? offset : -1;
            offset += tensors[i].Trainable ? tensors[i].Length : 0;
        }
        BlockLength = offset;
        FirstTrainable = FindFirstTrainable();
    }

    /// <summary>The length of the parameter block the tensors make up.</summary>
    internal int BlockLength { get; }

    /// <summary>Whether any tensor is frozen.</summary>
    public bool Any => Array.IndexOf(_frozen, true) >= 0;

    /// <summary>The index (in <c>Tensors</c>) of the first trainable tensor that is not frozen; the tensor count if there is none.</summary>
    public int FirstTrainable { get; private set; }

    /// <summary>
    /// Whether the backward pass can stop before the layer whose tensors end at <paramref name="tensorEnd"/> (an index
    /// in <c>Tensors</c>, one past the layer's last): no tensor before that index needs a gradient, so neither that
    /// layer's nor any earlier layer's backward statements are needed.
    /// </summary>
    public bool Stops(int tensorEnd) => FirstTrainable >= tensorEnd;

    /// <summary>Whether the tensor at <paramref name="index"/> (in <c>Tensors</c>) is frozen.</summary>
    public bool this[int index] => _frozen[index];

    /// <summary>
    /// Freezes (or unfreezes) the named layers and tensors. A layer's name covers all its tensors, running statistics
    /// included; a tensor's name covers that tensor (parameters only: running statistics freeze with their layer). No
    /// names means every tensor. Every name is checked before anything changes.
    /// </summary>
    /// <param name="network">The network's name, for messages.</param>
    /// <param name="names">Layer names (<c>conv1</c>) or parameter tensor names (<c>conv1.weight</c>).</param>
    /// <param name="frozen">True to freeze, false to unfreeze.</param>
    /// <exception cref="ArgumentNullException"><paramref name="names"/> is null.</exception>
    /// <exception cref="ArgumentException">A name is neither a layer's nor a parameter tensor's (the message lists the layers).</exception>
    public void Set(string network, string[] names, bool frozen)
    {
        ArgumentNullException.ThrowIfNull(names);
        var chosen = new bool[_tensors.Count];
        if (names.Length == 0)
        {
            chosen.AsSpan().Fill(true);
        }
        foreach (string name in names)
        {
            if (!Mark(name, chosen))
            {
                throw Unknown(network, name);
            }
        }
        for (int i = 0; i < chosen.Length; i++)
        {
            if (chosen[i])
            {
                _frozen[i] = frozen;
            }
        }
        FirstTrainable = FindFirstTrainable();
        var ranges = new List<(int Start, int End)>();
        for (int i = 0; i < _tensors.Count; i++)
        {
            if (!_frozen[i] || _offsets[i] < 0)
            {
                continue;
            }
            int start = _offsets[i], end = start + _tensors[i].Length;
            if (ranges.Count > 0 && ranges[^1].End == start)
            {
                ranges[^1] = (ranges[^1].Start, end);
            }
            else
            {
                ranges.Add((start, end));
            }
        }
        _ranges = ranges.ToArray();
    }

    /// <summary>
    /// Whether <paramref name="name"/> is frozen: a parameter or state tensor's own flag, or, for a layer, whether all its
    /// tensors are frozen.
    /// </summary>
    /// <exception cref="ArgumentException">The name is neither a layer's nor a tensor's.</exception>
    public bool IsFrozen(string network, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool found = false, all = true;
        for (int i = 0; i < _tensors.Count; i++)
        {
            if (_tensors[i].Name == name)
            {
                return _frozen[i];
            }
            if (LayerOf(_tensors[i].Name) == name)
            {
                found = true;
                all &= _frozen[i];
            }
        }
        return found ? all : throw new ArgumentException(UnknownMessage(network, name), nameof(name));
    }

    /// <summary>The names of the frozen tensors, in <c>Tensors</c> order.</summary>
    public IReadOnlyList<string> Names => _tensors.Where((_, i) => _frozen[i]).Select(tensor => tensor.Name).ToArray();

    /// <summary>Zeroes the frozen tensors' part of a gradient block (the network's, or a data-parallel shard's).</summary>
    public void ClearGradients(Span<float> gradients)
    {
        foreach (var (start, end) in _ranges)
        {
            gradients[start..end].Clear();
        }
    }

    /// <summary>
    /// The next part of the parameter block from <paramref name="position"/> up to <paramref name="end"/> that is not
    /// frozen: false when none is left; otherwise the part [<paramref name="start"/>, <paramref name="start"/> +
    /// <paramref name="length"/>), with <paramref name="position"/> moved past it.
    /// </summary>
    internal bool NextTrainable(ref int position, int end, out int start, out int length)
    {
        int next = end;
        foreach (var (frozenStart, frozenEnd) in _ranges)
        {
            if (frozenEnd <= position)
            {
                continue;
            }
            if (frozenStart <= position)
            {
                position = frozenEnd; // inside a frozen range: skip it (ranges are merged, so the next one starts later)
                continue;
            }
            next = Math.Min(frozenStart, end);
            break;
        }
        if (position >= end)
        {
            start = length = 0;
            return false;
        }
        start = position;
        length = next - position;
        position = next;
        return true;
    }

    /// <summary>Copies the frozen parts of <paramref name="parameters"/> into <paramref name="saved"/> (sized by <see cref="FrozenLength"/>), or back.</summary>
    internal void Preserve(Span<float> parameters, Span<float> saved, bool restore)
    {
        int at = 0;
        foreach (var (start, end) in _ranges)
        {
            if (restore)
            {
                saved.Slice(at, end - start).CopyTo(parameters[start..end]);
            }
            else
            {
                parameters[start..end].CopyTo(saved.Slice(at, end - start));
            }
            at += end - start;
        }
    }

    /// <summary>The number of frozen parameters.</summary>
    internal int FrozenLength => _ranges.Sum(range => range.End - range.Start);

    /// <summary>Whether the parameter block has frozen parts.</summary>
    internal bool AnyParameters => _ranges.Length > 0;

    private int FindFirstTrainable()
    {
        for (int i = 0; i < _tensors.Count; i++)
        {
            if (_tensors[i].Trainable && !_frozen[i])
            {
                return i;
            }
        }
        return _tensors.Count;
    }

    private bool Mark(string name, bool[] chosen)
    {
        if (name is null)
        {
            return false;
        }
        bool found = false;
        for (int i = 0; i < _tensors.Count; i++)
        {
            if (_tensors[i].Name == name && _tensors[i].Trainable || LayerOf(_tensors[i].Name) == name)
            {
                chosen[i] = true;
                found = true;
            }
        }
        return found;
    }

    /// <summary>The layer of a tensor name: the part before the first dot (<c>conv1</c> of <c>conv1.weight</c>).</summary>
    private static string LayerOf(string tensor)
    {
        int dot = tensor.IndexOf('.');
        return dot < 0 ? tensor : tensor[..dot];
    }

    private ArgumentException Unknown(string network, string? name) => new(UnknownMessage(network, name), "names");

    private string UnknownMessage(string network, string? name)
    {
        var layers = _tensors.Select(tensor => LayerOf(tensor.Name)).Distinct();
        var state = _tensors.FirstOrDefault(tensor => tensor.Name == name && !tensor.Trainable);
        return state is not null
            ? $"{network}: '{name}' is a running statistic; it is frozen with its layer: Freeze(\"{LayerOf(state.Name)}\")."
            : $"{network} has no layer or parameter tensor named '{name ?? "null"}'; its layers with tensors are {string.Join(", ", layers)}.";
    }
}
