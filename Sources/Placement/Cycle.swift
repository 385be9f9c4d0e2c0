import Foundation
import KubeAPI

/// How a cycle places.
public struct PlacementOptions: Sendable, Hashable {
    /// Ignore the topology, the affinity and the classes: every instance goes to the node with the most free
    /// GPUs of its type (as a default scheduler's least-allocated scoring spreads pods), ties broken by a seeded
    /// hash of the node name. A baseline for the simulator, not for clusters.
    public var topologyBlind: Bool
    public var seed: UInt64

    public init(topologyBlind: Bool = false, seed: UInt64 = 0) {
        self.topologyBlind = topologyBlind
        self.seed = seed
    }
}

extension Topology {
    /// One scheduling cycle on a copy of the topology: what would happen (the CLI, the controller, which leaves
    /// the binding to the scheduler and sees the result as pods).
    public func plan(_ requests: [PlacementRequest], options: PlacementOptions = PlacementOptions()) -> PlacementPlan {
        var copy = self
        return copy.schedule(requests, options: options)
    }

    /// One scheduling cycle that keeps its allocations in this topology (the simulator, which has no scheduler).
    ///
    /// 1. Existing placements are resolved; their instances found on no node are reserved in their domain.
    /// 2. Scale-in: each group with roles to remove releases them from its placements, high-priority capacity
    ///    first (the freed GPUs are not reused in this cycle).
    /// 3. Scale-out: groups by priority (higher first), then age (older first), then namespace and name. For
    ///    each, every candidate is evaluated — grow one of its placements, or open one in any domain of its
    ///    affinity level — and the best is taken: the one that places the most (whole P/D units), then takes
    ///    the least high-, then medium-priority capacity, then grows rather than opens, then fits tightest, then
    ///    comes first in topology order. What is taken is deducted at once (virtual allocation), so two requests
    ///    never get the same GPUs.
    public mutating func schedule(_ requests: [PlacementRequest], options: PlacementOptions = PlacementOptions()) -> PlacementPlan {
        var cycle = SchedulingCycle(topology: Topology(nodes: []), requests: requests, options: options)
        swap(&cycle.topo, &self)
        let plan = cycle.run()
        swap(&cycle.topo, &self)
        return plan
    }
}

/// A placement of a group during the cycle.
struct PlacementState {
    var level: AffinityDomain
    /// nil: the domain is not in the topology (nodes gone or relabelled).
    var domain: DomainRef?
    var display: String
    var counts: [Int]
    var types: [String?]
    /// Where its instances run: node → instances per role.
    var nodes: [Int32: [Int32]] = [:]
    var statusClass: SubgroupClass?
    var isNew: Bool
    var added: [NodeAssignment] = []
    var removed: [Int]
    var victims: [NodeAssignment] = []

    var total: Int { counts.reduce(0, +) }
}

/// A group during the cycle.
struct GroupState {
    var request: PlacementRequest
    var roleIndex: [String: Int]
    /// The smallest whole-number vector with the roles' weight proportions (`SchedulingCycle.unitVector`).
    var unit: [Int]
    var placements: [PlacementState] = []
    var decisions: [PlacementDecision] = []
    var shortfalls: [Shortfall] = []
}

struct SchedulingCycle {
    var topo: Topology
    let options: PlacementOptions
    /// In scheduling order.
    var groups: [GroupState]
    var warnings: [String] = []
    var scratch = HistScratch()

