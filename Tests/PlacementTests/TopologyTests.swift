import Foundation
import KubeAPI
import Testing
import YAML

@testable import Placement

@Suite struct TopologyTests {
    /// Classes from the GPU types around each node (fixture classes.yaml).
    @Test func classesFollowTheGPUTypesOfEachS1AndS2() throws {
        let topo = try Fixture.topology("classes.yaml")
        #expect(topo.s1Domains.map { "\($0.name)=\($0.subgroupClass)" } == [
            "high-a=high", "high-b=medium", "low-a=low", "low-b=low", "med-a=medium", "med-b=medium",
        ])
        #expect(topo.s2Domains.map { "\($0.name)=\($0.subgroupClass)" } == ["pod-high=high", "pod-low=low", "pod-med=medium"])
        #expect(topo.gpuTypes == ["h100", "h20"])
        #expect(topo.locality("low-a-0", "low-a-0") == .sameNode)
        #expect(topo.locality("low-a-0", "low-a-1") == .sameS1)
        #expect(topo.locality("low-a-0", "low-b-1") == .sameS2)
        #expect(topo.locality("low-a-0", "med-a-0") == .across)
        #expect(topo.warnings.isEmpty)
    }

    /// Cordoned, NotReady and tainted nodes offer their GPUs only to roles that tolerate it (as the node
    /// controller's taints make the scheduler do); GPU feature discovery's label gives the type of a node
    /// without heteroscale.io/gpu-type; a node without topology labels is an S1 and S2 of its own.
    @Test func nodeConditionsBecomeTaints() throws {
        let topo = try Fixture.topology("conditions.yaml")
        #expect(topo.node(named: "cordoned-0")?.taints.map(\.key) == ["node.kubernetes.io/unschedulable"])
        #expect(topo.node(named: "notready-0")?.taints.map(\.key) == ["node.kubernetes.io/not-ready"])
        #expect(topo.node(named: "tainted-0")?.taints == [Taint(key: "dedicated", value: "inference", effect: "NoSchedule")])
        #expect(topo.node(named: "ok-0")?.taints == [])
        #expect(topo.node(named: "gfd-0")?.gpuType == "NVIDIA-H100-80GB-HBM3")
        let bare = try #require(topo.node(named: "bare-0"))
        #expect(bare.s1 == "bare-0" && bare.s2 == "bare-0")
        #expect(topo.warnings.contains("1 GPU node(s) have no heteroscale.io/s1 label: each is an S1 of its own"))
    }

    /// Five 8-GPU instances with Cluster affinity on conditions.yaml: bare-0 (low) first, then the nodes of
    /// c1 (high) the role's tolerations allow.
    @Test(arguments: [
        (nil, ["bare-0", "ok-0"]),
        (JSONValue.array([.object(["key": "dedicated", "operator": "Equal", "value": "inference", "effect": "NoSchedule"])]), ["bare-0", "ok-0", "tainted-0"]),
        (.array([.object(["key": "dedicated", "operator": "Exists"])]), ["bare-0", "ok-0", "tainted-0"]),
        (.array([.object(["key": "dedicated", "value": "training"])]), ["bare-0", "ok-0"]),
        (.array([.object(["operator": "Exists"])]), ["bare-0", "cordoned-0", "notready-0", "ok-0", "tainted-0"]),
    ] as [(JSONValue?, [String])])
    func tolerationsDecideWhichNodesARoleMayUse(tolerations: JSONValue?, nodes: [String]) throws {
        var topo = try Fixture.topology("conditions.yaml")
        let plan = try topo.run([group("g", replicas: 5, affinity: .cluster, roles: [TestRole(name: "server", types: ["h100"], gpus: 8, tolerations: tolerations)])])
        let g = try #require(plan.group("g"))
        #expect(g.placements.count == 1)
        #expect(g.placements.first?.added.map(\.node).sorted() == nodes)
        #expect(g.unschedulable.map(\.count).reduce(0, +) == 5 - nodes.count)
        #expect(g.placements.first?.subgroupPriority == .high)
    }

    /// Used GPUs: requests (or limits when a container sets no request) of the pods bound to a node, the larger
    /// of the containers' sum and the largest init container; finished and unbound pods hold nothing.
    @Test func podsHoldTheirGPURequests() throws {
        let topo = try Fixture.topology("tight.yaml", pods: "pods-tight.yaml")
        #expect(topo.node(named: "t-b-0")?.free == 2)
        #expect(topo.node(named: "t-a-0")?.free == 8)
        let pod = Pod(spec: Pod.Spec(nodeName: "t-a-1", containers: [
            Pod.Container(name: "a", resources: Pod.ResourceRequirements(requests: ["nvidia.com/gpu": "1"])),
            Pod.Container(name: "b", resources: Pod.ResourceRequirements(limits: ["nvidia.com/gpu": "2"])),
        ], initContainers: [Pod.Container(name: "warm", resources: Pod.ResourceRequirements(limits: ["nvidia.com/gpu": "5"]))]),
                      status: Pod.Status(phase: "Running"))
        #expect(topo.gpuRequest(pod) == 5)
        var live = topo
        live.add(pod: pod)
        #expect(live.node(named: "t-a-1")?.free == 3)
        live.remove(pod: pod)
        #expect(live.node(named: "t-a-1")?.free == 8)
    }

    @Test func overCommittedNodesAreFullAndReported() throws {
        let pods = (0..<3).map { i in
            Pod(metadata: ObjectMeta(name: "p\(i)", namespace: "x"), spec: Pod.Spec(nodeName: "only-0", containers: [
                Pod.Container(name: "c", resources: Pod.ResourceRequirements(limits: ["nvidia.com/gpu": "4"])),
            ]), status: Pod.Status(phase: "Running"))
        }
        let topo = Topology(nodes: try Fixture.nodes("small-s1.yaml"), pods: pods)
        #expect(topo.node(named: "only-0")?.free == 0)
        #expect(topo.warnings == ["node only-0: pods request 12 GPUs, 8 allocatable (over-committed; counted as full)"])
    }
}

