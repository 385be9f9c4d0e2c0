import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Logging
import Placement
import YAML

/// Knobs of the DeploymentGroup reconciler.
public struct DeploymentGroupReconcilerOptions: Sendable {
    /// Look again at least this often (capacity freed elsewhere, soft scale-in windows, SLO checks).
    public var resync: Duration = .seconds(10)
    /// While instances are under a soft scale-in's observation, look this often (restore on an SLO breach).
    public var softScaleInCheck: Duration = .seconds(2)
    /// How long a pod may stay after its soft scale-in ended (retiring) before the controller deletes it itself.
    public var retiringGrace: Duration = .seconds(30)
    /// The shortest requeue after a failure.
    public var minimumRetry: Duration = .seconds(5)
    /// Node labels of the topology.
    public var labels: TopologyLabels = .default
    public init() {}
}

/// Reconciles one DeploymentGroup (DESIGN.md §3): split `spec.replicas` by the roles' weights (the shared
/// `RatioApportionment.split`), run a placement cycle over the live Nodes and Pods with every group's existing
/// placements (so two groups never get the same GPUs), and make the child Deployments — one per (role,
/// placement) — match: create, update (resourceVersion-guarded, template changes roll out), scale in exactly
/// the engine's victims (pod-deletion-cost first), or take them out of service first (soft scale-in), delete
/// orphans. Then status, conditions and events. Level-based: everything is re-read on each call; the children
/// (their labels and annotations) are the memory, so a restarted controller finds the same placements.
public final class DeploymentGroupReconciler<C: Clock>: Reconciler where C.Duration == Duration {
    let client: RESTClient
    let groups: ObjectStore
    let deployments: ObjectStore
    let pods: ObjectStore
    let nodes: ObjectStore
    let autoscalers: ObjectStore?
    let recorder: EventRecorder<C>
    let wallClock: @Sendable () -> Date
    let logger: Logger
    let options: DeploymentGroupReconcilerOptions
    /// Where `heteroscale_group_condition` goes (none in unit tests that do not look).
    let registry: MetricsRegistry?
    let logThrottle = LogThrottle(interval: 300)
    /// The last status written per group (to write only changes) and the last placement events.
    private let memory = Locked<[ObjectKey: (status: DeploymentGroupStatus?, placed: String)]>([:])

    public init(client: RESTClient, groups: ObjectStore, deployments: ObjectStore, pods: ObjectStore, nodes: ObjectStore,
                autoscalers: ObjectStore? = nil, recorder: EventRecorder<C>, wallClock: @escaping @Sendable () -> Date = { Date() },
                logger: Logger, options: DeploymentGroupReconcilerOptions = .init(), registry: MetricsRegistry? = nil) {
        self.registry = registry
        self.client = client
        self.groups = groups
        self.deployments = deployments
        self.pods = pods
        self.nodes = nodes
        self.autoscalers = autoscalers
        self.recorder = recorder
        self.wallClock = wallClock
        self.logger = logger
        self.options = options
    }

