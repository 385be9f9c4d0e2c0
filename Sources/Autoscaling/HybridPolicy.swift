import Foundation
import KubeAPI

/// `HybridSpec` with every default filled in.
public struct HybridParameters: Sendable, Hashable {
    public static let defaultFloorLookaheadSeconds = 120.0
    public var floorLookaheadSeconds = HybridParameters.defaultFloorLookaheadSeconds
    public var floorFactor = 1.0

    /// Defaults for anything missing or invalid (validation reports the invalid ones).
    public init(spec: HybridSpec) {
        if let v = spec.floorLookaheadSeconds, v.isFinite, (0...86_400).contains(v) { floorLookaheadSeconds = v }
        if let v = spec.floorFactor, v.isFinite, v > 0, v <= 4 { floorFactor = v }
    }

    /// Planning intervals the floor looks ahead: `max(1, ⌈lookahead / interval⌉)`.
    public func horizonIntervals(adjustmentIntervalSeconds interval: Double) -> Int {
        guard interval > 0 else { return 1 }
        return max(1, Int((floorLookaheadSeconds / interval - 1e-9).rounded(.up)))
    }

    /// Every problem with `spec`, each naming its field under `path`.
    public static func validate(_ spec: HybridSpec, path: String = "spec.hybrid") -> [StrategySpecIssue] {
        var issues: [StrategySpecIssue] = []
        if let v = spec.floorLookaheadSeconds, !(v.isFinite && (0...86_400).contains(v)) {
            issues.append(StrategySpecIssue(field: "\(path).floorLookaheadSeconds", message: "must be within 0...86400 seconds, got \(HeteroScaleFormat.compact(v))"))
        }
        if let v = spec.floorFactor, !(v.isFinite && v > 0 && v <= 4) {
            issues.append(StrategySpecIssue(field: "\(path).floorFactor", message: "must be greater than 0 and at most 4, got \(HeteroScaleFormat.compact(v))"))
        }
        return issues
    }
}

/// The Hybrid strategy's floor: the smallest group total whose split covers the SLA planner's replicas per role.
public enum HybridFloor {
    /// The smallest total in `[Σmin, Σmax]` whose split by weight gives the prefill role at least `prefill` and
    /// the decode role at least `decode` (each capped at its role maximum) and keeps the P/D ratio within the
    /// HeteroScale policy's `ratioTolerance`; `Σmax` when none does. Roles other than the two have no floor.
    public static func total(prefill: Int, decode: Int, prefillRole: String, decodeRole: String,
                             roles: [HeteroScaleInput.RoleInfo], policy: HeteroScalePolicy) -> Int {
        let minTotal = roles.reduce(0) { $0 + max(0, $1.minReplicas) }
        let maxTotal = roles.reduce(0) { sum, role in
            let (s, overflow) = sum.addingReportingOverflow(max(max(0, role.minReplicas), role.maxReplicas))
            return overflow ? Int.max / 4 : s
        }
        let wants = roles.map { role -> Int in
            let cap = max(max(0, role.minReplicas), role.maxReplicas)
            if role.name == prefillRole { return min(prefill, cap) }
            if role.name == decodeRole { return min(decode, cap) }
            return 0
        }
        let start = max(minTotal, wants.reduce(0, +))
        guard start < maxTotal else { return maxTotal }
        for t in start...maxTotal {
            let split = policy.plainSplit(t, roles)
            if zip(split, wants).allSatisfy({ $0 >= $1 }) && policy.keepsRatio(t, roles: roles, minTotal: minTotal, maxTotal: maxTotal) {
                return t
            }
        }
        return maxTotal
    }
}

extension Autoscaler {
    // MARK: Hybrid

