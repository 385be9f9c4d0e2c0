import Foundation
import Placement
import Testing
import Metrics

@testable import Simulation

@Suite struct ClusterTests {
    /// Pools become labelled nodes: `nodesPerS1` nodes per S1 and `s1PerS2` S1s per S2; pools without them
    /// share one flat S1 (every pair of distinct nodes is then same-S1).
    @Test func poolsBecomeLabelledNodes() {
        let topo = Topology(nodes: ClusterSpec(nodePools: [
            NodePoolSpec(gpuType: "a", gpusPerNode: 8, count: 8, nodesPerS1: 2, s1PerS2: 2),
        ]).kubeNodes())
        #expect(topo.nodes.map(\.name) == (0..<8).map { "pool0-\($0)" })
        #expect(topo.locality("pool0-0", "pool0-0") == .sameNode)
        #expect(topo.locality("pool0-0", "pool0-1") == .sameS1)
        #expect(topo.locality("pool0-0", "pool0-2") == .sameS2)
        #expect(topo.locality("pool0-0", "pool0-4") == .across)
        #expect(topo.freeGPUs(gpuType: "a") == 64)
        let flat = Topology(nodes: ClusterSpec(nodePools: [NodePoolSpec(name: "x", gpuType: "a", count: 3), NodePoolSpec(name: "y", gpuType: "b", count: 2)]).kubeNodes())
        #expect(flat.locality("x-0", "x-2") == .sameS1)
        #expect(flat.locality("x-0", "y-1") == .sameS1)
    }

    /// `nodes:` entries carry their labels (with `gpuType`/`s1`/`s2` as shorthands); `count` numbers them.
    @Test func explicitNodesKeepTheirLabels() {
        let topo = Topology(nodes: ClusterSpec(nodes: [
            ClusterNodeSpec(name: "a", count: 2, gpus: 4, gpuType: "h100", s1: "m1", s2: "b1"),
            ClusterNodeSpec(name: "c", labels: ["heteroscale.io/gpu-type": "h20", "heteroscale.io/s1": "m2", "heteroscale.io/s2": "b1"]),
        ]).kubeNodes())
        #expect(topo.nodes.map { "\($0.name) \($0.gpuType) \($0.s1) \($0.s2) \($0.allocatable)" } == ["a-0 h100 m1 b1 4", "a-1 h100 m1 b1 4", "c h20 m2 b1 8"])
        #expect(topo.s2Domains.map(\.subgroupClass) == [.medium])
    }

    @Test func capacityLimitsInstancesPerGPUType() throws {
        // 16 GPUs of the type; 1 prefill + asking for 30 decode instances of 1 GPU → 15 fit.
        let sim = try Simulator(config: SimFixtures.config(prefill: 1, decode: 1), stream: RequestListStream([Request(id: 0, arrival: 5, promptTokens: 10, outputTokens: 2)]))
        try sim.schedule(pool: "d", replicas: 30, at: 1)
        _ = try sim.run()
        #expect(sim.pools[1].live.count == 15)
        #expect(sim.pools[1].unschedulable == 15)
        #expect(sim.topology.freeGPUs(gpuType: "gpu") == 0)
    }

    @Test func mixedInstancesServeWithoutTransfer() throws {
        var config = SimFixtures.config()
        config.pools = [PoolSpec(name: "m", role: .mixed, gpuType: "gpu", model: "m", tensorParallel: 1, replicas: 2)]
        let r = try SimFixtures.run(config, SimFixtures.poisson(rate: 10, duration: 30))
        #expect(r.completed == r.arrived)
        #expect(r.tokensOut == r.tokensAsked)
        #expect(r.requests.allSatisfy { $0.prefillInstance == $0.decodeInstance })
    }

    @Test func instanceMetricsLookLikeVLLM() throws {
        let sim = try Simulator(config: SimFixtures.config(prefill: 1, decode: 1), stream: SimFixtures.poisson(rate: 5, duration: 20))
        _ = try sim.run()
        let decode = try #require(sim.instances.first { $0.role == .decode })
        let prefill = try #require(sim.instances.first { $0.role == .prefill })
        #expect(decode.generationTokensTotal + prefill.generationTokensTotal == sim.result.tokensOut)
        #expect(prefill.promptTokensTotal == sim.result.arrived * 500)
        // The exposition carries the same cumulative counters, under vLLM's names.
        let families = MetricSet(decode.exposition(model: "m"))
        #expect(families.lookup("vllm:generation_tokens_total")?.sum == Double(decode.generationTokensTotal))
        #expect(families.lookup("prompt_tokens_total")?.sum == Double(decode.promptTokensTotal))
        #expect(families.lookup("DCGM_FI_DEV_GPU_UTIL")?.type == .gauge)
        #expect(families.lookup("vllm:gpu_cache_usage_perc")?.name == "vllm:kv_cache_usage_perc")
    }

    @Test(arguments: [(0.5, 3.0), (0.9, 5.0), (0.1, 1.0)])
    func weightedPercentiles(q: Double, expected: Double) {
        #expect(weightedPercentile([(1, 1), (3, 3), (5, 1)], q) == expected)
    }

    /// The selection gives what a sort and a cumulative walk give, ties and repeated values included.
    @Test func weightedPercentilesMatchSorting() {
        var rng = SimRandom(seed: 3)
        for trial in 0..<300 {
            let n = 1 + rng.below(trial % 3 == 0 ? 8 : 400)
            let samples = (0..<n).map { _ in (Double(rng.below(trial % 2 == 0 ? 5 : 1000)) / 7, 1 + rng.below(4)) }
            let sorted = samples.sorted { $0.0 < $1.0 }
            let total = sorted.reduce(0) { $0 + $1.1 }
            let qs = [0, 0.01, 0.5, 0.9, 0.99, 1]
            let expected = qs.map { q -> Double in
                let rank = max(1, Int((q * Double(total)).rounded(.up)))
                var seen = 0
                for (v, w) in sorted {
                    seen += w
                    if seen >= rank { return v }
                }
                return sorted.last!.0
            }
            #expect(Simulation.weightedPercentiles(samples, qs) == expected)
        }
    }
}
