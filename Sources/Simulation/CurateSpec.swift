import Foundation
import YAML

/// A policy-curation file (`heteroscale curate CURATE.yaml`): the service (model, hardware profiles, the GPU
/// types each role may use), its SLO and workload, optional prices, and the candidate P/D ratios and policies.
/// Curation (the HeteroScale paper's Algorithm 1) stress-tests one P/D unit per ratio and GPU pairing in the
/// simulator, derives the scaling targets at the best ratio, then simulates every candidate policy over the
/// workload and ranks them. See docs/curation.md.
///
/// ```yaml
/// name: conv
/// profiles: [../profiles/h100.yaml, ../profiles/h20.yaml]   # relative to this file
/// model: llama2-70b
/// roles:
///   prefill: {gpuTypes: [h100-80gb], gpusPerInstance: 4}
///   decode: {gpuTypes: [h20, h100-80gb], gpusPerInstance: 4}
/// slo: {ttftMs: 2000, tbtMs: 80}
/// prices: {h100-80gb: 2.99, h20: 1.35}                       # USD per GPU-hour (optional)
/// workload: {arrivals: {kind: diurnal, …}, sizes: {fromTrace: …}, duration: 3600}   # a scenario workload
/// seed: 7
/// ratios: ["1:1", "1:2", "2:3", "1:3"]                       # prefill:decode instances of one unit
/// policies:                                                   # candidates and the parameter values searched
///   - {strategy: heteroscale, values: [0.7, 0.8]}            # safety margins on the knee TPS
///   - {strategy: hybrid, values: [0.7, 0.8]}                 # the same margins, above the SLA planner's floor
///   - {strategy: hpa-gpu, values: [70]}                      # GPU utilisation targets (percent)
/// ```
///
/// Read strictly: an unknown key is an error with its line and the nearest valid key.
public struct CurateSpec: Decodable, Sendable {
    public var name: String?
    public var profiles: [String]
    public var model: String
    public var roles: Roles
    public var slo: SLO
    public var prices: [String: Double]?
    /// The workload of step 2 (a trace or a synthetic pattern); step 1 draws its request sizes from it.
    public var workload: WorkloadSpec
    public var seed: UInt64?
    /// Engine limits per instance, as in a scenario (defaults 8192 and 256).
    public var maxBatchTokens: Int?
    public var maxBatchSize: Int?
    /// Candidate P/D ratios as `"P:D"` (instances of one unit); default `["2:1", "1:1", "2:3", "1:2", "1:3"]`.
    public var ratios: [String]?
    /// What "best" means: `tokensPerGPU` (served tokens per GPU-second at the knee; per GPU-hour for
    /// policies) or `costPerMillionTokens` (needs `prices`). Default: the cost with prices, else tokens per GPU.
    public var objective: Objective?
    /// The fraction of the knee's per-instance TPS the autoscalers target when a policy gives no value
    /// (default 0.8: 20 % headroom for the load that arrives while new instances cold-start).
    public var safetyMargin: Double?
    public var stress: Stress?
    public var simulation: PolicySimulation?
    public var policies: [CandidatePolicy]?

    /// The GPU types and instance size per role.
    public struct Roles: Codable, Sendable, Hashable {
        public var prefill: Role
        public var decode: Role
    }

    public struct Role: Codable, Sendable, Hashable {
        /// GPU types (node label values, hardware profile names) the role may run on; every one is tried.
        public var gpuTypes: [String]
        public var gpusPerInstance: Int
    }

    public struct SLO: Codable, Sendable, Hashable {
        public var ttftMs: Double?
        public var tbtMs: Double?
        /// Share of requests that must meet both targets (TTFT and mean TBT): in the stress test (default 0.9,
        /// the P90 of the SLO) and for a policy to rank as feasible (`policyAttainment`, default 0.95).
        public var attainment: Double?
        public var policyAttainment: Double?
    }

    public enum Objective: String, Codable, Sendable, Hashable {
        case tokensPerGPU, costPerMillionTokens
    }

    /// Step 1: each probe is `duration` s of Poisson arrivals at a constant rate on one static P/D unit.
    public struct Stress: Codable, Sendable, Hashable {
        /// Seconds of arrivals per probe (default 300).
        public var duration: Double?
        /// Bisection steps after the bracket is found (default 7: the knee to within 1/128 of the bracket).
        public var iterations: Int?
        /// Units per probe (default 1): more units average out the discreteness of one unit.
        public var units: Int?
        /// Units the workload's peak must need for a candidate to be chosen (default 2): a unit whose knee covers
        /// more than `peak ÷ minUnitsAtPeak` leaves the autoscaler (almost) nothing to scale — it runs a whole
        /// unit at the trough. Such candidates are listed but chosen only when no candidate qualifies; 0 turns the
        /// filter off.
        public var minUnitsAtPeak: Double?
    }

    /// Step 2: the policies over the workload.
    public struct PolicySimulation: Codable, Sendable, Hashable {
        /// Seconds of the workload simulated (default: the workload's duration).
        public var duration: Double?
        /// Cold start of a new instance (default 120 s).
        public var coldStartSeconds: Double?
        /// Head-room of the step-2 cluster and of `maxReplicas` over the peak need (default 1.5).
        public var headroom: Double?
    }

    /// A candidate policy and the values of its searched parameter (see `CurateStrategy`).
    public struct CandidatePolicy: Codable, Sendable, Hashable {
        public var strategy: CurateStrategy
        public var values: [Double]?
    }

