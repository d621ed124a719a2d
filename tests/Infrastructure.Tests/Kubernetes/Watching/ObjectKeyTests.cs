using k8s.Models;
using LoadBalancer.Infrastructure.Kubernetes.Watching;

namespace LoadBalancer.Infrastructure.Tests.Kubernetes.Watching;

public sealed class ObjectKeyTests
{
    [Fact]
    public void ClusterScopedKey_NullAndEmptyNamespaceAreTheSame()
    {
        Assert.Equal(new ObjectKey(null, "node-1"), new ObjectKey("", "node-1"));
        Assert.Equal("node-1", new ObjectKey(null, "node-1").ToString());
    }

    [Fact]
    public void NamespacedKey_ReadsAsNamespaceSlashName()
    {
        var key = ObjectKey.Of(new V1Service { Metadata = new V1ObjectMeta { NamespaceProperty = "shop", Name = "web" } });

        Assert.Equal(new ObjectKey("shop", "web"), key);
        Assert.NotEqual(new ObjectKey("other", "web"), key);
        Assert.Equal("shop/web", key.ToString());
    }

    [Fact]
    public void ObjectWithoutAName_HasNoKey()
    {
        Assert.Null(ObjectKey.Of(new V1Service { Metadata = new V1ObjectMeta { ResourceVersion = "5" } }));
        Assert.Null(ObjectKey.Of(new V1Service()));
    }
}
