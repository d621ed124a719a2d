namespace LoadBalancer.Infrastructure.Tests.Forwarding.Support;

/// <summary>
/// The process's open file descriptors, as /proc/self/fd lists them, narrowed to what a forwarder opens: sockets,
/// pipes and anonymous inodes (epoll, eventfd). Regular files are left out, because the runtime keeps assemblies and
/// symbol files it loads along the way (a stack trace loads System.Diagnostics.StackTrace and a .pdb) open for good.
/// </summary>
internal static class FileDescriptors
{
    private static readonly string[] ForwarderKinds = ["socket:", "pipe:", "anon_inode:"];

    public static int CountForwarderKinds() => CountByKind().Values.Sum();

    /// <summary>Descriptors of the forwarder's kinds by what they point at ("socket", "pipe", "anon_inode:[eventpoll]").</summary>
    public static IReadOnlyDictionary<string, int> CountByKind()
    {
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            string target;
            try
            {
                target = new FileInfo(entry).LinkTarget ?? string.Empty;
            }
            catch (IOException)
            {
                continue; // closed while we looked
            }

            if (!Array.Exists(ForwarderKinds, kind => target.StartsWith(kind, StringComparison.Ordinal)))
            {
                continue;
            }

            var kind = target.StartsWith("anon_inode:", StringComparison.Ordinal) ? target : target[..target.IndexOf(':', StringComparison.Ordinal)];
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }

        return kinds;
    }

    public static string Describe(IReadOnlyDictionary<string, int> kinds) =>
        string.Join(", ", kinds.Select(kind => $"{kind.Key}={kind.Value}"));
}
