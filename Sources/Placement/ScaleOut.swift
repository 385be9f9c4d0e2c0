import KubeAPI

/// How good a candidate is; smaller is better in every field but `units`.
struct CandidateScore: Sendable {
    /// Whole P/D units placed (all of the request when it fits).
    var units: Int
    /// How far down the roles' GPU-type preference lists the candidate goes (0: every role gets its first
    /// choice). The paper's Algorithm 4 tries types in preference order and priority classes within a type, so a
    /// preferred type in any class beats a fallback type.
    var fallback: Int
    var high: Int
    var medium: Int
    /// 0 to grow an existing placement, 1 to open a new one.
    var opens: Int
    /// Free GPUs of the chosen types left in the domain.
    var slack: Int
    /// Topology order of the domain.
    var order: Int

    func isBetter(than o: CandidateScore) -> Bool {
        if units != o.units { return units > o.units }
        return (fallback, high, medium, opens, slack, order) < (o.fallback, o.high, o.medium, o.opens, o.slack, o.order)
    }
}

/// A place a request could go: an existing placement to grow, or a domain to open one in.
struct Candidate: Sendable {
    var domain: DomainRef
    var placement: Int?
    /// For a grown placement: the request's needs with the GPU types it keeps (its roles' types); nil for a
    /// new placement, which takes the request's needs as they are (no copy per domain: there are hundreds).
    var grownNeeds: [RoleNeed]?
}

extension SchedulingCycle {
    /// Type indices of a role's preferences that the topology has (every type when the role names none).
    func typeIDs(_ role: RoleRequest) -> [Int32] {
        role.gpuTypes.isEmpty ? topo.gpuTypes.indices.map(Int32.init) : role.gpuTypes.compactMap { topo.typeIndex[$0] }
    }

