import Foundation
import Testing
import TestSupport
import YAML

@testable import Simulation

@Suite struct StreamingStatsTests {
    /// Every quantile of the sketch is within its relative accuracy of the exact order statistic.
    @Test(arguments: [UInt64(1), 2, 3])
    func sketchQuantilesAreWithinTheRelativeAccuracy(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var sketch = QuantileSketch(accuracy: 0.005)
        var values: [Double] = []
        for _ in 0..<20_000 {
            // Latencies spanning five orders of magnitude, plus some zeros.
            let v = Double.random(in: 0..<1, using: &rng) < 0.01 ? 0 : exp(Double.random(in: -7...4, using: &rng))
            values.append(v)
            sketch.add(v)
        }
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let exact = percentile(values, q)
            let approx = sketch.quantile(q)
            #expect(abs(approx - exact) <= 0.005 * exact + 1e-12, "q \(q): \(approx) vs \(exact)")
        }
        #expect(sketch.count == 20_000)
        #expect(abs(sketch.mean - values.reduce(0, +) / 20_000) < 1e-9)
    }

    @Test func emptyAndConstantSketches() {
        #expect(QuantileSketch().quantile(0.9) == 0)
        var s = QuantileSketch()
        for _ in 0..<5 { s.add(0.25) }
        #expect(abs(s.quantile(0.5) - 0.25) <= 0.25 * 0.005)
        #expect(s.quantile(0) == 0.25 && s.quantile(1) == 0.25)
    }

    /// Streaming `requests.csv` writes exactly the rows the kept records give, and the summary from the
    /// sketches matches the exact one within the sketch's accuracy; SLO attainment is identical.
    @Test func streamedRequestsMatchKeptOnes() throws {
        let spec = try ScenarioSpec.parse(ScenarioTests.flashCrowd)
        let kept = try ScenarioRunner.run(spec, baseDirectory: ScenarioTests.base, policy: "kpa")[0]
        let dir = try TestDirectory("heteroscale-stream")
        defer { dir.cleanup() }
        let streamed = try ScenarioRunner.run(spec, baseDirectory: ScenarioTests.base, policy: "kpa", requests: .stream(to: dir.url.path))[0]
        #expect(streamed.result.requests.isEmpty && streamed.requestsStreamed)
        #expect(streamed.result.requestStats.count == kept.result.requests.count)
        #expect(streamed.requestSLOAttainment == kept.requestSLOAttainment)
        let file = try String(contentsOfFile: dir.path("kpa/requests.csv"), encoding: .utf8)
        #expect(file == ScenarioRunner.requestsCSV(kept))
        // Summary: same header, same request count, values within 0.5 % (sketch) of the exact ones.
        let exact = ScenarioRunner.summaryCSV(kept).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let approx = ScenarioRunner.summaryCSV(streamed).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(exact[0] == approx[0])
        #expect(exact[1][1] == approx[1][1])
        for (e, a) in zip(exact[1].dropFirst(2), approx[1].dropFirst(2)) {
            let ev = Double(e) ?? 0, av = Double(a) ?? 0
            #expect(abs(av - ev) <= 0.006 * abs(ev) + 1e-9, "\(a) vs \(e)")
        }
        // Writing the outcome does not overwrite the streamed file.
        try ScenarioRunner.write([streamed], to: dir.url.path)
        #expect(try String(contentsOfFile: dir.path("kpa/requests.csv"), encoding: .utf8) == file)
    }
}
