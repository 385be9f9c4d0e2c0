import Foundation
import YAML

/// The shared state of `CurateRunner.parallelMap`'s workers (guarded by `lock`).
final class ParallelState<T>: @unchecked Sendable {
    let lock = NSLock()
    var next = 0, finished = 0
    var results: [T?]
    var error: (any Error)?
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}

/// A candidate policy's run over the workload (step 2).
public struct CuratePolicyResult: Sendable {
    public var name: String
    public var strategy: CurateStrategy
    public var value: Double?
    public var manifests: [JSONValue]
    public var attainment: Double
    public var intervalAttainment: Double
    public var gpuHours: Double
    /// Prompt + generated tokens of finished requests per GPU-hour.
    public var tokensPerGPUHour: Double
    public var costPerMillionTokens: Double?
    public var ttftP90ms: Double
    public var tbtP90ms: Double
    public var scalingActions: Int
    public var unfinished: Int
    /// Meets the SLO attainment the curation asks for.
    public var feasible: Bool
}

/// Everything curation found: the stress test per candidate, the chosen unit and its targets, the policies
/// ranked, and the recommendation.
public struct CurateReport: Sendable {
    public var name: String
    public var objective: CurateSpec.Objective
    public var stress: [CurateStressResult]
    public var chosen: CurateStressResult
    public var targets: CurateTargets
    /// Probes past the knee of the chosen unit (1.2× and 1.5× its rate), from which the tiers were derived.
    public var pastKnee: [CurateProbe]
    /// Ranked: feasible policies by the objective, then the others by SLO attainment.
    public var policies: [CuratePolicyResult]
    public var peakRate: Double
    public var sloAttainmentTarget: Double
    /// The stress test's attainment target (a probe is within the SLO at or above it).
    public var stressAttainmentTarget: Double
    /// Units per probe (`stress.units`): a probe's knee ÷ this is one unit's.
    public var unitsPerProbe: Int
    /// `stress.minUnitsAtPeak`: candidates whose knee the peak needs fewer of were not chosen (unless all were).
    public var minUnitsAtPeak: Double
    /// Step 2 as a scenario file (`DIR/scenario.yaml`): `heteroscale simulate` on it re-runs every candidate
    /// policy with its scaling log and timeline.
    public var scenario: JSONValue

    /// The recommended policy (the first of the ranking).
    public var recommended: CuratePolicyResult { policies[0] }
}

/// Runs a curation: step 1 (stress test every ratio × GPU pairing, in parallel), the targets at the best one,
/// step 2 (every candidate policy over the workload, in parallel), the ranking.
public enum CurateRunner {
    public typealias Progress = @Sendable (_ step: String, _ done: Int, _ total: Int) -> Void

