using System.Net;
using LoadBalancer.Application.Abstractions;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Infrastructure.Standalone.State;

/// <summary>
/// The IPs the standalone mode has assigned, kept on disk so that a restart gives every Service its IP back (cluster
/// mode reads them from Service status). Writes go through <see cref="IServiceStatusWriter.WriteAsync"/>: the
/// reconcile core records a Service's IP after applying it and null once the Service is gone.
/// </summary>
public interface IStandaloneState : IServiceStatusWriter
{
    /// <summary>The state file, an absolute path.</summary>
    string Path { get; }

    /// <summary>What is recorded now (every IP of a Service, primary first): what <see cref="LoadAsync"/> found, changed by every write since.</summary>
    IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>> Current { get; }

    /// <summary>
    /// Reads the recorded IPs; called once, at start, before anything is allocated and before the first write. A
    /// missing file is an empty state; an unreadable one is renamed aside (never deleted) and is an empty state too.
    /// </summary>
    /// <exception cref="IOException">The file is unreadable and could not be renamed aside either.</exception>
    ValueTask<IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>>> LoadAsync(CancellationToken cancellationToken);
}
