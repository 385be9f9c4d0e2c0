import Autoscaling
import Foundation
import KubeAPI

/// One pod of a scale target, as the reconciler sees it in the pod cache.
public struct TargetPod: Sendable, Hashable {
    public var name: String
    /// `status.podIP`; `nil` until the pod has one.
    public var ip: String?
    /// The pod's `Ready` condition.
    public var ready: Bool
    public var phase: PodSample.Phase
    /// The P/D role (label `heteroscale.io/role`), when the pod has one.
    public var role: String?
    public var startTime: Date?
    /// When `Ready` last turned true.
    public var readyTime: Date?

    public init(name: String, ip: String?, ready: Bool, phase: PodSample.Phase, role: String? = nil,
                startTime: Date? = nil, readyTime: Date? = nil) {
        self.name = name
        self.ip = ip
        self.ready = ready
        self.phase = phase
        self.role = role
        self.startTime = startTime
        self.readyTime = readyTime
    }
}

/// What one collection observed for a PodAutoscaler.
public struct CollectedMetrics: Sendable, Hashable {
    /// One entry per `spec.metricsSources` entry, in order.
    public var sources: [SourceSnapshot]
    /// Derived aggregates (`Signal` keys).
    public var signals: [String: Double]
    /// Pods or sources that could not be observed; their values are missing (never 0).
    public var failures: [MetricFailure]

    public init(sources: [SourceSnapshot], signals: [String: Double] = [:], failures: [MetricFailure] = []) {
        self.sources = sources
        self.signals = signals
        self.failures = failures
    }
}

/// One failed observation.
public struct MetricFailure: Sendable, Hashable, CustomStringConvertible {
    public var pod: String?
    public var sourceIndex: Int?
    public var message: String
    public init(pod: String?, sourceIndex: Int?, message: String) {
        self.pod = pod
        self.sourceIndex = sourceIndex
        self.message = message
    }
    public var description: String {
        [pod.map { "pod \($0)" }, sourceIndex.map { "metricsSources[\($0)]" }].compactMap { $0 }.joined(separator: " ")
            + (pod == nil && sourceIndex == nil ? "" : ": ") + message
    }
}

/// The reconciler's view of metrics collection: scrape pods, query Prometheus, turn counters into rates.
/// The `Metrics` module provides the real one; tests can substitute a scripted one.
public protocol MetricsProvider: Sendable {
    /// Observes every metric source of `spec` for the PodAutoscaler `key` (`namespace/name`).
    func collect(key: String, spec: PodAutoscalerSpec, namespace: String, selector: String, pods: [TargetPod], now: Date) async -> CollectedMetrics
    /// Drops any per-PodAutoscaler memory (counter baselines) once it is deleted.
    func forget(key: String) async
}
