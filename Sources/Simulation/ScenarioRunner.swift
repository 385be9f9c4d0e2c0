import Foundation

/// The results of one policy, with the metrics `comparison.csv` reports.
public struct PolicyOutcome: Sendable {
    public var policy: String
    public var result: SimulationResult
    public var sloTTFTms: Double?
    public var sloTBTms: Double?

    /// Share of finished requests meeting both SLOs (TTFT, mean TBT); 1 without SLOs.
    public var requestSLOAttainment: Double {
        guard !result.requests.isEmpty else { return 0 }
        let ok = result.requests.filter(meetsSLO).count
        return Double(ok) / Double(result.requests.count)
    }

    public func meetsSLO(_ r: RequestRecord) -> Bool {
        (sloTTFTms.map { r.ttft * 1000 <= $0 } ?? true) && (sloTBTms.map { r.tbt * 1000 <= $0 } ?? true)
    }

    /// Share of scrape intervals whose cluster P90 TTFT and TBT are within the SLOs.
    public var intervalSLOAttainment: Double {
        let iv = result.intervalLatency
        guard !iv.isEmpty else { return 0 }
        let ok = iv.filter { e in (sloTTFTms.map { e.ttftP90ms <= $0 } ?? true) && (sloTBTms.map { e.tbtP90ms <= $0 } ?? true) }
        return Double(ok.count) / Double(iv.count)
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

    public static func run(scenarioPath: String, policy: String? = nil, progress: Progress? = nil) throws -> [PolicyOutcome] {
        let spec = try ScenarioSpec.load(path: scenarioPath)
        let base = URL(fileURLWithPath: scenarioPath).deletingLastPathComponent().path
        return try run(spec, baseDirectory: base, policy: policy, progress: progress)
    }

    public static func run(_ spec: ScenarioSpec, baseDirectory: String, policy: String? = nil, progress: Progress? = nil) throws -> [PolicyOutcome] {
        let performance = try spec.performanceModel(baseDirectory: baseDirectory)
        let selected = spec.policies.filter { policy == nil || $0.name == policy }
        guard !selected.isEmpty else {
            throw SimulationError("no policy \(policy ?? "") in the scenario; have \(spec.policies.map(\.name).joined(separator: ", "))")
        }
        var workload = spec.workload
        if workload.seed == nil { workload.seed = spec.seed }
        return try selected.map { p in
            let config = try spec.config(policy: p, baseDirectory: baseDirectory, performance: performance)
            let stream = try workload.makeStream(baseDirectory: baseDirectory)
            let simulator = try Simulator(config: config, stream: stream)
            if let progress {
                let end = spec.duration ?? workload.duration ?? workload.phases?.compactMap(\.duration).reduce(0, +)
                simulator.progress = { progress(p.name, $0, end) }
            }
            let result = try simulator.run()
            return PolicyOutcome(policy: p.name, result: result, sloTTFTms: config.sloTTFTms, sloTBTms: config.sloTBTms)
        }
    }

    // MARK: Output

    static func f(_ x: Double) -> String {
        guard x.isFinite else { return "" }
        return String(format: "%.6g", x)
    }

    static func stats(_ values: [Double]) -> [String] {
        let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
        return [f(mean), f(percentile(values, 0.5)), f(percentile(values, 0.9)), f(percentile(values, 0.99))]
    }

    /// splitwise-sim's summary columns (seconds).
    public static func summaryCSV(_ o: PolicyOutcome) -> String {
        var header = ["policy", "requests"]
        var row = [o.policy, String(o.result.requests.count)]
        let rs = o.result.requests
        for (name, values) in [("ttft_times", rs.map(\.ttft)), ("tbt_times", rs.map(\.tbt)),
                               ("response_times", rs.map(\.responseTime)), ("queue_times", rs.map(\.queueTime))] {
            header += ["mean", "p50", "p90", "p99"].map { "\(name)_\($0)" }
            row += stats(values)
        }
        return header.joined(separator: ",") + "\n" + row.joined(separator: ",") + "\n"
    }

    public static func requestsCSV(_ o: PolicyOutcome) -> String {
        var out = "request_id,arrival,prompt_tokens,output_tokens,prefill_start,first_token,completion,ttft,tbt,response_time,queue_time,prefill_instance,decode_instance,slo_met\n"
        for r in o.result.requests {
            out += [String(r.id), f(r.arrival), String(r.promptTokens), String(r.outputTokens), f(r.prefillStart), f(r.firstToken),
                    f(r.completion), f(r.ttft), f(r.tbt), f(r.responseTime), f(r.queueTime), String(r.prefillInstance),
                    String(r.decodeInstance), o.meetsSLO(r) ? "1" : "0"].joined(separator: ",") + "\n"
        }
        return out
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
    ]

    public static func comparisonRow(_ o: PolicyOutcome) -> [String] {
        let rs = o.result.requests
        let ttft = rs.map { $0.ttft * 1000 }, tbt = rs.map { $0.tbt * 1000 }, e2e = rs.map(\.responseTime)
        return [o.policy, f(o.result.gpuHours), f(o.result.meanGPUUtilization), f(o.requestSLOAttainment), f(o.intervalSLOAttainment),
                String(o.result.scalingActions), f(o.pdRatioStdDev)]
            + [0.5, 0.9, 0.99].map { f(percentile(ttft, $0)) } + [0.5, 0.9, 0.99].map { f(percentile(tbt, $0)) }
            + [0.5, 0.9, 0.99].map { f(percentile(e2e, $0)) } + [String(o.result.completed), String(o.result.unfinished)]
    }

    public static func comparisonCSV(_ outcomes: [PolicyOutcome]) -> String {
        ([comparisonColumns] + outcomes.map(comparisonRow)).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// A fixed-width table of the main comparison columns.
    public static func comparisonTable(_ outcomes: [PolicyOutcome]) -> String {
        let cols = [0, 1, 2, 3, 5, 6, 8, 11, 14]
        let rows = ([comparisonColumns] + outcomes.map(comparisonRow)).map { r in cols.map { r[$0] } }
        let widths = cols.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            .joined(separator: "\n") + "\n"
    }

    /// Writes `DIR/POLICY/{summary.csv,requests.csv,timeline.csv,scaling.log}` and `DIR/comparison.csv`.
    public static func write(_ outcomes: [PolicyOutcome], to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for o in outcomes {
            let safe = String(o.policy.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
            let dir = URL(fileURLWithPath: directory).appendingPathComponent(safe)
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            try summaryCSV(o).write(to: dir.appendingPathComponent("summary.csv"), atomically: true, encoding: .utf8)
            try requestsCSV(o).write(to: dir.appendingPathComponent("requests.csv"), atomically: true, encoding: .utf8)
            try timelineCSV(o).write(to: dir.appendingPathComponent("timeline.csv"), atomically: true, encoding: .utf8)
            try scalingLog(o).write(to: dir.appendingPathComponent("scaling.log"), atomically: true, encoding: .utf8)
        }
        try comparisonCSV(outcomes).write(to: URL(fileURLWithPath: directory).appendingPathComponent("comparison.csv"), atomically: true, encoding: .utf8)
    }
}
