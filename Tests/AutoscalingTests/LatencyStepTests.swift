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
