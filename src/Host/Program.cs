using System.Runtime.InteropServices;
using LoadBalancer.Host;

// SIGINT and SIGTERM cancel the run instead of killing the process, so the serving modes drain and release first.
using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await LoadBalancerApp.RunAsync(args, Console.Out, Console.Error, stop.Token).ConfigureAwait(false);
