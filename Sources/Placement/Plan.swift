import KubeAPI

/// The outcome of one scheduling cycle: per group, its placements afterwards, what could not be placed and
/// why, and every decision with its reason (the string the controller's events, the status and the
/// simulator's log show).
public struct PlacementPlan: Sendable, Hashable {
    /// One entry per request, ordered by namespace and name.
    public var groups: [GroupPlan]
    /// Problems with the topology or the requests that did not stop the cycle.
    public var warnings: [String]

    public init(groups: [GroupPlan] = [], warnings: [String] = []) {
        self.groups = groups
        self.warnings = warnings
    }

    public func group(namespace: String = "default", _ name: String) -> GroupPlan? {
        groups.first { $0.namespace == namespace && $0.name == name }
    }
}

/// One group's result.
public struct GroupPlan: Sendable, Hashable {
    public var namespace: String
    public var name: String
    /// The group's roles in spec order (the order roles are shown in).
    public var roleNames: [String]
    /// Every placement of the group after the cycle (empty ones dropped), ordered by level and domain.
    public var placements: [PlannedPlacement]
    /// Placements this cycle emptied (scale-in): their `removed` and `victims`; not in `placements`.
    public var released: [PlannedPlacement] = []
    /// Instances of a role the cycle could not place, with why (which type, how many GPUs short, where).
    public var unschedulable: [Shortfall]
    /// What the cycle did for the group, in order.
    public var decisions: [PlacementDecision]

    public var key: String { "\(namespace)/\(name)" }

    /// Instances per role over all placements.
    public func total(_ role: String) -> Int { placements.reduce(0) { $0 + ($1.roles[role]?.count ?? 0) } }
}

/// One placement of a group: all its roles inside one S1, S2 or the cluster.
public struct PlannedPlacement: Sendable, Hashable {
    public var level: AffinityDomain
    /// The S1 or S2 (its label value, `S2/S1` when an S1 value repeats across S2s) or `cluster`.
    public var domain: String
    /// The highest class of the capacity the placement's instances occupy.
    public var subgroupPriority: SubgroupClass
    /// Instances per role (roles with none are left out).
    public var roles: [String: RoleAllocation]
    /// Instances placed by this cycle, by node (the controller leaves binding to the scheduler; the simulator
    /// starts them there).
    public var added: [NodeAssignment]
    /// Instances removed by this cycle, per role, and (when the nodes of the placement's instances are known)
    /// the nodes to take them from first, in order: `victims`.
    public var removed: [String: Int]
    public var victims: [NodeAssignment]
    /// Node labels that pin a role of this placement to its domain and GPU type (for a required node
    /// affinity): the domain's S2/S1 labels and the GPU type label.
    public var nodeSelectors: [String: [String: String]]

    /// The value of the pods' `heteroscale.io/placement` label: the domain, made a valid label value.
    public var name: String { Self.labelValue(level: level, domain: domain) }

    public var instances: Int { roles.values.reduce(0) { $0 + $1.count } }

    /// A valid label value for a domain: `/` and other characters a label value cannot hold become `.` or `-`;
    /// more than 63 characters are cut and end in a hash of the whole.
    public static func labelValue(level: AffinityDomain, domain: String) -> String {
        if level == .cluster { return "cluster" }
        // Fast path: already a valid label value (ASCII alphanumerics inside, `-`, `_`, `.`; at most 63).
        let u = domain.utf8
        func alnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
        if let f = u.first, let l = u.last, u.count <= 63, alnum(f), alnum(l),
           u.allSatisfy({ alnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }) {
            return domain
        }
        var s = String(domain.map { c -> Character in
            if c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") { return c }
            return c == "/" ? "." : "-"
        })
        while let f = s.first, !(f.isLetter || f.isNumber) { s.removeFirst() }
        while let l = s.last, !(l.isLetter || l.isNumber) { s.removeLast() }
        if s.isEmpty { s = "domain" }
        if s.count > 63 {
            var h: UInt32 = 2_166_136_261
            for b in domain.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
            let hex = String(h, radix: 16)
            s = String(s.prefix(63 - 1 - hex.count)) + "-" + hex
        }
        return s
    }
}

/// Instances of a role the cycle could not place.
public struct Shortfall: Sendable, Hashable {
    public var role: String
    public var count: Int
    public var reason: String
}

/// One thing the cycle did for a group.
public struct PlacementDecision: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// Existing instances not bound to any node were given GPUs first.
        case reserve
        /// Instances were added to an existing placement.
        case grow
        /// A new placement was opened.
        case open
        /// Instances were removed from a placement that keeps others.
        case shrink
        /// A placement lost all its instances.
        case release
        /// Instances could not be placed.
        case unschedulable
    }

    public var kind: Kind
    /// The placement concerned (`PlannedPlacement.domain`); empty for an unschedulable request.
    public var domain: String
    public var level: AffinityDomain
    /// Instances added (positive) or removed (negative) per role.
    public var roles: [String: Int]
    public var reason: String
}
