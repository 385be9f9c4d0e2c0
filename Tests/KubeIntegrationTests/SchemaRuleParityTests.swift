import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import YAML

/// One `x-kubernetes-validations` entry of a CRD schema, with where it sits (`spec.metricsSources[]`).
struct CRDRule: Hashable, CustomStringConvertible {
    var location: String
    var rule: String
    var message: String
    var fieldPath: String?
    var description: String { "\(location): \(rule)" }
}

/// Every CEL rule of a schema, in schema order.
func celRules(_ schema: JSONValue, at location: String = "") -> [CRDRule] {
    var out = (schema["x-kubernetes-validations"]?.arrayValue ?? []).map {
        CRDRule(location: location, rule: $0["rule"]?.stringValue ?? "", message: $0["message"]?.stringValue ?? "",
                fieldPath: $0["fieldPath"]?.stringValue)
    }
    for p in (schema["properties"]?.objectValue ?? JSONObject()).sorted(by: { $0.key < $1.key }) {
        out += celRules(p.value, at: location.isEmpty ? p.key : "\(location).\(p.key)")
    }
    if let items = schema["items"] { out += celRules(items, at: "\(location)[]") }
    return out
}

func crdSchema(_ file: String) throws -> JSONValue {
    let crd = try #require(try ManifestFiles.documents("crds", file).first)
    return try #require(crd["spec"]?["versions"]?[0]?["schema"]?["openAPIV3Schema"])
}

/// A spec that breaks exactly one CEL rule (and nothing the emulator checks), and the field the error names.
struct RuleViolation: Sendable, CustomTestStringConvertible {
    var kind: String
    var rule: String
    var location: String
    var spec: String
    var field: String
    var testDescription: String { "\(location): \(rule)" }
}

private let target = "scaleTargetRef: {kind: Deployment, name: x}"
private let kpa = "\(target), maxReplicas: 3, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]"
private let group = "scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: x}, maxReplicas: 3"

let ruleViolations: [RuleViolation] = [
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[0].rule, location: "spec",
                  spec: "{\(target), minReplicas: 5, maxReplicas: 3, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]}",
                  field: "spec.minReplicas"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[1].rule, location: "spec",
                  spec: "{\(target), maxReplicas: 3, scalingStrategy: HPA}", field: "spec.metricsSources"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[2].rule, location: "spec",
                  spec: "{\(group), scalingStrategy: HeteroScale, heteroScale: {scaleInDamping: 0.5}}", field: "spec.heteroScale"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[3].rule, location: "spec",
                  spec: "{\(group), scalingStrategy: Hybrid, heteroScale: {scaleInDamping: 0.5}}", field: "spec.heteroScale"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[4].rule, location: "spec",
                  spec: "{\(target), maxReplicas: 3, scalingStrategy: Periodic}", field: "spec.schedules"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[5].rule, location: "spec",
                  spec: "{\(target), maxReplicas: 3, scalingStrategy: Latency, heteroScale: {latency: {ttftSLOMilliseconds: 500}}}",
                  field: "spec.heteroScale"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[6].rule, location: "spec.metricsSources[]",
                  spec: "{\(target), maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: prometheus, targetMetric: m, targetValue: '1'}]}",
                  field: "spec.metricsSources[0].query"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[7].rule, location: "spec.metricsSources[]",
                  spec: "{\(target), maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: resource, targetMetric: gpu, targetValue: '50'}]}",
                  field: "spec.metricsSources[0].targetMetric"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[8].rule, location: "spec.behavior.scaleUp",
                  spec: "{\(kpa), behavior: {scaleUp: {policies: []}}}", field: "spec.behavior.scaleUp.policies"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[9].rule, location: "spec.behavior.scaleDown",
                  spec: "{\(kpa), behavior: {scaleDown: {policies: [], selectPolicy: Max}}}", field: "spec.behavior.scaleDown.policies"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[10].rule, location: "spec.heteroScale",
                  spec: "{\(kpa), heteroScale: {prefillRole: both, decodeRole: both}}", field: "spec.heteroScale.decodeRole"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[11].rule, location: "spec.heteroScale.latency",
                  spec: "{\(kpa), heteroScale: {latency: {percentile: 95}}}", field: "spec.heteroScale.latency"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[12].rule, location: "spec.sla",
                  spec: "{\(kpa), sla: {prefillRole: both, decodeRole: both}}", field: "spec.sla.decodeRole"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[13].rule, location: "spec.sla.profile",
                  spec: "{\(kpa), sla: {profile: {interpolation: linear}}}", field: "spec.sla.profile"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[14].rule, location: "spec.sla.profile",
                  spec: "{\(kpa), sla: {profile: {prefill: [{isl: 100, ttftMilliseconds: 20, throughputPerGPU: 5000}]}}}",
                  field: "spec.sla.profile"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[15].rule, location: "spec.schedules[]",
                  spec: "{\(kpa), schedules: [{end: '17:00', replicas: 2}]}", field: "spec.schedules[0].start"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[16].rule, location: "spec.schedules[]",
                  spec: "{\(kpa), schedules: [{startTime: '09:00', replicas: 2}]}", field: "spec.schedules[0].end"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[17].rule, location: "spec.schedules[]",
                  spec: "{\(kpa), schedules: [{start: '09:00', end: '17:00', replicas: 2, minReplicas: 1}]}", field: "spec.schedules[0].replicas"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[18].rule, location: "spec.schedules[]",
                  spec: "{\(kpa), schedules: [{start: '09:00', end: '17:00'}]}", field: "spec.schedules[0].replicas"),
    RuleViolation(kind: "PodAutoscaler", rule: SchemaRules.podAutoscaler[19].rule, location: "spec.schedules[]",
                  spec: "{\(kpa), schedules: [{start: '09:00', end: '17:00', minReplicas: 3, maxReplicas: 2}]}", field: "spec.schedules[0].maxReplicas"),
    RuleViolation(kind: "DeploymentGroup", rule: SchemaRules.deploymentGroup[0].rule, location: "spec.roles[]",
                  spec: "{replicas: 2, roles: [{name: prefill, minReplicas: 3, maxReplicas: 1}, {name: decode}]}", field: "spec.roles[0].maxReplicas"),
]

