using LoadBalancer.Host;

// SIGINT, SIGTERM and SIGQUIT stop the generic host of a serving mode (drain, release, exit 0); SIGHUP and SIGUSR1
// are handled by the host too (Host/Signals).
return await LoadBalancerApp.RunAsync(args, Console.Out, Console.Error, CancellationToken.None).ConfigureAwait(false);
