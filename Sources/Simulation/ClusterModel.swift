import Autoscaling
import Foundation
import KubeAPI
import Placement

/// What an instance serves: prompt (prefill) work, token (decode) work, or both (non-disaggregated).
public enum InstanceRole: String, Codable, Sendable, Hashable, CaseIterable {
    case prefill, decode, mixed

    /// `prefill`/`prompt`, `decode`/`token`, `mixed`/`both`; otherwise a name containing one of them.
    public static func infer(_ name: String) -> InstanceRole? {
        let n = name.lowercased()
        if let r = InstanceRole(rawValue: n) { return r }
        if n.contains("prefill") || n.contains("prompt") { return .prefill }
        if n.contains("decode") || n.contains("token") { return .decode }
        if n.contains("mixed") || n.contains("both") { return .mixed }
        return nil
    }
}

/// A pool of identical GPU nodes. Topology: `nodesPerS1` nodes share an S1 (RDMA leaf) and `s1PerS2` S1s an
/// S2; without them every node of every such pool is taken to share one S1 (`flat`).
public struct NodePoolSpec: Codable, Sendable, Hashable {
    public var name: String?
    public var gpuType: String
    public var gpusPerNode: Int?
    public var count: Int
    public var nodesPerS1: Int?
    public var s1PerS2: Int?
    public init(name: String? = nil, gpuType: String, gpusPerNode: Int? = 8, count: Int, nodesPerS1: Int? = nil, s1PerS2: Int? = nil) {
        self.name = name
        self.gpuType = gpuType
        self.gpusPerNode = gpusPerNode
        self.count = count
        self.nodesPerS1 = nodesPerS1
        self.s1PerS2 = s1PerS2
    }
}

/// One node (or `count` alike) described as its Node object would be: labels carry the topology and the GPU
/// type (`heteroscale.io/s1`, `heteroscale.io/s2`, `heteroscale.io/gpu-type`; `gpuType`, `s1`, `s2` are
/// shorthands for those three).
public struct ClusterNodeSpec: Codable, Sendable, Hashable {
    /// The node's name; with `count` > 1, the nodes are `NAME-0`, `NAME-1`, ….
    public var name: String
    public var count: Int?
    /// `status.allocatable["nvidia.com/gpu"]` (default 8).
    public var gpus: Int?
    public var gpuType: String?
    public var s1: String?
    public var s2: String?
    public var labels: [String: String]?

    public init(name: String, count: Int? = nil, gpus: Int? = nil, gpuType: String? = nil, s1: String? = nil, s2: String? = nil,
                labels: [String: String]? = nil) {
        self.name = name
        self.count = count
        self.gpus = gpus
        self.gpuType = gpuType
        self.s1 = s1
        self.s2 = s2
        self.labels = labels
    }
}

/// KV-transfer bandwidth by locality, GB/s (10^9 bytes per second).
public struct TransferBandwidth: Codable, Sendable, Hashable {
    public var sameNode: Double?
    public var sameS1: Double?
    public var sameS2: Double?
    public var across: Double?
    public init(sameNode: Double? = nil, sameS1: Double? = nil, sameS2: Double? = nil, across: Double? = nil) {
        self.sameNode = sameNode
        self.sameS1 = sameS1
        self.sameS2 = sameS2
        self.across = across
    }
    /// Defaults: NVLink-class 300 GB/s in a node, 50 GB/s (400 Gb/s RDMA) in an S1, 25 in an S2, 12.5 across.
    public func bytesPerSecond(_ locality: Locality) -> Double {
        let gbps: Double
        switch locality {
        case .sameNode: gbps = sameNode ?? 300
        case .sameS1: gbps = sameS1 ?? 50
        case .sameS2: gbps = sameS2 ?? 25
        case .across: gbps = across ?? 12.5
        }
        return gbps * 1e9
    }
}

