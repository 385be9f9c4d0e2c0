import Autoscaling
import Foundation
import KubeAPI
import YAML

/// What one DeploymentGroup asks of a scheduling cycle: per role how many instances to add or remove, and
/// where its instances already are.
public struct PlacementRequest: Sendable, Hashable {
    public var namespace: String
    public var name: String
    /// Higher is scheduled first (`spec.affinity.priority`).
    public var priority: Int
    /// The group's creation time: among equal priorities, older groups are scheduled first.
    public var created: Date?
    /// The domain all roles of one placement must share.
    public var affinity: AffinityDomain
    public var roles: [RoleRequest]
    public var existing: [ExistingPlacement]

    public init(namespace: String = "default", name: String, priority: Int = 0, created: Date? = nil,
                affinity: AffinityDomain, roles: [RoleRequest], existing: [ExistingPlacement] = []) {
        self.namespace = namespace
        self.name = name
        self.priority = priority
        self.created = created
        self.affinity = affinity
        self.roles = roles
        self.existing = existing
    }

    /// `namespace/name`.
    public var key: String { "\(namespace)/\(name)" }
}

/// One role of a request.
public struct RoleRequest: Sendable, Hashable {
    public var name: String
    /// The role's weight in the group's ratio (partial placements keep whole units of this ratio).
    public var weight: Double
    /// Instances to add (positive) or remove (negative).
    public var delta: Int
    /// GPU types in preference order; empty means any type.
    public var gpuTypes: [String]
    public var gpusPerInstance: Int
    /// From the role's pod template: which tainted nodes it may use.
    public var tolerations: [Toleration]

    public init(name: String, weight: Double = 1, delta: Int, gpuTypes: [String], gpusPerInstance: Int,
                tolerations: [Toleration] = []) {
        self.name = name
        self.weight = weight
        self.delta = delta
        self.gpuTypes = gpuTypes
        self.gpusPerInstance = gpusPerInstance
        self.tolerations = tolerations
    }
}

/// A placement the group already has.
public struct ExistingPlacement: Sendable, Hashable {
    public var level: AffinityDomain
    /// The S1 or S2 as placements name it, or `cluster`.
    public var domain: String
    public var roles: [String: RoleAllocation]
    /// Where its instances run, when the caller knows (the simulator does). `nil`: read from the pods the
    /// topology was built with (labels `heteroscale.io/group`, `…/role`, `…/placement`); instances found on no
    /// node are reserved in the domain at the start of the cycle (pods not yet bound, or no pods given).
    public var instances: [NodeAssignment]?
    /// The class recorded in the group's status (used only when the instances' nodes are unknown).
    public var subgroupPriority: SubgroupClass?

    public init(level: AffinityDomain, domain: String, roles: [String: RoleAllocation], instances: [NodeAssignment]? = nil,
                subgroupPriority: SubgroupClass? = nil) {
        self.level = level
        self.domain = domain
        self.roles = roles
        self.instances = instances
        self.subgroupPriority = subgroupPriority
    }

    /// The pod label value of this placement (`heteroscale.io/placement`).
    public var name: String { PlannedPlacement.labelValue(level: level, domain: domain) }
}

/// Bad input to the engine: which object, which field, what to do.
public struct PlacementError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension PlacementRequest {
    /// The request of a DeploymentGroup: `spec.replicas` split over the roles by weight (`RatioApportionment`,
    /// the one P/D split the controller, the simulator and replay share) unless `desired` gives the counts, minus
    /// what its placements hold. `existing` defaults to `status.placements` (at the level of the group's
    /// affinity, GPU types unknown).
    public init(group: DeploymentGroup, existing: [ExistingPlacement]? = nil, desired: [Int]? = nil) throws {
        let name = group.metadata.name ?? ""
        let namespace = group.metadata.namespace ?? "default"
        let at = "DeploymentGroup \(namespace)/\(name)"
        guard !name.isEmpty else { throw PlacementError("a DeploymentGroup has no metadata.name") }
        let affinity: AffinityDomain
        if let a = group.spec.affinity {
            guard let d = a.affinityDomain else {
                throw PlacementError("\(at): spec.affinity.domain: must be S1, S2 or Cluster, got \(a.domain)")
            }
            affinity = d
        } else {
            // No affinity: S2, so a group's prefill and decode share a spine (KV-cache transfer over RDMA)
            // unless the manifest says otherwise (docs/deploymentgroup.md).
            affinity = .s2
        }
        var seen = Set<String>()
        for (i, role) in group.spec.roles.enumerated() {
            guard seen.insert(role.name).inserted else { throw PlacementError("\(at): spec.roles[\(i)].name: \(role.name) is listed twice") }
            guard role.gpusPerInstance >= 1 else {
                throw PlacementError("\(at): spec.roles[\(i)].gpusPerInstance: must be at least 1, got \(role.gpusPerInstance)")
            }
        }
        let counts = desired ?? RatioApportionment.split(group.spec)
        guard counts.count == group.spec.roles.count else {
            throw PlacementError("\(at): \(counts.count) desired counts for \(group.spec.roles.count) roles")
        }
        let placements = existing ?? (group.status?.placements ?? []).map { p in
            ExistingPlacement(level: affinity, domain: p.domain, roles: p.roles.mapValues { RoleAllocation(count: $0) },
                              subgroupPriority: SubgroupClass(rawValue: p.subgroupPriority))
        }
        var roles: [RoleRequest] = []
        for (i, role) in group.spec.roles.enumerated() {
            let held = placements.reduce(0) { $0 + ($1.roles[role.name]?.count ?? 0) }
            var tolerations: [Toleration] = []
            if let t = role.template["spec"]?["tolerations"], !t.isNull {
                do {
                    tolerations = try t.decode([Toleration].self)
                } catch let e as DecodingError {
                    throw PlacementError("\(at): spec.roles[\(i)].template.spec.tolerations\(e.fieldPath.isEmpty ? "" : ".\(e.fieldPath)"): \(e.summary)")
                }
            }
            roles.append(RoleRequest(name: role.name, weight: role.weight, delta: counts[i] - held, gpuTypes: role.gpuType,
                                     gpusPerInstance: role.gpusPerInstance, tolerations: tolerations))
        }
        self.init(namespace: namespace, name: name, priority: group.spec.affinity?.priority ?? 0,
                  created: group.metadata.creationTimestamp.flatMap(RFC3339.parse), affinity: affinity, roles: roles,
                  existing: placements)
    }

    /// Whether the request changes anything (roles to add or remove) or only reserves existing instances.
    public var changes: Bool { roles.contains { $0.delta != 0 } }
}
