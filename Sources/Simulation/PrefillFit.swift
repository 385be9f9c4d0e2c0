import Foundation

/// What one prefill iteration holds: its prompt tokens, the sum of each prompt's length squared (attention is
/// quadratic in each prompt's length, so 8 prompts of 512 tokens and one of 4,096 differ) and the number of
/// prompts. Built by the simulator's batch former one prompt at a time.
public struct PrefillBatch: Sendable, Hashable {
    /// Σ prompt tokens.
    public private(set) var tokens: Int = 0
    /// Σ prompt tokens² (a Double: 64 prompts of 32k tokens overflow nothing).
    public private(set) var squaredTokens: Double = 0
    /// Number of prompts.
    public private(set) var prompts: Int = 0

    /// An empty batch.
    public init() {}

    /// One prompt of `prompt` tokens.
    public init(prompt: Int) { add(prompt: prompt) }

    /// `count` prompts of `prompt` tokens each.
    public init(prompt: Int, count: Int) {
        tokens = prompt * count
        squaredTokens = Double(prompt) * Double(prompt) * Double(count)
        prompts = count
    }

    /// Adds one prompt of `prompt` tokens.
    public mutating func add(prompt: Int) {
        tokens += prompt
        squaredTokens += Double(prompt) * Double(prompt)
        prompts += 1
    }

    public var isEmpty: Bool { prompts == 0 }
}

/// The prefill estimator of `PerformanceModel.load(csv:)`: from profiled points (N batch tokens, Q = Σ prompt²,
/// b prompts, median time T), fits `T ≈ L(N) + a·Q + c·b` with L free at every distinct N (the knots of the
/// base curve), an attention coefficient a ≥ 0 (seconds per squared prompt token) and a per-prompt cost c ≥ 0
/// (seconds), minimising the sum of squared *relative* errors Σ ((L(Nᵢ) + a·Qᵢ + c·bᵢ) / Tᵢ − 1)² (weights
/// 1/Tᵢ²: the acceptance criterion is relative). For fixed (a, c) the best L(N) is the weighted mean of
/// Tᵢ − a·Qᵢ − c·bᵢ over the points at N, so (a, c) come from the 2×2 weighted normal equations of the
/// within-N deviations; the non-negativity constraints are met by trying the active sets {a, c}, {a}, {c}, {}
/// and keeping the feasible one with the smallest sum of squares (ties: the earlier). Only points that share N
/// with another composition inform a and c; a table with one composition per N gets a = c = 0 (the old
/// batch-tokens-only model). Pure and deterministic (points are processed in N order).
public enum PrefillFit {
    /// One profiled prefill point.
    public struct Point: Sendable, Hashable {
        public var tokens: Int
        public var squaredTokens: Double
        public var prompts: Int
        public var seconds: Double
        public init(tokens: Int, squaredTokens: Double, prompts: Int, seconds: Double) {
            self.tokens = tokens
            self.squaredTokens = squaredTokens
            self.prompts = prompts
            self.seconds = seconds
        }
    }

    /// The fitted base curve (N → seconds), attention coefficient (s / token²) and per-prompt cost (s).
    public struct Result: Sendable, Hashable {
        public var base: PiecewiseLinear
        public var secondsPerSquaredToken: Double
        public var secondsPerPrompt: Double
    }

    /// Splits points into kept ones and failed runs: a point whose time is under half the largest time among
    /// points with fewer batch tokens (splitwise's llama2-70b TP2 64 × 512 runs: 360 and 794 ms for 32,768
    /// tokens after 2.4 and 6.6 s for 16,384) is a failed run.
    public static func dropFailedRuns(_ points: [Point]) -> (kept: [Point], failed: [Point]) {
        let sorted = points.sorted { ($0.tokens, $0.seconds) < ($1.tokens, $1.seconds) }
        var kept: [Point] = [], failed: [Point] = []
        var maxBelow = 0.0, runMax = 0.0, currentN = Int.min
        for p in sorted {
            if p.tokens != currentN {
                maxBelow = runMax
                currentN = p.tokens
            }
            if p.seconds < maxBelow / 2 { failed.append(p) } else { kept.append(p) }
            runMax = max(runMax, p.seconds)
        }
        return (kept, failed)
    }

    /// Fits the points (see the type's documentation). Points need positive times.
    public static func fit(_ points: [Point]) -> Result {
        precondition(!points.isEmpty, "a prefill fit needs points")
        var groups: [Int: [Point]] = [:]
        for p in points { groups[p.tokens, default: []].append(p) }
        let ns = groups.keys.sorted()
        // Weighted within-N deviations: x = Q − Q̄, z = b − b̄, y = T − T̄ (weights 1/T²).
        var sxx = 0.0, sxz = 0.0, szz = 0.0, sxy = 0.0, szy = 0.0
        for n in ns {
            let g = groups[n]!
            let w = g.map { 1 / ($0.seconds * $0.seconds) }
            let sw = w.reduce(0, +)
            let qm = zip(g, w).reduce(0.0) { $0 + $1.0.squaredTokens * $1.1 } / sw
            let bm = zip(g, w).reduce(0.0) { $0 + Double($1.0.prompts) * $1.1 } / sw
            let tm = zip(g, w).reduce(0.0) { $0 + $1.0.seconds * $1.1 } / sw
            for (p, wi) in zip(g, w) {
                let x = p.squaredTokens - qm, z = Double(p.prompts) - bm, y = p.seconds - tm
                sxx += wi * x * x
                sxz += wi * x * z
                szz += wi * z * z
                sxy += wi * x * y
                szy += wi * z * y
            }
        }
        func solve(_ useA: Bool, _ useC: Bool) -> (Double, Double)? {
            var a = 0.0, c = 0.0
            switch (useA, useC) {
            case (true, true):
                let det = sxx * szz - sxz * sxz
                guard det > 1e-9 * sxx * szz, det > 0 else { return nil }
                a = (sxy * szz - szy * sxz) / det
                c = (szy * sxx - sxy * sxz) / det
            case (true, false):
                guard sxx > 0 else { return nil }
                a = sxy / sxx
            case (false, true):
                guard szz > 0 else { return nil }
                c = szy / szz
            case (false, false): break
            }
            return a >= 0 && c >= 0 ? (a, c) : nil
        }
        func base(_ a: Double, _ c: Double) -> [(x: Double, y: Double)] {
            ns.map { n in
                let g = groups[n]!
                let w = g.map { 1 / ($0.seconds * $0.seconds) }
                let l = zip(g, w).reduce(0.0) { $0 + ($1.0.seconds - a * $1.0.squaredTokens - c * Double($1.0.prompts)) * $1.1 }
                return (x: Double(n), y: l / w.reduce(0, +))
            }
        }
        var best: (sse: Double, result: Result)?
        for (useA, useC) in [(true, true), (true, false), (false, true), (false, false)] {
            guard let (a, c) = solve(useA, useC) else { continue }
            let curve = base(a, c)
            let levels = Dictionary(uniqueKeysWithValues: curve.map { (Int($0.x), $0.y) })
            var sse = 0.0
            for p in points {
                let e = (levels[p.tokens]! + a * p.squaredTokens + c * Double(p.prompts)) / p.seconds - 1
                sse += e * e
            }
            if best == nil || sse < best!.sse - 1e-15 {
                best = (sse, Result(base: PiecewiseLinear(points: curve), secondsPerSquaredToken: a, secondsPerPrompt: c))
            }
        }
        return best!.result
    }
}
