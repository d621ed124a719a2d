using System.Buffers.Binary;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// A fast, reproducible stream of pseudo-random bytes (xorshift64*): fast enough that a 256 MiB transfer measures
/// the forwarder, not the generator, and without period short enough to hide reordered or repeated chunks.
/// </summary>
internal sealed class SeededBytes
{
    private ulong _state;

    public SeededBytes(ulong seed) => _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

    public void Fill(Span<byte> destination)
    {
        while (destination.Length >= sizeof(ulong))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, Next());
            destination = destination[sizeof(ulong)..];
        }

        if (!destination.IsEmpty)
        {
            Span<byte> last = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64LittleEndian(last, Next());
            last[..destination.Length].CopyTo(destination);
        }
    }

    public byte[] Next(int length)
    {
        var bytes = new byte[length];
        Fill(bytes);
        return bytes;
    }

    private ulong Next()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545F4914F6CDD1DUL;
    }
}
