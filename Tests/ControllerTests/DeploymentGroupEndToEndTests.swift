import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

/// A cluster of labelled GPU nodes in the emulator (its scheduler binds pods to them), driven by the real
/// `heteroscale controller` process (PodAutoscaler, DeploymentGroup and gate controllers) and read back with
/// the real `kubectl`.
///
/// Topology (8 GPUs per node):
///
///     S2 mixed (medium)            S2 flat (low)     S2 hi (holds a high S1)
///     ├─ S1 s1-a: h100-a (h100)    └─ S1 s1-c:       └─ S1 s1-h: mix-a (h100), mix-b (h20)
///     └─ S1 s1-b: h20-a, h20-b        h20-c (h20)
///        (h20)
struct PDCluster {
    static let nodes: [(name: String, s1: String, s2: String, gpu: String)] = [
        ("h100-a", "s1-a", "mixed", "h100"), ("h20-a", "s1-b", "mixed", "h20"), ("h20-b", "s1-b", "mixed", "h20"),
        ("h20-c", "s1-c", "flat", "h20"), ("mix-a", "s1-h", "hi", "h100"), ("mix-b", "s1-h", "hi", "h20"),
    ]
    let cluster: ClusterFixture

    static func start(nodes: [(name: String, s1: String, s2: String, gpu: String)] = nodes) async throws -> PDCluster {
        let cluster = try await ClusterFixture.start()
        for n in nodes {
            _ = try cluster.emulator.apply([
                "apiVersion": "v1", "kind": "Node",
                "metadata": ["name": .string(n.name), "labels": [
                    "kubernetes.io/hostname": .string(n.name), "heteroscale.io/s1": .string(n.s1), "heteroscale.io/s2": .string(n.s2),
                    "heteroscale.io/gpu-type": .string(n.gpu)]],
                "status": ["capacity": ["nvidia.com/gpu": "8", "cpu": "64", "memory": "512Gi", "pods": "110"],
                           "allocatable": ["nvidia.com/gpu": "8", "cpu": "64", "memory": "512Gi", "pods": "110"],
                           "conditions": [["type": "Ready", "status": "True"]]],
            ])
        }
        return PDCluster(cluster: cluster)
    }

    func stop() async { await cluster.stop() }

    /// A 1:2 P/D group: prefill on h100, decode on h20, 4 GPUs per instance, the gate on.
    static func group(_ name: String, replicas: Int, affinity: String = "S2", decodeStartDelay: Int? = nil, extra: String = "") -> String {
        let delay = decodeStartDelay.map { "\n        metadata: {annotations: {emulator.heteroscale.io/start-delay-seconds: \"\($0)\"}}" } ?? ""
        return """
            apiVersion: heteroscale.io/v1alpha1
            kind: DeploymentGroup
            metadata: {name: \(name), namespace: default}
            spec:
              replicas: \(replicas)
              affinity: {domain: \(affinity)}
              gate: {tolerance: 0}
            \(extra)
              roles:
                - name: prefill
                  weight: 1
                  gpuType: [h100]
                  gpusPerInstance: 4
                  template:
                    spec: {containers: [{name: engine, image: vllm, ports: [{containerPort: 8000}]}]}
                - name: decode
                  weight: 2
                  gpuType: [h20]
                  gpusPerInstance: 4
                  template:\(delay)
                    spec: {containers: [{name: engine, image: vllm, ports: [{containerPort: 8000}]}]}
            """
    }

    /// The group's live pods: name → (role, node, ready, gate condition status).
    func pods(_ group: String) async throws -> [String: (role: String, node: String?, ready: Bool, gate: String?)] {
        var out: [String: (String, String?, Bool, String?)] = [:]
        for p in try await cluster.client.list(.pods, namespace: "default")["items"]?.arrayValue ?? [] {
            guard p["metadata"]?["labels"]?["heteroscale.io/group"]?.stringValue == group, p["metadata"]?["deletionTimestamp"] == nil,
                  let name = p["metadata"]?["name"]?.stringValue else { continue }
            let conditions = p["status"]?["conditions"]?.arrayValue ?? []
            func status(_ type: String) -> String? { conditions.first { $0["type"]?.stringValue == type }?["status"]?.stringValue }
            out[name] = (p["metadata"]?["labels"]?["heteroscale.io/role"]?.stringValue ?? "", p["spec"]?["nodeName"]?.stringValue,
                         status("Ready") == "True", status("heteroscale.io/pd-ratio"))
        }
        return out
    }

