import Foundation
import Testing
@testable import Autoscaling

@Suite struct MetricWindowTests {
    @Test func linearAverageOverPresentBuckets() {
        var w = MetricWindow(windowSeconds: 5)
        #expect(w.average(at: refTime) == nil)
        w.record(1, at: refTime)
        w.record(2, at: after(1))
        w.record(3, at: after(2.9))
        #expect(w.average(at: after(2)) == 2)
        // No writes for two seconds: the average stays over the buckets with data.
        #expect(w.average(at: after(4)) == 2)
        // More than a window without data: empty.
        #expect(w.average(at: after(8)) == nil)
    }

    @Test func gapsInsideTheWindowCountAsZero() {
        var w = MetricWindow(windowSeconds: 5)
        w.record(1, at: refTime)
        w.record(3, at: after(3))
        #expect(w.average(at: after(3)) == 1)
    }

    @Test func ringWrapsAround() {
        var w = MetricWindow(windowSeconds: 3)
        for i in 0..<4 { w.record(Double(i + 1), at: after(Double(i))) }
        #expect(w.average(at: after(3)) == 3)
    }

    @Test func silenceForAWindowResets() {
        var w = MetricWindow(windowSeconds: 3)
        w.record(9, at: refTime)
        w.record(1, at: after(10))
        #expect(w.average(at: after(10)) == 1)
    }

    @Test func recordAddsAndSetReplaces() {
        var added = MetricWindow(windowSeconds: 10)
        added.record(5, at: refTime)
        added.record(7, at: after(0.5))
        #expect(added.average(at: refTime) == 12)
        var replaced = MetricWindow(windowSeconds: 10)
        replaced.set(5, at: refTime)
        replaced.set(7, at: after(0.5))
        #expect(replaced.average(at: refTime) == 7)
    }

    @Test func valuesOlderThanTheWindowAreDropped() {
        var w = MetricWindow(windowSeconds: 3)
        w.record(4, at: after(10))
        w.record(100, at: after(5))
        #expect(w.average(at: after(10)) == 4)
    }

    @Test func weightedExponential() {
        var w = MetricWindow(windowSeconds: 4, algorithm: .weightedExponential)
        // 4 buckets: coefficient 1 - 0.0001^(1/4) = 0.9.
        #expect(abs(w.smoothingCoefficient - 0.9) < 1e-12)
        for (i, v) in [10.0, 10, 5, 5].enumerated() { w.record(v, at: after(Double(i))) }
        let expected = 5 * 0.9 + 5 * 0.9 * 0.1 + 10 * 0.9 * 0.01 + 10 * 0.9 * 0.001
        #expect(abs(w.average(at: after(3))! - expected) < 1e-9)
        // One second later the newest bucket is an implicit 0 and the oldest left the window.
        let later = (5 * 0.9 + 5 * 0.9 * 0.1 + 10 * 0.9 * 0.01) * 0.1
        #expect(abs(w.average(at: after(4))! - later) < 1e-9)
    }

    @Test func largeWindowsUseTheMinimumExponent() {
        #expect(MetricWindow(windowSeconds: 600, algorithm: .weightedExponential).smoothingCoefficient == 0.2)
    }

    @Test func codableRoundTrip() throws {
        var w = MetricWindow(windowSeconds: 6)
        w.record(3, at: refTime)
        w.record(4, at: after(2))
        let data = try JSONEncoder().encode(w)
        let back = try JSONDecoder().decode(MetricWindow.self, from: data)
        #expect(back == w)
        #expect(back.average(at: after(2)) == w.average(at: after(2)))
    }

    struct MaxCase: CustomTestStringConvertible, Sendable {
        var records: [(Double, Double)]
        var expected: Double
        var testDescription: String { "\(records) → \(expected)" }
    }

    @Test(arguments: [
        MaxCase(records: [(0, 5), (2, 3)], expected: 5),
        MaxCase(records: [(0, 5), (10, 3)], expected: 3),
        MaxCase(records: [(0, 5), (8, 3)], expected: 5),
        MaxCase(records: [(0, 1), (2, 3), (4, 2)], expected: 3),
        MaxCase(records: [(0, 1), (0.5, 3), (1, 2)], expected: 3),
        MaxCase(records: [(0, 7), (2, 6), (4, 5), (12, 4)], expected: 5),
    ])
    func maxTimeWindow(_ c: MaxCase) {
        // 10 s at 2 s granularity: 5 slots.
        var w = MaxTimeWindow(durationSeconds: 10, granularitySeconds: 2)
        for (s, v) in c.records { w.record(v, at: after(s)) }
        #expect(w.current == c.expected)
    }
}
