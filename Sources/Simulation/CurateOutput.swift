import Foundation
import YAML

/// The renderings of a `CurateReport`: tables for the terminal, the recommended manifests, JSON, and the CSVs
/// `tools/plot_curate.py` draws (`stress_probes.csv`, `ratios.csv`, `policies.csv`).
extension CurateReport {
    static func f(_ x: Double?, _ digits: Int = 4) -> String {
        guard let x, x.isFinite else { return "" }
        return String(format: "%.\(digits)g", x)
    }

    /// `stress_probes.csv`: every probe of every candidate (the throughput-vs-load curve per ratio).
    public var probesCSV: String {
        var out = "ratio,prefill_gpu,decode_gpu,gpus,rate,tokens_per_s,tokens_per_gpu_s,ttft_p90_ms,tbt_p90_ms,attainment,within_slo,knee\n"
        for s in stress {
            for p in s.probes.sorted(by: { $0.rate < $1.rate }) {
                out += [s.candidate.ratio.description, s.candidate.prefillGPUType, s.candidate.decodeGPUType, String(s.gpus),
                        Self.f(p.rate, 6), Self.f(p.tokensPerSecond, 6), Self.f(p.tokensPerSecond / Double(s.gpus), 6),
                        Self.f(p.ttftP90ms, 6), Self.f(p.tbtP90ms, 6), Self.f(p.attainment, 6), p.withinSLO ? "1" : "0",
                        p == s.knee ? "1" : "0"].joined(separator: ",") + "\n"
            }
        }
        return out
    }

    /// One row per candidate unit: its knee and objective.
    public var ratiosRows: [[String]] {
        stress.map { s in
            [s.candidate.ratio.description, s.candidate.prefillGPUType, s.candidate.decodeGPUType, String(s.gpus),
             Self.f(s.knee?.rate), Self.f(s.tokensPerGPU), Self.f(s.costPerMillionTokens), Self.f(s.knee?.ttftP90ms),
             Self.f(s.knee?.tbtP90ms), Self.f(s.knee.map { peakRate / ($0.rate / Double(unitsPerProbe)) }, 3),
             s.candidate == chosen.candidate ? "*" : ""]
        }
    }
    /// `units_at_peak`: the workload's peak rate ÷ the unit's knee (below `stress.minUnitsAtPeak`, a unit is too big
    /// for the workload to be chosen unless none is small enough).
    public static let ratiosHeader = ["ratio", "prefill_gpu", "decode_gpu", "gpus", "knee_rps", "tokens_per_gpu_s", "cost_per_1m_tokens",
                                      "ttft_p90_ms", "tbt_p90_ms", "units_at_peak", "chosen"]

    public var policyRows: [[String]] {
        policies.enumerated().map { i, p in
            [String(i + 1), p.name, Self.f(p.attainment), Self.f(p.intervalAttainment), Self.f(p.gpuHours), Self.f(p.tokensPerGPUHour, 5),
             Self.f(p.costPerMillionTokens), Self.f(p.ttftP90ms), Self.f(p.tbtP90ms), String(p.scalingActions), p.feasible ? "yes" : "no"]
        }
    }
    public static let policyHeader = ["rank", "policy", "slo_attainment", "interval_attainment", "gpu_hours", "tokens_per_gpu_hour",
                                      "cost_per_1m_tokens", "ttft_p90_ms", "tbt_p90_ms", "scaling_actions", "feasible"]

