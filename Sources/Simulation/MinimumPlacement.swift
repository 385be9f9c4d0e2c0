import Autoscaling
import KubeAPI
import Placement

/// The fewest instances of one pool a run may have: what its autoscaler may not go below, or, without one,
/// its fixed replicas.
struct PoolMinimum: Sendable, Hashable {
    var pool: Int
    var replicas: Int
    /// Where the minimum comes from, for messages: `PodAutoscaler decode-hpa minReplicas 3`.
    var source: String
}

extension SimulationConfig {
    /// Per pool: the largest `minReplicas` of the PodAutoscalers that target it (a whole DeploymentGroup's
    /// minimum split by the roles' weights, as the controller splits a group total), else its replicas.
    func minimumReplicas() -> [PoolMinimum] {
        var minimums = pools.enumerated().map { i, p in
            PoolMinimum(pool: i, replicas: max(0, p.replicas), source: "replicas \(max(0, p.replicas)), no autoscaler")
        }
        var autoscaled = Set<Int>()
        func raise(_ pool: Int, _ replicas: Int, _ source: String) {
            if !autoscaled.contains(pool) || replicas > minimums[pool].replicas {
                minimums[pool] = PoolMinimum(pool: pool, replicas: replicas, source: source)
            }
            autoscaled.insert(pool)
        }
        for pa in autoscalers {
            let ref = pa.spec.scaleTargetRef
            let min = max(0, pa.spec.minReplicas ?? 1)
            let name = pa.metadata.name ?? ref.name
            if let members = groups[ref.name] {
                let indices = members.compactMap { m in pools.firstIndex { $0.name == m } }
                if let role = pa.spec.subTargetSelector?.roleName {
                    for i in indices where pools[i].name.split(separator: "/").last.map(String.init) == role {
                        raise(i, min, "PodAutoscaler \(name) minReplicas \(min)")
                    }
                } else {
                    let roles = indices.map { i in
                        RatioApportionment.Role(
                            name: pools[i].name, weight: pools[i].weight ?? 1, minReplicas: pools[i].minReplicas ?? 0,
                            maxReplicas: pools[i].maxReplicas ?? Int.max)
                    }
                    for (i, n) in zip(indices, RatioApportionment.apportion(total: min, roles: roles)) {
                        raise(i, n, "PodAutoscaler \(name) minReplicas \(min), split by the group's weights")
                    }
                }
            } else {
                for i in pools.indices where pools[i].name == ref.name {
                    raise(i, min, "PodAutoscaler \(name) minReplicas \(min)")
                }
            }
        }
        return minimums
    }

    /// Places every pool's minimum on the cluster with the placement engine, as the simulator would (one
    /// scheduling cycle, groups with their affinity, pools on their own), and throws for the first pool whose
    /// minimum does not fit, naming the shortfall, the engine's reason and what to change.
    func checkMinimumPlacement() throws {
        let nodes = cluster.kubeNodes()
        var topology = Topology(nodes: nodes)
        let minimums = minimumReplicas()
        // A GPU type no node has: say so plainly, before the engine's view of whole P/D units.
        let typesPresent = Set(nodes.compactMap { $0.metadata.labels?[TopologyLabels.default.gpuType] })
        for m in minimums where m.replicas > 0 {
            let pool = pools[m.pool], types = pool.gpuTypes ?? [pool.gpuType]
            guard !types.contains(where: typesPresent.contains) else { continue }
            throw SimulationError(
                "the cluster cannot place the minimum of pool \(pool.name): \(m.replicas) instance(s) of \(pool.tensorParallel) × \(types.joined(separator: "/")) GPUs "
                    + "(\(m.source)): the cluster has no nodes of gpuType \(types.joined(separator: " or ")). "
                    + "Add such nodes to cluster.nodePools (or cluster.nodes) or change the pool's gpuType")
        }
        var requests: [PlacementRequest] = []
        var grouped = Set<Int>()
        func role(_ i: Int) -> String { pools[i].name.split(separator: "/").last.map(String.init) ?? pools[i].name }
        func request(_ name: String, _ members: [Int], _ settings: GroupPlacementSettings) -> PlacementRequest {
            PlacementRequest(
                namespace: "simulation", name: name, priority: settings.priority, affinity: settings.affinity,
                roles: members.map { i in
                    RoleRequest(name: role(i), weight: pools[i].weight ?? 1, delta: minimums[i].replicas,
                                gpuTypes: pools[i].gpuTypes ?? [pools[i].gpuType], gpusPerInstance: pools[i].tensorParallel)
                })
        }
        for (name, members) in groups.sorted(by: { $0.key < $1.key }) {
            let indices = members.compactMap { m in pools.firstIndex { $0.name == m } }
            grouped.formUnion(indices)
            requests.append(request(name, indices, groupPlacement[name] ?? GroupPlacementSettings()))
        }
        for i in pools.indices where !grouped.contains(i) {
            requests.append(request(pools[i].name, [i], GroupPlacementSettings()))
        }
        let plan = topology.schedule(requests, options: placement)
        for request in requests {
            guard let result = plan.group(namespace: request.namespace, request.name), !result.unschedulable.isEmpty else { continue }
            let members = groups[request.name].map { m in m.compactMap { n in pools.firstIndex { $0.name == n } } }
                ?? pools.indices.filter { pools[$0].name == request.name }
            let parts = result.unschedulable.compactMap { short -> String? in
                guard let i = members.first(where: { role($0) == short.role }) else { return nil }
                let pool = pools[i], m = minimums[i]
                return "pool \(pool.name): \(m.replicas) instance(s) of \(pool.tensorParallel) × \((pool.gpuTypes ?? [pool.gpuType]).joined(separator: "/")) GPUs "
                    + "(\(m.source)), \(short.count) short: \(short.reason)"
            }
            throw SimulationError("the cluster cannot place the minimum of \(members.count > 1 ? "DeploymentGroup \(request.name)" : "pool \(request.name)"): "
                + parts.joined(separator: "; ") + ". Add nodes to cluster.nodePools (or cluster.nodes) or lower the minimum")
        }
    }
}
