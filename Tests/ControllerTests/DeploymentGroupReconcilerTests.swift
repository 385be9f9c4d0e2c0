import Autoscaling
@testable import Controller
import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import KubeRuntime
import Placement
import Testing
import YAML

/// An emulator with the CRDs, GPU nodes in labelled S1/S2 domains, and a DeploymentGroup reconciler whose caches
/// are refreshed explicitly (every step deterministic).
struct GroupFixture {
    let emulator: KubeEmulator
    let client: RESTClient
    let clock = TestWallClock()
    let groups = ObjectStore(), deployments = ObjectStore(), pods = ObjectStore(), nodes = ObjectStore(), autoscalers = ObjectStore()
    let reconciler: DeploymentGroupReconciler<ContinuousClock>

    /// `nodes`: (name, s1, s2, gpu type, GPUs).
    static func start(nodes: [(String, String, String, String, Int)]) async throws -> GroupFixture {
        let emulator = KubeEmulator()
        let port = try await emulator.start()
        let client = RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(port)", namespace: "default", source: "test"))
        for file in ["heteroscale.io_podautoscalers.yaml", "heteroscale.io_deploymentgroups.yaml"] {
            let text = try String(contentsOfFile: "\(repositoryRoot)/crds/\(file)", encoding: .utf8)
            for doc in try YAML.loadAll(text) { _ = try emulator.apply(doc) }
        }
        for (name, s1, s2, type, gpus) in nodes {
            _ = try emulator.apply([
                "apiVersion": "v1", "kind": "Node",
                "metadata": ["name": .string(name), "labels": ["heteroscale.io/s1": .string(s1), "heteroscale.io/s2": .string(s2),
                                                              "heteroscale.io/gpu-type": .string(type)]],
                "status": ["allocatable": ["nvidia.com/gpu": .string(String(gpus))], "conditions": [["type": "Ready", "status": "True"]]],
            ])
        }
        return GroupFixture(emulator: emulator, client: client)
    }

    private init(emulator: KubeEmulator, client: RESTClient) {
        self.emulator = emulator
        self.client = client
        let clock = self.clock
        reconciler = DeploymentGroupReconciler(
            client: client, groups: groups, deployments: deployments, pods: pods, nodes: nodes, autoscalers: autoscalers,
            recorder: EventRecorder(client: client, instance: "test", clock: ContinuousClock()), wallClock: { clock.now }, logger: quietLogger)
    }

    /// A fresh reconciler over the same caches: a controller restart.
    func restarted() -> DeploymentGroupReconciler<ContinuousClock> {
        let clock = self.clock
        return DeploymentGroupReconciler(
            client: client, groups: groups, deployments: deployments, pods: pods, nodes: nodes, autoscalers: autoscalers,
            recorder: EventRecorder(client: client, instance: "test-2", clock: ContinuousClock()), wallClock: { clock.now }, logger: quietLogger)
    }

    func stop() async { try? await emulator.stop() }

    func refresh() async throws {
        _ = groups.replace(with: try await client.list(.deploymentGroups, namespace: "default")["items"]?.arrayValue ?? [])
        _ = deployments.replace(with: try await client.list(.deployments, namespace: "default")["items"]?.arrayValue ?? [])
        _ = pods.replace(with: try await client.list(.pods)["items"]?.arrayValue ?? [])
        _ = nodes.replace(with: try await client.list(.nodes)["items"]?.arrayValue ?? [])
        _ = autoscalers.replace(with: try await client.list(.podAutoscalers, namespace: "default")["items"]?.arrayValue ?? [])
    }

    @discardableResult
    func reconcile(_ name: String, using r: DeploymentGroupReconciler<ContinuousClock>? = nil) async throws -> ReconcileResult {
        try await refresh()
        return try await (r ?? reconciler).reconcile(ObjectKey(namespace: "default", name: name))
    }

    func create(_ yaml: String) async throws { _ = try await client.create(.deploymentGroups, namespace: "default", try YAML.load(yaml)) }

    func group(_ name: String) async throws -> DeploymentGroup {
        try await client.get(.deploymentGroups, namespace: "default", name: name).decode(DeploymentGroup.self)
    }

