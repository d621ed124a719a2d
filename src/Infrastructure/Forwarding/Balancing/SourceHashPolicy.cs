using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>
/// Keeps a client address on one backend (Kubernetes' <c>sessionAffinity: ClientIP</c>). Rendezvous hashing: every
/// candidate gets a score from the client's address and its own endpoint, and the highest score wins. The winner
/// depends on the candidate set only through which candidates are in it, so when a backend leaves only its clients
/// move, and when one comes back they return to it. The hash is fixed (not the per-process string hash), so
/// affinity also survives a restart of the daemon.
/// </summary>
internal sealed class SourceHashPolicy : ILoadBalancingPolicy
{
    private RotatingIndex _withoutClient;

    public string Name => LoadBalancingPolicyNames.SourceHash;

    public BackendState Pick(ReadOnlySpan<BackendState> candidates, IPEndPoint? client)
    {
        if (client is null)
        {
            return candidates[_withoutClient.Next(candidates.Length)];
        }

        if (candidates.Length == 1)
        {
            return candidates[0];
        }

        // The port is left out on purpose: each connection of a client comes from a new ephemeral port.
        var clientHash = Hash(client.Address, port: 0);
        var best = candidates[0];
        var bestScore = Score(clientHash, best);
        for (var index = 1; index < candidates.Length; index++)
        {
            var score = Score(clientHash, candidates[index]);
            if (score > bestScore)
            {
                best = candidates[index];
                bestScore = score;
            }
        }

        return best;
    }

    internal static ulong Score(ulong clientHash, BackendState backend) =>
        Mix(clientHash ^ Hash(backend.EndPoint.Address, backend.EndPoint.Port));

    /// <summary>FNV-1a over the address bytes and the port, then <see cref="Mix"/> to spread the bits.</summary>
    internal static ulong Hash(IPAddress address, int port)
    {
        Span<byte> bytes = stackalloc byte[18];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new UnreachableException("an IP address is at most 16 bytes");
        }

        var addressBytes = bytes[..written];
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6)
        {
            // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; hash them as the IPv4 address they are.
            addressBytes = addressBytes[12..];
        }

        BinaryPrimitives.WriteUInt16BigEndian(bytes[16..], (ushort)port);
        var hash = 14695981039346656037UL;
        foreach (var value in addressBytes)
        {
            hash = (hash ^ value) * 1099511628211UL;
        }

        foreach (var value in bytes[16..])
        {
            hash = (hash ^ value) * 1099511628211UL;
        }

        return Mix(hash);
    }

    /// <summary>The 64-bit finaliser of MurmurHash3: every input bit affects every output bit.</summary>
    private static ulong Mix(ulong value)
    {
        value ^= value >> 33;
        value *= 0xff51afd7ed558ccdUL;
        value ^= value >> 33;
        value *= 0xc4ceb9fe1a85ec53UL;
        value ^= value >> 33;
        return value;
    }
}
