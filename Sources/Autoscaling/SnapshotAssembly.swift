import KubeAPI

/// The parts of a `ScalingSnapshot` that are the same whoever observes: one definition for the controller
/// and the simulator (through `Metrics.ObservationPipeline`) and for replay, which reads values already
/// reduced and so starts here.
public enum SnapshotAssembly {
    /// The empty snapshot of `spec.metricsSources[index]`: the metric name resolved through the one alias
    /// table (`MetricNameResolver`), the target parsed (`MetricTarget`, 0 when unparsable), the source's role.
    public static func source(_ index: Int, of spec: PodAutoscalerSpec) -> SourceSnapshot {
        let s = (spec.metricsSources ?? [])[index]
        return SourceSnapshot(index: index, metricName: MetricNameResolver.resolve(s.targetMetric),
                              target: MetricTarget.parse(s.targetValue) ?? 0, role: s.role)
    }
}
