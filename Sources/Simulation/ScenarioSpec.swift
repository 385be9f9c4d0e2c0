import Foundation
import KubeAPI
import Autoscaling
import Placement
import YAML

/// A simulation scenario (`heteroscale simulate SCENARIO.yaml`). Relative paths resolve against the
/// scenario file's folder.
public struct ScenarioSpec: Decodable, Sendable {
    public var name: String?
    public var cluster: ClusterSpec?
    /// Profile files: parametric YAML (`samples/profiles/*.yaml`) or a splitwise-sim CSV table.
    public var profiles: [String]
    /// The served model (profile key), e.g. `llama2-70b`.
    public var model: String?
    public var workload: WorkloadSpec
    public var slo: SLO?
    /// Arrivals after this many seconds are dropped (default: the workload's own end).
    public var duration: Double?
    public var seed: UInt64?
    public var scrapeInterval: Double?
    public var signalWindow: Double?
    /// Seconds from an instance's creation to serving, unless a `coldStarts` rule or a Deployment's
    /// `heteroscale.io/cold-start-seconds` label says otherwise (default 120).
    public var coldStartSeconds: Double?
    /// Cold starts per role and/or GPU type; the first matching rule wins.
    public var coldStarts: [ColdStartRule]?
    public var maxBatchTokens: Int?
    public var maxBatchSize: Int?
    /// How DeploymentGroups are placed unless a policy says otherwise (default `topologyAware`).
    public var placement: PlacementMode?
    /// Price of a GPU-hour per GPU type (the comparison's cost per 1M tokens).
    public var prices: [String: Double]?
    public var policies: [Policy]

    /// `topologyAware`: the placement engine with each group's affinity and the RDMA subgroup classes;
    /// `topologyBlind`: every instance on the node with the most free GPUs, as a default scheduler spreads.
    public enum PlacementMode: String, Codable, Sendable, Hashable {
        case topologyAware, topologyBlind
    }

    /// `{role: decode, gpuType: h20, seconds: 180}`; a rule without `role` or `gpuType` matches any.
    public struct ColdStartRule: Codable, Sendable, Hashable {
        public var role: String?
        public var gpuType: String?
        public var seconds: Double
        public init(role: String? = nil, gpuType: String? = nil, seconds: Double) {
            self.role = role
            self.gpuType = gpuType
            self.seconds = seconds
        }
    }

    /// The cold start of an instance of `role` on `gpuType`: the first matching rule, else `coldStartSeconds`.
    public func coldStart(role: InstanceRole, gpuType: String) -> Double? {
        coldStarts?.first { r in
            (r.role.map { InstanceRole.infer($0) == role } ?? true) && (r.gpuType.map { $0 == gpuType } ?? true)
        }?.seconds ?? coldStartSeconds
    }

    public struct SLO: Codable, Sendable, Hashable {
        public var ttftMs: Double?
        public var tbtMs: Double?
        /// Only 90 is evaluated for now (P90 per interval); per-request attainment uses each request's TTFT
        /// and mean TBT.
        public var percentile: Double?
    }

    public struct Policy: Decodable, Sendable {
        public var name: String
        /// File paths (multi-document YAML) or inline objects: `PodAutoscaler`, `DeploymentGroup`, `Deployment`.
        public var manifests: [JSONValue]?
        public var fixed: Fixed?
        /// Overrides the scenario's `placement`.
        public var placement: PlacementMode?
    }

    /// A splitwise-style fixed configuration: N prompt + M token machines, no autoscaling.
    public struct Fixed: Codable, Sendable, Hashable {
        public var promptInstances: Int
        public var tokenInstances: Int
        public var hardware: String
        /// Node label value (default: `hardware`).
        public var gpuType: String?
        public var model: String?
        public var tensorParallel: Int
        /// Nodes to create when the scenario has no `cluster` (default: exactly enough).
        public var gpusPerNode: Int?
    }

