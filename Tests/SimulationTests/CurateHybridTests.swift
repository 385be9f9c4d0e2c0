import Autoscaling
import Foundation
import KubeAPI
@testable import Simulation
import Testing
import TestSupport
import YAML

/// The Hybrid strategy as a curation candidate: its variants are in the candidate list, its manifests are the
/// HeteroScale candidate's settings above the SLA candidate's floor and pass the controller's validation, and the
/// ranking treats it as any other policy.
@Suite struct CurateHybridTests {
    static let base = """
        profiles: [toy.yaml]
        model: toy-model
        roles: {prefill: {gpuTypes: [toy], gpusPerInstance: 1}, decode: {gpuTypes: [toy], gpusPerInstance: 1}}
        slo: {ttftMs: 3000, tbtMs: 100}
        workload: {arrivals: {kind: constant, rate: 1}, duration: 10}
        """

    /// Step 2's candidates: hybrid is among the defaults at the safety margin, searches its values as
    /// HeteroScale does, and runs beside a HeteroScale candidate of the same margins.
    @Test(arguments: [
        ("", ["heteroscale@0.8", "hybrid@0.8", "sla@60", "latency", "independent-tps@0.8", "hpa-gpu@70"]),
        ("safetyMargin: 0.75\npolicies: [{strategy: hybrid}]", ["hybrid@0.75"]),
        ("policies: [{strategy: hybrid, values: [0.7, 0.9, 0.7]}]", ["hybrid@0.7", "hybrid@0.9"]),
        ("policies: [{strategy: heteroscale, values: [0.7, 0.9]}, {strategy: hybrid, values: [0.7, 0.9]}]",
         ["heteroscale@0.7", "heteroscale@0.9", "hybrid@0.7", "hybrid@0.9"]),
    ])
    func theCandidateListIncludesTheHybridVariants(extra: String, expected: [String]) throws {
        let spec = try CurateSpec.parse(Self.base + "\n" + extra)
        #expect(CurateRunner.candidatePolicies(spec).map(\.name) == expected)
        #expect(CurateRunner.candidatePolicies(spec).filter { $0.name.hasPrefix("hybrid") }.allSatisfy { $0.strategy == .hybrid })
    }

    /// A toy curation with the hybrid alone recommends it; its PodAutoscaler decodes strictly as a Hybrid one,
    /// passes the controller's validation, carries the HeteroScale candidate's `heteroScale` at the same margin and
    /// the SLA candidate's `sla` (60 s, the derived profile), and shows in the tables, the CSV and `-o yaml`.
    @Test(arguments: [0.7, 0.9])
    func aRecommendedHybridRoundTripsThroughTheDecoderAndTheValidator(margin: Double) throws {
        let dir = try CurateTests.toyFolder("curate-hybrid", policies: "[{strategy: hybrid, values: [\(margin)]}]")
        defer { dir.cleanup() }
        let report = try CurateRunner.run(try CurateSpec.load(path: dir.path("curate.yaml")), baseDirectory: dir.url.path, jobs: 2)
        let best = report.recommended
        #expect(best.strategy == .hybrid)
        #expect(best.name == "hybrid@\(margin)")
        #expect(best.manifests.map { $0["kind"]?.stringValue } == ["DeploymentGroup", "PodAutoscaler"])
        // Through the emitted YAML and back, strictly.
        let documents = try YAML.loadAll(report.recommendedYAML)
        #expect(documents == best.manifests)
        let pa = try YAMLDocument(value: documents[1]).decode(PodAutoscaler.self, strict: true)
        #expect(pa.spec.strategy == .hybrid)
        #expect(Autoscaler.validate(pa.spec).isEmpty, "\(Autoscaler.validate(pa.spec))")
        #expect(pa.spec.hybrid == HybridSpec(floorLookaheadSeconds: 120))
        _ = try YAMLDocument(value: documents[0]).decode(DeploymentGroup.self, strict: true)
        // The same parts as the HeteroScale and SLA candidates.
        let performance = PerformanceModel(profiles: try HardwareProfile.fromYAML(path: dir.path("toy.yaml")))
        let hs = CuratePolicyFactory.manifests(.heteroscale, value: margin, targets: report.targets, service: "toy", model: "toy-model", performance: performance)
        let sla = CuratePolicyFactory.manifests(.sla, value: 60, targets: report.targets, service: "toy", model: "toy-model", performance: performance)
        #expect(documents[1]["spec"]?["heteroScale"] == hs[1]["spec"]?["heteroScale"])
        #expect(documents[1]["spec"]?["sla"] == sla[1]["spec"]?["sla"])
        #expect(documents[1]["spec"]?["sla"]?["profile"]?["decode"] != nil, "the floor plans from the derived profile")
        #expect(pa.spec.heteroScale?.targetDecodeTPSPerInstance == report.targets.decodeTarget(margin))
        #expect(documents[0] == hs[0], "the same DeploymentGroup as the HeteroScale candidate")
        // In the ranking table, the CSV and the recommendation line.
        #expect(report.text.contains("recommended: hybrid@\(margin)"))
        #expect(CurateReport.csv(CurateReport.policyHeader, report.policyRows).contains(",hybrid@\(margin),"))
        #expect(report.recommendedYAML.contains("scalingStrategy: Hybrid"))
    }

