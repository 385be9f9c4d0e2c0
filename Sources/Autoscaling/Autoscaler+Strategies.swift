import Foundation
import KubeAPI

// Wiring of the P/D and calendar strategies (HeteroScale, SLA planner, Periodic, the Latency baseline) and the
// schedule bounds into `Autoscaler.decide`.

extension Autoscaler {
    /// The roles of a P/D snapshot as the ratio apportionment sees them.
    static func apportionRoles(_ snapshot: ScalingSnapshot) -> [RatioApportionment.Role] {
        snapshot.roles.map {
            RatioApportionment.Role(name: $0.name, weight: $0.weight, minReplicas: $0.minReplicas ?? 0, maxReplicas: $0.maxReplicas ?? Int.max)
        }
    }

    /// Splits a total over the snapshot's roles by weight.
    public static func apportion(total: Int, snapshot: ScalingSnapshot) -> [RoleReplicas] {
        let counts = RatioApportionment.apportion(total: total, roles: apportionRoles(snapshot))
        return zip(snapshot.roles, counts).map { RoleReplicas(name: $0.name, replicas: $1) }
    }

    static func activeSchedule(_ schedules: [ScheduleSpec], at date: Date) -> ActiveSchedule? {
        ScheduleEvaluator.active(schedules, at: date)
    }

    static func issues(_ list: [StrategySpecIssue]) -> [ValidationIssue] {
        list.map { ValidationIssue(field: $0.field, message: $0.message) }
    }

