import Foundation
import KubeAPI

/// What the SLA planner observed over the last interval (frontend metrics).
public struct SLAObservation: Sendable, Hashable {
    /// Requests in the observation window.
    public var numRequests: Double
    /// Average input / output sequence length over the window (nil: no requests).
    public var avgISL: Double?
    public var avgOSL: Double?
    /// Average TTFT and ITL over the window in milliseconds (nil: unknown; no correction update).
    public var ttftMilliseconds: Double?
    public var itlMilliseconds: Double?
    /// Length of the observation window in seconds; counts are rescaled to the planner's interval.
    public var intervalSeconds: Double
    /// Average KV-cache usage (0…1) of the decode pool, for the expected ITL of the decode correction. When
    /// nil it is estimated, as Dynamo does, from concurrency: `numRequests / decodeReplicas ×
    /// requestDurationSeconds / intervalSeconds × context / maxKVTokens` (needs the three and the profile's
    /// `maxKVTokens`); without any of them the decode correction is left as it was.
    public var decodeKVUsage: Double?
    public var requestDurationSeconds: Double?
    /// Current replicas (for the hold when nothing can be planned, and the KV estimate).
    public var prefillReplicas: Int?
    public var decodeReplicas: Int?
    /// Role bounds (DeploymentGroup `roles[].minReplicas/maxReplicas`), applied on top of `minReplicasPerRole`.
    public var prefillReplicaRange: ClosedRange<Int>?
    public var decodeReplicaRange: ClosedRange<Int>?
    /// Served prompt tokens/s (prefill pool) and generated tokens/s (decode pool), for the online profile; when
    /// nil, the load is taken from the arrivals (`numRequests × avgISL` or `× avgOSL` per second).
    public var prefillTPS: Double?
    public var decodeTPS: Double?
    /// Serving (ready) replicas per role, for the online profile's load per GPU (default: the current replicas).
    public var prefillReadyReplicas: Int?
    public var decodeReadyReplicas: Int?

    public init(
        numRequests: Double, avgISL: Double?, avgOSL: Double?, ttftMilliseconds: Double? = nil,
        itlMilliseconds: Double? = nil, intervalSeconds: Double, decodeKVUsage: Double? = nil,
        requestDurationSeconds: Double? = nil, prefillReplicas: Int? = nil, decodeReplicas: Int? = nil,
        prefillReplicaRange: ClosedRange<Int>? = nil, decodeReplicaRange: ClosedRange<Int>? = nil
    ) {
        self.numRequests = numRequests
        self.avgISL = avgISL
        self.avgOSL = avgOSL
        self.ttftMilliseconds = ttftMilliseconds
        self.itlMilliseconds = itlMilliseconds
        self.intervalSeconds = intervalSeconds
        self.decodeKVUsage = decodeKVUsage
        self.requestDurationSeconds = requestDurationSeconds
        self.prefillReplicas = prefillReplicas
        self.decodeReplicas = decodeReplicas
        self.prefillReplicaRange = prefillReplicaRange
        self.decodeReplicaRange = decodeReplicaRange
    }
}

/// The load the planner expects over the next interval.
public struct SLAPredictedLoad: Codable, Sendable, Hashable {
    /// Requests per planning interval.
    public var requests: Double
    public var isl: Double
    public var osl: Double
    public var requestsPerSecond: Double
    public init(requests: Double, isl: Double, osl: Double, requestsPerSecond: Double) {
        self.requests = requests
        self.isl = isl
        self.osl = osl
        self.requestsPerSecond = requestsPerSecond
    }
}

/// Observed / expected latency ratios (1 = the profile is right).
public struct SLACorrections: Codable, Sendable, Hashable {
    /// `actual TTFT / expected TTFT` at the observed ISL.
    public var prefill: Double
    /// `actual ITL / expected ITL` at the observed KV usage and context `isl + osl/2`.
    public var decode: Double
    public init(prefill: Double = 1, decode: Double = 1) {
        self.prefill = prefill
        self.decode = decode
    }
}

/// One plan of the SLA planner.
public struct SLAPlan: Codable, Sendable, Hashable {
    public enum Limit: String, Codable, Sendable, Hashable {
        /// The GPU budget scaled the plan down.
        case budget
        /// A role's maximum replicas capped it.
        case maxReplicas
        /// Nothing to plan from yet (no ISL/OSL observed): replicas held.
        case noData
    }
    public var prefillReplicas: Int
    public var decodeReplicas: Int
    public var predicted: SLAPredictedLoad?
    public var corrections: SLACorrections
    public var limitedBy: Limit?
    public var reason: String
}