    public func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        do {
            return try await reconcileSteps(key)
        } catch let retry as RetryAfter {
            throw retry
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let message = Self.describe(error)
            log(key, reason: "ReconcileFailed", "cannot reconcile the group", message: message)
            throw RetryAfter(options.minimumRetry, underlying: error)
        }
    }

    private func reconcileSteps(_ key: ObjectKey) async throws -> ReconcileResult {
        guard let object = groups.get(key), object["metadata"]?["deletionTimestamp"] == nil else {
            memory.withLock { $0[key] = nil }
            logThrottle.forget(subject: key.description)
            registry?.removeAll(ControllerMetricNames.groupCondition, matching: ["namespace": key.namespace, "name": key.name])
            return .done
        }
        let now = wallClock()
        let subject = EventSubject(apiVersion: DeploymentGroup.apiVersion, kind: DeploymentGroup.kind, namespace: key.namespace,
                                   name: key.name, uid: object["metadata"]?["uid"]?.stringValue)
        let group: DeploymentGroup
        do {
            group = try object.decode(DeploymentGroup.self)
        } catch {
            try await reject(key, object, subject, message: "invalid spec: \(error)", now: now)
            return .done
        }
        let issues = DeploymentGroupValidation.validate(group.spec)
        guard issues.isEmpty else {
            try await reject(key, object, subject, message: "invalid spec: " + issues.map(\.description).joined(separator: "; "), now: now)
            return .done
        }
        let gateCondition = group.spec.gate?.conditionType ?? ChildDeployments.defaultGateCondition
        let desired = RatioApportionment.split(group.spec)
        let children = childrenOf(key)
        var groupPods = podsOf(key, gateCondition: gateCondition)

        // Soft scale-in: restore on a scale-up or an SLO breach; delete for real once observed long enough.
        if try await progressSoftScaleIn(group, key: key, subject: subject, desired: desired, pods: groupPods, now: now) {
            // Pods and children changed: plan again on the caches once they show it.
            return .requeueAfter(.milliseconds(500))
        }

        // One placement cycle over every group, applied to this one.
        let plan = try placementPlan(for: group, key: key, desired: desired)
        let result = plan.group(namespace: key.namespace, key.name)
        var wanted: [String: ChildDeployments.Child] = [:]
        let soft = Dictionary(grouping: groupPods.filter(\.observed)) { "\($0.role)|\($0.placement)" }
        for p in result?.placements ?? [] {
            for (role, allocation) in p.roles {
                let child = ChildDeployments.Child(
                    role: role, level: p.level, domain: p.domain, placement: p.name, gpuType: allocation.gpuType,
                    nodeSelector: p.nodeSelectors[role] ?? [:],
                    replicas: allocation.count + (soft["\(role)|\(p.name)"]?.count ?? 0))
                wanted[ChildDeployments.name(group: key.name, role: role, placement: p.name)] = child
            }
        }

        // Scale-in victims, as the engine ordered them. With soft scale-in, no new victims leave service while a
        // PodAutoscaler on the group sees its latency SLO breached (they would only be restored again): the scale-in
        // is held until the breach clears.
        let held = group.spec.softScaleIn != nil && sloBreach(key) != nil
        var softAdded: [GroupPod] = []
        var heldBack: [GroupPod] = []
        for p in (result?.placements ?? []) + (result?.released ?? []) {
            for (role, count) in p.removed.sorted(by: { $0.key < $1.key }) where count > 0 {
                let candidates = groupPods.filter { $0.role == role && $0.placement == p.name && !$0.deleting && $0.softScaleInSince == nil }
                let victims = Array(GroupPod.scaleInOrder(candidates, preferredNodes: p.victims.filter { $0.role == role }.map(\.node)).prefix(count))
                let childName = ChildDeployments.name(group: key.name, role: role, placement: p.name)
                if group.spec.softScaleIn != nil {
                    if held {
                        heldBack += victims
                    } else {
                        try await markSoftScaleIn(victims, namespace: key.namespace, now: now)
                        softAdded += victims
                    }
                    // The child keeps its pods while they are observed.
                    if wanted[childName] == nil, let old = children.first(where: { $0.name == childName }) {
                        wanted[childName] = old.asChild(replicas: old.replicas)
                    } else {
                        wanted[childName]?.replicas += victims.count
                    }
                } else {
                    try await setDeletionCost(victims, namespace: key.namespace)
                }
            }
        }
        if !heldBack.isEmpty {
            await recorder.record(subject, type: .normal, reason: "SoftScaleIn", action: "ScaleIn",
                                  note: "held: \(heldBack.count) instance(s) stay in service while a PodAutoscaler on the group sees its latency SLO breached")
        }
        if !softAdded.isEmpty {
            let names = softAdded.map { "\($0.role)/\($0.name)" }.joined(separator: ", ")
            await recorder.record(subject, type: .normal, reason: "SoftScaleIn", action: "ScaleIn",
                                  note: "out of service discovery for \(Int(group.spec.softScaleIn?.observationSeconds ?? 0)) s before deletion: \(names)")
        }

        // Make the children match.
        try await applyChildren(group, key: key, subject: subject, wanted: wanted, existing: children)

        // Report.
        groupPods = podsOf(key, gateCondition: gateCondition)
        let placedNote = result.map(Self.placementSummary) ?? ""
        if let result { try await recordPlacementEvents(key, subject, result, summary: placedNote) }
        let status = DeploymentGroupStatusBuilder.build(
            group: group, previous: memory.withLock { $0[key]?.status } ?? group.status, desired: desired, plan: result,
            pods: groupPods, children: childrenOf(key), now: now)
        try await writeStatus(key, object, status)
        exportConditions(key, status)
        let observing = groupPods.contains { $0.observed || ($0.retiring && !$0.deleting) }
        return .requeueAfter(observing ? options.softScaleInCheck : options.resync)
    }

    /// `heteroscale_group_condition{namespace, name, condition}`: 1 while True, 0 while False (the alerts on
    /// unschedulable groups and an imbalanced P/D ratio read it).
    private func exportConditions(_ key: ObjectKey, _ status: DeploymentGroupStatus) {
        guard let registry else { return }
        for condition in status.conditions ?? [] where ControllerMetricNames.groupConditions.contains(condition.type) {
            registry.set(ControllerMetricNames.groupCondition, ["namespace": key.namespace, "name": key.name, "condition": condition.type],
                         condition.status == .isTrue ? 1 : 0)
        }
    }

    // MARK: - Reading the caches

    /// The children of a group (its Deployments, by label).
    func childrenOf(_ key: ObjectKey) -> [ChildState] {
        deployments.list(namespace: key.namespace).compactMap { ChildState($0, group: key.name) }.sorted { $0.name < $1.name }
    }

    func podsOf(_ key: ObjectKey, gateCondition: String) -> [GroupPod] {
        pods.list(namespace: key.namespace)
            .filter { $0["metadata"]?["labels"]?[GroupLabels.group]?.stringValue == key.name }
            .compactMap { GroupPod($0, gateCondition: gateCondition) }
            .sorted { $0.name < $1.name }
    }

    /// The requests of every group in the cache (each with the placements its children hold, soft-scaled-in
    /// instances not counted) and one cycle over the live topology.
    func placementPlan(for group: DeploymentGroup, key: ObjectKey, desired: [Int]) throws -> PlacementPlan {
        var requests: [PlacementRequest] = []
        for object in groups.list() where object["metadata"]?["deletionTimestamp"] == nil {
            guard let g = try? object.decode(DeploymentGroup.self), let name = g.metadata.name,
                  DeploymentGroupValidation.validate(g.spec).isEmpty else { continue }
            let gKey = ObjectKey(namespace: g.metadata.namespace ?? "default", name: name)
            let gate = g.spec.gate?.conditionType ?? ChildDeployments.defaultGateCondition
            let observed = podsOf(gKey, gateCondition: gate).filter(\.observed)
            let existing = Self.existingPlacements(childrenOf(gKey), observed: observed)
            do {
                requests.append(try PlacementRequest(group: g, existing: existing, desired: gKey == key ? desired : RatioApportionment.split(g.spec)))
            } catch let e as PlacementError where gKey != key {
                log(key, reason: "OtherGroup", "another group cannot be planned", message: e.message)
            }
        }
        let nodeList = nodes.list().compactMap { try? $0.decode(Node.self) }
        let podList = pods.list().filter { $0["spec"]?["nodeName"] != nil && !["Succeeded", "Failed"].contains($0["status"]?["phase"]?.stringValue ?? "") }
            .compactMap { try? $0.decode(Pod.self) }
        var topology = Topology(nodes: nodeList, pods: podList, labels: options.labels)
        return topology.schedule(requests)
    }

    /// A group's placements as its children hold them: per placement, the roles' replicas (minus instances under
    /// observation) and GPU types.
    static func existingPlacements(_ children: [ChildState], observed: [GroupPod]) -> [ExistingPlacement] {
        var byPlacement: [String: (level: AffinityDomain, domain: String, roles: [String: RoleAllocation])] = [:]
        for c in children {
            let held = max(0, c.replicas - observed.filter { $0.role == c.role && $0.placement == c.placement }.count)
            var e = byPlacement[c.placement] ?? (c.level, c.domain, [:])
            if held > 0 { e.roles[c.role] = RoleAllocation(count: held, gpuType: c.gpuType) }
            byPlacement[c.placement] = e
        }
        return byPlacement.sorted { $0.key < $1.key }.filter { !$0.value.roles.isEmpty }
            .map { ExistingPlacement(level: $0.value.level, domain: $0.value.domain, roles: $0.value.roles) }
    }

    // MARK: - Writing

    private func applyChildren(_ group: DeploymentGroup, key: ObjectKey, subject: EventSubject,
                               wanted: [String: ChildDeployments.Child], existing: [ChildState]) async throws {
        for (name, child) in wanted.sorted(by: { $0.key < $1.key }) {
            var rendered = try ChildDeployments.deployment(for: child, of: group)
            let hash = Self.templateHash(rendered["spec"]?["template"] ?? .null)
            rendered["metadata"]?["annotations"]?[ChildDeployments.templateHashAnnotation] = .string(hash)
            if let old = existing.first(where: { $0.name == name }) {
                guard old.replicas != child.replicas || old.templateHash != hash else { continue }
                var updated = old.object
                updated["spec"]?["replicas"] = .int(Int64(child.replicas))
                updated["spec"]?["template"] = rendered["spec"]?["template"]
                updated["metadata"]?["annotations"] = rendered["metadata"]?["annotations"]
                do {
                    _ = try await client.update(.deployments, namespace: key.namespace, updated)
                } catch let e as KubeAPIError where e.isConflict {
                    // The cache was stale: look again at once with fresh state.
                    throw RetryAfter(.milliseconds(100), underlying: e)
                }
                if old.replicas != child.replicas {
                    await recorder.record(subject, type: .normal, reason: "ScaledRole", action: "Scale",
                                          note: "\(child.role) in \(child.placement): \(old.replicas) → \(child.replicas) (Deployment \(name))")
                }
            } else {
                do {
                    _ = try await client.create(.deployments, namespace: key.namespace, rendered)
                } catch let e as KubeAPIError where e.code == 409 && e.reason == "AlreadyExists" {
                    throw RetryAfter(.milliseconds(100), underlying: e)
                }
                await recorder.record(subject, type: .normal, reason: "ScaledRole", action: "Scale",
                                      note: "\(child.role) in \(child.placement): 0 → \(child.replicas) (Deployment \(name) created)")
            }
        }
        // Orphans: children of placements the group no longer has.
        for old in existing where wanted[old.name] == nil {
            do {
                try await client.delete(.deployments, namespace: key.namespace, name: old.name)
            } catch let e as KubeAPIError where e.isNotFound {
                continue
            }
            await recorder.record(subject, type: .normal, reason: "ScaledRole", action: "Scale",
                                  note: "\(old.role) in \(old.placement): \(old.replicas) → 0 (Deployment \(old.name) deleted)")
        }
    }

    /// Marks the pods the scale-in chose: the ReplicaSet controller deletes the lowest-cost pods first.
    private func setDeletionCost(_ victims: [GroupPod], namespace: String) async throws {
        for pod in victims where pod.deletionCost != ChildDeployments.victimCost {
            do {
                _ = try await client.patch(.pods, namespace: namespace, name: pod.name, type: .merge,
                                           ["metadata": ["annotations": [ChildDeployments.deletionCostAnnotation: .string(ChildDeployments.victimCost)]]])
            } catch let e as KubeAPIError where e.isNotFound {
                continue
            }
        }
    }

    private func markSoftScaleIn(_ victims: [GroupPod], namespace: String, now: Date) async throws {
        for pod in victims {
            do {
                _ = try await client.patch(.pods, namespace: namespace, name: pod.name, type: .merge,
                                           ["metadata": ["annotations": [ChildDeployments.softScaleInAnnotation: .string(RFC3339.format(now, fractionDigits: 0))]]])
            } catch let e as KubeAPIError where e.isNotFound {
                continue
            }
        }
    }

    /// Restores observed instances (scale-up, or a latency SLO breach of a PodAutoscaler on the group) or,
    /// after `observationSeconds`, deletes them: deletion cost and the retiring mark, then the child's replicas
    /// lowered. The victims stay out of service until they are gone: re-admitting them before the child is
    /// lowered would let the gate take other pods out instead, and the ReplicaSet deletes not-ready pods first
    /// (before it looks at the deletion cost), i.e. the pods that had been serving.
    private func progressSoftScaleIn(_ group: DeploymentGroup, key: ObjectKey, subject: EventSubject, desired: [Int],
                                     pods: [GroupPod], now: Date) async throws -> Bool {
        // A retiring pod the ReplicaSet has not removed (a scale-up raised its child again before it could) is
        // deleted here: it would otherwise stay out of service for good. Its child replaces it if it still wants it.
        var removedStale = false
        for pod in pods where pod.retiring && !pod.deleting && now.timeIntervalSince(pod.retiringSince ?? now) >= options.retiringGrace.seconds {
            do {
                _ = try await client.delete(.pods, namespace: key.namespace, name: pod.name)
                removedStale = true
                await recorder.record(subject, type: .normal, reason: "SoftScaleIn", action: "ScaleIn",
                                      note: "deleting \(pod.name): still there \(Int(options.retiringGrace.seconds)) s after its soft scale-in ended")
            } catch let e as KubeAPIError where e.isNotFound {
                continue
            }
        }
        let observed = pods.filter(\.observed)
        guard !observed.isEmpty else { return removedStale }
        var restore: [GroupPod] = []
        let breach = sloBreach(key)
        if let breach {
            restore = observed
            await recorder.record(subject, type: .normal, reason: "Restored", action: "ScaleIn",
                                  note: "\(observed.count) instance(s) back in service discovery: \(breach)")
        } else {
            // A scale-up takes observed instances back before anything new is created.
            for (role, want) in zip(group.spec.roles.map(\.name), desired) {
                let serving = pods.filter { $0.role == role && $0.softScaleInSince == nil && !$0.deleting }.count
                let mine = observed.filter { $0.role == role }.sorted { ($0.softScaleInSince ?? now) > ($1.softScaleInSince ?? now) }
                restore += mine.prefix(max(0, want - serving))
            }
            if !restore.isEmpty {
                await recorder.record(subject, type: .normal, reason: "Restored", action: "ScaleIn",
                                      note: "\(restore.count) instance(s) back in service discovery for a scale-up: \(restore.map(\.name).joined(separator: ", "))")
            }
        }
        for pod in restore {
            _ = try? await client.patch(.pods, namespace: key.namespace, name: pod.name, type: .merge,
                                        ["metadata": ["annotations": [ChildDeployments.softScaleInAnnotation: .null]]])
        }
        let window = group.spec.softScaleIn?.observationSeconds ?? 0
        let expired = observed.filter { pod in !restore.contains(pod) && now.timeIntervalSince(pod.softScaleInSince ?? now) >= window }
        if !expired.isEmpty {
            // Deletion cost and the retiring mark in one patch per pod; the soft-scale-in annotation stays, so the
            // gate keeps them out. From here they no longer count as observed: the children are lowered by them
            // (below, and by every later apply), once.
            var retiring: [GroupPod] = []
            for pod in expired {
                do {
                    _ = try await client.patch(.pods, namespace: key.namespace, name: pod.name, type: .merge, ["metadata": ["annotations": [
                        ChildDeployments.deletionCostAnnotation: .string(ChildDeployments.victimCost),
                        ChildDeployments.softScaleInRetiringAnnotation: .string(RFC3339.format(now, fractionDigits: 0)),
                    ]]])
                    retiring.append(pod)
                } catch let e as KubeAPIError where e.isNotFound {
                    continue
                }
            }
            await recorder.record(subject, type: .normal, reason: "SoftScaleIn", action: "ScaleIn",
                                  note: "observed \(Int(window)) s without an SLO breach: deleting \(expired.map(\.name).joined(separator: ", "))")
            try await lowerChildren(key, by: retiring)
        }
        return !restore.isEmpty || !expired.isEmpty
    }

    /// Lowers each child's replicas by the pods removed from it (their deletion cost is set: they go first).
    private func lowerChildren(_ key: ObjectKey, by removed: [GroupPod]) async throws {
        for (child, pods) in Dictionary(grouping: removed, by: { ChildDeployments.name(group: key.name, role: $0.role, placement: $0.placement) }) {
            _ = try await retryOnConflict { [client] in
                var d = try await client.get(.deployments, namespace: key.namespace, name: child)
                let replicas = Int(d["spec"]?["replicas"]?.intValue ?? 0)
                d["spec"]?["replicas"] = .int(Int64(max(0, replicas - pods.count)))
                return try await client.update(.deployments, namespace: key.namespace, d)
            }
        }
    }

    /// A latency SLO breach reported by a PodAutoscaler on the group (its current TBT/TTFT P90 above the
    /// `heteroScale.latency` SLO), described; nil when none.
    func sloBreach(_ key: ObjectKey) -> String? {
        for object in autoscalers?.list(namespace: key.namespace) ?? [] {
            guard let pa = try? object.decode(PodAutoscaler.self), pa.spec.scaleTargetRef.kind == DeploymentGroup.kind,
                  pa.spec.scaleTargetRef.name == key.name, let latency = pa.spec.heteroScale?.latency else { continue }
            let metrics = pa.status?.currentMetrics ?? []
            func value(_ name: String) -> Double? { metrics.first { $0.name == name }.flatMap { Double($0.value) } }
            if let slo = latency.tbtSLOMilliseconds, let v = value(Signal.tbtP90Milliseconds), v > slo {
                return "PodAutoscaler \(pa.metadata.name ?? "") sees TBT P90 \(Fmt.num(v)) ms above its SLO \(Fmt.num(slo)) ms"
            }
            if let slo = latency.ttftSLOMilliseconds, let v = value(Signal.ttftP90Milliseconds), v > slo {
                return "PodAutoscaler \(pa.metadata.name ?? "") sees TTFT P90 \(Fmt.num(v)) ms above its SLO \(Fmt.num(slo)) ms"
            }
        }
        return nil
    }

    private func recordPlacementEvents(_ key: ObjectKey, _ subject: EventSubject, _ result: GroupPlan, summary: String) async throws {
        let changed = memory.withLock { m -> Bool in
            guard m[key]?.placed != summary else { return false }
            m[key] = (m[key]?.status, summary)
            return true
        }
        guard changed else { return }
        for d in result.decisions where [.open, .grow].contains(d.kind) {
            await recorder.record(subject, type: .normal, reason: "Placed", action: "Place", note: d.reason)
        }
        for s in result.unschedulable {
            await recorder.record(subject, type: .warning, reason: "Unschedulable", action: "Place", note: "\(s.role): \(s.count) instance(s): \(s.reason)")
        }
    }

    static func placementSummary(_ r: GroupPlan) -> String {
        (r.placements.map { "\($0.name):\($0.roles.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.count)" }.joined(separator: ","))" }
            + r.unschedulable.map { "short \($0.role) \($0.count)" }).joined(separator: ";")
    }

    private func reject(_ key: ObjectKey, _ object: JSONValue, _ subject: EventSubject, message: String, now: Date) async throws {
        await recorder.record(subject, type: .warning, reason: "InvalidSpec", action: "Validate", note: message)
        log(key, reason: "InvalidSpec", "not reconciling the group", message: message)
        var status = (try? object["status"]?.decode(DeploymentGroupStatus.self)) ?? DeploymentGroupStatus()
        var conditions = status.conditions ?? []
        let time = RFC3339.format(now, fractionDigits: 0)
        let generation = object["metadata"]?["generation"]?.intValue
        conditions.set(Condition(type: "Progressing", status: .isFalse, observedGeneration: generation, lastTransitionTime: time,
                                 reason: "InvalidSpec", message: message))
        status.conditions = conditions
        status.observedGeneration = generation
        try await writeStatus(key, object, status)
    }

    /// Writes status through `/status` when it changed; 409 → re-read and retry.
    private func writeStatus(_ key: ObjectKey, _ object: JSONValue, _ status: DeploymentGroupStatus) async throws {
        let encoded = try JSONValue(encoding: status)
        let last = memory.withLock { $0[key]?.status }
        guard last != status, object["status"] != encoded else {
            memory.withLock { $0[key] = (status, $0[key]?.placed ?? "") }
            return
        }
        do {
            _ = try await retryOnConflict(attempts: 3) { [client] in
                var fresh = try await client.get(.deploymentGroups, namespace: key.namespace, name: key.name)
                guard fresh["status"] != encoded else { return fresh }
                fresh["status"] = encoded
                return try await client.update(.deploymentGroups, namespace: key.namespace, fresh, subresource: "status")
            }
        } catch let e as KubeAPIError where e.isNotFound {
            return
        }
        memory.withLock { $0[key] = (status, $0[key]?.placed ?? "") }
    }

    private func log(_ key: ObjectKey, reason: String, _ line: Logger.Message, message: String) {
        guard case .write(let suppressed) = logThrottle.check(subject: key.description, reason: reason, message: message, now: wallClock())
        else { return }
        var metadata: Logger.Metadata = ["deploymentgroup": "\(key)", "reason": "\(reason)", "message": "\(message)"]
        if suppressed > 0 { metadata["repeated"] = "\(suppressed)" }
        logger.warning(line, metadata: metadata)
    }

    /// FNV-1a of the rendered pod template's canonical JSON: a child is updated when its template changes, never
    /// because the API server defaulted fields of the stored one.
    static func templateHash(_ template: JSONValue) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (try? template.jsonBytes()) ?? [] { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? KubeAPIError { return e.message.isEmpty ? "\(e)" : "\(e.code) \(e.reason): \(e.message)" }
        return "\(error)"
    }
}

