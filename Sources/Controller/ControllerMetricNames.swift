import KubeRuntime

/// The controller's metric names: the runtime's (controller-runtime's and client-go's) and HeteroScale's own.
public enum ControllerMetricNames {
    public static let reconcileTotal = RuntimeMetricNames.reconcileTotal
    public static let reconcileErrors = RuntimeMetricNames.reconcileErrors
    public static let reconcileTime = RuntimeMetricNames.reconcileTime
    public static let workqueueDepth = RuntimeMetricNames.workqueueDepth
    public static let workqueueAdds = RuntimeMetricNames.workqueueAdds
    public static let workqueueRetries = RuntimeMetricNames.workqueueRetries
    public static let leader = RuntimeMetricNames.leader
    public static let desiredReplicas = "heteroscale_desired_replicas"
    public static let actualReplicas = "heteroscale_actual_replicas"
    public static let panicMode = "heteroscale_panic_mode"
    public static let metricValue = "heteroscale_metric_value"
    public static let scrapeErrors = "heteroscale_scrape_errors_total"
    public static let scaleTotal = "heteroscale_scale_total"
    public static let scrapeMode = "heteroscale_scrape_mode"

    /// Declares every family in `registry`.
    public static func register(in registry: MetricsRegistry) {
        RuntimeMetricNames.register(in: registry)
        registry.register(desiredReplicas, .gauge, help: "Replicas the PodAutoscaler last decided for its target.")
        registry.register(actualReplicas, .gauge, help: "Replicas of the target (its /scale spec.replicas) at the last decision.")
        registry.register(panicMode, .gauge, help: "1 while a KPA PodAutoscaler is in panic mode, else 0.")
        registry.register(metricValue, .gauge, help: "The current value of each metric a PodAutoscaler observes.")
        registry.register(scrapeErrors, .counter, help: "Failed metric observations (pod scrapes or queries) per PodAutoscaler.")
        registry.register(scaleTotal, .counter, help: "Writes to a target's /scale per PodAutoscaler and direction.")
        registry.register(scrapeMode, .gauge, help: "1 for the way a PodAutoscaler's pods are scraped (mode: direct or apiserver, the pod proxy); absent while --scrape-via auto has not decided.")
    }
}
