import Foundation

/// A time-bucketed metric window with Knative's `TimedFloat64Buckets` semantics (1 s buckets by default):
/// a ring of buckets covering `windowSeconds` and the first and last write. The average is linear over the
/// buckets that hold data since the first write (gaps inside the window count as 0, the time since the last
/// write is excluded), or weighted-exponential with Knative's smoothing coefficient.
///
/// Two deliberate differences from Knative, because here a missing metric is never a 0:
/// - the window is empty once a whole window has passed since the last write (Knative's `IsEmpty` uses `>`,
///   and its average returns 0 at exactly one window of silence, which would scale down on missing data);
/// - sums are recomputed from the buckets (Kahan-compensated), never kept as a running total, so one huge
///   value cannot leave the average broken after it leaves the window. Non-finite values are not recorded.
///
/// Value type, Codable: the controller keeps it in memory and the simulator copies it freely.
public struct MetricWindow: Codable, Sendable, Hashable {
    /// How the window averages its buckets.
    public enum Algorithm: String, Codable, Sendable, Hashable, CaseIterable {
        case linear
        case weightedExponential
    }

    /// Knative's constants for the weighted average.
    static let minExponent = 0.2
    static let weightPrecision = 0.9999

    public let windowSeconds: Double
    public let granularitySeconds: Int64
    public let algorithm: Algorithm
    private(set) var buckets: [Double]
    /// Bucket times (seconds since 1970, truncated to the granularity) of the first and last write.
    private(set) var firstWrite: Int64?
    private(set) var lastWrite: Int64?

    public init(windowSeconds: Double, granularitySeconds: Int64 = 1, algorithm: Algorithm = .linear) {
        let granularity = max(1, granularitySeconds)
        let window = max(Double(granularity), windowSeconds)
        self.windowSeconds = window
        self.granularitySeconds = granularity
        self.algorithm = algorithm
        buckets = Array(repeating: 0, count: Int((window / Double(granularity)).rounded(.up)))
    }

    /// Knative's decay: at least `weightPrecision` of the weight within the window, never below 0.2.
    public var smoothingCoefficient: Double {
        let nb = Double(buckets.count)
        return Swift.max(1 - pow(1 - Self.weightPrecision, 1 / nb), Self.minExponent)
    }

    private func bucketTime(_ date: Date) -> Int64 {
        let s = Int64(date.timeIntervalSince1970.rounded(.down))
        return Self.floorDiv(s, granularitySeconds) * granularitySeconds
    }

