namespace LoadBalancer.Application.Forwarding;

/// <summary>
/// Whether a listener prepends a PROXY protocol header (HAProxy's doc/proxy-protocol.txt) to each backend connection,
/// so that the backend learns the client's address and the address the client connected to.
/// </summary>
public enum ProxyProtocolVersion
{
    /// <summary>No header: the backend sees the forwarder's own connection only.</summary>
    None,

    /// <summary>The human-readable line, <c>PROXY TCP4 src dst sport dport\r\n</c>.</summary>
    V1,

    /// <summary>The binary header: signature, version and command, family, length, addresses.</summary>
    V2,
}
