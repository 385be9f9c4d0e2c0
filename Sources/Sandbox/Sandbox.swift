import Controller
import Foundation
import KubeClient
import KubeEmulator
import KubeRuntime
import Logging
import Metrics
import Simulation
import Synchronization
import YAML

/// `heteroscale sandbox` in one process: the API emulator with the scenario's GPU nodes (its scheduler and kubelet
/// stand-ins, loopback pod IPs), the simulator as the data plane (every bound pod of a model-serving workload is a
/// `LiveEngine` instance serving `/metrics` on its pod IP), and the HeteroScale controller against the emulator.
/// The data plane follows the pods through the emulator's API (an informer, as any controller would) and applies
/// `SandboxPlanner`'s actions.
public final class Sandbox: Sendable {
    public struct Options: Sendable {
        /// Simulated seconds per wall-clock second.
        public var speed: Double = 1
        /// Leading octets of pod IPs (three of them: one listener per pod IP on loopback).
        public var podIPPrefix = "127.0.20."
        /// The API emulator's port (0: any free one).
        public var apiPort = 0
        /// CRD manifests to install (the repository's `crds/*.yaml`).
        public var crdFiles: [String] = []
        /// Run the controller in the process (off: bring your own `heteroscale controller`).
        public var controller = true
        /// The controller's own `/metrics` (`127.0.0.1:0`: any free port; nil: none).
        public var controllerMetricsAddress: String? = "127.0.0.1:0"
        /// The data plane's reconcile period: the engine advances, and pods are compared with the instances.
        public var period: Duration = .milliseconds(100)
        public init() {}
    }

    public let scenario: SandboxScenario
    public let options: Options
    public let emulator: KubeEmulator
    public let engine: SandboxEngine
    let planner: SandboxPlanner
    let logger: Logger
    /// Wall-clock seconds since the sandbox was created (the planner's and the engine's clock).
    private let wallNow: @Sendable () -> Double
    /// The instances, their listeners, and the pods whose instance could not be added (not retried: logged once).
    private let state = Mutex<(tracked: [String: TrackedInstance], listeners: [String: HTTPEndpoints], failed: Set<String>)>(([:], [:], []))
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let running = Mutex<(controller: HeteroScaleManager?, metrics: HTTPEndpoints?, server: String?)>((nil, nil, nil))

    public init(scenario: SandboxScenario, options: Options, logger: Logger = Logger(label: "heteroscale.sandbox")) throws {
        self.scenario = scenario
        self.options = options
        self.logger = logger
        var config = KubeEmulator.Configuration()
        config.port = options.apiPort
        // The sandbox starts every pod's containers itself when its cold start is over (`startContainers`), so
        // the kubelet's own timer is set out of reach; a pod's start-delay annotation still overrides it.
        config.kubelet = KubeletOptions(readyDelay: .seconds(10 * 365 * 86_400), podIPPrefix: options.podIPPrefix)
        emulator = KubeEmulator(configuration: config)
        let clock = ContinuousClock()
        let origin = clock.now
        let wallClock: @Sendable () -> Double = {
            let d = origin.duration(to: clock.now).components
            return Double(d.seconds) + Double(d.attoseconds) * 1e-18
        }
        wallNow = wallClock
        engine = SandboxEngine(engine: try LiveEngine(config: scenario.config, stream: try scenario.makeStream()),
                               speed: options.speed, wallClock: wallClock)
        planner = SandboxPlanner(catalog: scenario.catalog, nodeGPUTypes: scenario.nodeGPUTypes, speed: options.speed) {
            [scenario] role, gpu in scenario.coldStart(role: role, gpuType: gpu)
        }
    }

    /// Starts the emulator (nodes, CRDs), the data plane and the controller; returns the API server URL.
    @discardableResult
    public func start() async throws -> String {
        let port = try await emulator.start()
        let server = "http://127.0.0.1:\(port)"
        try emulator.addNodes(scenario.nodes)
        for file in options.crdFiles {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            for doc in try YAML.loadAll(text) where !doc.isNull { try emulator.apply(doc) }
        }
        let client = RESTClient(config: RESTConfig(server: server, namespace: "default", source: "sandbox"))
        let informer = Informer(client: client, resource: .pods, clock: ContinuousClock()) { _ in }
        var started: [Task<Void, Never>] = [Task { await informer.run() }]
        started.append(Task { [self] in await self.loop(informer) })
        if options.controller {
            let registry = MetricsRegistry()
            var scrape = HTTPTransport.Configuration()
            scrape.userAgent = "heteroscale-scraper"
            let provider = MetricsCollector(transport: HTTPTransport(configuration: scrape),
                                            configuration: .init(scrapeTimeout: 3, scrapeVia: .direct))
            let controller = HeteroScaleManager(client: client, metrics: provider, configuration: .init(), registry: registry,
                                                logger: Logger(label: "heteroscale.controller"), instance: "sandbox")
            try await controller.checkCRDs()
            var metrics: HTTPEndpoints?
            if let address = options.controllerMetricsAddress {
                metrics = try await HTTPEndpoints(address: address, routes: [
                    "/metrics": { HTTPEndpoints.Response(contentType: "text/plain; version=0.0.4; charset=utf-8", body: await registry.render()) },
                ])
            }
            running.withLock { $0 = (controller, metrics, server) }
            started.append(Task { [logger] in
                do { try await controller.run() } catch { logger.error("controller stopped", metadata: ["error": "\(error)"]) }
            })
        } else {
            running.withLock { $0.server = server }
        }
        tasks.withLock { $0 = started }
        return server
    }

