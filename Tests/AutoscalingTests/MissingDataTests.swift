import Foundation
import Testing
import KubeAPI
import YAML
@testable import Autoscaling

/// Missing or broken metric data never scales down (issue "Hardening" §0): the regression tests for the
/// defects found on a real kube-apiserver, each replaying the reproduction from the issue.
@Suite struct MissingDataTests {
    /// `pods` pods reporting `value` every 2 s for `seconds`, then `silence` seconds of empty cells.
    static func series(pods: Int, value: String, seconds: Int, silence: Int, metric: String) -> String {
        let names = (0..<pods).map { "p\($0)" }
        var lines = ["time,ready," + names.map { "pod:\($0):\(metric)" }.joined(separator: ",")]
        for t in stride(from: 0, through: seconds + silence, by: 2) {
            let cell = t <= seconds ? value : ""
            lines.append("\(t),\(pods)," + Array(repeating: cell, count: pods).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func pa(_ strategy: String, extra: String = "") throws -> PodAutoscalerSpec {
        try YAML.decode(PodAutoscaler.self, from: """
            apiVersion: heteroscale.io/v1alpha1
            kind: PodAutoscaler
            metadata: {name: missing}
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
              minReplicas: 1
              maxReplicas: 10
              scalingStrategy: \(strategy)
              metricsSources:
                - {metricSourceType: pod, targetMetric: kv_cache_usage_perc, targetValue: "0.5"}
            \(extra)
            """).spec
    }

    /// The reproduction: 3 pods at 0.5 for 100 s, then empty cells. Before the fix the window's average
    /// read 0 at exactly one window after the last sample and the decision was 1.
    @Test(arguments: ["APA", "KPA"])
    func metricsThatVanishHoldTheScale(strategy: String) throws {
        let spec = try Self.pa(strategy, extra: strategy == "APA" ? "  apa: {windowSeconds: 60}" : "  kpa: {stableWindowSeconds: 60}")
        let csv = Self.series(pods: 3, value: "0.5", seconds: 100, silence: 200, metric: "kv_cache_usage_perc")
        let steps = Replay.run(spec: spec, observations: try Replay.parse(csv))
        #expect(steps.count == 151)
        for step in steps {
            #expect(step.desired == 3, "t=\(step.time): \(step.decision.reason)")
        }
        // Once a whole window has passed without data the strategy says so and stops deciding.
        let afterWindow = try #require(steps.first { $0.time == 160 })
        #expect(afterWindow.decision.scalingActive == false)
        #expect(afterWindow.decision.activeCondition.reason == .failedGetMetrics)
        let beforeWindow = try #require(steps.first { $0.time == 158 })
        #expect(beforeWindow.decision.scalingActive == true)
    }

    /// One pod reporting 1e308 for a few seconds: the sample is refused (out of range), and the running sums
    /// stay exact, so the average is right again as soon as the pod reports sane values.
    @Test(arguments: ["APA", "KPA"])
    func oneHugeSampleDoesNotCorruptTheWindow(strategy: String) throws {
        let spec = try Self.pa(strategy)
        var state = AutoscalerState()
        let start = Date(timeIntervalSince1970: 1_000_000)
        for t in stride(from: 0, through: 240, by: 2) {
            let huge = (20...26).contains(t)
            let pods = (0..<3).map { PodSample(name: "p\($0)", value: $0 == 0 && huge ? 1e308 : 0.5) }
            let snapshot = ScalingSnapshot(currentReplicas: 3, readyReplicas: 3,
                                           sources: [SourceSnapshot(index: 0, metricName: "vllm:kv_cache_usage_perc", target: 0.5, pods: pods)])
            let d = Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: start.addingTimeInterval(Double(t)))
            #expect(d.desiredReplicas == 3, "t=\(t): \(d.reason)")
            if huge {
                #expect(d.reason.contains("held") || d.desiredReplicas == 3)
            }
        }
    }

    @Test func windowsStayExactAroundHugeValues() {
        var w = MetricWindow(windowSeconds: 10)
        let t0 = Date(timeIntervalSince1970: 500)
        w.set(1e300, at: t0)
        for i in 1...20 { w.set(0.5, at: t0.addingTimeInterval(Double(i))) }
        // The huge bucket left the window: the average is exactly the recent values, not a residue of 1e300.
        #expect(w.average(at: t0.addingTimeInterval(20)) == 0.5)
        // A huge average does not overflow the 6-decimal rounding.
        var big = MetricWindow(windowSeconds: 2)
        big.set(1e300, at: t0)
        #expect(big.average(at: t0) == 1e300)
        #expect(MetricWindow.round6(1e308) == 1e308)
        #expect(MetricWindow.round6(0.1234567) == 0.123456)
    }

    /// Knative's `IsEmpty` is `now - lastWrite > window`; here a window is empty at exactly one window of
    /// silence, because Knative's average is 0 at that instant and 0 would read as "no load".
    @Test(arguments: [(9.0, false), (10.0, true), (11.0, true)])
    func aWindowIsEmptyAfterAWholeWindowOfSilence(elapsed: Double, empty: Bool) {
        var w = MetricWindow(windowSeconds: 10)
        let t0 = Date(timeIntervalSince1970: 100)
        w.set(2, at: t0)
        #expect(w.isEmpty(at: t0.addingTimeInterval(elapsed)) == empty)
        #expect((w.average(at: t0.addingTimeInterval(elapsed)) == nil) == empty)
    }

    @Test(arguments: [
        (-5.0, "vllm:kv_cache_usage_perc", "is negative (-5); a load metric cannot be"),
        (Double.nan, "vllm:num_requests_running", "is nan"),
        (Double.infinity, "vllm:num_requests_running", "is inf"),
        (1e308, "vllm:num_requests_running", "is 1e+308, above its range (at most 1000000000000000)"),
        (1.5, "vllm:kv_cache_usage_perc", "is 1.5, above its range (at most 1)"),
        (150, "DCGM_FI_DEV_GPU_UTIL", "is 150.0, above its range (at most 100)"),
    ])
    func unusableSamplesAreNamed(value: Double, metric: String, message: String) throws {
        let problem = try #require(SampleSanity.problem(value, metric: metric))
        #expect(problem.description == message)
    }

    @Test(arguments: [(0.0, "vllm:kv_cache_usage_perc"), (1.0, "vllm:kv_cache_usage_perc"), (99.5, "DCGM_FI_DEV_GPU_UTIL"), (2e6, "decode_tps")])
    func usableSamplesPass(value: Double, metric: String) {
        #expect(SampleSanity.problem(value, metric: metric) == nil)
    }

    /// A pod reporting −5 for a 0–1 gauge is missing data (named in the decision), not a drop in load.
    @Test(arguments: ["APA", "KPA", "HPA"])
    func negativeGaugesAreMissingNotLoad(strategy: String) throws {
        let spec = try Self.pa(strategy)
        var state = AutoscalerState()
        let start = Date(timeIntervalSince1970: 2_000_000)
        var last: Decision?
        for t in stride(from: 0, through: 120, by: 2) {
            let pods = (0..<4).map { PodSample(name: "p\($0)", value: $0 == 3 && t >= 60 ? -5 : 0.5) }
            let snapshot = ScalingSnapshot(currentReplicas: 4, readyReplicas: 4,
                                           sources: [SourceSnapshot(index: 0, metricName: "vllm:kv_cache_usage_perc", target: 0.5, pods: pods)])
            let d = Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: start.addingTimeInterval(Double(t)))
            #expect(d.desiredReplicas >= 4, "t=\(t): \(d.reason)")
            last = d
        }
        #expect(last?.desiredReplicas == 4)
    }

    /// KPA totals are extrapolated from the pods that reported (Knative's scraper), so one failing pod out of
    /// three is not a third less load; and any gap holds a scale-down.
    @Test func kpaDoesNotReadAFailingPodAsLessLoad() throws {
        let spec = try Self.pa("KPA", extra: "  kpa: {stableWindowSeconds: 6, maxScaleDownRate: 10}")
        var state = AutoscalerState()
        let start = Date(timeIntervalSince1970: 3_000_000)
        var decisions: [Decision] = []
        for t in stride(from: 0, through: 60, by: 2) {
            let pods = (0..<3).map { PodSample(name: "p\($0)", value: $0 == 2 && t >= 20 ? nil : 0.5) }
            let snapshot = ScalingSnapshot(currentReplicas: 3, readyReplicas: 3,
                                           sources: [SourceSnapshot(index: 0, metricName: "vllm:kv_cache_usage_perc", target: 0.5, pods: pods)],
                                           observationFailures: t >= 20 ? ["pod p2: scrape failed: connection refused"] : [])
            decisions.append(Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: start.addingTimeInterval(Double(t))))
        }
        #expect(decisions.allSatisfy { $0.desiredReplicas == 3 })
        #expect(decisions.last?.details.stableValue == 1.5)
    }

