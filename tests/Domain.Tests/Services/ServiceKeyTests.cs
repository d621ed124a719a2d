using LoadBalancer.Domain.Services;

namespace LoadBalancer.Domain.Tests.Services;

public sealed class ServiceKeyTests
{
    [Fact]
    public void ToString_IsNamespaceSlashName()
    {
        Assert.Equal("prod/web", new ServiceKey("prod", "web").ToString());
    }

    [Fact]
    public void CompareTo_OrdersByNamespaceThenNameOrdinally()
    {
        ServiceKey[] keys = [new("b", "a"), new("a", "b"), new("a", "B"), new("a", "a")];

        Assert.Equal([new("a", "B"), new("a", "a"), new("a", "b"), new("b", "a")], keys.Order());
    }

    [Theory]
    [InlineData("", "web")]
    [InlineData("prod", "")]
    public void Constructor_EmptyPart_Throws(string @namespace, string name)
    {
        Assert.Throws<ArgumentException>(() => new ServiceKey(@namespace, name));
    }
}
