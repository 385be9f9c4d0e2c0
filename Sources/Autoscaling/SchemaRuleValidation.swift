import KubeAPI

/// The CRDs' CEL rules (`x-kubernetes-validations` in crds/), evaluated in Swift. kube-apiserver evaluates them at
/// apply time; the KubeEmulator does not (docs/emulator.md), and `heteroscale replay`/`simulate` read manifests
/// without an API server, so `Autoscaler.validate` and `DeploymentGroupValidation.validate` apply these to refuse
/// exactly what the CRD refuses. Each rule keeps its CEL text and message verbatim; a test pairs every rule in
/// crds/ with one here (Tests/KubeIntegrationTests/SchemaRuleParityTests.swift).
public struct SchemaRule: Sendable, Hashable {
    /// Where the rule sits in the schema: `spec`, `spec.metricsSources[]`, `spec.roles[]`, …
    public let location: String
    /// The CEL expression, verbatim.
    public let rule: String
    public let message: String
    /// The rule's `fieldPath` (`.minReplicas`), or nil: the error names `location` itself.
    public let fieldPath: String?

    /// The field an error names: the concrete location (indices filled in) plus `fieldPath`.
    func field(at concrete: String) -> String { concrete + (fieldPath ?? "") }
}

public enum SchemaRules {
    // PodAutoscaler: spec
    static let minNotAboveMax = SchemaRule(location: "spec", rule: "!has(self.minReplicas) || self.minReplicas <= self.maxReplicas", message: "minReplicas must not exceed maxReplicas", fieldPath: ".minReplicas")
    static let sourcesForMetricStrategies = SchemaRule(location: "spec", rule: "!(self.scalingStrategy in ['HPA', 'KPA', 'APA']) || (has(self.metricsSources) && size(self.metricsSources) > 0)", message: "the HPA, KPA and APA strategies need at least one metricsSources entry", fieldPath: ".metricsSources")
    static let heteroScaleTarget = SchemaRule(location: "spec", rule: "self.scalingStrategy != 'HeteroScale' || (has(self.heteroScale) && has(self.heteroScale.targetDecodeTPSPerInstance))", message: "the HeteroScale strategy needs heteroScale.targetDecodeTPSPerInstance", fieldPath: ".heteroScale")
    static let hybridTarget = SchemaRule(location: "spec", rule: "self.scalingStrategy != 'Hybrid' || (has(self.heteroScale) && has(self.heteroScale.targetDecodeTPSPerInstance))", message: "the Hybrid strategy needs heteroScale.targetDecodeTPSPerInstance", fieldPath: ".heteroScale")
    static let periodicSchedules = SchemaRule(location: "spec", rule: "self.scalingStrategy != 'Periodic' || (has(self.schedules) && size(self.schedules) > 0)", message: "the Periodic strategy needs at least one schedules entry", fieldPath: ".schedules")
    static let latencyTBT = SchemaRule(location: "spec", rule: "self.scalingStrategy != 'Latency' || (has(self.heteroScale) && has(self.heteroScale.latency) && has(self.heteroScale.latency.tbtSLOMilliseconds))", message: "the Latency strategy needs heteroScale.latency.tbtSLOMilliseconds", fieldPath: ".heteroScale")
    // PodAutoscaler: spec.metricsSources[]
    static let prometheusQuery = SchemaRule(location: "spec.metricsSources[]", rule: "self.metricSourceType != 'prometheus' || (has(self.query) && size(self.query) > 0)", message: "a prometheus source needs a query", fieldPath: ".query")
    static let resourceMetric = SchemaRule(location: "spec.metricsSources[]", rule: "self.metricSourceType != 'resource' || self.targetMetric in ['cpu', 'memory']", message: "a resource source measures cpu or memory", fieldPath: ".targetMetric")
    // PodAutoscaler: spec.behavior.scaleUp / scaleDown
    static let policiesRule = "!has(self.policies) || size(self.policies) > 0 || (has(self.selectPolicy) && self.selectPolicy == 'Disabled')"
    static let scaleUpPolicies = SchemaRule(location: "spec.behavior.scaleUp", rule: policiesRule, message: "policies must hold at least one policy (omit it for the defaults)", fieldPath: ".policies")
    static let scaleDownPolicies = SchemaRule(location: "spec.behavior.scaleDown", rule: policiesRule, message: "policies must hold at least one policy (omit it for the defaults)", fieldPath: ".policies")
    // PodAutoscaler: spec.heteroScale, spec.heteroScale.latency
    static let rolesDiffer = "!has(self.prefillRole) || !has(self.decodeRole) || self.prefillRole != self.decodeRole"
    static let heteroScaleRoles = SchemaRule(location: "spec.heteroScale", rule: rolesDiffer, message: "decodeRole must differ from prefillRole", fieldPath: ".decodeRole")
    static let latencySLO = SchemaRule(location: "spec.heteroScale.latency", rule: "has(self.tbtSLOMilliseconds) || has(self.ttftSLOMilliseconds)", message: "latency needs tbtSLOMilliseconds and/or ttftSLOMilliseconds", fieldPath: nil)
    // PodAutoscaler: spec.sla, spec.sla.profile
    static let slaRoles = SchemaRule(location: "spec.sla", rule: rolesDiffer, message: "decodeRole must differ from prefillRole", fieldPath: ".decodeRole")
    static let profileSource = SchemaRule(location: "spec.sla.profile", rule: "has(self.file) || (has(self.prefill) && size(self.prefill) > 0) || (has(self.decode) && size(self.decode) > 0)", message: "the profile needs prefill and decode points or a file", fieldPath: nil)
    static let profileBothRoles = SchemaRule(location: "spec.sla.profile", rule: "!((has(self.prefill) && size(self.prefill) > 0) || (has(self.decode) && size(self.decode) > 0)) || (has(self.prefill) && size(self.prefill) > 0 && has(self.decode) && size(self.decode) > 0)", message: "an inline profile needs at least one prefill and one decode point", fieldPath: nil)
    // PodAutoscaler: spec.schedules[]
    static let scheduleStart = SchemaRule(location: "spec.schedules[]", rule: "has(self.start) || has(self.startTime)", message: "start (or AIBrix's startTime) is required", fieldPath: ".start")
    static let scheduleEnd = SchemaRule(location: "spec.schedules[]", rule: "has(self.end) || has(self.endTime)", message: "end (or AIBrix's endTime) is required", fieldPath: ".end")
    static let scheduleReplicasOrBounds = SchemaRule(location: "spec.schedules[]", rule: "!(has(self.replicas) && (has(self.minReplicas) || has(self.maxReplicas)))", message: "set either replicas or minReplicas/maxReplicas, not both", fieldPath: ".replicas")
    static let scheduleNeedsCount = SchemaRule(location: "spec.schedules[]", rule: "has(self.replicas) || has(self.minReplicas) || has(self.maxReplicas)", message: "one of replicas, minReplicas or maxReplicas is required", fieldPath: ".replicas")
    static let scheduleBounds = SchemaRule(location: "spec.schedules[]", rule: "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas", message: "maxReplicas must be at least minReplicas", fieldPath: ".maxReplicas")
    // DeploymentGroup: spec.roles[]
    static let roleBounds = SchemaRule(location: "spec.roles[]", rule: "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas", message: "maxReplicas must be at least minReplicas", fieldPath: ".maxReplicas")