    private enum CodingKeys: String, CodingKey {
        case name, cluster, profiles, profile, model, workload, slo, duration, seed, scrapeInterval, signalWindow
        case coldStartSeconds, coldStarts, maxBatchTokens, maxBatchSize, placement, prices, policies
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        cluster = try c.decodeIfPresent(ClusterSpec.self, forKey: .cluster)
        if let list = try? c.decodeIfPresent([String].self, forKey: .profiles) {
            profiles = list
        } else if let one = try c.decodeIfPresent(String.self, forKey: .profiles) ?? c.decodeIfPresent(String.self, forKey: .profile) {
            profiles = [one]
        } else {
            profiles = []
        }
        model = try c.decodeIfPresent(String.self, forKey: .model)
        workload = try c.decode(WorkloadSpec.self, forKey: .workload)
        slo = try c.decodeIfPresent(SLO.self, forKey: .slo)
        duration = try c.decodeIfPresent(Double.self, forKey: .duration)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        scrapeInterval = try c.decodeIfPresent(Double.self, forKey: .scrapeInterval)
        signalWindow = try c.decodeIfPresent(Double.self, forKey: .signalWindow)
        coldStartSeconds = try c.decodeIfPresent(Double.self, forKey: .coldStartSeconds)
        coldStarts = try c.decodeIfPresent([ColdStartRule].self, forKey: .coldStarts)
        for (i, r) in (coldStarts ?? []).enumerated() {
            guard r.seconds.isFinite, r.seconds >= 0 else {
                throw SimulationError("coldStarts[\(i)].seconds: must be zero or positive, got \(r.seconds)")
            }
            if let role = r.role, InstanceRole.infer(role) == nil {
                throw SimulationError("coldStarts[\(i)].role: must be prefill, decode or mixed, got \(role)")
            }
        }
        maxBatchTokens = try c.decodeIfPresent(Int.self, forKey: .maxBatchTokens)
        maxBatchSize = try c.decodeIfPresent(Int.self, forKey: .maxBatchSize)
        placement = try c.decodeIfPresent(PlacementMode.self, forKey: .placement)
        prices = try c.decodeIfPresent([String: Double].self, forKey: .prices)
        for (type, price) in (prices ?? [:]).sorted(by: { $0.key < $1.key }) where !(price.isFinite && price >= 0) {
            throw SimulationError("prices.\(type): must be zero or positive, got \(price)")
        }
        policies = try c.decode([Policy].self, forKey: .policies)
    }

    public static func load(path: String) throws -> ScenarioSpec {
        guard let data = FileManager.default.contents(atPath: path) else { throw SimulationError("\(path): cannot read the file") }
        do {
            return try YAML.decode(ScenarioSpec.self, from: String(decoding: data, as: UTF8.self))
        } catch {
            throw SimulationError("\(path): \(error)")
        }
    }


    /// Loads every profile file.
    public func performanceModel(baseDirectory: String) throws -> PerformanceModel {
        var model = PerformanceModel()
        for p in profiles {
            let full = WorkloadSpec.resolve(p, baseDirectory)
            model.merge(full.hasSuffix(".csv") ? try PerformanceModel.load(path: full) : PerformanceModel(profiles: try HardwareProfile.fromYAML(path: full)))
        }
        return model
    }

