import Autoscaling
import Foundation
import KubeAPI
import Placement
import YAML

/// The status of a DeploymentGroup from its desired split, the placement cycle's result and its pods. Pure.
public enum DeploymentGroupStatusBuilder {
    public static let placed = "Placed"
    public static let available = "Available"
    public static let progressing = "Progressing"
    public static let ratioBalanced = "RatioBalanced"

    static func build(group: DeploymentGroup, previous: DeploymentGroupStatus?, desired: [Int], plan: GroupPlan?,
                             pods: [GroupPod], children: [ChildState], now: Date) -> DeploymentGroupStatus {
        var s = previous ?? DeploymentGroupStatus()
        let name = group.metadata.name ?? ""
        let generation = group.metadata.generation
        let time = RFC3339.format(now, fractionDigits: 0)
        let live = pods.filter { !$0.deleting }
        let serving = live.filter { $0.softScaleInSince == nil }
        let gated = group.spec.gate != nil
        s.observedGeneration = generation
        s.selector = "\(GroupLabels.group)=\(name)"
        s.replicas = serving.count
        s.readyReplicas = serving.filter(\.ready).count
        var roles: [RoleStatus] = []
        for (role, want) in zip(group.spec.roles, desired) {
            let mine = serving.filter { $0.role == role.name }
            let ready = mine.filter(\.containersReady)
            let admitted = gated ? ready.filter { $0.gate == true }.count : ready.count
            roles.append(RoleStatus(name: role.name, desired: want, ready: ready.count, admitted: admitted))
        }
        s.roles = roles
        s.ratio = desired.map(String.init).joined(separator: ":")
        if let plan {
            s.placements = plan.placements.map {
                GroupPlacement(domain: $0.domain, subgroupPriority: $0.subgroupPriority.rawValue, roles: $0.roles.mapValues(\.count))
            }
        }
        s.placementCount = s.placements?.count ?? 0
        let observed = live.filter(\.observed)
        s.softScaledIn = observed.isEmpty ? nil : observed.map {
            SoftScaledInstance(pod: $0.name, role: $0.role, since: RFC3339.format($0.softScaleInSince ?? now, fractionDigits: 0))
        }

        var c = s.conditions ?? []
        func set(_ type: String, _ ok: Bool, _ reason: String, _ message: String) {
            c.set(Condition(type: type, status: ok ? .isTrue : .isFalse, observedGeneration: generation, lastTransitionTime: time,
                            reason: reason, message: message))
        }
        // Placed: every desired instance has room, or what is short and why (the rest is still placed).
        if let plan {
            if plan.unschedulable.isEmpty {
                let where_ = plan.placements.map { "\($0.domain) (\($0.subgroupPriority))" }.joined(separator: ", ")
                set(placed, true, "Placed", plan.placements.isEmpty ? "nothing to place" : "every instance has room: \(where_)")
            } else {
                set(placed, false, "InsufficientCapacity", plan.unschedulable.map { "\($0.role): \($0.count) instance(s) short: \($0.reason)" }.joined(separator: "; "))
            }
        }
        // Available: at least one complete unit serves (every role with instances has one admitted).
        let missing = roles.filter { $0.desired > 0 && $0.admitted == 0 }.map(\.name)
        if desired.reduce(0, +) == 0 {
            set(available, false, "ScaledToZero", "spec.replicas is 0")
        } else if missing.isEmpty {
            set(available, true, "MinimumUnitAvailable", "every role has admitted instances: " + roles.map { "\($0.name) \($0.admitted)" }.joined(separator: ", "))
        } else {
            set(available, false, "NoCompleteUnit", "no admitted instance of \(missing.joined(separator: ", ")) yet")
        }
        // Progressing: instances starting or stopping; a total raised to the roles' minimums says so.
        let minimum = RatioApportionment.minimumTotal(group.spec)
        let total = desired.reduce(0, +), readyTotal = roles.reduce(0) { $0 + $1.ready }
        if group.spec.replicas < minimum {
            set(progressing, true, "ReplicasRaisedToMinimum",
                "spec.replicas \(group.spec.replicas) cannot give every role its minReplicas: running the smallest total that does, \(minimum) (\(s.ratio ?? ""))")
        } else if readyTotal < total || serving.count != total || !observed.isEmpty {
            set(progressing, true, "InstancesChanging", "\(readyTotal) of \(total) instance(s) ready" + (observed.isEmpty ? "" : ", \(observed.count) under soft scale-in observation"))
        } else {
            set(progressing, true, "Complete", "all \(total) instance(s) ready")
        }
        // RatioBalanced: the gate admits every ready instance.
        let held = roles.filter { $0.admitted < $0.ready }
        if held.isEmpty {
            set(ratioBalanced, true, "Balanced", "ready instances follow the ratio: " + roles.map { "\($0.name) \($0.ready)" }.joined(separator: ", "))
        } else {
            set(ratioBalanced, false, "RatioGated", held.map { "\($0.name): \($0.admitted) of \($0.ready) ready admitted" }.joined(separator: "; ")
                + " (the other roles are not ready enough for the ratio " + group.spec.roles.map { Fmt.num($0.weight) }.joined(separator: ":") + ")")
        }
        s.conditions = c
        return s
    }
}