    /// The Hybrid strategy: the SLA planner (with `hybrid.floorLookaheadSeconds` of lookahead) plans the replicas
    /// the predicted load needs; that plan, times `floorFactor`, is a floor under HeteroScale's decision (decode
    /// TPS proportional control with hysteresis, damping, cooldowns and latency tiers). The larger wins:
    /// - HeteroScale at or above the floor: its decision (and its cooldown state) stands;
    /// - the floor above it: the group goes to the floor total, split by weight; no role moves against the
    ///   group. HeteroScale's cooldown state is left as it was (a floor step does not delay its scale-outs).
    /// Without a plan yet (no ISL/OSL, or an online profile without pairs) there is no floor. Decode TPS missing
    /// holds, as HeteroScale does.
    static func decideHybrid(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, state: inout AutoscalerState, now: Date) -> Decision {
        let hybrid = HybridParameters(spec: spec.hybrid ?? HybridSpec())
        let sla = spec.sla ?? SLASpec()
        let policy: HeteroScalePolicy
        let planner: SLAPlanner
        do {
            policy = try HeteroScalePolicy(spec: spec.heteroScale ?? HeteroScaleSpec())
            let base = try SLAPlanner(spec: sla)
            var parameters = base.parameters
            parameters.horizonIntervals = hybrid.horizonIntervals(adjustmentIntervalSeconds: parameters.adjustmentIntervalSeconds)
            parameters.advisory = false
            planner = SLAPlanner(parameters: parameters, profile: base.profile)
        } catch {
            return .inactive(current: snapshot.currentReplicas, reason: .invalidSpec, message: "invalid spec: \(error)", strategy: "Hybrid")
        }

        // The floor.
        let obs = slaObservation(sla: sla, snapshot: snapshot, interval: planner.parameters.adjustmentIntervalSeconds)
        var slaState = state.sla ?? SLAState()
        let plan = planner.decide(obs, state: &slaState, now: now)
        state.sla = slaState

        // HeteroScale on a copy of its state: committed only when its decision stands.
        let input = heteroScaleInput(spec: spec, snapshot: snapshot)
        let hsBefore = state.heteroScale ?? HeteroScaleState()
        var hsState = hsBefore
        let hs = policy.decide(input, state: &hsState, now: now)
        var decision = heteroScaleDecision(hs, snapshot: snapshot, strategy: "Hybrid")
        let slaExtra = slaDetails(plan, strategy: "Hybrid")
        decision.details.predicted = slaExtra.predicted
        for (k, v) in slaExtra.extra { decision.details.extra["floor." + k] = v }

        let current = input.roles.reduce(0) { $0 + $1.current }
        let hasFloor = plan.limitedBy != .noData && hs.limitedBy != .missingMetric && hs.limitedBy != .noRoles
        let floorP = Int((Double(plan.prefillReplicas) * hybrid.floorFactor - 1e-9).rounded(.up))
        let floorD = Int((Double(plan.decodeReplicas) * hybrid.floorFactor - 1e-9).rounded(.up))
        let pooled = snapshot.roles.isEmpty
        let floorTotal = !hasFloor ? 0 : pooled
            ? min(max(floorP + floorD, spec.minReplicas ?? 1), spec.maxReplicas)
            : HybridFloor.total(prefill: floorP, decode: floorD, prefillRole: planner.parameters.prefillRole,
                                decodeRole: planner.parameters.decodeRole, roles: input.roles, policy: policy)
        let rps = plan.predicted.map { HeteroScaleFormat.fixed($0.requestsPerSecond, 2) } ?? "?"
        let horizon = planner.parameters.horizonIntervals
        let floorText = hasFloor
            ? "SLA floor \(floorTotal) (plan P \(floorP), D \(floorD) for \(rps) req/s predicted by \(planner.parameters.predictor.rawValue) over \(horizon) × \(HeteroScaleFormat.compact(planner.parameters.adjustmentIntervalSeconds)) s)"
            : (plan.limitedBy == .noData ? "no SLA floor yet (\(plan.reason.replacingOccurrences(of: "SLA: ", with: "")))" : "no SLA floor (HeteroScale has no data)")
        decision.details.extra["floorTotal"] = Double(floorTotal)

        guard hasFloor, floorTotal > hs.total else {
            state.heteroScale = hsState
            decision.reason = "Hybrid: \(floorText) ≤ " + hs.reason
            if !hasFloor { decision.reason = "Hybrid: \(floorText); " + hs.reason }
            return decision
        }

        // The floor wins: split it by weight, no role moving against the group. HeteroScale's cooldown clocks
        // stay as they were; the need it observed joins its stabilisation window.
        var hsKept = hsBefore
        hsKept.recentNeeds = hsState.recentNeeds
        state.heteroScale = hsKept
        let direction = floorTotal > current ? 1 : (floorTotal < current ? -1 : 0)
        let counts: [Int]
        if pooled {
            counts = [floorTotal]
        } else {
            counts = RatioApportionment.apportion(total: floorTotal, roles: input.roles.map { role in
                let lo = max(0, role.minReplicas)
                let hi = max(lo, role.maxReplicas)
                switch direction {
                case 1: return .init(name: role.name, weight: role.weight, minReplicas: min(max(lo, role.current), hi), maxReplicas: hi)
                case -1: return .init(name: role.name, weight: role.weight, minReplicas: lo, maxReplicas: max(lo, min(hi, role.current)))
                default: return .init(name: role.name, weight: role.weight, minReplicas: lo, maxReplicas: hi)
                }
            })
        }
        let total = counts.reduce(0, +)
        let labels = input.roles.map { $0.name == planner.parameters.prefillRole ? "P" : ($0.name == planner.parameters.decodeRole ? "D" : $0.name) }
        let split = zip(labels, counts).map { "\($0) \($1)" }.joined(separator: ", ")
        let verb = total > current ? "scale out to" : (total < current ? "scale in to" : "hold at")
        if total < current { state.heteroScale?.lastScaleInTime = now }
        decision.desiredReplicas = total
        decision.roleReplicas = pooled ? nil : zip(input.roles, counts).map { RoleReplicas(name: $0.name, replicas: $1) }
        decision.details.recommendation = total
        decision.ableToScale = ConditionHint(status: true, reason: .readyForNewScale, message: "the SLA floor sets the replica count")
        decision.scalingLimited = ConditionHint(status: true, reason: .predictionFloor, message: "the Hybrid strategy's SLA floor bounds the replica count")
        decision.scalingActive = true
        decision.reason = "Hybrid: \(floorText) > HeteroScale's \(hs.total) → \(verb) \(total) (\(split)); HeteroScale: "
            + hs.reason.replacingOccurrences(of: "HeteroScale: ", with: "")
        return decision
    }
}
