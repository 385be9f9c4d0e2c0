/// Candidate evaluation without touching nodes: how a request would fit in a domain, computed on the domain's
/// histograms of nodes by free GPUs (per class, GPU type and taint set). Exact for feasibility (a histogram
/// holds the same multiset of free counts as the nodes) and for the class of the capacity consumed, which
/// follows the same rule as the allocation: low before medium before high, best fit (the node with the fewest
/// free GPUs that still fit) within a class.

/// A domain of the topology.
enum DomainRef: Hashable, Sendable {
    case s1(Int)
    case s2(Int)
    case cluster
}

/// One role of a request being placed: how many instances of how many GPUs, which types may serve it (in
/// preference order) and which taint sets it tolerates.
struct RoleNeed: Sendable {
    var role: Int
    var gpus: Int
    var types: [Int32]
    var sigs: [Int32]
}

/// Histograms modified during one evaluation (copies; the topology is not touched), and the GPU type the
/// evaluation chose per need. Reused from one evaluation to the next, so an evaluation allocates nothing.
struct HistScratch {
    private var keys: [Int] = []
    private var values: [Int32] = []
    private var width = 1
    /// The GPU type chosen per need by the last `estimate` (the first preference that fits the whole count).
    private(set) var chosen: [Int32] = []

    mutating func reset(width: Int, needs: Int) {
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        self.width = width
        chosen.removeAll(keepingCapacity: true)
        for _ in 0..<needs { chosen.append(-1) }
    }

    mutating func choose(_ t: Int32, for k: Int) { chosen[k] = t }

    @inline(__always) private func slot(_ base: Int) -> Int? {
        for i in keys.indices where keys[i] == base { return i * width }
        return nil
    }

    @inline(__always) func count(_ array: [Int32], _ base: Int, _ f: Int) -> Int32 {
        if let s = slot(base) { return values[s + f] }
        return array[base + f]
    }

    /// Instances of `g` GPUs the histogram at `base` can hold.
    func slots(_ array: [Int32], _ base: Int, _ g: Int) -> Int {
        var total = 0
        if let s = slot(base) {
            for f in min(g, width)..<width where values[s + f] > 0 { total += Int(values[s + f]) * (f / g) }
        } else {
            for f in min(g, width)..<width where array[base + f] > 0 { total += Int(array[base + f]) * (f / g) }
        }
        return total
    }

    /// The smallest free count ≥ g that some node has, or nil.
    func smallestFit(_ array: [Int32], _ base: Int, _ g: Int) -> Int? {
        if let s = slot(base) {
            for f in min(g, width)..<width where values[s + f] > 0 { return f }
        } else {
            for f in min(g, width)..<width where array[base + f] > 0 { return f }
        }
        return nil
    }

    /// Moves one node from free count `from` to `to`.
    mutating func move(_ array: [Int32], _ base: Int, from: Int, to: Int) {
        let s: Int
        if let existing = slot(base) {
            s = existing
        } else {
            s = keys.count * width
            keys.append(base)
            values.append(contentsOf: array[base..<(base + width)])
        }
        values[s + from] -= 1
        values[s + to] += 1
    }
}

extension Topology {
    func histArray(_ d: DomainRef) -> [Int32] {
        switch d {
        case .s1: s1Hist
        case .s2: s2Hist
        case .cluster: clHist
        }
    }

    /// The classes a domain has capacity of, lowest first.
    func classes(_ d: DomainRef) -> ClosedRange<Int> {
        switch d {
        case .s1(let i): Int(s1Class[i])...Int(s1Class[i])
        case .s2, .cluster: 0...2
        }
    }

    @inline(__always) func histBase(_ d: DomainRef, _ cls: Int, _ t: Int, _ sig: Int) -> Int {
        switch d {
        case .s1(let i): s1HistBase(i, t, sig)
        case .s2(let i): s2HistBase(i, cls, t, sig)
        case .cluster: clHistBase(cls, t, sig)
        }
    }

    /// Free GPUs of a type in a domain (every taint set).
    func typeFree(_ d: DomainRef, _ t: Int) -> Int {
        switch d {
        case .s1(let i): Int(s1TypeFree[i * typeCount + t])
        case .s2(let i): Int(s2TypeFree[i * typeCount + t])
        case .cluster: Int(clTypeFree[t])
        }
    }

    /// Instances of `need` (its type `t`) the domain can hold now.
    func domainSlots(_ d: DomainRef, _ need: RoleNeed, _ t: Int32) -> Int {
        let array = histArray(d)
        var total = 0
        for cls in classes(d) {
            for sig in need.sigs {
                let base = histBase(d, cls, Int(t), Int(sig))
                for f in min(need.gpus, histWidth)..<histWidth where array[base + f] > 0 { total += Int(array[base + f]) * (f / need.gpus) }
            }
        }
        return total
    }

    /// True when an S1 obviously cannot hold `counts` (some role has too few free GPUs of every allowed type).
    @inline(__always) func cannotHold(s1: Int, _ needs: [RoleNeed], _ counts: [Int]) -> Bool {
        let base = s1 * typeCount
        for k in needs.indices where counts[k] > 0 {
            let want = Int32(counts[k] * needs[k].gpus)
            var any = false
            for t in needs[k].types where s1TypeFree[base + Int(t)] >= want {
                any = true
                break
            }
            if !any { return true }
        }
        return false
    }

    /// How `counts` instances of each need would fit in `d`: the GPUs taken per class (low, medium, high), with the
    /// type chosen per need in `scratch.chosen`; nil when they do not all fit. Roles are taken in the needs'
    /// order; each gets the first of its types with room for all its instances.
    func estimate(_ d: DomainRef, _ needs: [RoleNeed], _ counts: [Int], _ scratch: inout HistScratch) -> (Int, Int, Int)? {
        scratch.reset(width: histWidth, needs: needs.count)
        let array = histArray(d)
        let classes = classes(d)
        var gpus = (0, 0, 0)
        for (k, need) in needs.enumerated() {
            let c = counts[k]
            guard c > 0 else { continue }
            let g = need.gpus
            var chosen: Int32 = -1
            search: for t in need.types {
                var slots = 0
                for cls in classes {
                    for sig in need.sigs {
                        slots += scratch.slots(array, histBase(d, cls, Int(t), Int(sig)), g)
                        if slots >= c {
                            chosen = t
                            break search
                        }
                    }
                }
            }
            guard chosen >= 0 else { return nil }
            scratch.choose(chosen, for: k)
            var remaining = c
            for cls in classes where remaining > 0 {
                while remaining > 0 {
                    var bestF = Int.max, bestBase = -1
                    for sig in need.sigs {
                        let base = histBase(d, cls, Int(chosen), Int(sig))
                        if let f = scratch.smallestFit(array, base, g), f < bestF {
                            bestF = f
                            bestBase = base
                        }
                    }
                    guard bestBase >= 0 else { break }
                    let take = min(bestF / g, remaining)
                    scratch.move(array, bestBase, from: bestF, to: bestF - take * g)
                    remaining -= take
                    switch cls {
                    case 0: gpus.0 += take * g
                    case 1: gpus.1 += take * g
                    default: gpus.2 += take * g
                    }
                }
            }
            if remaining > 0 { return nil }
        }
        return gpus
    }

    /// An upper bound on the instances of `need` the domain holds (free GPUs of its best type ÷ GPUs each).
    func roughSlots(_ d: DomainRef, _ need: RoleNeed) -> Int {
        need.types.map { typeFree(d, Int($0)) / need.gpus }.max() ?? 0
    }
}