    private func index(_ bucketTime: Int64) -> Int {
        let n = Int64(buckets.count)
        let i = Self.floorDiv(bucketTime, granularitySeconds)
        return Int(((i % n) + n) % n)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Advances the ring to `bt` (zeroing skipped buckets, or resetting after a whole window of silence).
    /// Returns false when `bt` is more than a window older than the last write (the value is dropped).
    private mutating func advance(to bt: Int64) -> Bool {
        guard lastWrite != bt else { return true }
        if let lw = lastWrite, !(Double(bt) + windowSeconds > Double(lw)) { return false }
        if firstWrite == nil || firstWrite! > bt { firstWrite = bt }
        if lastWrite == nil || bt > lastWrite! {
            if lastWrite == nil || Double(bt - lastWrite!) >= windowSeconds {
                firstWrite = bt
                for i in buckets.indices { buckets[i] = 0 }
            } else {
                let g = granularitySeconds
                var t = lastWrite! + g
                while t <= bt {
                    buckets[index(t)] = 0
                    t += g
                }
            }
            lastWrite = bt
        }
        return true
    }

    /// Adds `value` to the bucket of `time` (Knative's `Record`: several values in one bucket add up, as
    /// per-pod samples of a revision do).
    public mutating func record(_ value: Double, at time: Date) {
        let bt = bucketTime(time)
        guard value.isFinite, advance(to: bt) else { return }
        buckets[index(bt)] += value
    }

    /// Replaces the value of the bucket of `time`: for totals observed once per decision, the latest
    /// observation within a bucket wins instead of adding up.
    public mutating func set(_ value: Double, at time: Date) {
        let bt = bucketTime(time)
        guard value.isFinite, advance(to: bt) else { return }
        buckets[index(bt)] = value
    }

    /// Sample-and-hold: sets `value` in the bucket of `time` and in every bucket since the last write, so an
    /// observation stands for the interval since the previous one. With one observation per bucket this is
    /// `set`; with a coarser decision period (2 s ticks, replay rows) the linear average becomes the time
    /// average instead of being diluted by empty buckets. A missed scrape is simply not recorded, and the next
    /// observation covers the gap (never a 0). After a window of silence only `time`'s bucket is set.
    public mutating func fill(_ value: Double, at time: Date) {
        let bt = bucketTime(time)
        guard value.isFinite else { return }
        guard let lw = lastWrite, bt > lw, Double(bt - lw) < windowSeconds else {
            set(value, at: time)
            return
        }
        var t = lw + granularitySeconds
        while t <= bt {
            set(value, at: Date(timeIntervalSince1970: Double(t)))
            t += granularitySeconds
        }
    }

    /// True when nothing was written within the window before `time`: a whole window (or more) has passed
    /// since the last write. (Knative's `IsEmpty` says `>`; at exactly one window its average is 0, which
    /// here would read as "no load" instead of "no data".)
    public func isEmpty(at time: Date) -> Bool {
        guard let lw = lastWrite else { return true }
        return Double(bucketTime(time) - lw) >= windowSeconds
    }

    /// The window average at `time`, or `nil` when the window holds no data.
    public func average(at time: Date) -> Double? {
        guard !isEmpty(at: time) else { return nil }
        switch algorithm {
        case .linear: return linearAverage(at: time)
        case .weightedExponential: return weightedAverage(at: time)
        }
    }

    private func linearAverage(at time: Date) -> Double {
        guard let lw = lastWrite, let fw = firstWrite else { return 0 }
        let now = bucketTime(time)
        let g = granularitySeconds
        let d = now - lw
        let written = Double((lw - fw) / g + 1)
        if d <= 0 {
            let numB = Swift.min(written, Double(buckets.count))
            return Self.round6(sum(endingAt: lw, count: buckets.count) / numB)
        } else if Double(d) < windowSeconds {
            // The buckets after the last write are excluded: they belong to the next lap of the ring.
            let skipped = Int(Self.floorDiv(now, g) - Self.floorDiv(lw, g))
            let numB = Swift.min(written, Double(buckets.count - skipped))
            return Self.round6(sum(endingAt: lw, count: buckets.count - skipped) / numB)
        }
        return 0
    }

    /// The compensated (Kahan–Babuška) sum of the `count` buckets ending at bucket time `last`.
    private func sum(endingAt last: Int64, count: Int) -> Double {
        var total = 0.0, compensation = 0.0
        var t = last
        for _ in 0..<Swift.max(0, count) {
            let v = buckets[index(t)]
            let next = total + v
            compensation += abs(total) >= abs(v) ? (total - next) + v : (v - next) + total
            total = next
            t -= granularitySeconds
        }
        return total + compensation
    }

    private func weightedAverage(at time: Date) -> Double {
        guard let lw = lastWrite else { return 0 }
        let now = bucketTime(time)
        let coeff = smoothingCoefficient
        var multiplier = coeff
        var numB = buckets.count
        if now > lw {
            let numZ = Int((now - lw) / granularitySeconds)
            multiplier *= pow(1 - coeff, Double(numZ))
            numB -= numZ
        }
        var ret = 0.0
        var t = lw
        var i = 0
        while i < numB {
            ret += buckets[index(t)] * multiplier
            multiplier *= 1 - coeff
            t -= granularitySeconds
            i += 1
        }
        return ret
    }

    /// Knative rounds linear averages down to 6 decimals; values too large to carry 6 decimals (|x| ≥ 2⁵³·1e-6)
    /// are returned as they are instead of overflowing.
    static func round6(_ x: Double) -> Double {
        guard x.isFinite, abs(x) < 9e9 else { return x }
        return (x * 1e6).rounded(.down) / 1e6
    }
}

/// Knative's `max.TimeWindow`: the maximum of the values recorded over the last `durationSeconds`, kept with
/// the ascending-minima algorithm over indices `unixSeconds / granularity`. Used for the KPA scale-down delay.
public struct MaxTimeWindow: Codable, Sendable, Hashable {
    public struct Entry: Codable, Sendable, Hashable {
        public var index: Int64
        public var value: Double
    }

    public let capacity: Int
    public let granularitySeconds: Int64
    /// Descending by value, ascending by index.
    private(set) var entries: [Entry]

    public init(durationSeconds: Double, granularitySeconds: Int64 = 2) {
        let g = max(1, granularitySeconds)
        self.granularitySeconds = g
        capacity = max(1, Int((durationSeconds / Double(g)).rounded(.up)))
        entries = []
    }

    public mutating func record(_ value: Double, at time: Date) {
        let index = MetricWindow.floorDiv(Int64(time.timeIntervalSince1970.rounded(.down)), granularitySeconds)
        var v = value
        while let last = entries.last, !(v < last.value) { entries.removeLast() }
        while let first = entries.first, index - first.index >= Int64(capacity) { entries.removeFirst() }
        if let last = entries.last, last.index == index {
            v = max(v, last.value)
            entries.removeLast()
        }
        entries.append(Entry(index: index, value: v))
    }

    /// The maximum over the window (0 before anything was recorded).
    public var current: Double { entries.first?.value ?? 0 }
}
