import KubeAPI

/// Scale-in: which placements lose instances, and on which nodes.
///
/// Placements are emptied in this order: those whose domain is gone from the topology, then by class (high,
/// medium, low: the most precious capacity is given back first), then the one with the fewest instances, then
/// by domain name. A placement that keeps instances keeps every role it had (one instance of a role that would
/// drop to zero stays when a later placement can give that instance up instead), so no placement is left with
/// decode but no prefill, and a placement is not left far off the group's ratio when a later placement can give
/// the instances up instead (within one instance of its most represented role, in P/D units). The freed GPUs are not reused in the same cycle. Within a placement the instances go
/// from high-priority nodes first, then from the nodes holding the fewest of the placement's instances (whole
/// nodes are freed), then in topology order: the `victims` the controller marks with a low
/// `controller.kubernetes.io/pod-deletion-cost`.
extension SchedulingCycle {
    mutating func scaleIn(_ g: Int) {
        let req = groups[g].request
        let n = req.roles.count
        var remove = req.roles.map { max(0, -$0.delta) }
        let unit = groups[g].unit
        guard remove.contains(where: { $0 > 0 }) else { return }
        let order = groups[g].placements.indices.sorted { a, b in
            let x = groups[g].placements[a], y = groups[g].placements[b]
            let kx = (x.domain == nil ? 0 : 1, -placementClass(x).rank, x.total), ky = (y.domain == nil ? 0 : 1, -placementClass(y).rank, y.total)
            return kx != ky ? kx < ky : (x.level.depth, x.display) < (y.level.depth, y.display)
        }
        for (position, i) in order.enumerated() where remove.contains(where: { $0 > 0 }) {
            var p = groups[g].placements[i]
            let cls = placementClass(p)
            var take = (0..<n).map { min(p.counts[$0], remove[$0]) }
            guard take.contains(where: { $0 > 0 }) else { continue }
            var kept: [String] = []
            if (0..<n).contains(where: { p.counts[$0] - take[$0] > 0 }) {
                for r in 0..<n where req.roles[r].weight > 0 && p.counts[r] > 0 && take[r] == p.counts[r] {
                    let later = order[(position + 1)...].reduce(0) { $0 + groups[g].placements[$1].counts[r] }
                    if later >= remove[r] - take[r] + 1 {
                        take[r] -= 1
                        kept.append(req.roles[r].name)
                    }
                }
            }
            // Near the group's ratio: a role this placement would be left short of (against its most represented
            // role, in P/D units) gives up fewer instances here when later placements can give them up instead.
            var evened: [String] = []
            let left = (0..<n).map { p.counts[$0] - take[$0] }
            if left.contains(where: { $0 > 0 }) {
                let most = (0..<n).filter { unit[$0] > 0 }.map { Double(left[$0]) / Double(unit[$0]) }.max() ?? 0
                for r in 0..<n where unit[r] > 0 && take[r] > 0 {
                    let want = min(p.counts[r], Int((Double(unit[r]) * most).rounded(.down)))
                    let later = order[(position + 1)...].reduce(0) { $0 + groups[g].placements[$1].counts[r] }
                    let give = min(want - left[r], take[r], later - (remove[r] - take[r]))
                    if give > 0 {
                        take[r] -= give
                        evened.append(req.roles[r].name)
                    }
                }
            }
            guard take.contains(where: { $0 > 0 }) else { continue }
            var removed: [String: Int] = [:]
            var types: [String: String] = [:]
            for r in 0..<n where take[r] > 0 {
                p.counts[r] -= take[r]
                p.removed[r] += take[r]
                remove[r] -= take[r]
                removed[req.roles[r].name] = take[r]
                if let t = p.types[r] { types[req.roles[r].name] = t }
                p.victims += victims(&p, role: r, count: take[r], name: req.roles[r].name)
            }
            let released = p.total == 0
            groups[g].placements[i] = p
            let what = Reasons.roles(removed, order: req.roles.map(\.name), types: types, signed: false)
            var reason = released
                ? "released \(p.display) (\(p.level.rawValue), \(cls)): removed its \(what)"
                : "removed \(what) from \(p.display) (\(p.level.rawValue), \(cls))"
            if p.domain == nil {
                reason += ": its domain is no longer in the topology, so it goes first"
            } else {
                reason += ": \(cls)-priority capacity is released \(cls == .high ? "first" : cls == .medium ? "before low" : "last"), the smallest placement of a class first"
            }
            if !kept.isEmpty { reason += "; one \(kept.joined(separator: " and one ")) stays so that the placement keeps every role" }
            if !evened.isEmpty { reason += "; \(evened.joined(separator: " and ")) instances are taken from later placements instead, so this one stays near the group's ratio" }
            groups[g].decisions.append(PlacementDecision(kind: released ? .release : .shrink, domain: p.display, level: p.level,
                                                         roles: removed.mapValues { -$0 }, reason: reason))
        }
    }

    /// Takes `count` instances of role `r` off the placement's known nodes, in victim order, and returns them.
    func victims(_ p: inout PlacementState, role r: Int, count: Int, name: String) -> [NodeAssignment] {
        let nodes = p.nodes.filter { $0.value[r] > 0 }.keys.sorted { a, b in
            let ca = Int(topo.s1Class[Int(topo.nodeS1[Int(a)])]), cb = Int(topo.s1Class[Int(topo.nodeS1[Int(b)])])
            if ca != cb { return ca > cb }
            let ta = p.nodes[a]!.reduce(0, +), tb = p.nodes[b]!.reduce(0, +)
            return ta != tb ? ta < tb : a < b
        }
        var left = Int32(count)
        var out: [NodeAssignment] = []
        for node in nodes where left > 0 {
            let k = min(left, p.nodes[node]![r])
            p.nodes[node]![r] -= k
            if p.nodes[node]!.allSatisfy({ $0 == 0 }) { p.nodes[node] = nil }
            left -= k
            out.append(NodeAssignment(node: topo.nodeNames[Int(node)], role: name, gpuType: topo.gpuTypes[Int(topo.nodeType[Int(node)])], count: Int(k)))
        }
        return out
    }
}
