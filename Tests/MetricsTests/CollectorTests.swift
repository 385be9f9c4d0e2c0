import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import Testing
@testable import Metrics

/// `MetricsCollector` against a real HTTP server on loopback: pods are 127.0.0.2 … 127.0.0.12.
@Suite struct CollectorTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func podSource(_ port: Int, _ metric: String, target: String = "1", role: String? = nil, path: String? = nil) -> MetricSource {
        var s = MetricSource(metricSourceType: .pod, targetMetric: metric, targetValue: target, role: role)
        s.port = String(port)
        s.path = path
        return s
    }

    /// HeteroScale by default: it reads the signals, so they are derived (HPA/KPA/APA do not get them).
    static func spec(_ sources: [MetricSource], strategy: String = "HeteroScale") -> PodAutoscalerSpec {
        PodAutoscalerSpec(scaleTargetRef: .init(kind: "Deployment", name: "llm"), maxReplicas: 10, scalingStrategy: strategy, metricsSources: sources)
    }

    static func pod(_ n: Int, ready: Bool = true, phase: PodSample.Phase = .running, role: String? = nil, ip: String? = "") -> MetricsCollector.PodInfo {
        MetricsCollector.PodInfo(name: "pod-\(n)", ip: ip == "" ? "127.0.0.\(n)" : ip, ready: ready, phase: phase, role: role)
    }

    static func gauge(_ v: Double) -> String { "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine=\"0\"} \(v)\nvllm:num_requests_running{engine=\"1\"} 1\n" }

    /// Runs `body` with a fresh server and transport, and stops both.
    static func withServer(_ body: (MetricsTestServer, HTTPTransport) async throws -> Void) async throws {
        let server = try await MetricsTestServer()
        let transport = HTTPTransport()
        defer {
            transport.shutdown()
            server.stop()
        }
        try await body(server, transport)
    }

    @Test func failuresAreMissingNeverZero() async throws {
        try await Self.withServer { server, transport in
            try await server.route(ip: "127.0.0.2", body: Self.gauge(4))
            try await server.route(ip: "127.0.0.3", body: "oops", status: 500)
            // Malformed where it matters (a line of a family this PodAutoscaler reads).
            try await server.route(ip: "127.0.0.4", body: "vllm:num_requests_running { broken\n")
            try await server.route(ip: "127.0.0.5", body: Self.gauge(9), delayMs: 3000)
            try await server.route(ip: "127.0.0.6", body: "# TYPE other gauge\nother 1\n")
            try await server.route(ip: "127.0.0.7", bytes: [0xFF, 0x00, 0x7B, 0x22, 0x0A, 0x80])
            let collector = MetricsCollector(transport: transport, configuration: .init(scrapeTimeout: 0.5))
            var pods = (2...7).map { Self.pod($0) }
            pods.append(Self.pod(8, ready: false))
            pods.append(Self.pod(9, phase: .pending))
            pods.append(Self.pod(10, ip: nil))
            // 127.0.0.1 has no /metrics route: 404.
            pods.append(MetricsCollector.PodInfo(name: "unrouted", ip: "127.0.0.1", ready: true, phase: .running))
            let spec = Self.spec([Self.podSource(server.port, "num_requests_running", path: "/metrics")])
            let result = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "app=llm", pods: pods, now: Self.t0)
            let values = Dictionary(uniqueKeysWithValues: result.sources[0].pods.map { ($0.name, $0.value) })
            #expect(values["pod-2"] == .some(5.0))
            for missing in ["pod-3", "pod-4", "pod-5", "pod-6", "pod-7", "pod-8", "pod-9", "pod-10", "unrouted"] {
                #expect(values[missing] == .some(nil), "\(missing) must be missing, not 0")
            }
            #expect(result.sources[0].pods.count == 10)
            #expect(result.sources[0].pods.first { $0.name == "pod-9" }?.phase == .pending)
            #expect(result.sources[0].pods.first { $0.name == "pod-8" }?.ready == false)
            #expect(result.sources[0].metricName == "vllm:num_requests_running")
            let byPod = Dictionary(grouping: result.failures, by: { $0.pod ?? "" })
            #expect(byPod["pod-3"]?.first?.message.contains("HTTP 500") == true)
            #expect(byPod["pod-4"]?.first?.message.contains("line 1") == true)
            #expect(byPod["pod-5"]?.first?.message.contains("timed out") == true)
            #expect(byPod["pod-6"]?.first?.message.contains("vllm:num_requests_running not found") == true)
            #expect(byPod["pod-7"]?.first?.message.contains("not valid Prometheus text") == true)
            #expect(byPod["pod-10"]?.first?.message.contains("no IP") == true)
            #expect(byPod["unrouted"]?.first?.message.contains("HTTP 404") == true)
            #expect(byPod["pod-8"] == nil && byPod["pod-9"] == nil)
            let stats = try await server.stats()
            #expect(stats.accept["127.0.0.2/metrics"] == "text/plain;version=0.0.4")
            // Unready and pending pods are not scraped.
            #expect(stats.requests["127.0.0.8/metrics"] == nil && stats.requests["127.0.0.9/metrics"] == nil)
        }
    }

    @Test func connectionRefusedIsMissing() async throws {
        try await Self.withServer { server, transport in
            // A port on 127.0.0.2 that nothing listens on (the server only listens on its own port).
            let unused = server.port == 1 ? 2 : 1
            let collector = MetricsCollector(transport: transport, configuration: .init(scrapeTimeout: 2))
            let result = await collector.collect(
                key: "ns/pa", spec: Self.spec([Self.podSource(unused, "num_requests_running")]), namespace: "ns", selector: "",
                pods: [Self.pod(2)], now: Self.t0)
            #expect(result.sources[0].pods.map(\.value) == [nil])
            #expect(result.failures.count == 1 && result.failures[0].pod == "pod-2" && result.failures[0].sourceIndex == 0)
        }
    }

    /// HPA, KPA and APA decide on their sources alone: no signal is derived for them (it would cost CPU on
    /// every tick for nothing).
    @Test(arguments: ["HPA", "KPA", "APA"])
    func signalsOnlyForTheStrategiesThatReadThem(_ strategy: String) async throws {
        try await Self.withServer { server, transport in
            try await server.route(ip: "127.0.0.2", body: VLLMPayload.render([.init(kv: 0.25, running: 2)]))
            let collector = MetricsCollector(transport: transport)
            let spec = Self.spec([Self.podSource(server.port, "kv_cache_usage_perc", target: "500m")], strategy: strategy)
            let result = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: [Self.pod(2)], now: Self.t0)
            #expect(result.sources.first?.pods.first?.value == 0.25)
            #expect(result.signals[Signal.decodeKVUsage] == nil)
        }
    }

    @Test func oneScrapePerPodForSeveralSourcesAndSignals() async throws {
        try await Self.withServer { server, transport in
            for n in 2...4 { try await server.route(ip: "127.0.0.\(n)", body: VLLMPayload.render([.init(kv: 0.25, running: Double(n))])) }
            let collector = MetricsCollector(transport: transport)
            let spec = Self.spec([
                Self.podSource(server.port, "num_requests_running"), Self.podSource(server.port, "kv_cache_usage_perc", target: "500m"),
                Self.podSource(server.port, "vllm:generation_tokens_total"),
            ])
            let result = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: (2...4).map { Self.pod($0) }, now: Self.t0)
            #expect(result.sources.map { $0.pods.compactMap(\.value) } == [[2, 3, 4], [0.25, 0.25, 0.25], []])
            #expect(result.sources.map(\.target) == [1, 0.5, 1])
            #expect(result.sources.map(\.index) == [0, 1, 2])
            #expect(result.failures.isEmpty, "\(result.failures)")  // a first counter scrape is pending, not a failure
            #expect(result.signals[Signal.decodeKVUsage] == 0.25)
            let stats = try await server.stats()
            #expect((2...4).map { stats.requests["127.0.0.\($0)/metrics"] } == [1, 1, 1])
        }
    }

    @Test func concurrencyIsBounded() async throws {
        try await Self.withServer { server, transport in
            for n in 2...9 { try await server.route(ip: "127.0.0.\(n)", body: Self.gauge(1), delayMs: 150) }
            let collector = MetricsCollector(transport: transport, configuration: .init(maxConcurrentScrapes: 3))
            let result = await collector.collect(
                key: "ns/pa", spec: Self.spec([Self.podSource(server.port, "num_requests_running")]), namespace: "ns", selector: "",
                pods: (2...9).map { Self.pod($0) }, now: Self.t0)
            #expect(result.sources[0].pods.map(\.value) == Array(repeating: 2, count: 8))
            let stats = try await server.stats()
            #expect(stats.maxInFlight <= 3)
            #expect(stats.maxInFlight >= 2)
        }
    }

    /// Two collections 10 s apart (injected time): counters become rates, histograms quantiles, signals appear.
    @Test func ratesAndSignalsAcrossCollections() async throws {
        try await Self.withServer { server, transport in
            let port = server.port
            var decode = VLLMPayload.Engine(kv: 0.5, generationTokens: 1000, success: 10, itl: [0, 0, 0, 0, 0])
            var prefill = VLLMPayload.Engine(kv: 0.1, promptTokens: 5000, ttft: [0, 0, 0, 0, 0])
            try await server.route(ip: "127.0.0.2", body: VLLMPayload.render([decode, decode]))
            try await server.route(ip: "127.0.0.3", body: VLLMPayload.render([prefill], legacy: true))
            let pods = [Self.pod(2, role: "decode"), Self.pod(3, role: "prefill"), Self.pod(4, ready: false, role: "decode")]
            let spec = Self.spec([
                Self.podSource(port, "decode_tps", role: "decode"), Self.podSource(port, "vllm:time_to_first_token_seconds", role: "prefill"),
            ])
            let collector = MetricsCollector(transport: transport)
            let first = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: pods, now: Self.t0)
            #expect(first.sources[0].pods.map(\.name) == ["pod-2", "pod-4"])
            #expect(first.sources[1].pods.map(\.name) == ["pod-3"])
            #expect(first.signals.keys.sorted() == [Signal.decodeKVUsage])

            // 10 s later. Decode (two engines): +400 tokens each, +5 requests each, ITL increases per engine
            // ≤0.01: 0, ≤0.025: 10, ≤0.05: 20, ≤0.1: 20, +Inf: 20 (sum 0.8 s). Prefill: +2000 prompt tokens, TTFT
            // ≤0.1: 2, ≤0.5: 8, ≤1: 10, +Inf: 10 (sum 3.5 s); prompt/generation lengths on decode.
            decode.generationTokens += 400
            decode.success += 5
            decode.itl = [0, 10, 20, 20, 20]
            decode.itlSum = 0.8
            decode.promptLenCount = 5
            decode.promptLenSum = 1000
            decode.genLenCount = 5
            decode.genLenSum = 400
            prefill.promptTokens += 2000
            prefill.ttft = [2, 8, 10, 10, 10]
            prefill.ttftSum = 3.5
            try await server.route(ip: "127.0.0.2", body: VLLMPayload.render([decode, decode]))
            try await server.route(ip: "127.0.0.3", body: VLLMPayload.render([prefill], legacy: true))
            let second = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: pods, now: Self.t0.addingTimeInterval(10))
            #expect(second.failures.isEmpty, "\(second.failures)")
            #expect(second.sources[0].pods.map(\.value) == [80, nil])
            // TTFT p90 of the increase: rank 9 in (0.5, 1] holding 2 → 0.5 + 0.5 × 1/2 = 0.75.
            #expect(second.sources[1].pods.map(\.value) == [0.75])
            let s = second.signals
            #expect(s[Signal.decodeTPS] == 80)
            #expect(s[Signal.prefillTPS] == 200)
            #expect(s[Signal.numRequests] == 1)
            // ITL merged over both engines: ≤0.025: 20, ≤0.05: 40, +Inf: 40 → p90 rank 36 → 25 + 25 × 16/20 ms.
            #expect(abs((s[Signal.tbtP90Milliseconds] ?? 0) - 45) < 1e-9)
            #expect(abs((s[Signal.itlMilliseconds] ?? 0) - 40) < 1e-9)
            #expect(abs((s[Signal.ttftP90Milliseconds] ?? 0) - 750) < 1e-9)
            #expect(abs((s[Signal.ttftMilliseconds] ?? 0) - 350) < 1e-9)
            #expect(s[Signal.averageISL] == 200)
            #expect(s[Signal.averageOSL] == 80)
            #expect(s[Signal.decodeKVUsage] == 0.5)
            #expect(s[Signal.intervalSeconds] == 10)
            let stats = try await server.stats()
            #expect(stats.requests["127.0.0.2/metrics"] == 2 && stats.requests["127.0.0.3/metrics"] == 2)

            // Restarted decode engines (counters reset) 10 s later: the new value is the increase.
            decode.generationTokens = 300
            try await server.route(ip: "127.0.0.2", body: VLLMPayload.render([decode, decode]))
            let third = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: pods, now: Self.t0.addingTimeInterval(20))
            #expect(third.sources[0].pods.map(\.value) == [60, nil])
            #expect(third.signals[Signal.decodeTPS] == 60)

            // A pod that disappears is forgotten; forget(key:) drops everything.
            _ = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: [pods[1]], now: Self.t0.addingTimeInterval(30))
            #expect(await collector.trackedPods(key: "ns/pa") == ["pod-3"])
            await collector.forget(key: "ns/pa")
            #expect(await collector.trackedPods(key: "ns/pa").isEmpty)
            let after = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: pods, now: Self.t0.addingTimeInterval(40))
            #expect(after.signals[Signal.intervalSeconds] == nil)
            #expect(after.sources[0].pods.map(\.value) == [nil, nil])
        }
    }

    @Test func resourceAndInvalidSourcesReportFailures() async throws {
        try await Self.withServer { _, transport in
            var noPort = MetricSource(metricSourceType: .pod, targetMetric: "x", targetValue: "1")
            noPort.port = nil
            var badType = MetricSource(metricSourceType: .pod, targetMetric: "x", targetValue: "1")
            badType.metricSourceType = "external"
            let spec = Self.spec([MetricSource(metricSourceType: .resource, targetMetric: "cpu", targetValue: "50"), noPort, badType])
            let collector = MetricsCollector(transport: transport)
            let result = await collector.collect(key: "ns/pa", spec: spec, namespace: "ns", selector: "", pods: [Self.pod(2)], now: Self.t0)
            #expect(result.sources.map(\.metricName) == ["cpu", "vllm:x", "vllm:x"])
            #expect(result.sources.allSatisfy { $0.pods.map(\.value) == [nil] })
            #expect(result.failures.map(\.sourceIndex) == [1, 0, 2])
            #expect(result.failures[1].message.contains("not supported yet"))
        }
    }

    @Test func scrapeURLs() throws {
        let https = ScrapeEndpoint(scheme: "https", port: 8443, path: "/stats")
        #expect(https.url(ip: "10.0.0.7") == "https://10.0.0.7:8443/stats")
        #expect(https.url(ip: "fd00::1") == "https://[fd00::1]:8443/stats")
        var s = MetricSource(metricSourceType: .pod, targetMetric: "x", targetValue: "1")
        s.port = "8000"
        s.path = "metrics"
        #expect(try ScrapeEndpoint.of(s).get() == ScrapeEndpoint(scheme: "http", port: 8000, path: "/metrics"))
        s.protocolType = "ftp"
        #expect((try? ScrapeEndpoint.of(s).get()) == nil)
    }
}
