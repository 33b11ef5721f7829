using System;
using System.ComponentModel;
using System.Threading;

namespace Backprop.Kernels;

/// <summary>
/// A lock-free pool of per-call state (a generated network's activation buffers for one <c>Predict</c>): a call rents
/// an item, uses it alone, and returns it. The pool holds as many items as calls have ever overlapped, so in steady
/// state a call allocates nothing, and callers never wait for each other.
/// </summary>
/// <remarks>
/// Items live in a chain of slot segments that only grows (each twice the size of the one before), so an item never
/// moves and can never be handed to two callers. Renting and returning each cost one interlocked exchange per slot
/// looked at, usually one. Called by generated code; not meant to be called directly.
/// </remarks>
/// <typeparam name="T">The per-call state.</typeparam>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class InstancePool<T> where T : class
{
    private readonly Func<T> _create;
    private readonly Segment _first;
    private readonly object _growth = new();

    /// <summary>Creates an empty pool.</summary>
    /// <param name="create">Creates an item when every pooled one is in use.</param>
    public InstancePool(Func<T> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        _create = create;
        _first = new Segment(4);
    }

    /// <summary>An item no other caller holds: a pooled one, or a new one when all are in use.</summary>
    public T Rent()
    {
        for (var segment = _first; segment is not null; segment = Volatile.Read(ref segment.Next))
        {
            var slots = segment.Slots;
            for (int i = 0; i < slots.Length; i++)
            {
                var item = Volatile.Read(ref slots[i]);
                if (item is not null && Interlocked.CompareExchange(ref slots[i], null, item) == item)
                {
                    return item;
                }
            }
        }
        return _create();
    }

    /// <summary>Gives back an item from <see cref="Rent"/>; the caller must not use it afterwards.</summary>
    public void Return(T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        while (true)
        {
            Segment last = _first;
            for (var segment = _first; segment is not null; segment = Volatile.Read(ref segment.Next))
            {
                var slots = segment.Slots;
                for (int i = 0; i < slots.Length; i++)
                {
                    if (Volatile.Read(ref slots[i]) is null && Interlocked.CompareExchange(ref slots[i], item, null) is null)
                    {
                        return;
                    }
                }
                last = segment;
            }
            // Every slot is taken: more calls overlap than ever before. Add a segment (once, whoever gets here first).
            lock (_growth)
            {
                if (Volatile.Read(ref last.Next) is null)
                {
                    Volatile.Write(ref last.Next, new Segment(last.Slots.Length * 2));
                }
            }
        }
    }

    private sealed class Segment(int length)
    {
        public readonly T?[] Slots = new T?[length];
        public Segment? Next;
    }
}