/// The planner's output for one call.
public struct SLADecision: Sendable, Hashable {
    public var prefillReplicas: Int
    public var decodeReplicas: Int
    public var predicted: SLAPredictedLoad?
    public var corrections: SLACorrections
    public var limitedBy: SLAPlan.Limit?
    public var reason: String
    /// The spec's advisory flag: decide and report, but do not scale.
    public var advisory: Bool
    /// False when the interval has not elapsed and this is the previous plan again.
    public var replanned: Bool
    /// When the current plan was made.
    public var plannedAt: Date
}

/// The SLA planner's memory: the three load predictors, the correction factors and the last plan.
public struct SLAState: Codable, Sendable, Equatable {
    public var requestPredictor: LoadPredictor?
    public var islPredictor: LoadPredictor?
    public var oslPredictor: LoadPredictor?
    public var corrections: SLACorrections
    public var lastPlanTime: Date?
    public var lastPlan: SLAPlan?
    /// The learned profile, when the spec gives none.
    public var learned: SLAOnlineProfile?
    public init() {
        corrections = SLACorrections()
    }
}

/// `SLASpec` with every default filled in.
public struct SLAParameters: Sendable, Hashable {
    public var adjustmentIntervalSeconds: Double = 180
    public var ttftMilliseconds: Double = 500
    public var itlMilliseconds: Double = 50
    public var predictor: LoadPredictor.Kind = .arima
    public var predictionWindow: Int = LoadPredictor.defaultWindow
    public var seasonLength: Int = LoadPredictor.defaultSeasonLength
    public var prefillGPUsPerInstance: Int = 1
    public var decodeGPUsPerInstance: Int = 1
    public var maxGPUBudget: Int?
    public var minReplicasPerRole: Int = 1
    public var correction: Bool = true
    public var advisory: Bool = false
    public var prefillRole: String = "prefill"
    public var decodeRole: String = "decode"
    /// Planning intervals the request forecast looks ahead: the plan covers the largest forecast over
    /// `1…horizonIntervals` (1, Dynamo's next interval, for the SLA strategy; the Hybrid strategy's floor sets it
    /// from `hybrid.floorLookaheadSeconds`).
    public var horizonIntervals: Int = 1

    /// Defaults for anything missing or invalid (validation reports the invalid ones).
    public init(spec: SLASpec) {
        func positive(_ v: Double?) -> Double? { v.flatMap { $0.isFinite && $0 > 0 ? $0 : nil } }
        if let v = positive(spec.adjustmentIntervalSeconds) { adjustmentIntervalSeconds = v }
        if let v = positive(spec.ttftMilliseconds) { ttftMilliseconds = v }
        if let v = positive(spec.itlMilliseconds) { itlMilliseconds = v }
        if let name = spec.loadPredictor, let kind = LoadPredictor.Kind(name: name) { predictor = kind }
        if let w = spec.predictionWindow, w >= LoadPredictor.minimumPoints { predictionWindow = w }
        if let s = spec.seasonLength, s >= 2 { seasonLength = s }
        if let g = spec.prefillGPUsPerInstance, g >= 1 { prefillGPUsPerInstance = g }
        if let g = spec.decodeGPUsPerInstance, g >= 1 { decodeGPUsPerInstance = g }
        if let b = spec.maxGPUBudget, b >= 0 { maxGPUBudget = b }
        if let m = spec.minReplicasPerRole, m >= 0 { minReplicasPerRole = m }
        correction = !(spec.disableCorrection ?? false)
        advisory = spec.advisory ?? false
        if let r = spec.prefillRole, !r.isEmpty { prefillRole = r }
        if let r = spec.decodeRole, !r.isEmpty { decodeRole = r }
    }

