import Foundation

/// A mergeable quantile sketch with relative accuracy (DDSketch's log-spaced buckets): any quantile of the
/// added values is returned within `±accuracy` relative error, in memory that grows with the logarithm of the
/// value range, never with the number of values — so a long simulation's latency percentiles cost kilobytes.
/// Values ≤ 0 are counted in a zero bucket.
public struct QuantileSketch: Sendable, Hashable {
    public let accuracy: Double
    private let gamma: Double
    private let logGamma: Double
    private var buckets: [Int: Int] = [:]
    private var zeros = 0
    public private(set) var count = 0
    public private(set) var sum = 0.0
    public private(set) var min = Double.infinity
    public private(set) var max = -Double.infinity

    public init(accuracy: Double = 0.005) {
        self.accuracy = accuracy
        gamma = (1 + accuracy) / (1 - accuracy)
        logGamma = log(gamma)
    }

    public mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        sum += value
        min = Swift.min(min, value)
        max = Swift.max(max, value)
        if value <= 0 {
            zeros += 1
        } else {
            buckets[Int((log(value) / logGamma).rounded(.up)), default: 0] += 1
        }
    }

    public var mean: Double { count > 0 ? sum / Double(count) : 0 }

    /// The `q` quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics, as numpy's default
    /// percentile, each order statistic within the relative accuracy; 0 when empty.
    public func quantile(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        if q <= 0 { return min }
        if q >= 1 { return max }
        let position = q * Double(count - 1)
        let lower = Int(position.rounded(.down))
        let fraction = position - Double(lower)
        let a = value(atRank: lower)
        guard fraction > 0, lower + 1 < count else { return a }
        return a + (value(atRank: lower + 1) - a) * fraction
    }

    /// The order statistic at `rank` (0-based), within the relative accuracy.
    func value(atRank rank: Int) -> Double {
        if rank < zeros { return Swift.min(0, max) }
        var seen = zeros
        for key in buckets.keys.sorted() {
            seen += buckets[key] ?? 0
            if seen > rank {
                // The bucket (γ^(k−1), γ^k] is represented by the point with equal relative error to both ends.
                let value = 2 * pow(gamma, Double(key)) / (gamma + 1)
                return Swift.min(max, Swift.max(min, value))
            }
        }
        return max
    }
}

/// Streaming statistics of finished requests: counts, SLO attainment and latency sketches (seconds).
public struct RequestStats: Sendable, Hashable {
    public var count = 0
    public var sloMet = 0
    public var ttft = QuantileSketch()
    public var tbt = QuantileSketch()
    public var response = QuantileSketch()
    public var queue = QuantileSketch()
    /// KV-transfer time of the requests that moved their cache (P/D), and the totals for the mean bandwidth.
    public var kvTransfer = QuantileSketch()
    public var kvBytes = 0.0
    public var kvSeconds = 0.0
    public init() {}

    public mutating func add(_ r: RequestRecord, meetsSLO: Bool) {
        count += 1
        if meetsSLO { sloMet += 1 }
        ttft.add(r.ttft)
        tbt.add(r.tbt)
        response.add(r.responseTime)
        queue.add(r.queueTime)
        if r.kvBytes > 0 {
            kvTransfer.add(r.kvTransferSeconds)
            kvBytes += r.kvBytes
            kvSeconds += r.kvTransferSeconds
        }
    }
}
