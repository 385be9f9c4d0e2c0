import Autoscaling
import Controller
import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Logging
import Testing
import YAML

@Suite struct MetricsRegistryTests {
    @Test func rendersCountersGaugesAndHistogramsInTextFormat() async {
        let r = MetricsRegistry()
        r.register("reqs_total", .counter, help: "Requests.\nSecond line")
        r.register("depth", .gauge, help: "Depth.")
        r.register("latency_seconds", .histogram, help: "Latency.", buckets: [0.1, 1])
        r.increment("reqs_total", ["code": "200"])
        r.increment("reqs_total", ["code": "200"], by: 2)
        r.increment("reqs_total", ["code": "5\"0\"0"])
        r.set("depth", [:], 7)
        r.observe("latency_seconds", ["op": "get"], 0.05)
        r.observe("latency_seconds", ["op": "get"], 0.5)
        r.observe("latency_seconds", ["op": "get"], 3)
        r.increment("undeclared_total")  // ignored: families must be declared
        let text = await r.render()
        #expect(text == """
            # HELP depth Depth.
            # TYPE depth gauge
            depth 7
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{op="get",le="0.1"} 1
            latency_seconds_bucket{op="get",le="1"} 2
            latency_seconds_bucket{op="get",le="+Inf"} 3
            latency_seconds_sum{op="get"} 3.55
            latency_seconds_count{op="get"} 3
            # HELP reqs_total Requests.\\nSecond line
            # TYPE reqs_total counter
            reqs_total{code="200"} 3
            reqs_total{code="5\\"0\\"0"} 1

            """)
        #expect(r.value("reqs_total", ["code": "200"]) == 3)
        r.remove("depth", [:])
        #expect(r.value("depth") == nil)
        r.set("depth", ["ns": "a", "name": "x"], 1)
        r.set("depth", ["ns": "a", "name": "y"], 2)
        r.removeAll("depth", matching: ["name": "x"])
        #expect(r.value("depth", ["ns": "a", "name": "x"]) == nil)
        #expect(r.value("depth", ["ns": "a", "name": "y"]) == 2)
    }

    @Test func collectorsRunBeforeEachExposition() async {
        let r = MetricsRegistry()
        r.register("ticks", .gauge, help: "Ticks.")
        let counter = Counter()
        r.addCollector { r.set("ticks", [:], Double(counter.next())) }
        _ = await r.render()
        #expect(await r.render().contains("ticks 2"))
    }

    final class Counter: @unchecked Sendable {
        private var n = 0
        private let lock = NSLock()
        func next() -> Int { lock.withLock { n += 1; return n } }
    }
}

@Suite struct LogHandlerTests {
    final class Lines: @unchecked Sendable {
        var all: [String] = []
        let lock = NSLock()
        func append(_ s: String) { lock.withLock { all.append(s) } }
    }

    @Test(arguments: [LogFormat.text, .json])
    func writesOneLinePerMessageWithMetadata(_ format: LogFormat) throws {
        let lines = Lines()
        var logger = Logger(label: "heteroscale.controller") { label in
            LineLogHandler(label: label, format: format, level: .info) { lines.append($0) }
        }
        logger[metadataKey: "pid"] = "42"
        logger.debug("hidden")
        logger.info("rescaled", metadata: ["from": "2", "to": "4", "reason": "HPA: average 20 / target 10 → 4"])
        #expect(lines.all.count == 1)
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("\n"))
        switch format {
        case .text:
            #expect(line.contains(" info rescaled from=2 pid=42 reason=\"HPA: average 20 / target 10 → 4\" to=4"))
        case .json:
            let o = try JSONValue.parseJSON(Array(line.utf8))
            #expect(o["msg"]?.stringValue == "rescaled")
            #expect(o["level"]?.stringValue == "info")
            #expect(o["logger"]?.stringValue == "heteroscale.controller")
            #expect(o["to"]?.stringValue == "4")
            #expect(o["pid"]?.stringValue == "42")
            #expect(o["ts"]?.stringValue?.hasSuffix("Z") == true)
        }
    }
}

@Suite struct HTTPEndpointsTests {
    @Test func servesRoutesAnd404And405() async throws {
        let server = try await HTTPEndpoints(address: "127.0.0.1:0", routes: [
            "/readyz": { HTTPEndpoints.Response(status: 503, body: "not yet\n") },
            "/metrics": { HTTPEndpoints.Response(contentType: "text/plain; version=0.0.4", body: "up 1\n") },
        ])
        defer { Task { await server.close() } }
        let base = "http://127.0.0.1:\(server.port)"
        let metrics = try await HTTPTransport.shared.send(HTTPRequest(url: base + "/metrics?x=1"))
        #expect(metrics.status == 200 && String(decoding: metrics.body, as: UTF8.self) == "up 1\n")
        #expect(metrics.headers["Content-Type"] == "text/plain; version=0.0.4")
        #expect(try await HTTPTransport.shared.send(HTTPRequest(url: base + "/readyz")).status == 503)
        #expect(try await HTTPTransport.shared.send(HTTPRequest(url: base + "/nope")).status == 404)
        #expect(try await HTTPTransport.shared.send(HTTPRequest(method: "POST", url: base + "/metrics", body: [1])).status == 405)
    }

    @Test(arguments: ["host:port", "1.2.3.4:99999", "", "localhost:-1"])
    func rejectsBadAddresses(_ address: String) async {
        await #expect(throws: HTTPEndpointsError.self) { _ = try await HTTPEndpoints(address: address, routes: [:]) }
    }
}

@Suite struct StatusBuilderTests {
    @Test func readyFollowsTheFirstFailingCondition() {
        let spec = PodAutoscalerSpec(scaleTargetRef: CrossVersionObjectReference(apiVersion: "apps/v1", kind: "Deployment", name: "m"),
                                     maxReplicas: 4, scalingStrategy: "HPA")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let ok = PodAutoscalerStatusBuilder.decided(nil, generation: 3, spec: spec, decision: Decision(desiredReplicas: 2, reason: "r"),
                                                    current: 2, outcome: .unchanged, now: now)
        #expect(ok.conditions?.map(\.type) == ["AbleToScale", "ScalingActive", "ScalingLimited", "ValidSpec", "Ready"])
        #expect(ok.conditions?[type: "Ready"]?.status == .isTrue)
        #expect(ok.observedGeneration == 3)
        let failed = PodAutoscalerStatusBuilder.failedGetScale(ok, generation: 3, message: "404 NotFound", now: now.addingTimeInterval(60))
        #expect(failed.conditions?[type: "Ready"]?.reason == "FailedGetScale")
        #expect(failed.conditions?[type: "Ready"]?.lastTransitionTime == "2027-01-15T08:01:00Z")
        // A condition whose status did not change keeps its transition time.
        #expect(failed.conditions?[type: "ValidSpec"]?.lastTransitionTime == "2027-01-15T08:00:00Z")
        let inactive = PodAutoscalerStatusBuilder.decided(
            failed, generation: 3, spec: spec, decision: .inactive(current: 2, reason: .failedGetMetrics, message: "no metrics"),
            current: 2, outcome: .unchanged, now: now)
        #expect(inactive.conditions?[type: "Ready"]?.reason == "FailedGetMetrics")
    }
}

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("2026-01-02T03:04:05Z", 1_767_323_045.0),
        ("2026-01-02T03:04:05.250Z", 1_767_323_045.25),
        ("2026-01-02T04:04:05+01:00", 1_767_323_045.0),
        ("2026-01-01T23:04:05-04:00", 1_767_323_045.0),
        ("2026-01-02t03:04:05z", 1_767_323_045.0),
    ])
    func parses(_ text: String, _ seconds: Double) throws {
        let d = try #require(RFC3339.parse(text))
        #expect(abs(d.timeIntervalSince1970 - seconds) < 1e-6)
    }

    @Test(arguments: ["", "2026-01-02", "2026-01-02T03:04:05", "2026-13-02T03:04:05Z", "2026-01-02T03:04:05.Z", "2026-01-02T03:04:05Zx"])
    func rejects(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func roundTripsFormat() {
        let d = Date(timeIntervalSince1970: 1_800_000_123)
        #expect(RFC3339.parse(RFC3339.format(d)) == d)
    }
}

/// `--controllers`, kube-controller-manager style.
@Suite struct ControllerSelectionTests {
    @Test(arguments: [("*", ["podautoscaler", "deploymentgroup", "gate"]), ("podautoscaler", ["podautoscaler"]),
                      ("*,-podautoscaler", ["deploymentgroup", "gate"]), ("*,-deploymentgroup,-gate", ["podautoscaler"]), ("", [])])
    func enabledControllers(text: String, expected: [String]) throws {
        #expect(try HeteroScaleManager.enabled(from: text) == Set(expected))
    }

    @Test func anUnknownControllerIsNamed() {
        #expect(throws: ControllerStartupError.self) { try HeteroScaleManager.enabled(from: "*,-autoscaler") }
    }
}