    /// Every problem with `spec`, each naming its field under `path`. The profile's points are checked too when
    /// given inline.
    public static func validate(_ spec: SLASpec, path: String = "spec.sla") -> [StrategySpecIssue] {
        var issues: [StrategySpecIssue] = []
        func issue(_ field: String, _ message: String) { issues.append(StrategySpecIssue(field: "\(path).\(field)", message: message)) }
        for (v, f) in [(spec.adjustmentIntervalSeconds, "adjustmentIntervalSeconds"), (spec.ttftMilliseconds, "ttftMilliseconds"), (spec.itlMilliseconds, "itlMilliseconds")] {
            if let v, !(v.isFinite && v > 0) { issue(f, "must be a positive number, got \(v)") }
        }
        if let name = spec.loadPredictor, LoadPredictor.Kind(name: name) == nil {
            issue("loadPredictor", "unknown predictor \"\(name)\" (constant, movingAverage, holt, holtWinters, arima, kalman, prophet)")
        }
        if let w = spec.predictionWindow, w < LoadPredictor.minimumPoints {
            issue("predictionWindow", "must be at least \(LoadPredictor.minimumPoints), got \(w)")
        }
        if let s = spec.seasonLength, s < 2 { issue("seasonLength", "must be at least 2, got \(s)") }
        if let name = spec.loadPredictor, LoadPredictor.Kind(name: name) == .holtWinters {
            let window = spec.predictionWindow ?? LoadPredictor.defaultWindow
            let season = spec.seasonLength ?? LoadPredictor.defaultSeasonLength
            if window < 2 * season {
                issue("predictionWindow", "holtWinters needs a window of at least two seasons (\(2 * season)), got \(window)")
            }
        }
        for (v, f) in [(spec.prefillGPUsPerInstance, "prefillGPUsPerInstance"), (spec.decodeGPUsPerInstance, "decodeGPUsPerInstance")] {
            if let v, v < 1 { issue(f, "must be at least 1, got \(v)") }
        }
        if let b = spec.maxGPUBudget, b < 0 { issue("maxGPUBudget", "must not be negative, got \(b)") }
        if let m = spec.minReplicasPerRole, m < 0 { issue("minReplicasPerRole", "must not be negative, got \(m)") }
        if let p = spec.prefillRole, let d = spec.decodeRole, p == d { issue("decodeRole", "must differ from prefillRole (\(p))") }
        if let profile = spec.profile {
            if SLAProfile.method(named: profile.interpolation) == nil {
                issue("profile.interpolation", "unknown interpolation \"\(profile.interpolation ?? "")\" (monotoneCubic or linear)")
            }
            let hasPoints = !(profile.prefill ?? []).isEmpty || !(profile.decode ?? []).isEmpty
            if hasPoints {
                for problem in SLAProfile.problems(prefill: profile.prefill ?? [], decode: profile.decode ?? [], maxKVTokens: profile.maxKVTokens) {
                    issue("profile", problem)
                }
            } else if profile.file == nil {
                issue("profile", "needs prefill and decode points or a file")
            }
        }
        return issues
    }
}

/// The predictive SLA planner, after NVIDIA Dynamo's: every `adjustmentIntervalSeconds` it feeds the last
/// interval's request count, average ISL and average OSL into three load predictors, updates the correction
/// factors, and sizes each pool for the predicted load from the profile:
///
/// - prefill: `⌈next_req · next_isl / interval · min(1, p_corr) / thpt_per_gpu(next_isl) / gpus_per_prefill⌉`
/// - decode: `corrected_itl = itl_target / d_corr`; `thpt` = the best decode throughput per GPU whose ITL stays
///   within `corrected_itl` at context `next_isl + next_osl / 2`; `⌈next_req · next_osl / interval / thpt /
///   gpus_per_decode⌉`
/// - corrections: `p_corr = actual_ttft / expected_ttft(isl)`, `d_corr = actual_itl / expected_itl(kv, context)`
///   (kept from the previous interval when they cannot be computed).
/// - each role at least `minReplicasPerRole` (default 1) and inside the observed role bounds; then, when a GPU
///   budget is set and exceeded, both scale by `budget / required`, prefill floored (leaving room for the
///   decode minimum) and decode taking the GPUs left — never below their minimums (unlike Dynamo, which drops to
///   zero when the budget cannot hold the minimums; here the minimums win and the reason says so).
///
/// Between plans it returns the previous plan unchanged (`replanned == false`), so it can be called every tick.
public struct SLAPlanner: Sendable {
    public let parameters: SLAParameters
    /// The profiled performance; nil: learned online from observed (load, latency) pairs (`SLAOnlineProfile`).
    public let profile: SLAProfile?

    public init(spec: SLASpec, profile: SLAProfile?) {
        parameters = SLAParameters(spec: spec)
        self.profile = profile
    }

    public init(parameters: SLAParameters, profile: SLAProfile?) {
        self.parameters = parameters
        self.profile = profile
    }

