import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Logging
import Metrics
import YAML

/// Knobs of the PodAutoscaler reconciler.
public struct PodAutoscalerReconcilerOptions: Sendable {
    /// Decide and report, but never write `/scale`.
    public var advisory = false
    /// Extra attempts after a 409 on `/scale` (each re-reads the scale first).
    public var scaleConflictRetries = 3
    /// The pod label naming a P/D role.
    public var roleLabel = "heteroscale.io/role"
    /// The shortest requeue after a failure (reading the target, writing `/scale` or status).
    public var minimumRetry: Duration = .seconds(5)
    /// The shortest decision period, whatever `spec.tickSeconds` says.
    public var minimumTick: Double = 0.5
    /// Status changes that touch only `currentMetrics` are written at most this often.
    public var metricsStatusInterval: Double = 15
    /// A warning repeated with the same reason and message for one PodAutoscaler is logged at most this often
    /// (seconds); the next line says how many repeats were suppressed.
    public var repeatedLogInterval: Double = 300
    public init() {}
}

/// Reconciles one PodAutoscaler (DESIGN.md §3): cache → target `/scale` → metrics → `Autoscaler.decide` →
/// `/scale` write (resourceVersion-guarded) → status, conditions and events → requeue after the tick.
///
/// Level-based: everything is re-read on each call; the only memory is the strategy state (rebuilt
/// conservatively after a restart) and the last status written.
public final class PodAutoscalerReconciler<C: Clock>: Reconciler where C.Duration == Duration {
    let client: RESTClient
    let discovery: Discovery
    let autoscalers: ObjectStore
    let pods: ObjectStore
    let metrics: any MetricsProvider
    let recorder: EventRecorder<C>
    let registry: MetricsRegistry
    let wallClock: @Sendable () -> Date
    let logger: Logger
    let options: PodAutoscalerReconcilerOptions
    let states = AutoscalerStates()
    /// Repeated warnings per PodAutoscaler and reason: once per interval, with the count of repeats.
    let logThrottle: LogThrottle
    /// Target identity → its owning PodAutoscaler, for one generation of the PodAutoscaler cache.
    private let owners = Locked<(generation: UInt64, owners: [String: (created: String, name: String)])>((.max, [:]))

    public init(client: RESTClient, discovery: Discovery, autoscalers: ObjectStore, pods: ObjectStore,
                metrics: any MetricsProvider, recorder: EventRecorder<C>, registry: MetricsRegistry,
                wallClock: @escaping @Sendable () -> Date = { Date() }, logger: Logger,
                options: PodAutoscalerReconcilerOptions = PodAutoscalerReconcilerOptions()) {
        self.client = client
        self.discovery = discovery
        self.autoscalers = autoscalers
        self.pods = pods
        self.metrics = metrics
        self.recorder = recorder
        self.registry = registry
        self.wallClock = wallClock
        self.logger = logger
        self.options = options
        logThrottle = LogThrottle(interval: options.repeatedLogInterval)
        ControllerMetricNames.register(in: registry)
    }

