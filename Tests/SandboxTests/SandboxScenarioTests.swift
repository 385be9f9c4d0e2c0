import Foundation
import Sandbox
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