/// The scenario's `cluster:` section: nodes as pools (`nodePools`), one by one with their labels (`nodes`), or
/// from a node list file (`nodeList`, as `kubectl get nodes -o yaml` writes it; resolved by `ScenarioSpec`),
/// in any mix.
public struct ClusterSpec: Codable, Sendable, Hashable {
    public var nodePools: [NodePoolSpec]
    public var nodes: [ClusterNodeSpec]
    public var nodeList: String?
    public var bandwidth: TransferBandwidth?

    public init(nodePools: [NodePoolSpec] = [], nodes: [ClusterNodeSpec] = [], nodeList: String? = nil, bandwidth: TransferBandwidth? = nil) {
        self.nodePools = nodePools
        self.nodes = nodes
        self.nodeList = nodeList
        self.bandwidth = bandwidth
    }

    private enum CodingKeys: String, CodingKey { case nodePools, nodes, nodeList, bandwidth }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodePools = try c.decodeIfPresent([NodePoolSpec].self, forKey: .nodePools) ?? []
        nodes = try c.decodeIfPresent([ClusterNodeSpec].self, forKey: .nodes) ?? []
        nodeList = try c.decodeIfPresent(String.self, forKey: .nodeList)
        bandwidth = try c.decodeIfPresent(TransferBandwidth.self, forKey: .bandwidth)
    }

    /// The Node objects the placement engine sees. Pools become nodes `POOL-NNN` (`POOL` = the pool's name, or
    /// `poolI`), labelled with the GPU type and, with `nodesPerS1`, S1 `POOL-s1-K` and S2 `POOL-s2-K`; pools
    /// without `nodesPerS1` share the S1 and S2 `flat`.
    public func kubeNodes() -> [Node] {
        let labels = TopologyLabels.default
        var out: [Node] = []
        func add(_ name: String, gpus: Int, _ l: [String: String]) {
            var meta = ObjectMeta()
            meta.name = name
            meta.labels = l
            out.append(Node(metadata: meta, status: Node.Status(allocatable: [labels.gpuResource: String(gpus)])))
        }
        for (i, pool) in nodePools.enumerated() {
            let name = pool.name ?? "pool\(i)"
            let width = String(max(0, pool.count - 1)).count
            for k in 0..<max(0, pool.count) {
                var l = [labels.gpuType: pool.gpuType]
                if let perS1 = pool.nodesPerS1.map({ max(1, $0) }) {
                    l[labels.s1] = "\(name)-s1-\(k / perS1)"
                    l[labels.s2] = "\(name)-s2-\(k / perS1 / max(1, pool.s1PerS2 ?? 1))"
                } else {
                    l[labels.s1] = "flat"
                    l[labels.s2] = "flat"
                }
                let index = String(k)
                add("\(name)-\(String(repeating: "0", count: width - index.count))\(index)", gpus: max(1, pool.gpusPerNode ?? 8), l)
            }
        }
        for n in nodes {
            var l = n.labels ?? [:]
            if let t = n.gpuType, l[labels.gpuType] == nil { l[labels.gpuType] = t }
            if let s1 = n.s1, l[labels.s1] == nil { l[labels.s1] = s1 }
            if let s2 = n.s2, l[labels.s2] == nil { l[labels.s2] = s2 }
            let count = max(1, n.count ?? 1)
            for k in 0..<count { add(count == 1 ? n.name : "\(n.name)-\(k)", gpus: max(1, n.gpus ?? 8), l) }
        }
        return out
    }
}

/// A scalable set of identical instances (one Deployment, or one role of a DeploymentGroup).
public struct PoolSpec: Codable, Sendable, Hashable {
    /// The Deployment name, or `GROUP/ROLE` for a DeploymentGroup role.
    public var name: String
    public var role: InstanceRole
    public var gpuType: String
    /// GPU types in preference order when the role may fall back to others (a DeploymentGroup role's
    /// `gpuType` list); nil: `gpuType` only.
    public var gpuTypes: [String]?
    /// Profile hardware name (defaults to the GPU type an instance is placed on).
    public var hardware: String?
    public var model: String
    public var tensorParallel: Int
    public var replicas: Int
    /// Seconds from creation to serving (default 120).
    public var coldStartSeconds: Double?
    /// Prefill batch budget in prompt tokens (default 8192; one prompt always fits).
    public var maxBatchTokens: Int?
    /// Decode continuous-batching limit (default 256).
    public var maxBatchSize: Int?
    public var minReplicas: Int?
    public var maxReplicas: Int?
    public var weight: Double?

