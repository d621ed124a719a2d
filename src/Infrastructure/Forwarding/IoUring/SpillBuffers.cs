using System.Runtime.InteropServices;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// Buffers of the ring's size for when the ring is empty (every ring buffer holds bytes a slow target has not taken yet).
/// Waiting for a ring buffer instead could wait forever: the directions holding them may themselves wait for a peer that
/// waits for this one. A few are kept once used; the rest are freed, so the memory follows the pressure.
/// </summary>
internal sealed unsafe class SpillBuffers(int bufferSize, int maxIdle) : IDisposable
{
    private readonly Stack<nint> _idle = new();

    /// <summary>Buffers handed out and not yet returned.</summary>
    public int InUse { get; private set; }

    public byte* Rent()
    {
        InUse++;
        return _idle.TryPop(out var buffer) ? (byte*)buffer : (byte*)NativeMemory.Alloc((nuint)bufferSize);
    }

    public void Return(byte* buffer)
    {
        InUse--;
        if (_idle.Count < maxIdle)
        {
            _idle.Push((nint)buffer);
            return;
        }

        NativeMemory.Free(buffer);
    }

    public void Dispose()
    {
        while (_idle.TryPop(out var buffer))
        {
            NativeMemory.Free((void*)buffer);
        }
    }
}
