using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Tests.Services;

public sealed class IpSharingTests
{
    [Fact]
    public void WithKey_SameKey_IsEqual()
    {
        Assert.Equal(IpSharing.WithKey("k"), IpSharing.WithKey("k"));
        Assert.NotEqual(IpSharing.WithKey("k"), IpSharing.WithKey("K"));
        Assert.NotEqual(IpSharing.Shared, IpSharing.Exclusive);
        Assert.Equal(IpSharingMode.Keyed, IpSharing.WithKey("k").Mode);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void WithKey_BlankKey_Throws(string key)
    {
        Assert.Throws<ArgumentException>(() => IpSharing.WithKey(key));
    }

    [Fact]
    public void ToString_NamesTheMode()
    {
        Assert.Equal("shared", IpSharing.Shared.ToString());
        Assert.Equal("exclusive", IpSharing.Exclusive.ToString());
        Assert.Equal("sharing key 'k'", IpSharing.WithKey("k").ToString());
    }
}
