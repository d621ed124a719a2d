using System.Runtime.CompilerServices;
using LoadBalancer.Infrastructure.Forwarding.IoUring;
using static LoadBalancer.Infrastructure.Forwarding.IoUring.UringNative;

namespace LoadBalancer.Infrastructure.Tests.Forwarding.IoUring;

/// <summary>The structs the kernel reads and writes must have linux/io_uring.h's sizes and offsets, or every field after a slip is garbage.</summary>
public sealed unsafe class UringNativeTests
{
    [Fact]
    public void Structs_HaveTheKernelsSizes()
    {
        Assert.Equal(64, sizeof(Sqe));
        Assert.Equal(16, sizeof(Cqe));
        Assert.Equal(120, sizeof(Params));
        Assert.Equal(40, sizeof(SqRingOffsets));
        Assert.Equal(40, sizeof(CqRingOffsets));
        Assert.Equal(16, sizeof(Buf));
        Assert.Equal(40, sizeof(BufReg));
        Assert.Equal(24, sizeof(GetEventsArg));
        Assert.Equal(16, sizeof(KernelTimespec));
        Assert.Equal(16, sizeof(ProbeHeader));
        Assert.Equal(8, sizeof(ProbeOp));
    }

    [Fact]
    public void Sqe_FieldsSitAtTheKernelsOffsets()
    {
        var sqe = default(Sqe);
        var start = (byte*)&sqe;
        Assert.Equal(4, (byte*)&sqe.Fd - start);
        Assert.Equal(8, (byte*)&sqe.Offset - start);
        Assert.Equal(16, (byte*)&sqe.Address - start);
        Assert.Equal(24, (byte*)&sqe.Length - start);
        Assert.Equal(28, (byte*)&sqe.OpFlags - start);
        Assert.Equal(32, (byte*)&sqe.UserData - start);
        Assert.Equal(40, (byte*)&sqe.BufferGroup - start);
        Assert.Equal(44, (byte*)&sqe.SpliceFdIn - start);
    }

    [Fact]
    public void Params_RingOffsetsFollowTheReservedWords()
    {
        var p = default(Params);
        var start = (byte*)&p;
        Assert.Equal(40, (byte*)&p.SqOff - start);
        Assert.Equal(80, (byte*)&p.CqOff - start);
    }

    [Fact]
    public void Probe_OnThisKernel_FindsIoUringWithEveryOpcodeTheEngineUses()
    {
        Assert.True(OperatingSystem.IsLinux(), "these tests run on Linux (CI and the dev machines)");
        Assert.Null(IoUringSupport.UnavailableReason);
        using var ring = Ring.Create(8, out var refused);
        Assert.Null(refused);
        Assert.Null(IoUringSupport.MissingOpcodes(ring));
        Assert.NotEqual(0u, ring.Flags & IORING_SETUP_SINGLE_ISSUER);
        Assert.NotEqual(0u, ring.Features & IORING_FEAT_EXT_ARG);
    }

    [Fact]
    public void Ring_SubmitAndWait_CompletesANopWithItsUserData()
    {
        using var ring = Ring.Create(8, out _);
        var sqe = ring.NextSqe();
        sqe->Opcode = IORING_OP_NOP;
        sqe->UserData = 0xfeed;
        ring.SubmitAndWait(1000);

        Assert.True(ring.TryTakeCompletion(out var cqe));
        Assert.Equal(0xfeedUL, cqe.UserData);
        Assert.Equal(0, cqe.Result);
        Assert.False(ring.TryTakeCompletion(out _));
    }

    [Fact]
    public void Ring_SubmitAndWait_WithNothingToComplete_ReturnsAfterItsTimeout()
    {
        using var ring = Ring.Create(8, out _);
        var started = Environment.TickCount64;
        ring.SubmitAndWait(50);

        Assert.InRange(Environment.TickCount64 - started, 30, 2000);
        Assert.False(ring.HasCompletions);
    }

    [Fact]
    public void BufferRing_RegistersAndTracksTheBuffersInUse()
    {
        using var ring = Ring.Create(8, out _);
        using var buffers = new BufferRing(ring, groupId: 3, count: 4, bufferSize: 4096);
        buffers.Taken();
        Assert.Equal(1, buffers.InUse);
        buffers.Return(0);
        Assert.Equal(0, buffers.InUse);
        Assert.Equal(4096, (long)(buffers.Address(1) - buffers.Address(0)));
    }

    [Fact]
    public void SpliceAfterFullReads_IsSmallerThanAnyBulkTransferInBuffers()
    {
        // The switch test sends MiBs: far more full buffers in a row than the threshold.
        Assert.InRange(UringLoop.SpliceAfterFullReads * UringLoop.BufferSize, 1, 1024 * 1024);
        Assert.Equal(0, Unsafe.SizeOf<Sqe>() % 64);
    }
}
