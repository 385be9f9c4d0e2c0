import FuzzDriver
import Metrics

/// The Prometheus text-format parser (`PrometheusText.parse`), as the scraper calls it: whole, and filtered to
/// the families a PodAutoscaler reads. Malformed text throws, never traps. A payload that parses whole also
/// parses filtered (to its first two families and vLLM's names), and every family the filtered parse returns
/// with samples is the one the whole parse returns. The families' derived values (`sum`, histogram series)
/// are computed too.
@_cdecl("FuzzPrometheus_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let fixed: Set<String> = ["vllm:num_requests_running", "vllm:inter_token_latency_seconds", "vllm:generation_tokens_total"]
    return runFuzzer(argc, argv) { bytes in
        guard let full = try? PrometheusText.parse(bytes) else {
            _ = try? PrometheusText.parse(bytes, only: fixed)
            return
        }
        for family in full {
            _ = family.sum
            _ = family.plainSamples
            _ = family.histogramSeries
        }
        let wanted = fixed.union(full.prefix(2).map(\.name))
        guard let some = try? PrometheusText.parse(bytes, only: wanted) else {
            fatalError("a payload that parses whole fails to parse filtered to \(wanted.sorted())")
        }
        for family in some where !family.samples.isEmpty {
            precondition(full.first { $0.name == family.name } == family, "family \(family.name) differs from the whole parse")
        }
    }
}
