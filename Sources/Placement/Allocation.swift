/// Allocation on the nodes themselves (the chosen candidate of a request, or the reservation of existing
/// instances): inside a domain, S1 by S1, node by node.
///
/// Within a domain, a role's instances go to S1s in this order: the lowest class first (so high-priority
/// capacity is only taken when the lower classes are full); then an S1 that can hold all the instances still to
/// place (the smallest sufficient domain: a request that fits one S1 is not spread over two); then an S1 the
/// placement already uses, then one in an S2 it already uses (instances of a placement stay close); then the
/// tightest S1 that holds all (or, when none does, the one with the most free GPUs); then topology order. Within
/// an S1, each node is the best fit (the fewest free GPUs that still hold an instance; then the lower taint set;
/// then topology order) and is filled before the next.

/// Instances of one role placed on nodes.
struct RolePlacement: Sendable {
    var need: Int
    var type: Int32
    var nodes: [(node: Int32, count: Int32)]
}

extension Topology {
    /// The S1s inside a domain.
    func s1Range(_ d: DomainRef) -> Range<Int> {
        switch d {
        case .s1(let i): i..<(i + 1)
        case .s2(let j): Int(s2S1Start[j])..<Int(s2S1Start[j + 1])
        case .cluster: 0..<s1Count
        }
    }

    /// Instances of `g` GPUs of type `t` on the S1's nodes with a taint set in `sigs`.
    func s1Slots(_ s1: Int, _ t: Int32, _ sigs: [Int32], _ g: Int) -> Int {
        var total = 0
        for sig in sigs {
            let base = s1HistBase(s1, Int(t), Int(sig))
            for f in min(g, histWidth)..<histWidth where s1Hist[base + f] > 0 { total += Int(s1Hist[base + f]) * (f / g) }
        }
        return total
    }

    /// Places up to `count` instances of `need` on type `t` in domain `d` (see the order above) and returns where.
    /// `used` holds the S1s the placement already occupies; the S1s used here are added.
    mutating func placeRole(_ d: DomainRef, _ need: RoleNeed, _ t: Int32, count: Int, used: inout Set<Int32>) -> [(node: Int32, count: Int32)] {
        let g = need.gpus
        var remaining = count
        var out: [(node: Int32, count: Int32)] = []
        var usedS2 = Set(used.map { s1S2[Int($0)] })
        let range = s1Range(d)
        while remaining > 0 {
            var best = -1
            var bestKey = (Int.max, Int.max, Int.max, Int.max, Int.max)
            var bestSlots = 0
            for s1 in range {
                let free = Int(s1TypeFree[s1 * typeCount + Int(t)])
                guard free >= g else { continue }
                let slots = s1Slots(s1, t, need.sigs, g)
                guard slots > 0 else { continue }
                let holdsAll = slots >= remaining
                let key = (Int(s1Class[s1]) * 2 + (holdsAll ? 0 : 1),
                           used.contains(Int32(s1)) ? 0 : 1,
                           usedS2.contains(s1S2[s1]) ? 0 : 1,
                           holdsAll ? free - remaining * g : -free,
                           s1)
                if key < bestKey {
                    bestKey = key
                    best = s1
                    bestSlots = slots
                }
            }
            guard best >= 0 else { break }
            var take = min(bestSlots, remaining)
            remaining -= take
            used.insert(Int32(best))
            usedS2.insert(s1S2[best])
            while take > 0 {
                var node = -1
                var nodeKey = (Int32.max, Int.max)
                for n in Int(s1NodeStart[best])..<Int(s1NodeStart[best + 1]) where nodeType[n] == t && nodeFree[n] >= Int32(g) {
                    guard let rank = need.sigs.firstIndex(of: nodeSig[n]) else { continue }
                    let key = (nodeFree[n], rank)
                    if key < nodeKey {
                        nodeKey = key
                        node = n
                    }
                }
                guard node >= 0 else { break }
                let k = min(Int(nodeFree[node]) / g, take)
                setFree(node, nodeFree[node] - Int32(k * g))
                out.append((Int32(node), Int32(k)))
                take -= k
            }
        }
        return out
    }

    /// Places every need's count in `d` (each role on the first of its types with room for all its instances
    /// at that point), or nothing: on failure every node taken is given back and nil is returned.
    mutating func placeAll(_ d: DomainRef, _ needs: [RoleNeed], _ counts: [Int], used: inout Set<Int32>) -> [RolePlacement]? {
        var done: [RolePlacement] = []
        var usedHere = used
        for (k, need) in needs.enumerated() where counts[k] > 0 {
            guard let t = need.types.first(where: { domainSlots(d, need, $0) >= counts[k] }) else {
                undo(done, needs)
                return nil
            }
            let nodes = placeRole(d, need, t, count: counts[k], used: &usedHere)
            done.append(RolePlacement(need: k, type: t, nodes: nodes))
            if nodes.reduce(0, { $0 + Int($1.count) }) < counts[k] {
                undo(done, needs)
                return nil
            }
        }
        used = usedHere
        return done
    }

    /// Gives back what `placeAll` took.
    mutating func undo(_ placed: [RolePlacement], _ needs: [RoleNeed]) {
        for p in placed {
            for (n, c) in p.nodes {
                setFree(Int(n), min(nodeCapacity[Int(n)], nodeFree[Int(n)] + c * Int32(needs[p.need].gpus)))
            }
        }
    }
}
