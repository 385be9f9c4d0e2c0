import Foundation
import Testing

@testable import Simulation

/// Fixtures of the live mode: one 8-GPU node, so that batch placement and live instances share the KV-transfer
/// locality, and a reproducible stream with varied sizes (queueing, batching and preemption-free decode).
enum LiveFixtures {
    static func config(mixed: Bool, replicas: Int = 2) -> SimulationConfig {
        var c = SimFixtures.config(gpus: 8)
        c.pools = mixed
            ? [PoolSpec(name: "m", role: .mixed, gpuType: "gpu", model: "m", tensorParallel: 1, replicas: replicas)]
            : [PoolSpec(name: "p", role: .prefill, gpuType: "gpu", model: "m", tensorParallel: 1, replicas: replicas / 2),
               PoolSpec(name: "d", role: .decode, gpuType: "gpu", model: "m", tensorParallel: 1, replicas: replicas - replicas / 2)]
        return c
    }

    /// `rate` requests/s for `duration` s; prompts 100…2099 tokens, outputs 2…201 tokens.
    static func requests(rate: Double = 15, duration: Double = 60, seed: UInt64 = 11) -> [Request] {
        var rng = SimRandom(seed: seed)
        var out: [Request] = []
        var t = 0.0
        while true {
            t += 1 / rate * (0.5 + Double(rng.below(1000)) / 1000)
            guard t < duration else { return out }
            out.append(Request(id: out.count, arrival: t, promptTokens: 100 + rng.below(2000), outputTokens: 2 + rng.below(200)))
        }
    }

    /// A live engine with the given instances added and in service at t = 0 (in order: pool, id).
    static func engine(_ config: SimulationConfig, _ requests: [Request], instances: [(pool: String, id: String)]) throws -> LiveEngine {
        let e = try LiveEngine(config: config, stream: RequestListStream(requests))
        let node = e.sim.topology.nodeName(at: 0)
        for i in instances { try e.addInstance(id: i.id, pool: i.pool, node: node) }
        for i in instances { try e.setServing(id: i.id, true) }
        return e
    }

    static func byID(_ records: [RequestRecord]) -> [RequestRecord] { records.sorted { $0.id < $1.id } }
}

