using System.Net;
using System.Net.Sockets;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Infrastructure.Forwarding.ProxyProtocol;

namespace LoadBalancer.Infrastructure.Forwarding.Health;

/// <summary>
/// Healthy when a TCP connect succeeds. Before it closes, it sends the listener's PROXY protocol header, if any: a
/// backend that requires one would otherwise log each check as a broken connection.
/// </summary>
internal sealed class TcpHealthProbe(ProxyProtocolVersion proxyProtocol = ProxyProtocolVersion.None) : IHealthProbe
{
    public async ValueTask<bool> ProbeAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            await ProxyHeader.SendLocalAsync(socket, proxyProtocol, cancellationToken).ConfigureAwait(false);
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
