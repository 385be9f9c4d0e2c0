import Foundation
import KubeClient
import Sandbox
import Testing
import TestSupport
import YAML

/// The repository root (two levels above this file's folder).
let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// `heteroscale sandbox` as a user runs it: the built binary with a scenario, then the real kubectl applying a
/// DeploymentGroup and a HeteroScale PodAutoscaler, and the scenario's load driving a scale-out and a scale-in.
@Suite(.serialized) struct SandboxEndToEndTests {
    /// Pod IPs and the metrics port of this test (the demo uses 127.0.20., the controller tests' fake engines 127.0.10.).
    static let prefix = "127.0.21."
    static let port = 18000

    /// The default scenario's cluster and model, a shorter load (simulated seconds from the first instance in
    /// service): 12 s at 1 req/s (128 decode tokens/s: the minimum of 3), 8 req/s (1,024 tokens/s: 6 instances at
    /// 150 each) until 32 s, then 1 req/s (back to 3). Cold start 2 s.
    static func scenario(_ dir: TestDirectory) throws -> String {
        let profiles = "\(repositoryRoot)/samples/profiles"
        try dir.write("scenario.yaml", """
            name: sandbox-e2e
            profiles: [\(profiles)/h100.yaml, \(profiles)/h20.yaml]
            model: llama2-70b
            cluster:
              nodes:
                - {name: h100, count: 2, gpus: 8, gpuType: h100-80gb, s1: mp-h100, s2: bp-1}
                - {name: h20, count: 3, gpus: 8, gpuType: h20, s1: mp-h20, s2: bp-1}
            workload:
              arrivals: {kind: piecewise, points: [{time: 0, rate: 1}, {time: 12, rate: 1}, {time: 13, rate: 8}, {time: 32, rate: 8}, {time: 33, rate: 1}]}
              sizes: {constant: {prompt: 512, output: 128}}
              duration: 600
            seed: 3
            slo: {ttftMs: 2000, tbtMs: 80}
            coldStartSeconds: 2
            policies:
              - name: group
                manifests:
                  - kind: DeploymentGroup
                    metadata: {name: sbx}
                    spec:
                      replicas: 3
                      roles:
                        - {name: prefill, weight: 1, gpuType: [h100-80gb], gpusPerInstance: 4}
                        - {name: decode, weight: 2, gpuType: [h20], gpusPerInstance: 4}
            """)
        return dir.path("scenario.yaml")
    }

    static let manifests = """
        apiVersion: heteroscale.io/v1alpha1
        kind: DeploymentGroup
        metadata: {name: sbx, namespace: default}
        spec:
          replicas: 3
          affinity: {domain: S2}
          gate: {tolerance: 0.2}
          roles:
            - name: prefill
              weight: 1
              gpuType: [h100-80gb]
              gpusPerInstance: 4
              minReplicas: 1
              maxReplicas: 4
              template:
                spec: {containers: [{name: vllm, image: vllm, ports: [{containerPort: \(port)}]}]}
            - name: decode
              weight: 2
              gpuType: [h20]
              gpusPerInstance: 4
              minReplicas: 2
              maxReplicas: 8
              template:
                spec: {containers: [{name: vllm, image: vllm, ports: [{containerPort: \(port)}]}]}
        ---
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata: {name: sbx, namespace: default}
        spec:
          scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: sbx}
          minReplicas: 3
          maxReplicas: 6
          scalingStrategy: HeteroScale
          tickSeconds: 1
          metricsSources:
            - {metricSourceType: pod, role: decode, protocolType: http, port: "\(port)", path: /metrics, targetMetric: vllm:generation_tokens_total, targetValue: "150"}
          heteroScale:
            targetDecodeTPSPerInstance: 150
            scaleOutThreshold: 0.1
            scaleInThreshold: 0.1
            scaleOutCooldownSeconds: 2
            scaleInCooldownSeconds: 3
            scaleInStabilizationSeconds: 2
        """

