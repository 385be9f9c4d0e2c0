import Autoscaling
import Foundation
import KubeAPI

/// How one pod's metrics endpoint was read for a source (or for the signals).
public enum PodRead: Sendable {
    /// The scrape, parsed; `endpoint` (the URL) keys the counter state of that endpoint.
    case metrics(MetricSet, endpoint: String)
    /// The request failed; whoever ran it reported the failure.
    case failed
    /// The pod has no IP address yet.
    case noAddress
}

/// What a decision observes, built one way for the controller, the simulator and replay: pods' scrapes →
/// `RateTracker` (counters → rates, histograms → interval increases) → `SignalDeriver` → `SourceSnapshot`s,
/// signals and a `ScalingSnapshot`. The controller's `MetricsCollector` feeds it HTTP scrapes; the simulator
/// feeds it its instances' exposition in memory (`docs/metrics.md`, "One pipeline"). Pure: the time and the
/// counter memory are passed in.
public enum ObservationPipeline {
    /// Whether the strategy of `spec` reads the aggregate signals (only those get them: deriving them costs
    /// more than parsing the scrapes).
    public static func wantsSignals(_ spec: PodAutoscalerSpec) -> Bool { spec.strategy?.readsPodSignals == true }

    /// The metric families a scrape for `spec` must parse: its pod sources' metrics (with their aliases) and,
    /// for the strategies that read them, the signals' metrics.
    public static func wantedMetrics(_ spec: PodAutoscalerSpec) -> Set<String> {
        var wanted = Set((spec.metricsSources ?? []).filter { $0.metricSourceType == MetricSourceType.pod.rawValue }
            .flatMap { MetricNames.candidates($0.targetMetric) })
        if wantsSignals(spec) { for name in SignalDeriver.metricNames { wanted.formUnion(MetricNames.candidates(name)) } }
        return wanted
    }

    /// The source snapshots and signals of one collection for the PodAutoscaler `key`.
    ///
    /// - Parameters:
    ///   - pods: every pod of the target, any phase.
    ///   - read: how a pod was read for pod source `i` (`nil` index: for the signals); `nil` when it was not
    ///     read for it (not observable, the source's endpoint is invalid, or no scrape for the signals).
    ///   - prometheus: fills the snapshot of a `prometheus` source (the caller ran its queries).
    ///   - failures: what already went wrong while reading (failed requests, invalid endpoints).
    ///   - quantile: the quantile a histogram pod source reads.
    public static func collect(
        key: String, spec: PodAutoscalerSpec, pods: [MetricsCollector.PodInfo],
        read: (_ source: Int?, _ pod: MetricsCollector.PodInfo) -> PodRead?,
        prometheus: (_ source: Int, _ pods: [MetricsCollector.PodInfo], _ snapshot: inout SourceSnapshot, _ failures: inout [ScrapeFailure]) -> Void,
        failures initial: [ScrapeFailure] = [], tracker: inout RateTracker, lastCollect: inout Date?, now: Date, quantile: Double = 0.9
    ) -> MetricsCollection {
        var failures = initial
        var snapshots: [SourceSnapshot] = []
        for (i, s) in (spec.metricsSources ?? []).enumerated() {
            var snapshot = SnapshotAssembly.source(i, of: spec)
            let rolePods = pods.filter { s.measures(role: $0.role) }
            switch MetricSourceType(rawValue: s.metricSourceType) {
            case .pod:
                snapshot.pods = rolePods.map { pod in
                    switch read(i, pod) {
                    case nil, .failed?:
                        return sample(pod, nil)
                    case .noAddress?:
                        failures.append(ScrapeFailure(pod: pod.name, sourceIndex: i, message: "the pod has no IP address yet"))
                        return sample(pod, nil)
                    case .metrics(let set, let url)?:
                        var v = tracker.value(of: s.targetMetric, in: set, collector: key, pod: pod.name, endpoint: url, at: now, quantile: quantile)
                        if let value = v.value, let problem = SampleSanity.problem(value, metric: snapshot.metricName) {
                            v = .missing("\(snapshot.metricName) \(problem); treated as missing")
                        }
                        if case .missing(let reason) = v {
                            failures.append(ScrapeFailure(pod: pod.name, sourceIndex: i, message: "\(reason) at \(HTTPFetch.redacted(url))"))
                        }
                        return sample(pod, v.value)
                    }
                }
            case .prometheus:
                prometheus(i, rolePods, &snapshot, &failures)
            case .resource:
                failures.append(ScrapeFailure(
                    pod: nil, sourceIndex: i, message: "resource sources (\(s.targetMetric) via metrics.k8s.io) are not supported yet"))
                snapshot.pods = rolePods.map { sample($0, nil) }
            case nil:
                failures.append(ScrapeFailure(
                    pod: nil, sourceIndex: i, message: "unknown metricSourceType \"\(s.metricSourceType)\" (pod, prometheus or resource)"))
                snapshot.pods = rolePods.map { sample($0, nil) }
            }
            snapshots.append(snapshot)
        }

        var signals: [String: Double] = [:]
        if wantsSignals(spec) {
            var scrapes: [SignalDeriver.PodScrape] = []
            var observable: [MetricsCollector.PodInfo] = []
            for pod in pods {
                switch read(nil, pod) {
                case nil, .noAddress?: continue
                case .failed?: observable.append(pod)
                case .metrics(let set, let url)?:
                    observable.append(pod)
                    scrapes.append(SignalDeriver.PodScrape(pod: pod, url: url, metrics: set))
                }
            }
            signals = SignalDeriver.derive(scrapes, observable: observable, tracker: &tracker, collector: key, now: now)
        }
        if let previous = lastCollect, now > previous { signals[Signal.intervalSeconds] = now.timeIntervalSince(previous) }
        lastCollect = max(now, lastCollect ?? now)
        tracker.retain(collector: key, pods: Set(pods.map(\.name)))
        return MetricsCollection(sources: snapshots, signals: signals, failures: failures)
    }

    /// The snapshot a decision sees: `current` replicas, the ready ones among `pods` (running and Ready), the
    /// roles of a DeploymentGroup target with their ready pods counted by role, and the collection.
    public static func snapshot(
        current: Int, pods: [MetricsCollector.PodInfo], roles: [RoleSnapshot], collection: MetricsCollection
    ) -> ScalingSnapshot {
        let ready = pods.filter { $0.ready && $0.phase == .running }
        let counted = roles.map { r -> RoleSnapshot in
            var r = r
            r.ready = ready.filter { $0.role == r.name }.count
            return r
        }
        return ScalingSnapshot(currentReplicas: current, readyReplicas: ready.count, roles: counted,
                               sources: collection.sources, signals: collection.signals,
                               observationFailures: collection.failures.map(\.description))
    }

    /// A pod's sample for a source: its value (`nil`: missing) with the pod's readiness, phase and times.
    public static func sample(_ pod: MetricsCollector.PodInfo, _ value: Double?) -> PodSample {
        PodSample(name: pod.name, value: value, ready: pod.ready, phase: pod.phase, startTime: pod.startTime, readyTime: pod.readyTime)
    }
}
