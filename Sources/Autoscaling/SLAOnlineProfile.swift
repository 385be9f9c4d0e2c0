import Foundation

/// One observed operating point of a pool: the load each GPU carried and the latency it gave.
public struct LoadLatencyPair: Codable, Sendable, Hashable {
    /// Tokens per second per GPU (prefill: prompt tokens; decode: generated tokens).
    public var load: Double
    /// Latency in milliseconds (prefill: TTFT; decode: ITL).
    public var latencyMilliseconds: Double
    public init(load: Double, latencyMilliseconds: Double) {
        self.load = load
        self.latencyMilliseconds = latencyMilliseconds
    }
}

/// Throughput per GPU a pool sustains at a latency target, learned online from observed (load, latency)
/// pairs, for an SLA planner without a profile.
///
/// **Estimator.** Both a queue in front of a prefill server (M/M/1: `T = s / (1 − x/c)`) and a batched
/// decode step (`ITL = t₀ + t₁·batch`, with `x = batch / ITL` per GPU, so `ITL = t₀ / (1 − t₁·x)`) make the
/// *inverse* latency linear in the load per GPU:
///
///     1 / L = α − β·x
///
/// The estimator fits `α, β` by weighted least squares over the last `capacity` pairs, the pair `i` steps old
/// weighted `λⁱ` (forgetting factor λ = 0.95, a half-life of about 14 pairs), and answers the throughput at a
/// target latency `L*` as `x* = (α − 1/L*) / β`, clamped to `[0, extrapolationLimit × max observed x]` (1.5:
/// it never trusts the line far beyond the loads it has seen).
///
/// **When the line is not identified** (fewer than 4 pairs, loads spread over less than 10 % of the largest,
/// or `β ≤ 0`: latency did not grow with load), it answers the largest load per GPU observed with a latency
/// within the target (or, if none met it, the smallest observed load): what the pool has shown it sustains.
/// Before any pair it has no answer (`nil`) and the planner holds.
public struct OnlineCapacityEstimator: Codable, Sendable, Hashable {
    public static let defaultCapacity = 64
    public static let forgetting = 0.95
    public static let extrapolationLimit = 1.5
    static let minimumPairs = 4
    static let minimumSpread = 0.1

    /// The pairs kept, oldest first.
    public private(set) var pairs: [LoadLatencyPair] = []
    public private(set) var capacity: Int

    public init(capacity: Int = OnlineCapacityEstimator.defaultCapacity) {
        self.capacity = max(Self.minimumPairs, capacity)
    }

    /// Adds a pair; non-finite or non-positive values are ignored.
    public mutating func observe(load: Double, latencyMilliseconds: Double) {
        guard load.isFinite, load > 0, latencyMilliseconds.isFinite, latencyMilliseconds > 0 else { return }
        pairs.append(LoadLatencyPair(load: load, latencyMilliseconds: latencyMilliseconds))
        if pairs.count > capacity { pairs.removeFirst(pairs.count - capacity) }
    }

    /// The fitted line `1/L = α − β·x` (nil when not identified).
    public var fit: (alpha: Double, beta: Double)? {
        guard pairs.count >= Self.minimumPairs else { return nil }
        let loads = pairs.map(\.load)
        guard let hi = loads.max(), let lo = loads.min(), hi > 0, (hi - lo) >= Self.minimumSpread * hi else { return nil }
        var sw = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
        var w = 1.0
        for p in pairs.reversed() {
            let y = 1 / p.latencyMilliseconds
            sw += w; sx += w * p.load; sy += w * y; sxx += w * p.load * p.load; sxy += w * p.load * y
            w *= Self.forgetting
        }
        let mx = sx / sw, my = sy / sw
        let vxx = sxx / sw - mx * mx
        guard vxx > 0 else { return nil }
        let slope = (sxy / sw - mx * my) / vxx
        let beta = -slope
        guard beta > 0, beta.isFinite else { return nil }
        return (my + beta * mx, beta)
    }

    /// Throughput per GPU at `target` ms, and how it was found.
    public func throughput(atLatency target: Double) -> (value: Double, method: String)? {
        guard let maxLoad = pairs.map(\.load).max(), target > 0 else { return nil }
        if let (alpha, beta) = fit {
            let x = (alpha - 1 / target) / beta
            let limit = Self.extrapolationLimit * maxLoad
            if x.isFinite, x > 0 {
                return (min(x, limit), x > limit ? "fit, capped at \(HeteroScaleFormat.compact(Self.extrapolationLimit))× max seen" : "fit")
            }
        }
        let met = pairs.filter { $0.latencyMilliseconds <= target }.map(\.load)
        if let best = met.max() { return (best, "max seen within target") }
        return (pairs.map(\.load).min() ?? maxLoad, "min seen (target never met)")
    }
}

/// The SLA planner's learned profile: one estimator per pool (prefill at the TTFT target, decode at the ITL
/// target). Kept in `SLAState`.
public struct SLAOnlineProfile: Codable, Sendable, Hashable {
    public var prefill = OnlineCapacityEstimator()
    public var decode = OnlineCapacityEstimator()
    public init() {}
}
