/// Lazy operations on request streams. Each wraps its base and holds O(1) requests (rate scaling holds the
/// copies of one request).
extension RequestStream {
    /// Multiplies arrival times by `factor` (2 stretches the trace to twice its length at half the rate).
    public func timeScaled(by factor: Double) -> TimeScaledStream<Self> {
        precondition(factor > 0, "time scale factor must be positive")
        return TimeScaledStream(base: self, factor: factor)
    }

    /// Multiplies the request rate by `factor` while keeping the time axis: each request is emitted
    /// ⌊factor⌋ times plus once more with probability frac(factor) (so 0.5 keeps about half). Extra copies
    /// get arrivals uniform between the request and the next one; ids are renumbered from 0. Seeded.
    public func rateScaled(by factor: Double, seed: UInt64) -> RateScaledStream<Self> {
        precondition(factor >= 0, "rate scale factor must be non-negative")
        return RateScaledStream(base: self, factor: factor, seed: seed)
    }

    /// Requests arriving before `duration` seconds.
    public func truncated(to duration: Double) -> TruncatedStream<Self> {
        TruncatedStream(base: self, duration: duration)
    }

    /// This stream, then `other` shifted to start `gap` seconds after this one's last arrival (other's own
    /// offset from 0 is kept); ids are renumbered from 0.
    public func followed<Other: RequestStream>(by other: Other, gap: Double = 0)
        -> ConcatenatedStream<Self, Other>
    {
        ConcatenatedStream(first: self, second: other, gap: gap)
    }

    /// Shifts all arrivals by `offset` seconds.
    public func shifted(by offset: Double) -> ShiftedStream<Self> { ShiftedStream(base: self, offset: offset) }
}

public struct TimeScaledStream<Base: RequestStream>: RequestStream {
    var base: Base
    let factor: Double
    public mutating func next() throws -> Request? {
        guard var r = try base.next() else { return nil }
        r.arrival *= factor
        return r
    }
}

public struct ShiftedStream<Base: RequestStream>: RequestStream {
    var base: Base
    let offset: Double
    public mutating func next() throws -> Request? {
        guard var r = try base.next() else { return nil }
        r.arrival += offset
        return r
    }
}

public struct TruncatedStream<Base: RequestStream>: RequestStream {
    var base: Base
    let duration: Double
    var done = false
    public mutating func next() throws -> Request? {
        guard !done, let r = try base.next(), r.arrival < duration else {
            done = true
            return nil
        }
        return r
    }
}

public struct RateScaledStream<Base: RequestStream>: RequestStream {
    var base: Base
    let factor: Double
    var rng: SimRandom
    /// The request whose copies are being emitted, and the one after it (lookahead for spacing).
    var current: Request?
    var lookahead: Request?
    var started = false
    var pending: [Request] = []
    var nextID = 0

    init(base: Base, factor: Double, seed: UInt64) {
        self.base = base
        self.factor = factor
        rng = SimRandom(seed: seed)
    }

    public mutating func next() throws -> Request? {
        while pending.isEmpty {
            if !started {
                started = true
                lookahead = try base.next()
            }
            guard let r = lookahead else { return nil }
            lookahead = try base.next()
            var copies = Int(factor.rounded(.down))
            if rng.uniform() < factor - Double(copies) { copies += 1 }
            guard copies > 0 else { continue }
            let span = max((lookahead?.arrival ?? r.arrival) - r.arrival, 0)
            pending.append(r)
            for _ in 1..<copies {
                var c = r
                c.arrival = r.arrival + rng.uniform() * span
                pending.append(c)
            }
            // Emit in arrival order: reverse-sorted so popLast gives the earliest.
            pending.sort { $0.arrival > $1.arrival }
        }
        var r = pending.removeLast()
        r.id = nextID
        nextID += 1
        return r
    }
}

public struct ConcatenatedStream<First: RequestStream, Second: RequestStream>: RequestStream {
    var first: First
    var second: Second
    let gap: Double
    var inSecond = false
    var lastArrival = 0.0
    var nextID = 0

    public mutating func next() throws -> Request? {
        var result: Request?
        if !inSecond {
            if let r = try first.next() {
                lastArrival = r.arrival
                result = r
            } else {
                inSecond = true
            }
        }
        if inSecond {
            guard var r = try second.next() else { return nil }
            r.arrival += lastArrival + gap
            result = r
        }
        result!.id = nextID
        nextID += 1
        return result
    }
}

/// Streams one after another, each shifted by its start offset (`WorkloadSpec.phases`); ids renumbered from 0.
public struct PhasedStream: RequestStream {
    var parts: [(stream: AnyRequestStream, offset: Double)]
    var index = 0
    var nextID = 0

    public init(parts: [(AnyRequestStream, Double)]) { self.parts = parts.map { (stream: $0.0, offset: $0.1) } }

    public mutating func next() throws -> Request? {
        while index < parts.count {
            if var r = try parts[index].stream.next() {
                r.arrival += parts[index].offset
                r.id = nextID
                nextID += 1
                return r
            }
            index += 1
        }
        return nil
    }
}
