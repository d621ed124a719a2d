using System.Globalization;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Interop;

namespace LoadBalancer.Infrastructure.Networking.Netlink;

/// <summary>
/// The answer to one request: errno 0 and the messages (one for a get, many for a dump, none for an acknowledged
/// change), or the errno with the kernel's extended-ack text when it gave one.
/// </summary>
internal sealed record NetlinkReply(int Errno, string? KernelMessage, IReadOnlyList<NetlinkMessage> Messages)
{
    public bool Succeeded => Errno == 0;

    public static NetlinkReply Failed(int errno, string? message) => new(errno, message, []);

    /// <summary>"File exists (errno 17): kernel says ...", for log lines and failure reasons.</summary>
    public string Describe()
    {
        var text = $"{Marshal.GetPInvokeErrorMessage(Errno)} (errno {Errno.ToString(CultureInfo.InvariantCulture)})";
        return KernelMessage is null ? text : $"{text}; kernel: {KernelMessage}";
    }
}

/// <summary>
/// An AF_NETLINK/NETLINK_ROUTE socket. Requests are serialised and blocking, bounded by SO_RCVTIMEO, because each is
/// a short round trip to the kernel and the callers (address changes, a few per Service) are rare. The socket belongs
/// to the network namespace of the thread that opened it, for its whole life.
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    private const int ReceiveBufferSize = 64 * 1024;
    private const int DumpAttempts = 3;

    private readonly Lock _gate = new();
    private readonly byte[] _buffer = new byte[ReceiveBufferSize];
    private readonly TimeSpan _receiveTimeout;
    private int _fd;
    private uint _sequence;

    private NetlinkSocket(int fd, uint portId, TimeSpan receiveTimeout)
    {
        _fd = fd;
        PortId = portId;
        _receiveTimeout = receiveTimeout;
        // Start from the clock like iproute2 does, so replies meant for an earlier socket on a reused port id do not match.
        _sequence = (uint)Environment.TickCount;
    }

    public uint PortId { get; }

    /// <summary>
    /// Opens and binds the socket, joining the given legacy multicast groups (0 for request/reply only). Throws when
    /// the kernel refuses a netlink socket at all: that is a broken environment, not a user error.
    /// </summary>
    public static NetlinkSocket Open(uint groups = 0, TimeSpan? receiveTimeout = null)
    {
        var timeout = receiveTimeout ?? TimeSpan.FromSeconds(5);
        var fd = Libc.socket(NetlinkNative.AF_NETLINK, NetlinkNative.SOCK_RAW | NetlinkNative.SOCK_CLOEXEC, NetlinkNative.NETLINK_ROUTE);
        if (fd < 0)
        {
            throw Failure("socket(AF_NETLINK, NETLINK_ROUTE)", Libc.LastError);
        }

        try
        {
            var address = new NetlinkNative.SockaddrNl { Family = NetlinkNative.AF_NETLINK, Groups = groups };
            if (NetlinkNative.bind(fd, &address, sizeof(NetlinkNative.SockaddrNl)) != 0)
            {
                throw Failure("bind(AF_NETLINK)", Libc.LastError);
            }

            var length = sizeof(NetlinkNative.SockaddrNl);
            if (NetlinkNative.getsockname(fd, &address, &length) != 0)
            {
                throw Failure("getsockname(AF_NETLINK)", Libc.LastError);
            }

            // Extended ack gives the kernel's reason in words; strict checking makes dumps honour the header filters
            // and refuse malformed requests instead of guessing. Both are best effort: older kernels lack them.
            var on = 1;
            _ = Libc.setsockopt(fd, NetlinkNative.SOL_NETLINK, NetlinkNative.NETLINK_EXT_ACK, &on, sizeof(int));
            _ = Libc.setsockopt(fd, NetlinkNative.SOL_NETLINK, NetlinkNative.NETLINK_GET_STRICT_CHK, &on, sizeof(int));
            if (groups != 0)
            {
                // Notifications arrive in bursts (a device going down drops every address at once); a roomy buffer
                // keeps the monitor from missing them, and ENOBUFS still says when it did.
                var size = 1024 * 1024;
                _ = Libc.setsockopt(fd, NetlinkNative.SOL_SOCKET, NetlinkNative.SO_RCVBUF, &size, sizeof(int));
            }

            var timeval = new NetlinkNative.TimeVal
            {
                Seconds = (long)timeout.TotalSeconds,
                Microseconds = timeout.Milliseconds * 1000L + timeout.Microseconds,
            };
            if (Libc.setsockopt(fd, NetlinkNative.SOL_SOCKET, NetlinkNative.SO_RCVTIMEO, &timeval, sizeof(NetlinkNative.TimeVal)) != 0)
            {
                throw Failure("setsockopt(SO_RCVTIMEO)", Libc.LastError);
            }

            return new NetlinkSocket(fd, address.PortId, timeout);
        }
        catch
        {
            _ = Libc.close(fd);
            throw;
        }
    }

    /// <summary>
    /// Sends the request and collects the replies with its sequence number until the last one (NLMSG_DONE or
    /// NLMSG_ERROR, or a single message that is not part of a multipart answer). A dump the kernel marks as
    /// interrupted (the table changed under it) is asked again.
    /// </summary>
    public NetlinkReply Send(NetlinkRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            var isDump = (request.Flags & Rtnetlink.NLM_F_DUMP) == Rtnetlink.NLM_F_DUMP;
            for (var attempt = 1; ; attempt++)
            {
                var reply = SendOnce(request, out var interrupted);
                if (!interrupted || !isDump || attempt == DumpAttempts)
                {
                    return reply;
                }
            }
        }
    }

    /// <summary>
    /// Waits up to the receive timeout for one datagram of notifications: the messages, an empty list on timeout,
    /// or an errno (ENOBUFS when the kernel dropped notifications because the buffer was full).
    /// </summary>
    public NetlinkReply Receive()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            var received = ReceiveDatagram(out var errno);
            if (received < 0)
            {
                return errno == NetlinkNative.EAGAIN ? new NetlinkReply(0, null, []) : NetlinkReply.Failed(errno, null);
            }

            return new NetlinkReply(0, null, NetlinkMessage.Parse(_buffer.AsSpan(0, received)));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_fd >= 0)
            {
                _ = Libc.close(_fd);
                _fd = -1;
            }
        }
    }

    private NetlinkReply SendOnce(NetlinkRequest request, out bool interrupted)
    {
        interrupted = false;
        var sequence = unchecked(++_sequence);
        var bytes = request.Complete(sequence);
        nint sent;
        fixed (byte* pointer = bytes)
        {
            do
            {
                sent = NetlinkNative.send(_fd, pointer, (nuint)bytes.Length, 0);
            }
            while (sent < 0 && Libc.LastError == NetlinkNative.EINTR);
        }

        if (sent < 0)
        {
            return NetlinkReply.Failed(Libc.LastError, "sending the request to the kernel failed");
        }

        var messages = new List<NetlinkMessage>();
        while (true)
        {
            var received = ReceiveDatagram(out var errno);
            if (received < 0)
            {
                return errno == NetlinkNative.EAGAIN
                    ? NetlinkReply.Failed(errno, $"no answer from the kernel within {_receiveTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s")
                    : NetlinkReply.Failed(errno, "reading the kernel's answer failed");
            }

            foreach (var message in NetlinkMessage.Parse(_buffer.AsSpan(0, received)))
            {
                // Answers to an earlier request that timed out may still arrive; only this request's count.
                if (message.Sequence != sequence)
                {
                    continue;
                }

                interrupted |= (message.Flags & Rtnetlink.NLM_F_DUMP_INTR) != 0;
                switch (message.Type)
                {
                    case Rtnetlink.NLMSG_ERROR:
                        var (error, text) = NetlinkMessage.ParseStatus(message.Payload, message.Flags, hasEchoedRequest: true);
                        return new NetlinkReply(error, text, error == 0 ? messages : []);
                    case Rtnetlink.NLMSG_DONE:
                        var (status, doneText) = NetlinkMessage.ParseStatus(message.Payload, message.Flags, hasEchoedRequest: false);
                        return new NetlinkReply(status, doneText, status == 0 ? messages : []);
                    case Rtnetlink.NLMSG_NOOP:
                        continue;
                    default:
                        messages.Add(message);
                        if ((message.Flags & Rtnetlink.NLM_F_MULTI) == 0)
                        {
                            return new NetlinkReply(0, null, messages);
                        }

                        break;
                }
            }
        }
    }

    /// <summary>One datagram from the kernel into the buffer; its length, or -1 with the errno.</summary>
    private int ReceiveDatagram(out int errno)
    {
        while (true)
        {
            var from = default(NetlinkNative.SockaddrNl);
            var fromLength = sizeof(NetlinkNative.SockaddrNl);
            nint received;
            fixed (byte* pointer = _buffer)
            {
                received = NetlinkNative.recvfrom(_fd, pointer, (nuint)_buffer.Length, NetlinkNative.MSG_TRUNC, &from, &fromLength);
            }

            if (received < 0)
            {
                errno = Libc.LastError;
                if (errno == NetlinkNative.EINTR)
                {
                    continue;
                }

                return -1;
            }

            // Only the kernel (port 0) speaks for rtnetlink; anything another process sends to this port is ignored.
            if (from.PortId != 0)
            {
                continue;
            }

            if (received > _buffer.Length)
            {
                // MSG_TRUNC reports the real size: a message this large is not something rtnetlink sends here.
                throw new InvalidDataException($"netlink datagram of {received} bytes exceeds the {_buffer.Length}-byte buffer");
            }

            errno = 0;
            return (int)received;
        }
    }

    private static InvalidOperationException Failure(string call, int errno) =>
        new($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno.ToString(CultureInfo.InvariantCulture)})");
}