    /// name → (role, replicas) of the group's child Deployments.
    func children(_ group: String) async throws -> [String: (role: String, replicas: Int)] {
        var out: [String: (String, Int)] = [:]
        for d in try await cluster.client.list(.deployments, namespace: "default")["items"]?.arrayValue ?? [] {
            guard d["metadata"]?["labels"]?["heteroscale.io/group"]?.stringValue == group, let name = d["metadata"]?["name"]?.stringValue else { continue }
            out[name] = (d["metadata"]?["labels"]?["heteroscale.io/role"]?.stringValue ?? "", Int(d["spec"]?["replicas"]?.intValue ?? -1))
        }
        return out
    }

    func group(_ name: String) async throws -> DeploymentGroup {
        try await cluster.client.get(.deploymentGroups, namespace: "default", name: name).decode(DeploymentGroup.self)
    }

    /// Ready pods per role, when every pod of the group is bound and the counts are `expected`.
    func readyRoles(_ group: String) async throws -> [String: Int] {
        try await pods(group).values.filter(\.ready).reduce(into: [:]) { $0[$1.role, default: 0] += 1 }
    }

    func events(_ object: String) async throws -> [(reason: String, note: String)] {
        let items = try await cluster.client.list(.events, namespace: "default")["items"]?.arrayValue ?? []
        return items.filter { $0["regarding"]?["name"]?.stringValue == object }.map { ($0["reason"]?.stringValue ?? "", $0["note"]?.stringValue ?? "") }
    }
}

@Suite(.serialized) struct DeploymentGroupEndToEndTests {
    /// The whole story of one group: placed in the medium S2 (not the S2 that holds a high-priority S1), child
    /// Deployments, pods bound only inside the domain, gated ready, `kubectl get/describe/scale dg`, and a
    /// controller restart that creates no duplicates and loses no placement.
    @Test func aGroupIsPlacedScheduledGatedScaledAndSurvivesARestart() async throws {
        let pd = try await PDCluster.start()
        defer { Task { await pd.stop() } }
        try pd.cluster.apply(PDCluster.group("llama", replicas: 3))
        var controller = try await ControllerProcess(kubeconfig: pd.cluster.kubeconfig)
        defer { controller.stop() }

        await eventually("1 prefill + 2 decode ready") { try await pd.readyRoles("llama") == ["prefill": 1, "decode": 2] }
        let mixed: Set<String> = ["h100-a", "h20-a", "h20-b"]
        for (name, pod) in try await pd.pods("llama") {
            #expect(pod.node.map(mixed.contains) == true, "\(name) runs in S2 mixed, not on \(pod.node ?? "no node")")
            #expect(pod.node.map { $0.hasPrefix(pod.role == "prefill" ? "h100" : "h20") } == true, "\(name): \(pod.role) on its GPU type")
            #expect(pod.gate == "True", "\(name) admitted by the gate")
        }
        #expect(try await pd.children("llama").values.map(\.replicas).sorted() == [1, 2])
        await eventually("kubectl get dg") {
            let row = try pd.cluster.kubectl("get", "dg", "llama", "--no-headers", "-o", "wide").split(separator: " ").map(String.init)
            return Array(row.prefix(6)) == ["llama", "3", "3", "1:2", "1", "S2"]
        }
        let describe = try pd.cluster.kubectl("describe", "dg", "llama")
        for text in ["Placed", "medium", "mixed", "RatioBalanced", "ScaledRole"] {
            #expect(describe.contains(text), "kubectl describe dg shows \(text)")
        }

        try pd.cluster.kubectl("scale", "dg", "llama", "--replicas=6")
        await eventually("2 prefill + 4 decode ready") { try await pd.readyRoles("llama") == ["prefill": 2, "decode": 4] }
        #expect(try await pd.pods("llama").values.allSatisfy { $0.node.map(mixed.contains) == true })
        let before = try await pd.children("llama")
        #expect(before.values.map(\.replicas).sorted() == [2, 4])

        // A restart mid-way: SIGKILL, then a new process. Same children, same pods, same placement.
        let podsBefore = Set(try await pd.pods("llama").keys)
        kill(controller.process.process.processIdentifier, SIGKILL)
        controller.process.process.waitUntilExit()
        controller = try await ControllerProcess(kubeconfig: pd.cluster.kubeconfig)
        let reconciles = #"controller_runtime_reconcile_total{controller="deploymentgroup",result="requeue_after"}"#
        await eventually("the new controller reconciled") { try await controller.metric(reconciles) ?? 0 >= 2 }
        #expect(Set(try await pd.children("llama").keys) == Set(before.keys), "no duplicate or lost child")
        #expect(Set(try await pd.pods("llama").keys) == podsBefore, "no pod replaced")
        #expect(try await pd.group("llama").status?.placements?.map(\.domain) == ["mixed"])
    }