    static func result(_ name: String, _ strategy: CurateStrategy, attainment: Double, gpuHours: Double, tokensPerGPUHour: Double,
                       cost: Double) -> CuratePolicyResult {
        CuratePolicyResult(name: name, strategy: strategy, value: 0.8, manifests: [], attainment: attainment, intervalAttainment: attainment,
                           gpuHours: gpuHours, tokensPerGPUHour: tokensPerGPUHour, costPerMillionTokens: cost, ttftP90ms: 0, tbtP90ms: 0,
                           scalingActions: 0, unfinished: 0, feasible: attainment >= 0.95)
    }

    /// The ranking treats the hybrid as any policy: feasible ones by the objective (ties by GPU-hours, then
    /// name), then the infeasible ones by attainment.
    @Test(arguments: [
        // A feasible hybrid with the best objective wins.
        (CurateSpec.Objective.tokensPerGPU, [("hybrid@0.8", 0.99, 10.0, 900.0, 1.0), ("heteroscale@0.8", 0.99, 10.0, 800.0, 1.1), ("sla@60", 0.90, 5.0, 2000.0, 0.5)],
         ["hybrid@0.8", "heteroscale@0.8", "sla@60"]),
        // Cost objective: the cheaper HeteroScale first.
        (.costPerMillionTokens, [("hybrid@0.8", 0.99, 10.0, 900.0, 1.2), ("heteroscale@0.8", 0.99, 10.0, 800.0, 1.1)],
         ["heteroscale@0.8", "hybrid@0.8"]),
        // An infeasible hybrid after every feasible policy, before a worse infeasible one.
        (.tokensPerGPU, [("hybrid@0.8", 0.94, 8.0, 3000.0, 0.4), ("hpa-gpu@70", 1.0, 20.0, 500.0, 2.0), ("latency", 0.5, 4.0, 4000.0, 0.3)],
         ["hpa-gpu@70", "hybrid@0.8", "latency"]),
        // Equal objective: fewer GPU-hours first.
        (.tokensPerGPU, [("heteroscale@0.8", 0.99, 11.0, 900.0, 1.0), ("hybrid@0.8", 0.99, 10.0, 900.0, 1.0)],
         ["hybrid@0.8", "heteroscale@0.8"]),
    ] as [(CurateSpec.Objective, [(String, Double, Double, Double, Double)], [String])])
    func theRankingHandlesTheHybrid(objective: CurateSpec.Objective, rows: [(String, Double, Double, Double, Double)], expected: [String]) {
        let results = rows.map { r in
            Self.result(r.0, CurateStrategy(rawValue: String(r.0.split(separator: "@")[0]))!, attainment: r.1, gpuHours: r.2,
                        tokensPerGPUHour: r.3, cost: r.4)
        }
        #expect(CurateRunner.rank(results, objective: objective).map(\.name) == expected)
        #expect(CurateRunner.rank(results.reversed(), objective: objective).map(\.name) == expected)
    }
}
