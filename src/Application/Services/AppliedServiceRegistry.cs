using System.Collections.Immutable;
using System.Net;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.Services;

internal sealed class AppliedServiceRegistry : IAppliedServiceRegistry, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Snapshot _current = Snapshot.Empty;

    public AppliedService? Find(ServiceKey service) => Volatile.Read(ref _current).Services.GetValueOrDefault(service);

    public IReadOnlyList<AppliedService> All() => [.. Volatile.Read(ref _current).Services.Values];

    public bool IsIpHeld(IPAddress ip, ServiceKey? except = null)
    {
        ArgumentNullException.ThrowIfNull(ip);
        var current = Volatile.Read(ref _current);
        var holders = current.Holders.GetValueOrDefault(ip);
        if (holders == 0 || except is not { } excepted)
        {
            return holders > 0;
        }

        // The one Service excepted counts only if it holds the IP itself.
        return holders > 1 || current.Services.GetValueOrDefault(excepted)?.Ips.Contains(ip) != true;
    }

    public void Put(AppliedService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        ImmutableInterlocked.Update(ref _current, (current, added) => current.With(added), service);
    }

    public void Remove(ServiceKey service) =>
        ImmutableInterlocked.Update(ref _current, (current, removed) => current.Without(removed), service);

    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_gate);
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>
    /// The Services and, beside them, how many hold each IP: asking whether an IP is still wanted is then one lookup, not
    /// a walk over every Service, which made a restart with thousands of Services quadratic. Swapped as one.
    /// </summary>
    private sealed record Snapshot(ImmutableSortedDictionary<ServiceKey, AppliedService> Services, ImmutableDictionary<IPAddress, int> Holders)
    {
        public static Snapshot Empty { get; } = new(ImmutableSortedDictionary<ServiceKey, AppliedService>.Empty, ImmutableDictionary<IPAddress, int>.Empty);

        public Snapshot With(AppliedService service)
        {
            var holders = Services.TryGetValue(service.Key, out var replaced) ? Release(Holders, replaced) : Holders;
            return new Snapshot(Services.SetItem(service.Key, service), Hold(holders, service));
        }

        public Snapshot Without(ServiceKey key) =>
            Services.TryGetValue(key, out var removed) ? new Snapshot(Services.Remove(key), Release(Holders, removed)) : this;

        private static ImmutableDictionary<IPAddress, int> Hold(ImmutableDictionary<IPAddress, int> holders, AppliedService service)
        {
            foreach (var ip in service.Ips.Distinct())
            {
                holders = holders.SetItem(ip, holders.GetValueOrDefault(ip) + 1);
            }

            return holders;
        }

        private static ImmutableDictionary<IPAddress, int> Release(ImmutableDictionary<IPAddress, int> holders, AppliedService service)
        {
            foreach (var ip in service.Ips.Distinct())
            {
                var left = holders.GetValueOrDefault(ip) - 1;
                holders = left > 0 ? holders.SetItem(ip, left) : holders.Remove(ip);
            }

            return holders;
        }
    }

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
