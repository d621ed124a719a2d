namespace LoadBalancer.Application.Reconciliation;

/// <summary>The reasons of the Events on a Service (docs/kubernetes.md lists when each is recorded).</summary>
public static class ServiceEventReasons
{
    /// <summary>Normal: an IP was assigned, or the ports on it changed.</summary>
    public const string Allocated = "IPAllocated";

    /// <summary>Normal: the Service is served again after <see cref="ApplyFailed"/>, on the IP it had.</summary>
    public const string Applied = "Applied";

    /// <summary>Warning: refused by the allocator (its words), or not applied for a reason that is retried.</summary>
    public const string ApplyFailed = "ApplyFailed";

    /// <summary>Warning: a field cannot be served as written; what ran for the Service stays as it was.</summary>
    public const string InvalidService = "InvalidService";

    /// <summary>Warning: annotation values that cannot be used; the default took the place of each.</summary>
    public const string InvalidAnnotation = "InvalidAnnotation";

    /// <summary>Warning: ports with no backend; new connections to them are closed at once.</summary>
    public const string NoBackends = "NoBackends";

    /// <summary>Normal: every port has a backend again.</summary>
    public const string BackendsAvailable = "BackendsAvailable";

    /// <summary>Warning: ports that have an IP but no listener (UDP).</summary>
    public const string NotForwarded = "NotForwarded";

    /// <summary>Normal: the Service no longer has an IP here.</summary>
    public const string Released = "IPReleased";

    /// <summary>A PreferDualStack Service served with one family: no pool could give the other (Normal).</summary>
    public const string FamilyUnavailable = "IPFamilyUnavailable";
}
