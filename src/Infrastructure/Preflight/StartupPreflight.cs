using LoadBalancer.Domain.Text;
using System.Globalization;
using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Infrastructure.Preflight;

/// <summary>The start-up checks (see <see cref="IStartupPreflight"/>); every problem is collected, none stops the others.</summary>
internal sealed class StartupPreflight(IPreflightHost host) : IStartupPreflight
{
    public PreflightReport Check(PreflightRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<PreflightProblem>();
        if (request.LinkDevice is { } device)
        {
            CheckDevice(device, problems);
        }

        CheckCapabilities(request, problems);
        return new PreflightReport(problems);
    }

    private void CheckDevice(string device, List<PreflightProblem> problems)
    {
        var listing = host.ListDevices();
        if (listing.Failure is not null)
        {
            // Not knowing is not a start failure: the link device reports its own failures per Service.
            return;
        }

        var here = listing.Names.Count == 0 ? "this network namespace has none" : "devices here: " + string.Join(", ", listing.Names);
        if (string.Equals(device, PreflightRequest.AutoDetect, StringComparison.OrdinalIgnoreCase))
        {
            if (listing.Detected is { DeviceName: null } detected)
            {
                problems.Add(new PreflightProblem($"--link-device {PreflightRequest.AutoDetect}", detected.Reason, $"name the device with --link-device; {here}"));
            }

            return;
        }

        if (!listing.Names.Contains(device, StringComparer.Ordinal))
        {
            problems.Add(new PreflightProblem($"--link-device {Quote(device)}", "no such device", here));
        }
    }

    private void CheckCapabilities(PreflightRequest request, List<PreflightProblem> problems)
    {
        var needs = new List<(LinuxCapability Capability, string For)>();
        if (request.LinkDevice is not null)
        {
            needs.Add((LinuxCapability.NetAdmin, $"to add load-balancer addresses to the link device ({Quote(request.LinkDevice)})"));
            if (request.Announce)
            {
                needs.Add((LinuxCapability.NetRaw, "to announce new addresses with gratuitous ARP / unsolicited NA (or turn announcements off with --no-announce)"));
            }
        }

        if (request.LowestPort is { } port)
        {
            var start = host.UnprivilegedPortStart();
            if (port < start)
            {
                needs.Add((LinuxCapability.NetBindService,
                    $"to listen on port {port.ToString(CultureInfo.InvariantCulture)}, below {start.ToString(CultureInfo.InvariantCulture)} (net.ipv4.ip_unprivileged_port_start)"));
            }
        }

        if (needs.Count == 0 || host.EffectiveCapabilities() is not { } effective)
        {
            return;
        }

        foreach (var (capability, purpose) in needs.Where(need => !effective.Has(need.Capability)))
        {
            problems.Add(new PreflightProblem(CapabilityText.Name(capability), $"missing from the effective set, needed {purpose}", CapabilityText.HowToGrant(capability)));
        }
    }

    private static string Quote(string value) => QuotedValue.Of(value);
}

/// <summary>The start-up checks of this machine, for the host: built directly, or through the container.</summary>
public static class StartupChecks
{
    public static IStartupPreflight ForThisMachine() => new StartupPreflight(new SystemPreflightHost());
}