    /// Every rule of the PodAutoscaler CRD, in schema order.
    public static let podAutoscaler: [SchemaRule] = [
        minNotAboveMax, sourcesForMetricStrategies, heteroScaleTarget, hybridTarget, periodicSchedules, latencyTBT,
        prometheusQuery, resourceMetric, scaleUpPolicies, scaleDownPolicies, heteroScaleRoles, latencySLO, slaRoles,
        profileSource, profileBothRoles, scheduleStart, scheduleEnd, scheduleReplicasOrBounds, scheduleNeedsCount, scheduleBounds,
    ]
    /// Every rule of the DeploymentGroup CRD.
    public static let deploymentGroup: [SchemaRule] = [roleBounds]

    /// The rules `spec` breaks, each an issue at the rule's field with its message (minReplicas defaults to 1 first,
    /// as the schema's `default` does before CEL runs).
    public static func violations(_ spec: PodAutoscalerSpec) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        func check(_ r: SchemaRule, _ concrete: String, _ holds: Bool) {
            if !holds { out.append(ValidationIssue(field: r.field(at: concrete), message: r.message)) }
        }
        let strategy = spec.scalingStrategy
        check(minNotAboveMax, "spec", (spec.minReplicas ?? 1) <= spec.maxReplicas)
        check(sourcesForMetricStrategies, "spec", !["HPA", "KPA", "APA"].contains(strategy) || !(spec.metricsSources ?? []).isEmpty)
        check(heteroScaleTarget, "spec", strategy != "HeteroScale" || spec.heteroScale?.targetDecodeTPSPerInstance != nil)
        check(hybridTarget, "spec", strategy != "Hybrid" || spec.heteroScale?.targetDecodeTPSPerInstance != nil)
        check(periodicSchedules, "spec", strategy != "Periodic" || !(spec.schedules ?? []).isEmpty)
        check(latencyTBT, "spec", strategy != "Latency" || spec.heteroScale?.latency?.tbtSLOMilliseconds != nil)
        for (i, s) in (spec.metricsSources ?? []).enumerated() {
            let at = "spec.metricsSources[\(i)]"
            check(prometheusQuery, at, s.metricSourceType != "prometheus" || !(s.query ?? "").isEmpty)
            check(resourceMetric, at, s.metricSourceType != "resource" || ["cpu", "memory"].contains(s.targetMetric))
        }
        for (rule, rules, at) in [(scaleUpPolicies, spec.behavior?.scaleUp, "spec.behavior.scaleUp"),
                                  (scaleDownPolicies, spec.behavior?.scaleDown, "spec.behavior.scaleDown")] {
            guard let rules else { continue }
            check(rule, at, rules.policies.map { !$0.isEmpty } ?? true || rules.selectPolicy == "Disabled")
        }
        if let hs = spec.heteroScale {
            check(heteroScaleRoles, "spec.heteroScale", hs.prefillRole == nil || hs.decodeRole == nil || hs.prefillRole != hs.decodeRole)
            if let latency = hs.latency {
                check(latencySLO, "spec.heteroScale.latency", latency.tbtSLOMilliseconds != nil || latency.ttftSLOMilliseconds != nil)
            }
        }
        if let sla = spec.sla {
            check(slaRoles, "spec.sla", sla.prefillRole == nil || sla.decodeRole == nil || sla.prefillRole != sla.decodeRole)
            if let profile = sla.profile {
                let prefill = !(profile.prefill ?? []).isEmpty, decode = !(profile.decode ?? []).isEmpty
                check(profileSource, "spec.sla.profile", profile.file != nil || prefill || decode)
                check(profileBothRoles, "spec.sla.profile", !(prefill || decode) || (prefill && decode))
            }
        }
        for (i, s) in (spec.schedules ?? []).enumerated() {
            let at = "spec.schedules[\(i)]"
            // Decoding leaves a missing start or end empty, so that this names it as the CRD does.
            check(scheduleStart, at, !s.start.isEmpty)
            check(scheduleEnd, at, !s.end.isEmpty)
            check(scheduleReplicasOrBounds, at, !(s.replicas != nil && (s.minReplicas != nil || s.maxReplicas != nil)))
            check(scheduleNeedsCount, at, s.replicas != nil || s.minReplicas != nil || s.maxReplicas != nil)
            check(scheduleBounds, at, s.minReplicas == nil || s.maxReplicas == nil || s.minReplicas! <= s.maxReplicas!)
        }
        return out
    }

    /// The rules a DeploymentGroup `spec` breaks.
    public static func violations(_ spec: DeploymentGroupSpec) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        for (i, role) in spec.roles.enumerated() {
            if let lo = role.minReplicas, let hi = role.maxReplicas, lo > hi {
                out.append(ValidationIssue(field: roleBounds.field(at: "spec.roles[\(i)]"), message: roleBounds.message))
            }
        }
        return out
    }

    /// `base` plus the rule violations on fields `base` does not already report (at the same field or below it).
    static func merged(_ base: [ValidationIssue], _ rules: [ValidationIssue]) -> [ValidationIssue] {
        base + rules.filter { r in !base.contains { $0.field == r.field || $0.field.hasPrefix(r.field + ".") } }
    }
}