    /// The smallest whole-number vector with the weights' proportions (1:2 → 1, 2; 0.4:0.6 → 2, 3); roles with no
    /// weight get 0 (placed only with the whole request).
    static func unitVector(_ weights: [Double]) -> [Int] {
        let w = weights.map { $0.isFinite && $0 > 0 ? $0 : 0 }
        guard let smallest = w.filter({ $0 > 0 }).min() else { return w.map { _ in 1 } }
        for k in 1...1000 {
            let scaled = w.map { $0 * Double(k) }
            guard scaled.allSatisfy({ abs($0 - $0.rounded()) < 1e-6 }) else { continue }
            let ints = scaled.map { Int($0.rounded()) }
            let divisor = ints.filter { $0 > 0 }.reduce(0) { gcd($0, $1) }
            return ints.map { $0 / max(1, divisor) }
        }
        return w.map { $0 > 0 ? max(1, Int(($0 / smallest).rounded())) : 0 }
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    func order(_ d: DomainRef) -> Int {
        switch d {
        case .s1(let i), .s2(let i): i
        case .cluster: 0
        }
    }

    mutating func scaleOut(_ g: Int) {
        let req = groups[g].request
        var needs: [RoleNeed] = []
        var preferences = [[Int32]](repeating: [], count: req.roles.count)
        for (r, role) in req.roles.enumerated() where role.delta > 0 {
            preferences[r] = typeIDs(role)
            needs.append(RoleNeed(role: r, gpus: max(1, role.gpusPerInstance), types: preferences[r], sigs: topo.eligibleSigs(role.tolerations)))
        }
        guard !needs.isEmpty else { return }
        needs.sort { $0.gpus != $1.gpus ? $0.gpus > $1.gpus : $0.role < $1.role }
        let deltas = needs.map { req.roles[$0.role].delta }
        if options.topologyBlind {
            blindScaleOut(g, needs, deltas)
            return
        }
        let unit = groups[g].unit
        let u = needs.map { unit[$0.role] }
        let whole = zip(deltas, u).map { d, k in k > 0 ? (d + k - 1) / k : 1 }.max() ?? 1
        func counts(_ m: Int) -> [Int] { m >= whole ? deltas : zip(deltas, u).map { min($0, m * $1) } }

        // Candidates: grow each placement at the affinity level, or open one in any other domain of that level.
        // (A group has a handful of placements: a linear scan beats hashing every one of the 600+ S1s.)
        var candidates: [Candidate] = []
        var taken: [DomainRef] = []
        for (i, p) in groups[g].placements.enumerated() where p.level == req.affinity {
            guard let d = p.domain else { continue }
            taken.append(d)
            var n = needs
            for k in n.indices where p.counts[n[k].role] > 0 {
                n[k].types = p.types[n[k].role].flatMap { topo.typeIndex[$0] }.map { [$0] } ?? []
            }
            candidates.append(Candidate(domain: d, placement: i, grownNeeds: n))
        }
        let domainCount = switch req.affinity {
        case .s1: topo.s1Count
        case .s2: topo.s2Count
        case .cluster: 1
        }
        candidates.reserveCapacity(candidates.count + domainCount)
        for s in 0..<domainCount {
            let d: DomainRef = switch req.affinity {
            case .s1: .s1(s)
            case .s2: .s2(s)
            case .cluster: .cluster
            }
            if !taken.contains(d) { candidates.append(Candidate(domain: d, placement: nil, grownNeeds: nil)) }
        }
        func needsOf(_ c: Candidate) -> [RoleNeed] { c.grownNeeds ?? needs }

        // Every candidate that takes the whole request, else the ones that take the most whole units.
        let full = counts(whole)
        var scored: [(candidate: Int, score: CandidateScore)] = []
        for (ci, c) in candidates.enumerated() {
            let cn = needsOf(c)
            if case .s1(let s) = c.domain, topo.cannotHold(s1: s, cn, full) { continue }
            guard let gpus = topo.estimate(c.domain, cn, full, &scratch) else { continue }
            scored.append((ci, score(preferences, c, cn, scratch.chosen, gpus, full, units: whole)))
        }
        if scored.isEmpty && whole > 1 {
            var bestUnits = 1
            for (ci, c) in candidates.enumerated() {
                var upper = whole - 1
                let cn = needsOf(c)
                for k in cn.indices where u[k] > 0 { upper = min(upper, topo.roughSlots(c.domain, cn[k]) / u[k]) }
                guard upper >= bestUnits else { continue }
                var lo = 0, hi = upper
                while lo < hi {
                    let mid = (lo + hi + 1) / 2
                    if topo.estimate(c.domain, cn, counts(mid), &scratch) != nil { lo = mid } else { hi = mid - 1 }
                }
                guard lo >= 1, let gpus = topo.estimate(c.domain, cn, counts(lo), &scratch) else { continue }
                bestUnits = max(bestUnits, lo)
                scored.append((ci, score(preferences, c, cn, scratch.chosen, gpus, counts(lo), units: lo)))
            }
        }

        /// Places the candidate `scored[si]`; false when its nodes cannot take it after all.
        func attempt(_ si: Int, runnerUp: CandidateScore?) -> Bool {
            let s = scored[si]
            let c = candidates[s.candidate]
            var used = Set(c.placement.map { groups[g].placements[$0].nodes.keys.map { topo.nodeS1[Int($0)] } } ?? [])
            let want = counts(s.score.units)
            guard let placed = topo.placeAll(c.domain, needsOf(c), want, used: &used) else { return false }
            commit(g, c, placed, needs: needs, score: s.score, runnerUp: runnerUp, candidates: scored.count, whole: whole)
            var got = [Int](repeating: 0, count: needs.count)
            for p in placed { got[p.need] = p.nodes.reduce(0) { $0 + Int($1.count) } }
            for k in needs.indices where got[k] < deltas[k] {
                groups[g].shortfalls.append(shortfall(g, needs[k], short: deltas[k] - got[k], delta: deltas[k], placedIn: c.domain, needs: needs))
            }
            return true
        }
        // The best and the runner-up in one pass (ties: candidate order, as a stable sort would give); the full
        // order only when the best cannot be placed.
        var best = -1, second = -1
        for i in scored.indices {
            if best < 0 || scored[i].score.isBetter(than: scored[best].score) {
                second = best
                best = i
            } else if second < 0 || scored[i].score.isBetter(than: scored[second].score) {
                second = i
            }
        }
        if best >= 0 {
            if attempt(best, runnerUp: second >= 0 ? scored[second].score : nil) { return }
            let rest = scored.indices.filter { $0 != best }.sorted { a, b in
                scored[a].score.isBetter(than: scored[b].score) || (!scored[b].score.isBetter(than: scored[a].score) && a < b)
            }
            for (rank, si) in rest.enumerated() {
                if attempt(si, runnerUp: rank + 1 < rest.count ? scored[rest[rank + 1]].score : nil) { return }
            }
        }
        for k in needs.indices {
            groups[g].shortfalls.append(shortfall(g, needs[k], short: deltas[k], delta: deltas[k], placedIn: nil, needs: needs))
        }
        groups[g].decisions.append(PlacementDecision(
            kind: .unschedulable, domain: "", level: req.affinity,
            roles: Dictionary(uniqueKeysWithValues: needs.indices.map { (req.roles[needs[$0].role].name, 0) }),
            reason: groups[g].shortfalls.map { "\($0.role): \($0.reason)" }.joined(separator: "; ")))
    }

    /// `chosen`: the GPU type per need the estimate chose; `taken`: GPUs it takes per class (low, medium, high).
    func score(_ preferences: [[Int32]], _ c: Candidate, _ needs: [RoleNeed], _ chosen: [Int32], _ taken: (Int, Int, Int), _ counts: [Int],
               units: Int) -> CandidateScore {
        var gpus = 0
        var free = 0
        var fallback = 0
        var seen: [Int32] = []
        for k in needs.indices where counts[k] > 0 {
            gpus += counts[k] * needs[k].gpus
            let t = chosen[k]
            fallback += preferences[needs[k].role].firstIndex(of: t) ?? 0
            if !seen.contains(t) {
                seen.append(t)
                free += topo.typeFree(c.domain, Int(t))
            }
        }
        return CandidateScore(units: units, fallback: fallback, high: taken.2, medium: taken.1, opens: c.placement == nil ? 1 : 0,
                              slack: free - gpus, order: order(c.domain))
    }

    /// Records a chosen candidate's allocation in the group's placement and explains it.
    mutating func commit(_ g: Int, _ c: Candidate, _ placed: [RolePlacement], needs: [RoleNeed], score: CandidateScore,
                         runnerUp: CandidateScore?, candidates: Int, whole: Int) {
        let req = groups[g].request
        let n = req.roles.count
        var p = c.placement.map { groups[g].placements[$0] } ?? PlacementState(
            level: req.affinity, domain: c.domain, display: topo.display(c.domain), counts: [Int](repeating: 0, count: n),
            types: [String?](repeating: nil, count: n), isNew: true, removed: [Int](repeating: 0, count: n))
        var added: [String: Int] = [:]
        var types: [String: String] = [:]
        var fallbacks: [String] = []
        for rp in placed {
            let r = needs[rp.need].role
            let role = req.roles[r]
            let type = topo.gpuTypes[Int(rp.type)]
            p.types[r] = type
            types[role.name] = type
            for (node, count) in rp.nodes {
                p.counts[r] += Int(count)
                added[role.name, default: 0] += Int(count)
                p.nodes[node, default: [Int32](repeating: 0, count: n)][r] += count
                p.added.append(NodeAssignment(node: topo.nodeNames[Int(node)], role: role.name, gpuType: type, count: Int(count)))
            }
            if let first = role.gpuTypes.first, first != type, c.placement == nil || ((c.grownNeeds ?? needs)[rp.need].types.count > 1) {
                let skipped = role.gpuTypes.prefix { $0 != type }.joined(separator: ", ")
                fallbacks.append("\(role.name) falls back to \(type) (no room for \(skipped) there)")
            }
        }
        let grew = c.placement != nil
        if let i = c.placement { groups[g].placements[i] = p } else { groups[g].placements.append(p) }
        let cls = placementClass(p)
        let level = req.affinity
        let what = Reasons.roles(added, order: req.roles.map(\.name), types: types, signed: grew)
        var reason = grew
            ? "grew \(p.display) (\(level.rawValue), \(cls)) by \(what)"
            : "opened \(p.display) (\(level.rawValue), \(cls)) with \(what)"
        if score.units < whole && level == .cluster {
            reason += " (\(score.units) of \(whole) P/D units: the cluster has no room for the rest)"
        } else if score.units < whole {
            reason += " (\(score.units) of \(whole) P/D units: no one \(Reasons.levelNoun(level)) has room for all; a request is not split across \(Reasons.levelNoun(level))s in one cycle, so the rest waits for the next)"
        }
        reason += ": " + Reasons.why(score, runnerUp, level: level, candidates: candidates)
        if !fallbacks.isEmpty { reason += "; " + fallbacks.joined(separator: "; ") }
        groups[g].decisions.append(PlacementDecision(kind: grew ? .grow : .open, domain: p.display, level: level, roles: added, reason: reason))
    }

    /// Why `short` of `delta` instances of a need could not be placed.
    func shortfall(_ g: Int, _ need: RoleNeed, short: Int, delta: Int, placedIn: DomainRef?, needs: [RoleNeed]) -> Shortfall {
        let req = groups[g].request
        let role = req.roles[need.role]
        let typesText = role.gpuTypes.isEmpty ? "any GPU type" : role.gpuTypes.joined(separator: " or ")
        let head = "\(short) of \(delta) instance(s) (\(need.gpus) GPU\(need.gpus == 1 ? "" : "s") each, \(typesText))"
        func done(_ text: String) -> Shortfall { Shortfall(role: role.name, count: short, reason: "\(head) \(text)") }
        guard !need.types.isEmpty else { return done("do not fit: no node has GPU type \(typesText)") }
        let largest = need.types.map { Int(topo.typeLargestCapacity[Int($0)]) }.max() ?? 0
        if largest < need.gpus { return done("do not fit: no \(typesText) node has \(need.gpus) GPUs (the largest has \(largest))") }
        let anySigs = RoleNeed(role: need.role, gpus: need.gpus, types: need.types, sigs: topo.taintSets.indices.map(Int32.init))
        let tolerated = need.types.reduce(0) { $0 + topo.domainSlots(.cluster, need, $1) }
        if tolerated == 0 && need.types.reduce(0, { $0 + topo.domainSlots(.cluster, anySigs, $1) }) > 0 {
            let keys = Set(topo.taintSets.flatMap { $0 }.map(\.key)).sorted().joined(separator: ", ")
            return done("do not fit: the \(typesText) nodes with room have taints the role does not tolerate (\(keys))")
        }
        let level = req.affinity
        // The best domain: where the rest of the request went, else the one with the most free GPUs of the role's types.
        var best: DomainRef = .cluster
        if let placedIn {
            best = placedIn
        } else {
            var most = -1
            let count = switch level {
            case .s1: topo.s1Count
            case .s2: topo.s2Count
            case .cluster: 1
            }
            for i in 0..<count {
                let d: DomainRef = switch level {
                case .s1: .s1(i)
                case .s2: .s2(i)
                case .cluster: .cluster
                }
                var free = 0
                for t in need.types { free = max(free, topo.typeFree(d, Int(t))) }
                if free > most {
                    most = free
                    best = d
                }
            }
        }
        let bestType = need.types.max { topo.typeFree(best, Int($0)) < topo.typeFree(best, Int($1)) } ?? need.types[0]
        let free = topo.typeFree(best, Int(bestType))
        let typeName = topo.gpuTypes[Int(bestType)]
        let place = level == .cluster ? "the cluster" : "the best \(level.rawValue), \(topo.display(best)),"
        let never = level == .cluster ? "" : "; a placement is never split across \(Reasons.levelNoun(level))s"
        let alone = need.types.contains { topo.domainSlots(best, need, $0) >= short }
        if alone && needs.count > 1 {
            return done("do not fit with \(level.rawValue) affinity: no \(Reasons.levelNoun(level)) has room for a whole P/D unit of the group; \(place) has \(free) free \(typeName) GPUs, enough for this role alone\(never)")
        }
        let missing = short * need.gpus - free
        if missing > 0 {
            return done("do not fit with \(level.rawValue) affinity: \(place) has \(free) free \(typeName) GPU\(free == 1 ? "" : "s"), \(missing) short\(never)")
        }
        return done("do not fit with \(level.rawValue) affinity: \(place) has \(free) free \(typeName) GPUs but not \(need.gpus) together on enough nodes\(never)")
    }

    // MARK: Topology-blind

    /// Each instance on the node with the largest share of free GPUs of its type (first preference with any
    /// room), ties by a seeded hash of the node name: a default scheduler's spreading, ignoring the topology.
    mutating func blindScaleOut(_ g: Int, _ needs: [RoleNeed], _ deltas: [Int]) {
        let req = groups[g].request
        let n = req.roles.count
        let i = groups[g].placements.firstIndex { $0.level == .cluster } ?? {
            groups[g].placements.append(PlacementState(level: .cluster, domain: .cluster, display: "cluster",
                                                       counts: [Int](repeating: 0, count: n), types: [String?](repeating: nil, count: n),
                                                       isNew: true, removed: [Int](repeating: 0, count: n)))
            return groups[g].placements.count - 1
        }()
        var p = groups[g].placements[i]
        var added: [String: Int] = [:]
        var types: [String: String] = [:]
        for (k, need) in needs.enumerated() {
            let role = req.roles[need.role]
            var placed = 0
            let allowed = p.counts[need.role] > 0 ? (p.types[need.role].flatMap { topo.typeIndex[$0] }.map { [$0] } ?? []) : need.types
            while placed < deltas[k] {
                var chosen = -1
                var chosenType: Int32 = -1
                for t in allowed {
                    var bestKey = (0.0, UInt64.max)
                    for node in 0..<topo.nodeCount where topo.nodeType[node] == t && topo.nodeFree[node] >= Int32(need.gpus) && need.sigs.contains(topo.nodeSig[node]) {
                        let share = Double(topo.nodeFree[node]) / Double(topo.nodeCapacity[node])
                        let key = (share, Self.hash(options.seed, topo.nodeNames[node]))
                        if chosen < 0 || key.0 > bestKey.0 || (key.0 == bestKey.0 && key.1 < bestKey.1) {
                            bestKey = key
                            chosen = node
                        }
                    }
                    if chosen >= 0 {
                        chosenType = t
                        break
                    }
                }
                guard chosen >= 0 else { break }
                topo.setFree(chosen, topo.nodeFree[chosen] - Int32(need.gpus))
                let type = topo.gpuTypes[Int(chosenType)]
                p.types[need.role] = type
                p.counts[need.role] += 1
                p.nodes[Int32(chosen), default: [Int32](repeating: 0, count: n)][need.role] += 1
                p.added.append(NodeAssignment(node: topo.nodeNames[chosen], role: role.name, gpuType: type, count: 1))
                added[role.name, default: 0] += 1
                types[role.name] = type
                placed += 1
            }
            if placed < deltas[k] {
                groups[g].shortfalls.append(Shortfall(
                    role: role.name, count: deltas[k] - placed,
                    reason: "\(deltas[k] - placed) of \(deltas[k]) instance(s) (\(need.gpus) GPUs each) do not fit: no node has \(need.gpus) free GPUs of \(role.gpuTypes.isEmpty ? "any type" : role.gpuTypes.joined(separator: " or ")) (topology-blind placement)"))
            }
        }
        groups[g].placements[i] = p
        if !added.isEmpty {
            groups[g].decisions.append(PlacementDecision(
                kind: p.isNew ? .open : .grow, domain: "cluster", level: .cluster, roles: added,
                reason: "placed \(Reasons.roles(added, order: req.roles.map(\.name), types: types, signed: false)) on the nodes with the most free GPUs, ignoring the topology (topologyBlind)"))
        }
    }

    /// FNV-1a of the seed and a name: a deterministic, well-spread tie-breaker.
    static func hash(_ seed: UInt64, _ name: String) -> UInt64 {
        var h: UInt64 = 14_695_981_039_346_656_037
        var s = seed
        for _ in 0..<8 {
            h = (h ^ (s & 0xFF)) &* 1_099_511_628_211
            s >>= 8
        }
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 1_099_511_628_211 }
        return h
    }
}