    /// One reconcile. Any failure that escapes the steps (a status write while the API server is down, say) is
    /// logged (rate-limited) and retried after max(tick, `minimumRetry`), never with the work queue's growing
    /// per-item backoff, so the autoscaler resumes within a tick of the server's return.
    public func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        do {
            return try await reconcileSteps(key)
        } catch let retry as RetryAfter {
            throw retry
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let message = Self.describe(error)
            log(.error, key, reason: "ReconcileFailed", "cannot reconcile", message: message)
            throw RetryAfter(retryDelay(key), underlying: error)
        }
    }

    /// max(tick, `minimumRetry`) for the PodAutoscaler `key` as cached (`minimumRetry` when it is not decodable).
    private func retryDelay(_ key: ObjectKey) -> Duration {
        let spec = autoscalers.get(key).flatMap { try? $0.decode(PodAutoscaler.self).spec }
        let tick = spec.map { max(Autoscaler.tickSeconds($0), options.minimumTick) } ?? 0
        return max(.milliseconds(Int64((tick * 1000).rounded())), options.minimumRetry)
    }

    /// Writes a log line unless the same subject, reason and message were logged within the throttle's
    /// interval (then it is counted, and the next line says how many were suppressed).
    private func log(_ level: Logger.Level, _ key: ObjectKey, reason: String, _ line: Logger.Message, message: String,
                     metadata extra: Logger.Metadata = [:]) {
        guard case .write(let suppressed) = logThrottle.check(subject: key.description, reason: reason, message: message, now: wallClock())
        else { return }
        var metadata: Logger.Metadata = ["podautoscaler": "\(key)", "reason": "\(reason)", "message": "\(message)"]
        metadata.merge(extra) { a, _ in a }
        if suppressed > 0 { metadata["repeated"] = "\(suppressed)" }
        logger.log(level: level, line, metadata: metadata)
    }

    private func reconcileSteps(_ key: ObjectKey) async throws -> ReconcileResult {
        guard let object = autoscalers.get(key) else {
            await cleanUp(key)
            return .done
        }
        guard object["metadata"]?["deletionTimestamp"] == nil else { return .done }
        let now = wallClock()
        let subject = EventSubject(apiVersion: PodAutoscaler.apiVersion, kind: PodAutoscaler.kind, namespace: key.namespace,
                                   name: key.name, uid: object["metadata"]?["uid"]?.stringValue)
        let generation = object["metadata"]?["generation"]?.intValue
        // A PodAutoscaler deleted and re-created under the same name starts afresh.
        if await states.replaceIfNewObject(key, uid: object["metadata"]?["uid"]?.stringValue ?? "") {
            await metrics.forget(key: key.description)
        }
        let previous = await states.lastStatus(key) ?? (try? object["status"]?.decode(PodAutoscalerStatus.self))

        // The spec: decodable, valid, and the only PodAutoscaler of its target.
        var pa: PodAutoscaler
        do {
            pa = try object.decode(PodAutoscaler.self)
        } catch {
            try await reject(key, object, subject, previous, generation, reason: "InvalidSpec", message: "invalid spec: \(error)", now: now)
            return .done
        }
        // AIBrix annotations and fields stand in for the typed fields they map to (a typed field wins).
        let compatibility = AIBrixCompatibility.resolve(pa)
        pa.spec = compatibility.spec
        await reportCompatibility(key, subject, compatibility)
        let issues = compatibility.issues + Autoscaler.validate(pa.spec)
        guard issues.isEmpty else {
            let message = "invalid spec: " + issues.map(\.description).joined(separator: "; ")
            try await reject(key, object, subject, previous, generation, reason: "InvalidSpec", message: message, now: now)
            return .done
        }
        let ref = pa.spec.scaleTargetRef
        // A tick below the floor would turn the requeue into a busy loop.
        let tick = Duration.milliseconds(Int64((max(Autoscaler.tickSeconds(pa.spec), options.minimumTick) * 1000).rounded()))
        let roleName = pa.spec.subTargetSelector?.roleName.flatMap { $0.isEmpty ? nil : $0 }
        if let roleName, !Self.isDeploymentGroup(ref) {
            let message = "subTargetSelector.roleName (\(roleName)) scales one role of a DeploymentGroup, but the target is a \(ref.kind); "
                + "remove subTargetSelector or target a heteroscale.io DeploymentGroup"
            try await reject(key, object, subject, previous, generation, reason: "UnsupportedTarget", message: message, now: now)
            return .done
        }
        if let owner = owningAutoscaler(of: pa.spec, namespace: key.namespace), owner != key.name {
            let message = "the target \(ref.kind)/\(ref.name) is also scaled by PodAutoscaler \(owner), which is older; "
                + "this one does nothing while that one exists"
            try await reject(key, object, subject, previous, generation, reason: "MultiplePodAutoscalers", message: message, now: now)
            // Look again on the tick: the owner may go away (its deletion also re-queues this one).
            return .requeueAfter(tick)
        }

        // The target's scale.
        let target: Discovery.ResourceInfo
        var scale: JSONValue
        do {
            target = try await resolveTarget(ref)
            scale = try await client.get(target.resource, namespace: key.namespace, name: ref.name, subresource: Scale.subresource)
        } catch {
            let message = Self.describe(error)
            await recorder.record(subject, type: .warning, reason: "FailedGetScale", action: "GetScale", note: message)
            log(.warning, key, reason: "FailedGetScale", "cannot read the target's scale", message: message)
            registry.set(ControllerMetricNames.scaleTargetReachable, ["namespace": key.namespace, "name": key.name], 0)
            let status = PodAutoscalerStatusBuilder.failedGetScale(previous, generation: generation, message: message, now: now)
            try await writeStatusOrRetry(key, object, status, now: now, retry: max(tick, options.minimumRetry))
            return .requeueAfter(max(tick, options.minimumRetry))
        }
        registry.set(ControllerMetricNames.scaleTargetReachable, ["namespace": key.namespace, "name": key.name], 1)
        var current = Int(scale["spec"]?["replicas"]?.intValue ?? 0)
        var selector = scale["status"]?["selector"]?.stringValue ?? ""
        // A DeploymentGroup: its roles (the P/D strategies size them together), or the one role scaled.
        var group: (object: JSONValue, spec: DeploymentGroupSpec, split: [Int], role: Int?)?
        if Self.isDeploymentGroup(ref) {
            do {
                let dg = try await client.get(.deploymentGroups, namespace: key.namespace, name: ref.name)
                let spec = try dg.decode(DeploymentGroup.self).spec
                let role = roleName.flatMap { name in spec.roles.firstIndex { $0.name == name } }
                if let roleName, role == nil {
                    let message = "subTargetSelector.roleName \(roleName) is not a role of DeploymentGroup \(ref.name) (roles: \(spec.roles.map(\.name).joined(separator: ", ")))"
                    try await reject(key, object, subject, previous, generation, reason: "UnsupportedTarget", message: message, now: now)
                    return .requeueAfter(max(tick, options.minimumRetry))
                }
                let split = RatioApportionment.split(spec)
                group = (dg, spec, split, role)
                if let role {
                    current = split[role]
                    if !selector.isEmpty { selector += ",\(options.roleLabel)=\(spec.roles[role].name)" }
                }
            } catch let e as KubeAPIError {
                throw RetryAfter(max(tick, options.minimumRetry), underlying: e)
            }
        }
        let expression = selector.isEmpty ? nil : try? LabelSelectorExpression(parsing: selector)
        if let problem = Self.selectorProblem(selector, parsed: expression, needed: Self.needsPods(pa.spec)) {
            await recorder.record(subject, type: .warning, reason: problem.reason, action: "SelectPods", note: problem.message)
            log(.warning, key, reason: problem.reason, "cannot select the target's pods", message: problem.message)
            let status = PodAutoscalerStatusBuilder.invalidSelector(previous, generation: generation, current: current,
                                                                    reason: problem.reason, message: problem.message, now: now)
            try await writeStatusOrRetry(key, object, status, now: now, retry: max(tick, options.minimumRetry))
            return .requeueAfter(max(tick, options.minimumRetry))
        }

        // Pods and metrics.
        let targetPods = expression.map { selectPods(namespace: key.namespace, matching: $0) } ?? []
        let collected = await metrics.collect(key: key.description, spec: pa.spec, namespace: key.namespace, selector: selector,
                                              pods: targetPods, now: now)
        let labels = ["namespace": key.namespace, "name": key.name]
        reportRoute(collected.route, key: key, labels: labels)
        if !collected.failures.isEmpty {
            registry.increment(ControllerMetricNames.scrapeErrors, labels, by: Double(collected.failures.count))
            let first = collected.failures[0]
            let more = collected.failures.count > 1 ? " (and \(collected.failures.count - 1) more)" : ""
            await recorder.record(subject, type: .warning, reason: "FailedGetPodsMetric", action: "GetMetrics",
                                  note: "unable to observe metrics: \(first)\(more); missing values are not treated as zero")
        }

        // Decide.
        let stateBefore = await states.state(for: key, target: Self.targetIdentity(ref, role: pa.spec.subTargetSelector?.roleName),
                                             current: current, now: now)
        var state = stateBefore
        var roles: [RoleSnapshot] = []
        if let group, group.role == nil {
            roles = zip(group.spec.roles, group.split).map { role, count in
                RoleSnapshot(name: role.name, weight: role.weight, current: count, ready: 0,
                             minReplicas: role.minReplicas, maxReplicas: role.maxReplicas)
            }
        }
        // The one snapshot builder (shared with the simulator): ready pods and per-role ready counts from the pods.
        let snapshot = ObservationPipeline.snapshot(current: current, pods: targetPods, roles: roles, collection: collected)
        let decision = Autoscaler.decide(spec: pa.spec, snapshot: snapshot, state: &state, now: now)
        // Not while every pod is still starting (no data yet is no failure), as a warning once pods serve.
        if !decision.scalingActive, [ReasonCode.failedGetMetrics, .invalidMetricSourceType].contains(decision.activeCondition.reason),
           targetPods.contains(where: { $0.ready }) || !collected.failures.isEmpty {
            await recorder.record(subject, type: .warning, reason: "FailedComputeMetricsReplicas", action: "ComputeReplicas",
                                  note: "failed to compute desired number of replicas based on listed metrics: \(decision.activeCondition.message)")
        }
        logger.debug("decided", metadata: [
            "podautoscaler": "\(key)", "current": "\(current)", "desired": "\(decision.desiredReplicas)",
            "active": "\(decision.scalingActive)", "reason": "\(decision.reason)",
        ])

        // Apply.
        var outcome = ScaleOutcome.unchanged
        var writeError: (any Error)?
        let desired = decision.desiredReplicas
        if decision.scalingActive && desired != current {
            if options.advisory {
                outcome = .advisory(from: current, to: desired)
                await recorder.record(subject, type: .normal, reason: "AdvisoryRescale", action: "Recommend",
                                      note: "Recommended size: \(desired); reason: \(decision.reason)")
            } else {
                do {
                    if let group, let role = group.role {
                        try await writeRoleReplicas(namespace: key.namespace, name: ref.name, group: group.spec, role: role, from: current, to: desired)
                    } else {
                        try await writeScale(target.resource, namespace: key.namespace, name: ref.name, scale: &scale, replicas: desired)
                    }
                    outcome = .scaled(from: current, to: desired)
                    registry.increment(ControllerMetricNames.scaleTotal, labels.merging(["direction": desired > current ? "up" : "down"]) { a, _ in a })
                    await recorder.record(subject, type: .normal, reason: "SuccessfulRescale", action: "Scale",
                                          note: "New size: \(desired); reason: \(decision.reason)")
                    logger.info("rescaled", metadata: [
                        "podautoscaler": "\(key)", "target": "\(ref.kind)/\(ref.name)", "from": "\(current)", "to": "\(desired)",
                        "reason": "\(decision.reason)",
                    ])
                } catch {
                    let message = Self.describe(error)
                    outcome = .failed(to: desired, message: message)
                    writeError = error
                    await recorder.record(subject, type: .warning, reason: "FailedRescale", action: "Scale",
                                          note: "New size: \(desired); reason: \(decision.reason); error: \(message)")
                    log(.error, key, reason: "FailedRescale", "cannot write the target's scale", message: message)
                }
            }
        }

        // Remember what the decision observed; its scale action only if it was applied.
        switch outcome {
        case .scaled, .unchanged: await states.save(key, state)
        case .failed, .advisory: await states.save(key, state.withoutScaleAction(restoring: stateBefore))
        }

        // Report.
        let status = PodAutoscalerStatusBuilder.decided(previous, generation: generation, spec: pa.spec, decision: decision,
                                                        current: current, outcome: outcome, now: now,
                                                        specNote: Self.ignoredNote(compatibility), scrapeNote: Self.scrapeNote(collected.route))
        try await writeStatusOrRetry(key, object, status, now: now, retry: max(tick, options.minimumRetry))
        registry.set(ControllerMetricNames.desiredReplicas, labels, Double(desired))
        if case .scaled(_, let to) = outcome {
            registry.set(ControllerMetricNames.actualReplicas, labels, Double(to))
        } else {
            registry.set(ControllerMetricNames.actualReplicas, labels, Double(current))
        }
        if let panic = decision.details.panic { registry.set(ControllerMetricNames.panicMode, labels, panic ? 1 : 0) }
        // Only the metrics this decision saw: a metric that went missing must not keep its last value.
        for metric in await states.swapMetricNames(key, Set(decision.details.metricValues.keys)) {
            registry.remove(ControllerMetricNames.metricValue, labels.merging(["metric": metric]) { a, _ in a })
        }
        for (metric, value) in decision.details.metricValues {
            registry.set(ControllerMetricNames.metricValue, labels.merging(["metric": metric]) { a, _ in a }, value)
        }
        // A failed /scale write is retried on the tick (at least `minimumRetry`), not with a growing backoff
        // that would silence the autoscaler: it counts as a failed reconcile.
        if let writeError { throw RetryAfter(max(tick, options.minimumRetry), underlying: writeError) }
        return .requeueAfter(tick)
    }

    // MARK: - Steps

    /// Events for the AIBrix settings that were used (Normal `AIBrixSettingsApplied`) and for those accepted but
    /// without effect here (Warning `AIBrixSettingsIgnored`), once per change of the settings, not per tick.
    private func reportCompatibility(_ key: ObjectKey, _ subject: EventSubject, _ r: AIBrixCompatibility.Resolution) async {
        guard await states.swapCompatibilityReport(key, r.applied.map(\.description) + r.ignored.map(\.description)) else { return }
        if !r.applied.isEmpty {
            await recorder.record(subject, type: .normal, reason: "AIBrixSettingsApplied", action: "Validate",
                                  note: r.applied.map(\.description).joined(separator: "; "))
        }
        if let note = Self.ignoredNote(r) {
            await recorder.record(subject, type: .warning, reason: "AIBrixSettingsIgnored", action: "Validate", note: note)
        }
    }

    /// "AIBrix settings without effect here: …", or `nil` when there are none.
    static func ignoredNote(_ r: AIBrixCompatibility.Resolution) -> String? {
        r.ignored.isEmpty ? nil : "AIBrix settings without effect here: " + r.ignored.map(\.description).joined(separator: "; ")
    }

    private func reject(_ key: ObjectKey, _ object: JSONValue, _ subject: EventSubject, _ previous: PodAutoscalerStatus?,
                        _ generation: Int64?, reason: String, message: String, now: Date) async throws {
        await states.resetState(key)
        await recorder.record(subject, type: .warning, reason: reason, action: "Validate", note: message)
        log(.warning, key, reason: reason, "not scaling", message: message)
        let status = PodAutoscalerStatusBuilder.rejected(previous, generation: generation, reason: reason, message: message, now: now)
        try await writeStatusOrRetry(key, object, status, now: now, retry: retryDelay(key))
    }

    /// `writeStatus`, with a failure logged (rate-limited) and turned into a fixed-interval retry.
    private func writeStatusOrRetry(_ key: ObjectKey, _ object: JSONValue, _ status: PodAutoscalerStatus, now: Date, retry: Duration) async throws {
        do {
            try await writeStatus(key, object, status, now: now)
        } catch {
            log(.error, key, reason: "FailedUpdateStatus", "cannot write status", message: Self.describe(error))
            throw RetryAfter(retry, underlying: error)
        }
    }

    /// The oldest live PodAutoscaler in `namespace` that scales the same target (and role) as `spec`. The
    /// owners of all targets are computed once per change of the PodAutoscaler cache, not per reconcile.
    func owningAutoscaler(of spec: PodAutoscalerSpec, namespace: String) -> String? {
        let mine = namespace + "/" + Self.targetIdentity(spec.scaleTargetRef, role: spec.subTargetSelector?.roleName)
        let generation = autoscalers.generation
        if let cached = owners.withLock({ $0.generation == generation ? $0.owners : nil }) { return cached[mine]?.name }
        var computed: [String: (created: String, name: String)] = [:]
        for o in autoscalers.list() {
            let ref = o["spec"]?["scaleTargetRef"]
            guard o["metadata"]?["deletionTimestamp"] == nil, let name = o["metadata"]?["name"]?.stringValue,
                  let kind = ref?["kind"]?.stringValue, let target = ref?["name"]?.stringValue else { continue }
            // An invalid PodAutoscaler scales nothing, so it owns nothing: it must not block a valid one.
            guard let spec = try? o.decode(PodAutoscaler.self).spec, Autoscaler.validate(spec).isEmpty else { continue }
            let identity = (o["metadata"]?["namespace"]?.stringValue ?? "") + "/" + Self.targetIdentity(
                CrossVersionObjectReference(apiVersion: ref?["apiVersion"]?.stringValue, kind: kind, name: target),
                role: o["spec"]?["subTargetSelector"]?["roleName"]?.stringValue)
            let candidate = (created: o["metadata"]?["creationTimestamp"]?.stringValue ?? "", name: name)
            if let current = computed[identity], (current.created, current.name) <= (candidate.created, candidate.name) { continue }
            computed[identity] = candidate
        }
        owners.withLock { $0 = (generation, computed) }
        return computed[mine]?.name
    }

    static func targetIdentity(_ ref: CrossVersionObjectReference, role: String?) -> String {
        let group = (ref.apiVersion ?? "apps/v1").split(separator: "/").dropLast().joined(separator: "/")
        return "\(group)/\(ref.kind)/\(ref.name)/\(role ?? "")"
    }

    private func resolveTarget(_ ref: CrossVersionObjectReference) async throws -> Discovery.ResourceInfo {
        let apiVersion = ref.apiVersion ?? "apps/v1"
        let info: Discovery.ResourceInfo
        do {
            info = try await discovery.resolve(apiVersion: apiVersion, kind: ref.kind)
        } catch let e as KubeAPIError where e.isNotFound {
            await discovery.invalidate()
            throw KubeAPIError(reason: "NotFound", code: 404, message: "the server does not serve kind \(ref.kind) in \(apiVersion)",
                               method: "GET", path: "")
        }
        guard info.subresources.contains(Scale.subresource) else {
            throw KubeAPIError(reason: "BadRequest", code: 400,
                               message: "\(info.resource.resource).\(info.resource.group) has no /scale subresource", method: "GET", path: "")
        }
        return info
    }

    static func isDeploymentGroup(_ ref: CrossVersionObjectReference) -> Bool {
        ref.kind == DeploymentGroup.kind && (ref.apiVersion ?? "").hasPrefix("heteroscale.io/")
    }

    /// Scales one role of a DeploymentGroup (`subTargetSelector.roleName`): pins the role's `replicas` and moves
    /// `spec.replicas` by the same amount, so `/scale` keeps showing the total and the other roles keep their
    /// counts. One JSON patch, guarded by a `test` of the role's name at that index and of the total read.
    private func writeRoleReplicas(namespace: String, name: String, group: DeploymentGroupSpec, role: Int, from: Int, to: Int) async throws {
        let path = "/spec/roles/\(role)"
        let patch: JSONValue = [
            ["op": "test", "path": .string(path + "/name"), "value": .string(group.roles[role].name)],
            ["op": "test", "path": "/spec/replicas", "value": .int(Int64(group.replicas))],
            ["op": "add", "path": .string(path + "/replicas"), "value": .int(Int64(to))],
            ["op": "replace", "path": "/spec/replicas", "value": .int(Int64(max(0, group.replicas + to - from)))],
        ]
        _ = try await client.patch(.deploymentGroups, namespace: namespace, name: name, type: .json, patch)
    }

    /// PUT `/scale` carrying the read resourceVersion; a 409 re-reads the scale and tries again (bounded).
    private func writeScale(_ resource: GroupVersionResource, namespace: String, name: String, scale: inout JSONValue, replicas: Int) async throws {
        let expected = Int(scale["spec"]?["replicas"]?.intValue ?? 0)
        var attempt = 0
        while true {
            scale["spec"] = .object(scale["spec"]?.objectValue ?? JSONObject())
            scale["spec"]?["replicas"] = .int(Int64(replicas))
            do {
                scale = try await client.update(resource, namespace: namespace, scale, subresource: Scale.subresource)
                return
            } catch let e as KubeAPIError where e.isConflict && attempt < options.scaleConflictRetries {
                // Most conflicts are the workload controller's own status writes. Retry only when nobody
                // changed the replicas meanwhile; otherwise the next tick decides again on the new count.
                attempt += 1
                let reread = try await client.get(resource, namespace: namespace, name: name, subresource: Scale.subresource)
                guard reread["spec"]?["replicas"]?.intValue == Int64(expected) else { throw e }
                scale = reread
            }
        }
    }

    /// Writes status through `/status` when it differs from what the object shows; 409 → re-read and retry.
    private func writeStatus(_ key: ObjectKey, _ object: JSONValue, _ status: PodAutoscalerStatus, now: Date) async throws {
        let last = await states.lastWritten(key)
        guard last?.status != status else {
            await states.setLastStatus(key, status)
            return
        }
        let encoded = try JSONValue(encoding: status)
        guard object["status"] != encoded else {
            await states.setLastStatus(key, status)
            return
        }
        // Only the metric values moved: at most one write per `metricsStatusInterval` (each write is an etcd
        // write and a watch event for every client).
        if let last, now.timeIntervalSince(last.time) < options.metricsStatusInterval {
            var a = last.status, b = status
            a.currentMetrics = nil
            b.currentMetrics = nil
            if a == b { return }
        }
        var updated = object
        updated["status"] = encoded
        do {
            do {
                // The cached object's resourceVersion is usually current (this controller is the only writer).
                _ = try await client.update(.podAutoscalers, namespace: key.namespace, updated, subresource: "status")
            } catch let e as KubeAPIError where e.isConflict {
                // Stale cache: re-read, and write unless the status is already there.
                _ = try await retryOnConflict(attempts: 3) { [client] in
                    var fresh = try await client.get(.podAutoscalers, namespace: key.namespace, name: key.name)
                    guard fresh["status"] != encoded else { return fresh }
                    fresh["status"] = encoded
                    return try await client.update(.podAutoscalers, namespace: key.namespace, fresh, subresource: "status")
                }
            }
        } catch let e as KubeAPIError where e.isNotFound {
            return  // deleted meanwhile
        }
        await states.setWritten(key, status, at: now)
    }

    /// Whether the decision reads pods (prometheus sources without `{{pod}}` and Periodic schedules do not).
    static func needsPods(_ spec: PodAutoscalerSpec) -> Bool {
        if spec.strategy?.readsPodSignals == true { return true }
        return (spec.metricsSources ?? []).contains {
            $0.metricSourceType != MetricSourceType.prometheus.rawValue || ($0.query ?? "").contains("{{pod}}")
        }
    }

    /// HPA's `SelectorRequired` / `InvalidSelector`: the target's `/scale` must say which pods are its own.
    static func selectorProblem(_ selector: String, parsed: LabelSelectorExpression?, needed: Bool) -> (reason: String, message: String)? {
        guard needed else { return nil }
        if selector.isEmpty {
            return ("SelectorRequired", "the target's /scale has no status.selector (its labelSelectorPath), so its pods are unknown")
        }
        if parsed == nil {
            return ("InvalidSelector", "the target's /scale status.selector \"\(selector)\" cannot be parsed")
        }
        return nil
    }

    /// The cached pods of `namespace` that match the target's selector.
    func selectPods(namespace: String, matching expression: LabelSelectorExpression) -> [TargetPod] {
        pods.list(namespace: namespace, matching: expression).compactMap { p -> TargetPod? in
            let labels = p["metadata"]?["labels"]?.objectValue ?? JSONObject()
            guard let name = p["metadata"]?["name"]?.stringValue else { return nil }
            let conditions = p["status"]?["conditions"]?.arrayValue ?? []
            let readyCondition = conditions.first { $0["type"]?.stringValue == "Ready" }
            let ready = readyCondition?["status"]?.stringValue == "True"
            let phase: PodSample.Phase
            if p["metadata"]?["deletionTimestamp"] != nil {
                phase = .deleting
            } else {
                switch p["status"]?["phase"]?.stringValue {
                case "Running": phase = .running
                case "Failed", "Succeeded": phase = .failed
                default: phase = .pending
                }
            }
            return TargetPod(
                name: name, ip: p["status"]?["podIP"]?.stringValue, ready: ready, phase: phase,
                role: labels[options.roleLabel]?.stringValue,
                startTime: p["status"]?["startTime"]?.stringValue.flatMap(RFC3339.parse),
                readyTime: ready ? readyCondition?["lastTransitionTime"]?.stringValue.flatMap(RFC3339.parse) : nil)
        }.sorted { $0.name < $1.name }
    }

    private func cleanUp(_ key: ObjectKey) async {
        logThrottle.forget(subject: key.description)
        await states.remove(key)
        await metrics.forget(key: key.description)
        let labels = ["namespace": key.namespace, "name": key.name]
        for name in [ControllerMetricNames.desiredReplicas, ControllerMetricNames.actualReplicas, ControllerMetricNames.panicMode,
                     ControllerMetricNames.metricValue, ControllerMetricNames.scrapeErrors, ControllerMetricNames.scaleTotal,
                     ControllerMetricNames.scrapeMode, ControllerMetricNames.scaleTargetReachable] {
            registry.removeAll(name, matching: labels)
        }
    }

    /// Logs `auto`'s choice once, the pod proxy load warning once, and sets `heteroscale_scrape_mode`.
    private func reportRoute(_ report: MetricsCollector.RouteReport, key: ObjectKey, labels: [String: String]) {
        if report.decided, let route = report.route {
            logger.info("scrape route chosen", metadata: [
                "podautoscaler": "\(key)", "route": "\(route.rawValue)", "reason": "\(report.reason ?? "")",
            ])
        }
        if let warning = report.loadWarning { logger.warning("pod proxy load", metadata: ["message": "\(warning)"]) }
        guard let route = report.route else { return }
        for other in ScrapeRoute.allCases where other != route {
            registry.remove(ControllerMetricNames.scrapeMode, labels.merging(["mode": other.rawValue]) { a, _ in a })
        }
        registry.set(ControllerMetricNames.scrapeMode, labels.merging(["mode": route.rawValue]) { a, _ in a }, 1)
    }

    /// For the ScalingActive condition, when pods are scraped through the API server.
    static func scrapeNote(_ report: MetricsCollector.RouteReport) -> String? {
        guard report.route == .apiserver else { return nil }
        return "pods are scraped through the API server's pod proxy (\(report.reason ?? "--scrape-via apiserver"))"
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? KubeAPIError { return e.message.isEmpty ? "\(e)" : "\(e.code) \(e.reason): \(e.message)" }
        return "\(error)"
    }
}
