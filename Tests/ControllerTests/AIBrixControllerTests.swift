import Autoscaling
import Controller
import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Testing
import YAML

/// An AIBrix PodAutoscaler in the controller: the annotations it used are named in a Normal event, the ones
/// without effect in a Warning event and in the ValidSpec condition, once per change (not every tick), and the
/// strategy runs with the resolved parameters.
@Suite(.serialized) struct AIBrixControllerTests {
    static let yaml = """
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata:
          name: aibrix
          namespace: default
          annotations:
            kpa.autoscaling.aibrix.ai/scale-down-delay: 3m
            autoscaling.aibrix.ai/scale-up-tolerance: "0.2"
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: model}
          minReplicas: 1
          maxReplicas: 8
          scalingStrategy: KPA
          tickSeconds: 2
          metricsSources:
            - {metricSourceType: pod, protocolType: http, port: "8000", path: metrics, targetMetric: num_requests_running, targetValue: "10"}
        """

    @Test func annotationsAreUsedAndReported() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: Self.yaml, values: [10, 10])
        defer { Task { await f.stop() } }
        for _ in 0..<3 {
            try await f.reconcile("aibrix")
            f.clock.advance(2)
        }
        let events = try await f.events("aibrix")
        let applied = events.filter { $0.reason == "AIBrixSettingsApplied" }
        #expect(applied.count == 1 && applied[0].count == 1, "once, not per tick")
        #expect(applied.first?.note == "kpa.autoscaling.aibrix.ai/scale-down-delay=3m used as spec.kpa.scaleDownDelaySeconds=180")
        let ignored = events.filter { $0.reason == "AIBrixSettingsIgnored" }
        #expect(ignored.count == 1)
        #expect(ignored.first?.note.contains("autoscaling.aibrix.ai/scale-up-tolerance: KPA has no fluctuation tolerance") == true)
        let valid = try await f.condition("aibrix", "ValidSpec")
        #expect(valid?.status == .isTrue)
        #expect(valid?.message.hasSuffix("AIBrix settings without effect here: autoscaling.aibrix.ai/scale-up-tolerance: KPA has no fluctuation tolerance (KPA follows Knative, which has none)") == true,
                "\(valid?.message ?? "")")
        // The 3-minute scale-down delay is in force: the load drops, the replicas hold.
        await f.metrics.set([1, 1])
        for _ in 0..<30 {
            try await f.reconcile("aibrix")
            f.clock.advance(2)
        }
        #expect(try await f.replicas() == 2)
        #expect(try await f.condition("aibrix", "AbleToScale")?.reason == "ScaleDownStabilized")
    }

    @Test func aMalformedAnnotationIsAnInvalidSpecNamingIt() async throws {
        let yaml = Self.yaml.replacingOccurrences(of: "scale-down-delay: 3m", with: "scale-down-delay: soon")
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: yaml, values: [10, 10])
        defer { Task { await f.stop() } }
        #expect(try await f.reconcile("aibrix") == .done)
        let valid = try await f.condition("aibrix", "ValidSpec")
        #expect(valid?.status == .isFalse && valid?.reason == "InvalidSpec")
        #expect(valid?.message.contains("metadata.annotations[kpa.autoscaling.aibrix.ai/scale-down-delay]: \"soon\" is not a duration") == true)
    }
}
