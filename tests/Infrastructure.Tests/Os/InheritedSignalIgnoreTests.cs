using System.Globalization;
using System.Runtime.InteropServices;
using LoadBalancer.Infrastructure.Os;

namespace LoadBalancer.Infrastructure.Tests.Os;

/// <summary>
/// In this test process, on SIGUSR2 (12): nothing else here handles it, and it is given back as found. The disposition
/// is read from /proc/self/status (SigIgn), not from the class under test.
/// </summary>
public sealed partial class InheritedSignalIgnoreTests
{
    private const int UserSignal2 = 12;
    private static readonly PosixSignal Signal = (PosixSignal)UserSignal2;

    [Fact]
    public void Clear_AnIgnoredSignal_PutsBackTheDefaultAction_AndSaysItWasIgnored()
    {
        var before = signal(UserSignal2, 1);   // SIG_IGN, as nohup leaves SIGHUP
        try
        {
            Assert.True(IgnoredPerProc(UserSignal2));
            Assert.True(InheritedSignalIgnore.IsIgnored(Signal));

            Assert.True(InheritedSignalIgnore.Clear(Signal));

            Assert.False(IgnoredPerProc(UserSignal2));
            Assert.False(InheritedSignalIgnore.IsIgnored(Signal));
            Assert.False(InheritedSignalIgnore.Clear(Signal));
        }
        finally
        {
            _ = signal(UserSignal2, before);
        }
    }

    [Fact]
    public void Clear_ASignalNotIgnored_ChangesNothing()
    {
        var before = signal(UserSignal2, 0);   // SIG_DFL
        try
        {
            Assert.False(InheritedSignalIgnore.Clear(Signal));
            Assert.False(IgnoredPerProc(UserSignal2));
            Assert.Equal(0, signal(UserSignal2, 0));
        }
        finally
        {
            _ = signal(UserSignal2, before);
        }
    }

    [Fact]
    public void Clear_ASignalWithoutALinuxNumber_IsRefusedNamingIt()
    {
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => InheritedSignalIgnore.Clear((PosixSignal)(-100)));
        Assert.Contains("signal '-100'", refused.Message, StringComparison.Ordinal);
    }

    private static bool IgnoredPerProc(int number)
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var mask = ulong.Parse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (mask & (1UL << (number - 1))) != 0;
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint signal(int number, nint handler);
}
