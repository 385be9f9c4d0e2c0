import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import Testing
import TestSupport
@testable import Metrics

/// `prometheus` metric sources against a real Prometheus (the Debian package, `make deps` installs it) that
/// scrapes loopback "pods" every second. Their series advance linearly in time (`AdvancingMetricsServer`), so
/// the answers are known: a gauge's sum, a counter's slope for `rate()`, bucket slopes for
/// `histogram_quantile()`. A missing series and a server that is down are "no data" and never a scale-down.
///
/// Tolerances. A counter's value is read when its pod answers, Prometheus stamps it with the scrape's start,
/// so each sample is off by the same few milliseconds of slope and the slope itself is exact. `rate(x[10s])`
/// extrapolates the first-to-last increase to the window's edges when the gap to an edge is below 1.1 average
/// scrape intervals, and only by half an interval otherwise (a late scrape on a loaded machine): with 1 s
/// scrapes and ≥ 9 s of samples in a 10 s window that is at worst (8 + 0.5 + 0.5) / 10 = 0.9 of the slope, and
/// a little above 1 from timing jitter. So a rate is expected in [0.88, 1.02] × its slope.
/// `histogram_quantile` of one pod is exact up to float rounding (all its buckets come from the same scrapes, so
/// they share the extrapolation factor and the ratios are the served ones); over two pods each pod's factor may
/// differ, so the expected value is bracketed by the quantiles with one pod's rates scaled by 0.88 and 1.02 / 0.88.
@Suite(.serialized) struct RealPrometheusTests {
    static let pods = ["127.0.0.2": "pod-2", "127.0.0.3": "pod-3", "127.0.0.4": "pod-4"]
    static let tokensPerSecond = ["pod-2": 40.0, "pod-3": 25.0, "pod-4": 10.0]
    static let running = ["pod-2": 3.0, "pod-3": 4.5, "pod-4": 2.0]
    static let bounds = [0.025, 0.05, 0.1, 0.25, Double.infinity]
    /// Cumulative observations per second per bucket (same order as `bounds`).
    static let ttftBuckets = ["pod-2": [2.0, 5, 8, 10, 10], "pod-3": [0.0, 2, 4, 8, 8], "pod-4": [1.0, 1, 1, 1, 1]]
    static let window = "10s"

    static func payload(_ pod: String) -> [AdvancingMetricsServer.Family] {
        let buckets = zip(bounds, ttftBuckets[pod] ?? []).map { bound, rate in
            AdvancingMetricsServer.Series("vllm:time_to_first_token_seconds_bucket", "le=\"\(bound == .infinity ? "+Inf" : "\(bound)")\"",
                                          start: 100 * rate, perSecond: rate)
        }
        let count = ttftBuckets[pod]?.last ?? 0
        return [
            .init("vllm:num_requests_running", "gauge", [.init("vllm:num_requests_running", "model_name=\"m\"", start: running[pod] ?? 0)]),
            .init("vllm:generation_tokens_total", "counter",
                  [.init("vllm:generation_tokens_total", "model_name=\"m\"", start: 1000, perSecond: tokensPerSecond[pod] ?? 0)]),
            .init("vllm:time_to_first_token_seconds", "histogram", buckets + [
                .init("vllm:time_to_first_token_seconds_sum", start: 10 * count, perSecond: 0.1 * count),
                .init("vllm:time_to_first_token_seconds_count", start: 100 * count, perSecond: count),
            ]),
        ]
    }

    /// The engines and a Prometheus scraping them (job `vllm`, labels `namespace=ns, app=llm, pod`), once every
    /// pod has a full rate window of samples.
    static func withPrometheus(_ body: (RealPrometheus, AdvancingMetricsServer) async throws -> Void) async throws {
        _ = try RealPrometheus.executable()
        let engines = try await AdvancingMetricsServer(payloads: Dictionary(uniqueKeysWithValues: pods.map { ($0.key, payload($0.value)) }))
        defer { engines.stop() }
        let job = RealPrometheus.Job(name: "vllm", targets: pods.sorted { $0.key < $1.key }.map {
            (target: "\($0.key):\(engines.port)", labels: ["namespace": "ns", "app": "llm", "pod": $0.value])
        })
        let prometheus = try await RealPrometheus(jobs: [job])
        defer { prometheus.stop() }
        try await prometheus.waitFor("count_over_time(vllm:generation_tokens_total[\(window)]) >= 10", seconds: 45) { $0.count == pods.count }
        try await body(prometheus, engines)
    }

