using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LoadBalancer.Tests.FakeKubernetesApi;

/// <summary>
/// The REST surface, the same for every kind: list and watch (cluster-wide and per namespace), get, create, replace,
/// merge patch (main resource and status subresource) and delete, at the paths the real server uses.
/// </summary>
internal sealed class ResourceRoutes(FakeApiServer server, ListPager pager)
{
    private static readonly string[] SupportedFields = ["metadata.name", "metadata.namespace"];

    private ObjectStore Store => server.Store;

    public void Map(IEndpointRouteBuilder app)
    {
        foreach (var kind in ResourceKind.All)
        {
            var collection = kind.Namespaced
                ? $"{kind.PathPrefix}/namespaces/{{ns}}/{kind.Plural}"
                : $"{kind.PathPrefix}/{kind.Plural}";
            var item = collection + "/{name}";

            if (kind.Namespaced)
            {
                app.MapMethods($"{kind.PathPrefix}/{kind.Plural}", ["GET"], context => ListOrWatchAsync(context, kind));
            }

            app.MapMethods(collection, ["GET"], context => ListOrWatchAsync(context, kind));
            app.MapMethods(collection, ["POST"], context => CreateAsync(context, kind));
            app.MapMethods(item, ["GET"], context => GetAsync(context, kind));
            app.MapMethods(item, ["PUT"], context => ReplaceAsync(context, kind));
            app.MapMethods(item, ["PATCH"], context => PatchAsync(context, kind, statusSubresource: false));
            app.MapMethods(item, ["DELETE"], context => DeleteAsync(context, kind));
            if (kind.HasStatus)
            {
                app.MapMethods(item + "/status", ["GET"], context => GetAsync(context, kind));
                app.MapMethods(item + "/status", ["PATCH"], context => PatchAsync(context, kind, statusSubresource: true));
            }
        }
    }

    private async Task ListOrWatchAsync(HttpContext context, ResourceKind kind)
    {
        var query = context.Request.Query;
        var ns = Namespace(context);
        if (!LabelSelector.TryParse(query["labelSelector"], out var labels, out var labelError))
        {
            await HttpJson.WriteStatusAsync(context, StatusBodies.BadRequest(labelError)).ConfigureAwait(false);
            return;
        }

        if (!TryParseFieldSelector(query["fieldSelector"], out var fields, out var fieldError))
        {
            await HttpJson.WriteStatusAsync(context, StatusBodies.BadRequest(fieldError)).ConfigureAwait(false);
            return;
        }

        if (query["watch"] is var watchFlag && (watchFlag == "true" || watchFlag == "1"))
        {
            await WatchAsync(context, kind, ns, labels, fields).ConfigureAwait(false);
        }
        else
        {
            await ListAsync(context, kind, ns, labels, fields).ConfigureAwait(false);
        }
    }

    private async Task WatchAsync(HttpContext context, ResourceKind kind, string? ns, LabelSelector labels, LabelSelector fields)
    {
        var query = context.Request.Query;
        long? from = null;
        if (query["resourceVersion"].ToString() is { Length: > 0 } text)
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                await HttpJson.WriteStatusAsync(context, StatusBodies.BadRequest($"invalid resource version: {text}")).ConfigureAwait(false);
                return;
            }