    @Test func aScaleDownWithAPodMissingIsHeldAndSaysWhy() throws {
        let spec = try Self.pa("APA")
        var state = AutoscalerState()
        let pods = [PodSample(name: "a", value: 0.1), PodSample(name: "b", value: 0.1), PodSample(name: "c", value: nil)]
        let snapshot = ScalingSnapshot(currentReplicas: 3, readyReplicas: 3,
                                       sources: [SourceSnapshot(index: 0, metricName: "vllm:kv_cache_usage_perc", target: 0.5, pods: pods)])
        let d = Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: Date(timeIntervalSince1970: 10))
        #expect(d.desiredReplicas == 3)
        #expect(d.reason.hasSuffix("→ 3 (held: 1 of 3 pods have no vllm:kv_cache_usage_perc (c))"))
        #expect(d.ableToScale.reason == .scaleDownStabilized)
    }

    /// "No data" says whether metrics fail or are merely not there yet (the controller's
    /// FailedComputeMetricsReplicas event and ScalingActive condition carry this message).
    @Test(arguments: [
        ([], "no data to scale on yet"),
        (["pod a: scrape failed: connection refused"], "no data to scale on: metrics are failing: pod a: scrape failed: connection refused"),
        (["pod a: x", "pod b: y"], "no data to scale on: metrics are failing: pod a: x (and 1 more)"),
    ])
    func noDataSaysWhetherMetricsFail(failures: [String], message: String) throws {
        let spec = try Self.pa("KPA")
        var state = AutoscalerState()
        let snapshot = ScalingSnapshot(currentReplicas: 2, readyReplicas: 2,
                                       sources: [SourceSnapshot(index: 0, metricName: "vllm:kv_cache_usage_perc", target: 0.5,
                                                                pods: [PodSample(name: "a", value: nil), PodSample(name: "b", value: nil)])],
                                       observationFailures: failures)
        let d = Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: Date(timeIntervalSince1970: 10))
        #expect(!d.scalingActive)
        #expect(d.activeCondition.message == message)
        #expect(d.desiredReplicas == 2)
    }

    @Test func sanitizingNamesEveryRemovedValue() {
        let snapshot = ScalingSnapshot(
            currentReplicas: 1, readyReplicas: 1,
            sources: [SourceSnapshot(index: 0, metricName: "vllm:num_requests_running", target: 5,
                                     pods: [PodSample(name: "a", value: -1), PodSample(name: "b", value: 3)], total: .infinity)],
            signals: [Signal.decodeTPS: -3, Signal.tbtP90Milliseconds: 40])
        let (clean, problems) = SampleSanity.sanitize(snapshot)
        #expect(clean.sources[0].total == nil)
        #expect(clean.sources[0].pods.map(\.value) == [nil, 3])
        #expect(clean.signals == [Signal.tbtP90Milliseconds: 40])
        #expect(problems == [
            "vllm:num_requests_running total is inf",
            "pod a: vllm:num_requests_running is negative (-1); a load metric cannot be",
            "signal decode_tps is negative (-3); a load metric cannot be",
        ])
    }
}
