import Foundation
import Testing
import YAML

@testable import Simulation

enum SimFixtures {
    /// prefill(t tokens) = 10 ms + 10 µs × t; decode step 20 ms at batch 1 → 50 ms at 256.
    static func profile(kvCapacity: Int = 1_000_000, hardware: String = "gpu") -> HardwareProfile {
        HardwareProfile(
            model: "m", hardware: hardware, tensorParallel: 1,
            prefill: PiecewiseLinear(points: [(0, 0.01), (10_000, 0.11)]),
            decode: PiecewiseLinear(points: [(1, 0.02), (256, 0.05)]),
            kvCapacityTokens: kvCapacity, kvBytesPerToken: 1_000_000)
    }

    static func config(prefill: Int = 1, decode: Int = 1, kvCapacity: Int = 1_000_000, gpus: Int = 16,
                       coldStart: Double? = nil, maxBatchSize: Int? = nil) -> SimulationConfig {
        SimulationConfig(
            cluster: ClusterSpec(nodePools: [NodePoolSpec(gpuType: "gpu", gpusPerNode: 8, count: (gpus + 7) / 8)]),
            performance: PerformanceModel(profiles: [profile(kvCapacity: kvCapacity)]),
            pools: [
                PoolSpec(name: "p", role: .prefill, gpuType: "gpu", model: "m", tensorParallel: 1, replicas: prefill, coldStartSeconds: coldStart),
                PoolSpec(name: "d", role: .decode, gpuType: "gpu", model: "m", tensorParallel: 1, replicas: decode, coldStartSeconds: coldStart, maxBatchSize: maxBatchSize),
            ],
            scrapeInterval: 1)
    }

    static func poisson(rate: Double, duration: Double, prompt: Int = 500, output: Int = 50, seed: UInt64 = 7) -> SyntheticWorkload {
        SyntheticWorkload(pattern: .constant(rate: rate), sizes: .constant(prompt: prompt, output: output), duration: duration, seed: seed)
    }

    static func run(_ config: SimulationConfig, _ stream: some RequestStream) throws -> SimulationResult {
        try Simulator(config: config, stream: stream).run()
    }
}

@Suite struct EngineQueueTests {
    @Test func popsInTimeThenInsertionOrder() {
        var q = EventQueue<Int>()
        var rng = SimRandom(seed: 1)
        var expected: [(Double, Int)] = []
        for i in 0..<500 {
            let t = Double(rng.below(50))
            q.push(i, at: t)
            expected.append((t, i))
        }
        expected.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var got: [(Double, Int)] = []
        while let e = q.pop() { got.append((e.time, e.payload)) }
        #expect(got.map(\.1) == expected.map(\.1))
        #expect(q.isEmpty && q.pop() == nil)
    }
}

@Suite struct EngineFlowTests {
    @Test func everyRequestFinishesOnceAndTokensAreConserved() throws {
        let r = try SimFixtures.run(SimFixtures.config(prefill: 2, decode: 2), SimFixtures.poisson(rate: 20, duration: 60))
        #expect(r.arrived > 1000)
        #expect(r.completed == r.arrived)
        #expect(r.unfinished == 0)
        #expect(Set(r.requests.map(\.id)).count == r.requests.count)
        #expect(r.tokensOut == r.tokensAsked)
        #expect(r.requests.allSatisfy { $0.generatedTokens == $0.outputTokens })
        #expect(r.requests.allSatisfy { $0.arrival <= $0.prefillStart && $0.prefillStart < $0.firstToken && $0.firstToken <= $0.completion })
    }

    @Test func sameSeedSameOutputs() throws {
        func once() throws -> SimulationResult {
            try SimFixtures.run(SimFixtures.config(prefill: 2, decode: 1), SimFixtures.poisson(rate: 15, duration: 30, seed: 42))
        }
        let a = try once(), b = try once()
        #expect(a.requests == b.requests)
        #expect(a.timeline == b.timeline)
        #expect(a.gpuSeconds == b.gpuSeconds)
    }

    @Test func littlesLaw() throws {
        let r = try SimFixtures.run(SimFixtures.config(prefill: 2, decode: 2), SimFixtures.poisson(rate: 20, duration: 300))
        let meanInSystem = r.inSystemArea / r.endTime
        let lambda = Double(r.arrived) / r.endTime
        let meanResponse = r.requests.map(\.responseTime).reduce(0, +) / Double(r.requests.count)
        #expect(abs(meanInSystem - lambda * meanResponse) / meanInSystem < 0.02)
    }

    @Test func lightLoadTTFTIsPrefillTime() throws {
        let reqs = (0..<20).map { Request(id: $0, arrival: Double($0) * 5, promptTokens: 1000, outputTokens: 10) }
        let r = try SimFixtures.run(SimFixtures.config(), RequestListStream(reqs))
        let prefill = SimFixtures.profile().prefillTime(batchTokens: 1000)
        for rec in r.requests {
            #expect(abs(rec.ttft - prefill) < 1e-9)
            #expect(rec.queueTime == 0)
        }
        // 9 decode steps at batch 1 after a KV transfer of 1000 × 1 MB at 300 GB/s (both on one node).
        let e2e = prefill + 1e9 / 300e9 + 9 * SimFixtures.profile().decodeTime(batchSize: 1, contextTokens: 1005)
        #expect(abs(r.requests[0].responseTime - e2e) < 1e-3)
    }