    public init(name: String, role: InstanceRole, gpuType: String, hardware: String? = nil, model: String, tensorParallel: Int,
                replicas: Int, coldStartSeconds: Double? = nil, maxBatchTokens: Int? = nil, maxBatchSize: Int? = nil) {
        self.name = name
        self.role = role
        self.gpuType = gpuType
        self.hardware = hardware
        self.model = model
        self.tensorParallel = tensorParallel
        self.replicas = replicas
        self.coldStartSeconds = coldStartSeconds
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchSize = maxBatchSize
    }
}

/// Lifecycle of an instance: cold start → serving → draining (scale-in) → released.
public enum InstanceState: String, Sendable, Hashable { case starting, serving, draining, released }

/// One running model instance (a pod).
final class SimInstance {
    let id: Int
    let pool: Int
    let role: InstanceRole
    let profile: HardwareProfile
    /// The node (index in the topology), its GPU type, and the placement of its group it belongs to.
    let node: Int
    let gpuType: String
    let placement: Int
    let gpus: Int
    let createdAt: Double
    var readyAt: Double
    var state: InstanceState = .starting
    /// Owned by the caller of `LiveEngine` (a pod): no placement, GPUs not held in the topology, never
    /// released by a drain (only by `removeInstance`); `node` is −1 when the caller named no known node.
    var external = false
    /// The caller's name of an external instance (the pod), for `LostRequest` and the status accessors.
    var externalID = ""
    let maxBatchTokens: Int
    let maxBatchSize: Int
    let kvCapacity: Int

    // prefill side
    var promptQueue: [Int] = []
    var promptHead = 0
    var pendingPromptTokens = 0
    var prefillBatch: [Int] = []
    // decode side
    var running: [Int] = []
    var waiting: [Int] = []
    var inbound = 0
    var inboundTokens = 0
    var kvUsed = 0
    var busy = false
    var iterationStart = 0.0

    // metrics
    var promptTokensTotal = 0
    var generationTokensTotal = 0
    var preemptions = 0
    var busySeconds = 0.0
    var residentSeen = false
    /// vLLM's cumulative counters and histograms (`exposition(model:)`).
    var counters = EngineCounters()
    var sample = InstanceSample()

    init(id: Int, pool: Int, role: InstanceRole, profile: HardwareProfile, node: Int, gpuType: String, placement: Int, gpus: Int,
         now: Double, coldStart: Double, maxBatchTokens: Int, maxBatchSize: Int) {
        self.id = id
        self.pool = pool
        self.role = role
        self.profile = profile
        self.node = node
        self.gpuType = gpuType
        self.placement = placement
        self.gpus = gpus
        createdAt = now
        readyAt = now + coldStart
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchSize = maxBatchSize
        kvCapacity = profile.kvCapacityTokens ?? 1_000_000
    }

    var queuedPrompts: Int { promptQueue.count - promptHead }
    var idle: Bool { !busy && queuedPrompts == 0 && running.isEmpty && waiting.isEmpty && inbound == 0 }
    /// Decode routing load: tokens resident, waiting and on their way.
    var kvLoad: Int { kvUsed + inboundTokens + waitingTokens }
    var waitingTokens = 0
}

/// One instance over the last scrape interval, for the timeline and the GPU-utilisation accounting (what an
/// autoscaler reads comes from the instance's exposition, `SimInstance.exposition(model:)`).
public struct InstanceSample: Sendable, Hashable {
    public var running = 0
    public var waiting = 0
    public var kvUsage = 0.0
    public var promptTokensTotal = 0
    public var generationTokensTotal = 0
    public var promptTPS = 0.0
    public var generationTPS = 0.0
    public var busyFraction = 0.0
    /// 0…1.
    public var gpuUtilization = 0.0
    /// Fraction of SM time doing work (DCGM `DCGM_FI_PROF_SM_ACTIVE`), 0…1: unlike `gpuUtilization` (any
    /// kernel running), it tracks the load for decode too.
    public var smActivity = 0.0
    public init() {}
}

