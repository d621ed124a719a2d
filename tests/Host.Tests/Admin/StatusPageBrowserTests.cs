using System.Net.Sockets;
using System.Text;
using LoadBalancer.Host.Tests.Standalone;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Xunit.Abstractions;

namespace LoadBalancer.Host.Tests.Admin;

/// <summary>
/// The status page at <c>/</c> in a real browser (Debian's headless Chromium through its chromedriver) against the real
/// binary in standalone mode: what it serves, an edit of the file showing without a reload, an unhealthy backend, a
/// reason holding markup shown as text, the Events, and the banner while the daemon is away. Services on
/// 127.0.100.232/29 and backends on 127.0.0.88, which no other test uses.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class StatusPageBrowserTests(ITestOutputHelper output) : IDisposable
{
    private const string Pool = "127.0.100.232/29";
    private const string Backends = "127.0.0.88";
    private const string LoadBalancerClass = "littlelb.io/lb";

    /// <summary>A value that a browser parsing it as HTML would turn into elements; the pool annotation quotes it in its reason.</summary>
    private const string Markup = "<img src=x onerror=alert(1)><b>bold</b>";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("littlelb-status-page-").FullName;
    private bool _passed;

    public void Dispose()
    {
        // A failed run keeps its screenshot and files to look at.
        if (_passed)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [BrowserFact]
    public async Task Page_ShowsTheServices_FollowsTheFileWithoutAReload_MarksAnUnhealthyBackend_AndShowsMarkupAsText()
    {
        var backendPorts = Manifests.FreePorts(Backends, 2);
        var (live, dead) = ($"{Backends}:{backendPorts[0]}", $"{Backends}:{backendPorts[1]}");
        var ports = Manifests.FreePorts("127.0.100.233", 6);
        var (web, promo, api, cart, legacy, blog) = (ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]);
        var admin = $"127.0.0.1:{Net.FreePort("127.0.0.1")}";
        var file = Path.Combine(_directory, "services.yaml");
        string[] services =
        [
            // Nothing listens on the second backend: the checks (every second, one failure is enough) find it.
            Service("default", "web", web, $"{live}, {dead}"),
            Service("default", "promo", promo, live, annotation: ("littlelb.io/pool", Markup)),
            Service("shop", "api", api, live, loadBalancerClass: LoadBalancerClass),
            Service("shop", "cart", cart, live, annotation: ("littlelb.io/sharing-key", "shop"), dualStack: true),
            Service("shop", "legacy", legacy, live, loadBalancerIp: "127.0.100.240"),
        ];
        await Manifests.SaveAsync(file, Manifests.Documents(services));
        await using var backend = await DemoBackends.StartAsync(live);
        // A short drain: the test stops the daemon with connections open.
        string[] daemonArgs = ["standalone", file, "--state-file", Path.Combine(_directory, "state.json"), "--restricted-cidr", $"{Pool}, ::1/128", "--admin-address", admin, "--drain-timeout", "1s",
            "--load-balancer-class", LoadBalancerClass];
        var daemons = new List<DaemonProcess>();
        using var trafficStop = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var traffic = Task.CompletedTask;
        using var held = new TcpClient();
        Browser? browser = null;
        try
        {
            daemons.Add(DaemonProcess.Start(daemonArgs));
            browser = Browser.Start();
            var webIp = await daemons[0].IpOfAsync("default/web", web, Patience);
            var apiIp = await daemons[0].IpOfAsync("shop/api", api, Patience);
            Assert.True(await daemons[0].LoggedAsync($"admin endpoint on http://{admin}/", Patience), daemons[0].ToString());
            browser.Driver.Navigate().GoToUrl($"http://{admin}/");
            var wait = browser.Wait(Patience);

            // (a) The Services served, with their IPs, and who serves.
            wait.Until(_ => browser.TextOf(Group("default/web"), text => text.Contains(webIp, StringComparison.Ordinal)));
            wait.Until(_ => browser.TextOf(Group("shop/api"), text => text.Contains(apiIp, StringComparison.Ordinal)));
            Assert.Equal("leading: this replica serves", browser.TextOf("#role"));
            Assert.Matches(@"^· updated \d\d:\d\d:\d\d$", browser.TextOf("#updated"));
            Assert.Contains(Pool, browser.TextOf("#pools"), StringComparison.Ordinal);
            Assert.Contains("refused", wait.Until(_ => browser.TextOf($"{Group("shop/legacy")} .badge", text => text.Length > 0)), StringComparison.Ordinal);
            Assert.Contains($"class {LoadBalancerClass}", browser.TextOf($"{Group("shop/api")} .tags"), StringComparison.Ordinal);
            Assert.Contains("key shop", browser.TextOf($"{Group("shop/cart")} .tags"), StringComparison.Ordinal);

            // A dual-stack Service shows both of its IPs, primary first.
            Assert.Matches(@"^127\.0\.100\.2\d\d, ::1$", wait.Until(_ => browser.TextOf($"{Group("shop/cart")} td.ip", text => text.Contains("::1", StringComparison.Ordinal))));

            // (c) The backend where nothing listens is shown failing (or ejected), the other healthy; the Service is a problem,
            // and problems come first.
            var deadHealth = wait.Until(_ => browser.TextOf($"{Group("default/web")} tr[data-backend='{dead}'] .health", text => text is "failing" or "ejected"));
            Assert.Equal("healthy", browser.TextOf($"{Group("default/web")} tr[data-backend='{live}'] .health"));
            output.WriteLine($"dead backend shown as {deadHealth}");
            var groups = browser.Services();
            Assert.Equal(groups.OrderByDescending(group => group.Problem), groups);
            Assert.Contains(("default/web", true), groups);

            // (d) A reason that holds markup is text on the page: the characters are there, no element came of them.
            var reason = wait.Until(_ => browser.TextOf($"{Group("default/promo")} .reason", text => text.Length > 0));
            Assert.Contains(Markup, reason, StringComparison.Ordinal);
            Assert.Contains(Markup, browser.TextOf("#problems li[data-service='default/promo']"), StringComparison.Ordinal);
            Assert.Empty(browser.Driver.FindElements(By.CssSelector("img, b")));

            // The Events the daemon recorded are listed beside the refusals, the refusal among them.
            wait.Until(_ => browser.TextOf("#events tbody", text => text.Contains("shop/legacy", StringComparison.Ordinal) && text.Contains("ApplyFailed", StringComparison.Ordinal)));

            // (b) A Service added to the file shows up on the page as it is: no reload (a mark set in the page survives).
            browser.Run("window.littlelbSamePage = true;");
            await Manifests.SaveAsync(file, Manifests.Documents([.. services, Service("default", "blog", blog, live)]));
            var blogIp = await daemons[0].IpOfAsync("default/blog", blog, Patience);
            wait.Until(_ => browser.TextOf(Group("default/blog"), text => text.Contains(blogIp, StringComparison.Ordinal)));
            Assert.True(browser.Run("return window.littlelbSamePage === true;") is true, "the page was loaded again");

            // The filter keeps the Services whose namespace/name holds the text, problems still first.
            browser.Driver.FindElement(By.Id("filter")).SendKeys("shop/");
            Assert.Equal(
                ["shop/legacy", "shop/api", "shop/cart"],
                wait.Until(_ => browser.Services() is { Count: 3 } shown ? shown.Select(group => group.Name) : null));
            browser.Driver.FindElement(By.Id("filter")).Clear();
            wait.Until(_ => browser.Services().Count == services.Length + 1);

            // Traffic: requests through two Services and one connection held open, shown with totals and rates.
            traffic = SendRequestsAsync([(webIp, web), (apiIp, api)], trafficStop.Token);
            await held.ConnectAsync(apiIp, api);
            await held.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n"));
            wait.Until(_ => browser.TextOf($"{Group("shop/api")} tr.port-row td.open", text => text == "1"));
            wait.Until(_ => browser.TextOf($"{Group("shop/api")} tr.port-row td.from-client .rate", text => text.Length > 0 && text != "0 B/s"));
            Assert.NotEqual("0 B", browser.TextOf($"{Group("default/web")} tr[data-backend='{live}'] td.from-backend"));
            SaveScreenshot(browser, "status-page.png", forDocs: true);

            // The daemon away: a banner says so and the page stays; back: the banner goes and the state is read again.
            await trafficStop.CancelAsync();
            await traffic;
            held.Dispose();
            daemons[0].Signal("TERM");
            await daemons[0].ExitCodeAsync(Patience);
            Assert.StartsWith("Cannot reach the daemon since", wait.Until(_ => browser.TextOf("#banner", text => text.Length > 0)), StringComparison.Ordinal);
            Assert.True(browser.Driver.FindElement(By.Id("banner")).Displayed);
            Assert.Contains(webIp, browser.TextOf(Group("default/web")), StringComparison.Ordinal);
            daemons.Add(DaemonProcess.Start(daemonArgs));
            wait.Until(_ => browser.TextOf("#banner").Length == 0);
            Assert.False(browser.Driver.FindElement(By.Id("banner")).Displayed);
            _passed = true;
        }
        catch
        {
            if (browser is not null)
            {
                SaveScreenshot(browser, "failure.png", forDocs: false);
            }

            output.WriteLine($"kept {_directory}");
            foreach (var daemon in daemons)
            {
                output.WriteLine(daemon.ToString());
            }

            throw;
        }
        finally
        {
            browser?.Dispose();
            await trafficStop.CancelAsync();
            await traffic;
            held.Dispose();
            foreach (var daemon in daemons)
            {
                await StopAsync(daemon);
            }
        }
    }

    /// <param name="annotation">Besides the backends, and health checks every second that one failure fails.</param>
    private static string Service(
        string ns, string name, int port, string backends, string? loadBalancerIp = null, (string Key, string Value)? annotation = null, string? loadBalancerClass = null,
        bool dualStack = false)
    {
        var more = annotation is { } extra ? $"    {extra.Key}: \"{extra.Value}\"\n" : string.Empty;
        var specFields = (loadBalancerIp is null ? string.Empty : $"  loadBalancerIP: {loadBalancerIp}\n")
            + (loadBalancerClass is null ? string.Empty : $"  loadBalancerClass: {loadBalancerClass}\n")
            + (dualStack ? "  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]\n" : string.Empty);
        return $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: {name}
              namespace: {ns}
              annotations:
                littlelb.io/backends: "{backends}"
                littlelb.io/health-check-enabled: "true"
                littlelb.io/health-check-type: tcp
                littlelb.io/health-check-interval: 1s
                littlelb.io/health-check-unhealthy-threshold: "1"
            {more}spec:
              type: LoadBalancer
            {specFields}  ports:
                - port: {port}

            """;
    }

    private static string Group(string service) => $"#services tbody[data-service='{service}']";

    /// <summary>A few requests a second through each Service until stopped, for the page's rates; failures do not matter.</summary>
    private static async Task SendRequestsAsync(IReadOnlyList<(string Ip, int Port)> targets, CancellationToken stop)
    {
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await pace.WaitForNextTickAsync(stop))
            {
                foreach (var (ip, port) in targets)
                {
                    await Net.GetAsync(ip, port);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private static async Task StopAsync(DaemonProcess daemon)
    {
        if (!daemon.HasExited)
        {
            daemon.Signal("TERM");
            await daemon.ExitCodeAsync(Patience);
        }

        daemon.Dispose();
    }

    private void SaveScreenshot(Browser browser, string name, bool forDocs)
    {
        Screenshot shot;
        try
        {
            shot = ((ITakesScreenshot)browser.Driver).GetScreenshot();
        }
        catch (WebDriverException failure) when (!forDocs)
        {
            output.WriteLine($"no screenshot: {failure.Message}");
            return;
        }

        var path = Path.Combine(_directory, name);
        shot.SaveAsFile(path);
        output.WriteLine($"screenshot: {path}");
        if (forDocs && Environment.GetEnvironmentVariable("LITTLELB_STATUS_SCREENSHOT") is { Length: > 0 } docs)
        {
            shot.SaveAsFile(docs);
            output.WriteLine($"screenshot: {docs}");
        }
    }

    /// <summary>
    /// Headless Chromium driven by chromedriver, both Debian's and named by path, so that Selenium Manager never looks
    /// for (or downloads) a browser or a driver. Disposing quits both.
    /// </summary>
    private sealed class Browser : IDisposable
    {
        private readonly ChromeDriverService _service;

        private Browser(ChromeDriverService service, ChromeDriver driver) => (_service, Driver) = (service, driver);

        public ChromeDriver Driver { get; }

        public static Browser Start()
        {
            var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(BrowserFactAttribute.ChromeDriver)!, Path.GetFileName(BrowserFactAttribute.ChromeDriver));
            service.SuppressInitialDiagnosticInformation = true;
            service.HideCommandPromptWindow = true;
            var options = new ChromeOptions { BinaryLocation = BrowserFactAttribute.Chromium };
            // As root (CI) Chromium's sandbox cannot start; /dev/shm is small in containers; a fixed window for the screenshot.
            options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800", "--disable-gpu", "--no-first-run", "--disable-background-networking");
            ChromeDriver? driver = null;
            try
            {
                driver = new ChromeDriver(service, options, Patience);
                // The window holds a bar or two besides the page even when headless: the page itself gets 1280x800.
                driver.ExecuteCdpCommand("Emulation.setDeviceMetricsOverride", new Dictionary<string, object?>
                {
                    ["width"] = 1280, ["height"] = 800, ["deviceScaleFactor"] = 1, ["mobile"] = false,
                });
                return new Browser(service, driver);
            }
            catch
            {
                driver?.Quit();
                service.Dispose();
                throw;
            }
        }

        public WebDriverWait Wait(TimeSpan limit)
        {
            // The page rebuilds its tables every 2 s: an element found a moment ago may be gone; look again.
            var wait = new WebDriverWait(Driver, limit) { PollingInterval = TimeSpan.FromMilliseconds(200) };
            wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException), typeof(NoSuchElementException));
            return wait;
        }

        /// <summary>The visible text of the first element <paramref name="css"/> matches; empty when there is none.</summary>
        public string TextOf(string css) => Read(driver => driver.FindElements(By.CssSelector(css)) is { Count: > 0 } found ? found[0].Text : string.Empty);

        /// <summary>For a wait: the text once <paramref name="condition"/> holds, else null (the wait asks again).</summary>
        public string? TextOf(string css, Func<string, bool> condition)
        {
            var text = TextOf(css);
            return condition(text) ? text : null;
        }

        /// <summary>The Services the table shows, in its order, and whether each is marked as a problem.</summary>
        public List<(string Name, bool Problem)> Services() => Read(driver =>
            driver.FindElements(By.CssSelector("#services tbody[data-service]"))
                .Select(group => (group.GetDomAttribute("data-service") ?? string.Empty, group.GetDomAttribute("class") == "problem"))
                .ToList());

        /// <summary>
        /// Reads the page, again when it was redrawn between two commands (the tables are rebuilt on every poll, so an
        /// element found a moment ago may be gone); a poll every 2 s cannot win a handful of tries in a row.
        /// </summary>
        private T Read<T>(Func<ChromeDriver, T> read)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return read(Driver);
                }
                catch (StaleElementReferenceException) when (attempt < 5)
                {
                    // Redrawn meanwhile: look again.
                }
            }
        }

        public object? Run(string script) => Driver.ExecuteScript(script);

        public void Dispose()
        {
            try
            {
                Driver.Quit();
            }
            finally
            {
                Driver.Dispose();
                _service.Dispose();
            }
        }
    }
}

/// <summary>
/// A fact that drives Debian's Chromium; where it or its driver is not installed it is reported as skipped with the
/// packages to install (CI installs them, .ci/run).
/// </summary>
internal sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";
    public const string ChromeDriver = "/usr/bin/chromedriver";

    public BrowserFactAttribute()
    {
        if (!File.Exists(Chromium) || !File.Exists(ChromeDriver))
        {
            Skip = $"needs {Chromium} and {ChromeDriver}: apt-get install chromium chromium-driver";
        }
    }
}