    init(topology: Topology, requests: [PlacementRequest], options: PlacementOptions) {
        topo = topology
        self.options = options
        let sorted = requests.sorted { a, b in
            if a.priority != b.priority { return a.priority > b.priority }
            switch (a.created, b.created) {
            case let (x?, y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: break
            }
            return (a.namespace, a.name) < (b.namespace, b.name)
        }
        groups = sorted.map { r in
            var index: [String: Int] = [:]
            for (i, role) in r.roles.enumerated() where index[role.name] == nil { index[role.name] = i }
            return GroupState(request: r, roleIndex: index, unit: Self.unitVector(r.roles.map(\.weight)))
        }
    }

    mutating func run() -> PlacementPlan {
        warnings = topo.warnings
        for g in groups.indices { resolveExisting(g) }
        for g in groups.indices { scaleIn(g) }
        for g in groups.indices { scaleOut(g) }
        return PlacementPlan(groups: groups.map(output).sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) },
                             warnings: warnings)
    }

    // MARK: Existing placements

    mutating func resolveExisting(_ g: Int) {
        let req = groups[g].request
        let n = req.roles.count
        for e in req.existing {
            let domain = topo.resolve(e.level, e.domain)
            let display = domain.map(topo.display) ?? e.domain
            if let i = groups[g].placements.firstIndex(where: { $0.level == e.level && $0.display == display }) {
                warnings.append("\(req.key): placement \(display) is listed twice; the counts are added")
                for (role, a) in e.roles { if let r = groups[g].roleIndex[role] { groups[g].placements[i].counts[r] += a.count } }
                continue
            }
            var p = PlacementState(level: e.level, domain: domain, display: display, counts: [Int](repeating: 0, count: n),
                                   types: [String?](repeating: nil, count: n), statusClass: e.subgroupPriority, isNew: false,
                                   removed: [Int](repeating: 0, count: n))
            for (role, a) in e.roles.sorted(by: { $0.key < $1.key }) {
                guard let r = groups[g].roleIndex[role] else {
                    warnings.append("\(req.key): placement \(display) lists role \(role), which the group does not have; ignored")
                    continue
                }
                p.counts[r] = max(0, a.count)
                p.types[r] = a.gpuType
            }
            if domain == nil && p.total > 0 {
                warnings.append("\(req.key): placement \(e.domain) (\(e.level.rawValue)) is not in the topology; its instances are released first on scale-in and it is not grown")
            }
            // Where its instances run.
            if let instances = e.instances {
                for a in instances {
                    guard let node = topo.nodeIndex[a.node], let r = groups[g].roleIndex[a.role] else { continue }
                    p.nodes[node, default: [Int32](repeating: 0, count: n)][r] += Int32(a.count)
                }
            } else {
                for r in 0..<n where p.counts[r] > 0 {
                    let key = Topology.BoundKey(namespace: req.namespace, group: req.name, placement: e.name, role: req.roles[r].name)
                    for (node, c) in topo.bound[key] ?? [:] { p.nodes[node, default: [Int32](repeating: 0, count: n)][r] += c }
                }
            }
            for r in 0..<n where p.counts[r] > 0 && p.types[r] == nil { p.types[r] = inferType(p, r, req.roles[r]) }
            groups[g].placements.append(p)
            if e.instances == nil, let domain { reserve(g, groups[g].placements.count - 1, domain) }
        }
    }

    /// The GPU type of a role in an existing placement that does not record it: the type of the nodes its
    /// instances run on, else the role's first preference present in the domain.
    func inferType(_ p: PlacementState, _ r: Int, _ role: RoleRequest) -> String? {
        var byType: [Int32: Int32] = [:]
        for (node, counts) in p.nodes where counts[r] > 0 { byType[topo.nodeType[Int(node)], default: 0] += counts[r] }
        if let t = byType.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) })?.key { return topo.gpuTypes[Int(t)] }
        guard let d = p.domain else { return role.gpuTypes.first }
        return role.gpuTypes.first { t in topo.typeIndex[t].map { topo.typeCapacity(d, Int($0)) > 0 } ?? false } ?? role.gpuTypes.first
    }

    /// Gives GPUs to the placement's instances that run on no node (pods not bound yet, or no pods given).
    mutating func reserve(_ g: Int, _ i: Int, _ domain: DomainRef) {
        let req = groups[g].request
        var p = groups[g].placements[i]
        var used = Set(p.nodes.keys.map { topo.nodeS1[Int($0)] })
        var reserved: [String: Int] = [:]
        for r in req.roles.indices where p.counts[r] > 0 {
            let known = p.nodes.values.reduce(0) { $0 + Int($1[r]) }
            let missing = p.counts[r] - known
            guard missing > 0 else { continue }
            guard let typeName = p.types[r], let t = topo.typeIndex[typeName] else {
                warnings.append("\(req.key): placement \(p.display): \(missing) \(req.roles[r].name) instance(s) on GPU type \(p.types[r] ?? "unknown"), which no node has, could not be reserved")
                continue
            }
            let need = RoleNeed(role: r, gpus: max(1, req.roles[r].gpusPerInstance), types: [t], sigs: topo.eligibleSigs(req.roles[r].tolerations))
            let placed = topo.placeRole(domain, need, t, count: missing, used: &used)
            var got = 0
            for (node, c) in placed {
                p.nodes[node, default: [Int32](repeating: 0, count: req.roles.count)][r] += c
                got += Int(c)
            }
            if got > 0 { reserved[req.roles[r].name] = got }
            if got < missing {
                warnings.append("\(req.key): placement \(p.display): \(missing - got) of \(missing) \(req.roles[r].name) instance(s) not on any node could not be reserved: the domain has no room left")
            }
        }
        if !reserved.isEmpty {
            let text = Reasons.roles(reserved, order: req.roles.map(\.name), types: Dictionary(uniqueKeysWithValues: req.roles.indices.compactMap { r in p.types[r].map { (req.roles[r].name, $0) } }), signed: false)
            groups[g].decisions.append(PlacementDecision(
                kind: .reserve, domain: p.display, level: p.level, roles: reserved,
                reason: "reserved \(text) in \(p.display): instances of the placement not yet bound to a node keep their GPUs before anything new is placed"))
        }
        groups[g].placements[i] = p
    }

    // MARK: Output

    func placementClass(_ p: PlacementState) -> SubgroupClass {
        var cls = -1
        for (node, counts) in p.nodes where counts.contains(where: { $0 > 0 }) {
            cls = max(cls, Int(topo.s1Class[Int(topo.nodeS1[Int(node)])]))
        }
        if cls >= 0 { return SubgroupClass(rank: cls) }
        if let c = p.statusClass { return c }
        guard let d = p.domain else { return .high }
        return SubgroupClass(rank: topo.s1Range(d).map { Int(topo.s1Class[$0]) }.max() ?? 0)
    }

    func output(_ g: GroupState) -> GroupPlan {
        let names = g.request.roles.map(\.name)
        var placements: [PlannedPlacement] = []
        var released: [PlannedPlacement] = []
        for p in g.placements {
            var roles: [String: RoleAllocation] = [:]
            var selectors: [String: [String: String]] = [:]
            for (r, name) in names.enumerated() where p.counts[r] > 0 {
                roles[name] = RoleAllocation(count: p.counts[r], gpuType: p.types[r])
                selectors[name] = topo.nodeSelector(p.domain, gpuType: p.types[r])
            }
            var removed: [String: Int] = [:]
            for (r, name) in names.enumerated() where p.removed[r] > 0 { removed[name] = p.removed[r] }
            let planned = PlannedPlacement(level: p.level, domain: p.display, subgroupPriority: placementClass(p), roles: roles,
                                           added: p.added, removed: removed, victims: p.victims, nodeSelectors: selectors)
            if !roles.isEmpty {
                placements.append(planned)
            } else if !removed.isEmpty {
                released.append(planned)
            }
        }
        placements.sort { ($0.level.depth, $0.domain) < ($1.level.depth, $1.domain) }
        released.sort { ($0.level.depth, $0.domain) < ($1.level.depth, $1.domain) }
        return GroupPlan(namespace: g.request.namespace, name: g.request.name, roleNames: names, placements: placements,
                         released: released, unschedulable: g.shortfalls, decisions: g.decisions)
    }
}