@Suite struct InputTests {
    @Test func aRealNodeListDecodes() throws {
        // Fields the engine does not read (managedFields, images, nodeInfo, …) are ignored.
        let text = """
            apiVersion: v1
            items:
            - apiVersion: v1
              kind: Node
              metadata:
                annotations: {node.alpha.kubernetes.io/ttl: "0"}
                creationTimestamp: "2025-01-01T00:00:00Z"
                labels: {heteroscale.io/gpu-type: h20, heteroscale.io/s1: a, heteroscale.io/s2: b}
                managedFields: [{manager: kubelet, operation: Update}]
                name: gpu-0
                resourceVersion: "123"
                uid: 4f1c
              spec: {podCIDR: 10.244.0.0/24, providerID: kind://docker/kind/gpu-0}
              status:
                addresses: [{address: 172.18.0.2, type: InternalIP}]
                allocatable: {cpu: "8", ephemeral-storage: 100Gi, memory: 32Gi, nvidia.com/gpu: "8", pods: "110"}
                capacity: {cpu: "8", nvidia.com/gpu: "8"}
                conditions: [{lastHeartbeatTime: "2025-01-01T00:00:00Z", lastTransitionTime: "2025-01-01T00:00:00Z", message: kubelet is posting ready status, reason: KubeletReady, status: "True", type: Ready}]
                images: [{names: [registry.k8s.io/pause:3.9], sizeBytes: 321520}]
                nodeInfo: {architecture: amd64, kubeletVersion: v1.31.0}
            kind: List
            metadata: {resourceVersion: ""}
            """
        let nodes = try PlacementInput.nodes(yaml: text, source: "nodes.yaml")
        #expect(nodes.map(\.metadata.name) == ["gpu-0"])
        #expect(Topology(nodes: nodes).node(named: "gpu-0")?.free == 8)
    }

    @Test(arguments: [
        ("apiVersion: v1\nkind: List\nitems:\n- kind: Node\n  metadata: {name: a}\n- kind: Pod\n  metadata: {name: b}\n",
         "n.yaml: line 6, column 3: items[1]: a Pod in a list of Nodes"),
        ("kind: List\nitems:\n- kind: Node\n  metadata:\n    name: [x]\n",
         "n.yaml: line 5, column 11: items[0].metadata.name: expected a string, found array"),
        ("kind: Pod\nmetadata: {name: p}\n", "n.yaml: line 1, column 1: expected a Node, found a Pod"),
        ("- a\n- b\n", "n.yaml: line 1, column 1: expected a Node or a List of them, found a list"),
        ("kind: Node\nmetadata: {name: a\n", "n.yaml: "),
    ])
    func badNodeListsNameTheFileLineAndField(text: String, message: String) {
        #expect {
            _ = try PlacementInput.nodes(yaml: text, source: "n.yaml")
        } throws: { e in
            "\(e)".hasPrefix(message)
        }
    }

    @Test func groupFilesSkipOtherKindsButNeedAGroup() throws {
        let text = "kind: PodAutoscaler\nmetadata: {name: pa}\n---\nkind: DeploymentGroup\nmetadata: {name: g}\nspec: {replicas: 2, roles: [{name: prefill, gpuType: h100}]}\n"
        #expect(try PlacementInput.groups(yaml: text, source: "g.yaml").map(\.metadata.name) == ["g"])
        #expect(throws: PlacementError("p.yaml: no DeploymentGroup in the file")) {
            try PlacementInput.groups(yaml: "kind: PodAutoscaler\nmetadata: {name: pa}\n", source: "p.yaml")
        }
    }

    @Test(arguments: [
        ("spec: {replicas: 2, affinity: {domain: S3}, roles: [{name: a}]}", "DeploymentGroup default/g: spec.affinity.domain: must be S1, S2 or Cluster, got S3"),
        ("spec: {replicas: 2, roles: [{name: a, gpusPerInstance: 0}]}", "DeploymentGroup default/g: spec.roles[0].gpusPerInstance: must be at least 1, got 0"),
        ("spec: {replicas: 2, roles: [{name: a}, {name: a}]}", "DeploymentGroup default/g: spec.roles[1].name: a is listed twice"),
        ("spec: {replicas: 2, roles: [{name: a, template: {spec: {tolerations: [{key: 3}]}}}]}", "DeploymentGroup default/g: spec.roles[0].template.spec.tolerations"),
    ])
    func badGroupsAreRefusedWithTheField(spec: String, message: String) throws {
        let g = try YAML.decode(DeploymentGroup.self, from: "metadata: {name: g}\n" + spec)
        #expect {
            _ = try PlacementRequest(group: g)
        } throws: { e in
            "\(e)".hasPrefix(message)
        }
    }
}
