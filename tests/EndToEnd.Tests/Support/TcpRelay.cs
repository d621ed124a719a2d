using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.EndToEnd.Tests.Support;

/// <summary>
/// A TCP relay to one target that a test can cut and restore: how a daemon in a network namespace reaches the API server
/// on this host's loopback (the listening socket is made inside the namespace, the outgoing ones here), and how a test
/// takes the API server away from one daemon alone while it keeps running for everyone else.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    private TcpRelay(Socket listener, IPEndPoint target)
    {
        _listener = listener;
        _target = target;
        Listening = (IPEndPoint)listener.LocalEndPoint!;
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>Where clients connect (in the namespace the listening socket was made in).</summary>
    public IPEndPoint Listening { get; }

    /// <summary>Relays from <paramref name="listener"/> (bound and listening; it may belong to another namespace) to <paramref name="target"/>.</summary>
    public static TcpRelay Start(Socket listener, IPEndPoint target) => new(listener, target);

    /// <summary>Relays from a new listener on <paramref name="at"/> (port 0: any) in this process's namespace.</summary>
    public static TcpRelay Start(IPEndPoint at, IPEndPoint target) => new(Listen(at), target);

    /// <summary>A bound, listening TCP socket; made inside a namespace (NetworkNamespace.Run) it listens there.</summary>
    public static Socket Listen(IPEndPoint at)
    {
        var socket = new Socket(at.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(at);
            socket.Listen(128);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The target is away: every relayed connection is reset and new ones are closed at once, until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var socket in _open.Keys)
        {
            Reset(socket);
        }
    }

    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        Cut();
        try
        {
            await _accepting;
        }
        catch (Exception failure) when (failure is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptAsync(_stop.Token);
            if (_cut)
            {
                Reset(client);
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        // Made on a pool thread, so in this process's namespace, where the target is.
        var server = new Socket(_target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _open.TryAdd(client, 0);
        _open.TryAdd(server, 0);
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
            await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception failure) when (failure is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            // Both directions ended (or the relay was cut, which reset them already): an orderly close.
            Forget(client);
            Forget(server);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            if (read == 0)
            {
                // Half-close: the other direction may still be answering.
                to.Shutdown(SocketShutdown.Send);
                return;
            }

            await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
        }
    }

    private void Forget(Socket socket)
    {
        _open.TryRemove(socket, out _);
        socket.Dispose();
    }

    private void Reset(Socket socket)
    {
        _open.TryRemove(socket, out _);
        try
        {
            // A reset, as an unreachable peer's connection ends for the client, not an orderly close.
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