    @Test func kvCapacityBoundsResidentTokens() throws {
        let r = try SimFixtures.run(SimFixtures.config(prefill: 2, decode: 1, kvCapacity: 20_000),
                                    SimFixtures.poisson(rate: 30, duration: 30, prompt: 1000, output: 100))
        #expect(r.completed == r.arrived)
        #expect(r.maxKVResidentFraction <= 1.0)
        #expect(r.maxKVResidentFraction > 0.9)
        #expect(r.tokensOut == r.tokensAsked)
    }

    @Test func preemptionStillConserves() throws {
        // Each request grows to 1200 tokens; 5000 tokens of KV → preemptions under load.
        let r = try SimFixtures.run(SimFixtures.config(prefill: 1, decode: 1, kvCapacity: 5_000),
                                    SimFixtures.poisson(rate: 10, duration: 20, prompt: 200, output: 1000))
        #expect(r.completed == r.arrived)
        #expect(r.tokensOut == r.tokensAsked)
        #expect(r.maxKVResidentFraction <= 1.0)
    }

    @Test func coldStartDelaysService() throws {
        let config = SimFixtures.config(prefill: 0, decode: 0, coldStart: 120)
        let reqs = [Request(id: 0, arrival: 1, promptTokens: 100, outputTokens: 5)]
        let sim = try Simulator(config: config, stream: RequestListStream(reqs))
        // Scale up both pools at t = 0 (cold): first token only after the 120 s cold start.
        sim.pools[0].desired = 1
        sim.pools[1].desired = 1
        sim.reconcile(0)
        sim.reconcile(1)
        let r = try sim.run()
        #expect(r.completed == 1)
        #expect(r.requests[0].prefillStart == 120)
        #expect(r.requests[0].ttft > 119)
    }

    @Test func drainFinishesInFlightWork() throws {
        let reqs = (0..<40).map { Request(id: $0, arrival: 0.01 * Double($0), promptTokens: 300, outputTokens: 200) }
        let sim = try Simulator(config: SimFixtures.config(prefill: 2, decode: 2), stream: RequestListStream(reqs))
        // Scale both pools in while requests are queued and running.
        try sim.schedule(pool: "p", replicas: 1, at: 0.5)
        try sim.schedule(pool: "d", replicas: 1, at: 1.5)
        let r = try sim.run()
        #expect(r.completed == 40)
        #expect(r.tokensOut == r.tokensAsked)
        #expect(sim.pools.allSatisfy { $0.live.count == 1 })
        #expect(sim.instances.filter { $0.state == .released }.count == 2)
    }

    @Test func decodeGPUUtilisationStaysHighAtLowLoad() throws {
        let r = try SimFixtures.run(SimFixtures.config(prefill: 1, decode: 1), SimFixtures.poisson(rate: 0.5, duration: 120, output: 400))
        let decodeRows = r.timeline.filter { $0.role == .decode && $0.time > 20 && $0.time < 110 }
        let prefillRows = r.timeline.filter { $0.role == .prefill && $0.time > 20 && $0.time < 110 }
        let meanDecode = decodeRows.map(\.gpuUtilization).reduce(0, +) / Double(decodeRows.count)
        let meanPrefill = prefillRows.map(\.gpuUtilization).reduce(0, +) / Double(prefillRows.count)
        #expect(meanDecode >= 0.8)
        #expect(meanPrefill < 0.1)
    }

    /// SM activity, unlike GPU utilisation, follows the decode load: low at a trickle, higher when batches fill.
    @Test func decodeSMActivityFollowsTheLoad() throws {
        func meanDecodeSM(rate: Double) throws -> (sm: Double, util: Double) {
            let sim = try Simulator(config: SimFixtures.config(prefill: 1, decode: 1),
                                    stream: SimFixtures.poisson(rate: rate, duration: 120, output: 400))
            var samples: [(Double, Double)] = []
            sim.progress = { t in
                guard t > 20, t < 110 else { return }
                for inst in sim.instances where inst.role == .decode { samples.append((inst.sample.smActivity, inst.sample.gpuUtilization)) }
            }
            _ = try sim.run()
            return (samples.map(\.0).reduce(0, +) / Double(samples.count), samples.map(\.1).reduce(0, +) / Double(samples.count))
        }
        let low = try meanDecodeSM(rate: 0.5), high = try meanDecodeSM(rate: 8)
        #expect(low.util >= 0.8, "GPU utilisation reads high at low load")
        #expect(low.sm < 0.3, "SM activity does not: \(low.sm)")
        #expect(high.sm > 2 * low.sm, "high \(high.sm), low \(low.sm)")
    }
}
