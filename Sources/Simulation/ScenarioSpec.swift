import Foundation
import KubeAPI
import Autoscaling
import Placement
import YAML

/// A simulation scenario (`heteroscale simulate SCENARIO.yaml`). Relative paths resolve against the
/// scenario file's folder. Read strictly (`load`, `parse`): an unknown key is an error with its line and the
/// nearest valid key, and so is an unknown field of a PodAutoscaler or DeploymentGroup manifest.
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
    /// Simulated controller restarts, seconds: the strategies' memory and counter baselines are lost then and
    /// rebuilt by the controller's rule (`AutoscalerState.seeded`, `docs/simulation.md`).
    public var controllerRestarts: [Double]?
    /// How autoscaler ticks read the instances' `/metrics` (`families`, the default, or `text`: rendered and
    /// parsed; both give the same decisions, which a test proves).
    public var observation: ObservationPath?
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
    /// `performanceModel:` — the project's own semantics (`native`, the default) or splitwise-sim's
    /// (`splitwiseCompat`, for cross-checks; see `PerformanceModelMode`).
    public var performanceModelMode: PerformanceModelMode
    public var policies: [Policy]
    /// The parsed scenario file, for the positions of inline manifests (set by `parse`/`load`).
    var source: YAMLDocument?

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
        case name, cluster, profiles, profile, model, workload, slo, duration, seed, scrapeInterval, signalWindow, controllerRestarts, observation
        case coldStartSeconds, coldStarts, maxBatchTokens, maxBatchSize, placement, prices, policies, performanceModel
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
        if c.contains(.signalWindow) {
            throw SimulationError("signalWindow: removed; the autoscalers observe the instances' /metrics as the controller does, so rates and latency percentiles cover the time between two decisions (the PodAutoscaler's tickSeconds)")
        }
        controllerRestarts = try c.decodeIfPresent([Double].self, forKey: .controllerRestarts)
        if let raw = try c.decodeIfPresent(String.self, forKey: .observation) {
            guard let path = ObservationPath(rawValue: raw) else {
                throw SimulationError("observation: \(raw) is not families or text")
            }
            observation = path
        }
        for t in controllerRestarts ?? [] where !(t.isFinite && t >= 0) {
            throw SimulationError("controllerRestarts: times must be zero or positive seconds, got \(t)")
        }
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
        performanceModelMode = try c.decodeIfPresent(PerformanceModelMode.self, forKey: .performanceModel) ?? .native
        for (type, price) in (prices ?? [:]).sorted(by: { $0.key < $1.key }) where !(price.isFinite && price >= 0) {
            throw SimulationError("prices.\(type): must be zero or positive, got \(price)")
        }
        policies = try c.decode([Policy].self, forKey: .policies)
        // Results are written per policy name: a second policy of the same name would overwrite the first's.
        var seen: [String: Int] = [:]
        for (i, p) in policies.enumerated() {
            if let first = seen[p.name] {
                throw DecodingError.dataCorrupted(DecodingError.Context(
                    codingPath: [CodingKeys.policies, IndexCodingKey(i), PolicyKey.name],
                    debugDescription: "duplicate policy name \"\(p.name)\" (also policies[\(first)]); give every policy its own name"))
            }
            seen[p.name] = i
        }
    }

    private enum PolicyKey: String, CodingKey { case name }

    /// Parses a scenario strictly (unknown keys are errors with line and nearest valid key), keeping the
    /// positions of inline manifests for their own errors.
    public static func parse(_ text: String) throws -> ScenarioSpec {
        let document = try YAML.loadDocument(text)
        var spec = try document.decode(ScenarioSpec.self, strict: true)
        spec.source = document
        return spec
    }

    /// Reads and parses a scenario file; errors start with the path.
    public static func load(path: String) throws -> ScenarioSpec {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SimulationError("\(path): cannot read the scenario file (\(FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file"))")
        }
        do {
            return try parse(text)
        } catch {
            throw SimulationError("\(path): \(error)")
        }
    }

    /// Checks what decoding cannot: the SLO the comparison is measured against, and that every file the
    /// scenario names exists (relative paths resolve against `baseDirectory`, the scenario file's folder).
    public func validate(baseDirectory: String) throws {
        guard let slo else {
            throw SimulationError("slo: missing; SLO attainment needs targets: add e.g. `slo: {ttftMs: 2000, tbtMs: 80}` (per-request TTFT and mean TBT limits, milliseconds)")
        }
        guard slo.ttftMs != nil || slo.tbtMs != nil else {
            throw SimulationError("slo: give ttftMs, tbtMs or both (milliseconds)")
        }
        for (key, v) in [("slo.ttftMs", slo.ttftMs), ("slo.tbtMs", slo.tbtMs)] {
            if let v, !(v.isFinite && v > 0) { throw SimulationError("\(key): must be a positive number of milliseconds, got \(ScenarioRunner.f(v))") }
        }
        if let p = slo.percentile, p != 90 {
            throw SimulationError("slo.percentile: only 90 is evaluated (P90 per interval), got \(ScenarioRunner.f(p)); remove it or set 90")
        }
        var files = profiles.enumerated().map { (key: "profiles[\($0.offset)]", path: $0.element) }
        files += workload.files(key: "workload")
        for (i, p) in policies.enumerated() {
            for (j, m) in (p.manifests ?? []).enumerated() {
                if let path = m.stringValue { files.append((key: "policies[\(i)].manifests[\(j)]", path: path)) }
            }
        }
        for f in files { _ = try Self.existingFile(f.path, key: f.key, baseDirectory: baseDirectory) }
    }

    /// The full path of a file the scenario names under `key`, or an error that says where it was looked for.
    static func existingFile(_ path: String, key: String, baseDirectory: String) throws -> String {
        let full = WorkloadSpec.resolve(path, baseDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else {
            let base = URL(fileURLWithPath: baseDirectory).standardized.path
            throw SimulationError(
                "\(key): \(path) not found at \(full) (paths in a scenario are relative to its folder, \(base)); fix the path")
        }
        guard !isDirectory.boolValue else { throw SimulationError("\(key): \(path) is a folder; name a file") }
        return full
    }


    /// Loads every profile file (parametric YAML is read strictly).
    public func performanceModel(baseDirectory: String) throws -> PerformanceModel {
        var model = PerformanceModel()
        for (i, p) in profiles.enumerated() {
            let full = try Self.existingFile(p, key: "profiles[\(i)]", baseDirectory: baseDirectory)
            do {
                model.merge(full.hasSuffix(".csv") ? try PerformanceModel.load(path: full) : PerformanceModel(profiles: try HardwareProfile.fromYAML(path: full)))
            } catch {
                throw SimulationError("profiles[\(i)]: \(error)")
            }
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
        let index = policies.firstIndex { $0.name == policy.name }
        let at = index.map { "policies[\($0)] (\(policy.name))" } ?? "policy \(policy.name)"
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
        for manifest in try manifests(of: policy, index: index, baseDirectory: baseDirectory) {
            let o = manifest.document.value
            let kind = o["kind"]?.stringValue ?? ""
            func decode<T: Decodable>(_ type: T.Type) throws -> T {
                do {
                    return try manifest.document.decode(type, strict: true)
                } catch {
                    // Inline manifests' errors already name their full path in the scenario.
                    throw SimulationError(manifest.file == nil ? "\(error)" : "\(manifest.origin): \(error)")
                }
            }
            switch kind {
            case "PodAutoscaler":
                var pa = try decode(PodAutoscaler.self)
                // AIBrix annotations stand in for the typed fields, as in the controller; what the controller would
                // report as ValidSpec=False is refused here.
                let compatibility = AIBrixCompatibility.resolve(pa)
                pa.spec = compatibility.spec
                let issues = compatibility.issues + Autoscaler.validate(pa.spec)
                guard issues.isEmpty else {
                    throw SimulationError("\(manifest.origin): PodAutoscaler \(pa.metadata.name ?? "?") is invalid: "
                        + issues.map(\.description).joined(separator: "; "))
                }
                autoscalers.append(pa)
            case "DeploymentGroup":
                let dg = try decode(DeploymentGroup.self)
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
        config.performanceModel = performanceModelMode
        config.scrapeInterval = scrapeInterval ?? 5
        config.controllerRestarts = controllerRestarts ?? []
        config.observation = observation ?? .families
        config.duration = duration
        config.sloTTFTms = slo?.ttftMs
        config.sloTBTms = slo?.tbtMs
        config.reportWindows = flashCrowdWindows
        return config
    }

    /// The workload's flash crowds as report windows (`flash[i]`, `[start, start + duration)`, arrivals × the
    /// workload's `timeScale`); none for traces and phased workloads.
    public var flashCrowdWindows: [ReportWindow] {
        guard workload.phases == nil, let crowds = workload.arrivals?.flashCrowds else { return [] }
        let scale = workload.timeScale ?? 1
        return crowds.enumerated().map { i, c in
            ReportWindow(name: "flash[\(i)]", start: c.start * scale, end: (c.start + c.duration) * scale)
        }
    }

    /// One manifest of a policy: inline (positions in the scenario file) or a document of a manifest file.
    struct Manifest {
        var document: YAMLDocument
        /// `policies[0].manifests[1]`, with the file and document number for manifest files.
        var origin: String
        var file: String?
    }

    /// The policy's manifests in order, manifest files read (every non-empty document).
    func manifests(of policy: Policy, index: Int?, baseDirectory: String) throws -> [Manifest] {
        var out: [Manifest] = []
        for (j, m) in (policy.manifests ?? []).enumerated() {
            let key = index.map { "policies[\($0)].manifests[\(j)]" } ?? "policy \(policy.name) manifests[\(j)]"
            if let path = m.stringValue {
                let full = try Self.existingFile(path, key: key, baseDirectory: baseDirectory)
                let documents: [YAMLDocument]
                do {
                    documents = try YAML.loadDocuments(try String(contentsOfFile: full, encoding: .utf8))
                } catch {
                    throw SimulationError("\(key) (\(path)): \(error)")
                }
                for (d, doc) in documents.enumerated() where !doc.value.isNull {
                    let origin = documents.count > 1 ? "\(key) (\(path), document \(d + 1))" : "\(key) (\(path))"
                    out.append(Manifest(document: doc, origin: origin, file: full))
                }
            } else {
                // The positions of the scenario file, unless the spec was changed after parsing.
                let inline = index.flatMap { source?.subdocument(at: [.key("policies"), .index($0), .key("manifests"), .index(j)]) }
                    .flatMap { $0.value == m ? $0 : nil }
                var doc = inline ?? YAMLDocument(value: m)
                if inline == nil, let index { doc.basePath = [.key("policies"), .index(index), .key("manifests"), .index(j)] }
                out.append(Manifest(document: doc, origin: key, file: nil))
            }
        }
        return out
    }

    /// The cluster with its `nodeList` file read into `nodes` (relative to the scenario's folder).
    static func resolveNodeList(_ cluster: ClusterSpec, _ baseDirectory: String) throws -> ClusterSpec {
        guard let list = cluster.nodeList else { return cluster }
        let full = try existingFile(list, key: "cluster.nodeList", baseDirectory: baseDirectory)
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
