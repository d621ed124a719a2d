using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Addressing;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding;

/// <summary>The TCP forwarder: one listener per load-balancer IP:port, each with its own backends and policy.</summary>
internal sealed class TcpForwarder : IForwarder, IAsyncDisposable
{
    public TcpForwarder(ForwarderOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _ = options;
        _ = time;
        _ = loggerFactory;
    }

    public IReadOnlyList<PortBinding> Listeners => throw new NotImplementedException();

    public ValueTask<ForwarderResult> ApplyAsync(ListenerSpec listener, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    public ValueTask StopAsync(PortBinding binding, TimeSpan drainTimeout, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    public ListenerStatistics? GetStatistics(PortBinding binding) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
