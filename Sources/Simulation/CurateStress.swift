import Foundation
import YAML

/// One P/D unit to stress-test: a ratio and a GPU type per role.
public struct CurateCandidate: Sendable, Hashable, CustomStringConvertible {
    public var ratio: CurateSpec.Ratio
    public var prefillGPUType: String
    public var decodeGPUType: String
    public var description: String { "\(ratio) \(prefillGPUType)/\(decodeGPUType)" }
}

/// One simulation of a static unit at a constant request rate.
public struct CurateProbe: Sendable, Hashable {
    public var rate: Double
    public var arrived: Int
    public var completed: Int
    /// Requests meeting TTFT and mean TBT ÷ arrived (unfinished requests count as misses).
    public var attainment: Double
    public var ttftP90ms: Double
    public var tbtP90ms: Double
    /// Prompt + generated tokens of finished requests per second of arrivals.
    public var tokensPerSecond: Double
    /// Generated tokens after the first (the `decode_tps` signal) and prompt tokens, per second of arrivals.
    public var decodeTPS: Double
    public var prefillTPS: Double
    public var withinSLO: Bool
}

/// What the stress test found for one candidate.
public struct CurateStressResult: Sendable, Hashable {
    public var candidate: CurateCandidate
    public var gpus: Int
    /// USD per hour of the unit's GPUs (nil without prices).
    public var costPerHour: Double?
    /// The probes in the order they ran (the bracket, then the bisection).
    public var probes: [CurateProbe]
    /// The highest rate within the SLO (nil when even the lowest probe missed it).
    public var knee: CurateProbe?

    public var tokensPerGPU: Double { (knee?.tokensPerSecond ?? 0) / Double(gpus) }
    public var costPerMillionTokens: Double? {
        guard let costPerHour, let k = knee, k.tokensPerSecond > 0 else { return nil }
        return costPerHour / 3600 / k.tokensPerSecond * 1e6
    }

    /// Higher is better: tokens per GPU-second, or minus the cost per 1M tokens.
    public func score(_ objective: CurateSpec.Objective) -> Double {
        guard knee != nil else { return -.infinity }
        switch objective {
        case .tokensPerGPU: return tokensPerGPU
        case .costPerMillionTokens: return -(costPerMillionTokens ?? .infinity)
        }
    }
}

/// Step 1: the highest steady load a unit serves within the SLO, by a doubling bracket then bisection on the
/// request rate. Every probe is a seeded simulation (the same seed for every rate and candidate), so the knee is
/// deterministic.
public enum CurateStress {
    /// Nodes (8 GPUs each, or one instance's GPUs if more) for `units` units of the candidate, per GPU type.
    static func cluster(_ spec: CurateSpec, _ c: CurateCandidate, units: Int) -> JSONValue {
        var nodes: [String: (perNode: Int, count: Int)] = [:]
        for (weight, type, gpus) in [(c.ratio.prefill, c.prefillGPUType, spec.roles.prefill.gpusPerInstance),
                                     (c.ratio.decode, c.decodeGPUType, spec.roles.decode.gpusPerInstance)] {
            let perNode = max(8, gpus)
            let perNodeInstances = max(1, perNode / gpus)
            let count = (weight * units + perNodeInstances - 1) / perNodeInstances
            nodes[type] = (max(perNode, nodes[type]?.perNode ?? 0), (nodes[type]?.count ?? 0) + count)
        }
        return ["nodePools": .array(nodes.keys.sorted().map { type in
            ["gpuType": .string(type), "gpusPerNode": .int(Int64(nodes[type]!.perNode)), "count": .int(Int64(nodes[type]!.count))]
        })]
    }

