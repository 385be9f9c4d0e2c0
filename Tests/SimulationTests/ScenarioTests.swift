import Foundation
import Testing
import YAML

@testable import Simulation

@Suite struct ScenarioTests {
    static func spec(_ yaml: String) throws -> ScenarioSpec { try ScenarioSpec.parse(yaml) }

    static let base = Paths.repo("samples/simulation")

    @Test func splitwiseFixedSampleRunsShortened() throws {
        var spec = try ScenarioSpec.load(path: Paths.repo("samples/simulation/splitwise-fixed.yaml"))
        spec.workload.duration = 15
        let outcomes = try ScenarioRunner.run(spec, baseDirectory: Self.base)
        let r = try #require(outcomes.first).result
        #expect(r.arrived > 400 && r.arrived < 800)
        #expect(r.completed == r.arrived)
        #expect(r.tokensOut == r.tokensAsked)
        // 25 × TP8 + 15 × TP8 GPUs, all warm from t = 0.
        #expect(r.timeline.first { $0.pool == "prompt" }?.gpus == 200)
        #expect(r.timeline.first { $0.pool == "token" }?.gpus == 120)
        let summary = ScenarioRunner.summaryCSV(outcomes[0])
        for c in ["ttft_times_p50", "ttft_times_p90", "ttft_times_p99", "tbt_times_p90", "response_times_p99", "queue_times_p50"] {
            #expect(summary.contains(c))
        }
    }

    static let flashCrowd = """
        profiles: [../profiles/h100.yaml]
        model: llama2-70b
        cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 8}]}
        workload:
          arrivals: {kind: constant, rate: 2, flashCrowds: [{factor: 6, start: 120, duration: 240}]}
          sizes: {constant: {prompt: 1000, output: 200}}
          duration: 480
        seed: 3
        coldStartSeconds: 30
        scrapeInterval: 2
        slo: {ttftMs: 1000, tbtMs: 100}
        policies:
          - name: kpa
            manifests:
              - {apiVersion: apps/v1, kind: Deployment, metadata: {name: prefill, labels: {heteroscale.io/role: prefill, heteroscale.io/gpu-type: h100-80gb, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 1}}
              - {apiVersion: apps/v1, kind: Deployment, metadata: {name: decode, labels: {heteroscale.io/role: decode, heteroscale.io/gpu-type: h100-80gb, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 1}}
              - apiVersion: heteroscale.io/v1alpha1
                kind: PodAutoscaler
                metadata: {name: decode-kpa}
                spec:
                  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: decode}
                  minReplicas: 1
                  maxReplicas: 6
                  scalingStrategy: KPA
                  metricsSources: [{metricSourceType: pod, targetMetric: num_requests_running, targetValue: "20"}]
          - name: group
            manifests:
              - apiVersion: heteroscale.io/v1alpha1
                kind: DeploymentGroup
                metadata: {name: svc}
                spec:
                  replicas: 2
                  roles:
                    - {name: prefill, weight: 1, gpuType: h100-80gb, gpusPerInstance: 4}
                    - {name: decode, weight: 1, gpuType: h100-80gb, gpusPerInstance: 4}
              - apiVersion: heteroscale.io/v1alpha1
                kind: PodAutoscaler
                metadata: {name: svc-kpa}
                spec:
                  scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}
                  minReplicas: 2
                  maxReplicas: 16
                  scalingStrategy: KPA
                  metricsSources: [{metricSourceType: pod, targetMetric: num_requests_running, targetValue: "20", role: decode}]
          - name: heteroscale
            manifests:
              - {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 2, roles: [{name: prefill, gpuType: h100-80gb, gpusPerInstance: 4}, {name: decode, gpuType: h100-80gb, gpusPerInstance: 4}]}}
              - kind: PodAutoscaler
                metadata: {name: svc-hs}
                spec:
                  scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}
                  minReplicas: 2
                  maxReplicas: 16
                  scalingStrategy: HeteroScale
                  heteroScale: {targetDecodeTPSPerInstance: 400, scaleOutCooldownSeconds: 30}
        """

