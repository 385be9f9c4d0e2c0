import KubeAPI

/// Splits a total number of instances over roles in proportion to their weights (the P/D ratio), keeping every
/// role inside its `[minReplicas, maxReplicas]`.
///
/// Two steps:
/// 1. **Bounded ideal shares.** The real-valued shares are `clamp(λ·weightᵢ, minᵢ, maxᵢ)` with the one `λ` that
///    makes them sum to the total. They are found exactly by repeatedly fixing the roles that violate a bound on
///    the side with the larger total violation (when the shares of the unfixed roles, `R·wᵢ/W`, push more
///    below the minimums than above the maximums, the final `λ` can only be smaller, so every role now below its
///    minimum stays there; and symmetrically) and sharing the rest among the others.
/// 2. **Largest remainder.** Fixed roles get their bound; free roles get `⌊shareᵢ⌋` and the instances left over
///    go one each to the largest fractional parts (ties: the larger weight, then the earlier role).
///
/// So when the total is feasible (`Σmin ≤ total ≤ Σmax`) the result sums to the total, stays within bounds,
/// and every role is within one instance of its bounded ideal share (strictly less than one away); when no
/// bound binds that share is simply `total·wᵢ/Σw`. An infeasible total returns all minimums (total too small)
/// or all maximums (total too large): bounds win over the total.
///
/// Weights must be finite and non-negative (negatives count as zero); if every weight is zero the roles share
/// equally. Deterministic: the same input always gives the same output.
public enum RatioApportionment {
    /// One role to apportion: its weight in the ratio and its replica bounds.
    public struct Role: Sendable, Hashable {
        public var name: String
        public var weight: Double
        public var minReplicas: Int
        public var maxReplicas: Int
        public init(name: String, weight: Double, minReplicas: Int = 0, maxReplicas: Int = Int.max) {
            self.name = name
            self.weight = weight
            self.minReplicas = minReplicas
            self.maxReplicas = maxReplicas
        }
    }

    /// A DeploymentGroup's `replicas` split over its roles: the one rule the DeploymentGroup controller, the
    /// simulator and replay share. A role with `replicas` set is pinned to it (within its bounds); the other roles
    /// split what is left of the total by weight (`apportion`: as exact a ratio as integers allow, each role within
    /// its bounds). A total below the roles' minimums gives the minimums: the total is raised to the smallest one
    /// that satisfies every role (`minimumTotal`).
    public static func split(_ group: DeploymentGroupSpec) -> [Int] {
        let pinned = group.roles.map { r in r.replicas.map { min(max($0, r.minReplicas ?? 0), r.maxReplicas ?? Int.max) } }
        let free = group.roles.indices.filter { pinned[$0] == nil }
        let rest = max(0, group.replicas - pinned.compactMap { $0 }.reduce(0, +))
        let shares = apportion(total: rest, roles: free.map { i in
            let r = group.roles[i]
            return Role(name: r.name, weight: r.weight, minReplicas: r.minReplicas ?? 0, maxReplicas: r.maxReplicas ?? Int.max)
        })
        var out = pinned.map { $0 ?? 0 }
        for (i, n) in zip(free, shares) { out[i] = n }
        return out
    }

    /// The smallest total that satisfies every role's minimum (pinned roles count with their pinned value).
    public static func minimumTotal(_ group: DeploymentGroupSpec) -> Int {
        group.roles.reduce(0) { sum, r in
            sum + (r.replicas.map { min(max($0, r.minReplicas ?? 0), r.maxReplicas ?? Int.max) } ?? max(0, r.minReplicas ?? 0))
        }
    }

    /// The integer split of `total` over `roles`, in the roles' order.
    public static func apportion(total: Int, roles: [Role]) -> [Int] {
        guard !roles.isEmpty else { return [] }
        let (shares, fixed) = boundedShares(total: total, roles: roles)
        let mins = roles.map { max(0, $0.minReplicas) }
        let maxs = roles.indices.map { max(mins[$0], roles[$0].maxReplicas) }
        let sumMin = mins.reduce(0, +)
        if total <= sumMin { return mins }
        if maxs.allSatisfy({ $0 < Int.max / max(1, roles.count) }) {
            let sumMax = maxs.reduce(0, +)
            if total >= sumMax { return maxs }
        }
        var result = [Int](repeating: 0, count: roles.count)
        var free: [Int] = []
        for i in roles.indices {
            if let bound = fixed[i] {
                result[i] = bound
            } else {
                // A share an ulp below an integer counts as that integer.
                result[i] = min(maxs[i], max(mins[i], Int((shares[i] + 1e-9).rounded(.down))))
                free.append(i)
            }
        }
        var left = total - result.reduce(0, +)
        let weights = normalisedWeights(roles.map(\.weight))
        let order = free.sorted { a, b in
            let fa = shares[a] - Double(result[a]), fb = shares[b] - Double(result[b])
            if fa != fb { return fa > fb }
            if weights[a] != weights[b] { return weights[a] > weights[b] }
            return a < b
        }
        // One pass hands out the leftover in remainder order; further passes only guard against rounding
        // pathologies (they never run for well-formed shares).
        while left > 0 {
            var gave = false
            for i in order where left > 0 && result[i] < maxs[i] {
                result[i] += 1
                left -= 1
                gave = true
            }
            if !gave { break }
        }
        while left < 0 {
            var took = false
            for i in order.reversed() where left < 0 && result[i] > mins[i] {
                result[i] -= 1
                left += 1
                took = true
            }
            if !took { break }
        }
        return result
    }

