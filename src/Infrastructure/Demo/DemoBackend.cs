using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Domain.Endpoints;

namespace LoadBalancer.Infrastructure.Demo;

/// <summary>
/// A tiny HTTP/1.1 server for trying the load balancer: every request on IP:PORT is answered with
/// <c>hello from IP:PORT</c>, so a newcomer sees which backend served it. Keep-alive is honoured, bodies are skipped,
/// and a connection silent for <see cref="IdleTimeout"/> is closed. With the PROXY protocol on, every connection must
/// start with a v1 or v2 header (anything else is closed, as the spec asks), and the answer names the client it carried:
/// <c>hello from IP:PORT to client CLIENTIP:CLIENTPORT</c>. On a UDP address it answers each datagram with
/// <c>hello from IP:PORT: </c> and the datagram, for trying a UDP Service.
/// </summary>
public static class DemoBackend
{
    public const int ListenFailed = 1;

    private const int MaxHeaderBytes = 16 * 1024;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The spec's advice: a few seconds, at least 3 to cover a TCP retransmit.</summary>
    private static readonly TimeSpan HeaderTimeout = TimeSpan.FromSeconds(5);

    /// <param name="udpAddresses">Addresses answering datagrams (<c>--listen-udp</c>).</param>
    /// <param name="proxyProtocol">Expect a PROXY protocol header (v1 or v2) on each TCP connection and answer with the client it names.</param>
    public static async Task<int> RunAsync(IReadOnlyList<Endpoint> addresses, IReadOnlyList<Endpoint> udpAddresses, bool proxyProtocol,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(udpAddresses);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var listeners = new List<TcpListener>();
        var udpSockets = new List<Socket>();
        try
        {
            foreach (var address in udpAddresses)
            {
                var socket = new Socket(address.ToIPEndPoint().AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    socket.Bind(address.ToIPEndPoint());
                }
                catch (SocketException failure)
                {
                    socket.Dispose();
                    await error.WriteLineAsync($"error: --listen-udp {address}: {failure.Message}").ConfigureAwait(false);
                    return ListenFailed;
                }

                udpSockets.Add(socket);
                await output.WriteLineAsync($"demo backend listening on {address}/UDP: answers \"hello from {address}: <datagram>\"").ConfigureAwait(false);
            }

            foreach (var address in addresses)
            {
                var listener = new TcpListener(address.ToIPEndPoint());
                try
                {
                    listener.Start();
                }
                catch (SocketException failure)
                {
                    await error.WriteLineAsync($"error: --listen {address}: {failure.Message}").ConfigureAwait(false);
                    return ListenFailed;
                }

                listeners.Add(listener);
                var answer = proxyProtocol ? $"hello from {address} to client CLIENTIP:CLIENTPORT" : $"hello from {address}";
                var expects = proxyProtocol ? "expects a PROXY protocol header, " : string.Empty;
                await output.WriteLineAsync($"demo backend listening on {address}: {expects}answers \"{answer}\"").ConfigureAwait(false);
            }

            var loops = listeners.Select((listener, index) => AcceptAsync(listener, addresses[index], proxyProtocol, cancellationToken))
                .Concat(udpSockets.Select((socket, index) => AnswerDatagramsAsync(socket, udpAddresses[index], cancellationToken)))
                .ToList();
            await Task.WhenAll(loops).ConfigureAwait(false);
            return 0;
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }

            foreach (var socket in udpSockets)
            {
                socket.Dispose();
            }
        }
    }

    private static async Task AnswerDatagramsAsync(Socket socket, Endpoint address, CancellationToken cancellationToken)
    {
        var greeting = Encoding.ASCII.GetBytes($"hello from {address}: ");
        var buffer = new byte[65536];
        var reply = new byte[greeting.Length + buffer.Length];
        greeting.CopyTo(reply, 0);
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);

                // The reply must fit a datagram: a long one is cut to the largest UDP payload.
                var length = Math.Min(greeting.Length + received.ReceivedBytes, 65507);
                buffer.AsSpan(0, length - greeting.Length).CopyTo(reply.AsSpan(greeting.Length));
                await socket.SendToAsync(reply.AsMemory(0, length), SocketFlags.None, received.RemoteEndPoint, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // A client's port closed (ICMP) or a full buffer: that datagram goes unanswered, the next ones do not.
            }
        }
    }

    private static async Task AcceptAsync(TcpListener listener, Endpoint address, bool proxyProtocol, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
                connections.RemoveAll(task => task.IsCompleted);
                connections.Add(proxyProtocol
                    ? ServeProxiedAsync(client, address, cancellationToken)
                    : ServeAsync(client, $"hello from {address}\n", cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(connections).ConfigureAwait(false);
    }

    /// <summary>Reads the PROXY protocol header first; a LOCAL one (a health check) names no client, so the peer is the client.</summary>
    private static async Task ServeProxiedAsync(TcpClient client, Endpoint address, CancellationToken cancellationToken)
    {
        ProxyHeaderInfo? header;
        try
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            waiting.CancelAfter(HeaderTimeout);
            (header, _) = await ProxyHeaderReader.ReadAsync(client.GetStream(), waiting.Token).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            header = null;
        }

        if (header is null)
        {
            client.Dispose();
            return;
        }

        var peer = header.Source ?? (IPEndPoint)client.Client.RemoteEndPoint!;
        await ServeAsync(client, $"hello from {address} to client {peer}\n", cancellationToken).ConfigureAwait(false);
    }

    private static async Task ServeAsync(TcpClient client, string greeting, CancellationToken cancellationToken)
    {
        using var _ = client;
        var body = Encoding.UTF8.GetBytes(greeting);
        var buffer = new byte[MaxHeaderBytes];
        var filled = 0;
        try
        {
            var stream = client.GetStream();
            while (!cancellationToken.IsCancellationRequested)
            {
                var headerEnd = IndexOfHeaderEnd(buffer.AsSpan(0, filled));
                if (headerEnd < 0)
                {
                    if (filled == buffer.Length)
                    {
                        return;
                    }

                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    idle.CancelAfter(IdleTimeout);
                    var read = await stream.ReadAsync(buffer.AsMemory(filled), idle.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    filled += read;
                    continue;
                }

                var head = Encoding.ASCII.GetString(buffer, 0, headerEnd);
                var keepAlive = KeepAlive(head);
                var skip = headerEnd + 4 + (int)Math.Min(ContentLength(head), int.MaxValue - headerEnd - 4);
                var response = Encoding.ASCII.GetBytes(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    + $"Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n"
                    + (keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"));
                await stream.WriteAsync(response, cancellationToken).ConfigureAwait(false);
                await stream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
                if (!keepAlive)
                {
                    return;
                }

                filled = await DiscardAsync(stream, buffer, filled, skip, cancellationToken).ConfigureAwait(false);
                if (filled < 0)
                {
                    return;
                }
            }
        }
        catch (Exception failure) when (failure is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A client that goes away or stays silent ends only its own connection.
        }
    }

    /// <summary>Drops the request just answered (and its body) from the buffer; -1 when the client left mid-body.</summary>
    private static async Task<int> DiscardAsync(NetworkStream stream, byte[] buffer, int filled, int skip, CancellationToken cancellationToken)
    {
        while (skip > filled)
        {
            skip -= filled;
            filled = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (filled == 0)
            {
                return -1;
            }
        }

        Buffer.BlockCopy(buffer, skip, buffer, 0, filled - skip);
        return filled - skip;
    }

    private static int IndexOfHeaderEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);

    private static bool KeepAlive(string head)
    {
        var firstLine = head.AsSpan(0, Math.Max(0, head.IndexOf('\r', StringComparison.Ordinal) is var end and >= 0 ? end : head.Length));
        var http10 = firstLine.EndsWith("HTTP/1.0", StringComparison.Ordinal);
        var connection = Header(head, "Connection");
        return connection is null
            ? !http10
            : !connection.Contains("close", StringComparison.OrdinalIgnoreCase) && (!http10 || connection.Contains("keep-alive", StringComparison.OrdinalIgnoreCase));
    }

    private static long ContentLength(string head) =>
        long.TryParse(Header(head, "Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var length) ? length : 0;

    private static string? Header(string head, string name)
    {
        foreach (var line in head.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }
}
