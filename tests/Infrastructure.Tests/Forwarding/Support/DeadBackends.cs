using System.Net;
using System.Net.Sockets;
using LoadBalancer.Domain.Endpoints;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// A port that refuses connections: bound (so nothing else takes it while the test runs) but not listening, so the
/// kernel answers every SYN with RST.
/// </summary>
internal sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket;

    public RefusingPort()
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _socket.Bind(new IPEndPoint(LoopbackAddresses.Backends, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        Endpoint = new Endpoint(EndPoint.Address, EndPoint.Port);
    }

    public IPEndPoint EndPoint { get; }

    public Endpoint Endpoint { get; }

    public void Dispose() => _socket.Dispose();

    public override string ToString() => $"{Endpoint} (refusing)";
}

/// <summary>
/// A backend that never answers a SYN: it listens with a backlog of one, never accepts, and its accept queue is filled
/// with connections, after which Linux drops new SYNs and a connect hangs until the client gives up.
/// </summary>
internal sealed class BlackholeBackend : IDisposable
{
    private readonly Socket _listener;
    private readonly List<Socket> _fillers = [];

    private BlackholeBackend()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(LoopbackAddresses.Backends, 0));
        _listener.Listen(1);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        Endpoint = new Endpoint(EndPoint.Address, EndPoint.Port);
    }

    public IPEndPoint EndPoint { get; }

    public Endpoint Endpoint { get; }

    /// <summary>Fills the accept queue, then proves a further connect hangs; fails the test if the kernel will not drop.</summary>
    public static async Task<BlackholeBackend> StartAsync()
    {
        var backend = new BlackholeBackend();
        try
        {
            for (var attempt = 0; attempt < 16; attempt++)
            {
                var filler = TestSockets.NewTcp();
                using var deadline = Bounded.Deadline(TimeSpan.FromMilliseconds(300));
                try
                {
                    await filler.ConnectAsync(backend.EndPoint, deadline.Token);
                    backend._fillers.Add(filler);
                }
                catch (OperationCanceledException)
                {
                    filler.Dispose();
                    return backend; // this SYN was dropped: the queue is full
                }
            }

            Assert.Fail($"the accept queue of {backend.EndPoint} did not fill after 16 connections; cannot blackhole on this kernel");
            throw new InvalidOperationException();
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        TestSockets.DisposeAll(_fillers);
        _listener.Dispose();
    }

    public override string ToString() => $"{Endpoint} (blackholed)";
}
