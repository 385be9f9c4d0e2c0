import Autoscaling
import Controller
import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import KubeRuntime
import Testing
import YAML

/// The PodAutoscaler reconciler against the emulator: real `/scale`, status and events; scripted metrics
/// and an injected decision clock, so every step is deterministic.
@Suite(.serialized) struct ReconcilerTests {
    @Test func hpaScalesUpWritesStatusAndEvent() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "5"), values: [10, 10])
        defer { Task { await f.stop() } }
        let result = try await f.reconcile("pa")
        #expect(result == .requeueAfter(.seconds(15)))
        #expect(try await f.replicas() == 4)  // ceil(2 × 10/5)
        let pa = try await f.autoscaler("pa")
        #expect(pa.status?.desiredScale == 4)
        #expect(pa.status?.actualScale == 4)
        #expect(pa.status?.observedGeneration == 1)
        #expect(pa.status?.lastScaleTime != nil)
        #expect(pa.status?.currentMetrics?.first?.name == "vllm:num_requests_running")
        #expect(pa.status?.currentMetrics?.first?.value == "10")
        #expect(pa.status?.scalingHistory?.map { [$0.from, $0.to] } == [[2, 4]])
        let able = pa.status?.conditions?[type: "AbleToScale"]
        #expect(able?.status == .isTrue && able?.reason == "SucceededRescale")
        #expect(pa.status?.conditions?[type: "ScalingActive"]?.reason == "ValidMetricFound")
        #expect(pa.status?.conditions?[type: "ValidSpec"]?.status == .isTrue)
        #expect(pa.status?.conditions?[type: "Ready"]?.status == .isTrue)
        let events = try await f.events("pa")
        #expect(events.contains { $0.reason == "SuccessfulRescale" && $0.note.hasPrefix("New size: 4; reason: ") })
        #expect(f.registry.value(ControllerMetricNames.desiredReplicas, ["namespace": "default", "name": "pa"]) == 4)
    }

    @Test func hpaScaleDownWaitsForTheStabilisationWindow() async throws {
        let f = try await ReconcilerFixture.start(replicas: 4, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "10"), values: [10, 10, 10, 10])
        defer { Task { await f.stop() } }
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 4)
        await f.metrics.set([2, 2, 2, 2])
        f.clock.advance(15)
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 4, "the default 300 s window holds the earlier recommendation of 4")
        #expect(try await f.condition("pa", "AbleToScale")?.reason == "ScaleDownStabilized")
        f.clock.advance(300)
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 1)
    }

    @Test func statusIsWrittenOnlyWhenItChanges() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "10"), values: [10, 10])
        defer { Task { await f.stop() } }
        try await f.reconcile("pa")
        let first = try await f.client.get(.podAutoscalers, namespace: "default", name: "pa")["metadata"]?["resourceVersion"]
        f.clock.advance(15)
        try await f.reconcile("pa")
        let second = try await f.client.get(.podAutoscalers, namespace: "default", name: "pa")["metadata"]?["resourceVersion"]
        #expect(first == second)
    }

    @Test func kpaPanicsUpAndDoesNotScaleDownWhilePanicking() async throws {
        let f = try await ReconcilerFixture.start(replicas: 1, autoscaler: autoscalerYAML("pa", strategy: "KPA", target: "10", extra: "  tickSeconds: 1\n  kpa: {stableWindowSeconds: 10}"), values: [10])
        defer { Task { await f.stop() } }
        for _ in 0..<10 {
            try await f.reconcile("pa")
            f.clock.advance(1)
        }
        #expect(try await f.replicas() == 1)
        await f.metrics.set([50])  // 5× the target: panic
        try await f.reconcile("pa")
        let up = try await f.replicas()
        #expect(up >= 3)
        #expect(f.registry.value(ControllerMetricNames.panicMode, ["namespace": "default", "name": "pa"]) == 1)
        await f.metrics.set(Array(repeating: 1, count: up))
        for _ in 0..<5 {
            f.clock.advance(1)
            try await f.reconcile("pa")
            #expect(try await f.replicas() == up, "no scale-down in panic")
        }
        #expect(try await f.events("pa").contains { $0.reason == "SuccessfulRescale" && $0.note.contains("New size: \(up)") })
    }

    @Test func apaHoldsWithinTolerance() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 3)
        try await f.createAutoscaler(autoscalerYAML("pa", strategy: "APA", target: "10", extra: "  tickSeconds: 1\n  apa: {upFluctuationTolerance: 0.1, downFluctuationTolerance: 0.2}"))
        for value in [10.5, 10.9, 8.5, 9.0] {
            await f.metrics.set([value, value, value])
            try await f.reconcile("pa")
            f.clock.advance(1)
            #expect(try await f.replicas() == 3, "\(value) is within the tolerances")
        }
        #expect(try await f.events("pa").allSatisfy { $0.reason != "SuccessfulRescale" })
    }

    @Test func aFailedScrapeDoesNotScaleDown() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 2)
        try await f.createAutoscaler(autoscalerYAML("pa", strategy: "HPA", target: "10",
                                                    extra: "  behavior: {scaleDown: {stabilizationWindowSeconds: 0}}"))
        await f.metrics.set([4, nil])  // one pod low, the other unobservable
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 2, "a missing pod counts as at target on scale-down, so no change")
        let events = try await f.events("pa")
        #expect(events.contains { $0.reason == "FailedGetPodsMetric" && $0.note.contains("connection refused") })
        #expect(f.registry.value(ControllerMetricNames.scrapeErrors, ["namespace": "default", "name": "pa"]) == 1)
    }

    @Test func noMetricsAtAllKeepsTheScaleAndSaysWhy() async throws {
        let f = try await ReconcilerFixture.start(replicas: 3, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "10"), values: [nil, nil, nil])
        defer { Task { await f.stop() } }
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 3)
        let active = try await f.condition("pa", "ScalingActive")
        #expect(active?.status == .isFalse && active?.reason == "FailedGetMetrics")
        #expect(try await f.events("pa").contains { $0.reason == "FailedComputeMetricsReplicas" })
    }

    @Test(arguments: [
        ("targetValue: -1", "spec.metricsSources[0].targetValue"),
        ("targetValue: 0", "spec.metricsSources[0].targetValue"),
    ])
    func invalidSpecSetsConditionAndEventAndDoesNotScale(_ variant: String, _ field: String) async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 2)
        // Both are quantities, so they pass the CRD schema (its pattern refuses "lots" at apply time), but HPA needs
        // a positive target.
        let yaml = autoscalerYAML("pa", strategy: "HPA", target: variant == "targetValue: 0" ? "0" : "-1")
        try await f.createAutoscaler(yaml)
        await f.metrics.set([100, 100])
        let result = try await f.reconcile("pa")
        #expect(result == .done, "no requeue: only a spec change can fix it")
        #expect(try await f.replicas() == 2)
        let valid = try await f.condition("pa", "ValidSpec")
        #expect(valid?.status == .isFalse && valid?.reason == "InvalidSpec")
        #expect(valid?.message.contains(field) == true)
        #expect(try await f.condition("pa", "Ready")?.status == .isFalse)
        #expect(try await f.events("pa").contains { $0.reason == "InvalidSpec" && $0.note.contains(field) })
        #expect(await f.metrics.collects == 0)
    }

    @Test func twoAutoscalersOnOneTargetTheOlderWins() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 2)
        try await f.createAutoscaler(autoscalerYAML("first", strategy: "HPA", target: "5"))
        f.clock.advance(1)  // the emulator stamps creationTimestamp from the test clock
        try await f.createAutoscaler(autoscalerYAML("second", strategy: "HPA", target: "1"))
        await f.metrics.set([10, 10])
        try await f.reconcile("second")
        #expect(try await f.replicas() == 2, "the newer one does nothing")
        let valid = try await f.condition("second", "ValidSpec")
        #expect(valid?.status == .isFalse && valid?.reason == "MultiplePodAutoscalers")
        #expect(valid?.message.contains("first") == true)
        try await f.reconcile("first")
        #expect(try await f.replicas() == 4)
        // Once the older one is gone, the other takes over.
        _ = try await f.client.delete(.podAutoscalers, namespace: "default", name: "first")
        try await f.reconcile("first")
        #expect(await f.metrics.forgotten == ["default/first"])
        #expect(f.registry.value(ControllerMetricNames.metricValue, ["namespace": "default", "name": "first", "metric": "vllm:num_requests_running"]) == nil)
        try await f.reconcile("second")
        #expect(try await f.condition("second", "ValidSpec")?.status == .isTrue)
        let pa = try await f.autoscaler("second")
        #expect(try await f.replicas() == 8, "HPA's scale-up limit: at most double")
        #expect(pa.status?.conditions?[type: "ScalingLimited"]?.reason == "ScaleUpLimit")
    }

    @Test func aMissingTargetIsReportedAndRetried() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createAutoscaler(autoscalerYAML("pa", strategy: "HPA", deployment: "absent"))
        let result = try await f.reconcile("pa")
        #expect(result == .requeueAfter(.seconds(15)))
        let able = try await f.condition("pa", "AbleToScale")
        #expect(able?.status == .isFalse && able?.reason == "FailedGetScale")
        #expect(able?.message.contains("404") == true)
        #expect(try await f.events("pa").contains { $0.reason == "FailedGetScale" })
    }

    @Test func aConflictOnScaleIsRetriedAtOnce() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "5"), values: [10, 10])
        defer { Task { await f.stop() } }
        f.emulator.injectFault(FaultRule(method: "PUT", pathContains: "/deployments/model/scale", action: .fail(code: 409, retryAfterSeconds: nil), count: 2))
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 4)
    }

    @Test func aFailedScaleWriteIsReportedAndThrown() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "5"), values: [10, 10])
        defer { Task { await f.stop() } }
        f.emulator.injectFault(FaultRule(method: "PUT", pathContains: "/deployments/model/scale", action: .fail(code: 500, retryAfterSeconds: nil), count: 1))
        // Retried on the tick, not with a growing backoff.
        let error = await #expect(throws: RetryAfter.self) { try await f.reconcile("pa") }
        #expect(error?.delay == .seconds(15))
        #expect((error?.underlying as? KubeAPIError)?.code == 500)
        #expect(try await f.replicas() == 2)
        #expect(try await f.condition("pa", "AbleToScale")?.reason == "FailedUpdateScale")
        #expect(try await f.events("pa").contains { $0.reason == "FailedRescale" && $0.note.hasPrefix("New size: 4; reason: ") })
    }

    @Test func aRestartDoesNotCauseAScaleDownBurst() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "5"), values: [10, 10])
        defer { Task { await f.stop() } }
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 4)
        // The controller restarts with load gone: the fresh reconciler must not drop to 1 at once.
        await f.metrics.set([1, 1, 1, 1])
        let fresh = f.restarted()
        f.clock.advance(15)
        try await f.reconcile("pa", using: fresh)
        #expect(try await f.replicas() == 4)
        // History written before the restart is kept.
        #expect(try await f.autoscaler("pa").status?.scalingHistory?.count == 1)
    }

    @Test func advisoryModeReportsButNeverWrites() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "5"), values: [10, 10], advisory: true)
        defer { Task { await f.stop() } }
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 2)
        let pa = try await f.autoscaler("pa")
        #expect(pa.status?.desiredScale == 4)
        #expect(pa.status?.actualScale == 2)
        #expect(pa.status?.conditions?[type: "AbleToScale"]?.reason == "Advisory")
    }

    @Test func aRoleScopedAutoscalerNeedsADeploymentGroupTarget() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", extra: "  subTargetSelector: {roleName: decode}"), values: [100, 100])
        defer { Task { await f.stop() } }
        #expect(try await f.reconcile("pa") == .done)
        #expect(try await f.replicas() == 2)
        let valid = try await f.condition("pa", "ValidSpec")
        #expect(valid?.status == .isFalse && valid?.reason == "UnsupportedTarget")
    }

    @Test func aTargetWithoutASelectorIsReported() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        // A DeploymentGroup whose status has no selector yet (its controller has not run).
        _ = try await f.client.create(.deploymentGroups, namespace: "default", try YAML.load("""
            apiVersion: heteroscale.io/v1alpha1
            kind: DeploymentGroup
            metadata: {name: g, namespace: default}
            spec: {replicas: 3, roles: [{name: prefill, weight: 1, gpuType: [h100], template: {}}, {name: decode, weight: 2, gpuType: [h20], template: {}}]}
            """))
        try await f.createAutoscaler("""
            apiVersion: heteroscale.io/v1alpha1
            kind: PodAutoscaler
            metadata: {name: pa, namespace: default}
            spec:
              scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: g}
              maxReplicas: 9
              scalingStrategy: KPA
              metricsSources: [{metricSourceType: pod, targetMetric: num_requests_running, targetValue: "10"}]
            """)
        #expect(try await f.reconcile("pa") == .requeueAfter(.seconds(5)))
        let active = try await f.condition("pa", "ScalingActive")
        #expect(active?.status == .isFalse && active?.reason == "SelectorRequired")
        #expect(try await f.events("pa").contains { $0.reason == "SelectorRequired" })
    }

    @Test func aRecreatedAutoscalerStartsAfresh() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "HPA", target: "5"), values: [10, 10])
        defer { Task { await f.stop() } }
        try await f.reconcile("pa")
        #expect(try await f.autoscaler("pa").status?.scalingHistory?.count == 1)
        _ = try await f.client.delete(.podAutoscalers, namespace: "default", name: "pa")
        try await f.createAutoscaler(autoscalerYAML("pa", strategy: "HPA", target: "10"))
        await f.metrics.set([10, 10, 10, 10])
        f.clock.advance(15)
        try await f.reconcile("pa")
        let status = try await f.autoscaler("pa").status
        #expect(status?.scalingHistory == nil, "no history inherited from the deleted object")
        #expect(await f.metrics.forgotten == ["default/pa"])
    }

    @Test func metricOnlyStatusChangesAreWrittenAtMostEvery15Seconds() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 2)
        try await f.createAutoscaler(autoscalerYAML("pa", strategy: "HPA", target: "10"))
        func rv() async throws -> String? { try await f.client.get(.podAutoscalers, namespace: "default", name: "pa")["metadata"]?["resourceVersion"]?.stringValue }
        await f.metrics.set([10, 10])
        try await f.reconcile("pa")
        let first = try await rv()
        await f.metrics.set([10.4, 10.4])  // within tolerance: same decision, other metric values
        f.clock.advance(5)
        try await f.reconcile("pa")
        #expect(try await rv() == first)
        f.clock.advance(11)
        try await f.reconcile("pa")
        #expect(try await rv() != first)
        #expect(try await f.autoscaler("pa").status?.currentMetrics?.first?.value == "10.4")
    }

    @Test func aTargetAboveMaxIsBroughtBackWithoutMetrics() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 12)
        try await f.createAutoscaler(autoscalerYAML("pa", strategy: "KPA", max: 10))
        await f.metrics.set([])  // no pod reports anything
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 10)
        #expect(try await f.condition("pa", "ScalingLimited")?.reason == "TooManyReplicas")
        #expect(try await f.condition("pa", "ScalingActive")?.status == .isFalse)
    }

    @Test func historyKeepsTheLastTenChanges() {
        var history: [ScalingRecord]? = nil
        for i in 0..<13 {
            history = PodAutoscalerStatusBuilder.appendHistory(history, ScalingRecord(time: "t\(i)", from: i, to: i + 1, reason: "r"))
        }
        #expect(history?.count == 10)
        #expect(history?.first?.from == 3)
        #expect(history?.last?.to == 13)
    }
}