    /// Decode starts late: the EndpointSlice of a Service over the prefill pods lists them not ready until
    /// decode catches up (the gate holds their readiness gate False), then ready.
    @Test func aSlowDecodeRoleKeepsPrefillOutOfTheService() async throws {
        let pd = try await PDCluster.start()
        defer { Task { await pd.stop() } }
        try pd.cluster.apply("""
            apiVersion: v1
            kind: Service
            metadata: {name: llama-prefill, namespace: default}
            spec:
              selector: {heteroscale.io/group: llama, heteroscale.io/role: prefill}
              ports: [{name: http, port: 8000, targetPort: 8000}]
            """)
        try pd.cluster.apply(PDCluster.group("llama", replicas: 3, decodeStartDelay: 4))
        let controller = try await ControllerProcess(kubeconfig: pd.cluster.kubeconfig)
        defer { controller.stop() }

        func prefillEndpoints() throws -> [(ip: String, ready: Bool)] {
            let list = try YAML.load(pd.cluster.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=llama-prefill", "-o", "json"))
            return (list["items"]?.arrayValue ?? []).flatMap { $0["endpoints"]?.arrayValue ?? [] }.map {
                ($0["addresses"]?[0]?.stringValue ?? "", $0["conditions"]?["ready"]?.boolValue ?? false)
            }
        }
        // Prefill's containers are ready first; the gate holds it back while no decode instance is ready.
        await eventually("the prefill pod in the slice, not ready") {
            let pods = try await pd.pods("llama")
            let slice = try prefillEndpoints().map(\.ready)
            return pods.values.contains { $0.role == "prefill" && $0.gate == "False" } && slice == [false]
        }
        #expect(try await pd.pods("llama").values.filter { $0.role == "decode" }.allSatisfy { !$0.ready })
        // Decode catches up: prefill is admitted and shows up ready.
        await eventually("prefill ready in the slice") { try prefillEndpoints().map(\.ready) == [true] }
        // The two decode pods start on their own timers: wait for the second, not only the first.
        await eventually("1 prefill + 2 decode ready") { try await pd.readyRoles("llama") == ["prefill": 1, "decode": 2] }
        #expect(try await pd.events("llama").contains { $0.reason == "Placed" })
    }

    /// A HeteroScale PodAutoscaler on the group sizes both roles together from decode tokens/s; soft scale-in
    /// takes the victims out of service, restores them when the PodAutoscaler sees the TBT SLO breached (and holds
    /// the scale-in while it lasts), then, with the latency back, observes them again and deletes them.
    @Test func heteroScaleSizesBothRolesAndSoftScaleInRestoresOnAnSLOBreach() async throws {
        let pd = try await PDCluster.start()
        let engines = try await FakeEngines(pods: 40)
        defer { engines.stop(); Task { await pd.stop() } }
        try await engines.setTokensPerSecond(300)
        try await engines.setInterTokenLatency(0.02)
        try pd.cluster.apply(PDCluster.group("llama", replicas: 3, extra: "  softScaleIn: {observationSeconds: 8}"))
        // The latency tier's ratio is out of reach: the PodAutoscaler never scales out on latency here, so a
        // restore can only come from the SLO breach itself.
        try pd.cluster.apply("""
            apiVersion: heteroscale.io/v1alpha1
            kind: PodAutoscaler
            metadata: {name: llama-pd, namespace: default}
            spec:
              scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: llama}
              minReplicas: 3
              maxReplicas: 6
              scalingStrategy: HeteroScale
              tickSeconds: 1
              metricsSources:
                - {metricSourceType: pod, role: decode, protocolType: http, port: "\(engines.port)", path: /metrics, targetMetric: vllm:generation_tokens_total, targetValue: "100"}
              heteroScale:
                targetDecodeTPSPerInstance: 100
                scaleOutThreshold: 0.1
                scaleInThreshold: 0.1
                scaleOutCooldownSeconds: 1
                scaleInCooldownSeconds: 1
                scaleInStabilizationSeconds: 1
                latency: {tbtSLOMilliseconds: 50, cooldownSeconds: 600, tiers: [{ratio: 1000, stepPercent: 10}]}
            """)
        let controller = try await ControllerProcess(kubeconfig: pd.cluster.kubeconfig)
        defer { controller.stop() }

        // 2 decode pods × 300 tokens/s = 600 tokens/s = 6 instances at 100 each: 2 prefill + 4 decode.
        await eventually("scaled out to 2:4") { try await pd.readyRoles("llama") == ["prefill": 2, "decode": 4] }
        #expect(try await pd.group("llama").spec.replicas == 6)
        #expect(try await pd.events("llama-pd").contains { $0.reason == "SuccessfulRescale" && $0.note.contains("HeteroScale: decode TPS") })

        // Load drops (4 × 75 = 300 tokens/s → 3 instances): the victims leave service discovery, nothing is deleted.
        try await engines.setTokensPerSecond(75)
        await eventually("the group asked to shrink") { try await pd.group("llama").spec.replicas == 3 }
        await eventually("victims out of service") {
            try await pd.events("llama").contains { $0.reason == "SoftScaleIn" && $0.note.contains("out of service discovery") }
        }
        // The event is recorded as the first victim's gate is written; the others follow within the same pass.
        await eventually("three victims gated off") { try await pd.pods("llama").values.filter { $0.gate == "False" }.count == 3 }
        #expect(try await pd.pods("llama").count == 6)

        // TBT far above its SLO inside the window: restored, and the scale-in is held while it lasts.
        try await engines.setInterTokenLatency(0.2)
        await eventually("restored on the SLO breach") {
            try await pd.events("llama").contains { $0.reason == "Restored" && $0.note.contains("TBT P90") }
        }
        await eventually("all six back in service") { try await pd.pods("llama").values.filter { $0.gate == "True" }.count == 6 }
        await eventually("the scale-in is held") {
            try await pd.events("llama").contains { $0.reason == "SoftScaleIn" && $0.note.hasPrefix("held:") }
        }
        #expect(try await pd.pods("llama").count == 6, "nothing deleted while the SLO is breached")

        // Latency recovers: observed again, and after the window the victims go, exactly down to 1:2 — the
        // observed pods themselves, not others (the pods that served through the window keep serving).
        try await engines.setInterTokenLatency(0.02)
        var victims: Set<String> = []
        await eventually("three victims observed again") {
            victims = Set(try await pd.pods("llama").filter { $0.value.gate == "False" }.keys)
            return victims.count == 3
        }
        let serving = Set(try await pd.pods("llama").keys).subtracting(victims)
        await eventually("deleted after the window") {
            let pods = try await pd.pods("llama")
            return pods.count == 3 && pods.values.filter(\.ready).count == 3
        }
        #expect(Set(try await pd.pods("llama").keys) == serving, "victims \(victims.sorted())")
        #expect(try await pd.readyRoles("llama") == ["prefill": 1, "decode": 2])
        #expect(try await pd.events("llama").contains { $0.reason == "SoftScaleIn" && $0.note.contains("deleting") })
    }

    /// Two groups that each need both GPU types inside one S1 compete for the only S1 that has both (high
    /// priority): one gets it, the other is reported unschedulable with the engine's reason; no GPU is
    /// promised twice and no node is over-committed.
    @Test func twoGroupsCompetingForOneHighPriorityS1() async throws {
        let pd = try await PDCluster.start()
        defer { Task { await pd.stop() } }
        try pd.cluster.apply(PDCluster.group("first", replicas: 3, affinity: "S1"))
        let controller = try await ControllerProcess(kubeconfig: pd.cluster.kubeconfig)
        defer { controller.stop() }
        await eventually("first placed and ready") { try await pd.readyRoles("first") == ["prefill": 1, "decode": 2] }
        try pd.cluster.apply(PDCluster.group("second", replicas: 3, affinity: "S1"))
        await eventually("second unschedulable") {
            try await pd.group("second").status?.conditions?[type: "Placed"]?.reason == "InsufficientCapacity"
        }
        #expect(try await pd.pods("first").values.allSatisfy { ["mix-a", "mix-b"].contains($0.node ?? "") })
        let placed = try await pd.group("second").status?.conditions?[type: "Placed"]
        #expect(placed?.status == .isFalse && placed?.message.contains("decode") == true, "\(placed?.message ?? "")")
        #expect(try await pd.events("second").contains { $0.reason == "Unschedulable" })
        // No node holds more GPU requests than it has.
        var used: [String: Int] = [:]
        for p in try await pd.cluster.client.list(.pods, namespace: "default")["items"]?.arrayValue ?? [] {
            guard let node = p["spec"]?["nodeName"]?.stringValue else { continue }
            for c in p["spec"]?["containers"]?.arrayValue ?? [] {
                used[node, default: 0] += Int(c["resources"]?["requests"]?["nvidia.com/gpu"]?.stringValue ?? "0") ?? 0
            }
        }
        #expect(used.values.allSatisfy { $0 <= 8 }, "\(used)")
    }
}
