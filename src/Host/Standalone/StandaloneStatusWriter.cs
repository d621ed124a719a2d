using System.Collections.Concurrent;
using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Host.Standalone;

/// <summary>
/// Where a standalone Service's status goes: there is no API server to write it to, so it is kept in memory (the
/// printed table and the log already show it to the operator).
/// </summary>
internal sealed class StandaloneStatusWriter : IServiceStatusWriter
{
    private readonly ConcurrentDictionary<ServiceKey, IPAddress> _status = new();

    public IReadOnlyDictionary<ServiceKey, IPAddress> Status => _status;

    public ValueTask WriteAsync(ServiceKey service, IPAddress? ip, CancellationToken cancellationToken)
    {
        if (ip is null)
        {
            _status.TryRemove(service, out _);
        }
        else
        {
            _status[service] = ip;
        }

        return ValueTask.CompletedTask;
    }
}
