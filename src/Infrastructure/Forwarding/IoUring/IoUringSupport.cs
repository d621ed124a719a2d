using System.Net.Sockets;
using System.Runtime.InteropServices;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Forwarding.IoUring;

/// <summary>
/// Checks once that this kernel runs everything the io_uring engine asks of it: io_uring itself (seccomp profiles,
/// gVisor, <c>kernel.io_uring_disabled</c> and old kernels may refuse it), the ring features, a provided-buffer ring and
/// every opcode, so the forwarder falls back to splice instead of failing every connection.
/// </summary>
internal static unsafe class IoUringSupport
{
    private const string DisabledSysctl = "/proc/sys/kernel/io_uring_disabled";

    /// <summary>The opcodes the engine submits, by name for the reason it gives when one is missing.</summary>
    internal static readonly (byte Op, string Name)[] Opcodes =
    [
        (IORING_OP_ACCEPT, "ACCEPT"), (IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"), (IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT"),
        (IORING_OP_CONNECT, "CONNECT"), (IORING_OP_READ, "READ"), (IORING_OP_SEND, "SEND"), (IORING_OP_RECV, "RECV"),
        (IORING_OP_SHUTDOWN, "SHUTDOWN"), (IORING_OP_POLL_ADD, "POLL_ADD"),
        (IORING_OP_CLOSE, "CLOSE"),
    ];

    private static readonly Lazy<string?> Probe = new(() => RunProbe(ReadDisabledSysctl));

    /// <summary>Null when the engine can run; otherwise why not.</summary>
    public static string? UnavailableReason => Probe.Value;

    /// <param name="disabledSysctl">Reads <c>kernel.io_uring_disabled</c> (null when the kernel has no such sysctl).</param>
    internal static string? RunProbe(Func<int?> disabledSysctl)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "io_uring is Linux-only";
        }

        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return $"the io_uring system call numbers are known for x64 and arm64, not {RuntimeInformation.ProcessArchitecture}";
        }

        if (disabledSysctl() is 2)
        {
            return "io_uring is disabled by the sysctl kernel.io_uring_disabled = 2";
        }

        try
        {
            using var ring = Ring.Create(8, out _);
            if (MissingOpcodes(ring) is { } missing)
            {
                return missing;
            }

            using (new BufferRing(ring, groupId: 0, count: 1, bufferSize: 4096))
            {
            }

            // A NOP round trip: a seccomp profile may allow the setup and refuse the enter.
            var sqe = ring.NextSqe();
            sqe->Opcode = IORING_OP_NOP;
            sqe->UserData = 42;
            ring.SubmitAndWait(1000);
            return ring.TryTakeCompletion(out var cqe) && cqe.UserData == 42 ? null : "an io_uring NOP did not complete within a second";
        }
        catch (SocketException exception) when (exception.ErrorCode is EPERM or ENOSYS || exception.NativeErrorCode is EPERM or ENOSYS)
        {
            var sysctl = disabledSysctl() is 1 ? " (kernel.io_uring_disabled = 1 allows it only to the io_uring_group)" : string.Empty;
            return $"io_uring_setup refused: {exception.Message}{sysctl}";
        }
        catch (Exception exception) when (exception is SocketException or PlatformNotSupportedException or EntryPointNotFoundException
                                              or DllNotFoundException or InvalidOperationException)
        {
            return $"io_uring: {exception.Message}";
        }
    }

    /// <summary>Null when every opcode the engine submits is supported; else which are not.</summary>
    internal static string? MissingOpcodes(Ring ring)
    {
        if (SupportedOpcodes(ring, out var error) is not { } supported)
        {
            return $"IORING_REGISTER_PROBE failed: {new SocketException(error).Message}";
        }

        var missing = Opcodes.Where(op => !supported[op.Op]).Select(op => op.Name).ToList();
        return missing.Count == 0 ? null : $"this kernel's io_uring lacks IORING_OP_{string.Join(", IORING_OP_", missing)}";
    }

    /// <summary>
    /// Whether the ring's kernel runs <paramref name="opcode"/>: for an opcode the engine uses when it can and replaces
    /// with a system call when it cannot (IORING_OP_SOCKET, 5.19).
    /// </summary>
    internal static bool Supports(Ring ring, byte opcode) => SupportedOpcodes(ring, out _)?[opcode] ?? false;

    /// <summary>Indexed by opcode; null when the kernel would not say (<paramref name="error"/> is why).</summary>
    private static bool[]? SupportedOpcodes(Ring ring, out int error)
    {
        const int slots = 256;
        var size = sizeof(ProbeHeader) + (slots * sizeof(ProbeOp));
        var probe = (ProbeHeader*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            error = 0;
            if (ring.Register(IORING_REGISTER_PROBE, probe, slots) != 0)
            {
                error = Interop.Libc.LastError;
                return null;
            }

            var ops = (ProbeOp*)(probe + 1);
            var supported = new bool[slots];
            for (var op = 0; op <= probe->LastOp && op < slots; op++)
            {
                supported[op] = (ops[op].Flags & IO_URING_OP_SUPPORTED) != 0;
            }

            return supported;
        }
        finally
        {
            NativeMemory.Free(probe);
        }
    }

    private static int? ReadDisabledSysctl()
    {
        try
        {
            return int.TryParse(File.ReadAllText(DisabledSysctl).Trim(), out var value) ? value : null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
