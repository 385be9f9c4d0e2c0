import Foundation
import KubeAPI
import Placement
import YAML

/// The child Deployments of a DeploymentGroup: one per (role, placement), named deterministically, owned by the
/// group, and running the role's pod template pinned to the placement's domain and GPU type. Pure.
public enum ChildDeployments {
    /// Annotations on a child that let a restarted controller rebuild the group's placements from its children.
    public static let domainAnnotation = "heteroscale.io/placement-domain"
    public static let levelAnnotation = "heteroscale.io/placement-level"
    public static let gpuTypeAnnotation = "heteroscale.io/gpu-type"
    /// The annotation the ReplicaSet controller reads to pick scale-in victims (lower is deleted first).
    public static let deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"
    /// The cost given to the pods a scale-in chose (every other pod has the default 0).
    public static let victimCost = "-1000"
    /// The pod annotation marking an instance under a soft scale-in's observation (RFC 3339 since when).
    public static let softScaleInAnnotation = "heteroscale.io/soft-scale-in-since"
    /// Set on a soft-scaled-in pod whose observation ended without a restore: it is being removed. It keeps
    /// `softScaleInAnnotation` (so the gate keeps it out of service, its `Ready` False, and the ReplicaSet deletes
    /// it before any ready pod) but no longer counts as observed (its child was lowered by it).
    public static let softScaleInRetiringAnnotation = "heteroscale.io/soft-scale-in-retiring"
    /// A hash of the child's rendered pod template: it is updated when that changes, not when the API server
    /// defaults fields of the stored one.
    public static let templateHashAnnotation = "heteroscale.io/template-hash"
    /// The default condition type of the P/D ratio gate.
    public static let defaultGateCondition = "heteroscale.io/pd-ratio"

    /// One child to have: a role's instances in one placement.
    public struct Child: Sendable, Hashable {
        public var role: String
        public var level: AffinityDomain
        public var domain: String
        /// The `heteroscale.io/placement` label value.
        public var placement: String
        public var gpuType: String?
        /// Node labels of the required node affinity (the domain's and the GPU type's).
        public var nodeSelector: [String: String]
        public var replicas: Int

        public init(role: String, level: AffinityDomain, domain: String, placement: String, gpuType: String?,
                    nodeSelector: [String: String], replicas: Int) {
            self.role = role
            self.level = level
            self.domain = domain
            self.placement = placement
            self.gpuType = gpuType
            self.nodeSelector = nodeSelector
            self.replicas = replicas
        }
    }

    /// `GROUP-ROLE-PLACEMENT`, lowercased and made a DNS label; a name that had to change (or is longer than 52
    /// characters, leaving room for the ReplicaSet and pod suffixes) ends in a hash of the original, so two
    /// children never share a name.
    public static func name(group: String, role: String, placement: String) -> String {
        let raw = "\(group)-\(role)-\(placement)"
        var s = String(raw.lowercased().map { c -> Character in
            (c.isASCII && (c.isLetter || c.isNumber)) || c == "-" ? c : "-"
        })
        while s.hasPrefix("-") { s.removeFirst() }
        while s.hasSuffix("-") { s.removeLast() }
        guard s != raw || s.count > 52 else { return s }
        var h: UInt32 = 2_166_136_261
        for b in raw.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        let hash = String(h, radix: 16)
        return String(s.prefix(52 - hash.count - 1)).trimmingSuffix("-") + "-" + hash
    }

    /// The labels of a child and its pods.
    public static func labels(group: String, role: String, placement: String) -> [String: String] {
        [GroupLabels.group: group, GroupLabels.role: role, GroupLabels.placement: placement]
    }

    /// The Deployment for `child` of `group` (whose `metadata.uid` owns it).
    public static func deployment(for child: Child, of group: DeploymentGroup) throws -> JSONValue {
        let groupName = group.metadata.name ?? ""
        guard let role = group.spec.role(child.role) else { throw ChildError("role \(child.role) is not in spec.roles") }
        let labels = labels(group: groupName, role: child.role, placement: child.placement)
        var template = role.template.objectValue ?? JSONObject()
        // Pod metadata: the role template's labels plus the group's.
        var podMeta = template["metadata"]?.objectValue ?? JSONObject()
        var podLabels = podMeta["labels"]?.objectValue ?? JSONObject()
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) { podLabels[k] = .string(v) }
        podMeta["labels"] = .object(podLabels)
        podMeta["name"] = nil
        podMeta["namespace"] = nil
        template["metadata"] = .object(podMeta)
        var spec = template["spec"]?.objectValue ?? JSONObject()
        spec["affinity"] = affinity(spec["affinity"] ?? .null, requiring: child.nodeSelector)
        spec["containers"] = gpuRequest(spec["containers"] ?? .null, gpus: role.gpusPerInstance)
        if let gate = group.spec.gate {
            let type = gate.conditionType ?? defaultGateCondition
            var gates = spec["readinessGates"]?.arrayValue ?? []
            if !gates.contains(where: { $0["conditionType"]?.stringValue == type }) {
                gates.append(["conditionType": .string(type)])
            }
            spec["readinessGates"] = .array(gates)
        }
        template["spec"] = .object(spec)

