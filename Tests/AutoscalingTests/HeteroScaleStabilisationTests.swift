import Foundation
import KubeAPI
import Testing
@testable import Autoscaling

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

/// A 2:3 group of `total` at weights 2:3 (10 → P 4, D 6), ratio rounding off so the sizes are the rules' own.
private func group(_ total: Int, tps: Double) -> HeteroScaleInput {
    let p = total * 2 / 5
    return HeteroScaleInput(decodeTPS: tps, roles: [
        .init(name: "prefill", weight: 2, current: p, minReplicas: 1, maxReplicas: 100),
        .init(name: "decode", weight: 3, current: total - p, minReplicas: 1, maxReplicas: 100),
    ])
}

private func policy(window: Double?, ratioTolerance: Double = 1) throws -> HeteroScalePolicy {
    var spec = HeteroScaleSpec()
    spec.targetDecodeTPSPerInstance = 100
    spec.scaleInDamping = 1
    spec.ratioTolerance = ratioTolerance
    spec.scaleInStabilizationSeconds = window
    return try HeteroScalePolicy(spec: spec)
}

@Suite("HeteroScale scale-in stabilisation")
struct HeteroScaleStabilisationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var window: Double?
        /// Decode TPS at t0, t0 + 20 s, t0 + 40 s, …; the group stays at 10 instances (100 TPS each).
        var tps: [Double]
        var total: Int
        var limit: HeteroScaleDecision.Limit?
        var testDescription: String { name }
    }

    // The last sample is always 450 TPS (4.5 instances, −55 %): alone it scales 10 → 5.
    @Test("a scale-in sizes the group for the highest need of the window", arguments: [
        Case(name: "one noisy low sample among ~9 instances holds (default 60 s)", window: nil, tps: [900, 950, 920, 450], total: 10, limit: .stabilization),
        Case(name: "a high sample 40 s back sizes the scale-in (6.5 → 7)", window: 50, tps: [950, 650, 500, 450], total: 7, limit: nil),
        Case(name: "needs older than the window are forgotten", window: 50, tps: [950, 400, 420, 450], total: 5, limit: nil),
        Case(name: "window 0: the last need only", window: 0, tps: [900, 950, 920, 450], total: 5, limit: nil),
        Case(name: "a long window remembers", window: 300, tps: [950, 400, 420, 450], total: 10, limit: .stabilization),
    ])
    func table(_ c: Case) throws {
        let policy = try policy(window: c.window)
        var state = HeteroScaleState()
        var d: HeteroScaleDecision?
        for (i, tps) in c.tps.enumerated() {
            d = policy.decide(group(10, tps: tps), state: &state, now: t0 + Double(i) * 20)
            if i < c.tps.count - 1 { #expect(d?.direction == .hold, "sample \(i)") }
        }
        let last = try #require(d)
        #expect(last.total == c.total)
        #expect(last.limitedBy == c.limit)
        #expect(last.desiredInstances == 4.5)
        if c.limit == .stabilization {
            #expect(last.reason.contains("scale-in stabilisation, highest need in the last"))
        }
    }

    @Test("the reasons name the stabilised need")
    func reasons() throws {
        let policy = try policy(window: 60)
        var state = HeteroScaleState()
        _ = policy.decide(group(10, tps: 920), state: &state, now: t0)
        let hold = policy.decide(group(10, tps: 450), state: &state, now: t0 + 2)
        #expect(hold.reason == "HeteroScale: decode TPS 450 / 100 per instance = 4.5 instances (current 10, -55%) → hold at 10 (P 4, D 6): scale-in stabilisation, highest need in the last 60 s 9.2 (-8%) is within the band; latency tier none")
        var state2 = HeteroScaleState()
        _ = policy.decide(group(10, tps: 950), state: &state2, now: t0)
        _ = policy.decide(group(10, tps: 650), state: &state2, now: t0 + 20)
        let scaleIn = policy.decide(group(10, tps: 450), state: &state2, now: t0 + 60)
        #expect(scaleIn.reason == "HeteroScale: decode TPS 450 / 100 per instance = 4.5 instances (current 10, -55%) → scale in to 7 (highest need in the last 60 s 6.5) (P 3, D 4); latency tier none")
    }

    /// The flap this window prevents, from samples/simulation/pd-conv-diurnal.yaml before it existed: a 2:3 group
    /// steps 5 ↔ 10 at `ratioTolerance` 0.1; decode TPS sampled every 2 s swung 1630–2164 (4.7–6.2 instances),
    /// one low sample scaled 10 → 5 and 8 s later 5.6 instances scaled back out to 10.
    @Test("the diurnal day's flap: a low sample among higher ones no longer scales a 2:3 group 10 → 5")
    func diurnalFlap() throws {
        let samples: [Double] = [1858, 1998, 2130, 2164, 1849, 1630]  // ×1/350 per instance in the day; here /100 × 3.5
        for (window, expected) in [(0.0, 5), (60.0, 10)] {
            let policy = try policy(window: window, ratioTolerance: 0.1)
            var state = HeteroScaleState()
            var d: HeteroScaleDecision?
            for (i, tps) in samples.enumerated() {
                d = policy.decide(group(10, tps: tps / 3.5), state: &state, now: t0 + Double(i) * 2)
            }
            #expect(d?.total == expected, "window \(window)")
        }
    }

    @Test("after a controller restart the window holds the current count: no scale-in until it has passed")
    func seededAfterRestart() throws {
        let policy = try policy(window: 60)
        var state = AutoscalerState.seeded(currentReplicas: 10, now: t0).heteroScale ?? HeteroScaleState()
        let early = policy.decide(group(10, tps: 300), state: &state, now: t0 + 30)
        #expect(early.direction == .hold)
        #expect(early.limitedBy == .stabilization)
        let late = policy.decide(group(10, tps: 300), state: &state, now: t0 + 60)
        #expect(late.direction == .scaleIn)
        #expect(late.total == 3)
    }

    @Test("the window is bounded: old needs are dropped, so the state stays small")
    func bounded() throws {
        let policy = try policy(window: 60)
        var state = HeteroScaleState()
        for i in 0..<1000 { _ = policy.decide(group(10, tps: 1000), state: &state, now: t0 + Double(i) * 2) }
        #expect(state.recentNeeds.count == 30)
    }

    @Test("validation: the window is in [0, 3600] seconds", arguments: [
        (-1.0, false), (0, true), (60, true), (3600, true), (3601, false), (Double.nan, false), (Double.infinity, false),
    ])
    func validation(window: Double, valid: Bool) {
        var spec = HeteroScaleSpec()
        spec.targetDecodeTPSPerInstance = 100
        spec.scaleInStabilizationSeconds = window
        let issues = HeteroScalePolicy.validate(spec)
        #expect(issues.isEmpty == valid)
        if !valid { #expect(issues.map(\.field) == ["spec.heteroScale.scaleInStabilizationSeconds"]) }
    }

    @Test("state written before the window existed decodes with an empty window")
    func decodesOldState() throws {
        let json = #"{"lastScaleOutTime": 700000000}"#
        let state = try JSONDecoder().decode(HeteroScaleState.self, from: Data(json.utf8))
        #expect(state.lastScaleOutTime == Date(timeIntervalSinceReferenceDate: 700_000_000))
        #expect(state.recentNeeds.isEmpty)
        let round = try JSONDecoder().decode(HeteroScaleState.self, from: JSONEncoder().encode(
            HeteroScaleState(recentNeeds: [.init(time: t0, instances: 2.5)])))
        #expect(round.recentNeeds == [.init(time: t0, instances: 2.5)])
    }

    @Test("a decision that is not applied keeps the window (an observation) but not the scale-in clock")
    func withoutScaleAction() throws {
        let policy = try policy(window: 60)
        var state = AutoscalerState()
        var hs = HeteroScaleState()
        let d = policy.decide(group(10, tps: 300), state: &hs, now: t0)
        #expect(d.direction == .scaleIn)
        state.heteroScale = hs
        let kept = state.withoutScaleAction(restoring: AutoscalerState())
        #expect(kept.heteroScale?.lastScaleInTime == nil)
        #expect(kept.heteroScale?.recentNeeds == [.init(time: t0, instances: 3)])
    }
}
