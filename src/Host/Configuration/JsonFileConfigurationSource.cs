using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace LoadBalancer.Host.Configuration;

/// <summary>A JSON configuration file through the framework's provider, naming the file as the source of its values.</summary>
internal sealed class JsonFileConfigurationSource : JsonConfigurationSource
{
    public JsonFileConfigurationSource(string path)
    {
        Path = System.IO.Path.GetFileName(path);
        FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(System.IO.Path.GetDirectoryName(path)!);
        FullPath = path;
        Optional = false;
        ReloadOnChange = false;
        // The framework's message names the file; the provider's exception is turned into ours by ConfigurationLayers.
        OnLoadException = context => throw new ConfigurationFileException(FullPath, context.Exception.InnerException?.Message ?? context.Exception.Message, context.Exception);
    }

    public string FullPath { get; }

    public override IConfigurationProvider Build(IConfigurationBuilder builder) => new JsonFileConfigurationProvider(this);

    private sealed class JsonFileConfigurationProvider(JsonFileConfigurationSource source) : JsonConfigurationProvider(source), IValueSource
    {
        public string Describe(string key) => $"file {source.FullPath}";
    }
}
