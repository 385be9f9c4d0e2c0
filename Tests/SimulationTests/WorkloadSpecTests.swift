import Foundation
import Testing
import YAML

@testable import Simulation

@Suite struct WorkloadSpecTests {
    struct Scenario: Decodable { var workload: WorkloadSpec }

    static func stream(_ yaml: String) throws -> AnyRequestStream {
        try YAML.decode(Scenario.self, from: yaml).workload.makeStream(baseDirectory: Paths.repositoryRoot.path)
    }

    @Test func traceWithScalingAndCut() throws {
        var s = try Self.stream(
            """
            workload:
              trace: ../shared/data/AzureLLMInferenceTrace_code.csv
              timeScale: 0.5
              rateScale: 2
              duration: 300
            """)
        let out = try s.collect()
        var direct = try AzureTraceReader(path: Paths.sharedData("AzureLLMInferenceTrace_code.csv"))
        let early = try direct.collect().filter { $0.arrival < 600 }
        #expect(out.count == 2 * early.count)
        #expect(out.allSatisfy { $0.arrival < 300 })
    }

    @Test func phasesRunBackToBackWithTheirOwnSizes() throws {
        var s = try Self.stream(
            """
            workload:
              phases:
                - {arrivals: {kind: constant, rate: 4}, sizes: {constant: {prompt: 100, output: 50}}, duration: 10}
                - {arrivals: {kind: constant, rate: 2}, sizes: {constant: {prompt: 900, output: 5}}, duration: 20}
              seed: 3
            """)
        let out = try s.collect()
        let first = out.filter { $0.arrival < 10 }, second = out.filter { $0.arrival >= 10 }
        #expect(first.allSatisfy { $0.promptTokens == 100 && $0.outputTokens == 50 })
        #expect(second.allSatisfy { $0.promptTokens == 900 && $0.outputTokens == 5 && $0.arrival < 30 })
        #expect(abs(Double(first.count) - 40) < 20 && abs(Double(second.count) - 40) < 20, "\(first.count), \(second.count)")
        #expect(out.map(\.id) == Array(0..<out.count))
        #expect(zip(out, out.dropFirst()).allSatisfy { $0.arrival <= $1.arrival })
    }

    @Test func syntheticDiurnalWithFlashCrowdAndTraceSizes() throws {
        let yaml = """
            workload:
              arrivals:
                kind: diurnal
                peakRate: 20
                peakToTrough: 4
                period: 600
                flashCrowds: [{factor: 3, start: 100, duration: 50}]
              sizes: {fromTrace: ../shared/data/AzureLLMInferenceTrace_conv.csv}
              duration: 600
              seed: 7
            """
        var a = try Self.stream(yaml)
        var b = try Self.stream(yaml)
        let x = try a.collect()
        #expect(x == (try b.collect()))
        #expect(x.count > 5000 && x.count < 9000)  // mean rate 12.5 × 600 + flash-crowd extra
        #expect(x.allSatisfy { $0.arrival < 600 && $0.promptTokens <= 14_050 && $0.outputTokens <= 1000 })
        let spec = try YAML.decode(Scenario.self, from: yaml).workload
        let pattern = try #require(try spec.arrivals?.pattern(seed: 7))
        #expect(pattern.rate(at: 300) == 20 && pattern.rate(at: 120) > 3 * pattern.rate(at: 99) * 0.9)
    }

    @Test func defaultsAndOtherKinds() throws {
        var s = try Self.stream("workload: {arrivals: {kind: constant, rate: 5}, duration: 100, seed: 1}")
        let out = try s.collect()
        #expect(abs(out.count - 500) < 100)
        let rise = try YAML.decode(
            ArrivalSpec.self, from: "{kind: quickRise, from: 1, to: 10, start: 5, rampDuration: 5}"
        ).pattern()
        #expect(rise == .quickRise(from: 1, to: 10, start: 5, rampDuration: 5))
        let wave = try YAML.decode(ArrivalSpec.self, from: "{kind: piecewise, points: [{time: 0, rate: 1}, {time: 10, rate: 3}]}").pattern()
        #expect(wave.rate(at: 5) == 2)
        let fl = try YAML.decode(ArrivalSpec.self, from: "{kind: fluctuating, mean: 10, amplitude: 0.3, interval: 30}").pattern(seed: 4)
        #expect(fl == .fluctuating(mean: 10, amplitude: 0.3, interval: 30, seed: 4))
    }

    @Test(arguments: [
        ("workload: {duration: 10}", "workload: give exactly one of `trace`, `arrivals` and `phases`"),
        ("workload: {arrivals: {kind: constant}, duration: 5}", "workload.arrivals.rate: constant needs a non-negative number"),
        ("workload: {arrivals: {kind: constant, rate: 1}}", "workload.duration: a synthetic workload needs a duration"),
        ("workload: {arrivals: {kind: diurnal, peakRate: 4, peakToTrough: 0.5, period: 10}, duration: 5}",
         "workload.arrivals.peakToTrough: must be at least 1"),
        ("workload: {arrivals: {kind: constant, rate: 1}, duration: 5, sizes: {constant: {prompt: 1, output: 1}, fromTrace: x}}",
         "workload.sizes: give one of `constant`, `lognormal`, `fromTrace`"),
        ("workload: {arrivals: {kind: constant, rate: 1}, duration: 5, sizes: {lognormal: {prompt: {mean: 1, median: 2}, output: {mean: 2, median: 1}}}}",
         "workload.sizes.lognormal.prompt: needs mean ≥ median > 0"),
        ("workload: {phases: [{arrivals: {kind: constant, rate: 1}}]}", "workload.phases[0].duration: every phase needs a positive duration"),
        ("workload: {phases: [{arrivals: {kind: constant}, duration: 5}]}", "workload.phases[0].arrivals.rate: constant needs a non-negative number"),
        ("workload: {phases: [], duration: 5}", "workload.phases: give phases alone (no `trace` or `arrivals` beside them), at least one"),
    ])
    func specErrors(_ yaml: String, _ message: String) throws {
        let error = #expect(throws: WorkloadSpecError.self) { _ = try Self.stream(yaml) }
        #expect(error?.description == message)
    }
}
