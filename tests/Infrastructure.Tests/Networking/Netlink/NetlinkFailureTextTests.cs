using System.Net;
using LoadBalancer.Infrastructure.Networking.Netlink;

namespace LoadBalancer.Infrastructure.Tests.Networking.Netlink;

public sealed class NetlinkFailureTextTests
{
    private static readonly IPAddress Address = IPAddress.Parse("192.0.2.10");

    [Fact]
    public void DescribeFailure_EPERM_NamesTheMissingCapability()
    {
        var text = NetlinkLinkDevice.DescribeFailure("add", Address, "to", "eth0", NetlinkReply.Failed(NetlinkNative.EPERM, null));

        Assert.Equal("not permitted: CAP_NET_ADMIN is needed to add 192.0.2.10 to eth0", text);
    }

    [Fact]
    public void DescribeFailure_OtherErrno_GivesErrnoTextAndTheKernelsWords()
    {
        var text = NetlinkLinkDevice.DescribeFailure("add", Address, "to", "eth0", NetlinkReply.Failed(22, "ipv4: Invalid prefix length"));

        Assert.StartsWith("could not add 192.0.2.10 to eth0: ", text, StringComparison.Ordinal);
        Assert.Contains("(errno 22)", text, StringComparison.Ordinal);
        Assert.EndsWith("; kernel: ipv4: Invalid prefix length", text, StringComparison.Ordinal);
    }
}
