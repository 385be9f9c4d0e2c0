import KubeAPI

/// A generated GPU cluster and DeploymentGroup workload: the benchmark's input (`heteroscale place --bench`)
/// and the property tests' random topologies. Deterministic for a given generator state (it only uses
/// `next()`, never the standard library's samplers).
public struct SyntheticCluster: Sendable {
    public var nodes: [Node]
    public var groups: [DeploymentGroup]

    /// The size and mix of the cluster.
    public struct Shape: Sendable, Hashable {
        public var nodes = 6_250
        public var gpusPerNode = 8
        public var nodesPerS1 = 10
        public var s1PerS2 = 25
        public var groups = 1_000
        public var gpuTypes = ["h100", "h20", "l20", "a100"]
        /// Instances per weight unit of a group: 1…this.
        public var maxUnits = 3
        public init() {}
    }

    /// S2s are a mix of the three kinds: 40 % one GPU type (low), 35 % homogeneous S1s of two types (medium),
    /// 25 % where half the S1s mix two types node by node (high) and the rest are homogeneous. Groups: 45 % S2
    /// affinity, 40 % S1, 15 % Cluster; prefill on h100/a100, decode on h20/l20/h100 with one or two
    /// preferences; P:D weights 1:1, 1:2, 2:3 or 1:3.
    public static func generate(_ shape: Shape = Shape(), using rng: inout some RandomNumberGenerator) -> SyntheticCluster {
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }
        let types = shape.gpuTypes
        var nodes: [Node] = []
        nodes.reserveCapacity(shape.nodes)
        let perS2 = shape.nodesPerS1 * shape.s1PerS2
        var s2Kind = 0, typeA = types[0], typeB = types[min(1, types.count - 1)]
        for i in 0..<shape.nodes {
            let s2 = i / perS2, s1 = i / shape.nodesPerS1, inS1 = i % shape.nodesPerS1
            if i % perS2 == 0 {
                let r = pick(100)
                s2Kind = r < 40 ? 0 : r < 75 ? 1 : 2
                typeA = types[pick(types.count)]
                typeB = types[(types.firstIndex(of: typeA)! + 1 + pick(max(1, types.count - 1))) % types.count]
            }
            let type: String
            switch s2Kind {
            case 0: type = typeA
            case 1: type = s1 % 2 == 0 ? typeA : typeB
            default: type = s1 % 2 == 0 ? (inS1 % 2 == 0 ? typeA : typeB) : (s1 % 4 == 1 ? typeA : typeB)
            }
            var meta = ObjectMeta()
            meta.name = "node-\(pad(i, 5))"
            meta.labels = [
                "heteroscale.io/gpu-type": type, "heteroscale.io/s2": "s2-\(pad(s2, 3))", "heteroscale.io/s1": "s1-\(pad(s1, 4))",
                "heteroscale.io/s0": "tor-\(pad(s1, 4))-\(inS1 / 4)", Node.Label.hostname: meta.name!,
            ]
            nodes.append(Node(metadata: meta, status: Node.Status(
                allocatable: ["nvidia.com/gpu": String(shape.gpusPerNode), "cpu": "96"],
                conditions: [ResourceCondition(type: "Ready", status: "True")])))
        }
        let prefillTypes = [["h100"], ["h100", "a100"], ["a100"]]
        let decodeTypes = [["h20"], ["h20", "l20"], ["l20"], ["h100"]]
        let weights: [(Double, Double)] = [(1, 1), (1, 2), (2, 3), (1, 3)]
        var groups: [DeploymentGroup] = []
        for i in 0..<shape.groups {
            let r = pick(100)
            let affinity: AffinityDomain = r < 45 ? .s2 : r < 85 ? .s1 : .cluster
            let (wp, wd) = weights[pick(weights.count)]
            let p = prefillTypes[pick(prefillTypes.count)]
            // Half the S1-affinity groups use one type for both roles (two types fit only high-priority S1s).
            let d = affinity == .s1 && pick(2) == 0 ? p : decodeTypes[pick(decodeTypes.count)]
            var meta = ObjectMeta()
            meta.name = "group-\(pad(i, 4))"
            meta.namespace = "ns-\(i % 20)"
            meta.creationTimestamp = "2025-01-01T00:\(pad(i / 60 % 60, 2)):\(pad(i % 60, 2))Z"
            let units = 1 + pick(shape.maxUnits)
            groups.append(DeploymentGroup(metadata: meta, spec: DeploymentGroupSpec(
                replicas: Int(wp + wd) * units,
                roles: [
                    DeploymentGroupRole(name: "prefill", weight: wp, gpuType: p, gpusPerInstance: [2, 4, 8][pick(3)]),
                    DeploymentGroupRole(name: "decode", weight: wd, gpuType: d, gpusPerInstance: [1, 2, 4][pick(3)]),
                ],
                affinity: GroupAffinity(domain: affinity, priority: pick(3) * 10))))
        }
        return SyntheticCluster(nodes: nodes, groups: groups)
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// The pods a plan's new instances become once bound (what the controller's child Deployments and the
    /// scheduler would create): labelled with group, role and placement, requesting the role's GPUs.
    public static func pods(for plan: PlacementPlan, _ requests: [PlacementRequest], startingAt serial: Int = 0) -> [Pod] {
        var byKey: [String: PlacementRequest] = [:]
        for r in requests { byKey[r.key] = r }
        var pods: [Pod] = []
        var k = serial
        for g in plan.groups {
            guard let req = byKey[g.key] else { continue }
            for p in g.placements {
                for a in p.added {
                    let gpus = req.roles.first { $0.name == a.role }?.gpusPerInstance ?? 1
                    for _ in 0..<a.count {
                        var meta = ObjectMeta()
                        meta.name = "\(g.name)-\(a.role)-\(k)"
                        meta.namespace = g.namespace
                        meta.labels = [GroupLabels.group: g.name, GroupLabels.role: a.role, GroupLabels.placement: p.name]
                        k += 1
                        pods.append(Pod(metadata: meta, spec: Pod.Spec(nodeName: a.node, containers: [
                            Pod.Container(name: "engine", resources: Pod.ResourceRequirements(limits: ["nvidia.com/gpu": String(gpus)])),
                        ]), status: Pod.Status(phase: Pod.Phase.running)))
                    }
                }
            }
        }
        return pods
    }
}

extension GroupPlan {
    /// The group's `status.placements` after this plan.
    public var statusPlacements: [GroupPlacement] {
        placements.map { GroupPlacement(domain: $0.domain, subgroupPriority: $0.subgroupPriority.rawValue, roles: $0.roles.mapValues(\.count)) }
    }
}