    /// Validation of the `heteroScale`, `sla` and `schedules` blocks for the strategies that use them.
    static func validateStrategySpecs(_ spec: PodAutoscalerSpec) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        let minReplicas = spec.minReplicas ?? 1
        switch spec.strategy {
        case .heteroScale:
            out += issues(HeteroScaleParameters.validate(spec.heteroScale ?? HeteroScaleSpec()))
        case .sla:
            out += issues(SLAPlanner.validate(spec.sla ?? SLASpec()))
        case .hybrid:
            out += issues(HeteroScaleParameters.validate(spec.heteroScale ?? HeteroScaleSpec()))
            out += issues(SLAPlanner.validate(spec.sla ?? SLASpec()))
            out += issues(HybridParameters.validate(spec.hybrid ?? HybridSpec()))
        case .periodic:
            out += issues(PeriodicPolicy(schedules: spec.schedules ?? [], minReplicas: minReplicas, maxReplicas: spec.maxReplicas).validate())
        case .latency:
            do {
                _ = try LatencyStepPolicy(heteroScale: spec.heteroScale ?? HeteroScaleSpec(), minReplicas: minReplicas, maxReplicas: spec.maxReplicas)
            } catch {
                out += issues(error.issues)
            }
        default:
            break
        }
        if spec.strategy != .periodic, let schedules = spec.schedules {
            out += issues(ScheduleEvaluator.validate(schedules))
        }
        return out
    }

    /// A signal from the snapshot's signals, else from a source measuring it (total, or the sum of its pods).
    static func signal(_ key: String, _ snapshot: ScalingSnapshot) -> Double? {
        if let v = snapshot.signals[key], v.isFinite { return v }
        for source in snapshot.sources where source.metricName == key {
            if let v = source.total ?? sum(source.pods) { return v }
        }
        return nil
    }

    // MARK: HeteroScale

    static func decideHeteroScale(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, state: inout AutoscalerState, now: Date) -> Decision {
        let policy: HeteroScalePolicy
        do {
            policy = try HeteroScalePolicy(spec: spec.heteroScale ?? HeteroScaleSpec())
        } catch {
            return .inactive(current: snapshot.currentReplicas, reason: .invalidSpec, message: "invalid spec: \(error)", strategy: "HeteroScale")
        }
        let input = heteroScaleInput(spec: spec, snapshot: snapshot)
        var s = state.heteroScale ?? HeteroScaleState()
        let d = policy.decide(input, state: &s, now: now)
        state.heteroScale = s
        return heteroScaleDecision(d, snapshot: snapshot, strategy: "HeteroScale")
    }

    /// HeteroScale's input from a snapshot: the group's roles (or one pooled role) and the signals.
    static func heteroScaleInput(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot) -> HeteroScaleInput {
        let pooled = snapshot.roles.isEmpty
        let roles: [HeteroScaleInput.RoleInfo] = pooled
            ? [HeteroScaleInput.RoleInfo(name: spec.subTargetSelector?.roleName ?? "group", weight: 1, current: snapshot.currentReplicas, ready: snapshot.readyReplicas)]
            : snapshot.roles.map {
                HeteroScaleInput.RoleInfo(name: $0.name, weight: $0.weight, current: $0.current, ready: $0.ready, minReplicas: $0.minReplicas ?? 0, maxReplicas: $0.maxReplicas ?? Int.max)
            }
        return HeteroScaleInput(
            decodeTPS: signal(Signal.decodeTPS, snapshot), prefillTPS: signal(Signal.prefillTPS, snapshot),
            tbtP90Milliseconds: signal(Signal.tbtP90Milliseconds, snapshot), ttftP90Milliseconds: signal(Signal.ttftP90Milliseconds, snapshot),
            roles: roles)
    }

    /// A HeteroScale decision as the shared `Decision` (conditions, details); missing data is inactive.
    static func heteroScaleDecision(_ d: HeteroScaleDecision, snapshot: ScalingSnapshot, strategy: String) -> Decision {
        let pooled = snapshot.roles.isEmpty
        var details = DecisionDetails(strategy: strategy, tier: d.tierHit.map { "tier \($0)" })
        for key in [Signal.decodeTPS, Signal.prefillTPS, Signal.tbtP90Milliseconds, Signal.ttftP90Milliseconds] {
            if let v = signal(key, snapshot) { details.metricValues[key] = v }
        }
        if let want = d.desiredInstances { details.extra["desiredInstances"] = want }
        details.recommendation = d.total
        if d.limitedBy == .missingMetric || d.limitedBy == .noRoles {
            var inactive = Decision.inactive(current: snapshot.currentReplicas, reason: .failedGetMetrics, message: d.reason, strategy: nil)
            inactive.reason = d.reason
            inactive.details = details
            return inactive
        }
        var able = ConditionHint(status: true, reason: .readyForNewScale, message: "recommended size matches current size")
        var limited = ConditionHint(status: false, reason: .desiredWithinRange, message: "the desired count is within the acceptable range")
        switch d.limitedBy {
        case .cooldown?, .latencyCooldown?:
            able = ConditionHint(status: true, reason: .cooldown, message: "a cooldown holds the replica count")
        case .latencyVeto?:
            able = ConditionHint(status: true, reason: .scaleDownStabilized, message: "latency above its SLO vetoes the scale-in")
        case .stabilization?:
            able = ConditionHint(status: true, reason: .scaleDownStabilized, message: "recent needs were higher than the current one, applying the highest recent need")
        case .ratio?:
            able = ConditionHint(status: true, reason: .scaleDownStabilized, message: "no smaller total keeps the P/D ratio within ratioTolerance")
        case .minReplicas?:
            limited = ConditionHint(status: true, reason: .tooFewReplicas, message: "the roles' minimum replicas bound the result")
        case .maxReplicas?:
            limited = ConditionHint(status: true, reason: .tooManyReplicas, message: "the roles' maximum replicas bound the result")
        default:
            break
        }
        return Decision(
            desiredReplicas: d.total,
            roleReplicas: pooled ? nil : d.roles.map { RoleReplicas(name: $0.name, replicas: $0.replicas) },
            reason: d.reason, ableToScale: able, scalingLimited: limited, details: details)
    }

    // MARK: SLA planner

    static func decideSLA(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, state: inout AutoscalerState, now: Date) -> Decision {
        let sla = spec.sla ?? SLASpec()
        let planner: SLAPlanner
        do {
            planner = try SLAPlanner(spec: sla)
        } catch {
            return .inactive(current: snapshot.currentReplicas, reason: .invalidSpec, message: "\(error)", strategy: "SLA")
        }
        let prefillName = sla.prefillRole ?? "prefill"
        let decodeName = sla.decodeRole ?? "decode"
        let obs = slaObservation(sla: sla, snapshot: snapshot, interval: planner.parameters.adjustmentIntervalSeconds)
        var s = state.sla ?? SLAState()
        let d = planner.decide(obs, state: &s, now: now)
        state.sla = s
        let details = slaDetails(d, strategy: "SLA")
        if d.advisory {
            var advisory = Decision(
                desiredReplicas: snapshot.currentReplicas,
                roleReplicas: snapshot.roles.isEmpty ? nil : snapshot.roles.map { RoleReplicas(name: $0.name, replicas: $0.current) },
                reason: d.reason + " (advisory: not applied)", details: details)
            advisory.ableToScale = ConditionHint(status: false, reason: .advisory, message: "the SLA planner is advisory; the plan is reported, not applied")
            return advisory
        }
        var roles: [RoleReplicas] = []
        var total = 0
        for r in snapshot.roles {
            let n = r.name == prefillName ? d.prefillReplicas : (r.name == decodeName ? d.decodeReplicas : r.current)
            roles.append(RoleReplicas(name: r.name, replicas: n))
            total += n
        }
        if snapshot.roles.isEmpty {
            roles = [RoleReplicas(name: prefillName, replicas: d.prefillReplicas), RoleReplicas(name: decodeName, replicas: d.decodeReplicas)]
            total = d.prefillReplicas + d.decodeReplicas
        }
        var limited = ConditionHint(status: false, reason: .desiredWithinRange, message: "the desired count is within the acceptable range")
        switch d.limitedBy {
        case .budget?: limited = ConditionHint(status: true, reason: .budgetLimit, message: "the GPU budget scaled the plan down")
        case .maxReplicas?: limited = ConditionHint(status: true, reason: .tooManyReplicas, message: "a role's maximum replicas capped the plan")
        default: break
        }
        if d.limitedBy == .noData {
            var inactive = Decision.inactive(current: snapshot.currentReplicas, reason: .failedGetMetrics, message: d.reason, strategy: nil)
            inactive.reason = d.reason
            inactive.details = details
            return inactive
        }
        return Decision(desiredReplicas: total, roleReplicas: roles, reason: d.reason, scalingLimited: limited, details: details)
    }

    /// What the SLA planner reads from a snapshot: the frontend signals, the roles' replicas and bounds, and the
    /// pools' served TPS (for the online profile).
    static func slaObservation(sla: SLASpec, snapshot: ScalingSnapshot, interval: Double) -> SLAObservation {
        let prefill = snapshot.role(sla.prefillRole ?? "prefill")
        let decode = snapshot.role(sla.decodeRole ?? "decode")
        func range(_ r: RoleSnapshot?) -> ClosedRange<Int>? {
            guard let r, r.minReplicas != nil || r.maxReplicas != nil else { return nil }
            let lo = Swift.max(0, r.minReplicas ?? 0)
            return lo...Swift.max(lo, r.maxReplicas ?? Int.max / 4)
        }
        // `num_requests` is a rate (requests/s, as the collector and the simulator give it); the planner counts the
        // requests of the observation window.
        let window = snapshot.signals[Signal.intervalSeconds].flatMap { $0.isFinite && $0 > 0 ? $0 : nil } ?? interval
        var obs = SLAObservation(
            numRequests: (snapshot.signals[Signal.numRequests] ?? 0) * window,
            avgISL: snapshot.signals[Signal.averageISL], avgOSL: snapshot.signals[Signal.averageOSL],
            ttftMilliseconds: snapshot.signals[Signal.ttftMilliseconds], itlMilliseconds: snapshot.signals[Signal.itlMilliseconds],
            intervalSeconds: window,
            decodeKVUsage: snapshot.signals[Signal.decodeKVUsage], requestDurationSeconds: snapshot.signals[Signal.requestDurationSeconds],
            prefillReplicas: prefill?.current, decodeReplicas: decode?.current,
            prefillReplicaRange: range(prefill), decodeReplicaRange: range(decode))
        obs.prefillTPS = snapshot.signals[Signal.prefillTPS]
        obs.decodeTPS = snapshot.signals[Signal.decodeTPS]
        obs.prefillReadyReplicas = prefill?.ready
        obs.decodeReadyReplicas = decode?.ready
        return obs
    }

    static func slaDetails(_ d: SLADecision, strategy: String) -> DecisionDetails {
        var details = DecisionDetails(strategy: strategy, predicted: d.predicted?.requests)
        details.extra["prefillReplicas"] = Double(d.prefillReplicas)
        details.extra["decodeReplicas"] = Double(d.decodeReplicas)
        details.extra["prefillCorrection"] = d.corrections.prefill
        details.extra["decodeCorrection"] = d.corrections.decode
        if let p = d.predicted {
            details.extra["predictedISL"] = p.isl
            details.extra["predictedOSL"] = p.osl
            details.extra["predictedRequestsPerSecond"] = p.requestsPerSecond
        }
        return details
    }

    // MARK: Periodic and the Latency baseline

    static func decidePeriodic(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, now: Date) -> Decision {
        let policy = PeriodicPolicy(schedules: spec.schedules ?? [], minReplicas: spec.minReplicas ?? 1, maxReplicas: spec.maxReplicas)
        let d = policy.decide(currentReplicas: snapshot.currentReplicas, now: now)
        var details = DecisionDetails(strategy: "Periodic")
        if let active = d.active { details.extra["schedule"] = Double(active.index) }
        let limited = d.active.map { ConditionHint(status: true, reason: .scheduleBound, message: "\($0.label) sets the replica count") }
            ?? ConditionHint(status: false, reason: .desiredWithinRange, message: "no schedule is active")
        return Decision(
            desiredReplicas: d.replicas, roleReplicas: snapshot.roles.isEmpty ? nil : apportion(total: d.replicas, snapshot: snapshot),
            reason: d.reason, scalingLimited: limited, details: details)
    }

    static func decideLatency(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, state: AutoscalerState, now: Date) -> Decision {
        let policy: LatencyStepPolicy
        do {
            policy = try LatencyStepPolicy(heteroScale: spec.heteroScale ?? HeteroScaleSpec(), minReplicas: spec.minReplicas ?? 1, maxReplicas: spec.maxReplicas)
        } catch {
            return .inactive(current: snapshot.currentReplicas, reason: .invalidSpec, message: "invalid spec: \(error)", strategy: "Latency")
        }
        let tbt = policy.tbtSLOMilliseconds == nil ? nil : signal(Signal.tbtP90Milliseconds, snapshot)
        let ttft = policy.ttftSLOMilliseconds == nil ? nil : signal(Signal.ttftP90Milliseconds, snapshot)
        let d = policy.decide(tbtP90Milliseconds: tbt, ttftP90Milliseconds: ttft, currentReplicas: snapshot.currentReplicas,
                              lastScaleTime: state.lastScaleTime, now: now)
        var details = DecisionDetails(strategy: "Latency")
        if let tbt { details.metricValues[Signal.tbtP90Milliseconds] = tbt }
        if let ttft { details.metricValues[Signal.ttftP90Milliseconds] = ttft }
        guard tbt != nil || ttft != nil else {
            var inactive = Decision.inactive(current: snapshot.currentReplicas, reason: .failedGetMetrics, message: d.reason, strategy: nil)
            inactive.reason = d.reason
            inactive.details = details
            return inactive
        }
        return Decision(
            desiredReplicas: d.replicas, roleReplicas: snapshot.roles.isEmpty ? nil : apportion(total: d.replicas, snapshot: snapshot),
            reason: d.reason, details: details)
    }
}
