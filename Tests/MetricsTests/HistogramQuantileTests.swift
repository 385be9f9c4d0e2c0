import Foundation
import Testing
@testable import Metrics

/// Reference cases from Prometheus' `promql/promqltest/testdata/histograms.test` (recalled from memory, then
/// every expected value recomputed by hand with `bucketQuantile`'s rule, shown next to each case).
@Suite struct HistogramQuantileTests {
    typealias B = HistogramSeries.Bucket
    /// `testhistogram_bucket{start="positive"}` at 50m: 0+5x10, 0+7x10, 0+11x10, 0+12x10 → 50, 70, 110, 120.
    static let positive = [B(upperBound: 0.1, count: 50), B(upperBound: 0.2, count: 70), B(upperBound: 1, count: 110), B(upperBound: .infinity, count: 120)]
    /// `{start="negative"}` at 50m: le -0.2: 10, -0.1: 20, 0.3: 20, +Inf: 30.
    static let negative = [B(upperBound: -0.2, count: 10), B(upperBound: -0.1, count: 20), B(upperBound: 0.3, count: 20), B(upperBound: .infinity, count: 30)]
    /// `sum by (le) (rate(request_duration_seconds_bucket[5m]))` × 300: le 0.1: 1+2+3+4, 0.2: 3+5+4+7, +Inf: 4+6+6+9.
    static let aggregated = [B(upperBound: 0.1, count: 10), B(upperBound: 0.2, count: 19), B(upperBound: .infinity, count: 25)]
    /// `… by (le, job)` for job2: 0.1: 3+4, 0.2: 4+7, +Inf: 6+9.
    static let job2 = [B(upperBound: 0.1, count: 7), B(upperBound: 0.2, count: 11), B(upperBound: .infinity, count: 15)]

    @Test(arguments: [
        // q < 0 → -Inf, q > 1 → +Inf.
        (-0.1, positive, -Double.infinity), (1.01, positive, Double.infinity),
        // q = 0: rank 0 in the first bucket; positive bound → interpolate from 0, non-positive → the bound.
        (0, positive, 0), (0, negative, -0.2),
        // q = 1: rank 120 only in +Inf → the last finite bound.
        (1, positive, 1), (1, negative, 0.3),
        // 0.2: rank 24 in (0, 0.1] of 50 → 0.048; negative: rank 6 in the first bucket, bound ≤ 0 → -0.2.
        (0.2, positive, 0.048), (0.2, negative, -0.2),
        // 0.5: rank 60 → 0.1 + 0.1 × 10/20 = 0.15; negative rank 15 → -0.2 + 0.1 × 5/10 = -0.15.
        (0.5, positive, 0.15), (0.5, negative, -0.15),
        // 0.8: rank 96 → 0.2 + 0.8 × 26/40 = 0.72; negative rank 24 > 20 → +Inf bucket → 0.3.
        (0.8, positive, 0.72), (0.8, negative, 0.3),
        // Aggregated: 0.3 → rank 7.5 → 0.1 × 7.5/10 = 0.075; 0.5 → rank 12.5 → 0.1 + 0.1 × 2.5/9.
        (0.3, aggregated, 0.075), (0.5, aggregated, 0.1 + 0.1 * 2.5 / 9),
        // By job: job2 at 0.3 → rank 4.5 → 0.1 × 4.5/7 = 0.0642857…
        (0.3, job2, 0.1 * 4.5 / 7),
    ] as [(Double, [B], Double)])
    func prometheusReference(_ q: Double, _ buckets: [B], _ expected: Double) {
        let v = HistogramQuantile.quantile(q, buckets: buckets)
        if expected.isInfinite { #expect(v == expected) } else { #expect(abs(v - expected) < 1e-12, "got \(v)") }
    }

    @Test(arguments: [
        ("no +Inf bucket", [B(upperBound: 1, count: 5)]),
        ("only +Inf", [B(upperBound: .infinity, count: 5)]),
        ("no observations", [B(upperBound: 1, count: 0), B(upperBound: .infinity, count: 0)]),
        ("empty", []),
    ] as [(String, [B])])
    func nanCases(_ name: String, _ buckets: [B]) {
        #expect(HistogramQuantile.quantile(0.9, buckets: buckets).isNaN, "\(name)")
        #expect(HistogramIncrease(buckets: buckets).quantile(0.9) == nil)
    }

    @Test func nanQuantileAndUnsortedDuplicateNonMonotonicBuckets() {
        #expect(HistogramQuantile.quantile(.nan, buckets: Self.positive).isNaN)
        // Unsorted, a duplicate bound (summed: 0.1 → 50) and a dip (0.2 → 40 made monotonic to 50).
        let messy = [B(upperBound: .infinity, count: 100), B(upperBound: 0.1, count: 20), B(upperBound: 0.2, count: 40), B(upperBound: 0.1, count: 30)]
        // Coalesced: 0.1: 50, 0.2: 50 (monotonic), +Inf: 100. q 0.25 → rank 25 → 0.1 × 25/50 = 0.05; q 0.9 → +Inf → 0.2.
        #expect(abs(HistogramQuantile.quantile(0.25, buckets: messy) - 0.05) < 1e-12)
        #expect(HistogramQuantile.quantile(0.9, buckets: messy) == 0.2)
    }

    @Test func mergedSumsByBoundAndMeans() {
        let a = HistogramIncrease(buckets: [B(upperBound: 0.1, count: 1), B(upperBound: .infinity, count: 2)], sum: 0.3, count: 2)
        let b = HistogramIncrease(buckets: [B(upperBound: .infinity, count: 2), B(upperBound: 0.1, count: 2)], sum: 0.1, count: 2)
        let m = HistogramIncrease.merged([a, b])
        #expect(m?.buckets == [B(upperBound: 0.1, count: 3), B(upperBound: .infinity, count: 4)])
        #expect(abs((m?.mean ?? 0) - 0.1) < 1e-12)
        #expect(HistogramIncrease.merged([]) == nil)
        #expect(HistogramIncrease(buckets: [], sum: 1, count: 0).mean == nil)
    }
}
