import Foundation
import KubeAPI
import Testing
@testable import Autoscaling

@Suite struct HybridStrategyTests {
    /// A Hybrid spec over a 1:3 P/D group: HeteroScale at 1000 decode tok/s per instance with a TTFT SLO of
    /// 1000 ms; the SLA floor from an inline profile (prefill 10000 tok/s/GPU at ISL 2000; decode 1000 tok/s/GPU
    /// at the 50 ms ITL target), 60 s intervals.
    static func spec(predictor: String = "constant", configure: (inout PodAutoscalerSpec) -> Void = { _ in }) -> PodAutoscalerSpec {
        DecisionWiringTests.pdSpec("Hybrid", min: 2, max: 100) { spec in
            var hs = HeteroScaleSpec()
            hs.targetDecodeTPSPerInstance = 1000
            hs.latency = LatencyFeedbackSpec()
            hs.latency?.ttftSLOMilliseconds = 1000
            spec.heteroScale = hs
            var sla = SLASpec()
            sla.adjustmentIntervalSeconds = 60
            sla.loadPredictor = predictor
            sla.seasonLength = 24
            var profile = SLAProfileSpec()
            profile.prefill = [PrefillProfilePoint(isl: 2000, ttftMilliseconds: 200, throughputPerGPU: 10000)]
            profile.decode = [
                DecodeProfilePoint(kvUsage: 0.2, context: 2100, itlMilliseconds: 30, throughputPerGPU: 500),
                DecodeProfilePoint(kvUsage: 0.5, context: 2100, itlMilliseconds: 50, throughputPerGPU: 1000),
                DecodeProfilePoint(kvUsage: 0.8, context: 2100, itlMilliseconds: 70, throughputPerGPU: 1300),
            ]
            sla.profile = profile
            spec.sla = sla
            spec.hybrid = HybridSpec(floorLookaheadSeconds: 120)
            configure(&spec)
        }
    }

    static func signals(rate: Double, decodeTPS: Double, ttftP90: Double? = nil) -> [String: Double] {
        var s: [String: Double] = [
            Signal.numRequests: rate, Signal.intervalSeconds: 60, Signal.averageISL: 2000, Signal.averageOSL: 200,
            Signal.decodeTPS: decodeTPS,
        ]
        if let ttftP90 { s[Signal.ttftP90Milliseconds] = ttftP90 }
        return s
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var prefill: Int, decode: Int
        var rate: Double, decodeTPS: Double, ttftP90: Double?
        var floorTotal = 8
        var desired: Int
        var prefillWant: Int, decodeWant: Int
        var reasonHas: [String]
        var testDescription: String { name }
    }

    // Rate 10 req/s → plan P 2 (20000 tok/s ÷ 10000), D 2 (2000 tok/s ÷ 1000): at 1:3 the smallest total covering
    // both is 8 (P 2, D 6).
    static let cases: [Case] = [
        Case(name: "floor holds scale above HeteroScale's TPS need", prefill: 1, decode: 3, rate: 10, decodeTPS: 500, ttftP90: nil,
             desired: 8, prefillWant: 2, decodeWant: 6, reasonHas: ["Hybrid: SLA floor 8 (plan P 2, D 2", "> HeteroScale's", "→ scale out to 8 (P 2, D 6)"]),
        Case(name: "TPS control scales above the floor", prefill: 1, decode: 3, rate: 10, decodeTPS: 12000, ttftP90: nil,
             desired: 12, prefillWant: 3, decodeWant: 9, reasonHas: ["Hybrid: SLA floor 8", "≤ HeteroScale: decode TPS 12000", "scale out to 12"]),
        Case(name: "latency feedback adds on top of the floor", prefill: 2, decode: 6, rate: 10, decodeTPS: 8000, ttftP90: 1600,
             desired: 12, prefillWant: 3, decodeWant: 9, reasonHas: ["Hybrid: SLA floor 8", "scale out (latency)", "latency tier 2"]),
        // Rate 14 → plan P 3, D 3 → floor 12 (P 3, D 9); TPS alone would scale in to 8.
        Case(name: "floor stops a TPS scale-in below it", prefill: 3, decode: 9, rate: 14, decodeTPS: 1000, ttftP90: nil, floorTotal: 12,
             desired: 12, prefillWant: 3, decodeWant: 9, reasonHas: ["SLA floor 12", "> HeteroScale's 8 → hold at 12 (P 3, D 9)"]),
    ]

