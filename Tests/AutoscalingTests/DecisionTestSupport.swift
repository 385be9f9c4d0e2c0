import Foundation
import KubeAPI
@testable import Autoscaling

/// A fixed instant (an even number of seconds since 1970) that the tests offset from.
let refTime = Date(timeIntervalSince1970: 1_700_000_000)

func after(_ seconds: Double) -> Date { refTime.addingTimeInterval(seconds) }

/// A spec with one metric source.
func makeSpec(
    _ strategy: String, min: Int? = 1, max: Int = 100, type: MetricSourceType = .pod, metric: String = "m",
    target: String = "10", configure: (inout PodAutoscalerSpec) -> Void = { _ in }
) -> PodAutoscalerSpec {
    var source = MetricSource(metricSourceType: type, targetMetric: metric, targetValue: target)
    if type == .prometheus { source.query = "sum(\(metric))" }
    var spec = PodAutoscalerSpec(
        scaleTargetRef: CrossVersionObjectReference(apiVersion: "apps/v1", kind: "Deployment", name: "llm"),
        minReplicas: min, maxReplicas: max, scalingStrategy: strategy, metricsSources: [source])
    configure(&spec)
    return spec
}

/// A snapshot with one aggregated source.
func totalSnapshot(current: Int, ready: Int? = nil, total: Double?, target: Double, metric: String = "m") -> ScalingSnapshot {
    ScalingSnapshot(
        currentReplicas: current, readyReplicas: ready ?? current,
        sources: [SourceSnapshot(index: 0, metricName: metric, target: target, total: total)])
}

/// A snapshot with one per-pod source.
func podSnapshot(current: Int, ready: Int? = nil, values: [Double?], target: Double, metric: String = "m") -> ScalingSnapshot {
    let pods = values.enumerated().map { PodSample(name: "pod-\($0.offset)", value: $0.element) }
    return ScalingSnapshot(
        currentReplicas: current, readyReplicas: ready ?? current,
        sources: [SourceSnapshot(index: 0, metricName: metric, target: target, pods: pods)])
}

/// SplitMix64: a small deterministic generator for property tests (fixed seeds, reproducible).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
