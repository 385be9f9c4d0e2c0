import Autoscaling
import KubeAPI

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

    /// Places every pool's minimum on the cluster as the simulator would (whole instances on one node, pools
    /// in order) and throws for the first pool that does not fit, naming the shortfall and what to change.
    func checkMinimumPlacement() throws {
        var cluster = ClusterState(self.cluster)
        for m in minimumReplicas() {
            let pool = pools[m.pool]
            var placed = 0
            while placed < m.replicas, cluster.allocate(gpuType: pool.gpuType, gpus: pool.tensorParallel) != nil { placed += 1 }
            guard placed < m.replicas else { continue }
            let nodes = cluster.nodes.filter { $0.gpuType == pool.gpuType }
            let capacity = nodes.reduce(0) { $0 + $1.gpus }
            var why: String
            if nodes.isEmpty {
                why = "cluster.nodePools has no nodes of gpuType \(pool.gpuType)"
            } else if nodes.allSatisfy({ $0.gpus < pool.tensorParallel }) {
                why = "an instance needs \(pool.tensorParallel) GPUs on one node, but the \(pool.gpuType) nodes have \(nodes.map(\.gpus).max() ?? 0)"
            } else {
                let takenBefore = capacity - nodes.reduce(0) { $0 + $1.free } - placed * pool.tensorParallel
                why = "cluster.nodePools has \(capacity) \(pool.gpuType) GPUs on \(nodes.count) node(s)"
                    + (takenBefore > 0 ? ", \(takenBefore) of them taken by the minimums of the pools before it" : "")
            }
            throw SimulationError(
                "the cluster cannot place the minimum of pool \(pool.name): \(m.replicas) instance(s) of \(pool.tensorParallel) × \(pool.gpuType) GPUs "
                    + "(\(m.source)), only \(placed) fit: \(m.replicas - placed) short; \(why). "
                    + "Add \(pool.gpuType) nodes to cluster.nodePools or lower the minimum")
        }
    }
}
