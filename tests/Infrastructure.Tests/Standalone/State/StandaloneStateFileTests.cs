using System.Net;
using System.Text.Json;
using LoadBalancer.Domain.Services;
using LoadBalancer.Infrastructure.Standalone.State;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Infrastructure.Tests.Standalone.State;

public sealed class StandaloneStateFileTests : IDisposable
{
    private const string KeptAsideSuffix = ".unreadable-20250102T030405Z";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private static readonly ServiceKey Web = new("default", "web");
    private static readonly ServiceKey Api = new("default", "api");
    private static readonly ServiceKey Shop = new("shop", "cart");

    // tmpfs when there is one: fsync there costs nothing, so the tests time the code, not other processes' disk
    // writes queued before ours (on a busy ext4 one fsync can take hundreds of milliseconds).
    private readonly DirectoryInfo _directory = Directory.Exists("/dev/shm")
        ? Directory.CreateDirectory(Path.Combine("/dev/shm", $"littlelb-state-{Guid.NewGuid():N}"))
        : Directory.CreateTempSubdirectory("littlelb-state-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
    private readonly CapturingLogger<StandaloneStateFile> _logger = new();

    private string StatePath => Path.Combine(_directory.FullName, "services-0123abcd.state.json");

    private static CancellationToken Token => CancellationToken.None;

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task WriteAsync_ThenANewInstanceLoads_GetsWhatWasWritten()
    {
        var first = NewState();
        Assert.Empty(await first.LoadAsync(Token));
        await first.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);
        await first.WriteAsync(Api, IPAddress.Parse("127.0.100.2"), Token);
        await first.WriteAsync(Shop, IPAddress.Parse("fd00::10"), Token);
        await first.WriteAsync(Api, [], Token);

        var second = NewState();
        var loaded = await second.LoadAsync(Token);

        Assert.Equal([Web, Shop], loaded.Keys.Order());
        Assert.Equal([IPAddress.Parse("127.0.100.1")], loaded[Web]);
        Assert.Equal([IPAddress.Parse("fd00::10")], loaded[Shop]);
        Assert.Equal(loaded, second.Current);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 3201 && entry.Message.Contains($"'{StatePath}'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteAsync_File_IsVersionedJsonSortedByNamespaceThenName()
    {
        var state = NewState();
        await state.LoadAsync(Token);
        await state.WriteAsync(Shop, IPAddress.Parse("127.0.100.3"), Token);
        await state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);
        await state.WriteAsync(Api, IPAddress.Parse("127.0.100.2"), Token);

        using var written = JsonDocument.Parse(await File.ReadAllTextAsync(StatePath, Token));

        Assert.Equal(1, written.RootElement.GetProperty("version").GetInt32());
        var entries = written.RootElement.GetProperty("services").EnumerateArray()
            .Select(entry => (entry.GetProperty("namespace").GetString(), entry.GetProperty("name").GetString(), entry.GetProperty("ip").GetString()))
            .ToList();
        Assert.Equal([("default", "api", "127.0.100.2"), ("default", "web", "127.0.100.1"), ("shop", "cart", "127.0.100.3")], entries);
        Assert.Equal([Api, Web, Shop], state.Current.Keys);
    }

    [Fact]
    public async Task WriteAsync_ManyCallersWhileAWriteRuns_AreServedByOneMoreWrite()
    {
        var state = NewState();
        await state.LoadAsync(Token);
        using var writing = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        state.BeforeFileWrite = () =>
        {
            writing.Release();
            release.Wait(Patience);
        };

        var firstWrite = state.WriteAsync(Key(0), Address(0), Token).AsTask();
        Assert.True(await writing.WaitAsync(Patience, Token));
        // Each task returns as soon as its call has queued: the calls run concurrently, the waits are collected.
        var calls = Enumerable.Range(1, 999)
            .Select(i => Task.Factory.StartNew(() => state.WriteAsync(Key(i), Address(i), Token).AsTask(), Token, TaskCreationOptions.None, TaskScheduler.Default));
        var waits = await Task.WhenAll(calls);
        Assert.DoesNotContain(waits, wait => wait.IsCompleted);
        release.Set();
        await firstWrite;
        await Task.WhenAll(waits);

        Assert.Equal(2, state.FileWrites);
        var loaded = await LoadAgainAsync();
        Assert.Equal(1000, loaded.Count);
        Assert.All(Enumerable.Range(0, 1000), i => Assert.Equal([Address(i)], loaded[Key(i)]));
    }

    [Fact]
    public async Task WriteAsync_CallerStopsWaiting_TheChangeIsWrittenAnyway()
    {
        var state = NewState();
        await state.LoadAsync(Token);
        using var writing = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        state.BeforeFileWrite = () =>
        {
            writing.Release();
            release.Wait(Patience);
        };
        var firstWrite = state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token).AsTask();
        Assert.True(await writing.WaitAsync(Patience, Token));
        using var cancel = new CancellationTokenSource();

        var abandoned = state.WriteAsync(Api, IPAddress.Parse("127.0.100.2"), cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        release.Set();
        await firstWrite;
        // The same value again returns once the write queued for it is done, and costs none of its own.
        await state.WriteAsync(Api, IPAddress.Parse("127.0.100.2"), Token);

        Assert.Equal(2, state.FileWrites);
        Assert.Equal([Api, Web], (await LoadAgainAsync()).Keys);
    }

    [Fact]
    public async Task WriteAsync_ManyTasksAtOnce_AllEndUpInTheFileWithFewerWritesThanCalls()
    {
        const int Callers = 500;
        var state = NewState();
        await state.LoadAsync(Token);

        await Task.WhenAll(Enumerable.Range(0, Callers).Select(i => Task.Run(() => state.WriteAsync(Key(i), Address(i), Token).AsTask(), Token)));

        Assert.InRange(state.FileWrites, 1, Callers / 2);
        var loaded = await LoadAgainAsync();
        Assert.Equal(Callers, loaded.Count);
        Assert.All(Enumerable.Range(0, Callers), i => Assert.Equal([Address(i)], loaded[Key(i)]));
    }

    [Fact]
    public async Task WriteAsync_UnchangedValueOrAbsentRemoval_DoesNoIo()
    {
        var state = NewState();
        await state.LoadAsync(Token);
        await state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);
        // Were the file written again, it would come back.
        File.Delete(StatePath);

        await state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);
        await state.WriteAsync(Api, [], Token);