// MARK: - Domains

extension Topology {
    /// The domain a placement names, at its level.
    func resolve(_ level: AffinityDomain, _ name: String) -> DomainRef? {
        switch level {
        case .s1: s1ByDisplay[name].map { .s1(Int($0)) }
        case .s2: s2ByName[name].map { .s2(Int($0)) }
        case .cluster: name == "cluster" || name.isEmpty ? .cluster : nil
        }
    }

    func display(_ d: DomainRef) -> String {
        switch d {
        case .s1(let i): s1Display[i]
        case .s2(let j): s2Names[j]
        case .cluster: "cluster"
        }
    }

    func level(_ d: DomainRef) -> AffinityDomain {
        switch d {
        case .s1: .s1
        case .s2: .s2
        case .cluster: .cluster
        }
    }

    /// Allocatable GPUs of a type in a domain (free or not).
    func typeCapacity(_ d: DomainRef, _ t: Int) -> Int {
        var total = 0
        for s1 in s1Range(d) {
            for n in Int(s1NodeStart[s1])..<Int(s1NodeStart[s1 + 1]) where nodeType[n] == Int32(t) { total += Int(nodeCapacity[n]) }
        }
        return total
    }

    /// Node labels that select the domain's nodes of a GPU type (for a required node affinity).
    func nodeSelector(_ d: DomainRef?, gpuType: String?) -> [String: String] {
        var sel: [String: String] = [:]
        switch d {
        case .s1(let i)?:
            let s2 = Int(s1S2[i])
            if s2FromLabel[s2] { sel[labels.s2] = s2Names[s2] }
            if s1FromLabel[i] { sel[labels.s1] = s1Names[i] } else { sel[Node.Label.hostname] = s1Names[i] }
        case .s2(let j)?:
            if s2FromLabel[j] {
                sel[labels.s2] = s2Names[j]
            } else {
                return nodeSelector(.s1(Int(s2S1Start[j])), gpuType: gpuType)
            }
        case .cluster?, nil:
            break
        }
        if let gpuType, !gpuType.isEmpty {
            let primary = typeIndex[gpuType].map { typeFromPrimaryLabel[Int($0)] } ?? true
            sel[primary ? labels.gpuType : labels.gpuTypeFallback] = gpuType
        }
        return sel
    }
}
