using LoadBalancer.Infrastructure.Forwarding.Loops;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.Splice;

/// <summary>The zero-copy engine: its event loops start with the first listener and stop with the forwarder.</summary>
internal sealed class SpliceEngine(ForwarderOptions options, TimeProvider time, ILogger logger) : LoopEngine<EventLoop>(options)
{
    private readonly ForwarderClock _clock = new(time);

    protected override string EngineName => "splice";

    protected override EventLoop CreateLoop(int id) => new(id, Options, _clock, logger);
}
