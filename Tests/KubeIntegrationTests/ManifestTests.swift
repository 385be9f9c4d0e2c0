import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import YAML

/// The repository's CRDs (`crds/`) and samples (`samples/autoscaling/`), read from disk.
enum ManifestFiles {
    /// The repository root: three levels above this file.
    static var root: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The `.yaml` files of a repository directory, sorted by name.
    static func yamlFiles(in directory: String) -> [String] {
        let path = root.appendingPathComponent(directory).path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted()
    }

    static func text(_ directory: String, _ name: String) throws -> String {
        try String(contentsOfFile: root.appendingPathComponent("\(directory)/\(name)").path, encoding: .utf8)
    }

    static func documents(_ directory: String, _ name: String) throws -> [JSONValue] {
        try YAML.loadAll(text(directory, name))
    }

    static let crdFiles: [String] = yamlFiles(in: "crds")
    static let sampleFiles: [String] = yamlFiles(in: "samples/autoscaling")
    /// Samples that are a single PodAutoscaler document.
    static let podAutoscalerSamples: [String] = sampleFiles.filter { name in
        let docs = (try? documents("samples/autoscaling", name)) ?? []
        return docs.count == 1 && docs[0]["kind"]?.stringValue == PodAutoscaler.kind
    }

    static let crdResource = GroupVersionResource(
        group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions", namespaced: false)
}

/// POSTs `object` with `fieldValidation=Strict` (as kubectl does) and returns the status, the body and the
/// `Warning` headers.
func createStrictly(_ client: RESTClient, _ path: String, _ object: JSONValue) async throws -> (Int, JSONValue, [String]) {
    let response = try await client.send(method: "POST", path: path + "?fieldValidation=Strict", body: try object.jsonBytes(),
                                         contentType: "application/json")
    let warnings = response.headers.filter { $0.name.lowercased() == "warning" }.map(\.value)
    return (response.status, try JSONValue.parseJSON(response.body), warnings)
}

/// Runs `body` against an emulator with the repository's CRDs installed (strictly, each must be accepted), and
/// stops the emulator afterwards.
func withCRDs(_ body: (EmulatorFixture) async throws -> Void) async throws {
    let f = try await EmulatorFixture.start()
    do {
        for name in ManifestFiles.crdFiles {
            for crd in try ManifestFiles.documents("crds", name) {
                let (status, answer, warnings) = try await createStrictly(f.client, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
                #expect(status == 201, "crds/\(name) is refused: \(answer["message"]?.stringValue ?? "\(answer)")")
                #expect(warnings.isEmpty, "crds/\(name): \(warnings)")
            }
        }
        try await body(f)
    } catch {
        await f.stop()
        throw error
    }
    await f.stop()
}

/// Properties (by path) of an openAPIV3Schema that lack a non-empty `description`. The root `metadata` is exempt:
/// kube-apiserver allows nothing there but `type: object` (see `rootMetadataIsOnlyAnObject`).
private func propertiesWithoutDescription(_ schema: JSONValue, path: String = "") -> [String] {
    var missing: [String] = []
    for entry in schema["properties"]?.objectValue ?? JSONObject() {
        if path.isEmpty && entry.key == "metadata" { continue }
        let p = path.isEmpty ? entry.key : "\(path).\(entry.key)"
        if (entry.value["description"]?.stringValue ?? "").isEmpty { missing.append(p) }
        missing += propertiesWithoutDescription(entry.value, path: p)
    }
    if let items = schema["items"] { missing += propertiesWithoutDescription(items, path: "\(path)[]") }
    if let extra = schema["additionalProperties"], extra.objectValue != nil {
        missing += propertiesWithoutDescription(extra, path: "\(path){}")
    }
    return missing
}

@Suite(.serialized) struct ManifestTests {
    @Test func repositoryHasCRDsAndSamples() {
        #expect(ManifestFiles.crdFiles == ["heteroscale.io_deploymentgroups.yaml", "heteroscale.io_podautoscalers.yaml"])
        for strategy in ["hpa", "kpa", "apa", "heteroscale", "sla", "periodic", "multi-metric", "scheduled"] {
            #expect(ManifestFiles.podAutoscalerSamples.contains("\(strategy).yaml"), "missing sample \(strategy).yaml")
        }
    }

    /// (a) The CRDs load and are accepted; every custom resource of a sample is then created and accepted, and a
    /// PodAutoscaler read back (with the schema's defaults applied) still passes the controller's validation.
    @Test(arguments: ManifestFiles.sampleFiles)
    func sampleIsAcceptedByTheAPI(file: String) async throws {
        try await acceptedByTheAPI("samples/autoscaling", file)
    }

    /// The same for the sandbox's group and PodAutoscaler (`kubectl apply -f samples/sandbox/`).
    @Test(arguments: ManifestFiles.yamlFiles(in: "samples/sandbox"))
    func sandboxSampleIsAcceptedByTheAPI(file: String) async throws {
        try await acceptedByTheAPI("samples/sandbox", file)
    }

    private func acceptedByTheAPI(_ directory: String, _ file: String) async throws {
        let documents = try ManifestFiles.documents(directory, file)
        #expect(!documents.isEmpty)
        try await withCRDs { f in
            var created = 0
            for doc in documents {
                let kind = doc["kind"]?.stringValue ?? ""
                // Built-in kinds (the model server) are not schema-validated by the emulator.
                guard kind == PodAutoscaler.kind || kind == DeploymentGroup.kind else { continue }
                let resource: GroupVersionResource = kind == PodAutoscaler.kind ? .podAutoscalers : .deploymentGroups
                let namespace = doc["metadata"]?["namespace"]?.stringValue ?? "default"
                // Strict, as kubectl applies it: a field the CRD does not know fails the sample.
                let (status, stored, warnings) = try await createStrictly(
                    f.client, "/apis/heteroscale.io/v1alpha1/namespaces/\(namespace)/\(resource.resource)", doc)
                #expect(status == 201, "\(file): \(stored["message"]?.stringValue ?? "\(stored)")")
                #expect(warnings.isEmpty, "\(file): \(warnings)")
                guard status == 201 else { continue }
                created += 1
                if kind == PodAutoscaler.kind {
                    let pa = try stored.decode(PodAutoscaler.self)
                    #expect(pa.spec.minReplicas != nil, "the schema defaults minReplicas")
                    let issues = Autoscaler.validate(pa.spec)
                    #expect(issues.isEmpty, "\(file) as stored: \(issues)")
                } else {
                    _ = try stored.decode(DeploymentGroup.self)
                }
            }
            if directory == "samples/autoscaling" && ManifestFiles.podAutoscalerSamples.contains(file) { #expect(created == 1) }
        }
    }

    /// `heteroscale curate`'s recommended manifests (the worked examples' output, `samples/curation/recommended-*.yaml`:
    /// a DeploymentGroup and its PodAutoscaler, or a Deployment and an HPA PodAutoscaler per role) are accepted
    /// strictly by the API with the CRDs, and every PodAutoscaler passes the controller's validation as stored.
    @Test(arguments: ManifestFiles.yamlFiles(in: "samples/curation").filter { $0.hasPrefix("recommended-") })
    func curatedRecommendationIsAcceptedByTheAPI(file: String) async throws {
        let documents = try ManifestFiles.documents("samples/curation", file)
        let kinds = documents.map { $0["kind"]?.stringValue ?? "" }.sorted()
        #expect(kinds == [DeploymentGroup.kind, PodAutoscaler.kind] || kinds == [Deployment.kind, Deployment.kind, PodAutoscaler.kind, PodAutoscaler.kind],
                "\(file): \(kinds)")
        try await withCRDs { f in
            for doc in documents {
                let kind = doc["kind"]?.stringValue ?? ""
                let path = switch kind {
                case PodAutoscaler.kind: "/apis/heteroscale.io/v1alpha1/namespaces/default/\(GroupVersionResource.podAutoscalers.resource)"
                case DeploymentGroup.kind: "/apis/heteroscale.io/v1alpha1/namespaces/default/\(GroupVersionResource.deploymentGroups.resource)"
                default: "/apis/apps/v1/namespaces/default/deployments"
                }
                let (status, stored, warnings) = try await createStrictly(f.client, path, doc)
                #expect(status == 201, "\(file): \(stored["message"]?.stringValue ?? "\(stored)")")
                #expect(warnings.isEmpty, "\(file): \(warnings)")
                if status == 201, kind == PodAutoscaler.kind {
                    #expect(Autoscaler.validate(try stored.decode(PodAutoscaler.self).spec).isEmpty)
                }
            }
        }
    }

    /// (b) Each PodAutoscaler sample decodes and the controller's validation finds nothing wrong with it.
    @Test(arguments: ManifestFiles.podAutoscalerSamples)
    func sampleDecodesAndValidates(file: String) throws {
        let pa = try YAML.decode(PodAutoscaler.self, from: ManifestFiles.text("samples/autoscaling", file))
        #expect(pa.apiVersion == PodAutoscaler.apiVersion)
        #expect(pa.spec.strategy != nil, "\(file): unknown strategy \(pa.spec.scalingStrategy)")
        let issues = Autoscaler.validate(pa.spec)
        #expect(issues.isEmpty, "\(file): \(issues)")
    }

    /// (c) Invalid PodAutoscalers are rejected by the schema with 422 Invalid, and the cause names the field. Each
    /// spec is also rejected by the controller (it fails to decode or `Autoscaler.validate` reports an issue).
    @Test(arguments: [
        ("bad strategy enum", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: Magic, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]}", "spec.scalingStrategy"),
        ("maxReplicas 0", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 0, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]}", "spec.maxReplicas"),
        ("missing scaleTargetRef", "{maxReplicas: 3, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]}", "spec.scaleTargetRef"),
        ("missing maxReplicas", "{scaleTargetRef: {kind: Deployment, name: x}, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]}", "spec.maxReplicas"),
        ("maxReplicas not an integer", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: three, scalingStrategy: HPA}", "spec.maxReplicas"),
        ("negative minReplicas", "{scaleTargetRef: {kind: Deployment, name: x}, minReplicas: -1, maxReplicas: 3, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]}", "spec.minReplicas"),
        ("bad metricSourceType", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: pods, targetMetric: m, targetValue: '1'}]}", "spec.metricsSources[0].metricSourceType"),
        ("bad protocolType", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, protocolType: grpc, targetMetric: m, targetValue: '1'}]}", "spec.metricsSources[0].protocolType"),
        ("port out of range", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, port: 70000, targetMetric: m, targetValue: '1'}]}", "spec.metricsSources[0].port"),
        ("missing targetValue", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: m}]}", "spec.metricsSources[0].targetValue"),
        ("KPA panic window 0", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}], kpa: {panicWindowPercentage: 0}}", "spec.kpa.panicWindowPercentage"),
        ("bad window algorithm", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: KPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}], kpa: {windowAlgorithm: exponential}}", "spec.kpa.windowAlgorithm"),
        ("APA down tolerance above 1", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: APA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}], apa: {downFluctuationTolerance: 1.5}}", "spec.apa.downFluctuationTolerance"),
        ("bad policy type", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}], behavior: {scaleDown: {policies: [{type: Pod, value: 1, periodSeconds: 15}]}}}", "spec.behavior.scaleDown.policies[0].type"),
        ("policy period too long", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}], behavior: {scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 3600}]}}}", "spec.behavior.scaleUp.policies[0].periodSeconds"),
        ("schedule start not HH:MM", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: Periodic, schedules: [{start: '9am', end: '10:00', replicas: 2}]}", "spec.schedules[0].start"),
        ("observeWindowSeconds above 3600", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: KPA, observeWindowSeconds: 7200, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: '1'}]}", "spec.observeWindowSeconds"),
        ("targetValue not a quantity", "{scaleTargetRef: {kind: Deployment, name: x}, maxReplicas: 3, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: m, targetValue: abc}]}", "spec.metricsSources[0].targetValue"),
        ("SLA predictionWindow too small", "{scaleTargetRef: {kind: DeploymentGroup, name: x}, maxReplicas: 3, scalingStrategy: SLA, sla: {predictionWindow: 2, profile: {file: /p.csv}}}", "spec.sla.predictionWindow"),
    ])
    func invalidPodAutoscalerIsRejected(name: String, specYAML: String, field: String) async throws {
        let spec = try YAML.load(specYAML)
        let object: JSONValue = [
            "apiVersion": .string(PodAutoscaler.apiVersion), "kind": .string(PodAutoscaler.kind),
            "metadata": ["name": "invalid", "namespace": "default"], "spec": spec,
        ]
        // The controller rejects it too: it does not decode, or validation reports an issue.
        if let pa = try? object.decode(PodAutoscaler.self) {
            #expect(!Autoscaler.validate(pa.spec).isEmpty, "\(name): the controller's validation accepts it")
        }
        try await withCRDs { f in
            do {
                _ = try await f.client.create(.podAutoscalers, namespace: "default", object)
                Issue.record("\(name): expected 422 Invalid, the object was created")
            } catch let e as KubeAPIError {
                #expect(e.code == 422, "\(name): \(e)")
                #expect(e.kind == .invalid, "\(name): \(e)")
                #expect(e.causes.contains { $0.field == field }, "\(name): causes \(e.causes) do not name \(field)")
            }
        }
    }

    /// (c') The same for DeploymentGroups: what the schema refuses, `DeploymentGroupValidation` refuses too.
    @Test(arguments: [
        ("no roles", "{replicas: 2, roles: []}", "spec.roles"),
        ("negative replicas", "{replicas: -1, roles: [{name: decode}]}", "spec.replicas"),
        ("empty role name", "{replicas: 2, roles: [{name: ''}]}", "spec.roles[0].name"),
        ("zero weight", "{replicas: 2, roles: [{name: decode, weight: 0}]}", "spec.roles[0].weight"),
        ("zero GPUs per instance", "{replicas: 2, roles: [{name: decode, gpusPerInstance: 0}]}", "spec.roles[0].gpusPerInstance"),
        ("negative role bound", "{replicas: 2, roles: [{name: decode, minReplicas: -1}]}", "spec.roles[0].minReplicas"),
        ("unknown affinity domain", "{replicas: 2, roles: [{name: decode}], affinity: {domain: S3}}", "spec.affinity.domain"),
        ("negative gate tolerance", "{replicas: 2, roles: [{name: decode}], gate: {tolerance: -0.1}}", "spec.gate.tolerance"),
        ("negative observation", "{replicas: 2, roles: [{name: decode}], softScaleIn: {observationSeconds: -1}}", "spec.softScaleIn.observationSeconds"),
    ])
    func invalidDeploymentGroupIsRejected(name: String, specYAML: String, field: String) async throws {
        let object: JSONValue = [
            "apiVersion": .string(DeploymentGroup.apiVersion), "kind": .string(DeploymentGroup.kind),
            "metadata": ["name": "invalid", "namespace": "default"], "spec": try YAML.load(specYAML),
        ]
        let issues = DeploymentGroupValidation.validate(try object.decode(DeploymentGroup.self).spec)
        #expect(issues.contains { $0.field == field }, "\(name): \(issues)")
        try await withCRDs { f in
            let (status, answer, _) = try await createStrictly(f.client, "/apis/heteroscale.io/v1alpha1/namespaces/default/deploymentgroups", object)
            #expect(status == 422, "\(name): \(answer)")
            let fields = answer["details"]?["causes"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
            #expect(fields.contains(field), "\(name): \(fields)")
        }
    }

    /// (d) Every property of every CRD's schema has a description, so `kubectl explain` helps.
    @Test(arguments: ManifestFiles.crdFiles)
    func everyPropertyIsDescribed(file: String) throws {
        let docs = try ManifestFiles.documents("crds", file)
        #expect(docs.count == 1)
        let crd = try #require(docs.first)
        #expect(crd["kind"]?.stringValue == "CustomResourceDefinition")
        #expect(crd["spec"]?["group"]?.stringValue == "heteroscale.io")
        let versions = crd["spec"]?["versions"]?.arrayValue ?? []
        #expect(versions.count == 1)
        for version in versions {
            #expect(version["name"]?.stringValue == "v1alpha1")
            let schema = try #require(version["schema"]?["openAPIV3Schema"])
            #expect(schema["description"]?.stringValue?.isEmpty == false)
            let missing = propertiesWithoutDescription(schema)
            #expect(missing.isEmpty, "\(file): no description on \(missing)")
        }
    }

    /// kube-apiserver's structural-schema rule (apiextensions-apiserver pkg/apiserver/schema/validation.go,
    /// `validateStructuralMetadataInvariants`): the root `metadata` may say `type: object` and nothing else, not
    /// even a description.
    @Test(arguments: ManifestFiles.crdFiles)
    func rootMetadataIsOnlyAnObject(file: String) throws {
        let crd = try #require(try ManifestFiles.documents("crds", file).first)
        for version in crd["spec"]?["versions"]?.arrayValue ?? [] {
            #expect(version["schema"]?["openAPIV3Schema"]?["properties"]?["metadata"] == ["type": "object"])
        }
    }

    /// The Kubernetes minor release that introduced each CRD field the repository might use (apiextensions.k8s.io/v1
    /// types.go: ValidationRule `rule`/`message` 1.25 (x-kubernetes-validations on by default), `messageExpression`
    /// 1.27, `reason` and `fieldPath` 1.28, `optionalOldSelf` 1.29; CustomResourceDefinitionVersion
    /// `selectableFields` 1.30). An older kube-apiserver refuses an unknown one (`strict decoding error: unknown
    /// field`), so crds/ may only use fields of `SupportedKubernetes.minimum`, and the minimum is what they need.
    static let introducedIn: [String: Int] = [
        "rule": 25, "message": 25, "messageExpression": 27, "reason": 28, "fieldPath": 28, "optionalOldSelf": 29,
        "selectableFields": 30,
    ]

    /// The minor releases the fields of a CRD need.
    static func neededMinors(_ crd: JSONValue) -> [String: Int] {
        var needed: [String: Int] = [:]
        func walk(_ s: JSONValue) {
            for rule in s["x-kubernetes-validations"]?.arrayValue ?? [] {
                for key in rule.objectValue?.keys ?? [] { needed[key] = introducedIn[key] ?? 99 }
            }
            for p in s["properties"]?.objectValue ?? JSONObject() { walk(p.value) }
            if let items = s["items"] { walk(items) }
            if let extra = s["additionalProperties"], extra.objectValue != nil { walk(extra) }
        }
        for version in crd["spec"]?["versions"]?.arrayValue ?? [] {
            if version["selectableFields"] != nil { needed["selectableFields"] = introducedIn["selectableFields"] }
            if let schema = version["schema"]?["openAPIV3Schema"] { walk(schema) }
        }
        return needed
    }

    @Test func crdsNeedExactlyTheMinimumKubernetesVersion() throws {
        var needed: [String: Int] = [:]
        for file in ManifestFiles.crdFiles {
            for crd in try ManifestFiles.documents("crds", file) { needed.merge(Self.neededMinors(crd)) { max($0, $1) } }
        }
        #expect(needed.values.allSatisfy { $0 != 99 }, "a CEL rule field without a known release: \(needed)")
        let newest = needed.values.max() ?? 0
        #expect(SupportedKubernetes.minimum.major == 1)
        #expect(newest == SupportedKubernetes.minimum.minor,
                "crds/ need Kubernetes 1.\(newest) (\(needed.filter { $0.value == newest }.keys.sorted())); SupportedKubernetes.minimum and the README say \(SupportedKubernetes.minimumString)")
        let readme = try String(contentsOfFile: ManifestFiles.root.appendingPathComponent("README.md").path, encoding: .utf8)
        #expect(readme.contains("Kubernetes \(SupportedKubernetes.minimumString) or newer"), "README.md states the supported versions")
    }

    @Test(arguments: [("1", "28", true), ("1", "27", false), ("1", "28+", true), ("1", "34", true), ("2", "0", true), ("x", "1", nil)])
    func serverVersionSupport(major: String, minor: String, supported: Bool?) {
        #expect(SupportedKubernetes.isSupported(major: major, minor: minor) == supported)
    }

    @Test func podAutoscalerPrinterColumns() throws {
        let crd = try #require(try ManifestFiles.documents("crds", "heteroscale.io_podautoscalers.yaml").first)
        let version = try #require(crd["spec"]?["versions"]?[0])
        let columns = (version["additionalPrinterColumns"]?.arrayValue ?? [])
            .filter { ($0["priority"]?.intValue ?? 0) == 0 }
            .compactMap { $0["name"]?.stringValue }
        #expect(columns == ["STRATEGY", "MIN", "MAX", "DESIRED", "ACTUAL", "AGE"])
        #expect(crd["spec"]?["names"]?["shortNames"]?.arrayValue?.compactMap(\.stringValue) == ["pa"])
        #expect(crd["spec"]?["names"]?["categories"]?.arrayValue?.compactMap(\.stringValue) == ["heteroscale"])
        #expect(version["subresources"]?["status"] != nil)
    }
}
