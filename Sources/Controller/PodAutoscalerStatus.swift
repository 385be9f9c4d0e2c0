import Autoscaling
import Foundation
import KubeAPI
import YAML

/// Condition types of a PodAutoscaler (the first three as in Kubernetes' HPA).
public enum PodAutoscalerCondition {
    public static let ableToScale = "AbleToScale"
    public static let scalingActive = "ScalingActive"
    public static let scalingLimited = "ScalingLimited"
    public static let validSpec = "ValidSpec"
    public static let ready = "Ready"
}

/// What happened to the target's `/scale` in one reconcile.
public enum ScaleOutcome: Sendable, Hashable {
    /// The decision equals the current replicas (or scaling was inactive).
    case unchanged
    /// `/scale` was written.
    case scaled(from: Int, to: Int)
    /// Writing `/scale` failed.
    case failed(to: Int, message: String)
    /// `--advisory`: the decision is reported, never applied.
    case advisory(from: Int, to: Int)
}

/// Pure status computation: every function takes the previous status and returns the next one, so a
/// reconcile can compare them and write only on change.
public enum PodAutoscalerStatusBuilder {
    /// How many scale changes `status.scalingHistory` keeps.
    public static let historyLimit = 10

    /// The spec cannot be acted on (invalid, or another PodAutoscaler owns the target).
    public static func rejected(_ old: PodAutoscalerStatus?, generation: Int64?, reason: String, message: String, now: Date) -> PodAutoscalerStatus {
        var s = old ?? PodAutoscalerStatus()
        s.observedGeneration = generation
        let time = RFC3339.format(now, fractionDigits: 0)
        var c = s.conditions ?? []
        c.set(Condition(type: PodAutoscalerCondition.validSpec, status: .isFalse, observedGeneration: generation,
                        lastTransitionTime: time, reason: reason, message: message))
        c.set(Condition(type: PodAutoscalerCondition.scalingActive, status: .isFalse, observedGeneration: generation,
                        lastTransitionTime: time, reason: reason, message: "scaling is disabled until the spec is fixed"))
        s.conditions = finish(c, generation: generation, time: time)
        return s
    }

    /// The target's `/scale` could not be read.
    public static func failedGetScale(_ old: PodAutoscalerStatus?, generation: Int64?, message: String, now: Date) -> PodAutoscalerStatus {
        var s = old ?? PodAutoscalerStatus()
        s.observedGeneration = generation
        let time = RFC3339.format(now, fractionDigits: 0)
        var c = s.conditions ?? []
        c.set(valid(generation, time))
        c.set(Condition(type: PodAutoscalerCondition.ableToScale, status: .isFalse, observedGeneration: generation,
                        lastTransitionTime: time, reason: "FailedGetScale",
                        message: "the HeteroScale controller was unable to get the target's current scale: \(message)"))
        s.conditions = finish(c, generation: generation, time: time)
        return s
    }

    /// The target's `/scale` does not say which pods are its own (HPA's `SelectorRequired`/`InvalidSelector`).
    public static func invalidSelector(_ old: PodAutoscalerStatus?, generation: Int64?, current: Int, reason: String, message: String,
                                       now: Date) -> PodAutoscalerStatus {
        var s = old ?? PodAutoscalerStatus()
        s.observedGeneration = generation
        s.actualScale = current
        let time = RFC3339.format(now, fractionDigits: 0)
        var c = s.conditions ?? []
        c.set(valid(generation, time))
        c.set(Condition(type: PodAutoscalerCondition.scalingActive, status: .isFalse, observedGeneration: generation,
                        lastTransitionTime: time, reason: reason, message: message))
        s.conditions = finish(c, generation: generation, time: time)
        return s
    }

