using System.Net.Sockets;
using System.Security.Cryptography;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>What passed one way through a connection: its length and SHA-256.</summary>
internal sealed record StreamDigest(long Length, string Sha256)
{
    public override string ToString() => $"{Length} bytes, sha256 {Sha256}";
}

/// <summary>Bulk transfers that hash as they go, so hundreds of MiB can be checked without holding them.</summary>
internal static class Transfers
{
    private const int ChunkSize = 256 * 1024;

    /// <summary>Sends <paramref name="length"/> seeded pseudo-random bytes and returns their digest.</summary>
    public static async Task<StreamDigest> SendSeededAsync(this Socket socket, long length, ulong seed, CancellationToken cancellationToken)
    {
        var source = new SeededBytes(seed);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = new byte[ChunkSize];
        var remaining = length;
        while (remaining > 0)
        {
            var size = (int)Math.Min(chunk.Length, remaining);
            source.Fill(chunk.AsSpan(0, size));
            hash.AppendData(chunk, 0, size);
            await socket.SendAllAsync(chunk.AsMemory(0, size), cancellationToken);
            remaining -= size;
        }

        return new StreamDigest(length, Convert.ToHexString(hash.GetHashAndReset()));
    }

    /// <summary>Reads until the peer's FIN and returns the digest of everything read; a reset propagates as SocketException.</summary>
    public static async Task<StreamDigest> ReceiveDigestAsync(this Socket socket, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = new byte[ChunkSize];
        long length = 0;
        int read;
        while ((read = await socket.ReceiveAsync(chunk, SocketFlags.None, cancellationToken)) > 0)
        {
            hash.AppendData(chunk, 0, read);
            length += read;
        }

        return new StreamDigest(length, Convert.ToHexString(hash.GetHashAndReset()));
    }
}
