import KubeAPI

/// The RDMA subgroup class of a unit of GPU capacity (HeteroScale paper, §3.4 and Appendix B). Every node's
/// capacity belongs to exactly one class, decided by the GPU types around it:
/// - **low**: the node's S2 holds one GPU type only (a homogeneous big-pod);
/// - **medium**: the S2 holds several types but the node's S1 holds one (a heterogeneous big-pod of
///   homogeneous mini-pods);
/// - **high**: the node's S1 holds several types (a heterogeneous mini-pod: the only place where a P/D group
///   with S1 affinity and two GPU types can live, so it is the most precious).
///
/// Placement consumes low before medium before high capacity, and scale-in releases high first.
public enum SubgroupClass: String, Codable, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case low, medium, high

    /// 0 (low) … 2 (high).
    public var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        }
    }

    init(rank: Int) { self = rank <= 0 ? .low : rank == 1 ? .medium : .high }

    public static func < (a: SubgroupClass, b: SubgroupClass) -> Bool { a.rank < b.rank }
    public var description: String { rawValue }
}

/// Where the topology and the GPUs of a node are read from (DESIGN.md §4, "Nodes"). Every key is configurable.
public struct TopologyLabels: Sendable, Hashable {
    /// The node's ToR switch (optional; used to keep instances of one placement close).
    public var s0: String
    /// The mini-pod (RDMA leaf group). A node without it is an S1 of its own.
    public var s1: String
    /// The big-pod. A node without it is in an S2 named after its S1.
    public var s2: String
    /// The GPU type; nodes without it fall back to `gpuTypeFallback` (set by NVIDIA GPU feature discovery).
    public var gpuType: String
    public var gpuTypeFallback: String
    /// The extended resource counted in `status.allocatable` and in container requests.
    public var gpuResource: String

    public init(s0: String = "heteroscale.io/s0", s1: String = "heteroscale.io/s1", s2: String = "heteroscale.io/s2",
                gpuType: String = "heteroscale.io/gpu-type", gpuTypeFallback: String = "nvidia.com/gpu.product",
                gpuResource: String = "nvidia.com/gpu") {
        self.s0 = s0
        self.s1 = s1
        self.s2 = s2
        self.gpuType = gpuType
        self.gpuTypeFallback = gpuTypeFallback
        self.gpuResource = gpuResource
    }

    public static let `default` = TopologyLabels()
}

/// Labels the DeploymentGroup controller puts on its child Deployments and their pods (DESIGN.md §4). The
/// topology reads them back from pods to know where a group's existing instances run.
public enum GroupLabels {
    public static let group = "heteroscale.io/group"
    public static let role = "heteroscale.io/role"
    public static let placement = "heteroscale.io/placement"
}

/// A role's instances in one placement, on one GPU type.
public struct RoleAllocation: Codable, Sendable, Hashable {
    public var count: Int
    /// `nil` when not known (an existing placement read from a status that does not record it).
    public var gpuType: String?
    public init(count: Int, gpuType: String? = nil) {
        self.count = count
        self.gpuType = gpuType
    }
}

/// Instances of one role on one node.
public struct NodeAssignment: Sendable, Hashable {
    public var node: String
    public var role: String
    public var gpuType: String
    public var count: Int
    public init(node: String, role: String, gpuType: String, count: Int) {
        self.node = node
        self.role = role
        self.gpuType = gpuType
        self.count = count
    }
}

/// The level names used in output: `S1`, `S2`, `Cluster` (the raw values of `AffinityDomain`).
extension AffinityDomain {
    /// 0 for S1, 1 for S2, 2 for Cluster.
    var depth: Int {
        switch self {
        case .s1: 0
        case .s2: 1
        case .cluster: 2
        }
    }
}
