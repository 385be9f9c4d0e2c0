/// Prometheus' `histogram_quantile` over classic buckets (promql `bucketQuantile`): buckets with the same
/// bound are merged, counts are made monotonic, the rank `q·count` is located and the value interpolated
/// linearly within its bucket (from 0 for the first bucket when its bound is positive).
public enum HistogramQuantile {
    /// The `q`-quantile, or NaN where Prometheus gives NaN (no `+Inf` bucket, fewer than two buckets, no
    /// observations, `q` NaN). `q < 0` gives -Inf and `q > 1` +Inf. A rank in the `+Inf` bucket gives the
    /// upper bound of the last finite bucket.
    public static func quantile(_ q: Double, buckets input: [HistogramSeries.Bucket]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        var buckets = input.filter { !$0.upperBound.isNaN }.sorted { $0.upperBound < $1.upperBound }
        guard let last = buckets.last, last.upperBound == .infinity else { return .nan }
        buckets = coalesce(buckets)
        // Monotonic counts (a scrape may race with observations).
        var maxSoFar = -Double.infinity
        for i in buckets.indices {
            if buckets[i].count.isNaN { return .nan }
            maxSoFar = max(maxSoFar, buckets[i].count)
            buckets[i].count = maxSoFar
        }
        guard buckets.count >= 2 else { return .nan }
        let observations = buckets[buckets.count - 1].count
        guard observations > 0 else { return .nan }
        var rank = q * observations
        var b = 0
        while b < buckets.count - 1, buckets[b].count < rank { b += 1 }
        if b == buckets.count - 1 { return buckets[buckets.count - 2].upperBound }
        if b == 0, buckets[0].upperBound <= 0 { return buckets[0].upperBound }
        var bucketStart = 0.0
        let bucketEnd = buckets[b].upperBound
        var count = buckets[b].count
        if b > 0 {
            bucketStart = buckets[b - 1].upperBound
            count -= buckets[b - 1].count
            rank -= buckets[b - 1].count
        }
        return bucketStart + (bucketEnd - bucketStart) * (rank / count)
    }

    /// Sorted buckets with equal bounds summed.
    private static func coalesce(_ sorted: [HistogramSeries.Bucket]) -> [HistogramSeries.Bucket] {
        var out: [HistogramSeries.Bucket] = []
        out.reserveCapacity(sorted.count)
        for b in sorted {
            if let l = out.last, l.upperBound == b.upperBound {
                out[out.count - 1].count += b.count
            } else {
                out.append(b)
            }
        }
        return out
    }
}

/// How much a histogram grew between two scrapes: cumulative bucket increases (merged over label sets, and
/// over pods with `merged`), and the increases of `_sum` and `_count`.
public struct HistogramIncrease: Sendable, Hashable {
    public var buckets: [HistogramSeries.Bucket]
    public var sum: Double?
    public var count: Double?

    public init(buckets: [HistogramSeries.Bucket], sum: Double? = nil, count: Double? = nil) {
        self.buckets = buckets.sorted { $0.upperBound < $1.upperBound }
        self.sum = sum
        self.count = count
    }

    /// Observations in the interval: the `_count` increase, else the `+Inf` bucket's.
    public var observations: Double {
        count ?? buckets.last(where: { $0.upperBound == .infinity })?.count ?? 0
    }

    /// `Δsum / Δcount`; `nil` without observations.
    public var mean: Double? {
        guard let sum, let count, count > 0 else { return nil }
        let m = sum / count
        return m.isFinite ? m : nil
    }

    /// The `q`-quantile by bucket interpolation; `nil` where Prometheus gives NaN.
    public func quantile(_ q: Double) -> Double? {
        let v = HistogramQuantile.quantile(q, buckets: buckets)
        return v.isNaN ? nil : v
    }

    /// The sum by upper bound of several increases (Prometheus `sum by (le)`); `nil` for none.
    public static func merged(_ parts: [HistogramIncrease]) -> HistogramIncrease? {
        guard !parts.isEmpty else { return nil }
        var byBound: [Double: Double] = [:]
        var sum: Double? = 0, count: Double? = 0
        for p in parts {
            for b in p.buckets { byBound[b.upperBound, default: 0] += b.count }
            sum = p.sum.flatMap { s in sum.map { $0 + s } }
            count = p.count.flatMap { c in count.map { $0 + c } }
        }
        return HistogramIncrease(buckets: byBound.map { .init(upperBound: $0.key, count: $0.value) }, sum: sum, count: count)
    }
}
