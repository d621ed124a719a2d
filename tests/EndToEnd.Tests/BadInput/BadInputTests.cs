using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using LoadBalancer.EndToEnd.Tests.Kubernetes;
using LoadBalancer.Host.Tests;
using LoadBalancer.Host.Tests.Cluster;
using Xunit.Abstractions;

namespace LoadBalancer.EndToEnd.Tests.BadInput;

/// <summary>
/// The bad inputs of the Kubernetes, operators' and annotations' issues that reach the daemon through the real API
/// server: each is refused (or, for an annotation value, replaced by its default) with exactly one Warning Event as
/// <c>kubectl events</c> shows it and the same words in the daemon's log, gets no status unless it is served, is served
/// once it is fixed; and all the while the healthy Service created before it answers every connection and the daemon
/// keeps running. One daemon for the whole class (<see cref="BadInputStage"/>); each case has Services of its own and
/// deletes them.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class BadInputTests(ControlPlaneFixture controlPlane, BadInputStage stage, ITestOutputHelper output) : IClassFixture<BadInputStage>
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [KubeFact]
    public async Task ExplicitIpTakenByAnotherService_IsRefusedWithTheOriginalsWords_AndServedOnceItAsksForNone()
    {
        await using var bad = await CaseAsync("taken", [new ServicePort(BadInputStage.HealthyPort)], loadBalancerIp: HealthyIp);

        await bad.AssertRefusedAsync(
            "ApplyFailed",
            $"FAILED to allocate requested LoadBalancerIP {HealthyIp}:{BadInputStage.HealthyPort} - Reason: IP:port {HealthyIp}:{BadInputStage.HealthyPort} is already allocated");
        await bad.FixAsync("""{"spec":{"loadBalancerIP":null}}""");
    }

    [KubeFact]
    public async Task ExplicitIpOutsideEveryPool_IsRefusedNamingThePool_AndServedOnceItAsksForNone()
    {
        await using var bad = await CaseAsync("outside", [new ServicePort(8081)], loadBalancerIp: "127.0.130.7");

        await bad.AssertRefusedAsync(
            "ApplyFailed",
            $"FAILED to allocate requested LoadBalancerIP 127.0.130.7:8081 - Reason: IP 127.0.130.7 is in no pool: 'default' ({BadInputStage.Pool}), "
            + $"'{BadInputStage.TinyPool}' ({BadInputStage.TinyPoolIp}/32)");
        await bad.FixAsync("""{"spec":{"loadBalancerIP":null}}""");
    }

    [KubeFact]
    public async Task ExplicitIpThatIsNoIp_WhichTheApiServerStores_MakesTheServiceInvalid_AndItIsServedOnceItAsksForNone()
    {
        await using var bad = await CaseAsync("notanip", [new ServicePort(8086)], loadBalancerIp: "banana");

        await bad.AssertRefusedAsync("InvalidService", "spec.loadBalancerIP: invalid IP address: 'banana'; not served as written");
        await bad.FixAsync("""{"spec":{"loadBalancerIP":null}}""");
    }

    [KubeFact]
    public async Task PoolNameThatCannotBeOne_MakesTheServiceInvalid_NamingTheValue_AndItIsServedWithoutIt()
    {
        await using var bad = await CaseAsync("badpool", [new ServicePort(8082)], annotations: new() { ["littlelb.io/pool"] = "Not_A_Pool" });

        await bad.AssertRefusedAsync(
            "InvalidService",
            "metadata.annotations[\"littlelb.io/pool\"]: pool 'Not_A_Pool' is not a pool name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters; not served as written");
        await bad.FixAsync("""{"metadata":{"annotations":{"littlelb.io/pool":null}}}""");
    }

    [KubeFact]
    public async Task PoolThatDoesNotExist_IsRefusedNamingThePools_AndServedWithoutIt()
    {
        await using var bad = await CaseAsync("nopool", [new ServicePort(8083)], annotations: new() { ["littlelb.io/pool"] = "nosuch" });

        await bad.AssertRefusedAsync("ApplyFailed", $"pool 'nosuch' does not exist; the pools are 'default', '{BadInputStage.TinyPool}'");
        await bad.FixAsync("""{"metadata":{"annotations":{"littlelb.io/pool":null}}}""");
    }

    [KubeFact]
    public async Task AnnotationValuesThatCannotBeUsed_AreOneWarningNamingEach_AndTheServiceIsServedWithTheDefaults()
    {
        await using var bad = await CaseAsync("annotations", [new ServicePort(8085)], annotations: new()
        {
            ["littlelb.io/health-check-interval"] = "ten",
            ["littlelb.io/balancing-policy"] = "fastest",
        });

        // Never a reason to refuse: served at once, with one Warning naming both.
        var ip = await bad.AssertServedAsync();
        await bad.AssertWarnedAsync(
            "InvalidAnnotation",
            "annotation littlelb.io/health-check-interval: 'ten' is not a duration such as 10s or 500ms; "
            + "annotation littlelb.io/balancing-policy: unknown balancing policy 'fastest'; known policies: round-robin, least-connections, power-of-two, source-hash; "
            + "the default is used in place of each");
        await bad.FixAsync("""{"metadata":{"annotations":{"littlelb.io/health-check-interval":"5s","littlelb.io/balancing-policy":null}}}""");
        Assert.Equal(ip, (await bad.IngressAsync()).Single());
    }

    [KubeFact]
    public async Task PoolWithNoFreeIp_RefusesTheService_AndServesItOnceTheHolderIsDeleted()
    {
        var tiny = new Dictionary<string, string> { ["littlelb.io/pool"] = BadInputStage.TinyPool };
        await using var holder = await CaseAsync("holder", [new ServicePort(9000)], annotations: tiny);
        Assert.Equal(BadInputStage.TinyPoolIp, await holder.AssertServedAsync());
        await using var bad = await CaseAsync("exhausted", [new ServicePort(9000)], annotations: tiny);

        await bad.AssertRefusedAsync("ApplyFailed", $"no available IPs for port 9000 in pool '{BadInputStage.TinyPool}'");
        var freed = DateTime.UtcNow;
        await holder.DeleteAsync();
        Assert.Equal(BadInputStage.TinyPoolIp, await bad.AssertServedAsync());
        output.WriteLine($"figure: exhausted pool: holder deleted to the waiting Service served {(DateTime.UtcNow - freed).TotalMilliseconds:F0} ms");
        await bad.AssertStillOneWarningAsync();
    }

    [KubeFact]
    public async Task PortHeldOnTheIpByAnotherProgram_FailsAndIsRetried_AndServedOnceThePortIsFree()
    {
        const string ip = "127.0.129.13";
        var holder = new TcpListener(IPAddress.Parse(ip), 9100);
        holder.Start();
        try
        {
            await using var bad = await CaseAsync("busy", [new ServicePort(9100)], loadBalancerIp: ip);

            await bad.AssertRefusedAsync(
                "ApplyFailed", $"listener {ip}:9100: cannot listen on {ip}:9100: Address already in use; retried until it succeeds");
            var freed = Stopwatch.StartNew();
            holder.Stop();
            Assert.Equal(ip, await bad.AssertServedAsync());
            output.WriteLine($"figure: port freed by the other program to served {freed.ElapsedMilliseconds} ms");
            await bad.AssertStillOneWarningAsync();
        }
        finally
        {
            holder.Dispose();
        }
    }

    [KubeFact]
    public async Task SctpPort_MakesTheServiceInvalid_NamingTheProtocol_AndItIsServedAsTcp()
    {
        await using var bad = await CaseAsync("sctp", [new ServicePort(9200, "SCTP")]);

        await bad.AssertRefusedAsync("InvalidService", "spec.ports[0].protocol: protocol 'SCTP' of port 9200 must be TCP or UDP; not served as written");
        await bad.FixAsync("""{"spec":{"ports":[{"name":null,"port":9200,"protocol":"TCP"}]}}""");
    }

    [KubeFact]
    public async Task ExclusiveIpWithASharingKey_IsServedExclusive_WithAWarningThatTheKeyIsIgnored()
    {
        await using var bad = await CaseAsync("exclusive", [new ServicePort(9300)], annotations: new()
        {
            ["littlelb.io/exclusive-ip"] = "true",
            ["littlelb.io/sharing-key"] = "team-a",
        });

        // The safer of the two: an IP of its own, not the healthy Service's.
        Assert.NotEqual(HealthyIp, await bad.AssertServedAsync());
        await bad.AssertWarnedAsync(
            "InvalidAnnotation",
            "annotation littlelb.io/sharing-key: 'team-a' is ignored: littlelb.io/exclusive-ip is \"true\", and an exclusive IP is never shared; the default is used in place of each");
        await bad.FixAsync("""{"metadata":{"annotations":{"littlelb.io/sharing-key":null}}}""");
    }

    [KubeFact]
    public async Task ProxyProtocolValueThatCannotBeUsed_IsAWarning_AndServedWithoutIt()
    {
        await using var bad = await CaseAsync("proxy", [new ServicePort(9400)], annotations: new() { ["littlelb.io/proxy-protocol"] = "v9" });

        await bad.AssertServedAsync();
        await bad.AssertWarnedAsync(
            "InvalidAnnotation",
            "annotation littlelb.io/proxy-protocol: 'v9' must be \"v1\" or \"v2\" (leave the annotation out for none); the default is used in place of each");
        await bad.FixAsync("""{"metadata":{"annotations":{"littlelb.io/proxy-protocol":null}}}""");
    }

    [KubeFact]
    public async Task LoadBalancerIpsAnnotationThatIsNoAddress_MakesTheServiceInvalid_AndItIsServedWithoutIt()
    {
        await using var bad = await CaseAsync("ips", [new ServicePort(9500)], annotations: new() { ["littlelb.io/load-balancer-ips"] = "banana" });

        await bad.AssertRefusedAsync(
            "InvalidService", "metadata.annotations[\"littlelb.io/load-balancer-ips\"][0]: invalid IP address: 'banana'; not served as written");
        await bad.FixAsync("""{"metadata":{"annotations":{"littlelb.io/load-balancer-ips":null}}}""");
    }

    private string HealthyIp => stage.HealthyIp;

    private async Task<BadInputCase> CaseAsync(
        string name, IReadOnlyList<ServicePort> ports, string? loadBalancerIp = null, Dictionary<string, string>? annotations = null)
    {
        await stage.StartAsync(controlPlane);
        output.WriteLine($"figure: daemon start to the healthy Service's status: {stage.StartToServed.TotalMilliseconds:F0} ms");
        var service = await stage.Cluster.CreateServiceAsync(name, ports, loadBalancerIp, annotations);
        stage.ServeNodePorts(service);
        return new BadInputCase(stage, service, output);
    }
}
