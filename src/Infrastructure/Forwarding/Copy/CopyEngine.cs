using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.Backends;
using LoadBalancer.Infrastructure.Forwarding.Listeners;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Copy;

/// <summary>
/// The managed engine: .NET sockets and pooled buffers, for kernels or sockets where splice is not available. A
/// direction waits for data with a zero-byte receive, so an idle connection holds no buffer.
/// </summary>
internal sealed class CopyEngine(ForwarderOptions options, TimeProvider time, ILogger logger) : IForwardingEngine
{
    private readonly ForwarderClock _clock = new(time);

    public IListenerRuntime Start(Socket listeningSocket, ListenerContext context)
    {
        var runtime = new Runtime(listeningSocket, context, options, time, _clock, logger);
        runtime.Start();
        return runtime;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Runtime : IListenerRuntime, IDisposable
    {
        /// <summary>After an accept error (out of fds, say): a pause instead of a spin, as the splice engine does.</summary>
        private static readonly TimeSpan AcceptPause = TimeSpan.FromMilliseconds(100);

        private readonly Socket _listeningSocket;
        private readonly ListenerContext _context;
        private readonly ForwarderOptions _options;
        private readonly TimeProvider _time;
        private readonly ForwarderClock _clock;
        private readonly ILogger _logger;
        private readonly CancellationTokenSource _stopAccepting = new();
        private readonly ConcurrentDictionary<CopyConnection, Task> _connections = new();
        private readonly ITimer _housekeeping;
        private readonly Action<CopyConnection> _forget;
        private Task _acceptLoop = Task.CompletedTask;

        public Runtime(Socket listeningSocket, ListenerContext context, ForwarderOptions options, TimeProvider time, ForwarderClock clock, ILogger logger)
        {
            _listeningSocket = listeningSocket;
            _context = context;
            _options = options;
            _time = time;
            _clock = clock;
            _logger = logger;
            _forget = Forget;
            var period = TimeSpan.FromMilliseconds(Math.Clamp(options.IdleTimeout.TotalMilliseconds / 4, 10, 1000));
            _housekeeping = time.CreateTimer(static runtime => ((Runtime)runtime!).CloseIdle(), this, period, period);
        }

        public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

        public async ValueTask StopAcceptingAsync()
        {
            await _stopAccepting.CancelAsync().ConfigureAwait(false);
            await _acceptLoop.ConfigureAwait(false);
        }

        public async ValueTask CloseConnectionsAsync()
        {
            foreach (var connection in _connections.Keys)
            {
                connection.Abort(reset: false);
            }

            await Task.WhenAll(_connections.Values).ConfigureAwait(false);
            Dispose();
        }

        public void Dispose()
        {
            _housekeeping.Dispose();
            _stopAccepting.Dispose();
        }

        private async Task AcceptLoopAsync()
        {
            while (!_stopAccepting.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _listeningSocket.AcceptAsync(_stopAccepting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (SocketException exception) when (exception.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
                {
                    continue;
                }
                catch (SocketException exception)
                {
                    if (DescriptorExhaustion.IsExhaustion(exception))
                    {
                        _context.OutOfDescriptors("accept", null, clientReset: false);
                    }
                    else
                    {
                        ForwardingLog.AcceptFailed(_logger, _context.Name, (int)exception.SocketErrorCode);
                    }

                    try
                    {
                        await Task.Delay(AcceptPause, _time, _stopAccepting.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                var route = _context.Route;
                if (route.SourceRanges is { } ranges && !ranges.Allows((client.RemoteEndPoint as IPEndPoint)?.Address))
                {
                    // Outside the source ranges (the kernel filter drops most such clients before accept): closed before any connect.
                    CopyConnection.CloseQuietly(client, reset: true);
                    _context.RefusedBySourceRange();
                    continue;
                }

                if (ListenerContext.HasNoBackends(route))
                {
                    // Refused as cheaply as the managed engine can: a reset, no connection task, no connect.
                    CopyConnection.CloseQuietly(client, reset: true);
                    _context.RefusedWithoutBackends();
                    continue;
                }

                if (!_context.TryAdmit(route))
                {
                    client.Dispose();
                    continue;
                }

                // The connection takes itself out of the table when it ends (no continuation task per connection). It is in
                // the table before it runs, so that an ending before RunAsync returns is not followed by a stale entry.
                var connection = new CopyConnection(client, _context, route, _options, _time, _clock, _logger, _forget);
                _connections[connection] = Task.CompletedTask;
                var task = connection.RunAsync();
                _connections.TryUpdate(connection, task, Task.CompletedTask);
            }
        }

        private void Forget(CopyConnection connection) => _connections.TryRemove(connection, out _);

        private void CloseIdle()
        {
            var limit = _clock.NowMilliseconds - (long)_options.IdleTimeout.TotalMilliseconds;
            foreach (var connection in _connections.Keys)
            {
                if (connection.LastActivity <= limit)
                {
                    connection.Abort(reset: false);
                }
            }
        }
    }
}

/// <summary>One client connection and its backend connection, copied both ways.</summary>
/// <remarks>
/// What an idle connection holds is kept small (docs/adr/0011-memory-footprint.md): no buffer (a zero-byte receive waits
/// for data), no task beyond this connection's and its two copies' (each copy resets both sides itself when it fails,
/// so nothing waits for the first of the two), and no send state in the sockets: the sockets are non-blocking and a
/// send is first tried in place, so the socket's cached send arguments (a few hundred bytes each) are only made for a
/// connection whose peer once could not take what was sent at once.
/// </remarks>
internal sealed class CopyConnection(Socket client, ListenerContext context, ListenerRoute route, ForwarderOptions options, TimeProvider time,
    ForwarderClock clock, ILogger logger, Action<CopyConnection>? ended = null)
    : IDisposable
{
    private static readonly LingerOption ResetOnClose = new(true, 0);

    private readonly CancellationTokenSource _aborting = new();
    private Socket? _backend;
    private BackendState? _backendState;
    private int _aborted;
    private long _lastActivity = clock.NowMilliseconds;

    public long LastActivity => Volatile.Read(ref _lastActivity);

    public async Task RunAsync()
    {
        var connected = false;
        try
        {
            connected = await ConnectAsync().ConfigureAwait(false);
            if (!connected)
            {
                Abort(reset: true);
                return;
            }

            if (route.ProxyProtocol != ProxyProtocolVersion.None && !await SendProxyHeaderAsync(route.ProxyProtocol).ConfigureAwait(false))
            {
                Abort(reset: true);
                return;
            }

            // Sends and reads are tried in place (non-blocking), waits are asynchronous; see the remarks above.
            client.Blocking = false;
            _backend!.Blocking = false;
            var upstream = CopyAsync(client, _backend, fromClient: true);
            await CopyAsync(_backend, client, fromClient: false).ConfigureAwait(false);
            await upstream.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            ForwardingLog.ConnectionFailed(logger, exception, context.Name);
            Abort(reset: true);
        }
        finally
        {
            client.Dispose();
            _backend?.Dispose();
            Dispose();
            context.ConnectionClosed();
            if (connected)
            {
                _backendState!.Counters.ConnectionClosed();
            }

            ended?.Invoke(this);
        }
    }

    public void Dispose() => _aborting.Dispose();

    /// <summary>Closes both sockets from outside (idle timeout, end of a drain); the copies end with it.</summary>
    public void Abort(bool reset)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        try
        {
            _aborting.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection finished on its own meanwhile.
        }

        CloseQuietly(client, reset);
        if (_backend is { } backend)
        {
            CloseQuietly(backend, reset);
        }
    }

    /// <summary>A reset is passed on with SO_LINGER 0; otherwise both ways get a FIN before the socket goes.</summary>
    public static void CloseQuietly(Socket socket, bool reset)
    {
        try
        {
            if (reset)
            {
                socket.LingerState = ResetOnClose;
            }
            else
            {
                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing to pass on.
        }

        socket.Dispose();
    }

    private async Task<bool> ConnectAsync()
    {
        var clientEndPoint = route.NeedsClientAddress ? client.RemoteEndPoint as IPEndPoint : null;
        List<BackendState>? tried = null;
        var maxAttempts = Math.Max(1, options.MaxConnectAttempts);
        for (var attempt = 0; attempt < maxAttempts; attempt++)
        {
            var backend = ListenerContext.PickBackend(route, clientEndPoint,
                tried is null ? [] : System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tried));
            if (backend is null)
            {
                break;
            }

            Socket socket;
            try
            {
                socket = new Socket(backend.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            }
            catch (SocketException exception) when (DescriptorExhaustion.IsExhaustion(exception))
            {
                // Not the backend's fault: no retry, no mark against it, and no "no backend accepted" either.
                context.OutOfDescriptors("backend socket", null, clientReset: true);
                return false;
            }

            // The timeout is a timer of the injected clock. That is one token source more per attempt than CancelAfter on
            // the linked one, on the connect path of the fallback engine, not on its copies.
            using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
            using var connecting = CancellationTokenSource.CreateLinkedTokenSource(_aborting.Token, timeout.Token);
            try
            {
                await socket.ConnectAsync(backend.EndPoint, connecting.Token).ConfigureAwait(false);
                ListenerContext.ConnectSucceeded(backend);
                _backend = socket;
                _backendState = backend;
                if (Volatile.Read(ref _aborted) != 0)
                {
                    socket.Dispose();
                }

                return true;
            }
            catch (Exception exception) when (exception is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                if (_aborting.IsCancellationRequested)
                {
                    // Closed from outside (drain deadline): not the backend's fault.
                    return false;
                }

                var reason = exception is SocketException socketException ? socketException.Message : "connect timed out";
                context.ConnectFailed(backend, reason);
                (tried ??= []).Add(backend);
            }
        }

        context.NoBackendConnected(tried?.Count ?? 0);
        return false;
    }

    /// <summary>
    /// Writes the PROXY protocol header before any of the client's bytes: the copies start after it, and a send that the
    /// socket takes in part is continued until all of it went. False when the backend or the client is gone.
    /// </summary>
    private async Task<bool> SendProxyHeaderAsync(ProxyProtocolVersion version)
    {
        if (client.RemoteEndPoint is not IPEndPoint peer)
        {
            return false;
        }

        var header = context.ProxyHeaderFor(version, peer);
        try
        {
            for (var sent = 0; sent < header.Length;)
            {
                sent += await _backend!.SendAsync(header.AsMemory(sent), SocketFlags.None, _aborting.Token).ConfigureAwait(false);
            }

            Volatile.Write(ref _lastActivity, clock.NowMilliseconds);
            return true;
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Copies until the source's EOF, which is passed on as a half-close (true). When either side fails, both are reset
    /// here at once (a reset on one side is passed on as a reset to the other) and the result is false.
    /// </summary>
    private async Task<bool> CopyAsync(Socket source, Socket target, bool fromClient)
    {
        var backendCounters = _backendState!.Counters;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                if (buffer is null)
                {
                    await source.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                    buffer = ArrayPool<byte>.Shared.Rent(options.CopyBufferSize);
                }

                var read = source.Receive(buffer, SocketFlags.None, out var receiveError);
                if (receiveError == SocketError.WouldBlock)
                {
                    // Readable was announced but nothing is there (a spurious wake-up): wait again without the buffer.
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                    continue;
                }

                if (receiveError != SocketError.Success)
                {
                    throw new SocketException((int)receiveError);
                }

                if (read == 0)
                {
                    target.Shutdown(SocketShutdown.Send);
                    return true;
                }

                var sent = target.Send(buffer, 0, read, SocketFlags.None, out var sendError);
                if (sendError is not (SocketError.Success or SocketError.WouldBlock))
                {
                    throw new SocketException((int)sendError);
                }

                for (sent = Math.Max(sent, 0); sent < read;)
                {
                    // The peer's window is full: only now does the socket get its cached send arguments.
                    sent += await target.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None).ConfigureAwait(false);
                }

                Volatile.Write(ref _lastActivity, clock.NowMilliseconds);
                if (fromClient)
                {
                    context.Counters.AddFromClient(read);
                    backendCounters.AddFromClient(read);
                }
                else
                {
                    context.Counters.AddFromBackend(read);
                    backendCounters.AddFromBackend(read);
                }

                // A short read means the socket is drained: give the buffer back while we wait for more.
                if (read < buffer.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (Volatile.Read(ref _aborted) != 0 && exception is not SocketException)
            {
                // Closed from outside (idle timeout, end of a drain): not a failure of either side.
                return true;
            }

            Abort(reset: true);
            return false;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