    /// Reads a curation file; errors start with the path.
    public static func load(path: String) throws -> CurateSpec {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SimulationError("\(path): cannot read the curation file (\(FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file"))")
        }
        do {
            let spec = try parse(text)
            try spec.validate(baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
            return spec
        } catch {
            throw SimulationError("\(path): \(error)")
        }
    }

    /// Parses strictly (unknown keys are errors with line and nearest valid key).
    public static func parse(_ text: String) throws -> CurateSpec {
        try YAML.loadDocument(text).decode(CurateSpec.self, strict: true)
    }

    /// A parsed ratio: prefill and decode instances of one unit.
    public struct Ratio: Sendable, Hashable, CustomStringConvertible {
        public var prefill: Int
        public var decode: Int
        public init(prefill: Int, decode: Int) {
            self.prefill = prefill
            self.decode = decode
        }
        public var description: String { "\(prefill):\(decode)" }
        public var instances: Int { prefill + decode }

        /// `"2:3"` → 2 prefill, 3 decode.
        public static func parse(_ s: String) -> Ratio? {
            let parts = s.split(separator: ":").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let p = parts[0], let d = parts[1], p > 0, d > 0 else { return nil }
            return Ratio(prefill: p, decode: d)
        }
    }

    public var parsedRatios: [Ratio] {
        (ratios ?? ["2:1", "1:1", "2:3", "1:2", "1:3"]).compactMap(Ratio.parse)
    }

    public var candidatePolicies: [CandidatePolicy] {
        policies ?? CurateStrategy.allCases.map { CandidatePolicy(strategy: $0, values: nil) }
    }

    public var effectiveObjective: Objective { objective ?? ((prices ?? [:]).isEmpty ? .tokensPerGPU : .costPerMillionTokens) }
    public var stressAttainment: Double { slo.attainment ?? 0.9 }
    public var policyAttainment: Double { slo.policyAttainment ?? 0.95 }
    public var margin: Double { safetyMargin ?? 0.8 }
    public var minUnitsAtPeak: Double { stress?.minUnitsAtPeak ?? 2 }

    /// Checks what decoding cannot; every error is one line naming the field.
    public func validate(baseDirectory: String) throws {
        guard slo.ttftMs != nil || slo.tbtMs != nil else { throw SimulationError("slo: give ttftMs, tbtMs or both (milliseconds)") }
        for (key, v) in [("slo.ttftMs", slo.ttftMs), ("slo.tbtMs", slo.tbtMs)] {
            if let v, !(v.isFinite && v > 0) { throw SimulationError("\(key): must be a positive number of milliseconds, got \(v)") }
        }
        for (key, v) in [("slo.attainment", slo.attainment), ("slo.policyAttainment", slo.policyAttainment), ("safetyMargin", safetyMargin)] {
            if let v, !(v > 0 && v <= 1) { throw SimulationError("\(key): must be in (0, 1], got \(v)") }
        }
        for (i, r) in (ratios ?? []).enumerated() where Ratio.parse(r) == nil {
            throw SimulationError("ratios[\(i)]: \"\(r)\" is not a ratio; write PREFILL:DECODE instances, e.g. \"2:3\"")
        }
        if parsedRatios.isEmpty { throw SimulationError("ratios: empty; give at least one, e.g. [\"1:1\", \"1:2\"]") }
        for (name, role) in [("prefill", roles.prefill), ("decode", roles.decode)] {
            if role.gpuTypes.isEmpty { throw SimulationError("roles.\(name).gpuTypes: empty; give at least one GPU type") }
            if role.gpusPerInstance < 1 { throw SimulationError("roles.\(name).gpusPerInstance: must be at least 1") }
        }
        if effectiveObjective == .costPerMillionTokens, (prices ?? [:]).isEmpty {
            throw SimulationError("objective: costPerMillionTokens needs `prices` (USD per GPU-hour per GPU type)")
        }
        for type in Set(roles.prefill.gpuTypes + roles.decode.gpuTypes).sorted() where prices != nil && prices?[type] == nil {
            throw SimulationError("prices: no price for GPU type \(type); give one for every type in roles")
        }
        if let s = stress {
            if let d = s.duration, !(d > 0) { throw SimulationError("stress.duration: must be positive seconds") }
            if let n = s.iterations, n < 1 || n > 20 { throw SimulationError("stress.iterations: must be 1…20") }
            if let u = s.units, u < 1 { throw SimulationError("stress.units: must be at least 1") }
            if let m = s.minUnitsAtPeak, !(m.isFinite && m >= 0) { throw SimulationError("stress.minUnitsAtPeak: must be 0 (off) or positive, got \(m)") }
        }
        for (i, p) in candidatePolicies.enumerated() {
            for v in p.values ?? [] where !(v.isFinite && v > 0) {
                throw SimulationError("policies[\(i)].values: must be positive, got \(v)")
            }
        }
        if candidatePolicies.isEmpty { throw SimulationError("policies: empty; give at least one candidate") }
        for (i, p) in profiles.enumerated() { _ = try ScenarioSpec.existingFile(p, key: "profiles[\(i)]", baseDirectory: baseDirectory) }
        for f in workload.files(key: "workload") { _ = try ScenarioSpec.existingFile(f.path, key: f.key, baseDirectory: baseDirectory) }
    }
}
