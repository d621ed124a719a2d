using System.Net;
using System.Net.Sockets;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>Healthy when a TCP connect succeeds.</summary>
internal sealed class TcpHealthProbe : IHealthProbe
{
    public async ValueTask<bool> ProbeAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
