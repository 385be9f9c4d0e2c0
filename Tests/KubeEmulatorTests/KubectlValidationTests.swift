import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

extension Kubectl {
    /// Runs kubectl to completion without expecting success; returns (exit status, stdout, stderr).
    func attempt(_ args: String...) async throws -> (Int32, String, String) {
        let out = dir.appendingPathComponent("out-\(UUID().uuidString)").path
        let p = try process(args, stdout: out)
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            p.terminationHandler = { _ in cont.resume() }
            do { try p.run() } catch { cont.resume(throwing: error) }
        }
        return (p.terminationStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "")
    }
}

/// The repository's crds/ directory.
let repositoryCRDs: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("crds").path

/// kubectl (v1.32, `--validate=strict` by default: it sends `fieldValidation=Strict` once the server's OpenAPI
/// lists the parameter) against the emulator with the repository's CRDs: a typo fails the way kube-apiserver
/// fails it.
@Suite("kubectl against KubeEmulator: validation", .enabled(if: kubectlPath != nil, "kubectl is not installed"))
struct KubectlValidationTests {
    static let podAutoscaler = """
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata: {name: llama}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llama}
          minReplicas: 1
          maxReplica: 4
          maxReplicas: 4
          scalingStrategy: KPA
          metricsSources:
            - {metricSourceType: pod, targetMetric: num_requests_running, targetValue: "4"}
        """

    @Test func typoIsAStrictDecodingError() async throws {
        try await withKubectl { _, client, kubectl in
            let applied = try await kubectl.run("apply", "-f", repositoryCRDs).1
            #expect(applied.contains("customresourcedefinition.apiextensions.k8s.io/podautoscalers.heteroscale.io created"))
            #expect(applied.contains("customresourcedefinition.apiextensions.k8s.io/deploymentgroups.heteroscale.io created"))

            let file = try kubectl.write("pa.yaml", Self.podAutoscaler)
            let (status, _, stderr) = try await kubectl.attempt("apply", "-f", file)
            #expect(status != 0)
            #expect(stderr.contains("Error from server (BadRequest): error when creating \"\(file)\": PodAutoscaler in version \"v1alpha1\" cannot be handled as a PodAutoscaler: strict decoding error: unknown field \"spec.maxReplica\""), "\(stderr)")
            _ = try await expectAPIError(404, "NotFound") {
                _ = try await client.json(path: "/apis/heteroscale.io/v1alpha1/namespaces/default/podautoscalers/llama")
            }

            // Without the typo the same manifest is created; --validate=warn turns the typo into a warning.
            let fixed = try kubectl.write("pa-fixed.yaml", Self.podAutoscaler.replacingOccurrences(of: "  maxReplica: 4\n", with: ""))
            #expect(try await kubectl.run("apply", "-f", fixed).1.contains("podautoscaler.heteroscale.io/llama created"))
            let warned = try kubectl.write("pa-warn.yaml", Self.podAutoscaler.replacingOccurrences(of: "name: llama}", with: "name: warned}"))
            let (_, _, warning) = try await kubectl.run("apply", "--validate=warn", "-f", warned)
            #expect(warning.contains("Warning: unknown field \"spec.maxReplica\""), "\(warning)")
        }
    }

    /// The schema's quantity pattern refuses a targetValue that is not a quantity, at apply time.
    @Test func nonQuantityTargetIsInvalid() async throws {
        try await withKubectl { _, _, kubectl in
            try await kubectl.run("apply", "-f", repositoryCRDs)
            let file = try kubectl.write("pa.yaml", Self.podAutoscaler
                .replacingOccurrences(of: "  maxReplica: 4\n", with: "")
                .replacingOccurrences(of: "targetValue: \"4\"", with: "targetValue: abc"))
            let (status, _, stderr) = try await kubectl.attempt("apply", "-f", file)
            #expect(status != 0)
            #expect(stderr.contains("The PodAutoscaler \"llama\" is invalid: spec.metricsSources[0].targetValue: Invalid value: \"abc\": spec.metricsSources[0].targetValue in body should match '"), "\(stderr)")
        }
    }
}
