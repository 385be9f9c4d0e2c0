import Foundation
import Testing

@testable import Simulation

/// The diurnal + flash-crowd sample (samples/simulation/pd-conv-diurnal.yaml) with the HeteroScale and Hybrid
/// policies only: the flash-crowd window report, and the Hybrid's SLO attainment in the flash window at least
/// HeteroScale's.
@Suite struct HybridScenarioTests {
    static func run(policies: [String], configure: (inout ScenarioSpec) -> Void = { _ in }) throws -> [PolicyOutcome] {
        var spec = try ScenarioSpec.load(path: Paths.repo("samples/simulation/pd-conv-diurnal.yaml"))
        spec.policies = spec.policies.filter { policies.contains($0.name) }
        configure(&spec)
        return try ScenarioRunner.run(spec, baseDirectory: Paths.repo("samples/simulation"), requests: .statisticsOnly)
    }

    @Test func hybridMeetsTheFlashCrowdAtLeastAsWellAsHeteroScale() throws {
        // Compressed four times (the day in 900 s at the same request rates: time × 0.25, every fourth request),
        // so the flash crowd is at 750–825 s; the full day is the sample's run (docs/simulation.md).
        let outcomes = try Self.run(policies: ["heteroscale", "hybrid"]) {
            $0.workload.timeScale = 0.25
            $0.workload.rateScale = 0.25
        }
        let hs = try #require(outcomes.first { $0.policy == "heteroscale" })
        let hybrid = try #require(outcomes.first { $0.policy == "hybrid" })
        for o in outcomes {
            let w = try #require(o.result.windows.first)
            #expect(w.window == ReportWindow(name: "flash[0]", start: 750, end: 825))
            #expect(w.completed > 500, "\(o.policy): \(w.completed) flash-crowd requests finished")
        }
        let hsFlash = hs.result.windows[0].sloAttainment, hybridFlash = hybrid.result.windows[0].sloAttainment
        #expect(hybridFlash >= hsFlash, "hybrid \(hybridFlash) vs heteroscale \(hsFlash)")
        #expect(hybridFlash >= 0.99)
        // The report: a comparison column pair per window and a summary block naming both policies.
        let csv = ScenarioRunner.comparisonCSV(outcomes)
        #expect(csv.hasPrefix(ScenarioRunner.comparisonColumns.joined(separator: ",") + ",flash0_slo_attainment,flash0_completed\n"))
        let report = ScenarioRunner.flashCrowdReport(outcomes)
        #expect(report.contains("Flash crowd flash[0] (arrivals 750–825 s)"))
        #expect(report.contains("hybrid") && report.contains("heteroscale"))
    }

    /// The window counts exactly the finished requests that arrived in it (a constant 2 req/s with a crowd ×3).
    @Test func flashWindowCountsItsArrivalsOnly() throws {
        let spec = try ScenarioSpec.parse("""
            profiles: [../profiles/h100.yaml]
            model: llama2-70b
            cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 4}]}
            workload:
              arrivals: {kind: constant, rate: 2, flashCrowds: [{factor: 3, start: 20, duration: 10}]}
              sizes: {constant: {prompt: 200, output: 20}}
              duration: 60
            seed: 5
            slo: {ttftMs: 60000, tbtMs: 1000}
            policies:
              - name: fixed
                fixed: {promptInstances: 2, tokenInstances: 2, hardware: h100-80gb, tensorParallel: 4}
            """)
        let outcomes = try ScenarioRunner.run(spec, baseDirectory: Paths.repo("samples/simulation"))
        let r = try #require(outcomes.first).result
        let inWindow = r.requests.filter { $0.arrival >= 20 && $0.arrival < 30 }
        #expect(r.windows.count == 1)
        #expect(r.windows[0].completed == inWindow.count)
        #expect(r.windows[0].sloMet == inWindow.count)
        #expect(inWindow.count > 40)
    }
}
