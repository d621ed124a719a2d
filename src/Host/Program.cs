using LoadBalancer.Host;
using LoadBalancer.Host.Forward;

// SIGINT, SIGTERM and SIGQUIT stop the generic host of a serving mode (drain, release, exit 0); SIGHUP and SIGUSR1
// are handled by the host too (Host/Signals).
if (NativeForwarder.IsForwardOnly)
{
    // Compiled into the native forwarder (src/Forwarder), where only this branch is kept.
    return await LoadBalancerApp.RunForwardOnlyAsync(args, Console.Out, Console.Error, CancellationToken.None).ConfigureAwait(false);
}

// `forward` becomes the native forwarder when it is published beside this program (a third of the memory).
NativeForwarder.RunIfPublished(args, Console.Error);
return await LoadBalancerApp.RunAsync(args, Console.Out, Console.Error, CancellationToken.None).ConfigureAwait(false);