    @Test func kpaScalesUpUnderFlashCrowdWithColdStarts() throws {
        let outcomes = try ScenarioRunner.run(try Self.spec(Self.flashCrowd), baseDirectory: Self.base, policy: "kpa")
        let r = try #require(outcomes.first).result
        #expect(r.completed == r.arrived)
        let decodeRows = r.timeline.filter { $0.pool == "decode" }
        let before = decodeRows.filter { $0.time < 120 }.map(\.desired).max() ?? 0
        let during = decodeRows.filter { $0.time > 120 && $0.time < 360 }.map(\.ready).max() ?? 0
        #expect(before == 1)
        #expect(during >= 2)
        // A scale-up only serves after the cold start.
        let firstUp = try #require(r.scaling.first { $0.to > $0.from })
        #expect(firstUp.time >= 120)
        #expect(!(decodeRows.contains { $0.time < firstUp.time + 30 - 1e-9 && $0.ready > 1 }))
        #expect(r.scaling.allSatisfy { !$0.reason.isEmpty && $0.autoscaler == "decode-kpa" })
        #expect(r.gpuHours > 0)
    }

    /// The P/D ready-ratio gate: decode cold-starts for 60 s, prefill for 5 s; after both roles scale ×3 the
    /// new prefill instances are ready long before decode, and the gate keeps them out of routing until the
    /// decode pool catches up (ungated, they would take prompts whose KV cache has nowhere to go).
    @Test(arguments: [true, false])
    func theGateHoldsBackTheRoleThatRunsAhead(gated: Bool) throws {
        let spec = try Self.spec("""
            profiles: [../profiles/h100.yaml]
            model: llama2-70b
            cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 8}]}
            workload: {arrivals: {kind: constant, rate: 2}, sizes: {constant: {prompt: 500, output: 50}}, duration: 120}
            seed: 1
            coldStarts: [{role: prefill, seconds: 5}, {role: decode, seconds: 60}]
            scrapeInterval: 2
            policies:
              - name: g
                manifests:
                  - {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 3, \(gated ? "gate: {tolerance: 0.1}, " : "")roles: [{name: prefill, weight: 1, gpuType: [h100-80gb], gpusPerInstance: 4}, {name: decode, weight: 2, gpuType: [h100-80gb], gpusPerInstance: 4}]}}
            """)
        let config = try spec.config(policy: spec.policies[0], baseDirectory: Self.base,
                                     performance: try spec.performanceModel(baseDirectory: Self.base))
        #expect(config.gates == (gated ? ["svc": 0.1] : [:]))
        let simulator = try Simulator(config: config, stream: try spec.workload.makeStream(baseDirectory: Self.base))
        try simulator.schedule(pool: "svc/prefill", replicas: 3, at: 10)
        try simulator.schedule(pool: "svc/decode", replicas: 6, at: 10)
        let r = try simulator.run()
        #expect(r.completed == r.arrived)
        let prefill = r.timeline.filter { $0.pool == "svc/prefill" }
        let warming = prefill.filter { $0.time > 20 && $0.time < 68 }
        #expect(!warming.isEmpty && warming.allSatisfy { $0.ready == 3 })
        #expect(warming.allSatisfy { $0.admitted == (gated ? 1 : 3) }, "\(warming.map(\.admitted))")
        #expect(prefill.filter { $0.time > 75 }.allSatisfy { $0.admitted == 3 })
    }

