import Foundation
import KubeAPI
import Testing
@testable import Autoscaling

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

/// A linear profile that makes the arithmetic easy to follow:
/// prefill ISL 1000 → TTFT 100 ms, 10 000 tok/s/GPU; ISL 3000 → 300 ms, 9 000 tok/s/GPU
/// (so ISL 2000 → TTFT 200 ms, 9 500 tok/s/GPU);
/// decode at context 2100: KV 0.2 → ITL 20 ms, 500 tok/s/GPU; 0.5 → 40 ms, 1 000; 0.8 → 70 ms, 1 300.
private func linearProfile(maxKVTokens: Double? = nil) throws -> SLAProfile {
    try SLAProfile(
        prefill: [
            PrefillProfilePoint(isl: 1000, ttftMilliseconds: 100, throughputPerGPU: 10_000),
            PrefillProfilePoint(isl: 3000, ttftMilliseconds: 300, throughputPerGPU: 9_000),
        ],
        decode: [
            DecodeProfilePoint(kvUsage: 0.2, context: 2100, itlMilliseconds: 20, throughputPerGPU: 500),
            DecodeProfilePoint(kvUsage: 0.5, context: 2100, itlMilliseconds: 40, throughputPerGPU: 1000),
            DecodeProfilePoint(kvUsage: 0.8, context: 2100, itlMilliseconds: 70, throughputPerGPU: 1300),
        ],
        method: .linear, maxKVTokens: maxKVTokens)
}

private func makePlanner(_ configure: (inout SLASpec) -> Void = { _ in }, maxKVTokens: Double? = nil) throws -> SLAPlanner {
    var spec = SLASpec()
    spec.loadPredictor = "constant"
    configure(&spec)
    return SLAPlanner(spec: spec, profile: try linearProfile(maxKVTokens: maxKVTokens))
}

/// 3 600 requests of ISL 2000 / OSL 200 over 180 s.
private func observation(
    requests: Double = 3600, ttft: Double? = 200, itl: Double? = 40, kv: Double? = 0.5, interval: Double = 180
) -> SLAObservation {
    SLAObservation(numRequests: requests, avgISL: 2000, avgOSL: 200, ttftMilliseconds: ttft, itlMilliseconds: itl,
                   intervalSeconds: interval, decodeKVUsage: kv)
}

