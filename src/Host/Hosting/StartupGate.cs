using LoadBalancer.Infrastructure.Networking.Netlink;
using LoadBalancer.Infrastructure.Preflight;

namespace LoadBalancer.Host.Hosting;

/// <summary>
/// Before a serving mode builds anything: the link device exists and the process holds the capabilities it will use.
/// Every problem at once, each naming the fix; the mode exits 1 instead of failing every Service later.
/// </summary>
internal static class StartupGate
{
    /// <param name="device">The link device options; null when no address goes on any link.</param>
    /// <param name="lowestPort">The lowest port a listener will bind, when known before serving.</param>
    public static async Task<bool> PassAsync(RunContext run, LinkDeviceOptions? device, bool announce, int? lowestPort)
    {
        var request = new PreflightRequest
        {
            LinkDevice = device is null ? null : device.DeviceName ?? PreflightRequest.AutoDetect,
            Announce = device is not null && announce,
            LowestPort = lowestPort,
        };
        var report = (run.Seams.Preflight ?? StartupChecks.ForThisMachine()).Check(request);
        if (report.Passed)
        {
            return true;
        }

        await run.FailAsync(ExitCodes.Failure, report.Problems.Select(problem => problem.ToString())).ConfigureAwait(false);
        return false;
    }
}
