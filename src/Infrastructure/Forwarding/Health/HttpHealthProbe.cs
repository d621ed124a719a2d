using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.ProxyProtocol;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// Healthy when <c>GET path</c> answers 200. One request per connection over a plain socket: all a check needs is the
/// status line, and HttpClient would pool connections the check wants fresh every time.
/// </summary>
internal sealed class HttpHealthProbe : IHealthProbe
{
    // A status line is about 15 bytes; a server that sends this much without a line break is not answering HTTP.
    private const int MaxStatusLineLength = 512;

    private readonly string _path;
    private readonly ProxyProtocolVersion _proxyProtocol;

    // A probe serves one target (HealthCheckRegistry makes one per key), so its request is built once, not per check.
    // One reference, so a probe used from two threads at once never pairs one endpoint with another's request.
    private CachedRequest? _request;

    /// <param name="proxyProtocol">The listener's PROXY protocol header, sent before the request: a backend that requires one answers nothing without it.</param>
    public HttpHealthProbe(string path, ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.None)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!IsValidPath(path))
        {
            throw new ArgumentException($"'{path}' is not a request path: it must start with '/' and hold no spaces or control characters", nameof(path));
        }

        _path = path;
        _proxyProtocol = proxyProtocol;
    }

    /// <summary>A path that can go into a request line as it is: starts with '/', printable ASCII without spaces.</summary>
    public static bool IsValidPath(string path) =>
        path.StartsWith('/') && path.All(character => character is > ' ' and < '\u007f');

    public async ValueTask<bool> ProbeAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        byte[]? response = null;
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            await ProxyHeader.SendLocalAsync(socket, _proxyProtocol, cancellationToken).ConfigureAwait(false);
            var request = RequestFor(endpoint);
            for (var sent = 0; sent < request.Length;)
            {
                sent += await socket.SendAsync(request.AsMemory(sent), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            response = ArrayPool<byte>.Shared.Rent(MaxStatusLineLength);
            var received = 0;
            while (received < MaxStatusLineLength)
            {
                var read = await socket.ReceiveAsync(response.AsMemory(received, MaxStatusLineLength - received), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return false;
                }

                received += read;
                var lineEnd = response.AsSpan(0, received).IndexOf("\r\n"u8);
                if (lineEnd >= 0)
                {
                    return IsOk(response.AsSpan(0, lineEnd));
                }
            }

            return false;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            if (response is not null)
            {
                ArrayPool<byte>.Shared.Return(response);
            }
        }
    }

    private byte[] RequestFor(IPEndPoint endpoint)
    {
        if (Volatile.Read(ref _request) is { } cached && cached.EndPoint.Equals(endpoint))
        {
            return cached.Bytes;
        }

        var bytes = Encoding.ASCII.GetBytes(
            $"GET {_path} HTTP/1.1\r\nHost: {endpoint}\r\nUser-Agent: littlelb-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n");
        Volatile.Write(ref _request, new CachedRequest(endpoint, bytes));
        return bytes;
    }

    private sealed record CachedRequest(IPEndPoint EndPoint, byte[] Bytes);

    /// <summary>True for <c>HTTP/1.x 200</c>, with or without a reason phrase.</summary>
    internal static bool IsOk(ReadOnlySpan<byte> statusLine) =>
        statusLine.Length >= 12
        && statusLine.StartsWith("HTTP/1."u8)
        && statusLine[8] == (byte)' '
        && statusLine.Slice(9, 3).SequenceEqual("200"u8)
        && (statusLine.Length == 12 || statusLine[12] == (byte)' ');
}
