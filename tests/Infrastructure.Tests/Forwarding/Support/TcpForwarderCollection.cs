namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// The forwarder tests run one at a time and apart from every other test class: they count the process's file
/// descriptors, hold a thousand sockets, and measure timings that a 256 MiB transfer next door would skew.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TcpForwarderCollection
{
    public const string Name = "TcpForwarder";
}
