import Foundation

/// The results of one policy, with the metrics `comparison.csv` reports.
public struct PolicyOutcome: Sendable {
    public var policy: String
    public var result: SimulationResult
    public var sloTTFTms: Double?
    public var sloTBTms: Double?
    /// The records were not kept: `requests.csv` was streamed while the policy ran (or not wanted).
    public var requestsStreamed = false
    /// Price of a GPU-hour per type (from the scenario).
    public var prices: [String: Double] = [:]

    public init(policy: String, result: SimulationResult, sloTTFTms: Double?, sloTBTms: Double?) {
        self.policy = policy
        self.result = result
        self.sloTTFTms = sloTTFTms
        self.sloTBTms = sloTBTms
    }

    /// Share of finished requests meeting both SLOs (TTFT, mean TBT); 1 without SLOs.
    public var requestSLOAttainment: Double {
        let stats = result.requestStats
        guard stats.count > 0 else { return 0 }
        return Double(stats.sloMet) / Double(stats.count)
    }

    /// Latency percentiles: exact over the kept records, else from the streaming sketches (±0.5 %).
    func latency(_ q: Double, _ record: KeyPath<RequestRecord, Double>, _ sketch: KeyPath<RequestStats, QuantileSketch>) -> Double {
        result.requests.isEmpty ? result.requestStats[keyPath: sketch].quantile(q) : percentile(result.requests.map { $0[keyPath: record] }, q)
    }

    public func meetsSLO(_ r: RequestRecord) -> Bool {
        r.meetsSLO(ttftMs: sloTTFTms, tbtMs: sloTBTms)
    }

    /// Share of scrape intervals whose cluster P90 TTFT and TBT are within the SLOs, over the intervals that
    /// measured at least one of the SLO's latencies (an interval without any is no evidence either way).
    public var intervalSLOAttainment: Double {
        let measured = result.intervalLatency.filter { e in
            (sloTTFTms != nil && e.ttftP90ms != nil) || (sloTBTms != nil && e.tbtP90ms != nil)
        }
        guard !measured.isEmpty else { return 0 }
        let ok = measured.filter { e in
            (sloTTFTms.flatMap { slo in e.ttftP90ms.map { $0 <= slo } } ?? true)
                && (sloTBTms.flatMap { slo in e.tbtP90ms.map { $0 <= slo } } ?? true)
        }
        return Double(ok.count) / Double(measured.count)
    }

    /// KV-transfer time of the requests that moved their cache: exact over the kept records, else from the
    /// streaming sketch.
    public func kvTransfer(_ q: Double) -> Double {
        guard result.requests.isEmpty else {
            return percentile(result.requests.filter { $0.kvBytes > 0 }.map(\.kvTransferSeconds), q)
        }
        return result.requestStats.kvTransfer.quantile(q)
    }

    public var kvTransferMean: Double {
        let s = result.requestStats
        return s.kvTransfer.count > 0 ? s.kvSeconds / Double(s.kvTransfer.count) : 0
    }

    /// Bytes moved ÷ transfer seconds over all transfers, GB/s (0 without transfers).
    public var kvBandwidthGBps: Double {
        let s = result.requestStats
        return s.kvSeconds > 0 ? s.kvBytes / s.kvSeconds / 1e9 : 0
    }

    /// GPU-hours of each type × its price (nil when the scenario has no prices).
    public var cost: Double? {
        guard !prices.isEmpty else { return nil }
        return result.gpuSecondsByType.reduce(0) { $0 + $1.value / 3600 * (prices[$1.key] ?? 0) }
    }

    /// Cost per million tokens served (prompt and generated tokens of the finished requests).
    public var costPerMillionTokens: Double? {
        let tokens = Double(result.promptTokensDone + result.tokensOut)
        guard let cost, tokens > 0 else { return nil }
        return cost / tokens * 1e6
    }

