import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

@Suite("kubectl: nodes, scheduling and EndpointSlices", .enabled(if: kubectlPath != nil, "kubectl is not installed"))
struct KubectlClusterTests {
    @Test func getNodesPodsAndEndpointSlices() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { emulator, client in
            let kubectl = try Kubectl(server: try #require(emulator.baseURL))
            defer { kubectl.cleanUp() }
            try emulator.addNodes([
                EmulatedNode(name: "gpu-1", labels: ["node-role.kubernetes.io/worker": "", "gpu": "h100"], gpus: 8),
                EmulatedNode(name: "gpu-2", labels: ["gpu": "h20"], gpus: 8, ready: false),
                EmulatedNode(name: "gpu-3", labels: ["gpu": "h20"], gpus: 8, unschedulable: true),
            ])
            var (_, out, _) = try await kubectl.run("get", "nodes")
            // AGE depends on the wall clock; every other column is compared.
            #expect(tableRows(out).map { $0.enumerated().filter { $0.offset != 3 }.map(\.element) } == [
                ["NAME", "STATUS", "ROLES", "VERSION"],
                ["gpu-1", "Ready", "worker", "v1.32.0"],
                ["gpu-2", "NotReady", "<none>", "v1.32.0"],
                ["gpu-3", "Ready,SchedulingDisabled", "<none>", "v1.32.0"],
            ])
            (_, out, _) = try await kubectl.run("get", "no", "gpu-1", "-o", "jsonpath={.status.allocatable.nvidia\\.com/gpu}")
            #expect(out == "8")

            let manifest = try kubectl.write("app.yaml", """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: prefill}
                spec:
                  replicas: 2
                  selector: {matchLabels: {app: prefill}}
                  template:
                    metadata: {labels: {app: prefill}}
                    spec:
                      nodeSelector: {gpu: h100}
                      containers:
                      - name: vllm
                        image: vllm
                        ports: [{name: http, containerPort: 8000}]
                        resources: {limits: {nvidia.com/gpu: "4"}}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: prefill}
                spec:
                  selector: {app: prefill}
                  ports: [{name: http, port: 80, targetPort: http}]
                """)
            try await kubectl.run("apply", "-f", manifest)
            (_, out, _) = try await kubectl.run("get", "pods", "-o", "wide")
            let rows = tableRows(out)
            #expect(rows.count == 3)
            #expect(rows.dropFirst().allSatisfy { $0[1] == "1/1" && $0[2] == "Running" && $0[6] == "gpu-1" })

            (_, out, _) = try await kubectl.run("get", "endpointslices")
            let sliceRows = tableRows(out)
            #expect(sliceRows.first == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"])
            #expect(sliceRows.count == 2)
            #expect(sliceRows.last?[0].hasPrefix("prefill-") == true)
            #expect(sliceRows.last?[1] == "IPv4" && sliceRows.last?[2] == "8000")
            #expect(sliceRows.last?[3].split(separator: ",").count == 2)

            // A third replica does not fit: kubectl describe shows the scheduler's reason.
            try await kubectl.run("scale", "deployment/prefill", "--replicas=3")
            (_, out, _) = try await kubectl.run("get", "pods", "--field-selector=status.phase=Pending", "-o", "name")
            let pending = out.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(pending.hasPrefix("pod/prefill-"))
            (_, out, _) = try await kubectl.run("describe", pending)
            #expect(out.contains("0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable."))
            #expect(out.contains("FailedScheduling"))
            _ = client
        }
    }
}
