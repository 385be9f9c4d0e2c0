import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import Simulation
import Testing
@testable import Metrics

/// The parity test: one series of instance states (a simulated P/D group under load, scaling), observed three
/// ways — by the simulator (in-memory scrape), by the controller's `MetricsCollector` scraping each pod's
/// `/metrics` text over HTTP on loopback, and by replay from the reduced values — gives the same signals, the
/// same source values, and the same decisions with the same reasons.
@Suite struct ParityTests {
    static let profiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples").path

    static func scenario(port: Int) -> String {
        """
        profiles: [\(profiles)/profiles/h100.yaml]
        model: llama2-70b
        cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 6}]}
        workload:
          arrivals: {kind: piecewise, points: [{time: 0, rate: 2}, {time: 60, rate: 9}, {time: 120, rate: 9}, {time: 150, rate: 1}, {time: 240, rate: 1}]}
          sizes: {constant: {prompt: 400, output: 40}}
          duration: 240
        seed: 4
        coldStartSeconds: 20
        scrapeInterval: 5
        controllerRestarts: [130]
        policies:
          - name: heteroscale
            manifests:
              - {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 3, roles: [{name: prefill, weight: 1, gpuType: h100-80gb, gpusPerInstance: 4, minReplicas: 1, maxReplicas: 4}, {name: decode, weight: 2, gpuType: h100-80gb, gpusPerInstance: 4, minReplicas: 2, maxReplicas: 6}]}}
              - {kind: PodAutoscaler, metadata: {name: svc-hs}, spec: {scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}, minReplicas: 3, maxReplicas: 10, scalingStrategy: HeteroScale, tickSeconds: 5, metricsSources: [{metricSourceType: pod, port: "\(port)", path: /metrics, targetMetric: kv_cache_usage_perc, targetValue: "0.5", role: decode}], heteroScale: {targetDecodeTPSPerInstance: 60, scaleOutCooldownSeconds: 20, scaleInCooldownSeconds: 40, latency: {tbtSLOMilliseconds: 60, ttftSLOMilliseconds: 1000, cooldownSeconds: 20}}}}
        """
    }

    @Test func controllerSimulatorAndReplaySeeTheSameAndDecideTheSame() async throws {
        let server = try await MetricsTestServer(addresses: 40)
        let transport = HTTPTransport()
        defer {
            transport.shutdown()
            server.stop()
        }
        let spec = try ScenarioSpec.parse(Self.scenario(port: server.port))
        let base = Self.profiles + "/simulation"
        let config = try spec.config(policy: spec.policies[0], baseDirectory: base, performance: try spec.performanceModel(baseDirectory: base))
        let pa = try #require(config.autoscalers.first)
        let sim = try Simulator(config: config, stream: try spec.workload.makeStream(baseDirectory: base))
        var ticks: [TickRecord] = []
        sim.tickObserver = { ticks.append($0) }
        let result = try sim.run()
        #expect(ticks.count > 40)
        #expect(result.scalingActions >= 2, "the series scales (out and in)")

        // The controller: its collector scrapes each observable pod's text over HTTP, at the tick's time.
        var collector = MetricsCollector(transport: transport)
        var ips: [String: String] = [:]
        var free = (2...40).map { "127.0.0.\($0)" }
        var controllerState: AutoscalerState?
        var replayState: AutoscalerState?
        var compared = 0, withSignals = 0
        var previous = 0.0
        for tick in ticks {
            defer { previous = tick.time }
            if previous < 130 && tick.time >= 130 {
                // The simulated restart at 130 s (before that instant's tick): a new controller process (collector and states are new).
                collector = MetricsCollector(transport: transport)
                controllerState = nil
                replayState = nil
            }
            let names = Set(tick.pods.map(\.name))
            for (name, ip) in ips where !names.contains(name) {
                free.append(ip)
                ips[name] = nil
            }
            var pods: [MetricsCollector.PodInfo] = []
            for var pod in tick.pods {
                if ips[pod.name] == nil { ips[pod.name] = free.removeFirst() }
                pod.ip = ips[pod.name]
                if let text = tick.texts[pod.name] { try await server.route(ip: pod.ip!, body: text) }
                pods.append(pod)
            }
            let collected = await collector.collect(key: tick.key, spec: pa.spec, namespace: "default", selector: "app=svc", pods: pods, now: tick.date)
            let controllerSnapshot = ObservationPipeline.snapshot(
                current: tick.snapshot.currentReplicas, pods: pods, roles: tick.snapshot.roles, collection: collected)
            #expect(controllerSnapshot.signals == tick.snapshot.signals, "t=\(tick.time)")
            #expect(controllerSnapshot.sources.map { $0.pods.map(\.value) } == tick.snapshot.sources.map { $0.pods.map(\.value) }, "t=\(tick.time)")
            #expect(controllerSnapshot.readyReplicas == tick.snapshot.readyReplicas && controllerSnapshot.roles == tick.snapshot.roles)
            var cs = controllerState ?? AutoscalerState.seeded(currentReplicas: controllerSnapshot.currentReplicas, now: tick.date)
            let controllerDecision = Autoscaler.decide(spec: pa.spec, snapshot: controllerSnapshot, state: &cs, now: tick.date)
            controllerState = cs
            #expect(controllerDecision.desiredReplicas == tick.decision.desiredReplicas, "t=\(tick.time)")
            #expect(controllerDecision.reason == tick.decision.reason, "t=\(tick.time)")
            #expect(controllerDecision.roleReplicas == tick.decision.roleReplicas, "t=\(tick.time)")

            // Replay: the same tick as a recorded row (signals as totals, the source's per-pod values, ready counts).
            var row = Replay.Observation(time: tick.time, ready: tick.snapshot.readyReplicas, roleReady: [:], totals: tick.snapshot.signals, pods: [:], line: 0)
            for r in tick.snapshot.roles { row.roleReady[r.name] = r.ready }
            let source = try #require(tick.snapshot.sources.first)
            row.pods["kv_cache_usage_perc"] = source.pods.filter { $0.value != nil }.map { Replay.PodValue(pod: $0.name, value: $0.value) }
            let replaySnapshot = Replay.snapshot(
                for: row, spec: pa.spec, current: tick.snapshot.currentReplicas, roles: tick.snapshot.roles,
                roleCurrent: Dictionary(uniqueKeysWithValues: tick.snapshot.roles.map { ($0.name, $0.current) }))
            #expect(replaySnapshot.signals == tick.snapshot.signals && replaySnapshot.sources.map(\.metricName) == tick.snapshot.sources.map(\.metricName))
            var rs = replayState ?? AutoscalerState.seeded(currentReplicas: replaySnapshot.currentReplicas, now: tick.date)
            let replayDecision = Autoscaler.decide(spec: pa.spec, snapshot: replaySnapshot, state: &rs, now: tick.date)
            replayState = rs
            #expect(replayDecision.desiredReplicas == tick.decision.desiredReplicas && replayDecision.reason == tick.decision.reason, "replay t=\(tick.time)")
            compared += 1
            if tick.snapshot.signals["decode_tps"] != nil { withSignals += 1 }
        }
        #expect(compared == ticks.count && withSignals > 30)
    }
}
