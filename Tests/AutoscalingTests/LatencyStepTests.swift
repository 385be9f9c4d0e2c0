import Foundation
import KubeAPI
import Testing
@testable import Autoscaling

@Suite("Latency step baseline")
struct LatencyStepTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)

    // SLO 50 ms: above 55 ms → +2, below 40 ms → −1; bounds 1…10.
    @Test("steps on TBT p90", arguments: [
        (60.0 as Double?, 5, 7),
        (55.0, 5, 5), // exactly 1.1× holds
        (50.0, 5, 5),
        (40.0, 5, 5), // exactly 0.8× holds
        (39.0, 5, 4),
        (90.0, 9, 10), // capped at max
        (10.0, 1, 1), // floored at min
        (nil, 5, 5), // missing → hold
        (10.0, 0, 1), // below min → raised
    ])
    func steps(tbt: Double?, current: Int, expected: Int) {
        let policy = LatencyStepPolicy(sloMilliseconds: 50, minReplicas: 1, maxReplicas: 10)
        let d = policy.decide(tbtP90Milliseconds: tbt, currentReplicas: current, lastScaleTime: nil, now: Self.now)
        #expect(d.replicas == expected, "\(d.reason)")
        #expect(d.direction == (expected > current ? .scaleOut : (expected < current ? .scaleIn : .hold)))
    }

    @Test("optional cooldown after the last scaling")
    func cooldown() throws {
        var spec = HeteroScaleSpec()
        var latency = LatencyFeedbackSpec()
        latency.tbtSLOMilliseconds = 50
        latency.cooldownSeconds = 30
        spec.latency = latency
        let policy = try LatencyStepPolicy(heteroScale: spec, minReplicas: 1, maxReplicas: 10)
        var d = policy.decide(tbtP90Milliseconds: 80, currentReplicas: 4, lastScaleTime: Self.now - 10, now: Self.now)
        #expect(d.replicas == 4)
        #expect(d.reason == "Latency: TBT p90 80 ms = 1.60× SLO 50 ms, above 1.1× → +2; cooldown 20 s left → hold at 4")
        d = policy.decide(tbtP90Milliseconds: 80, currentReplicas: 4, lastScaleTime: Self.now - 30, now: Self.now)
        #expect(d.replicas == 6)
        #expect(d.reason == "Latency: TBT p90 80 ms = 1.60× SLO 50 ms, above 1.1× → +2 → 6")
        #expect(throws: StrategySpecError.self) { try LatencyStepPolicy(heteroScale: HeteroScaleSpec(), minReplicas: 1, maxReplicas: 2) }
    }

    // TBT SLO 50 ms and TTFT SLO 1000 ms: the worse ratio decides; a signal without its SLO is not looked at.
    @Test("steps on the worse of TBT and TTFT", arguments: [
        (20.0 as Double?, 1500.0 as Double?, 7, "TTFT p90 1500 ms = 1.50× SLO 1000 ms"), // TBT fine, TTFT queue → out
        (80.0, 500.0, 7, "TBT p90 80 ms = 1.60× SLO 50 ms"), // TBT worse
        (30.0, 300.0, 4, "TBT p90 30 ms = 0.60× SLO 50 ms"), // both low: in on the worse (0.6 > 0.3)
        (nil, 1500.0, 7, "TTFT p90 1500 ms"), // TBT missing: TTFT alone
        (nil, nil, 5, "TBT and TTFT p90 unavailable → hold at 5"),
    ])
    func worseOfTBTAndTTFT(tbt: Double?, ttft: Double?, expected: Int, reason: String) {
        let policy = LatencyStepPolicy(sloMilliseconds: 50, ttftSLOMilliseconds: 1000, minReplicas: 1, maxReplicas: 10)
        let d = policy.decide(tbtP90Milliseconds: tbt, ttftP90Milliseconds: ttft, currentReplicas: 5, lastScaleTime: nil, now: Self.now)
        #expect(d.replicas == expected, "\(d.reason)")
        #expect(d.reason.contains(reason), "\(d.reason)")
    }

    @Test("a TTFT SLO alone is a valid spec; TBT is then not looked at")
    func ttftOnly() throws {
        var spec = HeteroScaleSpec()
        var latency = LatencyFeedbackSpec()
        latency.ttftSLOMilliseconds = 2000
        spec.latency = latency
        let policy = try LatencyStepPolicy(heteroScale: spec, minReplicas: 3, maxReplicas: 28)
        #expect(policy.tbtSLOMilliseconds == nil)
        let d = policy.decide(tbtP90Milliseconds: 500, ttftP90Milliseconds: 1000, currentReplicas: 5, lastScaleTime: nil, now: Self.now)
        #expect(d.reason == "Latency: TTFT p90 1000 ms = 0.50× SLO 2000 ms, below 0.8× → -1 → 4")
    }

    @Test("with a delayed effect (new pods take three ticks to serve) the baseline keeps reversing")
    func flaps() {
        let policy = LatencyStepPolicy(sloMilliseconds: 50, minReplicas: 1, maxReplicas: 20)
        var history = [3, 3, 3]
        var reversals = 0
        var lastDirection = LatencyStepDecision.Direction.hold
        for _ in 0..<60 {
            let serving = history[history.count - 3]
            let tbt = 250.0 / Double(serving)
            let d = policy.decide(tbtP90Milliseconds: tbt, currentReplicas: history.last!, lastScaleTime: nil, now: Self.now)
            if d.direction != .hold {
                if lastDirection != .hold && d.direction != lastDirection { reversals += 1 }
                lastDirection = d.direction
            }
            history.append(d.replicas)
        }
        #expect(reversals >= 6, "\(history)")
    }
}
