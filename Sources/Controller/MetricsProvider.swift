import Autoscaling
import Foundation
import KubeAPI
import Metrics

/// One pod of a scale target, as the reconciler hands it to metrics collection.
public typealias TargetPod = MetricsCollector.PodInfo

/// The reconciler's view of metrics collection: scrape pods, query Prometheus, turn counters into rates.
/// `Metrics.MetricsCollector` is the real one; tests substitute a scripted one.
public protocol MetricsProvider: Sendable {
    /// Observes every metric source of `spec` for the PodAutoscaler `key` (`namespace/name`). Failed
    /// observations are missing values (never 0) plus a `ScrapeFailure`.
    func collect(key: String, spec: PodAutoscalerSpec, namespace: String, selector: String, pods: [TargetPod], now: Date) async -> MetricsCollection
    /// Drops any per-PodAutoscaler memory (counter baselines) once it is deleted.
    func forget(key: String) async
}

extension MetricsCollector: MetricsProvider {}
