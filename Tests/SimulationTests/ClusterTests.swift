import Foundation
import Testing

@testable import Simulation

@Suite struct ClusterTests {
    @Test func topologyLocalities() {
        var c = ClusterState(ClusterSpec(nodePools: [
            NodePoolSpec(gpuType: "a", gpusPerNode: 8, count: 8, nodesPerS1: 2, s1PerS2: 2),
        ]))
        #expect(c.locality(0, 0) == .sameNode)
        #expect(c.locality(0, 1) == .sameS1)
        #expect(c.locality(0, 2) == .sameS2)
        #expect(c.locality(0, 4) == .across)
        #expect(c.capacity(gpuType: "a") == 64)
        // Best fit keeps whole instances on one node.
        #expect(c.allocate(gpuType: "a", gpus: 6) == 0)
        #expect(c.allocate(gpuType: "a", gpus: 2) == 0)
        #expect(c.allocate(gpuType: "a", gpus: 4) == 1)
        #expect(c.allocate(gpuType: "b", gpus: 1) == nil)
        #expect(c.free(gpuType: "a") == 52)
        // No topology given: distinct nodes count as one S1.
        let flat = ClusterState(ClusterSpec(nodePools: [NodePoolSpec(gpuType: "a", count: 3)]))
        #expect(flat.locality(0, 2) == .sameS1)
    }

    @Test func capacityLimitsInstancesPerGPUType() throws {
        // 16 GPUs of the type; 1 prefill + asking for 30 decode instances of 1 GPU → 15 fit.
        let sim = try Simulator(config: SimFixtures.config(prefill: 1, decode: 1), stream: RequestListStream([Request(id: 0, arrival: 5, promptTokens: 10, outputTokens: 2)]))
        try sim.schedule(pool: "d", replicas: 30, at: 1)
        _ = try sim.run()
        #expect(sim.pools[1].live.count == 15)
        #expect(sim.pools[1].unschedulable == 15)
        #expect(sim.cluster.free(gpuType: "gpu") == 0)
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
        #expect(InstanceSample.resolve("kv_cache_usage_perc") == "vllm:kv_cache_usage_perc")
        var s = InstanceSample()
        s.gpuUtilization = 0.85
        s.kvUsage = 0.5
        #expect(s.value("DCGM_FI_DEV_GPU_UTIL") == 85)
        #expect(s.value("vllm:gpu_cache_usage_perc") == 0.5)
        #expect(s.value("nonsense") == nil)
    }

    @Test(arguments: [(0.5, 3.0), (0.9, 5.0), (0.1, 1.0)])
    func weightedPercentiles(q: Double, expected: Double) {
        #expect(weightedPercentile([(1, 1), (3, 3), (5, 1)], q) == expected)
    }
}
