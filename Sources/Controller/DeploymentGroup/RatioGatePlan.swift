import Autoscaling
import Foundation
import KubeAPI

/// The P/D ready-ratio gate's decision for one DeploymentGroup: which pods to admit to service discovery. Pure:
/// ready instances per role come from `ContainersReady` (not `Ready`, which the gate itself holds back), the
/// counts from `ReadyRatioGate` (the same code the simulator routes with), and the pods from
/// `GroupPod.admissionOrder` (the oldest ready first, so admitted pods are not flapped). Pods under a soft
/// scale-in's observation are never admitted.
public struct RatioGatePlan: Sendable, Hashable {
    /// The condition to set on one pod.
    public struct Verdict: Sendable, Hashable {
        public var admitted: Bool
        public var reason: String
        public var message: String
    }

    /// Ready (containers ready, not soft-scaled-in) and admitted instances of one role.
    public struct RoleCount: Sendable, Hashable {
        public var name: String
        public var ready: Int
        public var admitted: Int
    }

    /// Per role, in spec order.
    public var roles: [RoleCount]
    /// Per pod name.
    public var verdicts: [String: Verdict]

    public init(spec: DeploymentGroupSpec, pods: [GroupPod]) {
        let live = pods.filter { !$0.deleting }
        let eligible = live.filter { $0.containersReady && $0.softScaleInSince == nil }
        let byRole = Dictionary(grouping: eligible, by: \.role)
        let counts = ReadyRatioGate.admitted(
            spec.roles.map { ReadyRatioGate.Role(name: $0.name, weight: $0.weight, ready: byRole[$0.name]?.count ?? 0) },
            tolerance: spec.gate?.tolerance ?? ReadyRatioGate.defaultTolerance)
        var verdicts: [String: Verdict] = [:]
        var roles: [RoleCount] = []
        let summary = zip(spec.roles, counts).map { "\($0.0.name) \(byRole[$0.0.name]?.count ?? 0) ready" }.joined(separator: ", ")
        for (role, admitted) in zip(spec.roles, counts) {
            let ready = GroupPod.admissionOrder(byRole[role.name] ?? [])
            roles.append(RoleCount(name: role.name, ready: ready.count, admitted: admitted))
            for (i, pod) in ready.enumerated() {
                verdicts[pod.name] = i < admitted
                    ? Verdict(admitted: true, reason: "RatioBalanced", message: "admitted: \(role.name) \(admitted) of \(ready.count) ready (\(summary))")
                    : Verdict(admitted: false, reason: "RatioGated",
                              message: "held back: \(role.name) has \(ready.count) ready but the other roles support \(admitted) at the group's ratio (\(summary))")
            }
        }
        for pod in live where verdicts[pod.name] == nil {
            verdicts[pod.name] = pod.retiring
                ? Verdict(admitted: false, reason: "SoftScaleIn", message: "out of service discovery: being removed after its soft scale-in")
                : pod.softScaleInSince != nil
                ? Verdict(admitted: false, reason: "SoftScaleIn", message: "out of service discovery: observed before deletion (soft scale-in)")
                : Verdict(admitted: false, reason: "ContainersNotReady", message: "waiting for the pod's containers to be ready")
        }
        self.roles = roles
        self.verdicts = verdicts
    }

    /// Admitted instances of a role.
    public func admitted(_ role: String) -> Int { roles.first { $0.name == role }?.admitted ?? 0 }
}