    /// Population standard deviation of the ready P/D ratio over the intervals where it is defined.
    public var pdRatioStdDev: Double {
        var seen = Set<Double>()
        var ratios: [Double] = []
        for row in result.timeline where row.pdRatio > 0 && seen.insert(row.time).inserted { ratios.append(row.pdRatio) }
        guard ratios.count > 1 else { return 0 }
        // Shifted data (by the first value): a constant ratio gives exactly 0, not rounding noise.
        let k = ratios[0]
        let n = Double(ratios.count)
        let sum = ratios.reduce(0) { $0 + ($1 - k) }
        let sumSq = ratios.reduce(0) { $0 + ($1 - k) * ($1 - k) }
        return max(0, (sumSq - sum * sum / n) / n).squareRoot()
    }
}

public enum ScenarioRunner {
    /// Runs the scenario's policies (all, or the one named), in order.
    /// Reports a policy's simulated time and the expected end (the scenario's or workload's duration, if any).
    public typealias Progress = (_ policy: String, _ time: Double, _ end: Double?) -> Void

    /// What happens to per-request records.
    public enum RequestOutput: Sendable, Hashable {
        /// Kept in `SimulationResult.requests` (tests, small runs; `write` produces `requests.csv`).
        case keep
        /// Written to `DIR/POLICY/requests.csv` as requests finish; not kept (flat memory).
        case stream(to: String)
        /// Only the streaming statistics (benchmarks).
        case statisticsOnly
    }

    /// Every error names the scenario file first: `scenario.yaml: slo: missing; …`.
    public static func run(scenarioPath: String, policy: String? = nil, progress: Progress? = nil,
                           requests: RequestOutput = .keep) throws -> [PolicyOutcome] {
        let spec = try ScenarioSpec.load(path: scenarioPath)
        let base = URL(fileURLWithPath: scenarioPath).deletingLastPathComponent().path
        do {
            return try run(spec, baseDirectory: base, policy: policy, progress: progress, requests: requests)
        } catch {
            throw SimulationError("\(scenarioPath): \(error)")
        }
    }

    /// Validates the scenario and builds the configuration of every selected policy (all, or the one named):
    /// every manifest read and checked, every pool's minimum placed on the cluster. Nothing is simulated.
    public static func prepare(_ spec: ScenarioSpec, baseDirectory: String, policy: String? = nil) throws
        -> [(policy: ScenarioSpec.Policy, config: SimulationConfig)]
    {
        try spec.validate(baseDirectory: baseDirectory)
        let performance = try spec.performanceModel(baseDirectory: baseDirectory)
        let selected = spec.policies.filter { policy == nil || $0.name == policy }
        guard !selected.isEmpty else {
            throw SimulationError("no policy \(policy ?? "") in the scenario; have \(spec.policies.map(\.name).joined(separator: ", "))")
        }
        return try selected.map { p in
            let config = try spec.config(policy: p, baseDirectory: baseDirectory, performance: performance)
            do {
                try config.checkMinimumPlacement()
            } catch {
                throw SimulationError("policy \(p.name): \(error)")
            }
            return (p, config)
        }
    }

    /// Runs the policies one after another, after `prepare` checked all of them (so that a bad last policy
    /// fails in a second, not after the others ran). With `.stream` or `.statisticsOnly` no per-request
    /// records are kept, so memory stays flat however long the trace.
    public static func run(_ spec: ScenarioSpec, baseDirectory: String, policy: String? = nil, progress: Progress? = nil,
                           requests: RequestOutput = .keep) throws -> [PolicyOutcome] {
        let prepared = try prepare(spec, baseDirectory: baseDirectory, policy: policy)
        var workload = spec.workload
        if workload.seed == nil { workload.seed = spec.seed }
        return try prepared.map { p, config in
            var config = config
            let stream = try workload.makeStream(
                baseDirectory: baseDirectory, independentSizes: spec.performanceModelMode == .splitwiseCompat)
            var writer: RequestsCSVWriter?
            switch requests {
            case .keep: break
            case .stream(let directory):
                config.recordRequests = false
                writer = try RequestsCSVWriter(path: try policyDirectory(directory, p.name).appendingPathComponent("requests.csv").path)
            case .statisticsOnly:
                config.recordRequests = false
            }
            let simulator = try Simulator(config: config, stream: stream)
            if let writer { simulator.requestSink = { writer.append($0, sloMet: $1) } }
            if let progress {
                let end = spec.duration ?? workload.duration ?? workload.phases?.compactMap(\.duration).reduce(0, +)
                simulator.progress = { progress(p.name, $0, end) }
            }
            let result = try simulator.run()
            try writer?.close()
            var outcome = PolicyOutcome(policy: p.name, result: result, sloTTFTms: config.sloTTFTms, sloTBTms: config.sloTBTms)
            outcome.requestsStreamed = requests != .keep
            outcome.prices = config.gpuPrices
            return outcome
        }
    }

