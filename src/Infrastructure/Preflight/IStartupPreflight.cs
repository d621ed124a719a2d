namespace LoadBalancer.Infrastructure.Preflight;

/// <summary>
/// The checks the host runs before it serves: the link device exists, the process holds the capabilities what it was
/// asked to do needs. Problems the operator fixes in the configuration or the unit file fail the start at once with
/// every fix named, instead of failing each Service afterwards, forever.
/// </summary>
public interface IStartupPreflight
{
    PreflightReport Check(PreflightRequest request);
}