    /// name → (role, placement, replicas, node selector values).
    func children(_ group: String) async throws -> [String: (role: String, placement: String, replicas: Int, selector: [String: String])] {
        var out: [String: (String, String, Int, [String: String])] = [:]
        for d in try await client.list(.deployments, namespace: "default")["items"]?.arrayValue ?? [] {
            guard d["metadata"]?["labels"]?["heteroscale.io/group"]?.stringValue == group, let name = d["metadata"]?["name"]?.stringValue else { continue }
            var selector: [String: String] = [:]
            let terms = d["spec"]?["template"]?["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]?[0]?["matchExpressions"]?.arrayValue ?? []
            for e in terms { selector[e["key"]?.stringValue ?? ""] = e["values"]?[0]?.stringValue }
            out[name] = (d["metadata"]?["labels"]?["heteroscale.io/role"]?.stringValue ?? "", d["metadata"]?["labels"]?["heteroscale.io/placement"]?.stringValue ?? "",
                         Int(d["spec"]?["replicas"]?.intValue ?? -1), selector)
        }
        return out
    }

    func events(_ group: String) async throws -> [(reason: String, note: String)] {
        let items = try await client.list(.events, namespace: "default")["items"]?.arrayValue ?? []
        return items.filter { $0["regarding"]?["name"]?.stringValue == group }.map { ($0["reason"]?.stringValue ?? "", $0["note"]?.stringValue ?? "") }
    }
}

func pdGroup(_ name: String, replicas: Int, affinity: String = "S2", prefill: String = "[h100]", decode: String = "[h20]",
             extra: String = "") -> String {
    """
    apiVersion: heteroscale.io/v1alpha1
    kind: DeploymentGroup
    metadata: {name: \(name), namespace: default}
    spec:
      replicas: \(replicas)
      affinity: {domain: \(affinity)}
    \(extra)
      roles:
        - {name: prefill, weight: 1, gpuType: \(prefill), gpusPerInstance: 1, template: {spec: {containers: [{name: engine, image: vllm}]}}}
        - {name: decode, weight: 2, gpuType: \(decode), gpusPerInstance: 1, template: {spec: {containers: [{name: engine, image: vllm}]}}}
    """
}

/// The DeploymentGroup reconciler against the emulator (no scheduler here: a group's placements are held by its
/// children, which the placement engine reserves until their pods are bound).
@Suite(.serialized) struct DeploymentGroupReconcilerTests {
    /// Topology: S2 `mixed` holds an H100 S1 and an H20 S1 (medium class); S2 `flat-h20` only H20 (low).
    static let nodes = [
        ("h100-a", "s1-h100", "mixed", "h100", 8), ("h20-a", "s1-h20", "mixed", "h20", 8),
        ("h20-b", "s1-low", "flat-h20", "h20", 8),
    ]

    @Test func aGroupGetsOneChildPerRoleInOneDomainAndTellsTheStory() async throws {
        let f = try await GroupFixture.start(nodes: Self.nodes)
        defer { Task { await f.stop() } }
        try await f.create(pdGroup("llama", replicas: 3))
        let result = try await f.reconcile("llama")
        #expect(result == .requeueAfter(.seconds(10)))
        let children = try await f.children("llama")
        #expect(children.count == 2)
        let prefill = try #require(children.values.first { $0.role == "prefill" })
        let decode = try #require(children.values.first { $0.role == "decode" })
        #expect(prefill.replicas == 1 && decode.replicas == 2)
        // Both roles in the one S2 with H100 and H20, each pinned to its GPU type.
        #expect(prefill.placement == "mixed" && decode.placement == "mixed")
        #expect(prefill.selector == ["heteroscale.io/s2": "mixed", "heteroscale.io/gpu-type": "h100"])
        #expect(decode.selector == ["heteroscale.io/s2": "mixed", "heteroscale.io/gpu-type": "h20"])
        let status = try #require(try await f.group("llama").status)
        #expect(status.selector == "heteroscale.io/group=llama")
        #expect(status.ratio == "1:2" && status.placementCount == 1)
        #expect(status.roles?.map(\.desired) == [1, 2])
        #expect(status.placements == [GroupPlacement(domain: "mixed", subgroupPriority: "medium", roles: ["prefill": 1, "decode": 2])])
        #expect(status.conditions?[type: "Placed"]?.status == .isTrue)
        #expect(status.conditions?[type: "Available"]?.reason == "NoCompleteUnit")
        let events = try await f.events("llama")
        #expect(events.contains { $0.reason == "Placed" })
        #expect(events.filter { $0.reason == "ScaledRole" }.count == 2)
        // /scale reads the total and the selector.
        let scale = try await f.client.get(.deploymentGroups, namespace: "default", name: "llama", subresource: "scale")
        #expect(scale["spec"]?["replicas"] == 3 && scale["status"]?["selector"] == "heteroscale.io/group=llama")
    }

