using System;
using System.ComponentModel;
using System.Threading;

namespace Backprop.Kernels;

/// <summary>
/// The concurrency rule of one network instance, applied at the start of every public call: any number of reading
/// calls (<c>Predict</c>, <c>CopyTensor</c>, <c>CopyGradient</c>, <c>Save</c>) run at the same time; a writing call
/// (<c>ComputeGradients</c>, <c>TrainStep</c>, <c>SetTensor</c>, <c>Load</c>) runs alone. Calls that may not overlap run
/// one after the other: a writing call waits until the reading calls under way have finished, and calls that arrive
/// while a writer waits or runs wait until it is done (so a stream of predictions cannot starve a <c>Load</c>). No
/// call ever sees a model half-written.
/// </summary>
/// <remarks>
/// A call may call back into its own instance on the same thread (<c>Load</c> sets every tensor through
/// <c>SetTensor</c>, <c>Save</c> copies them out through <c>CopyTensor</c>). A reading call that starts a writing call
/// on its own thread would wait for itself; that is refused with an <see cref="InvalidOperationException"/> naming the
/// network and both operations. Uncontended, entering and leaving cost tens of nanoseconds and allocate nothing.
/// Called by generated code; not meant to be called directly.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class CallGate
{
    private readonly string _network;
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.SupportsRecursion);
    // The latest reading operation to enter, for the message of a refused upgrade.
    private volatile string _reader = "";

    /// <summary>Creates the gate of one network instance.</summary>
    /// <param name="network">The network's name, for messages.</param>
    public CallGate(string network)
    {
        ArgumentNullException.ThrowIfNull(network);
        _network = network;
    }

    /// <summary>Enters a reading call, waiting while a writing call runs or waits; pair with <see cref="ExitRead"/> in a <c>finally</c>.</summary>
    /// <param name="operation">The public member being called, for messages.</param>
    public void EnterRead(string operation)
    {
        _lock.EnterReadLock();
        _reader = operation;
    }

    /// <summary>Leaves a reading call entered by <see cref="EnterRead"/>.</summary>
    public void ExitRead() => _lock.ExitReadLock();

    /// <summary>Enters a writing call, waiting until every other call has left; pair with <see cref="ExitWrite"/> in a <c>finally</c>.</summary>
    /// <param name="operation">The public member being called, for messages.</param>
    /// <exception cref="InvalidOperationException">The calling thread is inside a reading call on this instance (it would wait for itself).</exception>
    public void EnterWrite(string operation)
    {
        if (_lock.IsReadLockHeld && !_lock.IsWriteLockHeld)
        {
            throw new InvalidOperationException(
                $"{_network}: {operation} was called while {_reader} was running on the same thread; a writing call cannot start inside a reading call of its own instance.");
        }
        _lock.EnterWriteLock();
    }

    /// <summary>Leaves a writing call entered by <see cref="EnterWrite"/>.</summary>
    public void ExitWrite() => _lock.ExitWriteLock();

    /// <summary>
    /// Waits until no writing call runs, without staying inside: for members that hand out the model's memory
    /// (<c>Parameters</c>, <c>Gradients</c>), whose later use the gate cannot see.
    /// </summary>
    /// <param name="operation">The public member being called, for messages.</param>
    public void Wait(string operation)
    {
        if (_lock.IsWriteLockHeld)
        {
            return;
        }
        EnterRead(operation);
        ExitRead();
    }
}