/// Validation of a `DeploymentGroup` spec: what its CRD schema and CEL rules refuse, for callers without an API
/// server (`heteroscale replay --group`, scenario manifests of `simulate`).
public enum DeploymentGroupValidation {
    /// Every problem with `spec`, each naming its field (`spec.roles[1].weight`). Empty means valid.
    public static func validate(_ spec: DeploymentGroupSpec) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        func issue(_ field: String, _ message: String) { issues.append(ValidationIssue(field: field, message: message)) }
        if spec.replicas < 0 { issue("spec.replicas", "must be zero or positive, got \(spec.replicas)") }
        if spec.roles.isEmpty { issue("spec.roles", "must hold at least one role") }
        if spec.roles.count > 16 { issue("spec.roles", "must hold at most 16 roles, got \(spec.roles.count)") }
        var names = Set<String>()
        for (i, role) in spec.roles.enumerated() {
            let at = "spec.roles[\(i)]"
            if role.name.isEmpty { issue("\(at).name", "must not be empty") }
            if !names.insert(role.name).inserted { issue("\(at).name", "duplicates another role's name \(role.name)") }
            if !(role.weight.isFinite && role.weight > 0) { issue("\(at).weight", "must be positive, got \(role.weight)") }
            if role.gpusPerInstance < 1 { issue("\(at).gpusPerInstance", "must be at least 1, got \(role.gpusPerInstance)") }
            for (value, field) in [(role.minReplicas, "minReplicas"), (role.maxReplicas, "maxReplicas")] {
                if let value, value < 0 { issue("\(at).\(field)", "must be zero or positive, got \(value)") }
            }
        }
        if let affinity = spec.affinity, affinity.affinityDomain == nil {
            issue("spec.affinity.domain", "must be S1, S2 or Cluster, got \(affinity.domain)")
        }
        if let t = spec.gate?.tolerance, !(t.isFinite && t >= 0) { issue("spec.gate.tolerance", "must be zero or positive, got \(t)") }
        if let o = spec.softScaleIn?.observationSeconds, !(o.isFinite && o >= 0) {
            issue("spec.softScaleIn.observationSeconds", "must be zero or positive, got \(o)")
        }
        return SchemaRules.merged(issues, SchemaRules.violations(spec))
    }
}
