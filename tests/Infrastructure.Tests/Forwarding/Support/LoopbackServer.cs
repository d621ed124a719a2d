using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Endpoints;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// A backend on 127.0.0.1 for the forwarder to connect to: it accepts every connection and runs a handler on it.
/// Handlers are ordinary async code; the server counts connections and bytes and closes whatever is left on dispose.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<Socket, LoopbackServer, CancellationToken, Task> _handler;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, Task> _connections = new();
    private readonly ConcurrentQueue<Exception> _faults = new();
    private readonly Task _acceptLoop;
    private int _accepted;
    private long _bytesReceived;
    private long _bytesSent;

    private LoopbackServer(Func<Socket, LoopbackServer, CancellationToken, Task> handler, int backlog)
    {
        _handler = handler;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(LoopbackAddresses.Backends, 0));
        _listener.Listen(backlog);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        Endpoint = new Endpoint(EndPoint.Address, EndPoint.Port);
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>This server as a backend of a listener.</summary>
    public Endpoint Endpoint { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections whose handler has not finished.</summary>
    public int Open => _connections.Count;

    /// <summary>Bytes the handlers read (counted by handlers that count).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Bytes the handlers wrote (counted by handlers that count).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Exceptions from handlers other than the socket errors and cancellations that end connections.</summary>
    public IReadOnlyCollection<Exception> Faults => _faults;

    public static LoopbackServer Start(Func<Socket, LoopbackServer, CancellationToken, Task> handler, int backlog = 4096) =>
        new(handler, backlog);

    public static LoopbackServer Start(Func<Socket, CancellationToken, Task> handler) =>
        new((socket, _, cancellationToken) => handler(socket, cancellationToken), 4096);

    /// <summary>Writes back whatever it reads; on the client's FIN it sends its own and closes.</summary>
    public static LoopbackServer StartEcho() => Start(EchoAsync);

    /// <summary>Reads until the client's FIN, then sends <paramref name="responseBytes"/> seeded bytes and closes.</summary>
    public static LoopbackServer StartRespondingAfterEof(int responseBytes, ulong seed) => Start(async (socket, server, cancellationToken) =>
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            server.CountReceived(read);
        }

        var response = new SeededBytes(seed).Next(responseBytes);
        await socket.SendAllAsync(response, cancellationToken);
        server.CountSent(response.Length);
        socket.Shutdown(SocketShutdown.Send);
    });

    /// <summary>Reads the first bytes a client sends, then aborts the connection with RST.</summary>
    public static LoopbackServer StartResettingAfterFirstRead() => Start(async (socket, cancellationToken) =>
    {
        var buffer = new byte[1024];
        _ = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        socket.Abort();
    });

    public void CountReceived(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    public void CountSent(long bytes) => Interlocked.Add(ref _bytesSent, bytes);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Dispose();
        }

        try
        {
            await Task.WhenAll([_acceptLoop, .. _connections.Values]).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // A handler stuck despite its socket being closed; the test itself reports what went wrong.
        }

        _stopping.Dispose();
    }

    public override string ToString() => $"{Endpoint} (accepted {Accepted}, open {Open})";

    private static async Task EchoAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            await socket.SendAllAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            connection.NoDelay = true;
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[connection] = RunAsync(connection, started.Task);
            started.SetResult();
        }
    }

    private async Task RunAsync(Socket connection, Task registered)
    {
        await registered;
        try
        {
            await _handler(connection, this, _stopping.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The ordinary ends of a connection: a reset, the server stopping.
        }
        catch (Exception e)
        {
            _faults.Enqueue(e);
        }
        finally
        {
            connection.Dispose();
            _connections.TryRemove(connection, out _);
        }
    }
}
