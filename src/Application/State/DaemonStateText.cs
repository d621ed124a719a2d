using System.Globalization;
using System.Text;
using LoadBalancer.Application.Forwarding;
using LoadBalancer.Domain.Services;

namespace LoadBalancer.Application.State;

/// <summary>
/// The state as a few aligned lines for the log (the SIGUSR1 dump): the role, the pools, then each Service by namespace
/// and name with its IP and state, each port with its traffic, each backend with its health and connections. Long
/// values are shortened, with their length, so that one odd annotation cannot flood the log.
/// </summary>
public static class DaemonStateText
{
    public const int MaxName = 48;
    public const int MaxReason = 160;

    public static string Render(DaemonState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var text = new StringBuilder();
        var services = state.Services.OrderBy(service => service.Key).ToList();
        text.Append(CultureInfo.InvariantCulture, $"state at {state.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z: {Role(state.Role)}; {Count(services)}");
        foreach (var pool in state.Pools)
        {
            text.Append('\n').Append(CultureInfo.InvariantCulture, $"pool {Shorten(pool.Name, MaxName)} {Shorten(pool.Addresses, MaxReason)}: {pool.Used} used, {pool.Free} free of {pool.Size}");
        }

        var nameWidth = services.Count == 0 ? 0 : services.Max(service => Shorten(service.Key.ToString(), MaxName).Length);
        var ipWidth = services.Count == 0 ? 0 : services.Max(service => IpText(service).Length);
        var addressWidth = services.SelectMany(service => service.Ports).SelectMany(port => port.Backends)
            .Select(backend => backend.Address.Length).DefaultIfEmpty(0).Max();
        var portWidth = services.SelectMany(service => service.Ports).Select(port => PortName(port).Length).DefaultIfEmpty(0).Max();
        foreach (var service in services)
        {
            text.Append('\n')
                .Append(Shorten(service.Key.ToString(), MaxName).PadRight(nameWidth)).Append("  ")
                .Append(IpText(service).PadRight(ipWidth)).Append("  ")
                .Append(Condition(service));
            foreach (var port in service.Ports)
            {
                text.Append("\n  ").Append(PortName(port).PadRight(portWidth)).Append("  ").Append(Port(port));
                foreach (var backend in port.Backends)
                {
                    text.Append("\n    ").Append(backend.Address.PadRight(addressWidth)).Append("  ")
                        .Append(Health(backend.Health).PadRight(9)).Append(Traffic(backend.Traffic));
                    if (backend.Node is { } node)
                    {
                        text.Append("  node ").Append(Shorten(node, MaxName));
                    }
                }
            }
        }

        // Padding is for the columns that follow; a line that ends early carries none.
        return string.Join('\n', text.ToString().Split('\n').Select(line => line.TrimEnd()));
    }

    /// <summary>The value, or its first characters and an ellipsis with its length when longer than <paramref name="max"/>.</summary>
    // Not QuotedValue.Of: the table's cells are not quoted, only shortened.
    public static string Shorten(string value, int max)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length <= max ? value : string.Create(CultureInfo.InvariantCulture, $"{value[..Math.Max(1, max - 1)]}… ({value.Length} characters)");
    }

    private static string Role(DaemonRole role) => role == DaemonRole.Leading ? "leading" : "standing by (another replica serves)";

    private static string Count(List<ServiceState> services)
    {
        if (services.Count == 0)
        {
            return "no Services";
        }

        var byState = services.GroupBy(service => service.State).OrderBy(group => group.Key)
            .Select(group => $"{group.Count()} {group.Key.ToString().ToLowerInvariant()}");
        return string.Create(CultureInfo.InvariantCulture, $"{services.Count} Services ({string.Join(", ", byState)})");
    }

    private static string Condition(ServiceState service)
    {
        var text = new StringBuilder(service.State.ToString().ToLowerInvariant());
        if (service.State != ServingState.Served && service.RequestedIp is { } requested)
        {
            text.Append(" (asked for ").Append(Shorten(requested, MaxName)).Append(')');
        }

        if (service.Sharing != IpSharingMode.Shared)
        {
            text.Append(service.Sharing == IpSharingMode.Exclusive ? "  exclusive" : $"  shares with key {Shorten(service.SharingKey ?? string.Empty, MaxName)}");
        }

        if (service.LoadBalancerClass is { } serviceClass)
        {
            text.Append("  class ").Append(Shorten(serviceClass, MaxName));
        }

        if (service.Reason is { } reason)
        {
            text.Append(": ").Append(Shorten(reason, MaxReason));
        }

        return text.ToString();
    }

    private static string PortName(PortState port) => string.Create(CultureInfo.InvariantCulture, $"{port.Protocol}/{port.Port}");

    private static string Port(PortState port)
    {
        if (!port.Forwarded)
        {
            return "not forwarded";
        }

        var text = new StringBuilder(port.Backends.Count == 0 ? "no backends" : $"{port.Backends.Count} backends");
        if (port.FallingBack)
        {
            text.Append(" (none healthy: falling back)");
        }

        return text.Append(Traffic(port.Traffic)).ToString();
    }

    private static string Health(BackendHealthState? health) => health switch
    {
        null => "?",
        BackendHealthState.NotReady => "not ready",
        _ => health.Value.ToString().ToLowerInvariant(),
    };

    private static string Traffic(TrafficSnapshot? traffic)
    {
        if (traffic is null)
        {
            return string.Empty;
        }

        var text = string.Create(CultureInfo.InvariantCulture,
            $"  open {traffic.ConnectionsActive}  total {traffic.ConnectionsOpened}  in {Bytes(traffic.BytesFromClient)}  out {Bytes(traffic.BytesFromBackend)}");
        if (traffic.ConnectionsFailed > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture, $"  failed {traffic.ConnectionsFailed}");
        }

        if (traffic.ConnectionsRejected > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture, $"  rejected {traffic.ConnectionsRejected}");
        }

        // UDP: flows are the "open" and "total" above; the datagrams themselves, and those dropped, said here.
        if (traffic.DatagramsFromClient > 0 || traffic.DatagramsFromBackend > 0 || traffic.DatagramsDropped > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture,
                $"  datagrams in {traffic.DatagramsFromClient} out {traffic.DatagramsFromBackend} dropped {traffic.DatagramsDropped}");
        }

        return text;
    }

    private static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }

    /// <summary>Every IP of a dual-stack Service, primary first, comma-separated; "-" when not served.</summary>
    private static string IpText(ServiceState service) =>
        service.Ips.Count > 1 ? string.Join(",", service.Ips) : service.Ip ?? "-";
}
