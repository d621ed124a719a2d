using System.Net.Sockets;
using LoadBalancer.Infrastructure.Forwarding.Listeners;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Listeners;

public sealed class ForwardingListenerHintTests
{
    [Theory]
    [InlineData(SocketError.AccessDenied, 80, true)]
    [InlineData(SocketError.AccessDenied, 1023, true)]
    [InlineData(SocketError.AccessDenied, 8080, false)]
    [InlineData(SocketError.AddressAlreadyInUse, 80, false)]
    public void Hint_SaysWhatAPrivilegedPortNeeds_OnlyWhenThatIsTheCause(SocketError error, int port, bool hinted)
    {
        var hint = ForwardingListener.Hint(new SocketException((int)error), port);

        Assert.Equal(hinted, hint.Contains("CAP_NET_BIND_SERVICE", StringComparison.Ordinal));
    }

    [Fact]
    public void Hint_ForAPrivilegedPort_SaysHowToGrantTheCapability()
    {
        var hint = ForwardingListener.Hint(new SocketException((int)SocketError.AccessDenied), 80);

        Assert.Contains("`setcap cap_net_bind_service+ep BINARY`", hint, StringComparison.Ordinal);
        Assert.Contains("`AmbientCapabilities=CAP_NET_BIND_SERVICE`", hint, StringComparison.Ordinal);
        Assert.Contains("securityContext.capabilities.add: [\"NET_BIND_SERVICE\"]", hint, StringComparison.Ordinal);
    }
}
