import ArgumentParser
import Controller
import Foundation
import KubeClient
import KubeRuntime
import Logging
import Metrics
import ServiceLifecycle

/// `heteroscale controller`: the PodAutoscaler controller, out-of-cluster (kubeconfig) or in-cluster.
struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run the PodAutoscaler controller against a cluster (kubeconfig or in-cluster service account)."
    )

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "Watch PodAutoscalers in this namespace only (default: all namespaces).")
    var namespace: String?

    @Flag(help: "Elect a leader on a Lease so that only one replica writes.")
    var leaderElect = false

    @Option(help: "Namespace of the leader-election Lease (default: the kubeconfig context's namespace).")
    var leaderElectionNamespace: String?

    @Option(help: "Name of the leader-election Lease.")
    var leaderElectionID = "heteroscale-controller"

    @Option(help: "Leader election: how long a Lease is valid after its holder's last renewal, seconds (client-go: 15).")
    var leaderElectionLeaseDuration = 15.0

    @Option(help: "Leader election: a leader that cannot renew for this long steps down, seconds (below the lease duration).")
    var leaderElectionRenewDeadline = 10.0

    @Option(help: "Leader election: the interval between attempts to acquire or renew, seconds (below the renew deadline).")
    var leaderElectionRetryPeriod = 2.0

    @Option(help: "Address for /metrics (Prometheus), e.g. :8080 or 127.0.0.1:0 (any free port); 0 disables it. Next to another controller out-of-cluster, pick another port.")
    var metricsBindAddress = ":8080"

    @Option(help: "Address for /healthz and /readyz, e.g. :8081 or 127.0.0.1:0 (any free port); 0 disables it.")
    var healthProbeBindAddress = ":8081"

    @Option(help: "Log format: text or json.")
    var logFormat = "text"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(help: "Decide and report (status, events, metrics) but never write /scale.")
    var advisory = false

    @Option(help: "Reconcile workers per controller.")
    var workers = 2

    @Option(help: "Controllers to run: a comma-separated list, * for all, -NAME to disable one (e.g. *,-podautoscaler). Known: \(HeteroScaleManager.controllers.joined(separator: ", ")).")
    var controllers = "*"

    @Option(help: "Timeout of one metrics scrape, seconds.")
    var scrapeTimeout = 3.0

    @Option(help: "PEM CA bundle to verify https pod scrapes and Prometheus endpoints (default: the system store).")
    var scrapeCAFile: String?

    @Flag(help: "Do not verify TLS certificates of https pod scrapes (pods rarely have certificates for their IPs).")
    var scrapeInsecureSkipTLSVerify = false

    @Option(help: ArgumentHelp(
        "How pods' metrics are reached: direct (GET the pod IP), apiserver (through the API server's pod proxy, needs get pods/proxy), or auto (direct, and the pod proxy per PodAutoscaler when pod IPs do not answer). Default: direct in-cluster, auto out-of-cluster.",
        valueName: "mode"))
    var scrapeVia: String?

    @Option(help: "Pod scrapes per second through the API server's pod proxy above which a warning is logged (0: never).")
    var scrapeProxyWarnRate = 100.0

    func validate() throws {
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard leaderElectionRetryPeriod > 0, leaderElectionRetryPeriod < leaderElectionRenewDeadline,
              leaderElectionRenewDeadline < leaderElectionLeaseDuration else {
            throw ValidationError("leader election needs 0 < --leader-election-retry-period < --leader-election-renew-deadline < --leader-election-lease-duration")
        }
        guard workers > 0 else { throw ValidationError("--workers must be positive") }
        guard scrapeTimeout > 0 else { throw ValidationError("--scrape-timeout must be positive") }
        if let scrapeVia, ScrapeVia(rawValue: scrapeVia) == nil {
            throw ValidationError("--scrape-via must be direct, apiserver or auto")
        }
        do {
            guard !(try HeteroScaleManager.enabled(from: controllers)).isEmpty else { throw ValidationError("--controllers enables no controller") }
        } catch let e as ControllerStartupError {
            throw ValidationError(e.message)
        }
        for (flag, address) in [("--metrics-bind-address", metricsBindAddress), ("--health-probe-bind-address", healthProbeBindAddress)]
        where address != "0" {
            do {
                _ = try HTTPEndpoints.parse(address)
            } catch let e as HTTPEndpointsError {
                throw ValidationError(e.explained(flag: flag))
            }
        }
    }

    func run() async throws {
        let format = LogFormat(rawValue: logFormat) ?? .text
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format, level: level) }
        let logger = Logger(label: "heteroscale.controller")

        let config: RESTConfig
        do {
            config = try KubeconfigLoader.load(kubeconfigPath: cluster.kubeconfig, context: cluster.context)
        } catch {
            Self.fail(error)
        }
        logger.info("starting", metadata: [
            "version": "\(HeteroScaleVersion.string)", "server": "\(config.server)", "source": "\(config.source)",
            "namespace": "\(namespace ?? "<all>")", "advisory": "\(advisory)",
        ])

        let hostname = ProcessInfo.processInfo.hostName
        let identity = "\(hostname)_\(UUID().uuidString.prefix(8).lowercased())"
        var configuration = HeteroScaleManager.Configuration(namespace: namespace)
        configuration.workers = workers
        configuration.podAutoscaler.advisory = advisory
        configuration.enabled = (try? HeteroScaleManager.enabled(from: controllers)) ?? Set(HeteroScaleManager.controllers)
        if leaderElect {
            var election = LeaderElector<ContinuousClock>.Config(
                namespace: leaderElectionNamespace ?? config.namespace, name: leaderElectionID, identity: identity)
            election.leaseDuration = .milliseconds(Int64(leaderElectionLeaseDuration * 1000))
            election.renewDeadline = .milliseconds(Int64(leaderElectionRenewDeadline * 1000))
            election.retryPeriod = .milliseconds(Int64(leaderElectionRetryPeriod * 1000))
            configuration.leaderElection = election
        }
        // Scrapes get their own transport, so slow model servers never hold up API calls.
        var scrapeTransport = HTTPTransport.Configuration()
        scrapeTransport.userAgent = "heteroscale-scraper"
        // A pod's /metrics is a few hundred kB; a bigger body is refused rather than buffered (Prometheus'
        // body_size_limit does the same).
        scrapeTransport.maxBufferedBodyBytes = 16 << 20
        var scrapeTLS = TLSOptions(insecureSkipVerify: scrapeInsecureSkipTLSVerify)
        if let scrapeCAFile {
            guard let pem = FileManager.default.contents(atPath: scrapeCAFile) else {
                Self.fail(CommandFailure(description: "--scrape-ca-file \(scrapeCAFile): cannot read the file", exitCode: 1))
            }
            scrapeTLS.caPEM = Array(pem)
        }
        // Pod-proxy scrapes go to the API server with the API client's transport and credentials.
        let client = RESTClient(config: config)
        let (mode, why) = scrapeVia.flatMap(ScrapeVia.init(rawValue:)).map { ($0, "--scrape-via \($0)") } ?? ScrapeVia.defaultMode(for: config)
        logger.info("scraping pods", metadata: ["scrapeVia": "\(mode)", "why": "\(why)"])
        if mode == .apiserver {
            logger.notice("""
                every pod scrape is an API request: 1,000 PodAutoscalers x 8 pods every 2 s = 4,000 requests/s on the API server; \
                in-cluster, --scrape-via direct avoids it (docs/metrics.md)
                """)
        }
        let provider = MetricsCollector(
            transport: HTTPTransport(configuration: scrapeTransport),
            configuration: .init(scrapeTimeout: scrapeTimeout, tls: scrapeTLS, scrapeVia: mode, podProxyWarnRate: scrapeProxyWarnRate),
            podProxy: mode.usesPodProxy ? client : nil)
        let registry = MetricsRegistry()
        let controller = HeteroScaleManager(
            client: client, metrics: provider, configuration: configuration, registry: registry,
            logger: logger, instance: identity)

        var endpoints: [HTTPEndpoints] = []
        // Which flag an address came from, for a bind error that names both.
        var flag = "--metrics-bind-address"
        do {
            if metricsBindAddress != "0" {
                let server = try await HTTPEndpoints(address: metricsBindAddress, routes: [
                    "/metrics": { HTTPEndpoints.Response(contentType: "text/plain; version=0.0.4; charset=utf-8", body: await registry.render()) },
                ])
                endpoints.append(server)
                logger.info("serving metrics", metadata: ["address": "\(server.host):\(server.port)", "path": "/metrics"])
            }
            if healthProbeBindAddress != "0" {
                flag = "--health-probe-bind-address"
                let server = try await HTTPEndpoints(address: healthProbeBindAddress, routes: [
                    "/healthz": { HTTPEndpoints.Response(body: "ok\n") },
                    "/readyz": {
                        controller.isReady ? HTTPEndpoints.Response(body: "ok\n")
                            : HTTPEndpoints.Response(status: 503, body: controller.notReadyReason + "\n")
                    },
                ])
                endpoints.append(server)
                logger.info("serving health probes", metadata: ["address": "\(server.host):\(server.port)", "paths": "/healthz,/readyz"])
            }
        } catch {
            for e in endpoints { await e.close() }
            let message = (error as? HTTPEndpointsError)?.explained(flag: flag) ?? "\(flag): cannot serve HTTP: \(error)"
            Self.fail(CommandFailure(description: message, exitCode: 1))
        }

        do {
            try await controller.checkCRDs()
        } catch {
            for e in endpoints { await e.close() }
            Self.fail(CommandFailure(description: "\(error)", exitCode: 1))
        }

        let group = ServiceGroup(
            services: [ControllerService(controller: controller)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger)
        do {
            try await group.run()
        } catch {
            for e in endpoints { await e.close() }
            logger.error("controller stopped", metadata: ["error": "\(error)"])
            Self.fail(CommandFailure(description: "\(error)", exitCode: 1))
        }
        for e in endpoints { await e.close() }
        logger.info("shut down cleanly")
    }
}

/// Runs the controller as a service: a graceful shutdown (SIGTERM/SIGINT) stops taking work, lets in-flight
/// reconciles finish and releases the lease.
struct ControllerService: Service {
    let controller: HeteroScaleManager
    func run() async throws {
        try await withGracefulShutdownHandler {
            try await controller.run()
        } onGracefulShutdown: {
            controller.shutdown()
        }
    }
}
