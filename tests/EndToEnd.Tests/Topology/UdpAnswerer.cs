using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>
/// A UDP backend on a port of every address of the namespace it is made in: each datagram is answered, to its sender,
/// with "NAME:" and the datagram, so the client sees which node served it.
/// </summary>
internal sealed class UdpAnswerer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _prefix;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    public UdpAnswerer(string name, int port)
    {
        _prefix = Encoding.ASCII.GetBytes(name + ":");
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Any, port));
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>
    /// Sends <paramref name="text"/> from <paramref name="socket"/> to <paramref name="ip"/>:<paramref name="port"/> and
    /// answers the reply and where it came from; null when none came within <paramref name="limit"/>.
    /// </summary>
    public static async Task<(string Text, IPEndPoint From)?> AskAsync(Socket socket, string ip, int port, string text, TimeSpan limit)
    {
        var target = new IPEndPoint(IPAddress.Parse(ip), port);
        await socket.SendToAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, target);
        var buffer = new byte[2048];
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            return (Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint);
        }
        catch (Exception failure) when (failure is OperationCanceledException or SocketException)
        {
            // No answer in time, or an ICMP error (port unreachable) reported on the socket.
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _serving;
        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        var buffer = new byte[2048];
        var reply = new byte[_prefix.Length + buffer.Length];
        _prefix.CopyTo(reply, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                buffer.AsSpan(0, received.ReceivedBytes).CopyTo(reply.AsSpan(_prefix.Length));
                await _socket.SendToAsync(reply.AsMemory(0, _prefix.Length + received.ReceivedBytes), SocketFlags.None, received.RemoteEndPoint);
            }
            catch (Exception failure) when (failure is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP error from an earlier sender gone away; the next datagram is served as usual.
            }
        }
    }
}