    // MARK: Output

    /// A CSV number; empty for a missing or non-finite value.
    static func f(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "" }
        return CSVText.g6(x)
    }

    static func stats(_ values: [Double]) -> [String] {
        let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        return [f(mean), f(percentile(values, 0.5)), f(percentile(values, 0.9)), f(percentile(values, 0.99))]
    }

    /// splitwise-sim's summary columns (seconds).
    public static func summaryCSV(_ o: PolicyOutcome) -> String {
        var header = ["policy", "requests"]
        var row = [o.policy, String(o.result.requestStats.count)]
        let rs = o.result.requests
        let columns: [(String, KeyPath<RequestRecord, Double>, KeyPath<RequestStats, QuantileSketch>)] = [
            ("ttft_times", \.ttft, \.ttft), ("tbt_times", \.tbt, \.tbt),
            ("response_times", \.responseTime, \.response), ("queue_times", \.queueTime, \.queue),
        ]
        for (name, record, sketch) in columns {
            header += ["mean", "p50", "p90", "p99"].map { "\(name)_\($0)" }
            if rs.isEmpty {
                let s = o.result.requestStats[keyPath: sketch]
                row += [f(s.mean), f(s.quantile(0.5)), f(s.quantile(0.9)), f(s.quantile(0.99))]
            } else {
                row += stats(rs.map { $0[keyPath: record] })
            }
        }
        return header.joined(separator: ",") + "\n" + row.joined(separator: ",") + "\n"
    }

    static let requestsHeader = "request_id,arrival,prompt_tokens,output_tokens,prefill_start,first_token,completion,ttft,tbt,response_time,queue_time,prefill_instance,decode_instance,slo_met,kv_transfer\n"

    /// One `requests.csv` row (`requestsHeader`'s columns) appended as UTF-8.
    static func appendRequestRow(_ r: RequestRecord, sloMet: Bool, to out: inout [UInt8]) {
        func number(_ x: Double) {
            if x.isFinite { CSVText.appendG6(x, to: &out) }
            out.append(UInt8(ascii: ","))
        }
        func integer(_ n: Int) {
            CSVText.appendInt(n, to: &out)
            out.append(UInt8(ascii: ","))
        }
        integer(r.id)
        number(r.arrival)
        integer(r.promptTokens)
        integer(r.outputTokens)
        number(r.prefillStart)
        number(r.firstToken)
        number(r.completion)
        number(r.ttft)
        number(r.tbt)
        number(r.responseTime)
        number(r.queueTime)
        integer(r.prefillInstance)
        integer(r.decodeInstance)
        out += sloMet ? "1,".utf8 : "0,".utf8
        if r.kvTransferSeconds.isFinite { CSVText.appendG6(r.kvTransferSeconds, to: &out) }
        out.append(UInt8(ascii: "\n"))
    }

    public static func requestsCSV(_ o: PolicyOutcome) -> String {
        var out = Array(requestsHeader.utf8)
        for r in o.result.requests { appendRequestRow(r, sloMet: o.meetsSLO(r), to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// A policy name as a folder name: letters, digits, `-` and `_` kept, anything else `_`.
    public static func safeName(_ policy: String) -> String {
        String(policy.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    static func policyDirectory(_ directory: String, _ policy: String) throws -> URL {
        let dir = URL(fileURLWithPath: directory).appendingPathComponent(safeName(policy))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    public static func timelineCSV(_ o: PolicyOutcome) -> String {
        var out = "time,pool,role,desired,starting,ready,admitted,draining,gpus,gpu_utilization,tps,kv_usage,ttft_p90_ms,tbt_p90_ms,pd_ratio\n"
        for r in o.result.timeline {
            out += [f(r.time), r.pool, r.role.rawValue, String(r.desired), String(r.starting), String(r.ready), String(r.admitted), String(r.draining),
                    String(r.gpus), f(r.gpuUtilization), f(r.tps), f(r.kvUsage), f(r.ttftP90ms), f(r.tbtP90ms), f(r.pdRatio)]
                .joined(separator: ",") + "\n"
        }
        return out
    }

    /// The placement engine's decisions, one per line: `t=…s GROUP KIND: reason`.
    public static func placementLog(_ o: PolicyOutcome) -> String {
        (o.result.placementWarnings.map { "warning: \($0)\n" } + o.result.placementLog.map { e in
            "t=\(f(e.time))s \(e.group) \(e.kind.rawValue): \(e.reason)\n"
        }).joined()
    }

    public static func scalingLog(_ o: PolicyOutcome) -> String {
        o.result.scaling.map { e in
            let roles = e.roles.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "t=\(f(e.time))s \(e.autoscaler) [\(e.strategy)] \(e.from)→\(e.to)\(roles.isEmpty ? "" : " (\(roles))")\(e.active ? "" : " inactive"): \(e.reason)"
        }.joined(separator: "\n") + (o.result.scaling.isEmpty ? "" : "\n")
    }

    public static let comparisonColumns = [
        "policy", "gpu_hours", "mean_gpu_utilization", "slo_attainment_requests", "slo_attainment_intervals", "scaling_actions",
        "pd_ratio_std", "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tbt_p50_ms", "tbt_p90_ms", "tbt_p99_ms",
        "e2e_p50_s", "e2e_p90_s", "e2e_p99_s", "completed", "unfinished",
        "kv_transfer_mean_ms", "kv_transfer_p90_ms", "kv_bandwidth_gbps", "cost", "cost_per_1m_tokens",
    ]

    /// `comparisonColumns` plus, per flash-crowd window, the SLO attainment of the requests arriving in it and
    /// how many finished (`flash0_slo_attainment`, `flash0_completed`, …).
    public static func comparisonColumns(_ outcomes: [PolicyOutcome]) -> [String] {
        let windows = outcomes.map(\.result.windows.count).max() ?? 0
        return comparisonColumns + (0..<windows).flatMap { ["flash\($0)_slo_attainment", "flash\($0)_completed"] }
    }

    public static func comparisonRow(_ o: PolicyOutcome) -> [String] {
        let qs = [0.5, 0.9, 0.99]
        return [o.policy, f(o.result.gpuHours), f(o.result.meanGPUUtilization), f(o.requestSLOAttainment), f(o.intervalSLOAttainment),
                String(o.result.scalingActions), f(o.pdRatioStdDev)]
            + qs.map { f(o.latency($0, \.ttft, \.ttft) * 1000) } + qs.map { f(o.latency($0, \.tbt, \.tbt) * 1000) }
            + qs.map { f(o.latency($0, \.responseTime, \.response)) } + [String(o.result.completed), String(o.result.unfinished)]
            + [f(o.kvTransferMean * 1000), f(o.kvTransfer(0.9) * 1000), f(o.kvBandwidthGBps), o.cost.map(f) ?? "", o.costPerMillionTokens.map(f) ?? ""]
    }

    /// `comparisonRow` plus the flash-crowd windows' columns (`comparisonColumns(_:)`), padded to `windows`.
    static func comparisonRow(_ o: PolicyOutcome, windows: Int) -> [String] {
        comparisonRow(o) + (0..<windows).flatMap { i -> [String] in
            guard i < o.result.windows.count else { return ["", ""] }
            let w = o.result.windows[i]
            return [w.completed > 0 ? f(w.sloAttainment) : "", String(w.completed)]
        }
    }

    public static func comparisonCSV(_ outcomes: [PolicyOutcome]) -> String {
        let columns = comparisonColumns(outcomes)
        let windows = (columns.count - comparisonColumns.count) / 2
        return ([columns] + outcomes.map { comparisonRow($0, windows: windows) }).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// One line per flash-crowd window and policy: the SLO attainment of the requests arriving in the window
    /// (empty without windows).
    public static func flashCrowdReport(_ outcomes: [PolicyOutcome]) -> String {
        guard let first = outcomes.first(where: { !$0.result.windows.isEmpty }) else { return "" }
        var out = ""
        for (i, w) in first.result.windows.enumerated() {
            out += "Flash crowd \(w.window.name) (arrivals \(f(w.window.start))–\(f(w.window.end)) s): SLO attainment of its requests\n"
            let width = outcomes.map(\.policy.count).max() ?? 0
            for o in outcomes where i < o.result.windows.count {
                let ow = o.result.windows[i]
                out += "  " + o.policy.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  \(ow.completed > 0 ? String(format: "%.4f", ow.sloAttainment) : "-")  (\(ow.sloMet) of \(ow.completed) finished)\n"
            }
        }
        return out
    }

    /// The SLO the attainment columns are measured against, one line for the summary.
    public static func sloLine(_ outcomes: [PolicyOutcome]) -> String {
        guard let o = outcomes.first else { return "" }
        var parts: [String] = []
        if let t = o.sloTTFTms { parts.append("TTFT ≤ \(f(t)) ms") }
        if let t = o.sloTBTms { parts.append("mean TBT ≤ \(f(t)) ms") }
        guard !parts.isEmpty else { return "" }
        return "SLO: " + parts.joined(separator: ", ") + " per request (intervals: their P90s)\n"
    }

    /// A fixed-width table of the main comparison columns.
    /// With KV transfers, their P90 is shown too; with prices, the cost per 1M tokens.
    public static func comparisonTable(_ outcomes: [PolicyOutcome]) -> String {
        var cols = [0, 1, 2, 3, 5, 6, 8, 11, 14]
        if outcomes.contains(where: { $0.result.requestStats.kvTransfer.count > 0 }) { cols.append(comparisonColumns.firstIndex(of: "kv_transfer_p90_ms")!) }
        if outcomes.contains(where: { $0.cost != nil }) { cols.append(comparisonColumns.firstIndex(of: "cost_per_1m_tokens")!) }
        let rows = ([comparisonColumns] + outcomes.map(comparisonRow)).map { r in cols.map { r[$0] } }
        let widths = cols.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            .joined(separator: "\n") + "\n"
    }

    /// Writes `DIR/POLICY/{summary.csv,requests.csv,timeline.csv,scaling.log,placement.log}` and `DIR/comparison.csv`.
    public static func write(_ outcomes: [PolicyOutcome], to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for o in outcomes {
            let dir = try policyDirectory(directory, o.policy)
            try summaryCSV(o).write(to: dir.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
            if !o.requestsStreamed {
                try requestsCSV(o).write(to: dir.appendingPathComponent("requests.csv"), atomically: true, encoding: .utf8)
            }
            try timelineCSV(o).write(to: dir.appendingPathComponent("timeline.csv"), atomically: true, encoding: .utf8)
            try scalingLog(o).write(to: dir.appendingPathComponent("scaling.log"), atomically: true, encoding: .utf8)
            try placementLog(o).write(to: dir.appendingPathComponent("placement.log"), atomically: true, encoding: .utf8)
        }
        try comparisonCSV(outcomes).write(to: URL(fileURLWithPath: directory).appendingPathComponent("comparison.csv"), atomically: true, encoding: .utf8)
    }
}

/// Appends `requests.csv` rows through a 1 MiB buffer (the streaming output of `ScenarioRunner.run`).
final class RequestsCSVWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(ScenarioRunner.requestsHeader.utf8)) else {
            throw SimulationError("\(path): cannot create the file")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        buffer.reserveCapacity(1 << 20)
    }

    func append(_ r: RequestRecord, sloMet: Bool) {
        ScenarioRunner.appendRequestRow(r, sloMet: sloMet, to: &buffer)
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        flush()
        try handle.close()
    }
}
