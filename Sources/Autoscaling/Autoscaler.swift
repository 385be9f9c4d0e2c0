import Foundation
import KubeAPI

/// The entry point shared by the controller, the simulator and `heteroscale replay`.
public enum Autoscaler {
    /// One decision. An invalid spec gives an inactive decision that keeps the current replicas and names the
    /// bad field. Otherwise the strategy decides (several metric sources: the largest recommendation wins),
    /// an active schedule window fixes or bounds the result, and `[minReplicas, maxReplicas]` clamps it as
    /// Kubernetes does (`TooFewReplicas`, `TooManyReplicas`).
    ///
    /// Unusable samples (non-finite, negative, out of range: `SampleSanity`) are made missing first and listed in
    /// `snapshot.observationFailures`, so no path — controller, simulator or replay — scales on them.
    public static func decide(spec: PodAutoscalerSpec, snapshot observed: ScalingSnapshot, state: inout AutoscalerState, now: Date) -> Decision {
        var (snapshot, problems) = SampleSanity.sanitize(observed)
        snapshot.observationFailures += problems
        let issues = validate(spec)
        guard issues.isEmpty, let strategy = spec.strategy else {
            let message = "invalid spec: " + issues.map(\.description).joined(separator: "; ")
            return Decision.inactive(current: snapshot.currentReplicas, reason: .invalidSpec, message: message, strategy: spec.scalingStrategy)
        }
        var decision: Decision
        switch strategy {
        case .hpa:
            var s = state.hpa ?? HPAState()
            decision = HPA.decide(spec: spec, snapshot: snapshot, state: &s, now: now)
            state.hpa = s
        case .kpa:
            decision = KPA.decide(spec: spec, snapshot: snapshot, state: &state.kpa, now: now)
        case .apa:
            decision = APA.decide(spec: spec, snapshot: snapshot, state: &state.apa, now: now)
        case .heteroScale:
            decision = decideHeteroScale(spec: spec, snapshot: snapshot, state: &state, now: now)
        case .sla:
            decision = decideSLA(spec: spec, snapshot: snapshot, state: &state, now: now)
        case .periodic:
            decision = decidePeriodic(spec: spec, snapshot: snapshot, now: now)
        case .latency:
            decision = decideLatency(spec: spec, snapshot: snapshot, state: state, now: now)
        case .hybrid:
            decision = decideHybrid(spec: spec, snapshot: snapshot, state: &state, now: now)
        }
        if !decision.scalingActive && strategy != .hpa {
            enforceBounds(spec: spec, snapshot: snapshot, decision: &decision)
        }
        if decision.scalingActive {
            if strategy != .periodic { applySchedule(spec: spec, snapshot: snapshot, decision: &decision, now: now) }
            clamp(spec: spec, snapshot: snapshot, decision: &decision)
            if decision.desiredReplicas != snapshot.currentReplicas { state.lastScaleTime = now }
            state.lastDesiredReplicas = decision.desiredReplicas
        }
        return decision
    }

    /// A strategy that could not decide (no data yet, a metric missing) still brings a target that is outside
    /// `[minReplicas, maxReplicas]` back inside, as Kubernetes' HPA does before it reads any metric; a target at
    /// zero stays there (scaling is disabled). The `ScalingActive` hint keeps saying why the strategy could not
    /// decide.
    static func enforceBounds(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, decision: inout Decision) {
        let current = snapshot.currentReplicas
        let lo = spec.minReplicas ?? 1, hi = spec.maxReplicas
        guard current > 0 else { return }
        let bounded = min(max(current, lo), hi)
        guard bounded != current else { return }
        let above = current > hi
        decision.desiredReplicas = bounded
        decision.scalingActive = true
        decision.reason = "\(spec.scalingStrategy): the current \(current) replicas are \(above ? "above maxReplicas" : "below minReplicas") (\(above ? hi : lo)); no metrics needed → \(bounded)"
        decision.scalingLimited = ConditionHint(
            status: true, reason: above ? .tooManyReplicas : .tooFewReplicas,
            message: above ? "the desired replica count is more than the maximum replica count" : "the desired replica count is less than the minimum replica count")
        if !snapshot.roles.isEmpty { decision.roleReplicas = apportion(total: bounded, snapshot: snapshot) }
    }

