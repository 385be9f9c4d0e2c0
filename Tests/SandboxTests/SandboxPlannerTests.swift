import Foundation
import Sandbox
import Testing
import YAML

/// The pure pod → instance mapping: which pool a pod is, when it starts, listens, serves and goes.
struct SandboxPlannerTests {
    static let catalog = PoolCatalog(pools: [
        .init(name: "llama-pd/prefill", role: "prefill", gpuTypes: ["h100-80gb"]),
        .init(name: "llama-pd/decode", role: "decode", gpuTypes: ["h20", "h100-80gb"]),
        .init(name: "solo", role: "mixed", gpuTypes: ["h100-80gb"]),
    ])

    static func planner(speed: Double = 1) -> SandboxPlanner {
        SandboxPlanner(catalog: catalog, nodeGPUTypes: ["h100-0": "h100-80gb", "h20-0": "h20"], speed: speed) { role, _ in
            role == "prefill" ? 20 : 10
        }
    }

    static func pod(_ name: String, group: String? = "llama-pd", role: String? = "decode", owner: String? = nil, node: String? = "h20-0",
                    ip: String? = nil, phase: String = "Pending", ready: Bool = false, gates: [String: Bool] = [:],
                    deleting: Bool = false, port: Int? = 8000, annotated: Bool = false) -> PodView {
        var labels: [String: String] = [:]
        if let group { labels["heteroscale.io/group"] = group }
        if let role { labels["heteroscale.io/role"] = role }
        return PodView(uid: "uid-\(name)", name: name, labels: labels, ownerDeployment: owner, nodeName: node, podIP: ip, phase: phase,
                       deleting: deleting, ready: ready, readinessGates: gates, containerPort: port, hasStartDelayAnnotation: annotated)
    }

    @Test(arguments: [
        // (group, role, owner Deployment) → pool
        ("llama-pd", "decode", nil, "llama-pd/decode"),
        ("llama-pd", "prefill", "llama-pd-prefill-bp-1", "llama-pd/prefill"),
        (nil, nil, "solo", "solo"),
        ("other-group", "prefill", nil, "llama-pd/prefill"), // unknown group, unambiguous role
        ("other-group", "router", nil, nil),
        (nil, nil, "unknown", nil),
    ] as [(String?, String?, String?, String?)])
    func aPodMapsToItsPool(group: String?, role: String?, owner: String?, expected: String?) {
        let p = Self.pod("p", group: group, role: role, owner: owner)
        #expect(Self.catalog.pool(for: p)?.name == expected)
    }

    @Test(arguments: [
        ("h20", "h20"), ("h100-80gb", "h100-80gb"), ("a100", "h20"), (nil, "h20"),
    ] as [(String?, String)])
    func theNodesGPUTypeWhenThePoolHasAProfileForIt(node: String?, expected: String) {
        #expect(Self.catalog.gpuType(Self.catalog.pools[1], nodeGPUType: node) == expected)
    }

    @Test func aBoundPodIsAddedAndAPendingOneIsNot() {
        let planner = Self.planner()
        let actions = planner.plan(pods: [Self.pod("a"), Self.pod("b", node: nil)], tracked: [:], now: 5)
        #expect(actions == [.add(id: "default/a", pool: "llama-pd/decode", gpuType: "h20", node: "h20-0")])
        let prefill = planner.plan(pods: [Self.pod("p", role: "prefill", node: "h100-0")], tracked: [:], now: 0)
        #expect(prefill == [.add(id: "default/p", pool: "llama-pd/prefill", gpuType: "h100-80gb", node: "h100-0")])
    }

    /// Containers start after the role's cold start in simulated time: 10 s for decode is 10 s of wall time at
    /// speed 1 and 2.5 s at speed 4; a pod with its own start-delay annotation is left to the kubelet.
    @Test(arguments: [(1.0, 9.9, false), (1.0, 10.0, true), (4.0, 2.4, false), (4.0, 2.5, true)])
    func containersStartAfterTheColdStart(speed: Double, elapsed: Double, starts: Bool) {
        let planner = Self.planner(speed: speed)
        let tracked = ["default/a": TrackedInstance(pool: "llama-pd/decode", gpuType: "h20", node: "h20-0", boundAt: 100)]
        let actions = planner.plan(pods: [Self.pod("a")], tracked: tracked, now: 100 + elapsed)
        #expect(actions.contains(.startContainers(id: "default/a", namespace: "default", name: "a")) == starts)
        let annotated = planner.plan(pods: [Self.pod("a", annotated: true)], tracked: tracked, now: 1000)
        #expect(annotated.isEmpty)
    }