    /// The unit's scenario: the candidate's DeploymentGroup (static: no autoscaler) on exactly enough nodes.
    static func scenario(_ spec: CurateSpec, _ c: CurateCandidate, units: Int) throws -> ScenarioSpec {
        let r = c.ratio
        let roles: [(String, Int, String, Int)] = [("prefill", r.prefill, c.prefillGPUType, spec.roles.prefill.gpusPerInstance),
                                                   ("decode", r.decode, c.decodeGPUType, spec.roles.decode.gpusPerInstance)]
        let group: JSONValue = ["kind": "DeploymentGroup", "metadata": ["name": "unit"], "spec": [
            "replicas": .int(Int64(r.instances * units)),
            "roles": .array(roles.map { name, weight, type, gpus in
                ["name": .string(name), "weight": .int(Int64(weight)), "gpuType": [.string(type)], "gpusPerInstance": .int(Int64(gpus))]
            })]]
        return try CurateScenario.make(spec, cluster: cluster(spec, c, units: units), policies: [("unit", [group])])
    }

    /// The request sizes of the workload: its `sizes` for a synthetic workload, else the (prompt, output) pairs
    /// of its requests.
    public static func sizes(_ spec: CurateSpec, baseDirectory: String) throws -> TokenSizes {
        if let s = spec.workload.sizes, spec.workload.trace == nil, spec.workload.phases == nil {
            return try s.sizes(baseDirectory: baseDirectory)
        }
        var w = spec.workload
        if w.seed == nil { w.seed = spec.seed }
        return try TokenSizes.empirical(from: try w.makeStream(baseDirectory: baseDirectory))
    }

    /// A function that simulates `candidate` (static, `stress.units` units) at a given constant rate for
    /// `stress.duration` seconds, seeded by the curation's seed.
    static func prober(_ spec: CurateSpec, _ candidate: CurateCandidate, sizes: TokenSizes,
                       baseDirectory: String) throws -> (Double) throws -> CurateProbe {
        let units = spec.stress?.units ?? 1
        let scenario = try scenario(spec, candidate, units: units)
        var config = try ScenarioRunner.prepare(scenario, baseDirectory: baseDirectory)[0].config
        let duration = spec.stress?.duration ?? 300
        config.recordRequests = false
        config.duration = duration
        config.drainTimeout = 120
        let seed = spec.seed ?? 0
        config.placement.seed = seed
        let attainment = spec.stressAttainment
        let fixed = config
        return { rate in
            let stream = SyntheticWorkload(pattern: .constant(rate: rate), sizes: sizes, duration: duration, seed: seed)
            let result = try Simulator(config: fixed, stream: stream).run()
            let stats = result.requestStats
            let met = Double(stats.sloMet) / Double(max(result.arrived, 1))
            let ttft = stats.count > 0 ? stats.ttft.quantile(0.9) * 1000 : .infinity
            let tbt = stats.count > 0 ? stats.tbt.quantile(0.9) * 1000 : .infinity
            return CurateProbe(rate: rate, arrived: result.arrived, completed: result.completed, attainment: met,
                               ttftP90ms: ttft, tbtP90ms: tbt,
                               tokensPerSecond: Double(result.promptTokensDone + result.tokensOut) / duration,
                               decodeTPS: Double(max(0, result.tokensOut - result.completed)) / duration,
                               prefillTPS: Double(result.promptTokensDone) / duration,
                               withinSLO: result.arrived > 0 && met >= attainment)
        }
    }

    /// Stress-tests one candidate. `estimate` is the first rate probed (requests/s of the whole probe).
    public static func run(_ spec: CurateSpec, _ candidate: CurateCandidate, sizes: TokenSizes, estimate: Double,
                           baseDirectory: String) throws -> CurateStressResult {
        let units = spec.stress?.units ?? 1
        let probe = try prober(spec, candidate, sizes: sizes, baseDirectory: baseDirectory)
        var probes: [CurateProbe] = []
        var lo: CurateProbe?, hi: CurateProbe?
        var rate = max(estimate, 0.01)
        for _ in 0..<16 where lo == nil || hi == nil {
            let p = try probe(rate)
            probes.append(p)
            if p.withinSLO { lo = p; rate *= 2 } else { hi = p; rate /= 2 }
            if rate < 0.005 { break }
        }
        if let l = lo, let h = hi {
            var (l, h) = (l, h)
            for _ in 0..<(spec.stress?.iterations ?? 7) {
                let p = try probe((l.rate + h.rate) / 2)
                probes.append(p)
                if p.withinSLO { l = p } else { h = p }
            }
            lo = l
        }
        let gpus = units * (candidate.ratio.prefill * spec.roles.prefill.gpusPerInstance + candidate.ratio.decode * spec.roles.decode.gpusPerInstance)
        var cost: Double?
        if let prices = spec.prices, !prices.isEmpty {
            cost = Double(units) * (Double(candidate.ratio.prefill * spec.roles.prefill.gpusPerInstance) * (prices[candidate.prefillGPUType] ?? 0)
                + Double(candidate.ratio.decode * spec.roles.decode.gpusPerInstance) * (prices[candidate.decodeGPUType] ?? 0))
        }
        return CurateStressResult(candidate: candidate, gpus: gpus, costPerHour: cost, probes: probes, knee: lo)
    }

