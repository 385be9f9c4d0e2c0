import YAML

/// A `heteroscale.io/v1alpha1` `DeploymentGroup` (short name `dg`): the roles of a P/D service, placed
/// together in one network domain, with `/scale` on `spec.replicas` (the total across roles).
public struct DeploymentGroup: Codable, Sendable, Hashable {
    public static let apiVersion = "heteroscale.io/v1alpha1"
    public static let kind = "DeploymentGroup"
    public static let plural = "deploymentgroups"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: DeploymentGroupSpec
    public var status: DeploymentGroupStatus?

    public init(metadata: ObjectMeta, spec: DeploymentGroupSpec, status: DeploymentGroupStatus? = nil) {
        apiVersion = Self.apiVersion
        kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? Self.apiVersion
        kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? Self.kind
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try c.decode(DeploymentGroupSpec.self, forKey: .spec)
        status = try c.decodeIfPresent(DeploymentGroupStatus.self, forKey: .status)
    }
}

/// One role (pool) of a group, e.g. `prefill` or `decode`.
public struct DeploymentGroupRole: Codable, Sendable, Hashable {
    public var name: String
    /// The role's share of `spec.replicas` (the P/D ratio is the ratio of weights).
    public var weight: Double
    /// GPU types in preference order (matched against the node label the placement uses).
    public var gpuType: [String]
    public var gpusPerInstance: Int
    public var minReplicas: Int?
    public var maxReplicas: Int?
    /// Pins the role's instances instead of its share of `spec.replicas` (a role-scoped PodAutoscaler writes it).
    public var replicas: Int?
    /// A `PodTemplateSpec`, kept unstructured.
    public var template: JSONValue

    public init(name: String, weight: Double = 1, gpuType: [String] = [], gpusPerInstance: Int = 1, minReplicas: Int? = nil, maxReplicas: Int? = nil, template: JSONValue = .object(JSONObject())) {
        self.name = name
        self.weight = weight
        self.gpuType = gpuType
        self.gpusPerInstance = gpusPerInstance
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.template = template
    }

    private enum CodingKeys: String, CodingKey { case name, weight, gpuType, gpusPerInstance, minReplicas, maxReplicas, replicas, template }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        weight = try c.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        // `gpuType: H100` is accepted as a one-element list.
        if let one = try? c.decodeIfPresent(String.self, forKey: .gpuType) {
            gpuType = [one]
        } else {
            gpuType = try c.decodeIfPresent([String].self, forKey: .gpuType) ?? []
        }
        gpusPerInstance = try c.decodeIfPresent(Int.self, forKey: .gpusPerInstance) ?? 1
        minReplicas = try c.decodeIfPresent(Int.self, forKey: .minReplicas)
        maxReplicas = try c.decodeIfPresent(Int.self, forKey: .maxReplicas)
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas)
        template = try c.decodeIfPresent(JSONValue.self, forKey: .template) ?? .object(JSONObject())
    }
}

/// `S1`, `S2` or `Cluster`: the network domain all roles of one placement must share.
public enum AffinityDomain: String, Codable, Sendable, Hashable, CaseIterable {
    case s1 = "S1"
    case s2 = "S2"
    case cluster = "Cluster"
}

public struct GroupAffinity: Codable, Sendable, Hashable {
    /// `S1 | S2 | Cluster` (a string so that validation can name a bad value).
    public var domain: String
    /// Scheduling priority of the group (higher is placed first).
    public var priority: Int?
    public init(domain: AffinityDomain, priority: Int? = nil) {
        self.domain = domain.rawValue
        self.priority = priority
    }
    public var affinityDomain: AffinityDomain? { AffinityDomain(rawValue: domain) }
}