    /// The `heteroscale` executable built beside the test bundle.
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("heteroscale").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return "\(repositoryRoot)/.build/debug/heteroscale"
    }

    @Test func aDeploymentGroupScalesOutAndInWithTheScenariosLoad() async throws {
        let dir = try TestDirectory("heteroscale-sandbox")
        defer { dir.cleanup() }
        let kubeconfig = dir.path("kubeconfig")
        let sandbox = try TestProcess(Self.binary, ["sandbox", try Self.scenario(dir), "--kubeconfig-out", kubeconfig,
                                                    "--pod-ip-prefix", Self.prefix, "--crds", "\(repositoryRoot)/crds"])
        defer { sandbox.stop() }
        _ = try await sandbox.waitForLine(containing: "Next, in another shell")
        let server = try #require(try String(contentsOfFile: kubeconfig, encoding: .utf8)
            .split(separator: "\n").first { $0.contains("server:") }?.split(separator: " ").last.map(String.init))
        let client = RESTClient(config: RESTConfig(server: server, namespace: "default", source: "test"))
        func kubectl(_ args: String...) throws -> String {
            try runCommand(which("kubectl") ?? "/usr/bin/kubectl", ["--kubeconfig", kubeconfig] + args)
        }
        #expect(try kubectl("get", "nodes", "--no-headers").split(separator: "\n").count == 5)
        try dir.write("manifests.yaml", Self.manifests)
        let applied = Date()
        _ = try kubectl("apply", "-f", dir.path("manifests.yaml"))

        /// role → (ready pods, nodes), of the group's live pods.
        func pods() async throws -> [(role: String, node: String, ip: String?, ready: Bool)] {
            try await client.list(.pods, namespace: "default")["items"]?.arrayValue?.compactMap { p in
                guard p["metadata"]?["labels"]?["heteroscale.io/group"]?.stringValue == "sbx" else { return nil }
                let ready = (p["status"]?["conditions"]?.arrayValue ?? []).contains {
                    $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
                }
                return (p["metadata"]?["labels"]?["heteroscale.io/role"]?.stringValue ?? "", p["spec"]?["nodeName"]?.stringValue ?? "",
                        p["status"]?["podIP"]?.stringValue, ready)
            } ?? []
        }
        func ready() async throws -> [String: Int] {
            try await pods().filter(\.ready).reduce(into: [:]) { $0[$1.role, default: 0] += 1 }
        }
        func desired() async throws -> Int? {
            try await client.get(.deploymentGroups, namespace: "default", name: "sbx")["spec"]?["replicas"]?.intValue.map(Int.init)
        }
        func seconds() -> String { String(format: "%.1f s", Date().timeIntervalSince(applied)) }

        // Placed, cold-started, gated in: 1 prefill on H100, 2 decode on H20, serving simulated /metrics.
        try await eventually("1:2 ready", seconds: 20) { try await ready() == ["prefill": 1, "decode": 2] }
        let readyAt = seconds()
        for p in try await pods() {
            #expect(p.node.hasPrefix(p.role == "prefill" ? "h100" : "h20"), "\(p.role) on \(p.node)")
            #expect(p.ip?.hasPrefix(Self.prefix) == true)
        }
        let decodeIP = try #require(try await pods().first { $0.role == "decode" }?.ip)
        try await eventually("a decode pod generates tokens", seconds: 10) {
            let r = try await HTTPTransport.shared.send(HTTPRequest(url: "http://\(decodeIP):\(Self.port)/metrics"))
            let text = String(decoding: r.body, as: UTF8.self)
            let tokens = text.split(separator: "\n").first { $0.hasPrefix("vllm:generation_tokens_total{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
            return r.status == 200 && (tokens ?? 0) > 0 && text.contains("vllm:inter_token_latency_seconds_bucket")
        }

        // The load rises to 8 req/s: the group goes to 6, split 2:4, all ready (cold start and gate included).
        try await eventually("scaled out to 6", seconds: 40) { try await desired() == 6 }
        let outAt = seconds()
        try await eventually("2:4 ready", seconds: 20) { try await ready() == ["prefill": 2, "decode": 4] }
        let outReadyAt = seconds()
        let describe = try kubectl("describe", "pa", "sbx")
        #expect(describe.contains("SuccessfulRescale") && describe.contains("HeteroScale: decode TPS"), "\(describe)")

        // The load falls to 1 req/s: back to 3, the extra pods deleted.
        try await eventually("scaled in to 3", seconds: 40) { try await desired() == 3 }
        let inAt = seconds()
        try await eventually("3 pods left", seconds: 20) { try await pods().count == 3 }
        print("sandbox e2e (from kubectl apply): 1:2 ready \(readyAt), desired 6 at \(outAt), 2:4 ready \(outReadyAt), desired 3 at \(inAt), 3 pods at \(seconds())")
        #expect(try kubectl("get", "dg", "sbx", "--no-headers").contains("1:2"))
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass (wall time: the sandbox is a real process);
/// throws on timeout, so the test stops at the first missed step.
func eventually(_ what: String, seconds: Double, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TimedOut(description: "timed out after \(seconds) s waiting for \(what)")
}
