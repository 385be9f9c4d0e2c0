import Foundation
import KubeAPI
import Autoscaling

/// One PodAutoscaler inside a run: its target pools and its explicit decision state.
struct AutoscalerRuntime {
    var pa: PodAutoscaler
    var state = AutoscalerState()
    var tick: Double
    /// Target pools (one for a Deployment or a selected role; every role for a whole DeploymentGroup).
    var pools: [Int]
    /// True when the decision covers a whole DeploymentGroup (role snapshots, roleReplicas).
    var grouped: Bool
}

extension Simulator {
    func setUpAutoscalers() throws {
        for pa in config.autoscalers {
            let ref = pa.spec.scaleTargetRef
            var targets: [Int]
            var grouped = false
            if let members = config.groups[ref.name] {
                targets = members.compactMap { m in pools.firstIndex { $0.spec.name == m } }
                if let role = pa.spec.subTargetSelector?.roleName {
                    targets = targets.filter { pools[$0].roleName == role }
                } else {
                    grouped = true
                }
            } else {
                targets = pools.indices.filter { pools[$0].spec.name == ref.name }
            }
            guard !targets.isEmpty else {
                throw SimulationError("PodAutoscaler \(pa.metadata.name ?? "?"): scale target \(ref.kind)/\(ref.name)\(pa.spec.subTargetSelector?.roleName.map { " role \($0)" } ?? "") is not in the scenario")
            }
            autoscalers.append(AutoscalerRuntime(pa: pa, tick: Autoscaler.tickSeconds(pa.spec), pools: targets, grouped: grouped))
        }
    }

    func date(_ t: Double) -> Date { Date(timeIntervalSince1970: config.epoch + t) }

    /// The snapshot a controller would build: scale of the target, per-role counts, per-pod samples of the
    /// last scrape (cold pods are `pending` with no value, draining pods `deleting`), and the signals.
    func snapshot(_ a: AutoscalerRuntime) -> ScalingSnapshot {
        let current = a.pools.reduce(0) { $0 + pools[$1].desired }
        let ready = a.pools.reduce(0) { acc, p in acc + pools[p].live.filter { instances[$0].state == .serving }.count }
        var roles: [RoleSnapshot] = []
        if a.grouped {
            for p in a.pools {
                let pool = pools[p]
                roles.append(RoleSnapshot(
                    name: pool.roleName, weight: pool.spec.weight ?? 1, current: pool.desired,
                    ready: pool.live.filter { instances[$0].state == .serving }.count,
                    minReplicas: pool.spec.minReplicas, maxReplicas: pool.spec.maxReplicas))
            }
        }
        var sources: [SourceSnapshot] = []
        for (i, src) in (a.pa.spec.metricsSources ?? []).enumerated() {
            let name = InstanceSample.resolve(src.targetMetric)
            var podPools = a.pools
            if let role = src.role { podPools = podPools.filter { pools[$0].roleName == role || pools[$0].spec.role.rawValue == role } }
            var pods: [PodSample] = []
            for p in podPools {
                for id in pools[p].live {
                    let inst = instances[id]
                    let phase: PodSample.Phase = inst.state == .starting ? .pending : (inst.state == .draining ? .deleting : .running)
                    let serving = inst.state == .serving
                    pods.append(PodSample(
                        name: "\(pools[p].spec.name)-\(id)", value: serving ? inst.sample.value(name) : nil, ready: serving,
                        phase: phase, startTime: date(inst.createdAt), readyTime: serving ? date(inst.readyAt) : nil))
                }
            }
            sources.append(SourceSnapshot(index: i, metricName: name, target: MetricTarget.parse(src.targetValue) ?? 0, role: src.role, pods: pods))
        }
        return ScalingSnapshot(currentReplicas: current, readyReplicas: ready, roles: roles, sources: sources, signals: signals())
    }

    func tick(_ index: Int) {
        var a = autoscalers[index]
        let snap = snapshot(a)
        let decision = Autoscaler.decide(spec: a.pa.spec, snapshot: snap, state: &a.state, now: date(now))
        var roles: [String: Int] = [:]
        if decision.scalingActive {
            if a.grouped {
                // Strategies that size the group as a whole are split by weight, as the controller would.
                let rr = decision.roleReplicas ?? Autoscaler.apportion(total: decision.desiredReplicas, snapshot: snap)
                let counts = a.pools.map { p in rr.first { $0.name == pools[p].roleName }?.replicas ?? pools[p].desired }
                for (p, c) in zip(a.pools, counts) { pools[p].desired = max(0, c) }
            } else if let p = a.pools.first {
                pools[p].desired = max(0, decision.desiredReplicas)
            }
            for g in Set(a.pools.map { groupOfPool[$0] }).sorted() { reconcileGroup(g) }
        }
        for p in a.pools { roles[pools[p].roleName] = pools[p].desired }
        let to = a.pools.reduce(0) { $0 + pools[$1].desired }
        result.scaling.append(ScalingLogEntry(
            time: now, autoscaler: a.pa.metadata.name ?? a.pa.spec.scaleTargetRef.name,
            strategy: decision.details.strategy ?? a.pa.spec.scalingStrategy,
            from: snap.currentReplicas, to: to, roles: roles, active: decision.scalingActive, reason: decision.reason))
        autoscalers[index] = a
    }
}
