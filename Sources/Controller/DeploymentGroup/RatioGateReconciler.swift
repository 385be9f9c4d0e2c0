import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Logging
import Placement
import YAML

/// The P/D ready-ratio gate on service discovery: for each DeploymentGroup with `spec.gate`, sets the gate's pod
/// condition (`spec.gate.conditionType`, default `heteroscale.io/pd-ratio`) to True on the pods
/// `RatioGatePlan` admits and False, with reason and message, on the others, through each pod's `status`
/// subresource (KEP-580 pod readiness gates). The kubelet then keeps gated pods out of `Ready`, so
/// EndpointSlices and routers that read readiness skip them. Reacts to pod changes through the watch and looks
/// again every `resync`.
public final class RatioGateReconciler<C: Clock>: Reconciler where C.Duration == Duration {
    let client: RESTClient
    let groups: ObjectStore
    let pods: ObjectStore
    let recorder: EventRecorder<C>
    let wallClock: @Sendable () -> Date
    let logger: Logger
    let resync: Duration
    /// Admitted counts per group at the last events (transitions are recorded as events).
    private let lastAdmitted = Locked<[ObjectKey: [Int]]>([:])

    public init(client: RESTClient, groups: ObjectStore, pods: ObjectStore, recorder: EventRecorder<C>,
                wallClock: @escaping @Sendable () -> Date = { Date() }, logger: Logger, resync: Duration = .seconds(10)) {
        self.client = client
        self.groups = groups
        self.pods = pods
        self.recorder = recorder
        self.wallClock = wallClock
        self.logger = logger
        self.resync = resync
    }

    public func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        guard let object = groups.get(key), object["metadata"]?["deletionTimestamp"] == nil,
              let group = try? object.decode(DeploymentGroup.self), let gate = group.spec.gate else {
            lastAdmitted.withLock { $0[key] = nil }
            return .done
        }
        let type = gate.conditionType ?? ChildDeployments.defaultGateCondition
        let raw = pods.list(namespace: key.namespace).filter { $0["metadata"]?["labels"]?[GroupLabels.group]?.stringValue == key.name }
        let groupPods = raw.compactMap { GroupPod($0, gateCondition: type) }
        let plan = RatioGatePlan(spec: group.spec, pods: groupPods)
        let now = RFC3339.format(wallClock(), fractionDigits: 0)
        var failures: [String] = []
        for pod in raw {
            guard let name = pod["metadata"]?["name"]?.stringValue, let verdict = plan.verdicts[name] else { continue }
            let current = (pod["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == type }
            let status = verdict.admitted ? "True" : "False"
            // Written when the status or the reason changes; the counts in the message alone do not churn pods.
            guard current?["status"]?.stringValue != status || current?["reason"]?.stringValue != verdict.reason else { continue }
            let condition: JSONValue = [
                "type": .string(type), "status": .string(status), "reason": .string(verdict.reason),
                "message": .string(verdict.message), "lastTransitionTime": .string(now),
            ]
            do {
                // A strategic merge patch merges `conditions` by type: the kubelet's own conditions are untouched.
                _ = try await client.patch(.pods, namespace: key.namespace, name: name, type: .strategicMerge,
                                           ["status": ["conditions": [condition]]], subresource: "status")
            } catch let e as KubeAPIError where e.isNotFound {
                continue
            } catch {
                failures.append("\(name): \(error)")
            }
        }
        let admitted = plan.roles.map(\.admitted)
        let changed = lastAdmitted.withLock { m -> Bool in
            defer { m[key] = admitted }
            return m[key] != admitted
        }
        if changed {
            let subject = EventSubject(apiVersion: DeploymentGroup.apiVersion, kind: DeploymentGroup.kind, namespace: key.namespace,
                                       name: key.name, uid: object["metadata"]?["uid"]?.stringValue)
            let held = plan.roles.contains { $0.admitted < $0.ready }
            await recorder.record(subject, type: .normal, reason: held ? "RatioGated" : "RatioBalanced", action: "Gate",
                                  note: "admitted " + plan.roles.map { "\($0.name) \($0.admitted) of \($0.ready) ready" }.joined(separator: ", "))
        }
        if !failures.isEmpty {
            logger.warning("cannot set the gate condition", metadata: ["deploymentgroup": "\(key)", "errors": "\(failures.joined(separator: "; "))"])
            throw RetryAfter(.seconds(1), underlying: GateError(description: failures.joined(separator: "; ")))
        }
        return .requeueAfter(resync)
    }
}

struct GateError: Error, CustomStringConvertible { var description: String }
