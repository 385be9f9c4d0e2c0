import Foundation

/// A request's latency with the cluster to itself, from the performance model: its prompt prefilled alone
/// (batch of one) on the policy's first prefill (or mixed) pool, then its output decoded alone (batch of one,
/// the context growing by a token a step) on the first decode (or mixed) pool. The KV transfer is not part of
/// it: waiting for the cache counts as slowdown.
public struct UnloadedLatency: Sendable {
    let prefill: HardwareProfile
    let decode: HardwareProfile

    /// The profiles of the policy's first prefill-capable and decode-capable pools; nil when a pool's profile
    /// is missing (the simulator refuses such a configuration anyway).
    public init?(config: SimulationConfig) {
        func profile(_ roles: [InstanceRole]) -> HardwareProfile? {
            guard let pool = config.pools.first(where: { roles.contains($0.role) }) else { return nil }
            let hardware = pool.hardware ?? (pool.gpuTypes?.first ?? pool.gpuType)
            return config.performance.profile(model: pool.model, hardware: hardware, tensorParallel: pool.tensorParallel)
        }
        guard let p = profile([.prefill, .mixed]), let d = profile([.decode, .mixed]) else { return nil }
        prefill = p
        decode = d
    }

    /// (TTFT, mean TBT, end-to-end) in seconds for a request of `prompt` and `output` tokens. As the simulator
    /// counts: the prefill gives the first token; each later token is a decode step over `prompt + k` tokens of
    /// context (k = 1 … output − 1); TBT is the mean step (0 for a one-token output).
    public func latency(prompt: Int, output: Int) -> (ttft: Double, tbt: Double, e2e: Double) {
        let ttft = prefill.prefillTime(batchTokens: prompt)
        let steps = max(0, output - 1)
        guard steps > 0 else { return (ttft, 0, ttft) }
        var total = 0.0
        if decode.decodeContextFactor == nil && decode.decodeSecondsPerContextToken == 0 {
            total = decode.decodeTime(batchSize: 1) * Double(steps)
        } else {
            for k in 1...steps { total += decode.decodeTime(batchSize: 1, contextTokens: prompt + k) }
        }
        return (ttft, total / Double(steps), ttft + total)
    }
}

/// What one cell produced: its `results_summary.csv` row and its scaling log.
public struct SweepCellResult: Sendable {
    public var cell: SweepCell
    public var row: [String]
    public var scalingLog: String
}

/// Runs a sweep's cells (all in parallel, or one by index), writes `DIR/SEED/TRACE/RATE/POLICY/summary.csv`
/// per cell and `DIR/results_summary.csv`, merges the cells of an Indexed Job.
public enum SweepRunner {
    /// The columns of `results_summary.csv` and of every cell's `summary.csv` (latencies in ms, E2E in s;
    /// slowdown = latency ÷ the same request's `UnloadedLatency`).
    public static let columns: [String] = {
        var c = ["cell", "cells", "seed", "trace", "rate", "policy", "requests", "completed", "unfinished"]
        for (metric, unit) in [("ttft", "_ms"), ("tbt", "_ms"), ("e2e", "_s")] { c += ["p50", "p90", "p99"].map { "\(metric)_\($0)\(unit)" } }
        for metric in ["ttft", "tbt", "e2e"] { c += ["p50", "p90", "p99"].map { "\(metric)_slowdown_\($0)" } }
        return c + ["slo_ttft_ms", "slo_tbt_ms", "slo_attainment", "slo_attainment_intervals", "gpu_hours", "mean_gpu_utilization",
                    "cost_per_1m_tokens", "scaling_actions", "pd_ratio_std"]
    }()

    /// Per-request slowdown sketches, filled by the simulator's request sink.
    final class Slowdowns {
        var ttft = QuantileSketch(), tbt = QuantileSketch(), e2e = QuantileSketch()
    }

    /// The prepared inputs every cell shares: each policy's configuration and the traces' size distributions.
    public struct Prepared: Sendable {
        var configs: [String: SimulationConfig] = [:]
        var sizes: [String: TokenSizes] = [:]
    }

    /// Builds every policy's configuration and reads every trace once.
    public static func prepare(_ sweep: Sweep) throws -> Prepared {
        var prepared = Prepared()
        for p in sweep.policies {
            prepared.configs[p] = try ScenarioRunner.prepare(sweep.scenario, baseDirectory: sweep.scenarioDirectory, policy: p)[0].config
        }
        for (name, path) in sweep.traceFiles {
            do {
                let sizes = try TokenSizes.empirical(from: try TraceFormat.detect(path: path).open(path: path))
                // splitwiseCompat draws prompt and output sizes independently, as splitwise-sim's generator does.
                prepared.sizes[name] = sweep.scenario.performanceModelMode == .splitwiseCompat ? sizes.independentColumns : sizes
            } catch {
                throw SimulationError("trace \(name) (\(path)): \(error)")
            }
        }
        return prepared
    }

