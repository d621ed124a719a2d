using System.Collections.Immutable;
using System.Net;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Services;

internal sealed class AppliedServiceRegistry : IAppliedServiceRegistry, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ImmutableSortedDictionary<ServiceKey, AppliedService> _services = ImmutableSortedDictionary<ServiceKey, AppliedService>.Empty;

    public AppliedService? Find(ServiceKey service) => Volatile.Read(ref _services).GetValueOrDefault(service);

    public IReadOnlyList<AppliedService> All() => [.. Volatile.Read(ref _services).Values];

    public bool IsIpHeld(IPAddress ip, ServiceKey? except = null)
    {
        ArgumentNullException.ThrowIfNull(ip);
        return Volatile.Read(ref _services).Values.Any(service => service.Key != except && service.Ips.Contains(ip));
    }

    public void Put(AppliedService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        ImmutableInterlocked.Update(ref _services, (services, added) => services.SetItem(added.Key, added), service);
    }

    public void Remove(ServiceKey service) =>
        ImmutableInterlocked.Update(ref _services, (services, removed) => services.Remove(removed), service);

    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_gate);
    }

    public void Dispose() => _gate.Dispose();

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