    /// Clamp to the spec's bounds with Kubernetes' reasons; P/D decisions are re-apportioned by weight.
    static func clamp(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, decision: inout Decision) {
        let minReplicas = spec.minReplicas ?? 1
        let maxReplicas = spec.maxReplicas
        let desired = decision.desiredReplicas
        var bounded = desired
        if desired < minReplicas {
            bounded = minReplicas
            decision.scalingLimited = ConditionHint(status: true, reason: .tooFewReplicas, message: "the desired replica count is less than the minimum replica count")
        } else if desired > maxReplicas {
            bounded = maxReplicas
            decision.scalingLimited = ConditionHint(status: true, reason: .tooManyReplicas, message: "the desired replica count is more than the maximum replica count")
        }
        guard bounded != desired else { return }
        decision.desiredReplicas = bounded
        decision.reason += " → \(bounded) (\(decision.scalingLimited.reason))"
        if decision.roleReplicas != nil {
            decision.roleReplicas = apportion(total: bounded, snapshot: snapshot)
        }
    }

    /// Applies the schedule window in force, if any: a fixed count replaces the decision, bounds clamp it.
    static func applySchedule(spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, decision: inout Decision, now: Date) {
        guard let schedules = spec.schedules, !schedules.isEmpty,
              let window = activeSchedule(schedules, at: now) else { return }
        let desired = decision.desiredReplicas
        var bounded = desired
        if let fixed = window.replicas {
            bounded = fixed
        } else {
            if let lo = window.minReplicas, bounded < lo { bounded = lo }
            if let hi = window.maxReplicas, bounded > hi { bounded = hi }
        }
        guard bounded != desired else { return }
        decision.desiredReplicas = bounded
        decision.scalingLimited = ConditionHint(status: true, reason: .scheduleBound, message: "\(window.label) bounds the replica count")
        decision.reason += " → \(bounded) (\(window.label))"
        if decision.roleReplicas != nil {
            decision.roleReplicas = apportion(total: bounded, snapshot: snapshot)
        }
    }

    /// Sum of the pods' values (pods being deleted or failed excluded); `nil` when none reported.
    static func sum(_ pods: [PodSample]) -> Double? {
        let values = pods.filter { $0.phase != .deleting && $0.phase != .failed }.compactMap(\.value)
        return values.isEmpty ? nil : values.reduce(0, +)
    }

    /// A service-wide total from the pods that reported, extrapolated to the running and ready pods as
    /// Knative's scraper does (average of the sampled pods × ready pods), so one failing pod does not read as
    /// a drop in load. `nil` when none reported.
    static func extrapolatedTotal(_ pods: [PodSample]) -> Double? {
        let live = pods.filter { $0.phase != .deleting && $0.phase != .failed }
        let values = live.compactMap(\.value)
        guard !values.isEmpty else { return nil }
        let expected = live.filter { $0.value != nil || ($0.phase == .running && $0.ready) }.count
        return values.reduce(0, +) / Double(values.count) * Double(expected)
    }