            from = version;
        }

        TimeSpan? timeout = int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : null;
        var bookmarks = query["allowWatchBookmarks"] is var flag && (flag == "true" || flag == "1");

        var watch = Store.Watch(new WatchSubscription(kind, ns, labels, fields, bookmarks), from);
        if (watch is null)
        {
            await WatchStream.WriteExpiredAsync(context, from!.Value, Store.Horizon).ConfigureAwait(false);
            return;
        }

        await WatchStream.WriteAsync(context, Store, watch, timeout, server.Stopping).ConfigureAwait(false);
    }

    private async Task ListAsync(HttpContext context, ResourceKind kind, string? ns, LabelSelector labels, LabelSelector fields)
    {
        if (server.ListDelay is { } delay && delay > TimeSpan.Zero)
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, server.Stopping);
            await Task.Delay(delay, server.Time, waiting.Token).ConfigureAwait(false);
        }

        var query = context.Request.Query;
        int? limit = int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;
        var listKey = $"{context.Request.Path}?{query["labelSelector"]}&{query["fieldSelector"]}";

        Page page;
        if (query["continue"].ToString() is { Length: > 0 } token)
        {
            var next = pager.NextPage(listKey, token, limit, Store.Horizon);
            if (next.Error is { } error)
            {
                await HttpJson.WriteStatusAsync(context, error).ConfigureAwait(false);
                return;
            }

            page = next.Page!;
        }
        else
        {
            var (items, version) = Store.List(kind, ns, labels, fields);
            page = pager.FirstPage(listKey, items, version, limit);
        }

        await HttpJson.WriteAsync(context, StatusCodes.Status200OK, ListJson(kind, page)).ConfigureAwait(false);
    }

    private async Task GetAsync(HttpContext context, ResourceKind kind)
    {
        var name = Name(context);
        if (Store.Get(kind, Namespace(context), name) is { } stored)
        {
            await HttpJson.WriteAsync(context, StatusCodes.Status200OK, stored.Json).ConfigureAwait(false);
        }
        else
        {
            await HttpJson.WriteStatusAsync(context, StatusBodies.NotFound(kind, name)).ConfigureAwait(false);
        }
    }

    private async Task CreateAsync(HttpContext context, ResourceKind kind)
    {
        var body = await HttpJson.ReadBodyAsync(context).ConfigureAwait(false);
        var node = ParseObject(body);
        var problem = node is null ? "the body is not a JSON object" : NamespaceProblem(context, kind, node);
        if (problem is not null)
        {
            await RespondAsync(context, kind, body, new WriteResult(WriteOutcome.Invalid, Message: problem), isUpdate: false).ConfigureAwait(false);
            return;
        }

        await RespondAsync(context, kind, body, Store.Create(kind, node!), isUpdate: false).ConfigureAwait(false);
    }

    private async Task ReplaceAsync(HttpContext context, ResourceKind kind)
    {
        var name = Name(context);
        var body = await HttpJson.ReadBodyAsync(context).ConfigureAwait(false);
        var node = ParseObject(body);
        var problem = node is null ? "the body is not a JSON object"
            : (string?)node["metadata"]?["name"] != name ? $"the name of the object ({(string?)node["metadata"]?["name"]}) does not match the name on the URL ({name})"
            : NamespaceProblem(context, kind, node);
        if (problem is not null)
        {
            await HttpJson.WriteStatusAsync(context, StatusBodies.BadRequest(problem)).ConfigureAwait(false);
            return;
        }

        await RespondAsync(context, kind, body, Store.Replace(kind, Namespace(context), name, node!), isUpdate: false).ConfigureAwait(false);
    }

    private async Task PatchAsync(HttpContext context, ResourceKind kind, bool statusSubresource)
    {
        var ns = Namespace(context);
        var name = Name(context);
        var body = await HttpJson.ReadBodyAsync(context).ConfigureAwait(false);
        var contentType = context.Request.ContentType;

        WriteResult? result = null;
        var patch = ParseObject(body);
        var failure = !IsMergePatch(contentType) ? StatusBodies.UnsupportedMediaType(contentType)
            : patch is null ? StatusBodies.BadRequest("the patch is not a JSON object")
            : null;
        if (failure is null)
        {
            result = Store.Patch(kind, ns, name, patch!, statusSubresource);
            failure = Failure(kind, name, result);
        }

        var statusCode = failure?.Code ?? StatusCodes.Status200OK;
        if (kind.IsEvent)
        {
            RecordEvent(kind, ns!, body, result?.Object, statusCode, isUpdate: true);
        }
        else
        {
            var recorded = new RecordedPatch(
                kind.Plural, ns, name, statusSubresource ? "status" : null, body, contentType,
                context.Request.Query["fieldManager"].FirstOrDefault(), statusCode, server.Time.GetUtcNow());
            server.Recordings.Add(recorded);
            if (failure is null && statusSubresource && kind == ResourceKind.Services)
            {
                server.OnStatusPatched(recorded);
            }
        }

        if (failure is not null)
        {
            await HttpJson.WriteStatusAsync(context, failure).ConfigureAwait(false);
            return;
        }

        await HttpJson.WriteAsync(context, statusCode, result!.Object!.Json).ConfigureAwait(false);
    }

    private async Task DeleteAsync(HttpContext context, ResourceKind kind)
    {
        var name = Name(context);
        var result = Store.Delete(kind, Namespace(context), name);
        if (Failure(kind, name, result) is { } failure)
        {
            await HttpJson.WriteStatusAsync(context, failure).ConfigureAwait(false);
            return;
        }

        await HttpJson.WriteAsync(context, StatusCodes.Status200OK, result.Object!.Json).ConfigureAwait(false);
    }

    private async Task RespondAsync(HttpContext context, ResourceKind kind, string body, WriteResult result, bool isUpdate)
    {
        var name = result.Object?.Name ?? (string?)ParseObject(body)?["metadata"]?["name"] ?? "";
        var failure = Failure(kind, name, result);
        var statusCode = failure?.Code ?? (result.Outcome == WriteOutcome.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        if (kind.IsEvent)
        {
            RecordEvent(kind, Namespace(context) ?? "", body, result.Object, statusCode, isUpdate);
        }

        if (failure is not null)
        {
            await HttpJson.WriteStatusAsync(context, failure).ConfigureAwait(false);
            return;
        }

        await HttpJson.WriteAsync(context, statusCode, result.Object!.Json).ConfigureAwait(false);
    }

    private void RecordEvent(ResourceKind kind, string ns, string body, StoredObject? stored, int statusCode, bool isUpdate)
    {
        // After a successful write the stored event says it all; otherwise what the client sent is all there is.
        var node = stored?.ToNode() ?? ParseObject(body);
        var coreEvent = kind.Group.Length == 0;
        server.Recordings.Add(new RecordedEvent(
            kind.ApiVersion,
            ns,
            stored?.Name ?? (string?)node?["metadata"]?["name"],
            (string?)node?["reason"],
            (string?)node?["type"],
            (string?)node?[coreEvent ? "message" : "note"],
            (string?)node?[coreEvent ? "involvedObject" : "regarding"]?["name"],
            isUpdate,
            body,
            statusCode,
            server.Time.GetUtcNow()));
    }

    private static ApiStatus? Failure(ResourceKind kind, string name, WriteResult result) => result.Outcome switch
    {
        WriteOutcome.NotFound => StatusBodies.NotFound(kind, name),
        WriteOutcome.AlreadyExists => StatusBodies.AlreadyExists(kind, name),
        WriteOutcome.Conflict => StatusBodies.Conflict(kind, name),
        WriteOutcome.Invalid => StatusBodies.Invalid(kind, name, result.Message ?? "invalid"),
        _ => null,
    };

    private static string ListJson(ResourceKind kind, Page page)
    {
        var metadata = new JsonObject { ["resourceVersion"] = ObjectStore.Version(page.Version) };
        if (page.Continue is not null)
        {
            metadata["continue"] = page.Continue;
            metadata["remainingItemCount"] = page.Remaining;
        }

        var json = new StringBuilder()
            .Append("{\"kind\":\"").Append(kind.Kind).Append("List\",\"apiVersion\":\"").Append(kind.ApiVersion)
            .Append("\",\"metadata\":").Append(metadata.ToJsonString()).Append(",\"items\":[");
        for (var i = 0; i < page.Items.Count; i++)
        {
            json.Append(i == 0 ? "" : ",").Append(page.Items[i].Json);
        }

        return json.Append("]}").ToString();
    }

    // Only the metadata fields every kind supports; anything else is refused rather than silently ignored.
    private static bool TryParseFieldSelector(string? text, out LabelSelector fields, out string error)
    {
        if (!LabelSelector.TryParse(text, out fields, out error))
        {
            return false;
        }

        if (fields.Keys.FirstOrDefault(key => !SupportedFields.Contains(key)) is { } unsupported)
        {
            error = $"field label not supported: {unsupported}";
            return false;
        }

        return true;
    }

    private static string? NamespaceProblem(HttpContext context, ResourceKind kind, JsonObject node)
    {
        if (!kind.Namespaced)
        {
            return null;
        }

        var metadata = node["metadata"] as JsonObject ?? [];
        node["metadata"] = metadata;
        var requested = Namespace(context);
        var given = (string?)metadata["namespace"];
        if (string.IsNullOrEmpty(given))
        {
            metadata["namespace"] = requested;
            return null;
        }

        return given == requested ? null : "the namespace of the provided object does not match the namespace sent on the request";
    }

    // Strategic merge patch is treated as a merge patch: for the fields our adapter writes they agree.
    private static bool IsMergePatch(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType is "application/merge-patch+json" or "application/strategic-merge-patch+json";

    private static JsonObject? ParseObject(string body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Namespace(HttpContext context) => context.Request.RouteValues["ns"] as string;

    private static string Name(HttpContext context) => context.Request.RouteValues["name"] as string ?? "";
}
