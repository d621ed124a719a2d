namespace LoadBalancer.Domain.Services;

/// <summary>
/// The one reading of a protocol's name, as Kubernetes manifests write it ("TCP", "UDP"). A port that names no protocol
/// is TCP, as the API server defaults it.
/// </summary>
public static class TransportProtocolNames
{
    public const string Tcp = "TCP";
    public const string Udp = "UDP";

    /// <summary>Upper case is what the API server writes; lower case is accepted from hand-written files.</summary>
    public static bool TryParse(string? name, out TransportProtocol protocol)
    {
        protocol = TransportProtocol.Tcp;
        if (string.IsNullOrEmpty(name) || string.Equals(name, Tcp, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (string.Equals(name, Udp, StringComparison.OrdinalIgnoreCase))
        {
            protocol = TransportProtocol.Udp;
            return true;
        }

        return false;
    }

    /// <summary>The protocol named, or null for a name that is neither TCP nor UDP (SCTP, a typo).</summary>
    public static TransportProtocol? Parse(string? name) => TryParse(name, out var protocol) ? protocol : null;

    public static string Name(TransportProtocol protocol) => protocol == TransportProtocol.Udp ? Udp : Tcp;
}
