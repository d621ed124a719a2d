namespace LoadBalancer.Domain.Services;

/// <summary>A (protocol, port) pair a Service exposes. TCP 53 and UDP 53 are different pairs.</summary>
public readonly record struct ServicePort : IComparable<ServicePort>
{
    public const int MinPort = 1;
    public const int MaxPort = 65535;

    public ServicePort(TransportProtocol protocol, int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, MinPort);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, MaxPort);
        if (!Enum.IsDefined(protocol))
        {
            throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "unknown protocol");
        }

        Protocol = protocol;
        Port = port;
    }

    public TransportProtocol Protocol { get; }

    public int Port { get; }

    public static ServicePort Tcp(int port) => new(TransportProtocol.Tcp, port);

    public static ServicePort Udp(int port) => new(TransportProtocol.Udp, port);

    public int CompareTo(ServicePort other) =>
        Port != other.Port ? Port.CompareTo(other.Port) : Protocol.CompareTo(other.Protocol);

    /// <summary>TCP is written as the bare port, as operators' existing log searches expect; UDP carries a suffix.</summary>
    public override string ToString() => Protocol == TransportProtocol.Tcp ? $"{Port}" : $"{Port}/UDP";

    public static bool operator <(ServicePort left, ServicePort right) => left.CompareTo(right) < 0;

    public static bool operator >(ServicePort left, ServicePort right) => left.CompareTo(right) > 0;

    public static bool operator <=(ServicePort left, ServicePort right) => left.CompareTo(right) <= 0;

    public static bool operator >=(ServicePort left, ServicePort right) => left.CompareTo(right) >= 0;
}
