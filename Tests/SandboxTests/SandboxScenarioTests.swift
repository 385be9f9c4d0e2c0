import Foundation
import Sandbox
import Simulation
import Testing

/// The default scenario as the sandbox reads it: nodes with the placement labels, pools named as the sample
/// group's roles, cold starts.
struct SandboxScenarioTests {
    @Test func theDefaultScenarioNamesTheSampleGroupsPoolsAndLabelsItsNodes() throws {
        let s = try SandboxScenario(path: "\(repositoryRoot)/samples/simulation/sandbox.yaml")
        #expect(s.catalog.pools.map(\.name) == ["llama-pd/prefill", "llama-pd/decode"])
        #expect(s.catalog.pools.map(\.gpuTypes) == [["h100-80gb"], ["h20"]])
        let nodes = s.nodes
        #expect(nodes.map(\.name) == ["h100-0", "h100-1", "h20-0", "h20-1", "h20-2"])
        #expect(nodes.allSatisfy { $0.gpus == 8 && $0.labels["heteroscale.io/s2"] == "bp-1" })
        #expect(s.nodeGPUTypes["h20-1"] == "h20" && s.nodeGPUTypes["h100-0"] == "h100-80gb")
        #expect(s.coldStart(role: "decode", gpuType: "h20") == 10)
        // The sample group pods map onto the pools.
        let pod = PodView(uid: "u", name: "llama-pd-decode-bp-1-abc", labels: ["heteroscale.io/group": "llama-pd", "heteroscale.io/role": "decode"])
        #expect(s.catalog.pool(for: pod)?.name == "llama-pd/decode")
    }
}

/// The engine on an injected clock: traffic time starts when the first instance serves, then runs at wall × speed.
struct SandboxEngineTests {
    final class ManualClock: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0.0
        var now: Double { lock.withLock { value } }
        func set(_ t: Double) { lock.withLock { value = t } }
    }

    @Test func simulatedTimeStartsWithTheFirstInstanceInServiceAndRunsAtSpeed() throws {
        let s = try SandboxScenario(path: "\(repositoryRoot)/samples/simulation/sandbox.yaml")
        let clock = ManualClock()
        let engine = SandboxEngine(engine: try LiveEngine(config: s.config, stream: try s.makeStream()), speed: 4) { clock.now }
        clock.set(100)
        try engine.add(id: "default/p", pool: "llama-pd/prefill", gpuType: "h100-80gb", node: "h100-0")
        try engine.add(id: "default/d", pool: "llama-pd/decode", gpuType: "h20", node: "h20-0")
        #expect(try engine.advance() == 0, "no traffic before an instance serves")
        clock.set(110)
        try engine.setServing(id: "default/p", true)
        try engine.setServing(id: "default/d", true)
        #expect(engine.simulatedNow() == 0)
        clock.set(115)
        #expect(try engine.advance() == 20, "5 wall seconds at 4x")
        #expect(engine.summary().finished > 0, "20 s at 1 req/s")
        let text = try #require(engine.metricsText("default/d"))
        func value(_ prefix: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        // Counters per simulated second at any speed: the cumulative count divided by the speed (4), so a rate
        // over wall seconds equals the simulated rate; latencies stay simulated (the mean ITL is unchanged).
        let generated = try #require(engine.status("default/d")?.generationTokensTotal)
        #expect(generated > 0)
        #expect(value("vllm:generation_tokens_total{") == Double(generated) / 4)
        let itlSum = try #require(value("vllm:inter_token_latency_seconds_sum{")), itlCount = try #require(value("vllm:inter_token_latency_seconds_count{"))
        #expect(itlCount > 0 && (itlSum / itlCount) > 0.01 && (itlSum / itlCount) < 0.2, "mean ITL \(itlSum / itlCount) s")
        #expect(text.contains("vllm:inter_token_latency_seconds_bucket{") && text.contains("model_name=\"llama2-70b\""))
        #expect(engine.metricsText("default/nope") == nil)
        try engine.remove(id: "default/d")
        #expect(engine.status("default/d")?.state == .released)
    }
}
