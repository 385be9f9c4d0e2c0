import Autoscaling
import Controller
import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import KubeRuntime
import Logging
import Metrics
import Testing
import YAML

/// The repository root, from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Per-pod values a test scripts, keyed by pod index (pods sorted by name); `nil` = the scrape failed.
actor ScriptedMetrics: MetricsProvider {
    var values: [Double?] = []
    var signals: [String: Double] = [:]
    private(set) var collects = 0
    private(set) var forgotten: [String] = []

    func set(_ values: [Double?]) { self.values = values }
    func setSignals(_ s: [String: Double]) { signals = s }

    func collect(key: String, spec: PodAutoscalerSpec, namespace: String, selector: String, pods: [TargetPod], now: Date) async -> MetricsCollection {
        collects += 1
        var failures: [ScrapeFailure] = []
        let sources = (spec.metricsSources ?? []).enumerated().map { i, source in
            let samples = pods.enumerated().map { j, pod -> PodSample in
                let value = pod.ready && j < values.count ? values[j] : nil
                if pod.ready && value == nil { failures.append(ScrapeFailure(pod: pod.name, sourceIndex: i, message: "connection refused")) }
                return PodSample(name: pod.name, value: value, ready: pod.ready, phase: pod.phase, startTime: pod.startTime, readyTime: pod.readyTime)
            }
            return SourceSnapshot(index: i, metricName: MetricNameResolver.resolve(source.targetMetric),
                                  target: MetricTarget.parse(source.targetValue) ?? 0, role: source.role, pods: samples)
        }
        return MetricsCollection(sources: sources, signals: signals, failures: failures)
    }

    func forget(key: String) async { forgotten.append(key) }
}

/// A mutable test clock for decisions.
final class TestWallClock: Sendable {
    private let time = LockedBox(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { time.value }
    func advance(_ seconds: Double) { time.mutate { $0 = $0.addingTimeInterval(seconds) } }
}

final class LockedBox<T: Sendable>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.withLock { v } }
    func mutate(_ f: (inout T) -> Void) { lock.withLock { f(&v) } }
}

/// An emulator with the kubelet and the CRDs, a model-server Deployment, and a reconciler whose caches are
/// refreshed explicitly (so every step is deterministic) and whose decision clock is injected.
struct ReconcilerFixture {
    let emulator: KubeEmulator
    let client: RESTClient
    let metrics = ScriptedMetrics()
    let clock: TestWallClock
    let registry = MetricsRegistry()
    let autoscalers = ObjectStore()
    let pods = ObjectStore()
    let reconciler: PodAutoscalerReconciler<ContinuousClock>

    static func start(advisory: Bool = false, logger: Logger = quietLogger) async throws -> ReconcilerFixture {
        let clock = TestWallClock()
        var config = KubeEmulator.Configuration()
        config.kubelet = KubeletOptions()
        config.now = { clock.now }  // creation timestamps follow the test's clock
        let emulator = KubeEmulator(configuration: config)
        let port = try await emulator.start()
        let client = RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(port)", namespace: "default", source: "test"))
        for file in ["heteroscale.io_podautoscalers.yaml", "heteroscale.io_deploymentgroups.yaml"] {
            let text = try String(contentsOfFile: "\(repositoryRoot)/crds/\(file)", encoding: .utf8)
            for doc in try YAML.loadAll(text) { _ = try emulator.apply(doc) }
        }
        return try ReconcilerFixture(emulator: emulator, client: client, clock: clock, advisory: advisory, logger: logger)
    }

    /// A fixture with the `model` Deployment at `replicas`, one PodAutoscaler, and the pods' scripted values.
    static func start(replicas: Int, autoscaler yaml: String, values: [Double?], advisory: Bool = false) async throws -> ReconcilerFixture {
        let f = try await start(advisory: advisory)
        try await f.createDeployment(replicas: replicas)
        try await f.createAutoscaler(yaml)
        await f.metrics.set(values)
        return f
    }

    private init(emulator: KubeEmulator, client: RESTClient, clock: TestWallClock, advisory: Bool, logger: Logger) throws {
        self.emulator = emulator
        self.clock = clock
        self.client = client
        var options = PodAutoscalerReconcilerOptions()
        options.advisory = advisory
        reconciler = PodAutoscalerReconciler(
            client: client, discovery: Discovery(client: client), autoscalers: autoscalers, pods: pods, metrics: metrics,
            recorder: EventRecorder(client: client, instance: "test", clock: ContinuousClock()), registry: registry,
            wallClock: { clock.now }, logger: logger, options: options)
    }

