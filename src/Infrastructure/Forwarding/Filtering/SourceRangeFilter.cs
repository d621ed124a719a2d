using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Infrastructure.Forwarding.Filtering;

/// <summary>
/// Puts a Service's loadBalancerSourceRanges into the kernel: a classic BPF socket filter (<c>SO_ATTACH_FILTER</c>)
/// on a listening TCP socket or a UDP socket, which drops packets from other sources before the socket sees them. On a
/// TCP listener a SYN from outside never completes a handshake, so such a client never reaches accept (its connect
/// times out); on a UDP socket its datagrams are never received. Attaching again replaces the program atomically and
/// leaves the connections already accepted alone (each accepted socket keeps the program it was cloned with).
/// </summary>
internal static unsafe class SourceRangeFilter
{
    private const int SOL_SOCKET = 1;
    private const int SO_ATTACH_FILTER = 26;
    private const int SO_DETACH_FILTER = 27;
    private const int ENOENT = 2;

    /// <summary>
    /// Attaches the program for <paramref name="ranges"/> to <paramref name="socket"/>, replacing one attached before;
    /// empty ranges detach it (every source is let in).
    /// </summary>
    /// <returns>Null when the kernel took it; else why not (the caller falls back to checking at accept).</returns>
    public static string? Attach(Socket socket, IReadOnlyList<IpCidr> ranges)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(ranges);
        if (ranges.Count == 0)
        {
            return Detach(socket);
        }

        BpfInstruction[] program;
        try
        {
            program = SourceRangeProgram.For(ranges);
        }
        catch (ArgumentException tooLong)
        {
            return tooLong.Message;
        }

        fixed (BpfInstruction* instructions = program)
        {
            var fprog = new SocketFilterProgram { Length = (ushort)program.Length, Filter = instructions };
            try
            {
                socket.SetRawSocketOption(SOL_SOCKET, SO_ATTACH_FILTER,
                    new ReadOnlySpan<byte>(&fprog, sizeof(SocketFilterProgram)));
                return null;
            }
            catch (SocketException failure)
            {
                return $"SO_ATTACH_FILTER failed: {failure.Message} ({failure.SocketErrorCode})";
            }
            catch (ObjectDisposedException)
            {
                return "the socket is closed";
            }
        }
    }

    /// <summary>Removes the program; a socket that had none is fine.</summary>
    public static string? Detach(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            var unused = 0;
            socket.SetRawSocketOption(SOL_SOCKET, SO_DETACH_FILTER, new ReadOnlySpan<byte>(&unused, sizeof(int)));
            return null;
        }
        catch (SocketException failure) when (failure.NativeErrorCode == ENOENT || failure.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            return null;
        }
        catch (SocketException failure)
        {
            return $"SO_DETACH_FILTER failed: {failure.Message} ({failure.SocketErrorCode})";
        }
        catch (ObjectDisposedException)
        {
            return "the socket is closed";
        }
    }

    /// <summary><c>struct sock_fprog</c>: the length, then (after padding on 64-bit) the pointer to the instructions.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SocketFilterProgram
    {
        public ushort Length;
        public BpfInstruction* Filter;
    }
}

/// <summary>
/// The same ranges checked in user space, for a connection already accepted: one that completed its handshake before
/// the filter was attached or narrowed, or every one when the kernel refused the filter. Read without a lock.
/// </summary>
internal sealed class SourceRangeSet
{
    private readonly IpCidr[] _ranges;

    public SourceRangeSet(IReadOnlyList<IpCidr> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        _ranges = [.. ranges];
    }

    /// <summary>Null for no ranges: every client is let in and nothing needs checking.</summary>
    public static SourceRangeSet? For(IReadOnlyList<IpCidr> ranges) => ranges.Count == 0 ? null : new SourceRangeSet(ranges);

    public IReadOnlyList<IpCidr> Ranges => _ranges;

    /// <summary>Whether a client at <paramref name="address"/> may come in; an unknown address may not.</summary>
    public bool Allows(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        foreach (var range in _ranges)
        {
            if (range.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