/// Weighted percentile (`q` in 0…1) of `(value, weight)` pairs; 0 when empty: walking the values in
/// ascending order, the first whose cumulative weight reaches ⌈q × total weight⌉ (at least 1).
func weightedPercentile(_ samples: [(Double, Int)], _ q: Double) -> Double {
    weightedPercentiles(samples, [q])[0]
}

/// `weightedPercentile` at several `qs`, by selection on one copy (linear on average; the scrapes compute
/// these every interval over every decode step, where sorting cost more than the rest of the scrape).
func weightedPercentiles(_ samples: [(Double, Int)], _ qs: [Double]) -> [Double] {
    guard !samples.isEmpty else { return qs.map { _ in 0 } }
    var work = samples
    let total = samples.reduce(0) { $0 + $1.1 }
    return qs.map { q in
        let rank = max(1, Int((q * Double(total)).rounded(.up)))
        guard rank <= total else { return samples.map(\.0).max()! }
        return weightedSelect(&work, rank: rank)
    }
}

/// The smallest value whose weight together with all smaller values' reaches `rank` (1 ≤ rank ≤ the total
/// weight): quickselect with a three-way partition, reordering `samples`.
private func weightedSelect(_ samples: inout [(Double, Int)], rank: Int) -> Double {
    samples.withUnsafeMutableBufferPointer { a in
        var lo = 0, hi = a.count
        var need = rank
        while hi - lo > 1 {
            let pivot = a[lo + (hi - lo) / 2].0
            var lt = lo, i = lo, gt = hi
            var less = 0, equal = 0
            while i < gt {
                let v = a[i].0
                if v < pivot {
                    less += a[i].1
                    a.swapAt(lt, i)
                    lt += 1
                    i += 1
                } else if v > pivot {
                    gt -= 1
                    a.swapAt(i, gt)
                } else {
                    equal += a[i].1
                    i += 1
                }
            }
            if need <= less {
                hi = lt
            } else if need <= less + equal {
                return pivot
            } else {
                need -= less + equal
                lo = gt
            }
        }
        return a[lo].0
    }
}

/// `percentile` at several `qs`, sorting once.
func percentiles(_ values: [Double], _ qs: [Double]) -> [Double] {
    guard !values.isEmpty else { return qs.map { _ in 0 } }
    let s = values.sorted()
    return qs.map { q in
        let pos = q * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(s.count - 1, lo + 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }
}

/// Percentile with linear interpolation (numpy's default); 0 when empty. Sorts a copy.
func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    let pos = q * Double(s.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(s.count - 1, lo + 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
}

/// GPUs allocated per GPU type and their GPU-seconds, in arrays indexed by type: `Simulator.account` runs at
/// every event, and a dictionary walk with string hashing there cost more than the rest of the accounting.
struct GPUTypeAccounts {
    private var index: [String: Int] = [:]
    private var names: [String] = []
    private var gpus: [Int] = []
    private var seconds: [Double] = []
    /// Whether a type has accumulated any GPU-seconds (only those appear in `secondsByType`).
    private var accounted: [Bool] = []

    /// Adds `count` GPUs (negative: releases them) of `type`.
    mutating func add(_ count: Int, to type: String) {
        let i: Int
        if let known = index[type] {
            i = known
        } else {
            i = names.count
            index[type] = i
            names.append(type)
            gpus.append(0)
            seconds.append(0)
            accounted.append(false)
        }
        gpus[i] += count
    }

    /// Adds `dt` seconds of the current allocation (types holding GPUs only).
    mutating func accumulate(_ dt: Double) {
        for i in gpus.indices where gpus[i] > 0 {
            seconds[i] += Double(gpus[i]) * dt
            accounted[i] = true
        }
    }

    /// GPU-seconds by type name.
    var secondsByType: [String: Double] {
        var out: [String: Double] = [:]
        for i in names.indices where accounted[i] { out[names[i]] = seconds[i] }
        return out
    }
}
