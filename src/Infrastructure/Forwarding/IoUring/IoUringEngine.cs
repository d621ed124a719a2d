using LoadBalancer.Infrastructure.Forwarding.Loops;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>The io_uring engine: its loops (one ring and thread each) start with the first listener and stop with the forwarder.</summary>
/// <param name="bufferCount">Ring buffers per loop (a power of two); tests make it tiny to run the ring dry.</param>
/// <param name="socketsInRing">Open backend sockets with IORING_OP_SOCKET where the kernel has it; tests turn it off to run the socket(2) fallback.</param>
internal sealed class IoUringEngine(ForwarderOptions options, TimeProvider time, ILogger logger, int bufferCount = UringLoop.DefaultBufferCount,
    bool socketsInRing = true)
    : LoopEngine<UringLoop>(options)
{
    private readonly ForwarderClock _clock = new(time);

    /// <summary>Directions of every loop that switched from ring buffers to splice.</summary>
    internal long SpliceSwitches => SumOverLoops(loop => loop.SpliceSwitches);

    /// <summary>Receives of every loop that found the buffer ring empty and used a spill buffer.</summary>
    internal long SpillReceives => SumOverLoops(loop => loop.SpillReceives);

    /// <summary>Backend sockets every loop opened with IORING_OP_SOCKET (the rest came from socket(2)).</summary>
    internal long RingSockets => SumOverLoops(loop => loop.RingSockets);

    /// <summary>Connects of every loop ended by the kernel's linked timeout.</summary>
    internal long LinkedTimeouts => SumOverLoops(loop => loop.LinkedTimeouts);

    // The rings are made on the loops' threads (SINGLE_ISSUER); the probe ran the same setup, so a start fails only when
    // the kernel ran out of memory.
    protected override string EngineName => "io_uring";

    protected override UringLoop CreateLoop(int id) => new(id, Options, _clock, logger, bufferCount, socketsInRing);
}