@Suite("SLA planner")
struct SLAPlannerTests {
    @Test("Dynamo's formulas on a hand-computed example")
    func handComputed() throws {
        let planner = try makePlanner()
        var state = SLAState()
        let d = planner.decide(observation(), state: &state, now: t0)
        // Corrections: TTFT 200 / expected 200 at ISL 2000 = 1; ITL 40 / expected 40 at KV 0.5, context
        // 2000 + 200/2 = 2100 → 1.
        #expect(d.corrections == SLACorrections(prefill: 1, decode: 1))
        // Prefill: 3600 · 2000 / 180 = 40 000 tok/s · min(1, 1) / 9 500 tok/s/GPU / 1 GPU = 4.21 → 5.
        #expect(d.prefillReplicas == 5)
        // Decode: ITL 50 / 1 = 50 ms is reached at KV 0.5 + (50 − 40)/(70 − 40) · 0.3 = 0.6, where the
        // throughput is 1000 + (0.1/0.3) · 300 = 1 100 tok/s/GPU; demand 3600 · 200 / 180 = 4 000 tok/s;
        // 4000 / 1100 = 3.64 → 4.
        #expect(d.decodeReplicas == 4)
        #expect(d.predicted == SLAPredictedLoad(requests: 3600, isl: 2000, osl: 200, requestsPerSecond: 20))
        #expect(d.replanned)
        #expect(!d.advisory)
        #expect(d.limitedBy == nil)
        #expect(d.reason == "SLA: predicted 3600 req/180 s (20.00 req/s), ISL 2000, OSL 200 (constant); "
            + "prefill 40000 tok/s (corr 1.00) / 9500 tok/s/GPU / 1 GPU → 5; "
            + "decode 4000 tok/s / 1100 tok/s/GPU at ITL 50 ms (target 50 / corr 1.00, KV 60%) / 1 GPU → 4")
        let op = planner.profile!.bestDecodeThroughput(itlMilliseconds: 50, context: 2100)
        #expect(abs(op.kvUsage - 0.6) < 1e-9)
        #expect(abs(op.throughputPerGPU - 1100) < 1e-6)
    }

    struct CorrectionCase: Sendable, CustomTestStringConvertible {
        var ttft: Double
        var itl: Double
        var prefillCorrection: Double
        var decodeCorrection: Double
        var prefill: Int
        var decode: Int
        var testDescription: String { "TTFT \(ttft), ITL \(itl) → P \(prefill), D \(decode)" }
    }

    @Test("correction factors", arguments: [
        // TTFT 300 / 200 = 1.5, but prefill only ever uses min(1, p_corr): still 40 000 / 9 500 → 5.
        // ITL 60 / 40 = 1.5 → target 50 / 1.5 = 33.3 ms, reached at KV 0.2 + (13.33/20) · 0.3 = 0.4 where the
        // throughput is 500 + (0.2/0.3) · 500 = 833.3; 4000 / 833.3 = 4.8 → 5.
        CorrectionCase(ttft: 300, itl: 60, prefillCorrection: 1.5, decodeCorrection: 1.5, prefill: 5, decode: 5),
        // TTFT 100 / 200 = 0.5 (prefix-cache hits): 40 000 · 0.5 / 9 500 = 2.1 → 3.
        // ITL 20 / 40 = 0.5 → target 100 ms: beyond the profile, so the highest KV (0.8, 1300) → 4000/1300 = 3.08 → 4.
        CorrectionCase(ttft: 100, itl: 20, prefillCorrection: 0.5, decodeCorrection: 0.5, prefill: 3, decode: 4),
    ])
    func corrections(_ c: CorrectionCase) throws {
        let planner = try makePlanner()
        var state = SLAState()
        let d = planner.decide(observation(ttft: c.ttft, itl: c.itl), state: &state, now: t0)
        #expect(abs(d.corrections.prefill - c.prefillCorrection) < 1e-9)
        #expect(abs(d.corrections.decode - c.decodeCorrection) < 1e-9)
        #expect(d.prefillReplicas == c.prefill)
        #expect(d.decodeReplicas == c.decode)
        #expect(state.corrections == d.corrections)
    }

    @Test("corrections persist when they cannot be recomputed, and can be disabled")
    func correctionPersistence() throws {
        let planner = try makePlanner()
        var state = SLAState()
        _ = planner.decide(observation(ttft: 300, itl: 60), state: &state, now: t0)
        let d = planner.decide(observation(ttft: nil, itl: 60, kv: nil), state: &state, now: t0 + 180)
        #expect(d.corrections == SLACorrections(prefill: 1.5, decode: 1.5))
        #expect(d.reason.contains("decode correction kept (no KV usage)"))
        let off = try makePlanner { $0.disableCorrection = true }
        var fresh = SLAState()
        #expect(off.decide(observation(ttft: 300, itl: 60), state: &fresh, now: t0).corrections == SLACorrections())
    }

    @Test("without an observed KV usage it is estimated from concurrency (needs maxKVTokens)")
    func kvFromConcurrency() throws {
        let planner = try makePlanner(maxKVTokens: 210_000)
        var state = SLAState()
        var obs = observation(itl: 60, kv: nil)
        obs.requestDurationSeconds = 10
        obs.decodeReplicas = 4
        // Concurrency 3600 / 4 · 10 / 180 = 50 requests per instance; 50 · 2100 / 210 000 = KV 0.5 → expected
        // ITL 40 → d_corr 60 / 40 = 1.5, as above → 5 decode.
        let d = planner.decide(obs, state: &state, now: t0)
        #expect(abs(d.corrections.decode - 1.5) < 1e-9)
        #expect(d.decodeReplicas == 5)
    }

    @Test("counts over a shorter window are rescaled to the planning interval")
    func rescale() throws {
        let planner = try makePlanner()
        var state = SLAState()
        // 1 200 requests in 60 s = 3 600 per 180 s.
        let d = planner.decide(observation(requests: 1200, interval: 60), state: &state, now: t0)
        #expect(d.predicted?.requests == 3600)
        #expect(d.prefillReplicas == 5 && d.decodeReplicas == 4)
    }

    @Test("re-plans only every adjustment interval; in between the last plan stands")
    func interval() throws {
        let planner = try makePlanner()
        var state = SLAState()
        let first = planner.decide(observation(), state: &state, now: t0)
        let held = planner.decide(observation(requests: 36_000), state: &state, now: t0 + 179)
        #expect(!held.replanned)
        #expect(held.prefillReplicas == first.prefillReplicas && held.decodeReplicas == first.decodeReplicas)
        #expect(held.reason == first.reason)
        #expect(held.plannedAt == t0)
        #expect(state.requestPredictor?.count == 1)
        let next = planner.decide(observation(requests: 36_000), state: &state, now: t0 + 180)
        #expect(next.replanned)
        // Ten times the load: 400 000 / 9 500 = 42.1 → 43; 40 000 / 1 100 = 36.4 → 37.
        #expect(next.prefillReplicas == 43)
        #expect(next.decodeReplicas == 37)
        #expect(state.requestPredictor?.count == 2)
    }

    @Test("GPU budget: both scale down proportionally, each keeps its minimum")
    func budget() throws {
        // (5, 4) needs 9 GPUs; budget 6 → scale 6/9: prefill ⌊5 · 0.667⌋ = 3, decode the 3 GPUs left.
        let planner = try makePlanner { $0.maxGPUBudget = 6 }
        var state = SLAState()
        let d = planner.decide(observation(), state: &state, now: t0)
        #expect(d.prefillReplicas == 3 && d.decodeReplicas == 3)
        #expect(d.limitedBy == .budget)
        #expect(d.reason.contains("GPU budget 6 < 9 required → P 3, D 3"))
        // Decode instances of 2 GPUs: 5 + 4·2 = 13 > 10 → scale 10/13; prefill ⌊3.85⌋ = 3 (≤ (10 − 2)/1 = 8),
        // decode ⌊(10 − 3)/2⌋ = 3.
        #expect(SLAPlanner.applyBudget(prefill: 5, decode: 4, prefillGPUs: 1, decodeGPUs: 2, budget: 10, minPrefill: 1, minDecode: 1) == (3, 3, true))
        // Within budget: untouched.
        #expect(SLAPlanner.applyBudget(prefill: 5, decode: 4, prefillGPUs: 1, decodeGPUs: 1, budget: 9, minPrefill: 1, minDecode: 1) == (5, 4, false))
        // A budget below the minimums keeps the minimums (Dynamo would return 0, 0).
        #expect(SLAPlanner.applyBudget(prefill: 5, decode: 4, prefillGPUs: 4, decodeGPUs: 4, budget: 6, minPrefill: 1, minDecode: 1) == (1, 1, true))
        // Prefill is floored but decode's minimum is reserved: 20 + 1 over budget 4 → prefill ≤ 3.
        #expect(SLAPlanner.applyBudget(prefill: 20, decode: 1, prefillGPUs: 1, decodeGPUs: 1, budget: 4, minPrefill: 1, minDecode: 1) == (3, 1, true))
    }

    @Test("role minimums and maximums")
    func bounds() throws {
        let planner = try makePlanner { $0.minReplicasPerRole = 2 }
        var state = SLAState()
        var obs = observation(requests: 36)
        obs.decodeReplicaRange = 1...3
        // Tiny load: 1 each by the formulas → raised to 2.
        var d = planner.decide(obs, state: &state, now: t0)
        #expect(d.prefillReplicas == 2 && d.decodeReplicas == 2)
        // Large load: decode capped at 3.
        obs = observation(requests: 36_000)
        obs.decodeReplicaRange = 1...3
        d = planner.decide(obs, state: &state, now: t0 + 180)
        #expect(d.decodeReplicas == 3)
        #expect(d.limitedBy == .maxReplicas)
    }

    @Test("before any traffic: hold (current or minimums)")
    func noData() throws {
        let planner = try makePlanner()
        var state = SLAState()
        var obs = SLAObservation(numRequests: 0, avgISL: nil, avgOSL: nil, intervalSeconds: 180)
        var d = planner.decide(obs, state: &state, now: t0)
        #expect(d.prefillReplicas == 1 && d.decodeReplicas == 1)
        #expect(d.limitedBy == .noData)
        obs.prefillReplicas = 2
        obs.decodeReplicas = 6
        d = planner.decide(obs, state: &state, now: t0 + 180)
        #expect(d.prefillReplicas == 2 && d.decodeReplicas == 6)
        #expect(state.requestPredictor?.count == 0) // leading zeros are skipped
    }

    @Test("advisory passes through")
    func advisory() throws {
        let planner = try makePlanner { $0.advisory = true }
        var state = SLAState()
        let d = planner.decide(observation(), state: &state, now: t0)
        #expect(d.advisory)
        #expect(d.reason.hasSuffix("(advisory)"))
        #expect(planner.decide(observation(), state: &state, now: t0 + 1).advisory)
    }

    @Test("defaults and validation")
    func validation() throws {
        let p = SLAParameters(spec: SLASpec())
        #expect(p.adjustmentIntervalSeconds == 180 && p.ttftMilliseconds == 500 && p.itlMilliseconds == 50)
        #expect(p.predictor == .arima && p.predictionWindow == 50 && p.minReplicasPerRole == 1)
        var spec = SLASpec()
        spec.adjustmentIntervalSeconds = 0
        spec.loadPredictor = "prophecy"
        spec.predictionWindow = 3
        spec.decodeGPUsPerInstance = 0
        var profile = SLAProfileSpec()
        profile.interpolation = "spline"
        profile.prefill = [PrefillProfilePoint(isl: 100, ttftMilliseconds: 10, throughputPerGPU: -1)]
        spec.profile = profile
        #expect(SLAPlanner.validate(spec).map(\.field) == [
            "spec.sla.adjustmentIntervalSeconds", "spec.sla.loadPredictor", "spec.sla.predictionWindow",
            "spec.sla.decodeGPUsPerInstance", "spec.sla.profile.interpolation", "spec.sla.profile", "spec.sla.profile",
        ])
        var hw = SLASpec()
        hw.loadPredictor = "holtWinters"
        hw.seasonLength = 30
        hw.profile = SLAProfileSpec()
        hw.profile?.file = "/profiles/llama.csv"
        #expect(SLAPlanner.validate(hw).map(\.field) == ["spec.sla.predictionWindow"])
        // No profile: learned online (OnlineProfileTests), so an empty spec is valid.
        #expect(SLAPlanner.validate(SLASpec()).isEmpty)
        #expect(throws: SLAProfileError.self) { try SLAPlanner(spec: hw) }
    }

    @Test("a planner from inline spec points matches the hand example")
    func fromSpec() throws {
        var spec = SLASpec()
        spec.loadPredictor = "constant"
        var profile = SLAProfileSpec()
        profile.interpolation = "linear"
        let base = try linearProfile()
        profile.prefill = base.prefillPoints
        profile.decode = base.decodePoints
        spec.profile = profile
        let planner = try SLAPlanner(spec: spec)
        var state = SLAState()
        let d = planner.decide(observation(), state: &state, now: t0)
        #expect(d.prefillReplicas == 5 && d.decodeReplicas == 4)
    }

    @Test("profile CSV parsing")
    func csv() throws {
        let text = """
        # profiled on 1×H100
        role,isl,ttft_ms,kv_usage,context,itl_ms,throughput_per_gpu
        prefill,1000,100,,,,10000
        prefill,3000,300,,,,9000

        decode,,,0.2,2100,20,500
        "decode",,,0.5,2100,40,1000
        decode,,,0.8,2100,70,1300\r
        """
        let profile = try SLAProfile.parse(csv: text, method: .linear)
        let expected = try linearProfile()
        #expect(profile == expected)
        #expect(profile.expectedTTFT(isl: 2000) == 200)
        #expect(profile.prefillThroughputPerGPU(isl: 5000) == 9000) // clamped
        // Without a role column a row with a KV usage is a decode point.
        let inferred = try SLAProfile.parsePoints(csv: "isl,kvUsage,context,ttft,itl,thpt_per_gpu\n512,,,50,,20000\n,0.3,600,,12,800")
        #expect(inferred.prefill == [PrefillProfilePoint(isl: 512, ttftMilliseconds: 50, throughputPerGPU: 20000)])
        #expect(inferred.decode == [DecodeProfilePoint(kvUsage: 0.3, context: 600, itlMilliseconds: 12, throughputPerGPU: 800)])
        #expect(throws: SLAProfileError("isl \"abc\" is not a number", line: 3)) {
            try SLAProfile.parsePoints(csv: "role,isl,ttft_ms,throughput_per_gpu\nprefill,1,2,3\nprefill,abc,2,3")
        }
        #expect(throws: SLAProfileError("the header has no throughput_per_gpu column", line: 1)) {
            try SLAProfile.parsePoints(csv: "role,isl,ttft_ms")
        }
        #expect(throws: SLAProfileError.self) { try SLAProfile.parse(csv: "role,isl,ttft_ms,throughput_per_gpu\nprefill,1,2,3") }
    }

    @Test("decode lookups mix the two context slices around a context")
    func contextSlices() throws {
        // Slice 1000: ITL = 10 + 20·kv; slice 3000: ITL = 20 + 40·kv (throughput likewise ×100).
        let profile = try SLAProfile(
            prefill: [PrefillProfilePoint(isl: 1000, ttftMilliseconds: 100, throughputPerGPU: 1000)],
            decode: [
                DecodeProfilePoint(kvUsage: 0, context: 1000, itlMilliseconds: 10, throughputPerGPU: 1000),
                DecodeProfilePoint(kvUsage: 1, context: 1000, itlMilliseconds: 30, throughputPerGPU: 3000),
                DecodeProfilePoint(kvUsage: 0, context: 3000, itlMilliseconds: 20, throughputPerGPU: 2000),
                DecodeProfilePoint(kvUsage: 1, context: 3000, itlMilliseconds: 60, throughputPerGPU: 6000),
            ], method: .linear)
        // Context 2000 is halfway: ITL = 0.5(10 + 20kv) + 0.5(20 + 40kv) = 15 + 30kv.
        #expect(profile.expectedITL(kvUsage: 0.5, context: 2000) == 30)
        #expect(profile.expectedITL(kvUsage: 0.5, context: 500) == 20) // clamped to the first slice
        #expect(profile.expectedITL(kvUsage: 0.5, context: 9000) == 40) // and the last
        let op = profile.bestDecodeThroughput(itlMilliseconds: 30, context: 2000)
        #expect(abs(op.kvUsage - 0.5) < 1e-9)
        #expect(abs(op.throughputPerGPU - 3000) < 1e-6) // 0.5(1000 + 2000·0.5) + 0.5(2000 + 4000·0.5)
        #expect(op.meetsTarget)
        let unreachable = profile.bestDecodeThroughput(itlMilliseconds: 5, context: 2000)
        #expect(!unreachable.meetsTarget)
        #expect(unreachable.kvUsage == 0)
        #expect(unreachable.throughputPerGPU == 1500)
    }

    @Test("the default ARIMA planner runs over a growing load and the state round-trips")
    func arimaEndToEnd() throws {
        var spec = SLASpec()
        spec.profile = SLAProfileSpec()
        let planner = SLAPlanner(spec: spec, profile: try linearProfile())
        var state = SLAState()
        var last: SLADecision?
        for i in 0..<30 {
            let obs = observation(requests: 1800 + 60 * Double(i))
            last = planner.decide(obs, state: &state, now: t0 + 180 * Double(i))
        }
        let d = try #require(last)
        // Load at step 29 is 3540 per interval; the forecast continues the trend to about 3600 → as in the
        // hand example.
        #expect(abs((d.predicted?.requests ?? 0) - 3600) < 40)
        #expect(d.prefillReplicas == 5 && d.decodeReplicas == 4)
        let decoded = try JSONDecoder().decode(SLAState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
    }
}
