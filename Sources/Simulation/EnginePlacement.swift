import KubeAPI
import Placement

/// What the placement engine places as one: a DeploymentGroup (its roles' pools), or a pool on its own.
struct SimGroup {
    var name: String
    var pools: [Int]
    var affinity: AffinityDomain
    var priority: Int
    /// Every placement the group has had, by level and domain; instances point into this list.
    var placements: [(level: AffinityDomain, domain: String)] = []
    /// The last unschedulable reason logged (a retry at every scrape logs only a change).
    var lastShortfall = ""
}

extension Simulator {
    /// DeploymentGroups first in the order of their first pool, each pool outside a group on its own.
    func setUpGroups() {
        groupOfPool = [Int](repeating: -1, count: pools.count)
        var units: [(first: Int, group: SimGroup)] = []
        for (name, members) in config.groups {
            let indices = members.compactMap { m in pools.firstIndex { $0.spec.name == m } }
            guard let first = indices.min() else { continue }
            let settings = config.groupPlacement[name] ?? GroupPlacementSettings()
            units.append((first, SimGroup(name: name, pools: indices, affinity: settings.affinity, priority: settings.priority)))
        }
        for p in pools.indices where !units.contains(where: { $0.group.pools.contains(p) }) {
            units.append((p, SimGroup(name: pools[p].spec.name, pools: [p], affinity: .cluster, priority: 0)))
        }
        groups = units.sorted { $0.first < $1.first }.map(\.group)
        for (g, group) in groups.enumerated() { for p in group.pools { groupOfPool[p] = g } }
    }

    /// Brings a group's live (starting or serving) instances to the pools' `desired` through one placement
    /// cycle: new instances where the engine puts them (cold, or warm at t = 0), removals from the placements it
    /// names — within a placement the newest cold instances first, then the least-loaded serving ones drain.
    func reconcileGroup(_ g: Int, warm: Bool = false) {
        let group = groups[g]
        var roles: [RoleRequest] = []
        var existing: [Int: (roles: [String: RoleAllocation], instances: [NodeAssignment])] = [:]
        for p in group.pools {
            let spec = pools[p].spec
            let live = pools[p].live.filter { instances[$0].state == .starting || instances[$0].state == .serving }
            pools[p].unschedulable = 0
            roles.append(RoleRequest(name: pools[p].roleName, weight: spec.weight ?? 1, delta: pools[p].desired - live.count,
                                     gpuTypes: spec.gpuTypes ?? [spec.gpuType], gpusPerInstance: spec.tensorParallel))
            for i in live {
                let inst = instances[i]
                var e = existing[inst.placement] ?? ([:], [])
                e.roles[pools[p].roleName, default: RoleAllocation(count: 0, gpuType: inst.gpuType)].count += 1
                e.instances.append(NodeAssignment(node: topology.nodeName(at: inst.node), role: pools[p].roleName, gpuType: inst.gpuType, count: 1))
                existing[inst.placement] = e
            }
        }
        guard roles.contains(where: { $0.delta != 0 }) else { return }
        let request = PlacementRequest(
            namespace: "simulation", name: group.name, priority: group.priority, affinity: group.affinity, roles: roles,
            existing: existing.sorted { $0.key < $1.key }.map { index, e in
                ExistingPlacement(level: group.placements[index].level, domain: group.placements[index].domain, roles: e.roles, instances: e.instances)
            })
        let plan = topology.schedule([request], options: config.placement)
        guard let result = plan.groups.first else { return }
        for d in result.decisions where d.kind != .unschedulable && d.kind != .reserve {
            self.result.placementLog.append(PlacementLogEntry(time: now, group: group.name, kind: d.kind, reason: d.reason))
        }
        let shortText = result.unschedulable.map { "\($0.role): \($0.reason)" }.joined(separator: "; ")
        if !shortText.isEmpty && shortText != groups[g].lastShortfall {
            self.result.placementLog.append(PlacementLogEntry(time: now, group: group.name, kind: .unschedulable, reason: shortText))
        }
        groups[g].lastShortfall = shortText
        for s in result.unschedulable {
            if let p = group.pools.first(where: { pools[$0].roleName == s.role }) { pools[p].unschedulable = s.count }
        }
        var changed = false
        for placement in result.placements + result.released {
            let index = placementIndex(g, placement)
            for (role, count) in placement.removed {
                guard let p = group.pools.first(where: { pools[$0].roleName == role }) else { continue }
                remove(count, from: p, placement: index)
                changed = true
            }
            for a in placement.added {
                guard let p = group.pools.first(where: { pools[$0].roleName == a.role }), let node = topology.nodeIndex(named: a.node),
                      let profile = pools[p].profiles[a.gpuType] else { continue }
                let spec = pools[p].spec
                for _ in 0..<a.count {
                    let inst = SimInstance(
                        id: instances.count, pool: p, role: spec.role, profile: profile, node: node, gpuType: a.gpuType,
                        placement: index, gpus: spec.tensorParallel, now: now, coldStart: warm ? 0 : (spec.coldStartSeconds ?? 120),
                        maxBatchTokens: spec.maxBatchTokens ?? 8192, maxBatchSize: spec.maxBatchSize ?? 256)
                    instances.append(inst)
                    pools[p].live.append(inst.id)
                    gpusAllocated += inst.gpus
                    gpusByType.add(inst.gpus, to: a.gpuType)
                    if warm { instanceReady(inst) } else { queue.push(.instanceReady(inst.id), at: inst.readyAt) }
                }
            }
        }
        if changed { refreshRouting() }
    }

    /// Reconciles the group a pool belongs to.
    func reconcile(_ pool: Int) { reconcileGroup(groupOfPool[pool]) }

    /// The group's index of a placement, added when new.
    func placementIndex(_ g: Int, _ p: PlannedPlacement) -> Int {
        if let i = groups[g].placements.firstIndex(where: { $0.level == p.level && $0.domain == p.domain }) { return i }
        groups[g].placements.append((p.level, p.domain))
        return groups[g].placements.count - 1
    }

    /// Removes `count` live instances of a pool from one placement: cold ones first (newest first), then the
    /// least-loaded serving ones start draining.
    func remove(_ count: Int, from p: Int, placement: Int) {
        var excess = count
        let live = pools[p].live.filter { instances[$0].placement == placement && (instances[$0].state == .starting || instances[$0].state == .serving) }
        for i in live.reversed() where excess > 0 && instances[i].state == .starting {
            release(instances[i])
            excess -= 1
        }
        let serving = live.filter { instances[$0].state == .serving }
            .sorted { (instances[$0].kvLoad + instances[$0].pendingPromptTokens, $0) < (instances[$1].kvLoad + instances[$1].pendingPromptTokens, $1) }
        for i in serving.prefix(max(0, excess)) {
            instances[i].state = .draining
            if instances[i].idle { release(instances[i]) }
        }
    }
}