    @Test func scalingGrowsTheExistingChildrenAndARestartCreatesNoDuplicates() async throws {
        let f = try await GroupFixture.start(nodes: Self.nodes)
        defer { Task { await f.stop() } }
        try await f.create(pdGroup("llama", replicas: 3))
        try await f.reconcile("llama")
        _ = try await f.client.patch(.deploymentGroups, namespace: "default", name: "llama", type: .merge, ["spec": ["replicas": 6]],
                                     subresource: "scale")
        try await f.reconcile("llama", using: f.restarted())
        let children = try await f.children("llama")
        #expect(children.count == 2, "\(children.keys.sorted())")
        #expect(children.values.map(\.replicas).sorted() == [2, 4])
        #expect(try await f.group("llama").status?.placements?.count == 1)
        // Reconciling again changes nothing.
        let before = try await f.client.list(.deployments, namespace: "default")["metadata"]?["resourceVersion"]
        try await f.reconcile("llama", using: f.restarted())
        #expect(try await f.client.list(.deployments, namespace: "default")["metadata"]?["resourceVersion"] == before)
    }

    /// Virtual allocation across groups: the second group's cycle sees the first one's children, so they never
    /// get the same GPUs; a group that fits nowhere reports the shortfall and is still partly placed.
    @Test func twoGroupsNeverShareGPUsAndAShortfallIsReported() async throws {
        let f = try await GroupFixture.start(nodes: [("h100-a", "s1-a", "only", "h100", 2), ("h20-a", "s1-b", "only", "h20", 4)])
        defer { Task { await f.stop() } }
        try await f.create(pdGroup("first", replicas: 6))   // 2 prefill + 4 decode: the whole S2
        try await f.reconcile("first")
        f.clock.advance(1)
        try await f.create(pdGroup("second", replicas: 3))
        try await f.reconcile("second")
        #expect(try await f.children("second").isEmpty)
        let second = try #require(try await f.group("second").status)
        let placed = try #require(second.conditions?[type: "Placed"])
        #expect(placed.status == .isFalse && placed.reason == "InsufficientCapacity")
        #expect(placed.message.contains("prefill") || placed.message.contains("decode"))
        #expect(try await f.events("second").contains { $0.reason == "Unschedulable" })
        #expect(try await f.children("first").values.map(\.replicas).sorted() == [2, 4])
    }

    @Test func scaleInMarksTheVictimsAndOrphansAreRemoved() async throws {
        let f = try await GroupFixture.start(nodes: Self.nodes)
        defer { Task { await f.stop() } }
        try await f.create(pdGroup("llama", replicas: 6))
        try await f.reconcile("llama")
        // Pods of the children, as the ReplicaSet controller would have made them (no kubelet here).
        for (name, child) in try await f.children("llama") {
            for i in 0..<child.replicas {
                _ = try f.emulator.apply([
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": ["name": .string("\(name)-\(i)"), "namespace": "default",
                                 "labels": ["heteroscale.io/group": "llama", "heteroscale.io/role": .string(child.role),
                                            "heteroscale.io/placement": .string(child.placement)]],
                    "spec": ["containers": [["name": "engine", "image": "vllm"]]],
                ])
            }
        }
        _ = try await f.client.patch(.deploymentGroups, namespace: "default", name: "llama", type: .merge, ["spec": ["replicas": 3]])
        try await f.reconcile("llama")
        let children = try await f.children("llama")
        #expect(children.values.map(\.replicas).sorted() == [1, 2])
        let costs = (try await f.client.list(.pods, namespace: "default")["items"]?.arrayValue ?? []).filter {
            $0["metadata"]?["annotations"]?[ChildDeployments.deletionCostAnnotation] == .string(ChildDeployments.victimCost)
        }
        #expect(costs.count == 3, "exactly the engine's victims are marked before the replicas drop")
        // Scaled to zero: every child goes.
        _ = try await f.client.patch(.deploymentGroups, namespace: "default", name: "llama", type: .merge, ["spec": ["replicas": 0]])
        try await f.reconcile("llama")
        #expect(try await f.children("llama").isEmpty)
        #expect(try await f.group("llama").status?.conditions?[type: "Available"]?.reason == "ScaledToZero")
    }

    @Test func anInvalidGroupIsRefusedNamingTheField() async throws {
        let f = try await GroupFixture.start(nodes: Self.nodes)
        defer { Task { await f.stop() } }
        // Two roles of one name: the CRD's list-map refuses it; seeded directly, as an object from before the rule.
        let bad = try YAML.load(pdGroup("bad", replicas: 2).replacingOccurrences(of: "name: decode", with: "name: prefill"))
        _ = try f.emulator.apply(bad)
        #expect(try await f.reconcile("bad") == .done)
        let progressing = try await f.group("bad").status?.conditions?[type: "Progressing"]
        #expect(progressing?.reason == "InvalidSpec" && progressing?.message.contains("spec.roles[1].name") == true)
        #expect(try await f.children("bad").isEmpty)
    }
}
