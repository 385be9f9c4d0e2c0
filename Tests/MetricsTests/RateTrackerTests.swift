import Foundation
import Testing
@testable import Metrics

@Suite struct RateTrackerTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func counter(_ values: [String: Double]) -> MetricSet {
        var text = "# TYPE c_total counter\n"
        for (engine, v) in values.sorted(by: { $0.key < $1.key }) { text += "c_total{engine=\"\(engine)\"} \(v)\n" }
        return MetricSet((try? PrometheusText.parse(text)) ?? [])
    }

    /// (seconds since t0, per-engine counter values, expected rate or nil).
    @Test(arguments: [
        ("steady", [(0.0, ["0": 100.0]), (10, ["0": 150]), (20, ["0": 250])], [nil, 5.0, 10.0]),
        ("summed across engines", [(0.0, ["0": 10.0, "1": 20]), (5, ["0": 20, "1": 40])], [nil, 6.0]),
        ("reset: a drop counts the new value as the increase", [(0.0, ["0": 1000.0]), (10, ["0": 30])], [nil, 3.0]),
        ("reset on one engine only", [(0.0, ["0": 100.0, "1": 100]), (10, ["0": 150, "1": 20])], [nil, 7.0]),
        ("no change is a rate of 0", [(0.0, ["0": 7.0]), (10, ["0": 7])], [nil, 0.0]),
        ("a new series is left out until it has two points", [(0.0, ["0": 10.0]), (10, ["0": 20, "1": 500]), (20, ["0": 30, "1": 510])], [nil, 1.0, 2.0]),
    ] as [(String, [(Double, [String: Double])], [Double?])])
    func counterRates(_ name: String, _ scrapes: [(Double, [String: Double])], _ expected: [Double?]) {
        var tracker = RateTracker()
        for ((t, values), want) in zip(scrapes, expected) {
            let v = tracker.value(of: "c_total", in: Self.counter(values), collector: "ns/a", pod: "p", at: Self.t0.addingTimeInterval(t))
            #expect(v.value == want, "\(name) at \(t)")
        }
    }

    @Test func sameInstantIsIdempotentAndOutOfOrderIgnored() {
        var tracker = RateTracker()
        _ = tracker.value(of: "c", in: Self.counter(["0": 0]), collector: "k", pod: "p", at: Self.t0)
        let at10 = Self.t0.addingTimeInterval(10)
        #expect(tracker.value(of: "c", in: Self.counter(["0": 50]), collector: "k", pod: "p", at: at10) == .value(5))
        // A second reader in the same collection sees the same rate.
        #expect(tracker.value(of: "c", in: Self.counter(["0": 50]), collector: "k", pod: "p", at: at10) == .value(5))
        #expect(tracker.value(of: "c", in: Self.counter(["0": 60]), collector: "k", pod: "p", at: Self.t0.addingTimeInterval(5)).value == nil)
    }

    @Test func stateIsPerCollectorPodAndEndpointAndForgotten() {
        var tracker = RateTracker()
        for (collector, pod) in [("a", "p1"), ("a", "p2"), ("b", "p1")] {
            _ = tracker.value(of: "c", in: Self.counter(["0": 0]), collector: collector, pod: pod, at: Self.t0)
        }
        #expect(tracker.value(of: "c", in: Self.counter(["0": 10]), collector: "b", pod: "p1", at: Self.t0.addingTimeInterval(1)) == .value(10))
        // Another endpoint of the same pod has its own baseline.
        #expect(tracker.value(of: "c", in: Self.counter(["0": 10]), collector: "b", pod: "p1", endpoint: "http://x:2/m", at: Self.t0.addingTimeInterval(1)).value == nil)
        tracker.retain(collector: "a", pods: ["p2"])
        #expect(tracker.pods(collector: "a") == ["p2"])
        tracker.forget(collector: "a")
        #expect(tracker.pods(collector: "a").isEmpty)
        #expect(tracker.pods(collector: "b") == ["p1"])
    }

    @Test func gaugesUntypedAndMissingValues() throws {
        var tracker = RateTracker()
        let set = MetricSet(try PrometheusText.parse("# TYPE g gauge\ng{e=\"0\"} 1\ng{e=\"1\"} NaN\nu_total 42\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 4\ns_count 2\n"))
        #expect(tracker.value(of: "g", in: set, collector: "k", pod: "p", at: Self.t0) == .missing("g is nan"))
        // Untyped stays untyped: its value is the raw sum, not a rate.
        #expect(tracker.value(of: "u_total", in: set, collector: "k", pod: "p", at: Self.t0) == .value(42))
        #expect(tracker.value(of: "absent", in: set, collector: "k", pod: "p", at: Self.t0)
            == .missing("metric vllm:absent not found (also tried absent)"))
        #expect(tracker.value(of: "s", in: set, collector: "k", pod: "p", at: Self.t0).value == nil)
        let later = MetricSet(try PrometheusText.parse("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 10\ns_count 5\n"))
        // Summary: Δsum / Δcount = 6 / 3.
        #expect(tracker.value(of: "s", in: later, collector: "k", pod: "p", at: Self.t0.addingTimeInterval(1)) == .value(2))
    }

    /// Histogram quantile of the increase, with a reset of the histogram between scrapes.
    @Test func histogramIncreaseWithReset() throws {
        func h(_ b1: Double, _ inf: Double, sum: Double) -> MetricSet {
            MetricSet((try? PrometheusText.parse("# TYPE h histogram\nh_bucket{le=\"1\"} \(b1)\nh_bucket{le=\"+Inf\"} \(inf)\nh_sum \(sum)\nh_count \(inf)\n")) ?? [])
        }
        var tracker = RateTracker()
        _ = tracker.value(of: "h", in: h(100, 100, sum: 50), collector: "k", pod: "p", at: Self.t0)
        // Restarted engine: 4 observations ≤ 1 since, so p50 = 1 × 2/4 = 0.5, mean 1.2 / 4.
        let after = h(4, 4, sum: 1.2)
        #expect(tracker.value(of: "h", in: after, collector: "k", pod: "p", at: Self.t0.addingTimeInterval(2), quantile: 0.5) == .value(0.5))
        guard case .increase(let inc) = tracker.histogramIncrease(
            of: after.lookup("h") ?? MetricFamily(name: "h"), collector: "k", pod: "p", at: Self.t0.addingTimeInterval(2)) else {
            Issue.record("no increase")
            return
        }
        #expect(abs((inc.mean ?? 0) - 0.3) < 1e-12)
    }
}