    /// The controller's `/metrics` address (`127.0.0.1:PORT`), when it serves one.
    public var controllerMetricsAddress: String? {
        running.withLock { r in r.metrics.map { "\($0.host):\($0.port)" } }
    }

    /// Stops the controller, the data plane, the listeners and the emulator.
    public func stop() async {
        let (controller, metrics) = running.withLock { ($0.controller, $0.metrics) }
        controller?.shutdown()
        for t in tasks.withLock({ $0 }) { t.cancel() }
        let listeners = state.withLock { s in defer { s.listeners = [:] }; return Array(s.listeners.values) }
        for l in listeners { await l.close() }
        await metrics?.close()
        try? await emulator.stop()
    }

    private func loop(_ informer: Informer<ContinuousClock>) async {
        await informer.waitUntilSynced()
        while !Task.isCancelled {
            do { try engine.advance() } catch { logger.error("engine", metadata: ["error": "\(error)"]) }
            await reconcile(informer.store.list().compactMap { PodView($0) })
            try? await Task.sleep(for: options.period)
        }
    }

    /// One pass: plan against the pods, apply the actions.
    func reconcile(_ pods: [PodView]) async {
        let now = wallNow()
        let keys = Set(pods.map(\.key))
        let (tracked, failed) = state.withLock { s in
            s.failed.formIntersection(keys)
            return (s.tracked, s.failed)
        }
        for action in planner.plan(pods: pods.filter { !failed.contains($0.key) }, tracked: tracked, now: now) {
            do {
                try await apply(action, now: now)
            } catch {
                logger.warning("data plane", metadata: ["action": "\(action)", "error": "\(error)"])
            }
        }
    }

    private func apply(_ action: SandboxAction, now: Double) async throws {
        switch action {
        case .add(let id, let pool, let gpu, let node):
            do {
                try engine.add(id: id, pool: pool, gpuType: gpu, node: node)
            } catch {
                state.withLock { _ = $0.failed.insert(id) }
                throw error
            }
            state.withLock { $0.tracked[id] = TrackedInstance(pool: pool, gpuType: gpu, node: node, boundAt: now) }
            let wait = planner.coldStartWallSeconds(pool: pool, gpuType: gpu)
            logger.info("instance starting", metadata: ["pod": "\(id)", "pool": "\(pool)", "gpu": "\(gpu)", "node": "\(node ?? "-")",
                                                        "coldStart": "\(String(format: "%.1f", wait)) s"])
        case .startContainers(let id, let namespace, let name):
            emulator.startContainers(namespace: namespace, names: [name])
            state.withLock { $0.tracked[id]?.started = true }
        case .listen(let id, let ip, let port):
            let address = "\(ip):\(port)"
            let engine = self.engine
            do {
                let server = try await HTTPEndpoints(address: address, routes: [
                    "/metrics": {
                        guard let text = engine.metricsText(id) else { return HTTPEndpoints.Response(status: 404, body: "no instance\n") }
                        return HTTPEndpoints.Response(contentType: "text/plain; version=0.0.4; charset=utf-8", body: text)
                    },
                    "/health": { HTTPEndpoints.Response(body: "ok\n") },
                ])
                state.withLock { s in
                    s.tracked[id]?.listener = address
                    s.listeners[id] = server
                }
                logger.info("serving /metrics", metadata: ["pod": "\(id)", "address": "\(address)"])
            } catch {
                // Not retried (a bind fails the same way every time): the pod runs without a /metrics endpoint.
                state.withLock { $0.tracked[id]?.listener = "unavailable: \(address)" }
                throw error
            }
        case .serve(let id, let serving):
            try engine.setServing(id: id, serving)
            state.withLock { $0.tracked[id]?.serving = serving }
            logger.info(serving ? "instance in service" : "instance out of service",
                        metadata: ["pod": "\(id)", "t": "\(String(format: "%.1f", engine.simulatedNow())) s"])
        case .remove(let id):
            let listener = state.withLock { s -> HTTPEndpoints? in
                s.tracked[id] = nil
                return s.listeners.removeValue(forKey: id)
            }
            await listener?.close()
            let outcome = try engine.remove(id: id)
            logger.info("instance removed", metadata: ["pod": "\(id)", "retried": "\(outcome.rerouted)", "lost": "\(outcome.lost)"])
        }
    }

    /// Instances the data plane runs: pod key → state.
    public var instances: [String: TrackedInstance] { state.withLock { $0.tracked } }
}