    static func csv(_ header: [String], _ rows: [[String]]) -> String {
        ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { r in r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
    }

    /// What was derived at the chosen unit, one line each.
    public var targetsText: String {
        let t = targets
        return """
            chosen unit: \(t.ratio) (prefill \(t.prefillGPUType) × \(t.prefillGPUsPerInstance) GPUs, decode \(t.decodeGPUType) × \(t.decodeGPUsPerInstance) GPUs)
            knee: \(Self.f(t.kneeRate)) req/s per unit; decode \(Self.f(t.kneeDecodeTPS)) tok/s, prefill \(Self.f(t.kneePrefillTPS)) tok/s per unit
            targets at margin \(Self.f(t.margin)): targetDecodeTPSPerInstance \(Self.f(t.decodeTarget(t.margin))), targetPrefillTPSPerInstance \(Self.f(t.prefillTarget(t.margin))) (per instance of the group)
            latency tiers: \(t.tiers.map { "×\(Self.f($0.ratio)) → +\(Self.f($0.stepPercent))%" }.joined(separator: ", ")); max \(t.maxUnits) units (peak \(Self.f(peakRate)) req/s)
            """ + (tooBig.isEmpty ? "" : "\n" + tooBig)
    }

    /// A line naming the candidates too big for the workload (empty when there are none).
    var tooBig: String {
        let big = stress.filter { s in s.knee.map { peakRate / ($0.rate / Double(unitsPerProbe)) < minUnitsAtPeak } ?? false }
        guard !big.isEmpty, minUnitsAtPeak > 0 else { return "" }
        let all = big.count == stress.filter { $0.knee != nil }.count
        return "too big for the workload (its peak needs fewer than \(Self.f(minUnitsAtPeak)) units)\(all ? ", chosen from anyway: no candidate is smaller" : ", not chosen"): "
            + big.map(\.candidate.description).joined(separator: ", ")
    }

    /// The terminal report.
    public var text: String {
        """
        Step 1: stress test (one static unit per ratio and GPU pairing; knee = highest rate with SLO attainment ≥ \(Self.f(stressAttainmentTarget)))
        \(Self.table(Self.ratiosHeader, ratiosRows))

        \(targetsText)

        Step 2: policies over the workload (feasible: SLO attainment ≥ \(Self.f(sloAttainmentTarget)); objective \(objective.rawValue))
        \(Self.table(Self.policyHeader, policyRows))

        recommended: \(recommended.name)\(recommended.feasible ? "" : " (no policy met the SLO attainment target; the closest one)")
        """
    }

    /// The recommended manifests as a multi-document YAML stream, with the evidence as a header comment.
    public var recommendedYAML: String {
        let header = ["# heteroscale curate: \(name) — recommended policy \(recommended.name)"]
            + targetsText.split(separator: "\n").map { "# " + $0 }
            + ["# SLO attainment \(Self.f(recommended.attainment)), \(Self.f(recommended.gpuHours)) GPU-hours over the workload"]
        return header.joined(separator: "\n") + "\n" + YAML.dumpAll(recommended.manifests)
    }

    /// The report as JSON (the tables' figures and the recommended manifests).
    public var json: JSONValue {
        func rows(_ header: [String], _ rows: [[String]]) -> JSONValue {
            .array(rows.map { r in .object(JSONObject(zip(header, r).map { .init(key: $0, value: .string($1)) })) })
        }
        return ["name": .string(name), "objective": .string(objective.rawValue),
                "ratios": rows(Self.ratiosHeader, ratiosRows),
                "targets": ["ratio": .string(targets.ratio.description), "prefillGPUType": .string(targets.prefillGPUType),
                            "decodeGPUType": .string(targets.decodeGPUType), "kneeRate": .double(targets.kneeRate),
                            "targetDecodeTPSPerInstance": .double(targets.decodeTarget(targets.margin)),
                            "targetPrefillTPSPerInstance": .double(targets.prefillTarget(targets.margin)),
                            "maxUnits": .int(Int64(targets.maxUnits))],
                "policies": rows(Self.policyHeader, policyRows),
                "recommended": ["policy": .string(recommended.name), "manifests": .array(recommended.manifests)]]
    }

    /// Step 2 as a scenario file, with the command that re-runs it as a header comment.
    public var scenarioYAML: String {
        "# heteroscale curate: \(name) — step 2 (every candidate policy over the workload) as a scenario;\n"
            + "# re-run it with its scaling logs and timelines: heteroscale simulate scenario.yaml --out sim\n"
            + YAML.dump(scenario)
    }

    /// Writes `stress_probes.csv`, `ratios.csv`, `policies.csv`, `recommended.yaml`, `scenario.yaml` and `report.txt`
    /// to `directory`.
    public func write(to directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (file, text) in [("stress_probes.csv", probesCSV), ("ratios.csv", Self.csv(Self.ratiosHeader, ratiosRows)),
                             ("policies.csv", Self.csv(Self.policyHeader, policyRows)), ("recommended.yaml", recommendedYAML),
                             ("scenario.yaml", scenarioYAML),
                             ("report.txt", text + "\n")] {
            try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
    }
}
