using System.Net;
using LoadBalancer.Infrastructure.Forwarding.Backends;

namespace LoadBalancer.Infrastructure.Forwarding.Balancing;

/// <summary>Chooses the backend of a new connection. One instance per listener; called from many threads at once.</summary>
internal interface ILoadBalancingPolicy
{
    string Name { get; }

    /// <param name="candidates">Never empty: the backends that may take the connection now.</param>
    /// <param name="client">The client's address, for policies that keep a client on one backend.</param>
    BackendState Pick(ReadOnlySpan<BackendState> candidates, IPEndPoint? client);
}