    /// The simulation configuration of one policy.
    public func config(policy: Policy, baseDirectory: String, performance: PerformanceModel) throws -> SimulationConfig {
        var pools: [PoolSpec] = []
        var groups: [String: [String]] = [:]
        var gates: [String: Double] = [:]
        var groupPlacement: [String: GroupPlacementSettings] = [:]
        var autoscalers: [PodAutoscaler] = []
        var cluster = try self.cluster.map { try Self.resolveNodeList($0, baseDirectory) }
        let at = "policy \(policy.name)"
        if let f = policy.fixed {
            let gpuType = f.gpuType ?? f.hardware
            guard let model = f.model ?? self.model else { throw SimulationError("\(at): fixed needs a model") }
            for (role, n, name) in [(InstanceRole.prefill, f.promptInstances, "prompt"), (.decode, f.tokenInstances, "token")] {
                var p = PoolSpec(name: name, role: role, gpuType: gpuType, hardware: f.hardware, model: model,
                                 tensorParallel: f.tensorParallel, replicas: n, coldStartSeconds: coldStart(role: role, gpuType: gpuType),
                                 maxBatchTokens: maxBatchTokens, maxBatchSize: maxBatchSize)
                p.weight = Double(n)
                pools.append(p)
            }
            if cluster == nil {
                let perNode = f.gpusPerNode ?? max(8, f.tensorParallel)
                let perInstance = max(1, perNode / f.tensorParallel)
                let nodes = (f.promptInstances + perInstance - 1) / perInstance + (f.tokenInstances + perInstance - 1) / perInstance
                cluster = ClusterSpec(nodePools: [NodePoolSpec(gpuType: gpuType, gpusPerNode: perNode, count: nodes)])
            }
        }
        var objects: [JSONValue] = []
        for m in policy.manifests ?? [] {
            if let path = m.stringValue {
                let full = WorkloadSpec.resolve(path, baseDirectory)
                guard let data = FileManager.default.contents(atPath: full) else { throw SimulationError("\(at): cannot read \(full)") }
                objects += try YAML.loadAll(String(decoding: data, as: UTF8.self)).filter { !$0.isNull }
            } else {
                objects.append(m)
            }
        }
        for o in objects {
            let kind = o["kind"]?.stringValue ?? ""
            switch kind {
            case "PodAutoscaler":
                autoscalers.append(try o.decode(PodAutoscaler.self))
            case "DeploymentGroup":
                let dg = try o.decode(DeploymentGroup.self)
                let name = dg.metadata.name ?? "group"
                let counts = RatioApportionment.split(dg.spec)
                var members: [String] = []
                for (role, n) in zip(dg.spec.roles, counts) {
                    guard let r = InstanceRole.infer(role.name) else { throw SimulationError("\(at): DeploymentGroup \(name) role \(role.name): name it prefill, decode or mixed") }
                    guard let gpu = role.gpuType.first else { throw SimulationError("\(at): DeploymentGroup \(name) role \(role.name): gpuType is required") }
                    guard let model = self.model else { throw SimulationError("\(at): the scenario needs `model`") }
                    var p = PoolSpec(name: "\(name)/\(role.name)", role: r, gpuType: gpu, model: model, tensorParallel: role.gpusPerInstance,
                                     replicas: n, coldStartSeconds: coldStart(role: r, gpuType: gpu), maxBatchTokens: maxBatchTokens, maxBatchSize: maxBatchSize)
                    if role.gpuType.count > 1 { p.gpuTypes = role.gpuType }
                    p.weight = role.weight
                    p.minReplicas = role.minReplicas
                    p.maxReplicas = role.maxReplicas
                    pools.append(p)
                    members.append(p.name)
                }
                groups[name] = members
                var settings = GroupPlacementSettings(priority: dg.spec.affinity?.priority ?? 0)
                if let a = dg.spec.affinity {
                    guard let domain = a.affinityDomain else {
                        throw SimulationError("\(at): DeploymentGroup \(name): spec.affinity.domain must be S1, S2 or Cluster, got \(a.domain)")
                    }
                    settings.affinity = domain
                }
                groupPlacement[name] = settings
                if let gate = dg.spec.gate {
                    let tolerance = gate.tolerance ?? ReadyRatioGate.defaultTolerance
                    guard tolerance.isFinite, tolerance >= 0 else {
                        throw SimulationError("\(at): DeploymentGroup \(name): gate.tolerance must be zero or positive")
                    }
                    gates[name] = tolerance
                }
            case "Deployment":
                pools.append(try deploymentPool(o, at: at))
            default:
                throw SimulationError("\(at): unsupported manifest kind \(kind.isEmpty ? "(none)" : kind); use PodAutoscaler, DeploymentGroup or Deployment")
            }
        }
        guard !pools.isEmpty else { throw SimulationError("\(at): no instances (give `fixed` or Deployment/DeploymentGroup manifests)") }
        guard let cluster else { throw SimulationError("\(at): the scenario needs a `cluster`") }
        var config = SimulationConfig(cluster: cluster, performance: performance, pools: pools, groups: groups, autoscalers: autoscalers)
        config.gates = gates
        config.groupPlacement = groupPlacement
        config.placement = PlacementOptions(topologyBlind: (policy.placement ?? placement) == .topologyBlind, seed: seed ?? 0)
        config.gpuPrices = prices ?? [:]
        config.scrapeInterval = scrapeInterval ?? 5
        config.signalWindow = signalWindow ?? 30
        config.duration = duration
        config.sloTTFTms = slo?.ttftMs
        config.sloTBTms = slo?.tbtMs
        return config
    }

