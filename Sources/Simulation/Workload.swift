import Foundation

/// An arrival-rate function λ(t) in requests per second, t in seconds from the start of the workload.
public indirect enum ArrivalPattern: Sendable, Hashable {
    /// A homogeneous Poisson process.
    case constant(rate: Double)
    /// A day compressed to `period` seconds: a raised cosine between `peakRate / peakToTrough` and `peakRate`,
    /// peaking at `peakAt` seconds into each period (the trough half a period away).
    case diurnal(peakRate: Double, peakToTrough: Double, period: Double, peakAt: Double)
    /// `base` multiplied by `factor` during [start, start + duration).
    case flashCrowd(base: ArrivalPattern, factor: Double, start: Double, duration: Double)
    /// `from` until `start`, then a linear ramp to `to` over `rampDuration` seconds, then `to`.
    case quickRise(from: Double, to: Double, start: Double, rampDuration: Double)
    /// A level that jumps every `interval` seconds to a pseudo-random value uniform in
    /// [mean·(1−amplitude), mean·(1+amplitude)], deterministic in `seed` (λ(t) is a pure function).
    case fluctuating(mean: Double, amplitude: Double, interval: Double, seed: UInt64)
    /// Linear interpolation through (time, rate) points, constant outside them.
    case piecewise([RatePoint])
    /// `base` multiplied by `factor` everywhere.
    case scaled(ArrivalPattern, factor: Double)

    public struct RatePoint: Sendable, Hashable, Codable {
        public var time: Double
        public var rate: Double
        public init(time: Double, rate: Double) {
            self.time = time
            self.rate = rate
        }
    }

    /// λ(t).
    public func rate(at t: Double) -> Double {
        switch self {
        case .constant(let r): return r
        case .diurnal(let peak, let ratio, let period, let peakAt):
            let trough = peak / ratio
            let phase = 2 * Double.pi * (t - peakAt) / period
            return trough + (peak - trough) * (1 + cos(phase)) / 2
        case .flashCrowd(let base, let factor, let start, let duration):
            let r = base.rate(at: t)
            return t >= start && t < start + duration ? r * factor : r
        case .quickRise(let from, let to, let start, let ramp):
            if t < start { return from }
            if ramp <= 0 || t >= start + ramp { return to }
            return from + (to - from) * (t - start) / ramp
        case .fluctuating(let mean, let amplitude, let interval, let seed):
            let k = UInt64(bitPattern: Int64((t / interval).rounded(.down)))
            let h = SplitMix64.mix(seed ^ SplitMix64.mix(k &+ 0x5851_F42D_4C95_7F2D))
            let u = Double(h >> 11) * 0x1.0p-53
            return mean * (1 + amplitude * (2 * u - 1))
        case .piecewise(let points):
            guard let first = points.first, let last = points.last else { return 0 }
            if t <= first.time { return first.rate }
            if t >= last.time { return last.rate }
            var lo = 0
            var hi = points.count - 1
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if points[mid].time <= t { lo = mid } else { hi = mid }
            }
            let a = points[lo]
            let b = points[hi]
            return b.time == a.time ? b.rate : a.rate + (b.rate - a.rate) * (t - a.time) / (b.time - a.time)
        case .scaled(let base, let factor): return base.rate(at: t) * factor
        }
    }

    /// An upper bound of λ over all t (the thinning envelope).
    public var maxRate: Double {
        switch self {
        case .constant(let r): return r
        case .diurnal(let peak, _, _, _): return peak
        case .flashCrowd(let base, let factor, _, _): return base.maxRate * max(factor, 1)
        case .quickRise(let from, let to, _, _): return max(from, to)
        case .fluctuating(let mean, let amplitude, _, _): return mean * (1 + abs(amplitude))
        case .piecewise(let points): return points.map(\.rate).max() ?? 0
        case .scaled(let base, let factor): return base.maxRate * factor
        }
    }

    /// The mean of λ over [0, duration] (numerical, for reports and tests).
    public func meanRate(over duration: Double, steps: Int = 100_000) -> Double {
        var sum = 0.0
        for i in 0..<steps { sum += rate(at: (Double(i) + 0.5) * duration / Double(steps)) }
        return sum / Double(steps)
    }
}

