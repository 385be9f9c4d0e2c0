import Foundation
import Placement
import Testing

@testable import Simulation

/// The two placement samples of issue 11, run shortened through the same code as `heteroscale simulate`:
/// what topology awareness buys (`pd-topology.yaml`) and what heterogeneous hardware saves
/// (`pd-hetero-cost.yaml`). Each claim is checked against a variant of the same scenario where it must not
/// hold, so a comparison that no longer depends on what it claims to show fails.
@Suite struct PlacementScenarioTests {
    static let base = Paths.repo("samples/simulation")

    /// A shipped sample with its arrivals cut to `seconds` (the rest of the scenario as shipped).
    static func sample(_ name: String, seconds: Double = 60) throws -> ScenarioSpec {
        var spec = try ScenarioSpec.load(path: Paths.repo("samples/simulation/\(name)"))
        spec.workload.duration = seconds
        return spec
    }

    static func run(_ spec: ScenarioSpec) throws -> [String: PolicyOutcome] {
        let outcomes = try ScenarioRunner.run(spec, baseDirectory: base)
        return Dictionary(uniqueKeysWithValues: outcomes.map { ($0.policy, $0) })
    }

    /// GPUs allocated to each pool at the first scrape (the groups are static, so this is every scrape's).
    static func gpus(_ o: PolicyOutcome) -> [String: Int] {
        let first = o.result.timeline.map(\.time).min()
        return Dictionary(o.result.timeline.filter { $0.time == first }.map { ($0.pool, $0.gpus) }, uniquingKeysWith: +)
    }

    // MARK: pd-topology.yaml

    /// Topology-aware placement keeps the group in one S2, so every KV transfer runs at the S2 bandwidth
    /// (25 GB/s); the blind spread sends them across big-pods, and the mean transfer takes longer. Same GPUs,
    /// same requests, same prefill work: TTFT (first token at the end of prefill) is the same.
    @Test func topologyAwareMovesKVFasterThanBlindAtEqualGPUs() throws {
        let o = try Self.run(try Self.sample("pd-topology.yaml"))
        let aware = try #require(o["topology-aware"]), blind = try #require(o["topology-blind"])
        #expect(Self.gpus(aware) == ["llama/prefill": 16, "llama/decode": 24])
        #expect(Self.gpus(aware) == Self.gpus(blind))
        #expect(aware.result.completed == blind.result.completed)
        #expect(aware.result.requestStats.kvTransfer.count > 100)

        #expect(aware.kvTransferMean < blind.kvTransferMean)
        #expect(aware.kvTransfer(0.9) < blind.kvTransfer(0.9))
        #expect(abs(aware.kvBandwidthGBps - 25) < 1e-9)
        #expect(blind.kvBandwidthGBps < aware.kvBandwidthGBps)
        // Prefill work is the same: TTFT's percentiles agree (single requests shift slightly, as the decode
        // side's timing feeds back into when KV-cache memory frees up).
        for q in [0.5, 0.9] {
            let a = aware.result.requestStats.ttft.quantile(q), b = blind.result.requestStats.ttft.quantile(q)
            #expect(abs(a - b) <= 0.01 * b, "TTFT p\(Int(q * 100)): aware \(a), blind \(b)")
        }
        // The aware placement is one S2-level placement of the whole group.
        let opened = aware.result.placementLog.filter { $0.kind == .open }
        #expect(opened.count == 1)
        #expect(opened.first?.reason.contains("(S2, medium)") == true)
    }

    /// The comparison is the placement's: with both policies blind the two runs are the same, and the
    /// strict "aware < blind" above would fail.
    @Test func theTopologyComparisonFailsWhenBothPoliciesAreBlind() throws {
        var spec = try Self.sample("pd-topology.yaml")
        for i in spec.policies.indices { spec.policies[i].placement = .topologyBlind }
        let o = try Self.run(spec)
        let a = try #require(o["topology-aware"]), b = try #require(o["topology-blind"])
        #expect(!(a.kvTransferMean < b.kvTransferMean))
        #expect(a.kvTransferMean == b.kvTransferMean)
    }

    // MARK: pd-hetero-cost.yaml

    /// H100 prefill + H20 decode serves the same requests at the same SLO for less per token than H100 only;
    /// the H100 fleet of (about) the hetero one's hourly budget misses the SLO.
    @Test func heteroCostsLessPerTokenThanHomogeneous() throws {
        // The full 300 s: the same-budget fleet's decode queue needs minutes to build up to its SLO misses.
        let o = try Self.run(try Self.sample("pd-hetero-cost.yaml", seconds: 300))
        let hetero = try #require(o["hetero"]), homo = try #require(o["homogeneous"])
        let budget = try #require(o["homogeneous-same-budget"])
        #expect(Self.gpus(hetero) == ["llama/prefill": 8, "llama/decode": 8])
        #expect(Self.gpus(homo) == Self.gpus(hetero))
        #expect(Self.gpus(budget) == ["llama/prefill": 8, "llama/decode": 4])
        #expect(hetero.result.promptTokensDone + hetero.result.tokensOut == homo.result.promptTokensDone + homo.result.tokensOut)
        #expect(hetero.requestSLOAttainment == 1 && homo.requestSLOAttainment == 1)
        #expect(budget.requestSLOAttainment < 0.5)

        let heteroCost = try #require(hetero.costPerMillionTokens), homoCost = try #require(homo.costPerMillionTokens)
        #expect(heteroCost < homoCost)
        // Mostly the price table: 8 decode GPUs at 1.35 instead of 2.99 per hour (+38 % per hour).
        #expect(homoCost / heteroCost > 1.3 && homoCost / heteroCost < 1.5)
    }

    /// The cost comparison follows the price table: with H20 priced above H100 the hetero fleet is the dearer
    /// one, and "hetero < homogeneous" fails.
    @Test func theCostComparisonFollowsThePriceTable() throws {
        var spec = try Self.sample("pd-hetero-cost.yaml")
        spec.prices = ["h100-80gb": 2.99, "h20": 4.5]
        let o = try Self.run(spec)
        let hetero = try #require(o["hetero"]?.costPerMillionTokens), homo = try #require(o["homogeneous"]?.costPerMillionTokens)
        #expect(!(hetero < homo))
        spec.prices = nil
        #expect(try Self.run(spec)["hetero"]?.costPerMillionTokens == nil)
    }

    // MARK: Decoding of the switches the samples use

    @Test(arguments: [
        ("placement: topologyBlind", ScenarioSpec.PlacementMode.topologyBlind),
        ("placement: topologyAware", .topologyAware),
    ])
    func thePlacementSwitchDecodes(line: String, mode: ScenarioSpec.PlacementMode) throws {
        let spec = try ScenarioSpec.parse(Self.minimal(top: line))
        #expect(spec.placement == mode)
    }

    @Test(arguments: [
        ("placement: blind", "placement"),
        ("prices: {h20: -1}", "prices.h20: must be zero or positive, got -1.0"),
        ("prices: {h20: cheap}", "prices"),
    ])
    func badSwitchesAreErrors(line: String, fragment: String) {
        #expect {
            _ = try ScenarioSpec.parse(Self.minimal(top: line))
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }

    static func minimal(top: String) -> String {
        """
        profiles: [../profiles/h100.yaml]
        model: llama2-70b
        \(top)
        workload: {arrivals: {kind: constant, rate: 1}, sizes: {constant: {prompt: 200, output: 20}}, duration: 10}
        slo: {ttftMs: 1000}
        policies:
          - name: p
            fixed: {promptInstances: 1, tokenInstances: 1, hardware: h100-80gb, tensorParallel: 4}
        """
    }
}
