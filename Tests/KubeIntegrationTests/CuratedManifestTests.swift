import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import Simulation
import Testing
import YAML

/// `heteroscale curate`'s manifests for the Hybrid candidate and with `--template samples/curation/template.yaml`
/// are accepted strictly by the API with the repository's CRDs (as `curatedRecommendationIsAcceptedByTheAPI`
/// checks the committed recommendations), and every PodAutoscaler passes the controller's validation as stored.
@Suite struct CuratedManifestTests {
    /// A toy hardware profile with flat rates at tensor parallel 4 (the sample template's GPUs per instance), so
    /// a curation runs in seconds in a debug build.
    static let toyProfile = """
        hardware: toy
        gpuMemoryGiB: 80
        profiles:
          - model: toy-model
            tensorParallel: 4
            kvBytesPerToken: 1000
            kvCapacityTokens: 10000000
            prefill: {batchTokens: [128, 32768], tokensPerSecond: [10000, 10000]}
            decode: {batchSize: [1, 256], stepMs: [50, 50], referenceContextTokens: 512, contextMsPerToken: 0}
        """

    @Test func hybridAndTemplatedManifestsAreAcceptedByTheAPI() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("curated-manifests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.toyProfile.write(to: dir.appendingPathComponent("toy.yaml"), atomically: true, encoding: .utf8)
        try """
            name: toy
            profiles: [toy.yaml]
            model: toy-model
            roles: {prefill: {gpuTypes: [toy], gpusPerInstance: 4}, decode: {gpuTypes: [toy], gpusPerInstance: 4}}
            slo: {ttftMs: 3000, tbtMs: 100}
            maxBatchSize: 16
            maxBatchTokens: 2048
            workload: {arrivals: {kind: diurnal, peakRate: 8, peakToTrough: 4, period: 300, peakAt: 150}, sizes: {constant: {prompt: 1000, output: 64}}, duration: 300}
            seed: 5
            ratios: ["1:2"]
            stress: {duration: 120, iterations: 3}
            simulation: {coldStartSeconds: 30}
            policies: [{strategy: hybrid, values: [0.8]}, {strategy: hpa-gpu}]
            """.write(to: dir.appendingPathComponent("curate.yaml"), atomically: true, encoding: .utf8)
        let template = try CurateTemplate.load(path: ManifestFiles.root.appendingPathComponent("samples/curation/template.yaml").path)
        let report = try CurateRunner.run(try CurateSpec.load(path: dir.appendingPathComponent("curate.yaml").path),
                                          baseDirectory: dir.path, jobs: 2, template: template)
        // Every candidate's manifests, each distinct object once (the candidates share the DeploymentGroup).
        var documents: [JSONValue] = []
        for policy in report.policies {
            for m in policy.manifests where !documents.contains(m) { documents.append(m) }
        }
        let strategies = documents.compactMap { $0["spec"]?["scalingStrategy"]?.stringValue }
        #expect(strategies.contains("Hybrid") && strategies.contains("HPA"), "\(strategies)")
        try await withCRDs { f in
            for doc in documents {
                let kind = doc["kind"]?.stringValue ?? ""
                let namespace = doc["metadata"]?["namespace"]?.stringValue ?? "default"
                let path = switch kind {
                case PodAutoscaler.kind: "/apis/heteroscale.io/v1alpha1/namespaces/\(namespace)/\(GroupVersionResource.podAutoscalers.resource)"
                case DeploymentGroup.kind: "/apis/heteroscale.io/v1alpha1/namespaces/\(namespace)/\(GroupVersionResource.deploymentGroups.resource)"
                default: "/apis/apps/v1/namespaces/\(namespace)/deployments"
                }
                let (status, stored, warnings) = try await createStrictly(f.client, path, doc)
                #expect(status == 201, "\(kind): \(stored["message"]?.stringValue ?? "\(stored)")")
                #expect(warnings.isEmpty, "\(kind): \(warnings)")
                guard status == 201 else { continue }
                if kind == PodAutoscaler.kind {
                    let issues = Autoscaler.validate(try stored.decode(PodAutoscaler.self).spec)
                    #expect(issues.isEmpty, "\(issues)")
                }
                if kind == "Deployment" {
                    // The ratio gate's readiness gate is not carried over: no DeploymentGroup would set it.
                    #expect(doc["spec"]?["template"]?["spec"]?["readinessGates"] == nil)
                    #expect(doc["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"] == "vllm/vllm-openai:v0.6.3")
                }
                if kind == DeploymentGroup.kind {
                    // The stored group still holds the template's pod templates.
                    let group = try stored.decode(DeploymentGroup.self)
                    #expect(group.spec.roles.map { $0.template["spec"]?["containers"]?[0]?["image"] } == ["vllm/vllm-openai:v0.6.3", "vllm/vllm-openai:v0.6.3"])
                }
            }
        }
    }
}