/// The P/D ratio gate on service discovery (a pod readiness gate).
public struct RatioGate: Codable, Sendable, Hashable {
    /// Allowed relative deviation of the ready ratio from the weights' ratio.
    public var tolerance: Double?
    /// The pod condition type the gate sets (the pods' `readinessGates`).
    public var conditionType: String?
    public init(tolerance: Double? = nil, conditionType: String? = nil) {
        self.tolerance = tolerance
        self.conditionType = conditionType
    }
}

public struct SoftScaleIn: Codable, Sendable, Hashable {
    /// How long removed instances are observed (kept out of service discovery) before deletion.
    public var observationSeconds: Double?
    public init(observationSeconds: Double? = nil) { self.observationSeconds = observationSeconds }
}

/// `spec` of a `DeploymentGroup` (DESIGN.md §4).
public struct DeploymentGroupSpec: Codable, Sendable, Hashable {
    /// Total instances across roles.
    public var replicas: Int
    public var roles: [DeploymentGroupRole]
    public var affinity: GroupAffinity?
    public var gate: RatioGate?
    public var softScaleIn: SoftScaleIn?

    public init(replicas: Int, roles: [DeploymentGroupRole], affinity: GroupAffinity? = nil, gate: RatioGate? = nil, softScaleIn: SoftScaleIn? = nil) {
        self.replicas = replicas
        self.roles = roles
        self.affinity = affinity
        self.gate = gate
        self.softScaleIn = softScaleIn
    }

    private enum CodingKeys: String, CodingKey { case replicas, roles, affinity, gate, softScaleIn }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas) ?? 0
        roles = try c.decode([DeploymentGroupRole].self, forKey: .roles)
        affinity = try c.decodeIfPresent(GroupAffinity.self, forKey: .affinity)
        gate = try c.decodeIfPresent(RatioGate.self, forKey: .gate)
        softScaleIn = try c.decodeIfPresent(SoftScaleIn.self, forKey: .softScaleIn)
    }

    public func role(_ name: String) -> DeploymentGroupRole? { roles.first { $0.name == name } }
}

public struct RoleStatus: Codable, Sendable, Hashable {
    public var name: String
    public var desired: Int
    public var ready: Int
    /// Ready instances the ratio gate admits to service discovery.
    public var admitted: Int
    public init(name: String, desired: Int = 0, ready: Int = 0, admitted: Int = 0) {
        self.name = name
        self.desired = desired
        self.ready = ready
        self.admitted = admitted
    }
}

/// One placement of (part of) the group in a network domain.
public struct GroupPlacement: Codable, Sendable, Hashable {
    /// The domain's name (an S1 or S2 label value, or `cluster`).
    public var domain: String
    /// The RDMA subgroup class the placement consumed (`low`, `medium`, `high`).
    public var subgroupPriority: String
    /// Instances per role in this placement.
    public var roles: [String: Int]
    public init(domain: String, subgroupPriority: String, roles: [String: Int]) {
        self.domain = domain
        self.subgroupPriority = subgroupPriority
        self.roles = roles
    }
}

/// `status` of a `DeploymentGroup`.
public struct DeploymentGroupStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var replicas: Int?
    public var readyReplicas: Int?
    /// Label selector string for the `/scale` subresource.
    public var selector: String?
    public var roles: [RoleStatus]?
    public var placements: [GroupPlacement]?
    public var conditions: [Condition]?
    /// Desired instances per role in the roles' order, `2:4` (the RATIO printer column).
    public var ratio: String?
    /// Number of placements (the PLACEMENTS printer column).
    public var placementCount: Int?
    /// Instances a soft scale-in took out of service discovery and observes before deleting them.
    public var softScaledIn: [SoftScaledInstance]?
    public init() {}
}

/// One instance under a soft scale-in's observation.
public struct SoftScaledInstance: Codable, Sendable, Hashable {
    public var pod: String
    public var role: String
    /// RFC 3339.
    public var since: String
    public init(pod: String, role: String, since: String) {
        self.pod = pod
        self.role = role
        self.since = since
    }
}