    static func source(_ endpoint: String, _ query: String) -> MetricSource {
        PrometheusQueryTests.source(endpoint, query)
    }

    static func collect(_ sources: [MetricSource], pods: [String] = ["pod-2", "pod-3"], strategy: String = "HPA") async -> MetricsCollection {
        let transport = HTTPTransport()
        defer { transport.shutdown() }
        let infos = pods.map { MetricsCollector.PodInfo(name: $0, ip: nil, ready: true, phase: .running) }
        return await MetricsCollector(transport: transport, configuration: .init(scrapeTimeout: 5)).collect(
            key: "ns/pa", spec: CollectorTests.spec(sources, strategy: strategy), namespace: "ns", selector: "app=\"llm\"",
            pods: infos, now: Date())
    }

    /// The HPA decision over one source of `collection` at `current` replicas (every pod ready and running).
    static func decide(_ collection: MetricsCollection, source: Int, current: Int) -> Decision {
        var state = AutoscalerState()
        var snapshotSource = collection.sources[source]
        snapshotSource.index = 0
        let spec = CollectorTests.spec([Self.source("http://unused", "x")], strategy: "HPA")
        let snapshot = ScalingSnapshot(currentReplicas: current, readyReplicas: current, sources: [snapshotSource],
                                       observationFailures: collection.failures.filter { $0.sourceIndex == source }.map(\.description))
        return Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: Date())
    }

    static func quantile(_ weights: [String: Double], q: Double = 0.9) -> Double {
        let buckets = bounds.indices.map { i in
            HistogramSeries.Bucket(upperBound: bounds[i], count: weights.reduce(0) { $0 + $1.value * (ttftBuckets[$1.key]?[i] ?? 0) })
        }
        return HistogramQuantile.quantile(q, buckets: buckets)
    }

    static func within(_ value: Double?, _ slope: Double) -> Bool {
        guard let value else { return false }
        return value >= 0.88 * slope && value <= 1.02 * slope
    }

    @Test(.enabled(if: !RealPrometheus.skipRequested, "HETEROSCALE_SKIP_PROMETHEUS=1"))
    func instantRateQuantileMissingSeriesAndADownServer() async throws {
        try await Self.withPrometheus { prometheus, _ in
            let url = prometheus.endpoint
            let sources = [
                Self.source(url, "sum(vllm:num_requests_running{namespace=\"{{namespace}}\",{{selector}},pod=~\"pod-2|pod-3\"})"),
                Self.source(url, "sum(rate(vllm:generation_tokens_total{namespace=\"{{namespace}}\",pod!=\"pod-4\"}[\(Self.window)]))"),
                Self.source(url, "rate(vllm:generation_tokens_total{namespace=\"{{namespace}}\",pod=\"{{pod}}\"}[\(Self.window)])"),
                Self.source(url, "histogram_quantile(0.9, rate(vllm:time_to_first_token_seconds_bucket{pod=\"{{pod}}\"}[\(Self.window)]))"),
                Self.source(url, "histogram_quantile(0.9, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{pod=~\"pod-2|pod-3\"}[\(Self.window)])))"),
                Self.source(url, "sum(vllm:no_such_metric{namespace=\"{{namespace}}\"})"),
                Self.source(url, "sum(rate(vllm:generation_tokens_total{namespace=\"{{namespace}}\"}[1m]) by (pod"),
            ]
            let result = await Self.collect(sources)
            // Instant query: the served gauges' sum, exactly.
            #expect(result.sources[0].total == 7.5)
            // rate(): the served slopes (40 + 25 tokens/s), summed and per pod.
            #expect(Self.within(result.sources[1].total, 65), "\(String(describing: result.sources[1].total))")
            let perPod = Dictionary(uniqueKeysWithValues: result.sources[2].pods.map { ($0.name, $0.value) })
            #expect(Self.within(perPod["pod-2"] ?? nil, 40) && Self.within(perPod["pod-3"] ?? nil, 25), "\(perPod)")
            // histogram_quantile(): one pod's is the served buckets' (the repository's interpolation, the same
            // as Prometheus'): 0.175 s for pod-2 (rank 9 of 10 in (0.1, 0.25]), 0.22 s for pod-3 (rank 7.2 of 8).
            let p90 = Dictionary(uniqueKeysWithValues: result.sources[3].pods.map { ($0.name, $0.value) })
            for pod in ["pod-2", "pod-3"] {
                let expected = Self.quantile([pod: 1])
                let got = try #require(p90[pod] ?? nil, "\(pod): \(result.failures)")
                #expect(abs(got - expected) < 1e-9, "\(pod): \(got) vs \(expected)")
            }
            let merged = try #require(result.sources[4].total, "\(result.failures)")
            let bracket = [Self.quantile(["pod-2": 1, "pod-3": 0.88]), Self.quantile(["pod-2": 1, "pod-3": 1.02 / 0.88]), Self.quantile(["pod-2": 1, "pod-3": 1])]
            #expect(merged >= (bracket.min() ?? 0) - 1e-9 && merged <= (bracket.max() ?? 0) + 1e-9, "\(merged) not in \(bracket)")
            // A missing series: no value and a failure, never 0.
            #expect(result.sources[5].total == nil)
            // A query Prometheus rejects: its error, verbatim.
            #expect(result.sources[6].total == nil)
            let messages = result.failures.map { "\($0.sourceIndex ?? -1) \($0.message)" }
            #expect(messages.contains("5 the query returned no series"), "\(messages)")
            #expect(messages.contains { $0.hasPrefix("6 query failed (HTTP 400): Prometheus bad_data:") }, "\(messages)")
            #expect(!messages.contains { $0.hasPrefix("0 ") || $0.hasPrefix("1 ") || $0.hasPrefix("2 ") || $0.hasPrefix("3 ") || $0.hasPrefix("4 ") }, "\(messages)")

            // The missing series decides nothing: the replicas are held and scaling is inactive.
            let held = Self.decide(result, source: 5, current: 4)
            #expect(held.desiredReplicas == 4 && !held.scalingActive, "\(held.reason)")
            // While the gauge source, with a real value of 7.5 against a target of 10, scales to 1.
            #expect(Self.decide(result, source: 0, current: 4).desiredReplicas < 4)

            // Prometheus goes down: every query fails (connection refused), no value, no scale-down.
            prometheus.stop()
            let down = await Self.collect(Array(sources[0...2]))
            #expect(down.sources[0].total == nil && down.sources[1].total == nil)
            #expect(down.sources[2].pods.allSatisfy { $0.value == nil })
            let downMessages = down.failures.map(\.message)
            #expect(downMessages.count == 4 && downMessages.allSatisfy { $0.hasPrefix("query failed: ") }, "\(downMessages)")
            let decision = Self.decide(down, source: 0, current: 4)
            #expect(decision.desiredReplicas == 4 && !decision.scalingActive, "\(decision.reason)")
        }
    }

    /// A pod whose exporter breaks: Prometheus marks its series stale at the next failed scrape, the per-pod
    /// query for it returns nothing, the pod is missing (not 0), and the HPA's missing-pod rule holds the
    /// scale-down the two remaining low values would ask for.
    @Test(.enabled(if: !RealPrometheus.skipRequested, "HETEROSCALE_SKIP_PROMETHEUS=1"))
    func aTargetThatGoesDownIsAMissingPodNotZero() async throws {
        try await Self.withPrometheus { prometheus, engines in
            let source = Self.source(prometheus.endpoint, "vllm:num_requests_running{namespace=\"{{namespace}}\",pod=\"{{pod}}\"}")
            let all = ["pod-2", "pod-3", "pod-4"]
            let before = await Self.collect([source], pods: all)
            #expect(before.sources[0].pods.map(\.value) == [3, 4.5, 2], "\(before.failures)")
            try await engines.fail(ip: "127.0.0.4")
            try await prometheus.waitFor("up{pod=\"pod-4\"} == 0") { !$0.isEmpty }
            try await prometheus.waitFor("vllm:num_requests_running{pod=\"pod-4\"}") { $0.isEmpty }
            let after = await Self.collect([source], pods: all)
            #expect(after.sources[0].pods.map(\.value) == [3, 4.5, nil])
            #expect(after.failures.map(\.description).contains { $0.contains("pod-4") && $0.contains("the query returned no series") },
                    "\(after.failures)")
            // 7.5 over 3 pods against a target of 10 would be a scale-down; with a pod missing it is not.
            let decision = Self.decide(after, source: 0, current: 3)
            #expect(decision.desiredReplicas >= 3, "\(decision.reason)")
        }
    }
}
