import Foundation
import KubeAPI
import Placement
import YAML

/// What the DeploymentGroup controller and the gate read from one pod of a group.
public struct GroupPod: Sendable, Hashable {
    public var name: String
    public var role: String
    public var placement: String
    public var node: String?
    public var created: Date?
    /// Containers ready (the kubelet's `ContainersReady`): the instance is up, whatever the gate says.
    public var containersReady: Bool
    /// When `ContainersReady` last became True (the gate admits the oldest ready first).
    public var readySince: Date?
    /// The pod's `Ready` condition: in service discovery.
    public var ready: Bool
    /// The gate's condition on the pod, if set.
    public var gate: Bool?
    /// Under a soft scale-in's observation since then.
    public var softScaleInSince: Date?
    /// Since when its soft scale-in's observation has ended: the child was lowered by it and it is being removed.
    public var retiringSince: Date?
    public var retiring: Bool { retiringSince != nil }
    public var deleting: Bool
    /// The pod's deletion cost annotation, if any.
    public var deletionCost: String?

    /// Reads a pod (nil when it is not a pod of a group: no group, role or placement label).
    public init?(_ pod: JSONValue, gateCondition: String) {
        let meta = pod["metadata"]
        guard let name = meta?["name"]?.stringValue, let labels = meta?["labels"],
              let role = labels[GroupLabels.role]?.stringValue, let placement = labels[GroupLabels.placement]?.stringValue
        else { return nil }
        self.name = name
        self.role = role
        self.placement = placement
        node = pod["spec"]?["nodeName"]?.stringValue
        created = meta?["creationTimestamp"]?.stringValue.flatMap(RFC3339.parse)
        let conditions = pod["status"]?["conditions"]?.arrayValue ?? []
        func condition(_ type: String) -> JSONValue? { conditions.first { $0["type"]?.stringValue == type } }
        let containers = condition("ContainersReady")
        containersReady = containers?["status"]?.stringValue == "True" && pod["status"]?["phase"]?.stringValue == "Running"
        readySince = containersReady ? containers?["lastTransitionTime"]?.stringValue.flatMap(RFC3339.parse) : nil
        ready = condition("Ready")?["status"]?.stringValue == "True"
        gate = condition(gateCondition).map { $0["status"]?.stringValue == "True" }
        softScaleInSince = meta?["annotations"]?[ChildDeployments.softScaleInAnnotation]?.stringValue.flatMap(RFC3339.parse)
        retiringSince = meta?["annotations"]?[ChildDeployments.softScaleInRetiringAnnotation]?.stringValue.flatMap(RFC3339.parse)
        deleting = meta?["deletionTimestamp"] != nil
        deletionCost = meta?["annotations"]?[ChildDeployments.deletionCostAnnotation]?.stringValue
    }

    /// Under a soft scale-in's observation: out of service, still counted in its child's replicas, restorable.
    public var observed: Bool { softScaleInSince != nil && !retiring && !deleting }

    /// The order a scale-in takes a child's pods in (the first are removed): pods on the nodes the placement
    /// engine named first, then not yet ready ones, then the youngest (the gate admits the oldest ready first,
    /// so removing the youngest keeps the admitted set stable); ties by name.
    public static func scaleInOrder(_ pods: [GroupPod], preferredNodes: [String]) -> [GroupPod] {
        func nodeRank(_ p: GroupPod) -> Int { p.node.flatMap { preferredNodes.firstIndex(of: $0) } ?? preferredNodes.count }
        return pods.sorted { a, b in
            if nodeRank(a) != nodeRank(b) { return nodeRank(a) < nodeRank(b) }
            if a.containersReady != b.containersReady { return !a.containersReady }
            let ta = a.created ?? .distantPast, tb = b.created ?? .distantPast
            if ta != tb { return ta > tb }
            return a.name > b.name
        }
    }

    /// The order the gate admits ready pods in: the oldest ready first (stable: admitted pods are not flapped),
    /// ties by name.
    public static func admissionOrder(_ pods: [GroupPod]) -> [GroupPod] {
        pods.sorted { a, b in
            let ta = a.readySince ?? a.created ?? .distantFuture, tb = b.readySince ?? b.created ?? .distantFuture
            if ta != tb { return ta < tb }
            return a.name < b.name
        }
    }
}