    /// Builds the profile from the spec's inline points (a `file` must be resolved by the caller first); without
    /// `spec.profile` the planner learns it online.
    public init(spec: SLASpec) throws(SLAProfileError) {
        guard let profileSpec = spec.profile else {
            self.init(spec: spec, profile: nil)
            return
        }
        self.init(spec: spec, profile: try SLAProfile(spec: profileSpec))
    }

    public static func validate(_ spec: SLASpec, path: String = "spec.sla") -> [StrategySpecIssue] {
        SLAParameters.validate(spec, path: path)
    }

    public func decide(_ obs: SLAObservation, state: inout SLAState, now: Date) -> SLADecision {
        let p = parameters
        if let last = state.lastPlanTime, let plan = state.lastPlan, now.timeIntervalSince(last) < p.adjustmentIntervalSeconds,
           now >= last {
            return SLADecision(
                prefillReplicas: plan.prefillReplicas, decodeReplicas: plan.decodeReplicas, predicted: plan.predicted,
                corrections: plan.corrections, limitedBy: plan.limitedBy, reason: plan.reason, advisory: p.advisory,
                replanned: false, plannedAt: last)
        }
        let plan = makePlan(obs, state: &state)
        state.lastPlanTime = now
        state.lastPlan = plan
        return SLADecision(
            prefillReplicas: plan.prefillReplicas, decodeReplicas: plan.decodeReplicas, predicted: plan.predicted,
            corrections: plan.corrections, limitedBy: plan.limitedBy, reason: plan.reason, advisory: p.advisory,
            replanned: true, plannedAt: now)
    }

    /// Rounds up, forgiving floating-point noise just above an integer.
    static func ceilCount(_ x: Double) -> Int {
        guard x.isFinite else { return x > 0 ? Int.max / 4 : 0 }
        return Int(max(0, (x - 1e-9).rounded(.up)))
    }

    /// Dynamo's global GPU budget, with minimums that always hold. Returns the replicas and whether it bound.
    public static func applyBudget(
        prefill: Int, decode: Int, prefillGPUs: Int, decodeGPUs: Int, budget: Int?, minPrefill: Int, minDecode: Int
    ) -> (prefill: Int, decode: Int, limited: Bool) {
        guard let budget else { return (prefill, decode, false) }
        let required = prefill * prefillGPUs + decode * decodeGPUs
        guard required > budget else { return (prefill, decode, false) }
        let minimum = minPrefill * prefillGPUs + minDecode * decodeGPUs
        guard budget >= minimum else { return (minPrefill, minDecode, true) }
        let scale = Double(budget) / Double(required)
        let maxPrefill = (budget - minDecode * decodeGPUs) / prefillGPUs
        let p = max(minPrefill, min(maxPrefill, Int((Double(prefill) * scale).rounded(.down))))
        let d = max(minDecode, (budget - p * prefillGPUs) / decodeGPUs)
        return (p, d, true)
    }

