import YAML

/// metav1.OwnerReference.
public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?
    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil, blockOwnerDeletion: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// metav1.ObjectMeta, restricted to the fields HeteroScale reads or writes. Timestamps stay RFC 3339 strings
/// so that an object read and written back is unchanged.
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    public var finalizers: [String]?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }

    /// `namespace/name` (or `name` for cluster-scoped objects), the key work queues use.
    public var key: String {
        if let namespace, !namespace.isEmpty { return "\(namespace)/\(name ?? "")" }
        return name ?? ""
    }
}

/// `"True"`, `"False"` or `"Unknown"`.
public enum ConditionStatus: String, Codable, Sendable, Hashable {
    case isTrue = "True"
    case isFalse = "False"
    case unknown = "Unknown"

    public init(_ value: Bool) { self = value ? .isTrue : .isFalse }
}

/// metav1.Condition.
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    public var status: ConditionStatus
    public var observedGeneration: Int64?
    /// RFC 3339.
    public var lastTransitionTime: String
    public var reason: String
    public var message: String

    public init(type: String, status: ConditionStatus, observedGeneration: Int64? = nil, lastTransitionTime: String, reason: String, message: String) {
        self.type = type
        self.status = status
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

extension Array where Element == Condition {
    /// The condition of the given type, if present.
    public subscript(type type: String) -> Condition? {
        first { $0.type == type }
    }

    /// Sets a condition as `meta.SetStatusCondition` does: the transition time changes only when the status
    /// does; reason, message and observed generation are always updated.
    public mutating func set(_ condition: Condition) {
        if let i = firstIndex(where: { $0.type == condition.type }) {
            var c = condition
            if self[i].status == condition.status { c.lastTransitionTime = self[i].lastTransitionTime }
            self[i] = c
        } else {
            append(condition)
        }
    }
}

/// autoscaling/v2 `CrossVersionObjectReference`: the object whose `/scale` subresource is driven.
public struct CrossVersionObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String
    public var name: String
    public init(apiVersion: String? = nil, kind: String, name: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
    }
}
