using LoadBalancer.Host;

return await LoadBalancerApp.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
