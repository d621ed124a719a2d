using LoadBalancer.Infrastructure.Forwarding;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>Theory data: every forwarder behaviour is checked on both engines.</summary>
public static class Engines
{
    public static TheoryData<ForwardingEngine> Both => new() { ForwardingEngine.Splice, ForwardingEngine.Copy };
}
