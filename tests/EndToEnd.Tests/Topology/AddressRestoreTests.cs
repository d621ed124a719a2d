using System.Text.RegularExpressions;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.Topology;

/// <summary>Someone removes a Service's address from lb1's link by hand while the daemon serves it.</summary>
[Collection(EndToEndTests.Name)]
public sealed class AddressRestoreTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private const int Port = 80;

    /// <summary>The goal: the kernel tells the daemon at once (a netlink notification), and one add puts it back.</summary>
    private static readonly TimeSpan RestoreBound = TimeSpan.FromSeconds(1);

    [KubeRootFact]
    public async Task ServiceAddressDeletedByHand_IsPutBackWithTheSamePrefixWithinASecond_AndTheClientIsServedAgain()
    {
        await using var small = await SmallCluster.CreateAsync(controlPlane);
        var lb1 = small.Network.Lb1;
        var daemon = await small.StartDaemonAsync(lb1);
        var service = await small.CreateServiceAsync("web", new ServicePort(Port));
        foreach (var worker in small.Workers)
        {
            worker.ServeTcp(service.Spec.Ports[0].NodePort!.Value);
        }

        var ip = await small.IngressEventuallyAsync("web");
        Assert.True(
            await Net.EventuallyAsync(async () => await small.WhoAnswersAsync(ip, Port) is not null, SmallCluster.Limit),
            $"the client was not served at {ip}:{Port}\n{small.Describe()}");

        // The daemon gives the address the prefix of lb1's route that covers it (the /24 of its own address).
        var prefix = PrefixOn(lb1, ip);
        output.WriteLine($"figure: the daemon put {ip}/{prefix} on lb1's {ClusterNetwork.Device}");
        Assert.Equal(24, prefix);

        using var watch = await AddressRestoreWatch.StartAsync(lb1, SmallCluster.Limit);
        using var probe = FailoverProbe.Start(small.Network.Client, ip, Port);
        Assert.True(
            await Net.EventuallyAsync(() => probe.Attempts.TakeLast(5).Count(a => a.Answer is not null) == 5, SmallCluster.Limit),
            $"the probe was not answered steadily: {probe.Summary(TimeSpan.Zero, probe.Clock.Elapsed)}\n{small.Describe()}");

        var deleting = probe.Clock.Elapsed;
        lb1.Exec($"ip addr del {ip}/{prefix} dev {ClusterNetwork.Device}");
        var deleted = probe.Clock.Elapsed;

        // Polled from just before the `ip addr del` started: an upper bound of what the operator would see.
        TimeSpan? backAt = null;
        while (probe.Clock.Elapsed - deleting < SmallCluster.Limit && backAt is null)
        {
            var at = probe.Clock.Elapsed;
            if (lb1.Has(ip))
            {
                backAt = at;
            }
            else
            {
                await Task.Delay(10);
            }
        }

        Assert.True(backAt is not null, $"{ip} was not put back within {SmallCluster.Limit.TotalSeconds:F0} s\n{small.Describe()}");
        var served = await probe.FirstAnswerFromAsync(backAt!.Value, SmallCluster.Limit);
        Assert.True(served is not null, $"the client was not served again\n{small.Describe()}");

        // The kernel's own account, both notifications read by one `ip monitor`: the deletion to the address back.
        Assert.True(
            await Net.EventuallyAsync(() => watch.Of(ip).SkipWhile(change => !change.Deleted).Any(change => !change.Deleted), SmallCluster.Limit),
            $"`ip monitor` did not see {ip} deleted and added again: {string.Join(" | ", watch.Of(ip).Select(change => change.Line))}");
        var changes = watch.Of(ip).SkipWhile(change => !change.Deleted).ToList();
        var restoredIn = changes.First(change => !change.Deleted).At - changes[0].At;
        var restoredLine = changes.First(change => !change.Deleted).Line;

        output.WriteLine($"figure: deletion → {ip} back on the link, as the kernel's notifications tell (ip monitor): {restoredIn.TotalMilliseconds:F1} ms");
        output.WriteLine($"figure: `ip addr del` started → address seen back by polling: {(backAt.Value - deleting).TotalMilliseconds:F0} ms (the command itself took {(deleted - deleting).TotalMilliseconds:F0} ms)");
        output.WriteLine($"figure: `ip addr del` started → first answer on a connection opened after that: {(served!.Value.Ended - deleting).TotalMilliseconds:F0} ms");
        output.WriteLine($"figure: what the client saw: {probe.Timeline(probe.LastAnswerBefore(deleting)!.Value.Started, served.Value.Started, deleting)}");
        Assert.True(restoredIn <= RestoreBound, $"{ip} was put back {restoredIn.TotalMilliseconds:F0} ms after its deletion (bound {RestoreBound.TotalSeconds:F0} s)\n{daemon}");
        Assert.True(served.Value.Ended - deleting <= RestoreBound, $"the client was served again only after {(served.Value.Ended - deleting).TotalMilliseconds:F0} ms\n{small.Describe()}");

        // Put back as it was (same prefix), and the daemon says why.
        Assert.Contains($"inet {ip}/{prefix} ", restoredLine, StringComparison.Ordinal);
        Assert.Equal(prefix, PrefixOn(lb1, ip));
        Assert.True(
            await daemon.Process.LoggedAsync($"Put {ip}/{prefix} back on {ClusterNetwork.Device}", SmallCluster.Limit),
            $"the daemon did not log the restore\n{daemon}");
        Assert.Equal([ip], await KubeObjects.IngressAsync(small.Cluster.Admin, small.Cluster.Namespace, "web"));
    }

    private static int PrefixOn(Machine machine, string ip)
    {
        var match = Regex.Match(machine.Addresses(), $@"inet {Regex.Escape(ip)}/(\d+) ");
        Assert.True(match.Success, $"{ip} is not on {machine}:\n{machine.Addresses()}");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