    /// Why missing data holds a scale-down, or `nil` when nothing is missing: sources without any data, and
    /// running, ready pods without a sample at this instant. Stricter than HPA's missing-pod rule (which counts
    /// a missing pod at the target when scaling down): a windowed strategy mixes instants, so any gap holds.
    static func missingDataHold(_ snapshot: ScalingSnapshot, sourcesWithoutData: [String]) -> String? {
        var parts: [String] = []
        if !sourcesWithoutData.isEmpty { parts.append("no data for \(sourcesWithoutData.joined(separator: ", "))") }
        for source in snapshot.sources where source.total == nil && !sourcesWithoutData.contains(source.metricName) {
            let missing = snapshot.missingPods(source)
            guard !missing.isEmpty else { continue }
            let live = source.pods.filter { $0.phase == .running && $0.ready }.count
            parts.append("\(missing.count) of \(live) pods have no \(source.metricName) (\(missing.prefix(3).joined(separator: ", "))\(missing.count > 3 ? ", …" : ""))")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    // MARK: Validation

    /// Every problem with `spec`, each naming its field (`spec.kpa.maxScaleUpRate`). Empty means valid;
    /// missing fields take the documented defaults. It refuses at least what the CRD refuses: the schema's
    /// bounds and the CEL rules (`SchemaRules`), so a spec replay or the simulator accepts would also apply.
    public static func validate(_ spec: PodAutoscalerSpec) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        func issue(_ field: String, _ message: String) { issues.append(ValidationIssue(field: field, message: message)) }
        let strategy = spec.strategy
        if strategy == nil {
            issue("spec.scalingStrategy", "must be one of \(ScalingStrategy.allCases.map(\.rawValue).joined(separator: ", ")), got \(spec.scalingStrategy.isEmpty ? "\"\"" : spec.scalingStrategy)")
        }
        if spec.maxReplicas < 1 { issue("spec.maxReplicas", "must be at least 1, got \(spec.maxReplicas)") }
        if let minReplicas = spec.minReplicas {
            if minReplicas < 0 {
                issue("spec.minReplicas", "must be zero or positive, got \(minReplicas)")
            } else if minReplicas > spec.maxReplicas {
                issue("spec.minReplicas", "must not exceed maxReplicas (\(spec.maxReplicas)), got \(minReplicas)")
            }
        }
        for (field, value) in [("observeWindowSeconds", spec.observeWindowSeconds), ("panicWindowSeconds", spec.panicWindowSeconds)] {
            if let value, !(1...3600).contains(value) { issue("spec.\(field)", "must be within 1...3600 seconds, got \(value)") }
        }
        if let tick = spec.tickSeconds, !(tick.isFinite && tick > 0) {
            issue("spec.tickSeconds", "must be a positive number of seconds, got \(Fmt.num(tick))")
        }
        let sources = spec.metricsSources ?? []
        if [.hpa, .kpa, .apa].contains(strategy), sources.isEmpty {
            issue("spec.metricsSources", "needs at least one metric source for the \(spec.scalingStrategy) strategy")
        }
        for (i, source) in sources.enumerated() {
            let path = "spec.metricsSources[\(i)]"
            let type = MetricSourceType(rawValue: source.metricSourceType)
            if type == nil {
                let aibrix = ["external", "domain", "custom"].contains(source.metricSourceType)
                    ? " (AIBrix's \(source.metricSourceType) sources read an external or custom metrics API: use a prometheus source with the query behind it)" : ""
                issue("\(path).metricSourceType", "must be pod, prometheus or resource, got \(source.metricSourceType)\(aibrix)")
            }
            if source.targetMetric.isEmpty { issue("\(path).targetMetric", "must not be empty") }
            if let target = MetricTarget.parse(source.targetValue) {
                if target < 0 || (target == 0 && (strategy == .hpa || strategy == .kpa)) {
                    issue("\(path).targetValue", "must be positive, got \(source.targetValue)")
                }
            } else {
                issue("\(path).targetValue", "must be a quantity such as 50, 0.5 or 500m, got \(source.targetValue)")
            }
            if type == .resource, !["cpu", "memory"].contains(source.targetMetric) {
                issue("\(path).targetMetric", "must be cpu or memory for a resource source, got \(source.targetMetric)")
            }
            if type == .prometheus, (source.query ?? "").isEmpty {
                issue("\(path).query", "is required for a prometheus source")
            }
            if let port = source.port, Int(port).map({ !(1...65535).contains($0) }) ?? true {
                issue("\(path).port", "must be a port number 1...65535, got \(port)")
            }
            if let proto = source.protocolType, !["http", "https"].contains(proto) {
                issue("\(path).protocolType", "must be http or https, got \(proto)")
            }
        }
        if let behavior = spec.behavior {
            issues += validateRules(behavior.scaleUp, path: "spec.behavior.scaleUp")
            issues += validateRules(behavior.scaleDown, path: "spec.behavior.scaleDown")
        }
        issues += KPA.Parameters.validate(spec.kpa)
        issues += APA.Parameters.validate(spec.apa)
        issues += validateStrategySpecs(spec)
        return SchemaRules.merged(issues, SchemaRules.violations(spec))
    }

    static func validateRules(_ rules: ScalingRules?, path: String) -> [ValidationIssue] {
        guard let rules else { return [] }
        var issues: [ValidationIssue] = []
        if let w = rules.stabilizationWindowSeconds, !(0...3600).contains(w) {
            issues.append(ValidationIssue(field: "\(path).stabilizationWindowSeconds", message: "must be within 0...3600, got \(w)"))
        }
        if let s = rules.selectPolicy, HPA.Rules.Select(rawValue: s) == nil {
            issues.append(ValidationIssue(field: "\(path).selectPolicy", message: "must be Max, Min or Disabled, got \(s)"))
        }
        if let t = rules.tolerance, !(t.isFinite && t >= 0) {
            issues.append(ValidationIssue(field: "\(path).tolerance", message: "must be zero or positive, got \(Fmt.num(t))"))
        }
        if let policies = rules.policies {
            if policies.isEmpty, rules.selectPolicy != "Disabled" {
                issues.append(ValidationIssue(field: "\(path).policies", message: "must hold at least one policy (omit it for the defaults)"))
            }
            for (i, p) in policies.enumerated() {
                let pp = "\(path).policies[\(i)]"
                if HPA.Rules.PolicyType(rawValue: p.type) == nil {
                    issues.append(ValidationIssue(field: "\(pp).type", message: "must be Pods or Percent, got \(p.type)"))
                }
                if p.value <= 0 { issues.append(ValidationIssue(field: "\(pp).value", message: "must be positive, got \(p.value)")) }
                if !(1...1800).contains(p.periodSeconds) {
                    issues.append(ValidationIssue(field: "\(pp).periodSeconds", message: "must be within 1...1800, got \(p.periodSeconds)"))
                }
            }
        }
        return issues
    }

    /// The targets of `spec.metricsSources`, parsed (`nil` for an unparsable one).
    public static func targets(_ spec: PodAutoscalerSpec) -> [Double?] {
        (spec.metricsSources ?? []).map { MetricTarget.parse($0.targetValue) }
    }

    /// The decision period: `spec.tickSeconds`, else 15 s for HPA and 2 s for the others.
    public static func tickSeconds(_ spec: PodAutoscalerSpec) -> Double {
        spec.tickSeconds ?? (spec.strategy == .hpa ? HPA.defaultTickSeconds : KPA.Parameters.defaultTickSeconds)
    }
}

/// A `PodAutoscalerSpec` with every default applied, for callers that need the effective values (the
/// controller's requeue period, status, documentation output).
public struct ResolvedConfig: Sendable, Hashable {
    public var strategy: ScalingStrategy
    public var minReplicas: Int
    public var maxReplicas: Int
    public var tickSeconds: Double
    /// Parsed `metricsSources[].targetValue`, in order.
    public var targets: [Double]
    /// HPA rules (also when `behavior` is absent, the defaults Kubernetes would apply to an empty `behavior`).
    public var scaleUp: HPA.Rules
    public var scaleDown: HPA.Rules
    public var kpa: KPA.Parameters
    public var apa: APA.Parameters
}

extension Autoscaler {
    /// Validates `spec` and resolves its defaults.
    public static func resolve(_ spec: PodAutoscalerSpec) -> Result<ResolvedConfig, ValidationFailure> {
        let issues = validate(spec)
        guard issues.isEmpty, let strategy = spec.strategy else { return .failure(ValidationFailure(issues: issues)) }
        return .success(ResolvedConfig(
            strategy: strategy, minReplicas: spec.minReplicas ?? 1, maxReplicas: spec.maxReplicas,
            tickSeconds: tickSeconds(spec), targets: targets(spec).map { $0 ?? 0 },
            scaleUp: HPA.Rules.scaleUp(spec.behavior?.scaleUp), scaleDown: HPA.Rules.scaleDown(spec.behavior?.scaleDown),
            kpa: KPA.Parameters(spec: spec.kpa, tickSeconds: spec.tickSeconds), apa: APA.Parameters(spec: spec.apa)))
    }
}

/// The issues of an invalid spec, as an error.
public struct ValidationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var issues: [ValidationIssue]
    public init(issues: [ValidationIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "; ") }
}