/// A distribution of (prompt, output) token counts.
public enum TokenSizes: Sendable, Hashable {
    case constant(prompt: Int, output: Int)
    /// Independent lognormals with the given means and medians (mean > median), rounded and clamped.
    case lognormal(prompt: LogNormal, output: LogNormal)
    /// Joint (prompt, output) pairs drawn uniformly with replacement, e.g. a trace's requests (keeps their
    /// correlation).
    case empirical([TokenPair])
    /// Prompt and output sizes of a trace drawn independently with replacement (splitwise-sim's generator:
    /// each column sampled on its own, so the pairs' correlation is lost).
    case independent([TokenPair])

    public struct TokenPair: Sendable, Hashable {
        public var prompt: Int
        public var output: Int
        public init(prompt: Int, output: Int) {
            self.prompt = prompt
            self.output = output
        }
    }

    /// A lognormal given by its mean and median, rounded to an integer and clamped to [min, max].
    public struct LogNormal: Sendable, Hashable {
        public var mean: Double
        public var median: Double
        public var min: Int
        public var max: Int

        public init(mean: Double, median: Double, min: Int = 1, max: Int = .max) {
            precondition(median > 0 && mean >= median, "lognormal needs mean ≥ median > 0")
            self.mean = mean
            self.median = median
            self.min = min
            self.max = max
        }

        /// μ = ln(median), σ = sqrt(2·ln(mean/median)).
        public var mu: Double { log(median) }
        public var sigma: Double { (2 * log(mean / median)).squareRoot() }

        public func sample(_ rng: inout SimRandom) -> Int {
            let x = exp(mu + sigma * rng.normal())
            guard x.isFinite, x < Double(Int.max / 2) else { return max }
            return Swift.min(Swift.max(Int(x.rounded()), min), max)
        }
    }

    /// Loads the (prompt, output) pairs of a trace as an empirical distribution (memory: one pair per request).
    public static func empirical(from stream: some RequestStream) throws -> TokenSizes {
        var stream = stream
        var pairs: [TokenPair] = []
        while let r = try stream.next() { pairs.append(TokenPair(prompt: r.promptTokens, output: r.outputTokens)) }
        return .empirical(pairs)
    }

    /// The same distribution with prompt and output sampled independently (`.independent`); others unchanged.
    public var independentColumns: TokenSizes {
        if case .empirical(let pairs) = self { return .independent(pairs) }
        return self
    }

    public func sample(_ rng: inout SimRandom) -> TokenPair {
        switch self {
        case .constant(let p, let o): return TokenPair(prompt: p, output: o)
        case .lognormal(let p, let o): return TokenPair(prompt: p.sample(&rng), output: o.sample(&rng))
        case .empirical(let pairs):
            precondition(!pairs.isEmpty, "empty empirical token distribution")
            return pairs[rng.below(pairs.count)]
        case .independent(let pairs):
            precondition(!pairs.isEmpty, "empty empirical token distribution")
            let prompt = pairs[rng.below(pairs.count)].prompt
            return TokenPair(prompt: prompt, output: pairs[rng.below(pairs.count)].output)
        }
    }
}

/// A seeded synthetic workload: a non-homogeneous Poisson process (Lewis–Shedler thinning against
/// `pattern.maxRate`) with token sizes from `sizes`, ending at `duration` seconds (nil: unbounded — then a
/// pattern that stays at zero forever never yields again, so give a duration unless λ stays positive).
public struct SyntheticWorkload: RequestStream, Sequence, IteratorProtocol, Sendable {
    public let pattern: ArrivalPattern
    public let sizes: TokenSizes
    public let duration: Double?
    private var arrivals: SimRandom
    private var tokens: SimRandom
    private var time = 0.0
    private var nextID = 0
    private let envelope: Double

    public init(pattern: ArrivalPattern, sizes: TokenSizes, duration: Double?, seed: UInt64) {
        self.pattern = pattern
        self.sizes = sizes
        self.duration = duration
        var root = SimRandom(seed: seed)
        arrivals = root.fork()
        tokens = root.fork()
        envelope = pattern.maxRate
    }

    public mutating func next() -> Request? {
        guard envelope > 0 else { return nil }
        while true {
            time += arrivals.exponential(rate: envelope)
            if let duration, time >= duration { return nil }
            let accept = arrivals.uniform() * envelope < pattern.rate(at: time)
            if accept { break }
        }
        let size = sizes.sample(&tokens)
        defer { nextID += 1 }
        return Request(id: nextID, arrival: time, promptTokens: size.prompt, outputTokens: size.output)
    }
}