@Suite struct LiveEngineTests {
    /// The key property: a live engine with the batch run's instances, in service from t = 0, serves the same
    /// stream with exactly the same per-request outcomes (times, instances, KV transfers) as `run()`.
    @Test(arguments: [true, false])
    func matchesTheBatchSimulatorOnAFixedSetOfInstances(mixed: Bool) throws {
        let config = LiveFixtures.config(mixed: mixed)
        let requests = LiveFixtures.requests()
        let batch = try Simulator(config: config, stream: RequestListStream(requests)).run()
        let instances = mixed ? [("m", "m-0"), ("m", "m-1")] : [("p", "p-0"), ("d", "d-0")]
        let live = try LiveFixtures.engine(config, requests, instances: instances.map { (pool: $0.0, id: $0.1) })
        try live.advance(to: batch.endTime + 1)
        #expect(batch.completed == requests.count)
        #expect(live.inFlight == 0 && live.lost.isEmpty)
        #expect(LiveFixtures.byID(live.result.requests) == LiveFixtures.byID(batch.requests))
        // Both instances did work, and the counters an exposition reads add up to the requests served.
        let status = instances.compactMap { live.status($0.1) }
        #expect(status.count == 2 && status.allSatisfy { $0.state == .serving && $0.running == 0 && $0.waiting == 0 })
        #expect(status.reduce(0) { $0 + $1.promptTokensTotal } == requests.reduce(0) { $0 + $1.promptTokens })
        #expect(status.reduce(0) { $0 + $1.generationTokensTotal } == requests.reduce(0) { $0 + $1.outputTokens })
        if mixed { #expect(status.allSatisfy { $0.promptTokensTotal > 0 }) }
        if !mixed { #expect(batch.requests.allSatisfy { $0.kvTransferSeconds > 0 }) }
    }

    @Test func outOfServiceInstanceDrainsAndNewArrivalsGoToTheOther() throws {
        let requests = LiveFixtures.requests(rate: 30)
        let live = try LiveFixtures.engine(LiveFixtures.config(mixed: true), requests, instances: [("m", "a"), ("m", "b")])
        try live.advance(to: 20)
        let heldByA = live.status("a")!.running + live.status("a")!.waiting
        #expect(heldByA > 0)
        try live.setServing(id: "a", false)
        #expect(live.status("a")!.state == .draining)
        try live.advance(to: 200)
        let a = live.sim.instances[live.index["a"]!].id, b = live.sim.instances[live.index["b"]!].id
        let records = live.result.requests
        #expect(records.count == requests.count && live.lost.isEmpty && live.inFlight == 0)
        #expect(records.filter { $0.arrival > 20 }.allSatisfy { $0.prefillInstance == b && $0.decodeInstance == b })
        // What `a` held at the drain finished there, after it left service.
        #expect(records.filter { $0.prefillInstance == a && $0.completion > 20 }.count >= heldByA)
        let after = live.status("a")!
        #expect(after.state == .draining && after.running == 0 && after.waiting == 0 && after.kvUsedTokens == 0)
    }

    @Test func advancingInSmallStepsEqualsOneStep() throws {
        let config = LiveFixtures.config(mixed: false, replicas: 3)
        let requests = LiveFixtures.requests(rate: 20)
        func run(step: Double) throws -> ([RequestRecord], Double) {
            let live = try LiveFixtures.engine(config, requests, instances: [("p", "p-0"), ("d", "d-0"), ("d", "d-1")])
            var t = 0.0
            for (until, action) in [(25.0, { try live.setServing(id: "d-1", false) }), (40.0, { try live.setServing(id: "d-1", true) }), (150.0, {})] {
                while t < until {
                    t = min(until, t + step)
                    try live.advance(to: t)
                }
                try action()
            }
            return (live.result.requests, live.result.gpuSeconds)
        }
        let (one, gpuOne) = try run(step: 1000)
        let (many, gpuMany) = try run(step: 0.013)
        #expect(one.count == requests.count)
        #expect(many == one)
        #expect(abs(gpuOne - 3 * 150) < 1e-6 && abs(gpuMany - gpuOne) < 1e-6)
    }

    @Test func instanceAddedMidRunTakesLoadOnlyOnceServing() throws {
        let requests = LiveFixtures.requests(rate: 30)
        let live = try LiveFixtures.engine(LiveFixtures.config(mixed: true), requests, instances: [("m", "a")])
        try live.advance(to: 10)
        try live.addInstance(id: "c", pool: "m")
        try live.advance(to: 30)
        #expect(live.status("c")!.state == .starting && live.status("c")!.promptTokensTotal == 0)
        try live.setServing(id: "c", true)
        #expect(live.status("c")!.readyAt == 30)
        try live.advance(to: 300)
        let c = live.index["c"]!
        let records = live.result.requests
        #expect(records.count == requests.count && live.inFlight == 0)
        #expect(!records.contains { $0.prefillInstance == c && $0.prefillStart < 30 })
        #expect(records.filter { $0.prefillInstance == c }.count > records.filter { $0.arrival >= 30 }.count / 4)
        #expect(live.status("c")!.promptTokensTotal > 0)
        #expect(live.instanceIDs == ["a", "c"])
    }

    @Test func removalRetriesRequestsWithNoTokenAndLosesStreamingOnes() throws {
        let requests = LiveFixtures.requests(rate: 40)
        let live = try LiveFixtures.engine(LiveFixtures.config(mixed: true), requests, instances: [("m", "a"), ("m", "b")])
        try live.advance(to: 20)
        let held = live.status("a")!
        let outcome = try live.removeInstance(id: "a")
        #expect(outcome.lost > 0 && outcome.lost + outcome.rerouted == held.running + held.waiting)
        #expect(live.status("a")!.state == .released)
        #expect(live.lost.count == outcome.lost && live.lost.allSatisfy { $0.instance == "a" && $0.generatedTokens >= 1 && $0.time == 20 })
        try live.advance(to: 400)
        let a = live.index["a"]!
        let records = live.result.requests
        #expect(live.inFlight == 0 && records.count + live.lost.count == requests.count)
        #expect(!records.contains { $0.completion > 20 && ($0.prefillInstance == a || $0.decodeInstance == a) })
        #expect(Set(records.map(\.id)).isDisjoint(with: live.lost.map(\.id)))
        #expect(throws: SimulationError.self) { try live.setServing(id: "a", true) }
    }

    @Test func removingAPrefillInstanceInPDKeepsTheStreamServed() throws {
        let requests = LiveFixtures.requests(rate: 20)
        let live = try LiveFixtures.engine(LiveFixtures.config(mixed: false, replicas: 3), requests,
                                           instances: [("p", "p-0"), ("p", "p-1"), ("d", "d-0")])
        try live.advance(to: 15)
        let outcome = try live.removeInstance(id: "p-0")
        #expect(outcome.lost == 0) // a prefill instance holds no streaming request
        try live.advance(to: 400)
        #expect(live.inFlight == 0 && live.lost.isEmpty && live.result.requests.count == requests.count)
    }

    @Test func rejectsUnknownAndDuplicateInstances() throws {
        let live = try LiveEngine(config: LiveFixtures.config(mixed: true), stream: RequestListStream([]))
        try live.addInstance(id: "a", pool: "m")
        #expect(throws: SimulationError.self) { try live.addInstance(id: "a", pool: "m") }
        #expect(throws: SimulationError.self) { try live.addInstance(id: "x", pool: "nope") }
        #expect(throws: SimulationError.self) { try live.addInstance(id: "x", pool: "m", gpuType: "tpu") }
        #expect(throws: SimulationError.self) { try live.setServing(id: "x", true) }
        #expect(throws: SimulationError.self) { try live.removeInstance(id: "x") }
        try live.advance(to: 5)
        #expect(throws: SimulationError.self) { try live.advance(to: 4) }
        #expect(live.status("x") == nil && live.status("a")?.state == .starting)
    }
}
