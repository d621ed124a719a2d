using LoadBalancer.Host;

// loadbalancer forward, and nothing else: src/Host's forward command and composition, compiled ahead of time.
return await LoadBalancerApp.RunForwardOnlyAsync(args, Console.Out, Console.Error, CancellationToken.None).ConfigureAwait(false);
