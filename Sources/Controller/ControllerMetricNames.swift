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
    public static let scaleTargetReachable = "heteroscale_scale_target_reachable"
    public static let groupCondition = "heteroscale_group_condition"
    /// The DeploymentGroup conditions `groupCondition` exports.
    public static let groupConditions = [DeploymentGroupStatusBuilder.placed, DeploymentGroupStatusBuilder.available, DeploymentGroupStatusBuilder.ratioBalanced]

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
        registry.register(scaleTargetReachable, .gauge, help: "1 when the last reconcile of a PodAutoscaler could read its target's /scale, 0 when it could not (FailedGetScale).")
        registry.register(groupCondition, .gauge, help: "1 while a DeploymentGroup's condition (Placed, Available, RatioBalanced) is True, 0 while it is False.")
    }
}
