import Foundation
import Testing
@testable import Simulation

/// The project's own (native) performance model against the profiled table it is built from
/// (`splitwise_perf_model.csv`): at every (model, hardware, TP, prompt size p, batch size b) point of the table,
/// the prefill time of b prompts of p tokens, `prefillTime(PrefillBatch(prompt: p, count: b))`, against the
/// point's median `prompt_time`, and the decode step `decodeTime(batchSize: b, contextTokens: b × p)` against its
/// median `token_time`; for the parametric profiles the samples use (`samples/profiles/h100.yaml`, `a100.yaml`)
/// and for the table loaded directly. Criterion: within 5 %. Excluded by rule, not by list: the table's failed
/// prefill runs (`PrefillFit.dropFailedRuns`: a median under half that of a point with fewer batch tokens — the
/// llama2-70b TP2 64 × 512 runs). The one configuration no fit with non-negative attention and per-prompt costs
/// can match (llama2-70b A100 TP8; docs/simulation.md, "The native model against the profiled table") keeps its
/// points outside 5 % pinned, so a fix or a regression changes the set.
@Suite struct ProfiledTableFidelityTests {
    struct Point: Hashable {
        var model: String, hardware: String, tp: Int, prompt: Int, batch: Int
        var config: String { "\(model)/\(hardware)/TP\(tp)" }
        var key: String { "\(config) p\(prompt) b\(batch)" }
    }

    /// Median prompt_time and token_time (s) per table point.
    static let table: [Point: (prefill: Double, decode: Double)] = {
        let text = try! String(contentsOfFile: Paths.sharedData("splitwise_perf_model.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines.removeFirst()
        func col(_ n: String) -> Int { header.firstIndex(of: n)! }
        var groups: [Point: ([Double], [Double])] = [:]
        for f in lines where f.count == header.count {
            let p = Point(model: f[col("model")], hardware: f[col("hardware")], tp: Int(f[col("tensor_parallel")])!,
                          prompt: Int(f[col("prompt_size")])!, batch: Int(f[col("batch_size")])!)
            groups[p, default: ([], [])].0.append(Double(f[col("prompt_time")])! / 1000)
            groups[p, default: ([], [])].1.append(Double(f[col("token_time")])! / 1000)
        }
        return groups.mapValues { (PerformanceModel.median($0.0), PerformanceModel.median($0.1)) }
    }()

    /// The table's failed prefill runs, by PrefillFit's rule, per configuration.
    static let failedRuns: Set<String> = {
        var out = Set<String>()
        for config in Set(table.keys.map(\.config)) {
            let points = table.filter { $0.key.config == config }
            let fit = points.map { p, m in
                PrefillFit.Point(tokens: p.prompt * p.batch, squaredTokens: Double(p.batch * p.prompt * p.prompt), prompts: p.batch, seconds: m.prefill)
            }
            for f in PrefillFit.dropFailedRuns(fit).failed {
                for (p, m) in points where p.prompt * p.batch == f.tokens && p.batch == f.prompts && m.prefill == f.seconds { out.insert(p.key) }
            }
        }
        return out
    }()

    struct Case: CustomTestStringConvertible, Sendable {
        var source: String
        var key: ProfileKey
        /// Points expected outside 5 % ("P …" prefill, "D …" decode).
        var outside: Set<String>
        var testDescription: String { "\(source): \(key)" }
    }

    static let parametric: [HardwareProfile] =
        try! HardwareProfile.fromYAML(path: Paths.repo("samples/profiles/h100.yaml"))
        + HardwareProfile.fromYAML(path: Paths.repo("samples/profiles/a100.yaml"))
    static let loaded = Array(try! PerformanceModel.load(path: Paths.sharedData("splitwise_perf_model.csv")).profiles.values)

    /// llama2-70b A100 TP8: 16 × 512 tokens take 2,084 ms against 1,550 for one 8192-token prompt (+35 %), while
    /// 2, 4 and 8 × 512 are +7, +7 and +16 % over one prompt of the same size; only a negative attention
    /// coefficient (longer single prompts cheaper than shorter ones beyond the table) would match all four, and
    /// the per-prompt cost alone (15.8 ms) misses these points by 5–9 %. Measured 2026-12-05.
    static let a100TP8Outside: Set<String> = [
        "P llama2-70b/a100-80gb/TP8 p2048 b1", "P llama2-70b/a100-80gb/TP8 p512 b16",
        "P llama2-70b/a100-80gb/TP8 p512 b4", "P llama2-70b/a100-80gb/TP8 p8192 b1",
    ]

    static let cases: [Case] = {
        func cases(_ source: String, _ profiles: [HardwareProfile]) -> [Case] {
            profiles.map(\.key).sorted { $0.description < $1.description }.map { key in
                Case(source: source, key: key, outside: key.description == "llama2-70b/a100-80gb/TP8" ? a100TP8Outside : [])
            }
        }
        return cases("parametric", parametric) + cases("loaded", loaded)
    }()

    @Test func everyConfigurationIsCovered() {
        #expect(Self.cases.filter { $0.source == "parametric" }.count == 8)
        #expect(Self.cases.filter { $0.source == "loaded" }.count == 12)
        #expect(Self.failedRuns == ["llama2-70b/a100-80gb/TP2 p512 b64", "llama2-70b/h100-80gb/TP2 p512 b64", "llama2-70b/h100-80gb-pcap/TP2 p512 b64"])
    }

    @Test(arguments: cases)
    func modelWithinFivePercentOfTheTable(_ c: Case) throws {
        let profile = try #require((c.source == "parametric" ? Self.parametric : Self.loaded).first { $0.key == c.key })
        let points = Self.table.filter { $0.key.config == c.key.description }.sorted { $0.key.key < $1.key.key }
        #expect(points.count == 13)
        var outside = Set<String>()
        var worst = (prefill: (0.0, ""), decode: (0.0, ""))
        for (point, medians) in points {
            let decode = profile.decodeTime(batchSize: point.batch, contextTokens: point.batch * point.prompt) / medians.decode - 1
            if abs(decode) > abs(worst.decode.0) { worst.decode = (decode, point.key) }
            if abs(decode) > 0.05 { outside.insert("D \(point.key)") }
            guard !Self.failedRuns.contains(point.key) else { continue }
            let prefill = profile.prefillTime(PrefillBatch(prompt: point.prompt, count: point.batch)) / medians.prefill - 1
            if abs(prefill) > abs(worst.prefill.0) { worst.prefill = (prefill, point.key) }
            if abs(prefill) > 0.05 { outside.insert("P \(point.key)") }
        }
        print(String(format: "%@ %@: worst prefill %+.2f%% (%@), worst decode %+.2f%% (%@), outside 5 %%: %d",
                     c.source, c.key.description, worst.prefill.0 * 100, worst.prefill.1, worst.decode.0 * 100, worst.decode.1, outside.count))
        #expect(outside == c.outside)
    }
}