/// One child Deployment of a group, as cached.
struct ChildState: Sendable {
    var object: JSONValue
    var name: String
    var role: String
    var placement: String
    var level: AffinityDomain
    var domain: String
    var gpuType: String?
    var replicas: Int
    var templateHash: String?

    init?(_ d: JSONValue, group: String) {
        let meta = d["metadata"]
        guard meta?["deletionTimestamp"] == nil, let labels = meta?["labels"], labels[GroupLabels.group]?.stringValue == group,
              let role = labels[GroupLabels.role]?.stringValue, let placement = labels[GroupLabels.placement]?.stringValue,
              let name = meta?["name"]?.stringValue,
              Watch.controllerOwner(of: d).map({ $0.kind == DeploymentGroup.kind && $0.name == group }) == true
        else { return nil }
        let annotations = meta?["annotations"]
        object = d
        self.name = name
        self.role = role
        self.placement = placement
        level = annotations?[ChildDeployments.levelAnnotation]?.stringValue.flatMap(AffinityDomain.init(rawValue:)) ?? .cluster
        domain = annotations?[ChildDeployments.domainAnnotation]?.stringValue ?? placement
        gpuType = annotations?[ChildDeployments.gpuTypeAnnotation]?.stringValue
        replicas = Int(d["spec"]?["replicas"]?.intValue ?? 1)
        templateHash = annotations?[ChildDeployments.templateHashAnnotation]?.stringValue
    }

    func asChild(replicas: Int) -> ChildDeployments.Child {
        let affinity = object["spec"]?["template"]?["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]?[0]?["matchExpressions"]?.arrayValue ?? []
        var selector: [String: String] = [:]
        for e in affinity {
            if let k = e["key"]?.stringValue, e["operator"]?.stringValue == "In", let v = e["values"]?[0]?.stringValue { selector[k] = v }
        }
        return ChildDeployments.Child(role: role, level: level, domain: domain, placement: placement, gpuType: gpuType,
                                      nodeSelector: selector, replicas: replicas)
    }
}