/// The CRDs' CEL rules are not evaluated by the emulator; `Autoscaler.validate` and
/// `DeploymentGroupValidation.validate` apply each of them (Autoscaling/SchemaRuleValidation.swift).
@Suite(.serialized) struct SchemaRuleParityTests {
    /// Adding, changing or removing a CEL rule in crds/ without its Swift twin fails here.
    @Test(arguments: [("heteroscale.io_podautoscalers.yaml", SchemaRules.podAutoscaler),
                      ("heteroscale.io_deploymentgroups.yaml", SchemaRules.deploymentGroup)])
    func everyCELRuleHasASwiftTwin(file: String, swift: [SchemaRule]) throws {
        let inCRD = celRules(try crdSchema(file))
        let mirrored = swift.map { CRDRule(location: $0.location, rule: $0.rule, message: $0.message, fieldPath: $0.fieldPath) }
        #expect(Set(inCRD) == Set(mirrored), "only in the CRD: \(Set(inCRD).subtracting(mirrored)); only in Swift: \(Set(mirrored).subtracting(inCRD))")
        #expect(inCRD.count == mirrored.count)
        // Every rule has a violating example below.
        for r in inCRD {
            #expect(ruleViolations.contains { $0.rule == r.rule && $0.location == r.location }, "no example breaks \(r)")
        }
    }

    /// The example passes everything the emulator checks (schema, pruning) and breaks only the CEL rule; the Swift
    /// validator refuses it at the rule's field, both as read from a file (replay, simulate) and as the API server
    /// stores it (defaults applied; the controller).
    @Test(arguments: ruleViolations)
    func swiftRefusesWhatTheRuleRefuses(_ v: RuleViolation) async throws {
        let spec = try YAML.load(v.spec)
        let object: JSONValue = [
            "apiVersion": "heteroscale.io/v1alpha1", "kind": .string(v.kind),
            "metadata": ["name": "rule", "namespace": "default"], "spec": spec,
        ]
        func refused(_ o: JSONValue) throws -> [String] {
            if v.kind == PodAutoscaler.kind {
                return Autoscaler.validate(try o.decode(PodAutoscaler.self).spec).map(\.field)
            }
            return DeploymentGroupValidation.validate(try o.decode(DeploymentGroup.self).spec).map(\.field)
        }
        func names(_ fields: [String]) -> Bool { fields.contains { $0 == v.field || $0.hasPrefix(v.field + ".") } }
        let fromFile = try refused(object)
        #expect(names(fromFile), "from a file: \(fromFile)")
        try await withCRDs { f in
            let plural = v.kind == PodAutoscaler.kind ? "podautoscalers" : "deploymentgroups"
            let (status, stored, warnings) = try await createStrictly(f.client, "/apis/heteroscale.io/v1alpha1/namespaces/default/\(plural)", object)
            #expect(status == 201, "the emulator refuses more than the CEL rule: \(stored["message"]?.stringValue ?? "")")
            #expect(warnings.isEmpty)
            if status == 201 {
                let fromServer = try refused(stored)
                #expect(names(fromServer), "as stored: \(fromServer)")
            }
        }
    }

    /// The CRD's targetValue pattern, `QuantitySyntax` and `MetricTarget.parse` accept exactly the same texts.
    @Test(arguments: ["1", "0.5", ".5", "5.", "+2", "-1", "500m", "2k", "4Gi", "1e3", "1E-2", "2.5e+3", "80%", "1Ei",
                      "", "abc", "1x", "%", "nan", "inf", "0x10", " 5", "5 ", "1e", "1.2.3", "Gi", "1Gi%", "5%%", "1K"])
    func quantityPatternParity(_ text: String) throws {
        let schema = try crdSchema("heteroscale.io_podautoscalers.yaml")
        let pattern = schema["properties"]?["spec"]?["properties"]?["metricsSources"]?["items"]?["properties"]?["targetValue"]?["pattern"]?.stringValue
        #expect(pattern == QuantitySyntax.pattern)
        let regex = try NSRegularExpression(pattern: QuantitySyntax.pattern)
        let matches = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        #expect(QuantitySyntax.isValid(text) == matches, "\(text)")
        #expect((MetricTarget.parse(text) != nil) == matches, "\(text)")
    }
}