        var annotations: JSONObject = [
            domainAnnotation: .string(child.domain), levelAnnotation: .string(child.level.rawValue),
        ]
        if let t = child.gpuType { annotations[gpuTypeAnnotation] = .string(t) }
        var selector = JSONObject()
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) { selector[k] = .string(v) }
        let owner: JSONValue = [
            "apiVersion": .string(DeploymentGroup.apiVersion), "kind": .string(DeploymentGroup.kind), "name": .string(groupName),
            "uid": .string(group.metadata.uid ?? ""), "controller": true, "blockOwnerDeletion": true,
        ]
        return [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": [
                "name": .string(name(group: groupName, role: child.role, placement: child.placement)),
                "namespace": .string(group.metadata.namespace ?? "default"),
                "labels": .object(selector), "annotations": .object(annotations), "ownerReferences": [owner],
            ],
            "spec": ["replicas": .int(Int64(child.replicas)), "selector": ["matchLabels": .object(selector)], "template": .object(template)],
        ]
    }

    /// `affinity` with the node labels required: each `nodeSelectorTerms` entry (terms are ORed) gets the
    /// expressions added (expressions of a term are ANDed), or one term is created.
    static func affinity(_ existing: JSONValue, requiring labels: [String: String]) -> JSONValue {
        guard !labels.isEmpty else { return existing }
        let expressions: [JSONValue] = labels.sorted { $0.key < $1.key }.map {
            ["key": .string($0.key), "operator": "In", "values": [.string($0.value)]]
        }
        var affinity = existing.objectValue ?? JSONObject()
        var nodeAffinity = affinity["nodeAffinity"]?.objectValue ?? JSONObject()
        var required = nodeAffinity["requiredDuringSchedulingIgnoredDuringExecution"]?.objectValue ?? JSONObject()
        var terms = required["nodeSelectorTerms"]?.arrayValue ?? []
        if terms.isEmpty { terms = [["matchExpressions": []]] }
        terms = terms.map { term in
            var t = term.objectValue ?? JSONObject()
            var exprs = t["matchExpressions"]?.arrayValue ?? []
            exprs.append(contentsOf: expressions.filter { !exprs.contains($0) })
            t["matchExpressions"] = .array(exprs)
            return .object(t)
        }
        required["nodeSelectorTerms"] = .array(terms)
        nodeAffinity["requiredDuringSchedulingIgnoredDuringExecution"] = .object(required)
        affinity["nodeAffinity"] = .object(nodeAffinity)
        return .object(affinity)
    }

    /// `containers` with `nvidia.com/gpu: gpus` requested (and limited: extended resources need both equal) by
    /// the first container when no container asks for GPUs.
    static func gpuRequest(_ containers: JSONValue, gpus: Int, resource: String = TopologyLabels.default.gpuResource) -> JSONValue {
        var list = containers.arrayValue ?? []
        let asks = list.contains { c in c["resources"]?["requests"]?[resource] != nil || c["resources"]?["limits"]?[resource] != nil }
        guard !asks, !list.isEmpty, var first = list[0].objectValue else { return containers }
        var resources = first["resources"]?.objectValue ?? JSONObject()
        for key in ["requests", "limits"] {
            var r = resources[key]?.objectValue ?? JSONObject()
            r[resource] = .string(String(gpus))
            resources[key] = .object(r)
        }
        first["resources"] = .object(resources)
        list[0] = .object(first)
        return .array(list)
    }
}

/// A child Deployment cannot be built (a bad role template).
public struct ChildError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    func trimmingSuffix(_ c: Character) -> String {
        var s = self
        while s.last == c { s.removeLast() }
        return s
    }
}