    /// Simulates one cell: the scenario with its workload replaced by Poisson arrivals at the cell's rate (after
    /// the sweep's `ramp`, if any: `kind: quickRise` from 0), sizes
    /// drawn from the cell's trace, for the sweep's duration, seeded (workload and placement) by the cell's seed —
    /// exactly what `heteroscale simulate` runs for such a scenario.
    public static func run(_ cell: SweepCell, of sweep: Sweep, prepared: Prepared) throws -> SweepCellResult {
        guard var config = prepared.configs[cell.policy], let sizes = prepared.sizes[cell.trace] else {
            throw SimulationError("cell \(cell.index): policy \(cell.policy) or trace \(cell.trace) was not prepared")
        }
        config.recordRequests = false
        config.duration = sweep.duration
        config.placement.seed = cell.seed
        let ramp = sweep.spec.ramp ?? 0
        let pattern: ArrivalPattern = ramp > 0 ? .quickRise(from: 0, to: cell.rate, start: 0, rampDuration: ramp) : .constant(rate: cell.rate)
        let stream = SyntheticWorkload(pattern: pattern, sizes: sizes, duration: sweep.duration, seed: cell.seed)
        let simulator = try Simulator(config: config, stream: stream)
        let slowdowns = Slowdowns()
        if let unloaded = UnloadedLatency(config: config) {
            simulator.requestSink = { r, _ in
                let base = unloaded.latency(prompt: r.promptTokens, output: r.outputTokens)
                if base.ttft > 0 { slowdowns.ttft.add(r.ttft / base.ttft) }
                if base.tbt > 0, r.generatedTokens > 1 { slowdowns.tbt.add(r.tbt / base.tbt) }
                if base.e2e > 0 { slowdowns.e2e.add(r.responseTime / base.e2e) }
            }
        }
        let result = try simulator.run()
        var outcome = PolicyOutcome(policy: cell.policy, result: result, sloTTFTms: config.sloTTFTms, sloTBTms: config.sloTBTms)
        outcome.requestsStreamed = true
        outcome.prices = config.gpuPrices
        return SweepCellResult(cell: cell, row: row(cell, cells: sweep.cells.count, outcome, slowdowns), scalingLog: ScenarioRunner.scalingLog(outcome))
    }

    static func row(_ cell: SweepCell, cells: Int, _ o: PolicyOutcome, _ s: Slowdowns) -> [String] {
        let f = ScenarioRunner.f
        let qs = [0.5, 0.9, 0.99]
        let stats = o.result.requestStats
        var row = [String(cell.index), String(cells), String(cell.seed), cell.trace, SweepCell.rateName(cell.rate), cell.policy,
                   String(o.result.arrived), String(o.result.completed), String(o.result.unfinished)]
        row += qs.map { f(stats.ttft.quantile($0) * 1000) } + qs.map { f(stats.tbt.quantile($0) * 1000) } + qs.map { f(stats.response.quantile($0)) }
        for sketch in [s.ttft, s.tbt, s.e2e] { row += qs.map { sketch.count > 0 ? f(sketch.quantile($0)) : "" } }
        // Cost summed in GPU-type order (a dictionary's order is not stable across processes).
        var cost: String = ""
        let tokens = Double(o.result.promptTokensDone + o.result.tokensOut)
        if !o.prices.isEmpty, tokens > 0 {
            let total = o.result.gpuSecondsByType.sorted { $0.key < $1.key }.reduce(0.0) { $0 + $1.value / 3600 * (o.prices[$1.key] ?? 0) }
            cost = f(total / tokens * 1e6)
        }
        row += [o.sloTTFTms.map(f) ?? "", o.sloTBTms.map(f) ?? "", f(o.requestSLOAttainment), f(o.intervalSLOAttainment),
                f(o.result.gpuHours), f(o.result.meanGPUUtilization), cost, String(o.result.scalingActions), f(o.pdRatioStdDev)]
        return row
    }

