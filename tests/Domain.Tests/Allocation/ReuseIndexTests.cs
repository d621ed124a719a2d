using LoadBalancer.Domain.Addressing;
using LoadBalancer.Domain.Allocation;
using LoadBalancer.Domain.Services;
using static LoadBalancer.Domain.Tests.TestData;

namespace LoadBalancer.Domain.Tests.Allocation;

/// <summary>Drives the index the way the allocator does: bindings change first, then the index is told.</summary>
public sealed class ReuseIndexTests
{
    private static readonly ServicePort Http = ServicePort.Tcp(80);
    private static readonly ServicePort Https = ServicePort.Tcp(443);

    private readonly ReuseIndex _index = new();

    private LeasedIp Open(int lastOctet)
    {
        var lease = new LeasedIp(IpNumber.From(Ip($"10.0.{lastOctet / 256}.{lastOctet % 256}")), IpSharing.Shared);
        _index.AddIp(lease);
        return lease;
    }

    private void Take(LeasedIp lease, ServicePort port)
    {
        lease.Bindings.Add(port, Key($"svc-{lease.Address}-{port.Port}"));
        _index.PortTaken(lease, port);
    }

    private void Free(LeasedIp lease, ServicePort port)
    {
        lease.Bindings.Remove(port);
        _index.PortFreed(lease, port);
    }

    private string? Lowest(params ServicePort[] ports) => _index.FindLowestWithFreePorts(ports)?.Address.ToString();

    [Fact]
    public void FindLowestWithFreePorts_Empty_IsNull()
    {
        Assert.True(_index.IsEmpty);
        Assert.Null(Lowest(Http));
    }

    [Fact]
    public void FindLowestWithFreePorts_FewHolders_FindsLowestIpWithAllPortsFree()
    {
        var first = Open(1);
        var second = Open(2);
        var third = Open(3);
        Take(first, Http);
        Take(second, Https);
        Take(third, ServicePort.Tcp(8080));

        Assert.Equal("10.0.0.2", Lowest(Http));
        Assert.Equal("10.0.0.1", Lowest(Https));
        Assert.Equal("10.0.0.3", Lowest(Http, Https));
        Assert.Null(Lowest(Http, Https, ServicePort.Tcp(8080)));
    }

    [Theory]
    [InlineData(ReuseIndex.IndexThreshold - 1)]
    [InlineData(ReuseIndex.IndexThreshold)]
    [InlineData(ReuseIndex.IndexThreshold + 1)]
    [InlineData(ReuseIndex.IndexThreshold * 3)]
    public void FindLowestWithFreePorts_AroundThreshold_FollowsTakesAndFrees(int holders)
    {
        var leases = Enumerable.Range(1, holders + 2).Select(Open).ToList();
        foreach (var lease in leases.Take(holders))
        {
            Take(lease, Http);
        }

        Assert.Equal($"10.0.0.{holders + 1}", Lowest(Http));
        Assert.Equal("10.0.0.1", Lowest(Https));

        Free(leases[holders / 2], Http);
        Assert.Equal($"10.0.0.{(holders / 2) + 1}", Lowest(Http));

        Take(leases[holders / 2], Http);
        Take(leases[holders], Http);
        Assert.Equal($"10.0.0.{holders + 2}", Lowest(Http));

        Take(leases[0], Https);
        Assert.Equal($"10.0.0.{holders + 2}", Lowest(Http, Https));
        Assert.Equal("10.0.0.2", Lowest(Https));
    }

    [Fact]
    public void FindLowestWithFreePorts_IpRemovedAboveThreshold_IsNoLongerACandidate()
    {
        var count = ReuseIndex.IndexThreshold + 4;
        var leases = Enumerable.Range(1, count).Select(Open).ToList();
        foreach (var lease in leases.Take(count - 2))
        {
            Take(lease, Http);
        }

        var candidate = leases[count - 2];
        _index.RemoveIp(candidate);

        Assert.Equal($"10.0.0.{count}", Lowest(Http));

        _index.RemoveIp(leases[count - 1]);
        Assert.Null(Lowest(Http));
    }

    [Fact]
    public void AddIp_AfterPortIsIndexed_IsACandidateForThatPort()
    {
        var count = ReuseIndex.IndexThreshold + 1;
        var leases = Enumerable.Range(1, count).Select(Open).ToList();
        foreach (var lease in leases)
        {
            Take(lease, Http);
        }

        Assert.Null(Lowest(Http));

        Open(count + 5);
        Assert.Equal($"10.0.0.{count + 5}", Lowest(Http));
    }

    [Fact]
    public void PortFreed_LastHolderGone_ForgetsThePort()
    {
        var count = ReuseIndex.IndexThreshold;
        var leases = Enumerable.Range(1, count).Select(Open).ToList();
        foreach (var lease in leases)
        {
            Take(lease, Http);
        }

        foreach (var lease in leases)
        {
            Free(lease, Http);
        }

        Assert.Equal("10.0.0.1", Lowest(Http));
        Take(leases[0], Http);
        Assert.Equal("10.0.0.2", Lowest(Http));
    }

    [Fact]
    public void FindLowestWithFreePorts_MultiPortSetPastTheWalkLimit_IsIndexedAndFollowsChanges()
    {
        // Port 80 busy on the first IPs and 443 busy on the next ones: the lowest IP with both free lies past the walk.
        var count = (ReuseIndex.IndexThreshold * 2) + 2;
        var leases = Enumerable.Range(1, count).Select(Open).ToList();
        for (var i = 0; i < count - 1; i++)
        {
            Take(leases[i], i % 2 == 0 ? Http : Https);
        }

        Assert.Equal($"10.0.0.{count}", Lowest(Http, Https));
        Assert.Equal(1, _index.IndexedPortSetCount);

        Free(leases[4], Http);
        Assert.Equal("10.0.0.5", Lowest(Http, Https));

        Take(leases[4], Https);
        Assert.Equal($"10.0.0.{count}", Lowest(Http, Https));

        _index.RemoveIp(leases[count - 1]);
        Assert.Null(Lowest(Http, Https));
    }

    [Fact]
    public void FindLowestWithFreePorts_MorePortSetsThanKept_EvictsTheLeastRecentlyUsedAndStaysCorrect()
    {
        var count = ReuseIndex.IndexThreshold + 2;
        var leases = Enumerable.Range(1, count).Select(Open).ToList();
        foreach (var lease in leases.Take(count - 1))
        {
            Take(lease, Http);
        }

        for (var extra = 0; extra < ReuseIndex.MaxIndexedPortSets + 5; extra++)
        {
            Assert.Equal($"10.0.0.{count}", Lowest(Http, ServicePort.Tcp(1000 + extra)));
        }

        Assert.Equal(ReuseIndex.MaxIndexedPortSets, _index.IndexedPortSetCount);

        // Changes after the evictions are seen by the sets still indexed and by those built again.
        Free(leases[2], Http);
        Assert.Equal("10.0.0.3", Lowest(Http, ServicePort.Tcp(1000)));
        Assert.Equal("10.0.0.3", Lowest(Http, ServicePort.Tcp(1000 + ReuseIndex.MaxIndexedPortSets + 4)));
        Take(leases[2], ServicePort.Tcp(1001));
        Assert.Equal($"10.0.0.{count}", Lowest(Http, ServicePort.Tcp(1001)));
        Assert.Equal("10.0.0.3", Lowest(Http, ServicePort.Tcp(1002)));
    }
}
