import YAML

// Typed subsets of apps/v1 workloads. The pod template stays unstructured (`JSONValue`).

/// metav1 `LabelSelector`.
public struct LabelSelector: Codable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// The selector in the API's string form (`a=b,c in (x,y),!d,e`), as `metav1.LabelSelectorAsSelector`
    /// renders it: requirements sorted by key (labels before expressions on a tie), `in`/`notin` values
    /// sorted and deduplicated. An empty selector gives `""` (everything). `nil` when a requirement is
    /// invalid (unknown operator, `In`/`NotIn` without values, `Exists`/`DoesNotExist` with values), so a
    /// bad selector never widens into "everything".
    public var selectorString: String? {
        var parts: [(key: String, text: String)] = []
        for (key, value) in matchLabels ?? [:] {
            parts.append((key, "\(key)=\(value)"))
        }
        let labelCount = parts.count
        for requirement in matchExpressions ?? [] {
            let key = requirement.key
            let values = Array(Set(requirement.values ?? [])).sorted()
            switch requirement.operator {
            case LabelSelectorRequirement.Operator.in:
                guard !values.isEmpty else { return nil }
                parts.append((key, "\(key) in (\(values.joined(separator: ",")))"))
            case LabelSelectorRequirement.Operator.notIn:
                guard !values.isEmpty else { return nil }
                parts.append((key, "\(key) notin (\(values.joined(separator: ",")))"))
            case LabelSelectorRequirement.Operator.exists:
                guard values.isEmpty else { return nil }
                parts.append((key, key))
            case LabelSelectorRequirement.Operator.doesNotExist:
                guard values.isEmpty else { return nil }
                parts.append((key, "!\(key)"))
            default:
                return nil
            }
        }
        // Stable sort by key; within one key, labels (sorted) first, then expressions in declared order.
        let ordered = parts.enumerated().sorted { a, b in
            if a.element.key != b.element.key { return a.element.key < b.element.key }
            let aLabel = a.offset < labelCount, bLabel = b.offset < labelCount
            if aLabel != bLabel { return aLabel }
            if aLabel { return a.element.text < b.element.text }
            return a.offset < b.offset
        }
        return ordered.map(\.element.text).joined(separator: ",")
    }
}

/// metav1 `LabelSelectorRequirement`.
public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    /// One of `LabelSelectorRequirement.Operator`.
    public var `operator`: String
    public var values: [String]?

    public init(key: String, operator: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    /// `LabelSelectorOperator` values.
    public enum Operator {
        public static let `in` = "In"
        public static let notIn = "NotIn"
        public static let exists = "Exists"
        public static let doesNotExist = "DoesNotExist"
    }
}

/// The `status` subset Deployment and StatefulSet share.
public struct AppsWorkloadStatus: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var readyReplicas: Int32?
    public var availableReplicas: Int32?
    public var updatedReplicas: Int32?
    public var observedGeneration: Int64?
    public var conditions: [ResourceCondition]?

    public init(replicas: Int32? = nil, readyReplicas: Int32? = nil, availableReplicas: Int32? = nil,
                updatedReplicas: Int32? = nil, observedGeneration: Int64? = nil,
                conditions: [ResourceCondition]? = nil) {
        self.replicas = replicas
        self.readyReplicas = readyReplicas
        self.availableReplicas = availableReplicas
        self.updatedReplicas = updatedReplicas
        self.observedGeneration = observedGeneration
        self.conditions = conditions
    }
}

/// The `spec` subset Deployment and StatefulSet share.
public struct AppsWorkloadSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var selector: LabelSelector?
    /// `PodTemplateSpec`, unstructured.
    public var template: JSONValue?

    public init(replicas: Int32? = nil, selector: LabelSelector? = nil, template: JSONValue? = nil) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }
}

/// apps/v1 `Deployment` subset.
public struct Deployment: Codable, Sendable, Hashable {
    public static let apiVersion = "apps/v1"
    public static let kind = "Deployment"
    public static let resource = "deployments"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public typealias Spec = AppsWorkloadSpec
    public typealias Status = AppsWorkloadStatus

    public var spec: AppsWorkloadSpec?
    public var status: AppsWorkloadStatus?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: AppsWorkloadSpec? = nil, status: AppsWorkloadStatus? = nil,
                apiVersion: String? = Deployment.apiVersion, kind: String? = Deployment.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// apps/v1 `StatefulSet` subset.
public struct StatefulSet: Codable, Sendable, Hashable {
    public static let apiVersion = "apps/v1"
    public static let kind = "StatefulSet"
    public static let resource = "statefulsets"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public typealias Spec = AppsWorkloadSpec
    public typealias Status = AppsWorkloadStatus

    public var spec: AppsWorkloadSpec?
    public var status: AppsWorkloadStatus?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: AppsWorkloadSpec? = nil, status: AppsWorkloadStatus? = nil,
                apiVersion: String? = StatefulSet.apiVersion, kind: String? = StatefulSet.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}
