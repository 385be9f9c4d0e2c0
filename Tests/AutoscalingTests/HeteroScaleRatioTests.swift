import Foundation
import Testing
@testable import Autoscaling

/// SplitMix64: a small seeded generator, so property tests are reproducible.
struct HeteroScaleTestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Standard normal by Box–Muller.
    mutating func gaussian() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

struct RatioApportionmentCase: Sendable, CustomTestStringConvertible {
    var label: String
    var weights: [Double]
    var mins: [Int]
    var maxs: [Int]
    var testDescription: String { label }
}

@Suite("RatioApportionment")
struct HeteroScaleRatioTests {
    static let cases: [RatioApportionmentCase] = [
        .init(label: "1:3, min 1 each", weights: [1, 3], mins: [1, 1], maxs: [Int.max, Int.max]),
        .init(label: "2:5, min 2/3, max 10/30", weights: [2, 5], mins: [2, 3], maxs: [10, 30]),
        .init(label: "1:1, max 5 on P", weights: [1, 1], mins: [0, 0], maxs: [5, 100]),
        .init(label: "1:3, min 4 on P", weights: [1, 3], mins: [4, 1], maxs: [20, 40]),
        .init(label: "1:2:1, three roles", weights: [1, 2, 1], mins: [1, 1, 0], maxs: [8, 50, 3]),
    ]

    @Test("every total 0…50 is split feasibly and within one instance of the ideal", arguments: cases)
    func totals(_ c: RatioApportionmentCase) {
        let roles = c.weights.indices.map {
            RatioApportionment.Role(name: "r\($0)", weight: c.weights[$0], minReplicas: c.mins[$0], maxReplicas: c.maxs[$0])
        }
        let sumMin = c.mins.reduce(0, +)
        let sumMax = c.maxs.reduce(0) { $0.addingReportingOverflow($1).overflow ? Int.max : $0 + $1 }
        let weightSum = c.weights.reduce(0, +)
        for total in 0...50 {
            let split = RatioApportionment.apportion(total: total, roles: roles)
            #expect(split.count == roles.count)
            for i in roles.indices {
                #expect(split[i] >= c.mins[i], "total \(total): role \(i) below its minimum")
                #expect(split[i] <= c.maxs[i], "total \(total): role \(i) above its maximum")
            }
            if total < sumMin {
                #expect(split == c.mins, "infeasible low total \(total) gives the minimums")
                continue
            }
            if total > sumMax {
                #expect(split == c.maxs, "infeasible high total \(total) gives the maximums")
                continue
            }
            #expect(split.reduce(0, +) == total, "total \(total): \(split)")
            let ideal = RatioApportionment.idealShares(total: total, roles: roles)
            #expect(abs(ideal.reduce(0, +) - Double(total)) < 1e-9)
            for i in roles.indices {
                #expect(abs(Double(split[i]) - ideal[i]) < 1, "total \(total): role \(i) \(split[i]) vs ideal \(ideal[i])")
            }
            // Where no bound binds, the ideal is the plain proportional share.
            let plain = c.weights.map { Double(total) * $0 / weightSum }
            if roles.indices.allSatisfy({ plain[$0] >= Double(c.mins[$0]) && plain[$0] <= Double(c.maxs[$0]) }) {
                for i in roles.indices { #expect(abs(Double(split[i]) - plain[i]) <= 1) }
            }
        }
    }

    struct Example: Sendable, CustomTestStringConvertible {
        var weights: [Double]
        var mins: [Int]? = nil
        var maxs: [Int]? = nil
        var total: Int
        var expected: [Int]
        var testDescription: String { "\(weights) total \(total) → \(expected)" }
    }

    @Test("hand-checked splits", arguments: [
        // 14·2/7 = 4, 14·5/7 = 10: exact.
        Example(weights: [2, 5], total: 14, expected: [4, 10]),
        // 10·1/4 = 2.5 and 7.5: equal remainders, the larger weight gets the spare instance.
        Example(weights: [1, 3], total: 10, expected: [2, 8]),
        // 3.33 each: one spare, equal remainders and weights → the first role.
        Example(weights: [1, 1, 1], total: 10, expected: [4, 3, 3]),
        // 1:3 of 4 is 1:3 — but P needs 2: P pinned at 2, D takes the other 2.
        Example(weights: [1, 3], mins: [2, 0], total: 4, expected: [2, 2]),
        // D capped at 6: D pinned, P takes the rest of 10.
        Example(weights: [1, 3], maxs: [100, 6], total: 10, expected: [4, 6]),
        // All-zero weights share equally.
        Example(weights: [0, 0], total: 5, expected: [3, 2]),
        // A zero-weight role stays at its minimum.
        Example(weights: [0, 1], mins: [1, 0], total: 7, expected: [1, 6]),
        Example(weights: [1, 3], total: 0, expected: [0, 0]),
    ])
    func examples(_ e: Example) {
        #expect(RatioApportionment.apportion(total: e.total, weights: e.weights, minimums: e.mins, maximums: e.maxs) == e.expected)
    }

    @Test("random weights and bounds: feasible totals always sum, respect bounds and stay within one of the ideal")
    func randomProperty() {
        var rng = HeteroScaleTestRNG(seed: 0xA11CE)
        for _ in 0..<2_000 {
            let n = Int.random(in: 1...4, using: &rng)
            let roles = (0..<n).map { i -> RatioApportionment.Role in
                let lo = Int.random(in: 0...5, using: &rng)
                let hi = lo + Int.random(in: 0...30, using: &rng)
                return .init(name: "r\(i)", weight: Double(Int.random(in: 0...8, using: &rng)) / 2, minReplicas: lo, maxReplicas: hi)
            }
            let total = Int.random(in: 0...80, using: &rng)
            let split = RatioApportionment.apportion(total: total, roles: roles)
            #expect(split == RatioApportionment.apportion(total: total, roles: roles), "deterministic")
            let sumMin = roles.reduce(0) { $0 + $1.minReplicas }
            let sumMax = roles.reduce(0) { $0 + $1.maxReplicas }
            for (r, s) in zip(roles, split) { #expect(s >= r.minReplicas && s <= r.maxReplicas) }
            guard total >= sumMin && total <= sumMax else { continue }
            #expect(split.reduce(0, +) == total)
            let ideal = RatioApportionment.idealShares(total: total, roles: roles)
            for i in 0..<n { #expect(abs(Double(split[i]) - ideal[i]) < 1, "\(roles) total \(total) → \(split), ideal \(ideal)") }
        }
    }
}