    @Test func aStartedPodListensOnItsIPAndContainerPort() {
        let planner = Self.planner()
        var t = TrackedInstance(pool: "llama-pd/decode", gpuType: "h20", node: "h20-0", boundAt: 0, started: true)
        let running = Self.pod("a", ip: "127.0.20.4", phase: "Running", port: 9000)
        #expect(planner.plan(pods: [running], tracked: ["default/a": t], now: 1) == [.listen(id: "default/a", ip: "127.0.20.4", port: 9000)])
        let noPort = Self.pod("a", ip: "127.0.20.4", phase: "Running", port: nil)
        #expect(planner.plan(pods: [noPort], tracked: ["default/a": t], now: 1) == [.listen(id: "default/a", ip: "127.0.20.4", port: 8000)])
        t.listener = "127.0.20.4:9000"
        #expect(planner.plan(pods: [running], tracked: ["default/a": t], now: 1).isEmpty)
    }

    /// Serving = Ready, every readiness gate True, not being deleted.
    @Test(arguments: [
        (true, [:], false, true),
        (true, ["heteroscale.io/pd-ratio": true], false, true),
        (true, ["heteroscale.io/pd-ratio": false], false, false), // the gate holds it (SoftScaleIn, RatioGated)
        (false, ["heteroscale.io/pd-ratio": true], false, false),
        (true, [:], true, false),
    ] as [(Bool, [String: Bool], Bool, Bool)])
    func servingFollowsReadinessAndTheGate(ready: Bool, gates: [String: Bool], deleting: Bool, serves: Bool) {
        let p = Self.pod("a", ip: "127.0.20.4", phase: "Running", ready: ready, gates: gates, deleting: deleting)
        #expect(SandboxPlanner.shouldServe(p) == serves)
        let t = TrackedInstance(pool: "llama-pd/decode", gpuType: "h20", node: "h20-0", boundAt: 0, started: true,
                                serving: !serves, listener: "127.0.20.4:8000")
        #expect(Self.planner().plan(pods: [p], tracked: ["default/a": t], now: 1) == [.serve(id: "default/a", serves)])
    }

    @Test func aGonePodIsRemovedAndAppliedActionsAreNotRepeated() {
        let planner = Self.planner()
        let t = TrackedInstance(pool: "llama-pd/decode", gpuType: "h20", node: "h20-0", boundAt: 0, started: true, serving: true,
                                listener: "127.0.20.4:8000")
        #expect(planner.plan(pods: [], tracked: ["default/a": t], now: 1) == [.remove(id: "default/a")])
        let steady = Self.pod("a", ip: "127.0.20.4", phase: "Running", ready: true)
        #expect(planner.plan(pods: [steady], tracked: ["default/a": t], now: 1).isEmpty)
    }

    @Test func aPodIsReadFromItsAPIObject() throws {
        let pod = try YAML.load("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: llama-pd-decode-bp-1-x7k
              namespace: default
              uid: u-1
              labels: {heteroscale.io/group: llama-pd, heteroscale.io/role: decode}
              ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: llama-pd-decode-bp-1, uid: d-1, controller: true}]
            spec:
              nodeName: h20-1
              readinessGates: [{conditionType: heteroscale.io/pd-ratio}]
              containers: [{name: vllm, image: vllm, ports: [{containerPort: 8000}]}]
            status:
              phase: Running
              podIP: 127.0.20.7
              conditions:
                - {type: ContainersReady, status: "True"}
                - {type: heteroscale.io/pd-ratio, status: "False"}
                - {type: Ready, status: "False"}
            """)
        let view = try #require(PodView(pod))
        #expect(view.key == "default/llama-pd-decode-bp-1-x7k")
        #expect(view.ownerDeployment == "llama-pd-decode-bp-1")
        #expect(view.nodeName == "h20-1" && view.podIP == "127.0.20.7" && view.phase == "Running")
        #expect(view.readinessGates == ["heteroscale.io/pd-ratio": false] && !view.ready)
        #expect(view.containerPort == 8000 && !view.hasStartDelayAnnotation && !view.deleting)
        #expect(Self.catalog.pool(for: view)?.name == "llama-pd/decode")
    }
}