    /// A first guess of a unit's capacity (requests/s) from the performance model: full prefill batches of
    /// mean-sized prompts on the prefill instances, and decode batches as large as the KV cache and
    /// `maxBatchSize` allow within the TBT SLO.
    public static func estimate(_ spec: CurateSpec, _ c: CurateCandidate, performance: PerformanceModel,
                                meanPrompt: Double, meanOutput: Double) -> Double {
        let units = Double(spec.stress?.units ?? 1)
        guard let p = performance.profile(model: spec.model, hardware: c.prefillGPUType, tensorParallel: spec.roles.prefill.gpusPerInstance),
              let d = performance.profile(model: spec.model, hardware: c.decodeGPUType, tensorParallel: spec.roles.decode.gpusPerInstance),
              meanPrompt > 0, meanOutput > 0 else { return 1 }
        let batchTokens = spec.maxBatchTokens ?? 8192
        let prompts = max(1, Int((Double(batchTokens) / meanPrompt).rounded(.down)))
        let prompt = max(1, Int(meanPrompt.rounded()))
        let prefillRate = Double(prompts) / p.prefillTime(PrefillBatch(prompt: prompt, count: prompts))
        let context = meanPrompt + meanOutput / 2
        var batch = min(spec.maxBatchSize ?? 256, max(1, Int(Double(d.kvCapacityTokens ?? 1_000_000) / (meanPrompt + meanOutput))))
        let tbt = (spec.slo.tbtMs ?? 1e9) / 1000
        while batch > 1, d.decodeTime(batchSize: batch, contextTokens: Int(Double(batch) * context)) > tbt { batch -= 1 }
        let decodeRate = Double(batch) / d.decodeTime(batchSize: batch, contextTokens: Int(Double(batch) * context)) / meanOutput
        return units * min(Double(c.ratio.prefill) * prefillRate, Double(c.ratio.decode) * decodeRate)
    }
}

/// Scenarios built for curation (decoded strictly, as a scenario file would be).
enum CurateScenario {
    static func make(_ spec: CurateSpec, cluster: JSONValue, policies: [(String, [JSONValue])],
                     workload: WorkloadSpec? = nil, coldStart: Double? = nil) throws -> ScenarioSpec {
        var slo: JSONObject = [:]
        if let v = spec.slo.ttftMs { slo["ttftMs"] = .double(v) }
        if let v = spec.slo.tbtMs { slo["tbtMs"] = .double(v) }
        var o: JSONObject = ["name": .string(spec.name ?? "curate"), "profiles": .array(spec.profiles.map { .string($0) }),
                             "model": .string(spec.model), "cluster": cluster,
                             "workload": ["arrivals": ["kind": "constant", "rate": 1], "duration": 1],
                             "seed": .int(Int64(bitPattern: spec.seed ?? 0)), "slo": .object(slo),
                             "policies": .array(policies.map { ["name": .string($0.0), "manifests": .array($0.1)] })]
        if let coldStart { o["coldStartSeconds"] = .double(coldStart) }
        if let v = spec.maxBatchTokens { o["maxBatchTokens"] = .int(Int64(v)) }
        if let v = spec.maxBatchSize { o["maxBatchSize"] = .int(Int64(v)) }
        if let prices = spec.prices { o["prices"] = .object(JSONObject(prices.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .double($0.value)) })) }
        var scenario = try YAMLDocument(value: .object(o)).decode(ScenarioSpec.self, strict: true)
        if let workload { scenario.workload = workload }
        return scenario
    }
}
