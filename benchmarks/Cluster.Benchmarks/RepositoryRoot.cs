namespace LoadBalancer.Cluster.Benchmarks;

internal static class RepositoryRoot
{
    /// <summary>The nearest directory above the program (or the current directory) that holds LoadBalancer.sln.</summary>
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "LoadBalancer.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException("LoadBalancer.sln not found above the program or the current directory");
    }

    /// <summary>The daemon as <c>dotnet build src/Host -c Release</c> leaves it.</summary>
    public static string ReleaseDaemon(string root) =>
        Path.Combine(root, "src", "Host", "bin", "Release", "net10.0", "loadbalancer.dll");

    /// <summary>The daemon to run: the one given, else the Release build; it must exist.</summary>
    public static string Daemon(string root, string? given)
    {
        var dll = given is null ? ReleaseDaemon(root) : Path.GetFullPath(given);
        return File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"{dll} is missing: run `dotnet build src/Host -c Release` first (bench/cluster.sh does)");
    }
}
