import Foundation
import Testing
@testable import Simulation

/// The project's own (native) performance model against the profiled table it is built from
/// (`splitwise_perf_model.csv`): at every (model, hardware, TP, prompt size, batch size) point of the table, the
/// decode step `decodeTime(batchSize: b, contextTokens: b × prompt)` against the point's median `token_time`, and
/// `prefillTime(batchTokens: b × prompt)` against its median `prompt_time`, for the parametric profiles the
/// samples use (`samples/profiles/h100.yaml`, `a100.yaml`) and the table loaded directly.
///
/// The model does not meet 5 % everywhere (docs/simulation.md, "The native model against the profiled table"):
/// prefill is a function of batch tokens only, so a batch of b 512-token prompts and one prompt of 512·b tokens
/// get the same time while the table has them up to 17 % apart (attention is quadratic per prompt); decode
/// anchors batch 1 at the 512-token group, which on some configurations is several % off the other prompt
/// sizes' batch-1 medians. The test pins the points outside 5 % (a fix or a regression changes the set).
@Suite struct ProfiledTableFidelityTests {
    struct Point: Hashable {
        var model: String, hardware: String, tp: Int, prompt: Int, batch: Int
        var key: String { "\(model)/\(hardware)/TP\(tp) p\(prompt) b\(batch)" }
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

    /// Relative deviation of the model from the table at every point the profile covers:
    /// (point, prefill deviation, decode deviation).
    static func deviations(_ profiles: [HardwareProfile]) -> [(Point, Double, Double)] {
        var out: [(Point, Double, Double)] = []
        for (point, medians) in table.sorted(by: { $0.key.key < $1.key.key }) {
            guard let p = profiles.first(where: {
                $0.model == point.model && $0.hardware == point.hardware && $0.tensorParallel == point.tp
            }) else { continue }
            let prefill = p.prefillTime(batchTokens: point.prompt * point.batch) / medians.prefill - 1
            let decode = p.decodeTime(batchSize: point.batch, contextTokens: point.batch * point.prompt) / medians.decode - 1
            out.append((point, prefill, decode))
        }
        return out
    }

    static let parametric: [HardwareProfile] =
        try! HardwareProfile.fromYAML(path: Paths.repo("samples/profiles/h100.yaml"))
        + HardwareProfile.fromYAML(path: Paths.repo("samples/profiles/a100.yaml"))
    static let loaded = Array(try! PerformanceModel.load(path: Paths.sharedData("splitwise_perf_model.csv")).profiles.values)