    private func makePlan(_ obs: SLAObservation, state: inout SLAState) -> SLAPlan {
        let p = parameters
        let fmt = HeteroScaleFormat.compact
        func fresh() -> LoadPredictor { LoadPredictor(kind: p.predictor, window: p.predictionWindow, seasonLength: p.seasonLength) }
        func matches(_ l: LoadPredictor?) -> Bool {
            l.map { $0.kind == p.predictor && $0.window == p.predictionWindow && $0.seasonLength == p.seasonLength } ?? false
        }
        var requests = matches(state.requestPredictor) ? state.requestPredictor! : fresh()
        var isl = matches(state.islPredictor) ? state.islPredictor! : fresh()
        var osl = matches(state.oslPredictor) ? state.oslPredictor! : fresh()
        defer {
            state.requestPredictor = requests
            state.islPredictor = isl
            state.oslPredictor = osl
        }

        // Observe: one point per planning interval, counts rescaled to the interval.
        let window = obs.intervalSeconds.isFinite && obs.intervalSeconds > 0 ? obs.intervalSeconds : p.adjustmentIntervalSeconds
        let count = obs.numRequests.isFinite ? max(0, obs.numRequests) : 0
        requests.observe(count * p.adjustmentIntervalSeconds / window)
        let observedISL = obs.avgISL.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
        let observedOSL = obs.avgOSL.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
        if let v = observedISL { isl.observe(v) }
        if let v = observedOSL { osl.observe(v) }

        // Corrections.
        var corrections = state.corrections
        var correctionNotes: [String] = []
        if p.correction, count > 0, let profile {
            if let ttft = obs.ttftMilliseconds, ttft.isFinite, ttft > 0, let i = observedISL {
                let expected = profile.expectedTTFT(isl: i)
                if expected > 0 { corrections.prefill = ttft / expected }
            }
            if let itl = obs.itlMilliseconds, itl.isFinite, itl > 0, let i = observedISL, let o = observedOSL {
                let context = i + o / 2
                var kv = obs.decodeKVUsage.flatMap { $0.isFinite && $0 >= 0 ? min(1, $0) : nil }
                if kv == nil, let duration = obs.requestDurationSeconds, duration > 0, let replicas = obs.decodeReplicas,
                   replicas > 0, let maxKV = profile.maxKVTokens {
                    let concurrency = count / Double(replicas) * duration / window
                    kv = min(1, concurrency * context / maxKV)
                }
                if let kv {
                    let expected = profile.expectedITL(kvUsage: kv, context: context)
                    if expected > 0 { corrections.decode = itl / expected }
                } else {
                    correctionNotes.append("decode correction kept (no KV usage)")
                }
            }
            state.corrections = corrections
        }

        let minP = max(p.minReplicasPerRole, obs.prefillReplicaRange?.lowerBound ?? 0)
        let minD = max(p.minReplicasPerRole, obs.decodeReplicaRange?.lowerBound ?? 0)
        let maxP = max(minP, obs.prefillReplicaRange?.upperBound ?? Int.max)
        let maxD = max(minD, obs.decodeReplicaRange?.upperBound ?? Int.max)

        guard isl.count > 0, osl.count > 0 else {
            let holdP = min(max(obs.prefillReplicas ?? minP, minP), maxP)
            let holdD = min(max(obs.decodeReplicas ?? minD, minD), maxD)
            return SLAPlan(
                prefillReplicas: holdP, decodeReplicas: holdD, predicted: nil, corrections: corrections, limitedBy: .noData,
                reason: "SLA: no ISL/OSL observed yet → hold at P \(holdP), D \(holdD)")
        }

        // Learn the profile online when none is given.
        var learned = state.learned ?? SLAOnlineProfile()
        if profile == nil, count > 0 {
            let perSecond = count / window
            let prefillServing = Double(max(0, obs.prefillReadyReplicas ?? obs.prefillReplicas ?? 0) * p.prefillGPUsPerInstance)
            let decodeServing = Double(max(0, obs.decodeReadyReplicas ?? obs.decodeReplicas ?? 0) * p.decodeGPUsPerInstance)
            let prefillLoad = obs.prefillTPS.flatMap { $0.isFinite ? $0 : nil } ?? observedISL.map { perSecond * $0 }
            let decodeLoad = obs.decodeTPS.flatMap { $0.isFinite ? $0 : nil } ?? observedOSL.map { perSecond * $0 }
            if let load = prefillLoad, prefillServing > 0, let ttft = obs.ttftMilliseconds {
                learned.prefill.observe(load: load / prefillServing, latencyMilliseconds: ttft)
            }
            if let load = decodeLoad, decodeServing > 0, let itl = obs.itlMilliseconds {
                learned.decode.observe(load: load / decodeServing, latencyMilliseconds: itl)
            }
        }
        if profile == nil { state.learned = learned }

        // Predict.
        let horizon = max(1, p.horizonIntervals)
        let nextRequests = (1...horizon).map { requests.predict(ahead: $0) }.max() ?? requests.predict()
        let nextISL = isl.predict()
        let nextOSL = osl.predict()
        let interval = p.adjustmentIntervalSeconds
        let predicted = SLAPredictedLoad(requests: nextRequests, isl: nextISL, osl: nextOSL, requestsPerSecond: nextRequests / interval)

        // Without a profile: the learned throughputs at the targets, or hold until both pools have pairs.
        let online: (prefill: (value: Double, method: String), decode: (value: Double, method: String))?
        if profile == nil {
            guard let pf = learned.prefill.throughput(atLatency: p.ttftMilliseconds),
                  let dc = learned.decode.throughput(atLatency: p.itlMilliseconds) else {
                let holdP = min(max(obs.prefillReplicas ?? minP, minP), maxP)
                let holdD = min(max(obs.decodeReplicas ?? minD, minD), maxD)
                return SLAPlan(
                    prefillReplicas: holdP, decodeReplicas: holdD, predicted: nil, corrections: corrections, limitedBy: .noData,
                    reason: "SLA: online profile has no (load, latency) pairs yet (prefill \(learned.prefill.pairs.count), decode \(learned.decode.pairs.count)) → hold at P \(holdP), D \(holdD)")
            }
            online = (pf, dc)
        } else {
            online = nil
        }

        // Prefill.
        let prefillDemand = nextRequests * nextISL / interval * (profile == nil ? 1 : min(1, corrections.prefill))
        let prefillPerGPU = online?.prefill.value ?? profile?.prefillThroughputPerGPU(isl: nextISL) ?? 0
        var prefill = prefillPerGPU > 0 ? Self.ceilCount(prefillDemand / prefillPerGPU / Double(p.prefillGPUsPerInstance)) : minP

        // Decode.
        let correctedITL = corrections.decode > 0 && profile != nil ? p.itlMilliseconds / corrections.decode : p.itlMilliseconds
        let context = nextISL + nextOSL / 2
        let operating = online.map {
            DecodeOperatingPoint(throughputPerGPU: $0.decode.value, itlMilliseconds: p.itlMilliseconds, kvUsage: 0, meetsTarget: true)
        } ?? profile!.bestDecodeThroughput(itlMilliseconds: correctedITL, context: context)
        let decodeDemand = nextRequests * nextOSL / interval
        var decode = operating.throughputPerGPU > 0
            ? Self.ceilCount(decodeDemand / operating.throughputPerGPU / Double(p.decodeGPUsPerInstance)) : minD

        // Bounds, then budget.
        var limit: SLAPlan.Limit?
        prefill = max(prefill, minP)
        decode = max(decode, minD)
        if prefill > maxP || decode > maxD { limit = .maxReplicas }
        prefill = min(prefill, maxP)
        decode = min(decode, maxD)
        let budgeted = Self.applyBudget(
            prefill: prefill, decode: decode, prefillGPUs: p.prefillGPUsPerInstance, decodeGPUs: p.decodeGPUsPerInstance,
            budget: p.maxGPUBudget, minPrefill: minP, minDecode: minD)
        var budgetNote = ""
        if budgeted.limited {
            limit = .budget
            let required = prefill * p.prefillGPUsPerInstance + decode * p.decodeGPUsPerInstance
            let used = budgeted.prefill * p.prefillGPUsPerInstance + budgeted.decode * p.decodeGPUsPerInstance
            budgetNote = "; GPU budget \(p.maxGPUBudget ?? 0) < \(required) required → P \(budgeted.prefill), D \(budgeted.decode)"
            if used > (p.maxGPUBudget ?? 0) { budgetNote += " (role minimums exceed the budget)" }
        }
        if limit == .maxReplicas { budgetNote += "; capped by role max replicas" }

        let horizonText = horizon > 1 ? ", max over \(horizon) intervals" : ""
        var reason = "SLA: predicted \(fmt(nextRequests)) req/\(fmt(interval)) s (\(HeteroScaleFormat.fixed(predicted.requestsPerSecond, 2)) req/s), "
            + "ISL \(fmt(nextISL)), OSL \(fmt(nextOSL)) (\(p.predictor.rawValue)\(horizonText)); "
            + "prefill \(fmt(prefillDemand)) tok/s (corr \(HeteroScaleFormat.fixed(corrections.prefill, 2))) / "
            + "\(fmt(prefillPerGPU)) tok/s/GPU / \(p.prefillGPUsPerInstance) GPU → \(prefill); "
            + "decode \(fmt(decodeDemand)) tok/s / \(fmt(operating.throughputPerGPU)) tok/s/GPU at ITL \(fmt(correctedITL)) ms "
            + (online == nil
                ? "(target \(fmt(p.itlMilliseconds)) / corr \(HeteroScaleFormat.fixed(corrections.decode, 2)), KV \(fmt(operating.kvUsage * 100))%"
                    + (operating.meetsTarget ? "" : ", ITL target unreachable") + ")"
                : "(online profile: prefill at TTFT \(fmt(p.ttftMilliseconds)) ms by \(online!.prefill.method), decode by \(online!.decode.method))")
            + " / \(p.decodeGPUsPerInstance) GPU → \(decode)"
            + budgetNote
        if !correctionNotes.isEmpty { reason += "; " + correctionNotes.joined(separator: "; ") }
        if p.advisory { reason += " (advisory)" }
        return SLAPlan(
            prefillReplicas: budgeted.prefill, decodeReplicas: budgeted.decode, predicted: predicted,
            corrections: corrections, limitedBy: limit, reason: reason)
    }
}
