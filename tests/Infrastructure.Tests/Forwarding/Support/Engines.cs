using LoadBalancer.Infrastructure.Forwarding;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>Theory data: every forwarder behaviour is checked on every TCP engine.</summary>
public static class Engines
{
    public static TheoryData<ForwardingEngine> All => new() { ForwardingEngine.IoUring, ForwardingEngine.Splice, ForwardingEngine.Copy };
}
