import Autoscaling
@testable import Controller
import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import KubeRuntime
import Testing
import YAML

/// PodAutoscalers on a DeploymentGroup: the whole group sized from decode TPS (both roles together), one role
/// scaled through the group, and the same decisions and reason strings as `heteroscale replay` on one series.
@Suite(.serialized) struct PodAutoscalerOnGroupTests {
    static let group = """
        apiVersion: heteroscale.io/v1alpha1
        kind: DeploymentGroup
        metadata: {name: g, namespace: default}
        spec:
          replicas: 3
          roles:
            - {name: prefill, weight: 1, gpuType: [h100], template: {spec: {containers: [{name: engine, image: vllm}]}}}
            - {name: decode, weight: 2, gpuType: [h20], template: {spec: {containers: [{name: engine, image: vllm}]}}}
        """

    static let heteroScalePA = """
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata: {name: pd, namespace: default}
        spec:
          scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: g}
          minReplicas: 3
          maxReplicas: 30
          scalingStrategy: HeteroScale
          heteroScale:
            targetDecodeTPSPerInstance: 400
            scaleOutThreshold: 0.1
            scaleInThreshold: 0.1
            scaleOutCooldownSeconds: 30
            scaleInCooldownSeconds: 60
            latency:
              tbtSLOMilliseconds: 50
              tiers: [{ratio: 1.1, stepPercent: 10}, {ratio: 1.5, stepPercent: 20}]
        """

    /// A recorded series, 15 s apart: decode tokens/s and P90 TBT (ms; empty = no sample).
    static let series = """
        time,decode_tps,tbt_p90_ms
        0,800,30
        15,800,30
        30,2400,35
        45,2400,35
        60,4000,40
        75,4000,40
        90,4000,80
        105,4000,80
        120,1200,30
        135,1200,30
        150,1200,30
        165,1200,
        180,1200,30
        195,400,30
        210,400,30
        225,400,30
        """

    /// The group's status as its controller writes it (selector), and one Running, Ready pod per instance of the
    /// group's current split, each labelled with its role: the steady state `replay` assumes.
    private func syncGroup(_ f: ReconcilerFixture) async throws -> [Int] {
        var dg = try await f.client.get(.deploymentGroups, namespace: "default", name: "g")
        let spec = try dg.decode(DeploymentGroup.self).spec
        let split = RatioApportionment.split(spec)
        dg["status"] = ["selector": "heteroscale.io/group=g", "replicas": .int(Int64(split.reduce(0, +))),
                        "observedGeneration": dg["metadata"]?["generation"] ?? 1]
        _ = try f.emulator.apply(dg)
        let existing = try await f.client.list(.pods, namespace: "default")["items"]?.arrayValue ?? []
        for (role, count) in zip(spec.roles.map(\.name), split) {
            let mine = existing.compactMap { $0["metadata"]?["name"]?.stringValue }.filter { $0.hasPrefix("g-\(role)-") }
            for i in 0..<max(count, mine.count) {
                let name = "g-\(role)-\(i)"
                if i >= count {
                    try await f.client.delete(.pods, namespace: "default", name: name)
                } else if !mine.contains(name) {
                    _ = try f.emulator.apply([
                        "apiVersion": "v1", "kind": "Pod",
                        "metadata": ["name": .string(name), "namespace": "default",
                                     "labels": ["heteroscale.io/group": "g", "heteroscale.io/role": .string(role)]],
                        "spec": ["containers": [["name": "engine", "image": "vllm"]]],
                        "status": ["phase": "Running", "podIP": .string("10.0.0.\(i + 10)"),
                                   "conditions": [["type": "Ready", "status": "True", "lastTransitionTime": .string(RFC3339.format(f.clock.now))]]],
                    ])
                }
            }
        }
        return split
    }

    @Test func theControllerAndReplayMakeTheSameDecisionsWithTheSameReasons() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.client.create(.deploymentGroups, namespace: "default", try YAML.load(Self.group)).void()
        try await f.createAutoscaler(Self.heteroScalePA)
        let spec = try YAML.decode(PodAutoscaler.self, from: Self.heteroScalePA).spec
        let observations = try Replay.parse(Self.series, for: spec)
        let start = f.clock.now
        let replayed = Replay.run(spec: spec, observations: observations,
                                  roles: [RoleSnapshot(name: "prefill", weight: 1, current: 1, ready: 1),
                                          RoleSnapshot(name: "decode", weight: 2, current: 2, ready: 2)],
                                  start: start)
        #expect(Set(replayed.map(\.desired)).count >= 3, "the series scales out, holds and scales in")