    /// A fresh reconciler over the same caches (a controller restart: strategy memory is gone).
    func restarted() -> PodAutoscalerReconciler<ContinuousClock> {
        let clock = self.clock
        return PodAutoscalerReconciler(
            client: client, discovery: Discovery(client: client), autoscalers: autoscalers, pods: pods, metrics: metrics,
            recorder: EventRecorder(client: client, instance: "test-2", clock: ContinuousClock()), registry: registry,
            wallClock: { clock.now }, logger: quietLogger)
    }

    func stop() async { try? await emulator.stop() }

    /// Lists PodAutoscalers and Pods into the caches, as synced informers would hold them.
    func refresh() async throws {
        _ = autoscalers.replace(with: try await client.list(.podAutoscalers, namespace: "default")["items"]?.arrayValue ?? [])
        _ = pods.replace(with: try await client.list(.pods, namespace: "default")["items"]?.arrayValue ?? [])
    }

    @discardableResult
    func reconcile(_ name: String, using r: PodAutoscalerReconciler<ContinuousClock>? = nil) async throws -> ReconcileResult {
        try await refresh()
        return try await (r ?? reconciler).reconcile(ObjectKey(namespace: "default", name: name))
    }

    func createDeployment(_ name: String = "model", replicas: Int) async throws {
        let d: JSONValue = [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(name), "namespace": "default"],
            "spec": [
                "replicas": .int(Int64(replicas)),
                "selector": ["matchLabels": ["app": .string(name)]],
                "template": ["metadata": ["labels": ["app": .string(name)]],
                             "spec": ["containers": [["name": "server", "image": "vllm/vllm-openai"]]]],
            ],
        ]
        _ = try await client.create(.deployments, namespace: "default", d)
    }

    func createAutoscaler(_ yaml: String) async throws {
        _ = try await client.create(.podAutoscalers, namespace: "default", try YAML.load(yaml))
    }

    func replicas(_ name: String = "model") async throws -> Int {
        Int(try await client.get(.deployments, namespace: "default", name: name)["spec"]?["replicas"]?.intValue ?? -1)
    }

    func autoscaler(_ name: String) async throws -> PodAutoscaler {
        try await client.get(.podAutoscalers, namespace: "default", name: name).decode(PodAutoscaler.self)
    }

    func condition(_ pa: String, _ type: String) async throws -> Condition? {
        try await autoscaler(pa).status?.conditions?[type: type]
    }

    /// (reason, note) of the events about `pa`, oldest first.
    func events(_ pa: String) async throws -> [(reason: String, note: String, count: Int)] {
        let items = try await client.list(.events, namespace: "default")["items"]?.arrayValue ?? []
        return items.filter { $0["regarding"]?["name"]?.stringValue == pa }.map {
            ($0["reason"]?.stringValue ?? "", $0["note"]?.stringValue ?? "", Int($0["series"]?["count"]?.intValue ?? 1))
        }
    }
}

/// A PodAutoscaler manifest for the `model` Deployment.
func autoscalerYAML(_ name: String, strategy: String, target: String = "10", metric: String = "num_requests_running",
                    min: Int = 1, max: Int = 10, extra: String = "", deployment: String = "model") -> String {
    """
    apiVersion: heteroscale.io/v1alpha1
    kind: PodAutoscaler
    metadata:
      name: \(name)
      namespace: default
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: \(deployment)}
      minReplicas: \(min)
      maxReplicas: \(max)
      scalingStrategy: \(strategy)
      metricsSources:
        - {metricSourceType: pod, protocolType: http, port: "8000", path: /metrics, targetMetric: \(metric), targetValue: "\(target)"}
    \(extra)
    """
}

/// Log lines captured in memory (text format), for tests that count them.
final class CapturedLog: Sendable {
    private let box = LockedBox<[String]>([])
    var lines: [String] { box.value }
    var logger: Logger {
        Logger(label: "test") { [box] label in LineLogHandler(label: label, format: .text, level: .info) { line in box.mutate { $0.append(line) } } }
    }
    /// Lines containing every one of `parts`.
    func lines(containing parts: String...) -> [String] { lines.filter { line in parts.allSatisfy { line.contains($0) } } }
}

/// Tests assert on status and events; the log would only add noise.
let quietLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}()