    @Test(arguments: ["group", "heteroscale"])
    func groupDecisionsMoveBothRolesByWeight(policy: String) throws {
        let outcomes = try ScenarioRunner.run(try Self.spec(Self.flashCrowd), baseDirectory: Self.base, policy: policy)
        let r = try #require(outcomes.first).result
        #expect(r.completed == r.arrived)
        let ups = r.scaling.filter { $0.to > $0.from }
        #expect(!ups.isEmpty)
        for e in r.scaling { #expect(abs((e.roles["prefill"] ?? 0) - (e.roles["decode"] ?? 0)) <= 1) }
    }

    @Test func hpaOnGPUUtilisationNeverScalesDecodeInAtLowLoad() throws {
        let yaml = """
            profiles: [../profiles/h100.yaml]
            model: llama2-70b
            cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 4}]}
            workload: {arrivals: {kind: constant, rate: 0.5}, sizes: {constant: {prompt: 500, output: 300}}, duration: 600}
            seed: 5
            coldStartSeconds: 20
            slo: {ttftMs: 2000, tbtMs: 100}
            policies:
              - name: hpa-gpu
                manifests:
                  - {kind: Deployment, metadata: {name: prefill, labels: {heteroscale.io/role: prefill, heteroscale.io/gpu-type: h100-80gb, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 2}}
                  - {kind: Deployment, metadata: {name: decode, labels: {heteroscale.io/role: decode, heteroscale.io/gpu-type: h100-80gb, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 2}}
            """
        var spec = try Self.spec(yaml)
        for target in ["prefill", "decode"] {
            spec.policies[0].manifests!.append(try YAML.load("""
                {kind: PodAutoscaler, metadata: {name: \(target)-hpa}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: \(target)},
                 minReplicas: 1, maxReplicas: 4, scalingStrategy: HPA,
                 metricsSources: [{metricSourceType: pod, targetMetric: gpu_utilization, targetValue: "70"}]}}
                """))
        }
        let r = try #require(try ScenarioRunner.run(spec, baseDirectory: Self.base).first).result
        #expect(r.completed == r.arrived)
        // HPA starts as the controller does (AutoscalerState.seeded): its 300 s scale-down stabilisation window
        // holds the starting count until 300 s after the first tick, so look after that.
        let late = r.timeline.filter { $0.time > 400 }
        // Decode GPUs read 80–90 % at a trickle of load, so HPA-GPU keeps (even grows) the decode pool…
        #expect(late.filter { $0.pool == "decode" }.allSatisfy { $0.desired >= 2 })
        // …while the prefill pool, whose utilisation tracks busy time, shrinks to the minimum.
        #expect(late.filter { $0.pool == "prefill" }.allSatisfy { $0.desired == 1 })
    }

    @Test func outputsAreDeterministicAndWritten() throws {
        let spec = try Self.spec(Self.flashCrowd)
        let a = try ScenarioRunner.run(spec, baseDirectory: Self.base, policy: "kpa")
        let b = try ScenarioRunner.run(spec, baseDirectory: Self.base, policy: "kpa")
        #expect(ScenarioRunner.comparisonCSV(a) == ScenarioRunner.comparisonCSV(b))
        #expect(a.map { ScenarioRunner.requestsCSV($0) } == b.map { ScenarioRunner.requestsCSV($0) })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sim-out-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ScenarioRunner.write(a, to: dir)
        let comparison = try String(contentsOfFile: dir + "/comparison.csv", encoding: .utf8)
        #expect(comparison.hasPrefix("policy,gpu_hours,mean_gpu_utilization,slo_attainment_requests"))
        #expect(comparison.split(separator: "\n").count == 2)
        for f in ["summary.csv", "requests.csv", "timeline.csv", "scaling.log"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/kpa/\(f)"))
        }
        #expect(ScenarioRunner.comparisonTable(a).contains("kpa"))
    }

    /// Cold starts per role and GPU type: the first matching rule, then `coldStartSeconds`; a Deployment's label
    /// wins over both.
    @Test func coldStartsPerRoleAndGPUType() throws {
        let spec = try Self.spec("""
            profiles: []
            model: m
            workload: {arrivals: {kind: constant, rate: 1}, duration: 1}
            coldStartSeconds: 100
            coldStarts:
              - {role: decode, gpuType: h20, seconds: 200}
              - {role: prefill, seconds: 60}
            policies:
              - name: x
                manifests:
                  - {kind: DeploymentGroup, metadata: {name: g}, spec: {replicas: 3, roles: [{name: prefill, weight: 1, gpuType: [h100]}, {name: decode, weight: 2, gpuType: [h20]}]}}
                  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d2, labels: {heteroscale.io/role: decode, heteroscale.io/gpu-type: a100}}}
                  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d3, labels: {heteroscale.io/role: decode, heteroscale.io/gpu-type: h20, heteroscale.io/cold-start-seconds: "5"}}}
            cluster: {nodePools: [{gpuType: h100, gpusPerNode: 8, count: 1}]}
            """)
        let config = try spec.config(policy: spec.policies[0], baseDirectory: Self.base, performance: PerformanceModel(profiles: []))
        let coldStarts = Dictionary(uniqueKeysWithValues: config.pools.map { ($0.name, $0.coldStartSeconds) })
        #expect(coldStarts == ["g/prefill": 60, "g/decode": 200, "d2": 100, "d3": 5])
        #expect {
            _ = try Self.spec("profiles: []\nworkload: {arrivals: {kind: constant, rate: 1}, duration: 1}\ncoldStarts: [{role: router, seconds: 1}]\npolicies: []")
        } throws: { "\($0)".contains("coldStarts[0].role: must be prefill, decode or mixed, got router") }
    }

    @Test(arguments: [
        ("policies: [{name: x, manifests: [{kind: Service}]}]", "unsupported manifest kind Service"),
        ("policies: [{name: x}]", "no instances"),
    ])
    func badPoliciesAreNamed(policies: String, message: String) throws {
        let spec = try Self.spec("profiles: []\nmodel: m\nslo: {ttftMs: 1000}\nworkload: {arrivals: {kind: constant, rate: 1}, duration: 1}\n" + policies)
        #expect {
            try ScenarioRunner.run(spec, baseDirectory: Self.base)
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
