namespace LoadBalancer.Application.Forwarding;

/// <summary>How a <see cref="ProxyProtocolVersion"/> is written by users: <c>v1</c> or <c>v2</c>, in any case.</summary>
public static class ProxyProtocolVersionNames
{
    /// <summary>What a bad value must be, after the quoted value: <c>'v3' must be "v1" or "v2"</c>.</summary>
    public const string Expected = "must be \"v1\" or \"v2\"";

    public static bool TryParse(string? text, out ProxyProtocolVersion version)
    {
        var value = text?.Trim();
        version = value is null ? ProxyProtocolVersion.None
            : value.Equals("v1", StringComparison.OrdinalIgnoreCase) ? ProxyProtocolVersion.V1
            : value.Equals("v2", StringComparison.OrdinalIgnoreCase) ? ProxyProtocolVersion.V2
            : ProxyProtocolVersion.None;
        return version != ProxyProtocolVersion.None;
    }
}
