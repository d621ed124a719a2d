using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Addressing;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

internal enum CloseKind
{
    /// <summary>A clean end of stream: the peer's FIN.</summary>
    Eof,

    /// <summary>The peer's RST.</summary>
    Reset,

    /// <summary>Another socket error; see <see cref="Closed.Error"/>.</summary>
    OtherError,
}

/// <summary>How a connection ended, seen from one side.</summary>
internal sealed record Closed(CloseKind Kind, SocketError? Error, long BytesBeforeClose, TimeSpan After)
{
    public override string ToString() =>
        $"{Kind}{(Error is { } error ? $" ({error})" : string.Empty)} after {After.TotalMilliseconds:F0} ms and {BytesBeforeClose} bytes";
}

/// <summary>Client-side socket helpers: every call is bounded and fails the test with a message that says what hung.</summary>
internal static class TestSockets
{
    public static readonly TimeSpan ShortWait = TimeSpan.FromSeconds(5);

    public static Socket NewTcp() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    public static Task<Socket> ConnectAsync(PortBinding binding) => ConnectAsync(binding.ToIPEndPoint());

    public static async Task<Socket> ConnectAsync(IPEndPoint endPoint, TimeSpan? limit = null)
    {
        var wait = limit ?? ShortWait;
        var socket = NewTcp();
        try
        {
            using var deadline = Bounded.Deadline(wait);
            await socket.ConnectAsync(endPoint, deadline.Token);
            return socket;
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            Assert.Fail($"connect to {endPoint} did not complete within {wait.TotalMilliseconds:F0} ms");
            throw;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects to a listener that is expected to close the connection at once (limit reached, no backend) and reports how
    /// it ended. On loopback the forwarder's RST can land before the runtime has checked the connect's result, and then
    /// the connect itself fails with ConnectionReset: that counts as the connection being reset, not as a failed connect.
    /// </summary>
    public static async Task<Closed> ConnectAndWaitForCloseAsync(PortBinding binding, TimeSpan limit, string what)
    {
        var started = Stopwatch.StartNew();
        Socket client;
        try
        {
            client = await ConnectAsync(binding.ToIPEndPoint(), limit);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return new Closed(CloseKind.Reset, e.SocketErrorCode, 0, started.Elapsed);
        }

        using (client)
        {
            var closed = await client.WaitForCloseAsync(limit, what);
            return closed with { After = started.Elapsed };
        }
    }

    /// <summary>Tries to connect; returns the socket error (null when it connected, and the socket is closed again).</summary>
    public static async Task<SocketError?> TryConnectAsync(IPEndPoint endPoint, TimeSpan limit)
    {
        using var socket = NewTcp();
        using var deadline = Bounded.Deadline(limit);
        try
        {
            await socket.ConnectAsync(endPoint, deadline.Token);
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
        catch (OperationCanceledException)
        {
            return SocketError.TimedOut;
        }
    }

    public static async Task SendAllAsync(this Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    /// <summary>Fills <paramref name="buffer"/>; an end of stream before that fails the test.</summary>
    public static async Task ReceiveExactlyAsync(this Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = buffer.Length;
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                Assert.Fail($"connection ended after {total - buffer.Length} of {total} expected bytes");
            }

            buffer = buffer[read..];
        }
    }

    /// <summary>Sends <paramref name="message"/> to an echo backend and checks the same bytes come back.</summary>
    public static async Task EchoAsync(this Socket socket, byte[] message, TimeSpan? limit = null)
    {
        var wait = limit ?? ShortWait;
        using var deadline = Bounded.Deadline(wait);
        var echoed = new byte[message.Length];
        try
        {
            await socket.SendAllAsync(message, deadline.Token);
            await socket.ReceiveExactlyAsync(echoed, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Assert.Fail($"echo of {message.Length} bytes did not come back within {wait.TotalMilliseconds:F0} ms");
        }

        Assert.True(message.AsSpan().SequenceEqual(echoed), $"echo of {message.Length} bytes came back different");
    }

    /// <summary>Reads everything until the peer closes; the bytes and how it ended.</summary>
    public static async Task<(byte[] Data, Closed Closed)> ReadToCloseAsync(this Socket socket, TimeSpan limit, string what)
    {
        var started = Stopwatch.StartNew();
        using var deadline = Bounded.Deadline(limit);
        using var data = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (read == 0)
                {
                    return (data.ToArray(), new Closed(CloseKind.Eof, null, data.Length, started.Elapsed));
                }

                data.Write(buffer, 0, read);
            }
        }
        catch (SocketException e)
        {
            var kind = e.SocketErrorCode == SocketError.ConnectionReset ? CloseKind.Reset : CloseKind.OtherError;
            return (data.ToArray(), new Closed(kind, e.SocketErrorCode, data.Length, started.Elapsed));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Assert.Fail($"{what}: connection still open after {limit.TotalMilliseconds:F0} ms ({data.Length} bytes read)");
            throw;
        }
    }

    public static async Task<Closed> WaitForCloseAsync(this Socket socket, TimeSpan limit, string what) =>
        (await socket.ReadToCloseAsync(limit, what)).Closed;

    /// <summary>Closes with RST instead of FIN: SO_LINGER on with a zero timeout.</summary>
    public static void Abort(this Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public static void DisposeAll(IEnumerable<Socket> sockets)
    {
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }
}