    /// After a decision: scale counts, current metrics, the decision's condition hints, and history.
    /// `specNote` is appended to the `ValidSpec` message (e.g. AIBrix settings accepted but not used), `scrapeNote` to
    /// the `ScalingActive` one (pods scraped through the API server's pod proxy, and why).
    public static func decided(
        _ old: PodAutoscalerStatus?, generation: Int64?, spec: PodAutoscalerSpec, decision: Decision, current: Int,
        outcome: ScaleOutcome, now: Date, specNote: String? = nil, scrapeNote: String? = nil
    ) -> PodAutoscalerStatus {
        var s = old ?? PodAutoscalerStatus()
        let time = RFC3339.format(now, fractionDigits: 0)
        s.observedGeneration = generation
        s.desiredScale = decision.desiredReplicas
        s.currentMetrics = currentMetrics(decision, spec: spec)
        var c = s.conditions ?? []
        c.set(valid(generation, time, note: specNote))
        switch outcome {
        case .scaled(let from, let to):
            s.actualScale = to
            s.lastScaleTime = time
            s.scalingHistory = appendHistory(s.scalingHistory, ScalingRecord(
                time: time, from: from, to: to, reason: decision.reason, roles: roles(decision)))
            c.set(Condition(type: PodAutoscalerCondition.ableToScale, status: .isTrue, observedGeneration: generation,
                            lastTransitionTime: time, reason: "SucceededRescale",
                            message: "the HeteroScale controller was able to update the target scale to \(to)"))
        case .failed(let to, let message):
            s.actualScale = current
            c.set(Condition(type: PodAutoscalerCondition.ableToScale, status: .isFalse, observedGeneration: generation,
                            lastTransitionTime: time, reason: "FailedUpdateScale",
                            message: "the HeteroScale controller was unable to update the target scale to \(to): \(message)"))
        case .advisory(_, let to):
            s.actualScale = current
            c.set(Condition(type: PodAutoscalerCondition.ableToScale, status: .isTrue, observedGeneration: generation,
                            lastTransitionTime: time, reason: ReasonCode.advisory.rawValue,
                            message: "advisory mode: the recommended size \(to) is reported, not applied"))
        case .unchanged:
            s.actualScale = current
            c.set(hint(PodAutoscalerCondition.ableToScale, decision.ableToScale, generation, time))
        }
        var active = hint(PodAutoscalerCondition.scalingActive, decision.activeCondition, generation, time)
        if let scrapeNote { active.message = active.message.isEmpty ? scrapeNote : active.message + "; " + scrapeNote }
        c.set(active)
        c.set(hint(PodAutoscalerCondition.scalingLimited, decision.scalingLimited, generation, time))
        s.conditions = finish(c, generation: generation, time: time)
        return s
    }

    /// `status.currentMetrics` from the decision's metric values, with each source's target.
    static func currentMetrics(_ decision: Decision, spec: PodAutoscalerSpec) -> [CurrentMetric]? {
        let values = decision.details.metricValues
        guard !values.isEmpty else { return nil }
        let sources = spec.metricsSources ?? []
        return values.keys.sorted().map { name in
            let source = sources.first { MetricNameResolver.resolve($0.targetMetric) == name || $0.targetMetric == name }
            return CurrentMetric(name: name, value: format(values[name] ?? 0), target: source?.targetValue, role: source?.role)
        }
    }

    static func roles(_ decision: Decision) -> [String: Int]? {
        guard let rr = decision.roleReplicas else { return nil }
        return Dictionary(rr.map { ($0.name, $0.replicas) }, uniquingKeysWith: { a, _ in a })
    }

    public static func appendHistory(_ history: [ScalingRecord]?, _ record: ScalingRecord) -> [ScalingRecord] {
        var h = history ?? []
        h.append(record)
        if h.count > historyLimit { h.removeFirst(h.count - historyLimit) }
        return h
    }

    private static func valid(_ generation: Int64?, _ time: String, note: String? = nil) -> Condition {
        Condition(type: PodAutoscalerCondition.validSpec, status: .isTrue, observedGeneration: generation,
                  lastTransitionTime: time, reason: "ValidSpec",
                  message: "the spec is valid and the target is not shared" + (note.map { "; " + $0 } ?? ""))
    }

    private static func hint(_ type: String, _ h: ConditionHint, _ generation: Int64?, _ time: String) -> Condition {
        Condition(type: type, status: ConditionStatus(h.status), observedGeneration: generation, lastTransitionTime: time,
                  reason: h.reason.rawValue, message: h.message)
    }

    /// Orders the conditions and derives `Ready` (true when the spec is valid, the target can be scaled and
    /// scaling is active; else false with the first failing condition's reason).
    private static func finish(_ conditions: [Condition], generation: Int64?, time: String) -> [Condition] {
        var c = conditions
        let blocking = [PodAutoscalerCondition.validSpec, PodAutoscalerCondition.ableToScale, PodAutoscalerCondition.scalingActive]
            .compactMap { c[type: $0] }.first { $0.status != .isTrue }
        if let blocking {
            c.set(Condition(type: PodAutoscalerCondition.ready, status: .isFalse, observedGeneration: generation,
                            lastTransitionTime: time, reason: blocking.reason, message: blocking.message))
        } else {
            c.set(Condition(type: PodAutoscalerCondition.ready, status: .isTrue, observedGeneration: generation,
                            lastTransitionTime: time, reason: "Ready", message: "the PodAutoscaler is scaling its target"))
        }
        let order = [PodAutoscalerCondition.ableToScale, PodAutoscalerCondition.scalingActive, PodAutoscalerCondition.scalingLimited,
                     PodAutoscalerCondition.validSpec, PodAutoscalerCondition.ready]
        return c.sorted { (order.firstIndex(of: $0.type) ?? 99) < (order.firstIndex(of: $1.type) ?? 99) }
    }

    /// A metric value for status: up to three decimals, no trailing zeros.
    static func format(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf") }
        var s = String(format: "%.3f", locale: nil, v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }
}
