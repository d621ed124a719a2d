namespace LoadBalancer.Infrastructure.Standalone;

/// <summary>
/// Reads the standalone mode's Services file again now, rather than at the watcher's next notification or poll: what
/// SIGHUP asks for.
/// </summary>
public interface IServicesFileReader
{
    void ReadNow();
}