    /// The cluster with its `nodeList` file read into `nodes` (relative to the scenario's folder).
    static func resolveNodeList(_ cluster: ClusterSpec, _ baseDirectory: String) throws -> ClusterSpec {
        guard let list = cluster.nodeList else { return cluster }
        let full = WorkloadSpec.resolve(list, baseDirectory)
        guard let data = FileManager.default.contents(atPath: full) else { throw SimulationError("cluster.nodeList: cannot read \(full)") }
        var resolved = cluster
        resolved.nodeList = nil
        do {
            for node in try PlacementInput.nodes(yaml: String(decoding: data, as: UTF8.self), source: full) {
                let gpus = node.status?.allocatable?[TopologyLabels.default.gpuResource].flatMap { Int($0) } ?? 0
                guard let name = node.metadata.name, gpus > 0 else { continue }
                resolved.nodes.append(ClusterNodeSpec(name: name, gpus: gpus, labels: node.metadata.labels))
            }
        } catch let e as PlacementError {
            throw SimulationError("cluster.nodeList: \(e.message)")
        }
        return resolved
    }

    /// A Deployment as a pool. Role: label `heteroscale.io/role` (or the name); GPU type: label
    /// `heteroscale.io/gpu-type` or the pod's nodeSelector of that key; GPUs: `nvidia.com/gpu` limit (or the
    /// label `heteroscale.io/gpus-per-instance`); hardware profile name: label `heteroscale.io/hardware`; cold
    /// start: label `heteroscale.io/cold-start-seconds` (else the scenario's `coldStarts` rules, then `coldStartSeconds`).
    func deploymentPool(_ o: JSONValue, at: String) throws -> PoolSpec {
        let name = o["metadata"]?["name"]?.stringValue ?? "deployment"
        let labels = o["spec"]?["template"]?["metadata"]?["labels"] ?? o["metadata"]?["labels"]
        func label(_ key: String) -> String? {
            labels?[key]?.stringValue ?? o["metadata"]?["labels"]?[key]?.stringValue
                ?? o["spec"]?["template"]?["spec"]?["nodeSelector"]?[key]?.stringValue
        }
        guard let role = label("heteroscale.io/role").flatMap(InstanceRole.infer) ?? InstanceRole.infer(name) else {
            throw SimulationError("\(at): Deployment \(name): set label heteroscale.io/role to prefill, decode or mixed")
        }
        guard let gpu = label("heteroscale.io/gpu-type") else { throw SimulationError("\(at): Deployment \(name): set label heteroscale.io/gpu-type") }
        var gpus = label("heteroscale.io/gpus-per-instance").flatMap { Int($0) }
        if gpus == nil, let limit = o["spec"]?["template"]?["spec"]?["containers"]?[0]?["resources"]?["limits"]?["nvidia.com/gpu"] {
            gpus = limit.intValue.map(Int.init) ?? limit.stringValue.flatMap { Int($0) }
        }
        guard let model = label("heteroscale.io/model") ?? self.model else { throw SimulationError("\(at): the scenario needs `model`") }
        let replicas = o["spec"]?["replicas"]?.intValue.map(Int.init) ?? 1
        let coldStart = label("heteroscale.io/cold-start-seconds").flatMap { Double($0) } ?? self.coldStart(role: role, gpuType: gpu)
        return PoolSpec(name: name, role: role, gpuType: gpu, hardware: label("heteroscale.io/hardware"), model: model,
                        tensorParallel: gpus ?? 1, replicas: replicas, coldStartSeconds: coldStart,
                        maxBatchTokens: maxBatchTokens, maxBatchSize: maxBatchSize)
    }
}