        Assert.Equal(1, state.FileWrites);
        Assert.False(File.Exists(StatePath));
    }

    [Fact]
    public async Task WriteAsync_DirectoryMissing_IsCreated()
    {
        var path = Path.Combine(_directory.FullName, "a", "b", "state.json");
        var state = NewState(path);
        await state.LoadAsync(Token);

        await state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);

        Assert.True(File.Exists(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public async Task WriteAsync_BeforeLoad_IsRefusedSoTheFileIsNotReplacedUnread()
    {
        await File.WriteAllTextAsync(StatePath, """{"version":1,"services":[{"namespace":"default","name":"web","ip":"127.0.100.1"}]}""", Token);
        var state = NewState();

        await Assert.ThrowsAsync<InvalidOperationException>(() => state.WriteAsync(Api, IPAddress.Parse("127.0.100.2"), Token).AsTask());

        Assert.Contains("127.0.100.1", await File.ReadAllTextAsync(StatePath, Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_NoFile_IsEmptyAndSaysSo()
    {
        var state = NewState();

        var loaded = await state.LoadAsync(Token);

        Assert.Empty(loaded);
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Information, 3200), (entry.Level, entry.EventId.Id));
        Assert.Contains($"no state file yet at '{StatePath}'", entry.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("""{"version":1,"services":[""", "not valid JSON")]
    [InlineData("""{"version":2,"services":[]}""", "version '2' is not known; this build reads version 1")]
    [InlineData("""{"services":[]}""", "\"version\" is missing")]
    [InlineData("""[1, 2]""", "the top level is a list")]
    [InlineData("""{"version":1,"services":{}}""", "\"services\" is '{}', not a list")]
    [InlineData("", "the file is empty")]
    public async Task LoadAsync_UnreadableFile_IsKeptAsideReportedAndEmpty(string content, string reason)
    {
        await File.WriteAllTextAsync(StatePath, content, Token);
        var state = NewState();

        var loaded = await state.LoadAsync(Token);

        Assert.Empty(loaded);
        Assert.False(File.Exists(StatePath));
        Assert.Equal(content, await File.ReadAllTextAsync(StatePath + KeptAsideSuffix, Token));
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Error, 3202), (entry.Level, entry.EventId.Id));
        Assert.Contains($"'{StatePath}'", entry.Message, StringComparison.Ordinal);
        Assert.Contains(reason, entry.Message, StringComparison.Ordinal);
        Assert.Contains($"'{StatePath}{KeptAsideSuffix}'", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_DirectoryInPlaceOfTheFile_IsKeptAsideReportedAndEmpty()
    {
        Directory.CreateDirectory(StatePath);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "inside"), "kept", Token);
        var state = NewState();

        var loaded = await state.LoadAsync(Token);

        Assert.Empty(loaded);
        Assert.False(Directory.Exists(StatePath));
        Assert.Equal("kept", await File.ReadAllTextAsync(Path.Combine(StatePath + KeptAsideSuffix, "inside"), Token));
        var entry = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Error, 3202), (entry.Level, entry.EventId.Id));
        Assert.Contains($"'{StatePath}' is unreadable: it is a directory, not a file", entry.Message, StringComparison.Ordinal);

        // The run goes on: the first write creates the file where the directory was.
        await state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);
        Assert.True(File.Exists(StatePath));
    }

    [Fact]
    public async Task LoadAsync_KeptAsideNameTaken_AddsACounter()
    {
        await File.WriteAllTextAsync(StatePath + KeptAsideSuffix, "older", Token);
        await File.WriteAllTextAsync(StatePath, "{", Token);

        await NewState().LoadAsync(Token);

        Assert.Equal("older", await File.ReadAllTextAsync(StatePath + KeptAsideSuffix, Token));
        Assert.Equal("{", await File.ReadAllTextAsync(StatePath + KeptAsideSuffix + "-2", Token));
    }

    [Fact]
    public async Task LoadAsync_UnusableEntries_AreSkippedWithTheirValueAndTheRestKept()
    {
        await File.WriteAllTextAsync(StatePath, """
            {
              // written by hand
              "version": 1,
              "services": [
                { "namespace": "default", "name": "web", "ip": "127.0.100.1" },
                { "namespace": "default", "name": "bad-ip", "ip": "10.1" },
                { "namespace": "Default", "name": "upper", "ip": "127.0.100.3" },
                { "namespace": "default", "ip": "127.0.100.4" },
                { "namespace": "default", "name": "number", "ip": 5 },
                "not an object",
                { "namespace": "default", "name": "web", "ip": "127.0.100.6" },
                { "namespace": "shop", "name": "cart", "ip": "fd00::1", "note": "unknown fields are ignored" },
              ]
            }
            """, Token);
        var state = NewState();

        var loaded = await state.LoadAsync(Token);

        Assert.Equal([Web, Shop], loaded.Keys);
        Assert.Equal([IPAddress.Parse("127.0.100.1")], loaded[Web]);
        Assert.Equal([IPAddress.Parse("fd00::1")], loaded[Shop]);
        Assert.True(File.Exists(StatePath));
        var skipped = _logger.Entries.Where(entry => entry.EventId.Id == 3203).ToList();
        Assert.All(skipped, entry => Assert.Equal(LogLevel.Warning, entry.Level));
        Assert.All(skipped, entry => Assert.Contains($"'{StatePath}'", entry.Message, StringComparison.Ordinal));
        Assert.Collection(
            skipped,
            entry => Assert.Contains("services[1] (default/bad-ip) skipped: ip '10.1' is not an IP address", entry.Message, StringComparison.Ordinal),
            entry => Assert.Contains("services[2] (Default/upper) skipped: namespace 'Default' must be a DNS label", entry.Message, StringComparison.Ordinal),
            entry => Assert.Contains("services[3] skipped: name is missing", entry.Message, StringComparison.Ordinal),
            entry => Assert.Contains("services[4] (default/number) skipped: ip '5' is not a string", entry.Message, StringComparison.Ordinal),
            entry => Assert.Contains("services[5] skipped: '\"not an object\"' is not an object", entry.Message, StringComparison.Ordinal),
            entry => Assert.Contains("services[6] (default/web) skipped: default/web is already recorded by services[0]", entry.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteAsync_DirectoryCannotBeCreated_ThrowsNamingThePathKeepsTheChangeAndALaterWriteSavesAll()
    {
        // Tests run as root, where a read-only directory does not stop a write: a regular file where the directory
        // should be does.
        var blocker = Path.Combine(_directory.FullName, "blocker");
        await File.WriteAllTextAsync(blocker, "a file, not a directory", Token);
        var path = Path.Combine(blocker, "state.json");
        var state = NewState(path);
        await state.LoadAsync(Token);

        var failure = await Assert.ThrowsAsync<IOException>(() => state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token).AsTask());
        await Assert.ThrowsAsync<IOException>(() => state.WriteAsync(Api, IPAddress.Parse("127.0.100.2"), Token).AsTask());

        Assert.Contains($"cannot write the state file '{path}': ", failure.Message, StringComparison.Ordinal);
        Assert.Equal([Api, Web], state.Current.Keys);
        Assert.Equal(["blocker"], _directory.EnumerateFileSystemInfos().Select(entry => entry.Name));
        Assert.Contains(_logger.Entries, entry => entry.Level == LogLevel.Error && entry.EventId.Id == 3204 && entry.Message.Contains($"'{path}'", StringComparison.Ordinal));

        File.Delete(blocker);
        await state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);

        Assert.Equal(3, state.FileWrites);
        var loaded = await new StandaloneStateFile(new StandaloneStateOptions { Path = path }, _time, new CapturingLogger<StandaloneStateFile>()).LoadAsync(Token);
        Assert.Equal([Api, Web], loaded.Keys);
        Assert.Contains(_logger.Entries, entry => entry.EventId.Id == 3205);
    }

    [Fact]
    public async Task WriteAsync_RenameFails_RemovesTheTemporaryFileAndALaterWriteSavesAll()
    {
        var state = NewState();
        await state.LoadAsync(Token);
        // A non-empty directory where the file goes: the temporary file is written, then the rename fails.
        Directory.CreateDirectory(Path.Combine(StatePath, "inside"));

        var failure = await Assert.ThrowsAsync<IOException>(() => state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token).AsTask());

        Assert.Contains($"'{StatePath}'", failure.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(StatePath + ".tmp"));
        Assert.Equal([Path.GetFileName(StatePath)], _directory.EnumerateFileSystemInfos().Select(entry => entry.Name));

        Directory.Delete(StatePath, recursive: true);
        // The same value again: not durable yet, so it is written, not skipped.
        await state.WriteAsync(Web, IPAddress.Parse("127.0.100.1"), Token);

        Assert.Equal([Web], (await LoadAgainAsync()).Keys);
    }

    [Fact]
    public async Task WriteAsync_MappedOrScopedAddress_IsRecordedAsItReadsBack()
    {
        var state = NewState();
        await state.LoadAsync(Token);

        await state.WriteAsync(Web, IPAddress.Parse("::ffff:127.0.100.1"), Token);
        await state.WriteAsync(Api, IPAddress.Parse("fe80::1%2"), Token);

        var loaded = await LoadAgainAsync();
        Assert.Equal([IPAddress.Parse("127.0.100.1")], loaded[Web]);
        Assert.Equal([IPAddress.Parse("fe80::1")], loaded[Api]);
        Assert.DoesNotContain(_logger.Entries, entry => entry.EventId.Id == 3203);
    }

    private StandaloneStateFile NewState(string? path = null) =>
        new(new StandaloneStateOptions { Path = path ?? StatePath }, _time, _logger);

    private async Task<IReadOnlyDictionary<ServiceKey, IReadOnlyList<IPAddress>>> LoadAgainAsync() =>
        await new StandaloneStateFile(new StandaloneStateOptions { Path = StatePath }, _time, _logger).LoadAsync(Token);

    private static ServiceKey Key(int i) => new($"ns-{i % 7}", $"service-{i}");

    private static IPAddress Address(int i) => new([10, 0, (byte)(i / 256), (byte)(i % 256)]);
}