    @Test(arguments: cases)
    func floorAndFeedback(_ c: Case) throws {
        let spec = Self.spec()
        #expect(Autoscaler.validate(spec).isEmpty)
        var state = AutoscalerState()
        let snapshot = DecisionWiringTests.pdSnapshot(prefill: c.prefill, decode: c.decode, signals: Self.signals(rate: c.rate, decodeTPS: c.decodeTPS, ttftP90: c.ttftP90))
        let d = Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: refTime)
        #expect(d.scalingActive)
        #expect(d.desiredReplicas == c.desired, "\(d.reason)")
        #expect(d.replicas(ofRole: "prefill") == c.prefillWant)
        #expect(d.replicas(ofRole: "decode") == c.decodeWant)
        for part in c.reasonHas { #expect(d.reason.contains(part), "\(d.reason)") }
        #expect(d.details.strategy == "Hybrid")
        #expect(d.details.extra["floorTotal"] == Double(c.floorTotal))
        if c.desired == c.prefill + c.decode { #expect(state.heteroScale?.lastScaleInTime == nil) }
        #expect(!d.reason.contains("\n"))
    }

    /// On a linear ramp, the Prophet-like floor looks `floorLookaheadSeconds` (two 60 s intervals) ahead: its
    /// predicted rate leads the observed one by about two steps, and the group is sized for it while decode TPS
    /// (what HeteroScale reads) still shows the current load.
    @Test func floorScalesAheadOfTheRamp() throws {
        let spec = Self.spec(predictor: "prophet")
        var state = AutoscalerState()
        var prefill = 1, decode = 3
        for i in 0..<12 {
            let rate = 4 + Double(i)
            let snapshot = DecisionWiringTests.pdSnapshot(prefill: prefill, decode: decode, signals: Self.signals(rate: rate, decodeTPS: rate * 200))
            let d = Autoscaler.decide(spec: spec, snapshot: snapshot, state: &state, now: refTime.addingTimeInterval(Double(i) * 60))
            prefill = d.replicas(ofRole: "prefill") ?? prefill
            decode = d.replicas(ofRole: "decode") ?? decode
            guard i >= 6 else { continue }
            let predicted = try #require(d.details.extra["floor.predictedRequestsPerSecond"])
            #expect(abs(predicted - (rate + 2)) < 0.3, "t=\(i): predicted \(predicted) for observed \(rate)")
            // Prefill sized for the predicted rate: ⌈(rate + 2) · 2000 / 10000⌉, more than the current rate needs.
            #expect(prefill >= Int(((rate + 2) * 0.2 - 1e-9).rounded(.up)))
        }
    }

    @Test func validationNamesTheFields() {
        var missing = Self.spec()
        missing.heteroScale?.targetDecodeTPSPerInstance = nil
        let issues = Autoscaler.validate(missing)
        #expect(issues.contains { $0.field.hasPrefix("spec.heteroScale") }, "\(issues)")
        let bad = Self.spec { $0.hybrid = HybridSpec(floorLookaheadSeconds: -1, floorFactor: 0) }
        let fields = Set(Autoscaler.validate(bad).map(\.field))
        #expect(fields.isSuperset(of: ["spec.hybrid.floorLookaheadSeconds", "spec.hybrid.floorFactor"]))
        // Without a profile the planner learns online: no issue.
        let online = Self.spec { $0.sla?.profile = nil }
        #expect(Autoscaler.validate(online).isEmpty)
        #expect(ScalingStrategy(rawValue: "Hybrid") == .hybrid)
    }

    /// Without a plan yet (an online profile with no pairs), there is no floor: HeteroScale decides alone.
    @Test func noFloorUntilThePlannerCanPlan() {
        let spec = Self.spec { $0.sla?.profile = nil }
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: DecisionWiringTests.pdSnapshot(prefill: 1, decode: 3, signals: Self.signals(rate: 10, decodeTPS: 8000)),
                                  state: &state, now: refTime)
        #expect(d.reason.hasPrefix("Hybrid: no SLA floor yet"))
        #expect(d.desiredReplicas == 8)
        #expect(state.heteroScale?.lastScaleOutTime == refTime)
    }
}