        var history = 0
        for (obs, step) in zip(observations, replayed) {
            let split = try await syncGroup(f)
            await f.metrics.setSignals(obs.totals)
            f.clock.advance(obs.time - f.clock.now.timeIntervalSince(start))
            try await f.reconcile("pd")
            let pa = try await f.autoscaler("pd")
            #expect(split.reduce(0, +) == step.current, "t=\(obs.time): current")
            #expect(pa.status?.desiredScale == step.desired, "t=\(obs.time): desired")
            let dg = try await f.client.get(.deploymentGroups, namespace: "default", name: "g").decode(DeploymentGroup.self)
            #expect(dg.spec.replicas == step.desired, "t=\(obs.time): the group's /scale")
            if step.desired != step.current {
                history += 1
                let record = pa.status?.scalingHistory?.last
                #expect(record?.reason == step.decision.reason, "t=\(obs.time): the same reason string")
                #expect(record?.roles == step.decision.roleReplicas.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.name, $0.replicas) }) })
                // The group splits the total exactly as the decision's per-role counts.
                #expect(RatioApportionment.split(dg.spec) == step.decision.roleReplicas?.map(\.replicas))
                let events = try await f.events("pd").map(\.note)
                #expect(events.contains("New size: \(step.desired); reason: \(step.decision.reason)"))
            }
        }
        #expect(history >= 2)
    }

    @Test func aRoleScopedAutoscalerScalesOneRoleThroughTheGroup() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.client.create(.deploymentGroups, namespace: "default", try YAML.load(Self.group)).void()
        _ = try await syncGroup(f)
        try await f.createAutoscaler(autoscalerYAML("decode", strategy: "HPA", target: "10", max: 8, extra: "  subTargetSelector: {roleName: decode}")
            .replacingOccurrences(of: "{apiVersion: apps/v1, kind: Deployment, name: model}",
                                  with: "{apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: g}"))
        // Two decode pods at 20 running requests each against a target of 10: four decode instances.
        // (ScriptedMetrics feeds pods in name order; the role selector leaves only the decode pods.)
        await f.metrics.set([20, 20])
        try await f.reconcile("decode")
        let dg = try await f.client.get(.deploymentGroups, namespace: "default", name: "g").decode(DeploymentGroup.self)
        #expect(dg.spec.roles.first { $0.name == "decode" }?.replicas == 4, "the role's count is pinned in the group")
        #expect(dg.spec.roles.first { $0.name == "prefill" }?.replicas == nil, "the other role is left alone")
        #expect(dg.spec.replicas == 5, "the total moves with the role")
        #expect(RatioApportionment.split(dg.spec) == [1, 4])
        let pa = try await f.autoscaler("decode")
        #expect(pa.status?.actualScale == 4)
        #expect(pa.status?.conditions?[type: "ValidSpec"]?.status == .isTrue)
    }

    @Test func aRoleThatIsNotInTheGroupIsRefusedNamingTheRoles() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.client.create(.deploymentGroups, namespace: "default", try YAML.load(Self.group)).void()
        _ = try await syncGroup(f)
        try await f.createAutoscaler(autoscalerYAML("x", strategy: "HPA", extra: "  subTargetSelector: {roleName: router}")
            .replacingOccurrences(of: "{apiVersion: apps/v1, kind: Deployment, name: model}",
                                  with: "{apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: g}"))
        try await f.reconcile("x")
        let valid = try await f.condition("x", "ValidSpec")
        #expect(valid?.status == .isFalse && valid?.reason == "UnsupportedTarget")
        #expect(valid?.message.contains("roles: prefill, decode") == true)
        #expect(try await f.client.get(.deploymentGroups, namespace: "default", name: "g").decode(DeploymentGroup.self).spec.replicas == 3)
    }
}

private extension JSONValue {
    func void() {}
}
