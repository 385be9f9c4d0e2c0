import Foundation
import Testing
import KubeAPI
import YAML
@testable import Autoscaling

@Suite struct KubeAPITests {
    static let paYAML = """
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata:
          name: llama-decode
          namespace: llm
          labels:
            app: llama
        spec:
          scaleTargetRef:
            apiVersion: apps/v1
            kind: Deployment
            name: llama
          minReplicas: 1
          maxReplicas: 10
          scalingStrategy: KPA
          tickSeconds: 2
          metricsSources:
            - metricSourceType: pod
              protocolType: http
              port: 8000
              path: /metrics
              targetMetric: kv_cache_usage_perc
              targetValue: "0.5"
            - metricSourceType: prometheus
              endpoint: http://prometheus:9090
              query: sum(rate(vllm:generation_tokens_total[1m]))
              targetMetric: decode_tps
              targetValue: 2000
              role: decode
          behavior:
            scaleDown:
              stabilizationWindowSeconds: 120
              policies:
                - type: Percent
                  value: 50
                  periodSeconds: 60
          kpa:
            stableWindowSeconds: 60
            panicWindowPercentage: 10
            maxScaleUpRate: 10
            scaleDownDelaySeconds: 30
          apa:
            upFluctuationTolerance: 0.1
        status:
          observedGeneration: 3
          desiredScale: 4
          actualScale: 3
          lastScaleTime: "2025-01-01T00:00:00Z"
          currentMetrics:
            - name: kv_cache_usage_perc
              value: "0.61"
              target: "0.5"
          conditions:
            - type: AbleToScale
              status: "True"
              lastTransitionTime: "2025-01-01T00:00:00Z"
              reason: ReadyForNewScale
              message: recommended size matches current size
          scalingHistory:
            - time: "2025-01-01T00:00:00Z"
              from: 3
              to: 4
              reason: "KPA: stable 120.0 / target 10 → 12"
        """

    @Test func decodesAPodAutoscaler() throws {
        let pa = try YAML.decode(PodAutoscaler.self, from: Self.paYAML)
        #expect(pa.metadata.name == "llama-decode")
        #expect(pa.metadata.key == "llm/llama-decode")
        #expect(pa.spec.strategy == .kpa)
        #expect(pa.spec.scaleTargetRef.kind == "Deployment")
        let sources = try #require(pa.spec.metricsSources)
        #expect(sources.count == 2)
        #expect(sources[0].port == "8000")
        #expect(sources[0].targetValue == "0.5")
        #expect(sources[1].targetValue == "2000")
        #expect(sources[1].role == "decode")
        #expect(pa.spec.behavior?.scaleDown?.policies?.first == ScalingPolicy(type: "Percent", value: 50, periodSeconds: 60))
        #expect(pa.spec.kpa?.maxScaleUpRate == 10)
        #expect(pa.spec.tickSeconds == 2)
        #expect(pa.status?.conditions?[type: "AbleToScale"]?.status == .isTrue)
        #expect(pa.status?.scalingHistory?.first?.to == 4)
        #expect(Autoscaler.validate(pa.spec).isEmpty)
        #expect(Autoscaler.targets(pa.spec) == [0.5, 2000])
    }

    @Test func podAutoscalerRoundTripsThroughYAMLAndJSON() throws {
        let pa = try YAML.decode(PodAutoscaler.self, from: Self.paYAML)
        let yaml = try YAML.encode(pa)
        #expect(try YAML.decode(PodAutoscaler.self, from: yaml) == pa)
        let json = try JSONEncoder().encode(pa)
        #expect(try JSONDecoder().decode(PodAutoscaler.self, from: json) == pa)
    }

    @Test func decodeErrorsNameTheField() {
        let bad = """
            spec:
              scaleTargetRef: {kind: Deployment, name: x}
              maxReplicas: ten
              scalingStrategy: HPA
            """
        do {
            _ = try YAML.decode(PodAutoscaler.self, from: bad)
            Issue.record("expected a decoding error")
        } catch {
            #expect("\(error)".contains("maxReplicas"))
        }
    }

    static let dgYAML = """
        apiVersion: heteroscale.io/v1alpha1
        kind: DeploymentGroup
        metadata:
          name: llama
        spec:
          replicas: 8
          roles:
            - name: prefill
              weight: 1
              gpuType: [H100, A100]
              gpusPerInstance: 2
              minReplicas: 1
              template:
                metadata:
                  labels: {role: prefill}
                spec:
                  containers:
                    - name: vllm
                      image: vllm/vllm-openai:latest
            - name: decode
              weight: 3
              gpuType: A100
              gpusPerInstance: 1
              maxReplicas: 30
              template: {}
          affinity:
            domain: S2
            priority: 5
          gate:
            tolerance: 0.2
            conditionType: heteroscale.io/pd-ratio
          softScaleIn:
            observationSeconds: 120
        status:
          replicas: 8
          readyReplicas: 7
          selector: app=llama
          roles:
            - {name: prefill, desired: 2, ready: 2, admitted: 2}
            - {name: decode, desired: 6, ready: 5, admitted: 5}
          placements:
            - domain: s2-a
              subgroupPriority: low
              roles: {prefill: 2, decode: 6}
        """

    @Test func decodesADeploymentGroup() throws {
        let dg = try YAML.decode(DeploymentGroup.self, from: Self.dgYAML)
        #expect(dg.spec.replicas == 8)
        #expect(dg.spec.roles.map(\.name) == ["prefill", "decode"])
        #expect(dg.spec.roles[0].gpuType == ["H100", "A100"])
        #expect(dg.spec.roles[1].gpuType == ["A100"])
        #expect(dg.spec.roles[1].weight == 3)
        #expect(dg.spec.roles[0].template["spec"]?["containers"]?[0]?["name"] == "vllm")
        #expect(dg.spec.affinity?.affinityDomain == .s2)
        #expect(dg.spec.gate?.tolerance == 0.2)
        #expect(dg.spec.softScaleIn?.observationSeconds == 120)
        #expect(dg.status?.placements?.first?.roles["decode"] == 6)
        #expect(dg.status?.roles?.last?.admitted == 5)
        let again = try YAML.decode(DeploymentGroup.self, from: try YAML.encode(dg))
        #expect(again == dg)
    }

    @Test func conditionsKeepTheirTransitionTimeWhileTheStatusHolds() {
        var conditions: [KubeAPI.Condition] = []
        conditions.set(KubeAPI.Condition(type: "Ready", status: .isTrue, lastTransitionTime: "t1", reason: "A", message: "a"))
        conditions.set(KubeAPI.Condition(type: "Ready", status: .isTrue, lastTransitionTime: "t2", reason: "B", message: "b"))
        #expect(conditions[type: "Ready"]?.lastTransitionTime == "t1")
        #expect(conditions[type: "Ready"]?.reason == "B")
        conditions.set(KubeAPI.Condition(type: "Ready", status: .isFalse, lastTransitionTime: "t3", reason: "C", message: "c"))
        #expect(conditions[type: "Ready"]?.lastTransitionTime == "t3")
        #expect(conditions.count == 1)
    }

    @Test(arguments: [
        ("50", 50.0), ("500m", 0.5), ("0.5", 0.5), ("1k", 1000), ("2Gi", 2_147_483_648), ("1e3", 1000), ("80%", 80),
    ])
    func quantities(_ text: String, _ value: Double) {
        #expect(MetricTarget.parse(text) == value)
    }

    @Test(arguments: ["", "abc", "1x", "%", "nan"])
    func invalidQuantities(_ text: String) {
        #expect(MetricTarget.parse(text) == nil)
    }
}