    /// Convenience: weights with optional bounds (missing bounds are 0 and unbounded).
    public static func apportion(total: Int, weights: [Double], minimums: [Int]? = nil, maximums: [Int]? = nil) -> [Int] {
        apportion(total: total, roles: weights.indices.map { i in
            Role(name: String(i), weight: weights[i], minReplicas: minimums?[i] ?? 0, maxReplicas: maximums?[i] ?? Int.max)
        })
    }

    /// The real-valued bounded ideal shares of `total` (step 1 above); they sum to the total when it is feasible.
    public static func idealShares(total: Int, roles: [Role]) -> [Double] {
        boundedShares(total: total, roles: roles).shares
    }

    /// Shares plus, for roles pinned to a bound, that bound.
    private static func boundedShares(total: Int, roles: [Role]) -> (shares: [Double], fixed: [Int?]) {
        let n = roles.count
        let weights = normalisedWeights(roles.map(\.weight))
        let mins = roles.map { max(0, $0.minReplicas) }
        let maxs = roles.indices.map { max(mins[$0], roles[$0].maxReplicas) }
        var fixed = [Int?](repeating: nil, count: n)
        var shares = [Double](repeating: 0, count: n)
        let totalD = Double(max(0, total))
        let sumMin = mins.reduce(0.0) { $0 + Double($1) }
        let sumMax = maxs.reduce(0.0) { $0 + Double($1) }
        if totalD <= sumMin {
            for i in 0..<n { fixed[i] = mins[i]; shares[i] = Double(mins[i]) }
            return (shares, fixed)
        }
        if totalD >= sumMax {
            for i in 0..<n { fixed[i] = maxs[i]; shares[i] = Double(maxs[i]) }
            return (shares, fixed)
        }
        while true {
            let free = (0..<n).filter { fixed[$0] == nil }
            if free.isEmpty { break }
            let remaining = totalD - (0..<n).reduce(0.0) { $0 + (fixed[$1].map(Double.init) ?? 0) }
            let freeWeight = free.reduce(0.0) { $0 + weights[$1] }
            for i in free {
                shares[i] = freeWeight > 0 ? remaining * weights[i] / freeWeight : remaining / Double(free.count)
            }
            var below = 0.0, above = 0.0
            for i in free {
                if shares[i] < Double(mins[i]) { below += Double(mins[i]) - shares[i] }
                if shares[i] > Double(maxs[i]) { above += shares[i] - Double(maxs[i]) }
            }
            if below == 0 && above == 0 { break }
            for i in free {
                if below >= above, shares[i] < Double(mins[i]) {
                    fixed[i] = mins[i]; shares[i] = Double(mins[i])
                } else if below < above, shares[i] > Double(maxs[i]) {
                    fixed[i] = maxs[i]; shares[i] = Double(maxs[i])
                }
            }
        }
        return (shares, fixed)
    }

    /// How far a split is from the weights' ratio: `max(countᵢ/wᵢ) / min(countᵢ/wᵢ) − 1` over the roles with a
    /// weight (instances per unit of weight, largest over smallest). 0 for an exact ratio; for a 2:3 group 3:4
    /// is 0.125 (the P/D ratio 0.75 is 12.5 % above 2/3), 3:5 is 0.111, 5:7 is 0.071; infinite when a weighted
    /// role has no instance.
    public static func ratioError(_ counts: [Int], weights: [Double]) -> Double {
        let w = normalisedWeights(weights)
        guard counts.count == w.count, counts.contains(where: { $0 > 0 }) else { return 0 }
        var lo = Double.infinity, hi = 0.0
        for (c, wi) in zip(counts, w) where wi > 0 {
            let perWeight = Double(max(0, c)) / wi
            lo = min(lo, perWeight)
            hi = max(hi, perWeight)
        }
        guard lo.isFinite, hi > 0 else { return 0 }
        return lo > 0 ? hi / lo - 1 : .infinity
    }

    /// Non-negative, finite weights; all-zero becomes all-one (equal split).
    private static func normalisedWeights(_ weights: [Double]) -> [Double] {
        let w = weights.map { $0.isFinite && $0 > 0 ? $0 : 0 }
        return w.contains { $0 > 0 } ? w : w.map { _ in 1 }
    }
}