    /// One CSV line (fields are numbers and folder-safe names, so nothing needs quoting but a policy name).
    static func line(_ fields: [String]) -> String {
        fields.map { $0.contains(where: { ",\"\n".contains($0) }) ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
            .joined(separator: ",") + "\n"
    }

    /// `results_summary.csv` from cell rows, in cell order.
    public static func summaryCSV(_ rows: [[String]]) -> String {
        line(columns) + rows.map(line).joined()
    }

    /// Writes a cell's `summary.csv` (the header and its row) and `scaling.log` under `directory`.
    public static func write(_ r: SweepCellResult, to directory: String) throws {
        let dir = URL(fileURLWithPath: directory).appendingPathComponent(r.cell.directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try summaryCSV([r.row]).write(to: dir.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
        try r.scalingLog.write(to: dir.appendingPathComponent("scaling.log"), atomically: true, encoding: .utf8)
    }

    /// Progress: cells done, cells to do, the cell just finished.
    public typealias Progress = @Sendable (_ done: Int, _ total: Int, _ cell: SweepCell) -> Void

    /// Runs `cells` (default: all) on `jobs` workers, writing each cell's files as it finishes, then (for the
    /// whole grid) `DIR/results_summary.csv`. Results are in cell order whatever `jobs` is: every cell is an
    /// independent, seeded simulation. The first failure stops the workers from taking new cells.
    @discardableResult
    public static func run(_ sweep: Sweep, out directory: String?, jobs: Int, cells selected: [Int]? = nil,
                           progress: Progress? = nil) throws -> [SweepCellResult] {
        let prepared = try prepare(sweep)
        let todo = (selected ?? Array(sweep.cells.indices)).map { sweep.cells[$0] }
        final class State: @unchecked Sendable {
            let lock = NSLock()
            var next = 0, done = 0
            var results: [SweepCellResult?]
            var error: (any Error)?
            init(_ n: Int) { results = Array(repeating: nil, count: n) }
        }
        let state = State(todo.count)
        let workers = max(1, min(jobs, todo.count))
        // Threads of our own (not Dispatch's pool, which an async caller's context may narrow to one).
        let finished = DispatchSemaphore(value: 0)
        let work: @Sendable () -> Void = {
            while true {
                state.lock.lock()
                let k = state.next
                state.next += 1
                let stop = state.error != nil
                state.lock.unlock()
                guard k < todo.count, !stop else { return }
                let cell = todo[k]
                do {
                    let r = try run(cell, of: sweep, prepared: prepared)
                    if let directory { try write(r, to: directory) }
                    state.lock.lock()
                    state.results[k] = r
                    state.done += 1
                    progress?(state.done, todo.count, cell)
                    state.lock.unlock()
                } catch {
                    state.lock.lock()
                    if state.error == nil { state.error = SimulationError("cell \(cell.index) (\(cell.directory)): \(error)") }
                    state.lock.unlock()
                }
            }
        }
        for _ in 0..<workers {
            let thread = Thread { work(); finished.signal() }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<workers { finished.wait() }
        if let error = state.error { throw error }
        let results = state.results.compactMap { $0 }
        if let directory, selected == nil {
            try summaryCSV(results.map(\.row)).write(to: URL(fileURLWithPath: directory).appendingPathComponent("results_summary.csv"),
                                                   atomically: true, encoding: .utf8)
        }
        return results
    }

    /// Builds `results_summary.csv` from the cells' `summary.csv` files under `directory` (an Indexed Job's
    /// output), in cell order; an error names the missing cells. Returns the CSV text (also written).
    @discardableResult
    public static func merge(_ directory: String) throws -> String {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: directory) else { throw SimulationError("\(directory): no such folder") }
        var rows: [Int: [String]] = [:]
        var total: Int?
        let header = line(columns)
        for case let path as String in walker where path.hasSuffix("/summary.csv") && path.split(separator: "/").count == 5 {
            let text = try String(contentsOfFile: directory + "/" + path, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            guard lines.count == 2, String(lines[0]) + "\n" == header else {
                throw SimulationError("\(directory)/\(path): not a sweep cell's summary (expected the header of results_summary.csv and one row)")
            }
            let fields = lines[1].split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 2, let index = Int(fields[0]), let cells = Int(fields[1]) else {
                throw SimulationError("\(directory)/\(path): the row has no cell index")
            }
            if let total, total != cells {
                throw SimulationError("\(directory)/\(path): from a sweep of \(cells) cells, the others are from one of \(total); merge one sweep's cells")
            }
            total = cells
            if rows[index] != nil { throw SimulationError("\(directory)/\(path): cell \(index) found twice") }
            rows[index] = [String(lines[1])]
        }
        guard let total else { throw SimulationError("\(directory): no cell summaries (SEED/TRACE/RATE/POLICY/summary.csv) found") }
        let missing = (0..<total).filter { rows[$0] == nil }
        guard missing.isEmpty else {
            let shown = missing.prefix(20).map(String.init).joined(separator: ", ") + (missing.count > 20 ? ", …" : "")
            throw SimulationError("\(directory): \(missing.count) of \(total) cells missing (\(shown)); run them with `heteroscale sweep SWEEP.yaml --index K --out \(directory)`")
        }
        let csv = header + (0..<total).map { rows[$0]![0] + "\n" }.joined()
        try csv.write(to: URL(fileURLWithPath: directory).appendingPathComponent("results_summary.csv"), atomically: true, encoding: .utf8)
        return csv
    }
}
