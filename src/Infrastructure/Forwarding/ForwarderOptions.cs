namespace LoadBalancer.Infrastructure.Forwarding;

public enum ForwardingEngine
{
    /// <summary>
    /// io_uring: multishot accepts, connects with linked timeouts, small messages through provided ring buffers and bulk
    /// streams spliced socket → pipe → socket; one ring per event loop. Falls back to splice where io_uring is unavailable.
    /// </summary>
    IoUring,

    /// <summary>socket → pipe → socket with splice(2): the bytes never enter user space.</summary>
    Splice,

    /// <summary>Managed sockets and pooled buffers: for kernels or sockets where splice is not available.</summary>
    Copy,
}

/// <summary>How the forwarder treats every listener; per-listener settings come with <c>ListenerSpec</c>.</summary>
public sealed record ForwarderOptions
{
    public static readonly TimeSpan DefaultUdpFlowIdleTimeout = TimeSpan.FromSeconds(30);

    public ForwardingEngine Engine { get; init; } = ForwardingEngine.IoUring;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Backends tried for one client connection when a connect is refused or times out.</summary>
    public int MaxConnectAttempts { get; init; } = 3;

    /// <summary>A connection with no bytes either way for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Default for listeners that do not set their own; null means no limit.</summary>
    public int? MaxConnectionsPerListener { get; init; }

    /// <summary>Bytes a splice pipe holds (the kernel rounds up to pages; at most /proc/sys/fs/pipe-max-size).</summary>
    public int PipeSize { get; init; } = 1024 * 1024;

    /// <summary>Buffer per direction of the copy engine, rented only while bytes are in flight.</summary>
    public int CopyBufferSize { get; init; } = 64 * 1024;

    /// <summary>Event loops of the io_uring and splice engines (a ring or an epoll set each); one per core by default, as HAProxy runs one thread per core.</summary>
    public int EventLoops { get; init; } = Environment.ProcessorCount;

    /// <summary>Consecutive connect failures that eject a backend until an active check passes.</summary>
    public int PassiveEjectionThreshold { get; init; } = 3;

    /// <summary>How long a passively ejected backend stays out when active checks are off.</summary>
    public TimeSpan PassiveEjectionDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>UDP: a flow (a client address:port) idle this long is closed, unless its Service's annotation says otherwise.</summary>
    public TimeSpan UdpFlowIdleTimeout { get; init; } = DefaultUdpFlowIdleTimeout;

    /// <summary>UDP: flows one listener holds at most (one socket each), unless its <c>ListenerSpec.MaxConnections</c> says otherwise; datagrams of new clients beyond it are dropped and counted.</summary>
    public int MaxUdpFlowsPerListener { get; init; } = 65_536;

    /// <summary>
    /// A target the health checks call unhealthy is probed every <c>interval × this</c> (HAProxy's <c>downinter</c>), so
    /// thousands of dead NodePorts cost a third of the probes; 1 probes it as often as a healthy one. Once a probe
    /// passes, the next come every interval again, so a recovery shows within <c>interval × this</c> and is confirmed
    /// after the healthy threshold at the usual pace (defaults: seen within 30 s, healthy 10 s later).
    /// </summary>
    public int UnhealthyCheckIntervalFactor { get; init; } = DefaultUnhealthyCheckIntervalFactor;

    public const int DefaultUnhealthyCheckIntervalFactor = 3;

    /// <summary>The most <see cref="UnhealthyCheckIntervalFactor"/> may be: beyond it, a recovery would go unseen for too long.</summary>
    public const int MaxUnhealthyCheckIntervalFactor = 60;

    /// <summary>Every problem at once, each naming the option and its value; empty when the options can be used.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (UnhealthyCheckIntervalFactor is < 1 or > MaxUnhealthyCheckIntervalFactor)
        {
            problems.Add($"{nameof(UnhealthyCheckIntervalFactor)}: '{UnhealthyCheckIntervalFactor}' must be between 1 and {MaxUnhealthyCheckIntervalFactor}");
        }

        return problems;
    }
}
