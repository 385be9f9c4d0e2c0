import Autoscaling
import Controller
import Foundation
import KubeAPI
import KubeClient
import Metrics

/// Connects the controller's `MetricsProvider` boundary to the `Metrics` module's collector (pod scrapes
/// and Prometheus queries). The controller stays testable with a scripted provider; the process uses this.
struct PodMetricsProvider: MetricsProvider {
    let collector: MetricsCollector

    init(transport: HTTPTransport, scrapeTimeout: Double) {
        collector = MetricsCollector(transport: transport, configuration: .init(scrapeTimeout: scrapeTimeout))
    }

    func collect(key: String, spec: PodAutoscalerSpec, namespace: String, selector: String, pods: [TargetPod], now: Date) async -> CollectedMetrics {
        let infos = pods.map {
            MetricsCollector.PodInfo(name: $0.name, ip: $0.ip, ready: $0.ready, phase: $0.phase, role: $0.role,
                                     startTime: $0.startTime, readyTime: $0.readyTime)
        }
        let c = await collector.collect(key: key, spec: spec, namespace: namespace, selector: selector, pods: infos, now: now)
        return CollectedMetrics(sources: c.sources, signals: c.signals,
                                failures: c.failures.map { MetricFailure(pod: $0.pod, sourceIndex: $0.sourceIndex, message: $0.message) })
    }

    func forget(key: String) async { await collector.forget(key: key) }
}