    /// Points outside 5 %, measured 2026-12-05 (`swift test --filter ProfiledTableFidelityTests` prints them
    /// with their deviations). P = prefill, D = decode.
    /// "P …/TP2 p512 b64" are the table's failed runs (prompt_time 360 and 794 ms for 32,768 tokens), which the
    /// parametric profiles drop.
    static let outsideParametric: Set<String> = [
        "P bloom-176b/h100-80gb/TP8 p4096 b1",
        "P bloom-176b/h100-80gb/TP8 p512 b16",
        "P bloom-176b/h100-80gb/TP8 p512 b4",
        "P bloom-176b/h100-80gb/TP8 p8192 b1",
        "P llama2-70b/a100-80gb/TP2 p1024 b1",
        "D llama2-70b/a100-80gb/TP2 p1024 b1",
        "D llama2-70b/a100-80gb/TP2 p128 b1",
        "P llama2-70b/a100-80gb/TP2 p2048 b1",
        "D llama2-70b/a100-80gb/TP2 p2048 b1",
        "D llama2-70b/a100-80gb/TP2 p256 b1",
        "D llama2-70b/a100-80gb/TP2 p4096 b1",
        "P llama2-70b/a100-80gb/TP2 p512 b4",
        "P llama2-70b/a100-80gb/TP2 p512 b64",
        "D llama2-70b/a100-80gb/TP2 p8192 b1",
        "P llama2-70b/a100-80gb/TP4 p1024 b1",
        "P llama2-70b/a100-80gb/TP4 p2048 b1",
        "D llama2-70b/a100-80gb/TP4 p256 b1",
        "P llama2-70b/a100-80gb/TP4 p4096 b1",
        "P llama2-70b/a100-80gb/TP4 p512 b16",
        "P llama2-70b/a100-80gb/TP4 p512 b4",
        "P llama2-70b/a100-80gb/TP4 p512 b8",
        "P llama2-70b/a100-80gb/TP4 p8192 b1",
        "P llama2-70b/a100-80gb/TP8 p4096 b1",
        "P llama2-70b/a100-80gb/TP8 p512 b16",
        "P llama2-70b/a100-80gb/TP8 p512 b8",
        "P llama2-70b/a100-80gb/TP8 p8192 b1",
        "P llama2-70b/h100-80gb/TP2 p512 b16",
        "P llama2-70b/h100-80gb/TP2 p512 b64",
        "P llama2-70b/h100-80gb/TP2 p8192 b1",
        "P llama2-70b/h100-80gb/TP4 p512 b16",
        "D llama2-70b/h100-80gb/TP8 p256 b1",
    ]
    static let outsideLoaded: Set<String> = [
        "P bloom-176b/h100-80gb-pcap/TP8 p4096 b1",
        "P bloom-176b/h100-80gb-pcap/TP8 p512 b16",
        "P bloom-176b/h100-80gb-pcap/TP8 p512 b4",
        "P bloom-176b/h100-80gb-pcap/TP8 p8192 b1",
        "P bloom-176b/h100-80gb/TP8 p4096 b1",
        "P bloom-176b/h100-80gb/TP8 p512 b16",
        "P bloom-176b/h100-80gb/TP8 p512 b4",
        "P bloom-176b/h100-80gb/TP8 p8192 b1",
        "P llama2-70b/a100-80gb/TP2 p1024 b1",
        "D llama2-70b/a100-80gb/TP2 p1024 b1",
        "D llama2-70b/a100-80gb/TP2 p128 b1",
        "P llama2-70b/a100-80gb/TP2 p2048 b1",
        "D llama2-70b/a100-80gb/TP2 p2048 b1",
        "D llama2-70b/a100-80gb/TP2 p256 b1",
        "D llama2-70b/a100-80gb/TP2 p4096 b1",
        "P llama2-70b/a100-80gb/TP2 p512 b4",
        "D llama2-70b/a100-80gb/TP2 p8192 b1",
        "P llama2-70b/a100-80gb/TP4 p1024 b1",
        "P llama2-70b/a100-80gb/TP4 p2048 b1",
        "D llama2-70b/a100-80gb/TP4 p256 b1",
        "P llama2-70b/a100-80gb/TP4 p4096 b1",
        "P llama2-70b/a100-80gb/TP4 p512 b16",
        "P llama2-70b/a100-80gb/TP4 p512 b4",
        "P llama2-70b/a100-80gb/TP4 p512 b8",
        "P llama2-70b/a100-80gb/TP4 p8192 b1",
        "P llama2-70b/a100-80gb/TP8 p4096 b1",
        "P llama2-70b/a100-80gb/TP8 p512 b16",
        "P llama2-70b/a100-80gb/TP8 p512 b8",
        "P llama2-70b/a100-80gb/TP8 p8192 b1",
        "P llama2-70b/h100-80gb-pcap/TP2 p512 b16",
        "P llama2-70b/h100-80gb-pcap/TP2 p8192 b1",
        "P llama2-70b/h100-80gb-pcap/TP4 p512 b16",
        "D llama2-70b/h100-80gb-pcap/TP8 p256 b1",
        "P llama2-70b/h100-80gb/TP2 p512 b16",
        "P llama2-70b/h100-80gb/TP2 p8192 b1",
        "P llama2-70b/h100-80gb/TP4 p512 b16",
        "D llama2-70b/h100-80gb/TP8 p256 b1",
    ]

    @Test(arguments: [("parametric h100.yaml + a100.yaml", 0), ("the table loaded directly", 1)])
    func modelAgainstTable(name: String, which: Int) {
        let devs = Self.deviations(which == 0 ? Self.parametric : Self.loaded)
        #expect(devs.count >= (which == 0 ? 8 * 13 : 12 * 13))
        var outside = Set<String>()
        var within = (prefill: 0, decode: 0)
        for (point, prefill, decode) in devs {
            if abs(prefill) > 0.05 { outside.insert("P \(point.key)") } else { within.prefill += 1 }
            if abs(decode) > 0.05 { outside.insert("D \(point.key)") } else { within.decode += 1 }
            if abs(prefill) > 0.05 || abs(decode) > 0.05 {
                print(String(format: "%@: %@ prefill %+.1f%% decode %+.1f%%", name, point.key, prefill * 100, decode * 100))
            }
        }
        print("\(name): \(devs.count) points, prefill within 5 % at \(within.prefill), decode at \(within.decode)")
        #expect(outside == (which == 0 ? Self.outsideParametric : Self.outsideLoaded))
    }
}