    /// Runs `count` independent jobs on `jobs` threads of our own; results in index order whatever `jobs` is.
    static func parallelMap<T: Sendable>(_ count: Int, jobs: Int, _ body: @escaping @Sendable (Int) throws -> T,
                                         done: (@Sendable (Int) -> Void)? = nil) throws -> [T] {
        let state = ParallelState<T>(count)
        let workers = max(1, min(jobs, count))
        let semaphore = DispatchSemaphore(value: 0)
        for _ in 0..<workers {
            let thread = Thread {
                while true {
                    state.lock.lock()
                    let k = state.next
                    state.next += 1
                    let stop = state.error != nil
                    state.lock.unlock()
                    guard k < count, !stop else { break }
                    do {
                        let r = try body(k)
                        state.lock.lock()
                        state.results[k] = r
                        state.finished += 1
                        done?(state.finished)
                        state.lock.unlock()
                    } catch {
                        state.lock.lock()
                        if state.error == nil { state.error = error }
                        state.lock.unlock()
                    }
                }
                semaphore.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<workers { semaphore.wait() }
        if let error = state.error { throw error }
        return state.results.map { $0! }
    }

    /// Mean prompt and output tokens and the peak arrival rate (requests in the busiest 60 s ÷ 60) of the workload.
    static func scan(_ spec: CurateSpec, baseDirectory: String) throws -> (prompt: Double, output: Double, peak: Double, end: Double) {
        var w = spec.workload
        if w.seed == nil { w.seed = spec.seed }
        var stream = try w.makeStream(baseDirectory: baseDirectory)
        var n = 0, prompt = 0, output = 0
        var bins: [Int: Int] = [:]
        var end = 0.0
        while let r = try stream.next() {
            n += 1
            prompt += r.promptTokens
            output += r.outputTokens
            bins[Int(r.arrival / 60), default: 0] += 1
            end = r.arrival
        }
        guard n > 0 else { throw SimulationError("workload: no requests") }
        return (Double(prompt) / Double(n), Double(output) / Double(n), Double(bins.values.max() ?? 0) / 60, end)
    }

    /// Runs the curation of `spec` (relative paths from `baseDirectory`) on `jobs` threads. With `template`, the
    /// manifests carry the user's pod templates (and a DeploymentGroup template's name, namespace and placement).
    public static func run(_ spec: CurateSpec, baseDirectory: String, jobs: Int, template: CurateTemplate? = nil,
                           progress: Progress? = nil) throws -> CurateReport {
        try spec.validate(baseDirectory: baseDirectory)
        try template?.check(spec)
        let probeScenario = try CurateScenario.make(spec, cluster: ["nodePools": []], policies: [])
        let performance = try probeScenario.performanceModel(baseDirectory: baseDirectory)
        for (role, r) in [("prefill", spec.roles.prefill), ("decode", spec.roles.decode)] {
            for type in r.gpuTypes where performance.profile(model: spec.model, hardware: type, tensorParallel: r.gpusPerInstance) == nil {
                throw SimulationError("roles.\(role): no performance profile for \(spec.model) on \(type) at TP \(r.gpusPerInstance) in `profiles`")
            }
        }
        let workload = try scan(spec, baseDirectory: baseDirectory)
        let sizes = try CurateStress.sizes(spec, baseDirectory: baseDirectory)

        // Step 1: every ratio × GPU pairing.
        var candidates: [CurateCandidate] = []
        for ratio in spec.parsedRatios {
            for p in spec.roles.prefill.gpuTypes {
                for d in spec.roles.decode.gpuTypes { candidates.append(CurateCandidate(ratio: ratio, prefillGPUType: p, decodeGPUType: d)) }
            }
        }
        let allCandidates = candidates
        let stress = try parallelMap(allCandidates.count, jobs: jobs, { i in
            let c = allCandidates[i]
            let estimate = CurateStress.estimate(spec, c, performance: performance, meanPrompt: workload.prompt, meanOutput: workload.output)
            return try CurateStress.run(spec, c, sizes: sizes, estimate: estimate, baseDirectory: baseDirectory)
        }, done: { progress?("stress", $0, allCandidates.count) })
        let objective = spec.effectiveObjective
        // Candidates small enough for the workload (its peak needs at least `minUnitsAtPeak` of them); all when none is.
        let units = Double(spec.stress?.units ?? 1)
        let fitting = stress.filter { s in s.knee.map { $0.rate / units * spec.minUnitsAtPeak <= workload.peak } ?? false }
        let eligible = fitting.isEmpty ? stress : fitting
        // The best score; ties keep the file's order (the first ratio listed wins).
        guard let chosen = eligible.enumerated().max(by: { a, b in
            a.element.score(objective) < b.element.score(objective) || (a.element.score(objective) == b.element.score(objective) && a.offset > b.offset)
        })?.element, let knee = chosen.knee else {
            throw SimulationError("no ratio serves any load within the SLO (even the lowest probe missed it); loosen the SLO or add faster GPU types")
        }

        // Past the knee: where latency leaves the SLO, for the tiers.
        let pastKnee = try parallelMap(2, jobs: jobs) { i in
            try CurateStress.prober(spec, chosen.candidate, sizes: sizes, baseDirectory: baseDirectory)(knee.rate * [1.2, 1.5][i])
        }
        let headroom = spec.simulation?.headroom ?? 1.5
        let maxUnits = max(2, Int((workload.peak * headroom / (knee.rate / units)).rounded(.up)))
        let targets = CurateTargets(
            ratio: chosen.candidate.ratio, prefillGPUType: chosen.candidate.prefillGPUType, decodeGPUType: chosen.candidate.decodeGPUType,
            prefillGPUsPerInstance: spec.roles.prefill.gpusPerInstance, decodeGPUsPerInstance: spec.roles.decode.gpusPerInstance,
            kneeRate: knee.rate / units, kneeDecodeTPS: knee.decodeTPS / units, kneePrefillTPS: knee.prefillTPS / units,
            margin: spec.margin, tiers: tiers(pastKnee, spec: spec), maxUnits: maxUnits, sloTTFTms: spec.slo.ttftMs, sloTBTms: spec.slo.tbtMs,
            kneeTTFTP90ms: knee.ttftP90ms, kneeTBTP90ms: knee.tbtP90ms, maxBatchSize: spec.maxBatchSize ?? 256)

        // Step 2: every candidate policy × value over the workload, on a cluster that holds maxUnits units.
        let service = template?.name ?? ScenarioRunner.safeName(spec.name ?? "llm").lowercased()
        let runs = candidatePolicies(spec).map { c in
            (name: c.name, strategy: c.strategy, value: c.value,
             manifests: CuratePolicyFactory.manifests(c.strategy, value: c.value, targets: targets, service: service,
                                                      model: spec.model, performance: performance, template: template))
        }
        var stepWorkload = spec.workload
        if stepWorkload.seed == nil { stepWorkload.seed = spec.seed }
        let cluster = CurateStress.cluster(spec, chosen.candidate, units: maxUnits)
        let coldStart = spec.simulation?.coldStartSeconds ?? 120
        var scenario = try CurateScenario.make(spec, cluster: cluster, policies: runs.map { ($0.name, $0.manifests) },
                                               workload: stepWorkload, coldStart: coldStart)
        scenario.duration = spec.simulation?.duration
        let scenarioFile = try CurateScenario.file(spec, cluster: cluster, policies: runs.map { ($0.name, $0.manifests) },
                                                   workload: stepWorkload, coldStart: coldStart, duration: spec.simulation?.duration,
                                                   baseDirectory: baseDirectory)
        let finalScenario = scenario
        let target = spec.policyAttainment
        let allRuns = runs
        var results = try parallelMap(allRuns.count, jobs: jobs, { i in
            let run = allRuns[i]
            let o = try ScenarioRunner.run(finalScenario, baseDirectory: baseDirectory, policy: run.name, requests: .statisticsOnly)[0]
            let tokens = Double(o.result.promptTokensDone + o.result.tokensOut)
            let stats = o.result.requestStats
            let attainment = Double(stats.sloMet) / Double(max(o.result.arrived, 1))
            return CuratePolicyResult(
                name: run.name, strategy: run.strategy, value: run.value, manifests: run.manifests, attainment: attainment,
                intervalAttainment: o.intervalSLOAttainment, gpuHours: o.result.gpuHours,
                tokensPerGPUHour: o.result.gpuHours > 0 ? tokens / o.result.gpuHours : 0, costPerMillionTokens: o.costPerMillionTokens,
                ttftP90ms: stats.ttft.quantile(0.9) * 1000, tbtP90ms: stats.tbt.quantile(0.9) * 1000,
                scalingActions: o.result.scalingActions, unfinished: o.result.unfinished, feasible: attainment >= target)
        }, done: { progress?("policies", $0, allRuns.count) })
        results = rank(results, objective: objective)
        return CurateReport(name: spec.name ?? "curate", objective: objective, stress: stress, chosen: chosen, targets: targets,
                            pastKnee: pastKnee, policies: results, peakRate: workload.peak, sloAttainmentTarget: target,
                            stressAttainmentTarget: spec.stressAttainment, unitsPerProbe: spec.stress?.units ?? 1, minUnitsAtPeak: spec.minUnitsAtPeak, scenario: scenarioFile)
    }

    /// Step 2's candidates in the file's order: each strategy × each of its values (its defaults when it gives
    /// none), named as in the tables (`hybrid@0.8`); a name given twice runs once.
    public static func candidatePolicies(_ spec: CurateSpec) -> [(name: String, strategy: CurateStrategy, value: Double?)] {
        var out: [(name: String, strategy: CurateStrategy, value: Double?)] = []
        for c in spec.candidatePolicies {
            let values: [Double?] = c.values.map { $0.map(Optional.some) } ?? c.strategy.defaultValues(margin: spec.margin)
            for v in values {
                let name = CuratePolicyFactory.name(c.strategy, v)
                if !out.contains(where: { $0.name == name }) { out.append((name, c.strategy, v)) }
            }
        }
        return out
    }

    /// Feasible policies first, best objective first (ties: fewer GPU-hours, then name); then the infeasible
    /// ones by SLO attainment.
    static func rank(_ results: [CuratePolicyResult], objective: CurateSpec.Objective) -> [CuratePolicyResult] {
        func score(_ r: CuratePolicyResult) -> Double {
            switch objective {
            case .tokensPerGPU: return r.tokensPerGPUHour
            case .costPerMillionTokens: return -(r.costPerMillionTokens ?? .infinity)
            }
        }
        return results.sorted { a, b in
            if a.feasible != b.feasible { return a.feasible }
            if a.feasible {
                if score(a) != score(b) { return score(a) > score(b) }
            } else if a.attainment != b.attainment {
                return a.attainment > b.attainment
            }
            if a.gpuHours != b.gpuHours { return a.gpuHours < b.gpuHours }
            return a.name < b.name
        }
    }

    /// Latency tiers from the probes past the knee: tier 1 fires at the latency (÷ SLO, the worse of TTFT and
    /// TBT) seen at 1.2× the knee and adds 20 %; tier 2 at the latency seen at 1.5× and adds 50 %. Ratios are
    /// clamped to [1.05, 1.5] and [tier 1 + 0.1, 3]: past the knee the prefill queue grows without bound, so the
    /// raw ratio of a long probe says more about its length than about the load.
    static func tiers(_ past: [CurateProbe], spec: CurateSpec) -> [CurateTargets.Tier] {
        func ratio(_ p: CurateProbe) -> Double {
            max(spec.slo.ttftMs.map { p.ttftP90ms / $0 } ?? 0, spec.slo.tbtMs.map { p.tbtP90ms / $0 } ?? 0)
        }
        let r1 = min(1.5, max(1.05, past.first.map(ratio) ?? 1.1))
        let r2 = min(3, max(r1 + 0.1, past.last.map(ratio) ?? 1.5))
        return [.init(ratio: CurateTargets.round(r1), stepPercent: 20), .init(ratio: CurateTargets.round(r2), stepPercent: 50)]
    }
}

