using System.Net.Sockets;
using System.Runtime.InteropServices;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// A provided-buffer ring (IORING_REGISTER_PBUF_RING): the kernel picks a free buffer when a receive has data, so a
/// connection waiting to read holds no memory. A buffer goes back to the ring once its bytes were sent on.
/// </summary>
internal sealed unsafe class BufferRing : IDisposable
{
    private readonly Ring _ring;
    private readonly Buf* _entries;
    private readonly byte* _memory;
    private readonly ushort _mask;
    private ushort _tail;
    private bool _registered;

    public BufferRing(Ring ring, ushort groupId, int count, int bufferSize)
    {
        if (count is < 1 or > 32768 || (count & (count - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "a power of two up to 32768");
        }

        _ring = ring;
        GroupId = groupId;
        Count = count;
        BufferSize = bufferSize;
        _mask = (ushort)(count - 1);
        var page = (nuint)Environment.SystemPageSize;

        // The kernel pins the entries' pages: they must start on a page.
        _entries = (Buf*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(Buf)), page);
        NativeMemory.Clear(_entries, (nuint)(count * sizeof(Buf)));
        _memory = (byte*)NativeMemory.AlignedAlloc((nuint)count * (nuint)bufferSize, page);
        for (var id = 0; id < count; id++)
        {
            Put((ushort)id);
        }

        Publish();
        var registration = new BufReg { RingAddress = (ulong)_entries, RingEntries = (uint)count, GroupId = groupId };
        if (ring.Register(IORING_REGISTER_PBUF_RING, &registration, 1) != 0)
        {
            var error = Interop.Libc.LastError;
            Free();
            throw new SocketException(error);
        }

        _registered = true;
    }

    public ushort GroupId { get; }

    public int Count { get; }

    public int BufferSize { get; }

    /// <summary>Buffers the engine holds now (received and not yet sent on).</summary>
    public int InUse { get; private set; }

    public byte* Address(ushort id) => _memory + ((nuint)id * (nuint)BufferSize);

    /// <summary>A receive completed into buffer <paramref name="id"/>: it is the engine's until <see cref="Return"/>.</summary>
    public void Taken() => InUse++;

    public void Return(ushort id)
    {
        Put(id);
        Publish();
        InUse--;
    }

    public void Dispose()
    {
        if (_registered)
        {
            var registration = new BufReg { GroupId = GroupId };
            _ = _ring.Register(IORING_UNREGISTER_PBUF_RING, &registration, 1);
            _registered = false;
        }

        Free();
    }

    private void Put(ushort id)
    {
        var entry = &_entries[_tail & _mask];
        entry->Address = (ulong)Address(id);
        entry->Length = (uint)BufferSize;
        entry->BufferId = id;
        _tail++;
    }

    /// <summary>The tail overlays entry 0's last two bytes; a release store makes the filled entries visible first.</summary>
    private void Publish() => Volatile.Write(ref *(ushort*)((byte*)_entries + 14), _tail);

    private void Free()
    {
        if (_entries is not null)
        {
            NativeMemory.AlignedFree(_entries);
            NativeMemory.AlignedFree(_memory);
        }
    }
}
