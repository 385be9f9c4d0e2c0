import Autoscaling
import Foundation

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
/// S2; without them every node of the cluster is taken to share one S1.
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

public enum Locality: String, Sendable, Hashable { case sameNode, sameS1, sameS2, across }

/// The scenario's `cluster:` section.
public struct ClusterSpec: Codable, Sendable, Hashable {
    public var nodePools: [NodePoolSpec]
    public var bandwidth: TransferBandwidth?
    public init(nodePools: [NodePoolSpec], bandwidth: TransferBandwidth? = nil) {
        self.nodePools = nodePools
        self.bandwidth = bandwidth
    }
}

/// One simulated node.
struct SimNode {
    var gpuType: String
    var gpus: Int
    var free: Int
    var s1: Int
    var s2: Int
    /// False when no pool gave a topology (then every pair of distinct nodes counts as same-S1).
    var hasTopology: Bool
}

/// Nodes and GPU allocation (first fit, whole instance on one node).
struct ClusterState {
    var nodes: [SimNode] = []
    var bandwidth: TransferBandwidth

    init(_ spec: ClusterSpec) {
        bandwidth = spec.bandwidth ?? TransferBandwidth()
        var s1Base = 0, s2Base = 0
        for pool in spec.nodePools {
            let perNode = max(1, pool.gpusPerNode ?? 8)
            let perS1 = pool.nodesPerS1.map { max(1, $0) }
            let s1PerS2 = max(1, pool.s1PerS2 ?? 1)
            var maxS1 = 0
            for i in 0..<max(0, pool.count) {
                let s1 = perS1.map { i / $0 } ?? 0
                maxS1 = max(maxS1, s1)
                nodes.append(SimNode(gpuType: pool.gpuType, gpus: perNode, free: perNode, s1: s1Base + s1,
                                     s2: s2Base + s1 / s1PerS2, hasTopology: perS1 != nil))
            }
            s1Base += maxS1 + 1
            s2Base += maxS1 / s1PerS2 + 1
        }
    }

    func capacity(gpuType: String) -> Int { nodes.filter { $0.gpuType == gpuType }.reduce(0) { $0 + $1.gpus } }
    func free(gpuType: String) -> Int { nodes.filter { $0.gpuType == gpuType }.reduce(0) { $0 + $1.free } }

    /// Allocates `gpus` on the first node of `gpuType` with room (best fit: the fullest node that fits).
    mutating func allocate(gpuType: String, gpus: Int) -> Int? {
        var best: Int?
        for (i, n) in nodes.enumerated() where n.gpuType == gpuType && n.free >= gpus {
            if best == nil || n.free < nodes[best!].free { best = i }
        }
        if let b = best { nodes[b].free -= gpus }
        return best
    }

    mutating func release(node: Int, gpus: Int) { nodes[node].free += gpus }

    func locality(_ a: Int, _ b: Int) -> Locality {
        if a == b { return .sameNode }
        let x = nodes[a], y = nodes[b]
        guard x.hasTopology && y.hasTopology else { return .sameS1 }
        if x.s1 == y.s1 { return .sameS1 }
        if x.s2 == y.s2 { return .sameS2 }
        return .across
    }
}

/// A scalable set of identical instances (one Deployment, or one role of a DeploymentGroup).
public struct PoolSpec: Codable, Sendable, Hashable {
    /// The Deployment name, or `GROUP/ROLE` for a DeploymentGroup role.
    public var name: String
    public var role: InstanceRole
    public var gpuType: String
    /// Profile hardware name (defaults to `gpuType`).
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
    let node: Int
    let gpus: Int
    let createdAt: Double
    var readyAt: Double
    var state: InstanceState = .starting
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
    var ttfts: [Double] = []
    var itls: [(Double, Int)] = []
    var sample = InstanceSample()

    init(id: Int, pool: Int, role: InstanceRole, profile: HardwareProfile, node: Int, gpus: Int, now: Double,
         coldStart: Double, maxBatchTokens: Int, maxBatchSize: Int) {
        self.id = id
        self.pool = pool
        self.role = role
        self.profile = profile
        self.node = node
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

/// The latest scrape of one instance (vLLM-like values).
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
    /// Latency percentiles of the interval, seconds; `nil` when no first token (TTFT) or no later token (ITL)
    /// came out in it — no observation, which is not a latency of 0.
    public var ttftP50: Double?, ttftP90: Double?, ttftP99: Double?
    public var itlP50: Double?, itlP90: Double?, itlP99: Double?
    public init() {}

    /// The value of a metric by (resolved) name; counters `…_total` as their rate per second. `nil` if unknown.
    public func value(_ metric: String) -> Double? {
        switch metric {
        case "vllm:num_requests_running": return Double(running)
        case "vllm:num_requests_waiting": return Double(waiting)
        case "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc": return kvUsage
        case "vllm:prompt_tokens_total", "prefill_tps": return promptTPS
        case "vllm:generation_tokens_total", "decode_tps": return generationTPS
        case "gpu_utilization", "DCGM_FI_DEV_GPU_UTIL", "gpu_util": return gpuUtilization * 100
        case "sm_activity", "DCGM_FI_PROF_SM_ACTIVE": return smActivity
        case "vllm:time_to_first_token_seconds": return ttftP90
        case "vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds": return itlP90
        default: return nil
        }
    }

    /// Short names → engine names (`kv_cache_usage_perc` → `vllm:kv_cache_usage_perc`).
    public static func resolve(_ name: String) -> String { MetricNameResolver.resolve(name) }
}

/// Weighted percentile (`q` in 0…1) of `(value, weight)` pairs; 0 when empty.
func weightedPercentile(_ samples: [(Double, Int)], _ q: Double) -> Double {
    guard !samples.isEmpty else { return 0 }
    let sorted = samples.sorted { $0.0 < $1.0 }
    let total = sorted.reduce(0) { $0 + $1.1 }
    let rank = max(1, Int((q * Double(total)).rounded(.up)))
    var seen = 0
    for (v, w) in sorted {
        seen += w
        if seen >= rank { return v }
    }
    return sorted.last!.0
}

/// Percentile with linear interpolation (numpy's default); 0 when empty. Sorts a copy.
func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    let pos = q * Double(s.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(s.count - 1, lo + 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
}
