namespace LoadBalancer.Domain.Services;

public enum TransportProtocol
{
    Tcp,
    Udp,
}
