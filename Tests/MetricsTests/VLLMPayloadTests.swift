import Foundation
import Testing
@testable import Metrics

@Suite struct VLLMPayloadTests {
    let families: [MetricFamily]
    init() throws { families = try PrometheusText.parse(VLLMPayload.v08TwoEngines) }

    @Test func groupsFamiliesAndDropsCreated() {
        #expect(families.map(\.name) == [
            "python_gc_objects_collected_total", "python_info", "process_resident_memory_bytes", "process_start_time_seconds",
            "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:gpu_cache_usage_perc",
            "vllm:gpu_prefix_cache_queries_total", "vllm:prompt_tokens_total", "vllm:generation_tokens_total",
            "vllm:request_success_total", "vllm:time_to_first_token_seconds", "vllm:time_per_output_token_seconds",
            "vllm:request_prompt_tokens", "vllm:cache_config_info",
        ])
        #expect(families.family(named: "vllm:generation_tokens_total")?.type == .counter)
        #expect(families.family(named: "vllm:time_to_first_token_seconds")?.type == .histogram)
        #expect(families.family(named: "vllm:time_to_first_token_seconds")?.samples.count == 14)
        #expect(families.family(named: "vllm:cache_config_info")?.samples.first?.labels["num_gpu_blocks"] == "27161")
    }

    /// Gauges are summed across engines; the new name finds the old one.
    @Test(arguments: [
        ("vllm:num_requests_running", 12.0),
        ("num_requests_waiting", 2.0),
        ("kv_cache_usage_perc", 0.375),
        ("vllm:kv_cache_usage_perc", 0.375),
        ("gpu_cache_usage_perc", 0.375),
    ])
    func gaugesSumAcrossEngines(_ metric: String, _ expected: Double) {
        var tracker = RateTracker()
        let v = tracker.value(of: metric, in: MetricSet(families), collector: "ns/pa", pod: "p", at: Date(timeIntervalSince1970: 0))
        #expect(v == .value(expected))
    }

    /// Counters and histograms need two scrapes: the second payload adds to every engine.
    @Test func countersAndHistogramsAcrossTwoScrapes() throws {
        var tracker = RateTracker()
        let t0 = Date(timeIntervalSince1970: 1000), t1 = t0.addingTimeInterval(10)
        let first = MetricSet(families)
        #expect(tracker.value(of: "decode_tps", in: first, collector: "k", pod: "p", at: t0) == .pending("first scrape of counter vllm:generation_tokens_total; a rate needs two"))
        #expect(tracker.value(of: "vllm:time_to_first_token_seconds", in: first, collector: "k", pod: "p", at: t0).value == nil)
        #expect(tracker.value(of: "inter_token_latency_seconds", in: first, collector: "k", pod: "p", at: t0).value == nil)
        // +500 generation tokens on engine 0 and +300 on engine 1 in 10 s; TTFT: 10 more observations on
        // engine 0, 5 of them ≤ 0.1 s and 5 in (0.1, 0.5].
        let text = VLLMPayload.v08TwoEngines
            .replacingOccurrences(of: #"vllm:generation_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12000.0"#,
                                  with: #"vllm:generation_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12500.0"#)
            .replacingOccurrences(of: #"vllm:generation_tokens_total{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 8000.0"#,
                                  with: #"vllm:generation_tokens_total{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 8300.0"#)
            .replacingOccurrences(of: #"le="0.1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 50.0"#, with: #"le="0.1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 55.0"#)
            .replacingOccurrences(of: #"le="0.5",model_name="meta-llama/Llama-3.1-8B-Instruct"} 90.0"#, with: #"le="0.5",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0"#)
            .replacingOccurrences(of: #"engine="0",le="1.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0"#, with: #"engine="0",le="1.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 110.0"#)
            .replacingOccurrences(of: #"engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0"#, with: #"engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 110.0"#)
            .replacingOccurrences(of: #"vllm:time_to_first_token_seconds_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0"#,
                                  with: #"vllm:time_to_first_token_seconds_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 110.0"#)
        let second = MetricSet(try PrometheusText.parse(text))
        #expect(tracker.value(of: "decode_tps", in: second, collector: "k", pod: "p", at: t1) == .value(80))
        #expect(tracker.value(of: "vllm:generation_tokens_total", in: second, collector: "k", pod: "p", at: t1) == .value(80))
        // Increase: ≤0.1: 5, ≤0.5: 10, ≤1: 10, +Inf: 10. p90 → rank 9 in (0.1, 0.5]: 0.1 + 0.4 × 4/5 = 0.42.
        let p90 = tracker.value(of: "vllm:time_to_first_token_seconds", in: second, collector: "k", pod: "p", at: t1).value ?? -1
        #expect(abs(p90 - 0.42) < 1e-12)
        // No new inter-token observations: pending, not 0.
        #expect(tracker.value(of: "inter_token_latency_seconds", in: second, collector: "k", pod: "p", at: t1)
            == .pending("no vllm:time_per_output_token_seconds observations since the previous scrape"))
    }
}

@Suite struct MetricNamesTests {
    @Test(arguments: [
        ("kv_cache_usage_perc", ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "kv_cache_usage_perc", "gpu_cache_usage_perc"]),
        ("gpu_cache_usage_perc", ["vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc", "gpu_cache_usage_perc", "kv_cache_usage_perc"]),
        ("vllm:kv_cache_usage_perc", ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]),
        ("vllm:gpu_cache_usage_perc", ["vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"]),
        ("inter_token_latency_seconds", ["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds", "inter_token_latency_seconds", "time_per_output_token_seconds"]),
        ("vllm:time_per_output_token_seconds", ["vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds"]),
        ("decode_tps", ["decode_tps", "vllm:generation_tokens_total"]),
        ("DCGM_FI_DEV_GPU_UTIL", ["DCGM_FI_DEV_GPU_UTIL"]),
        ("num_requests_running", ["vllm:num_requests_running", "num_requests_running"]),
    ])
    func candidates(_ name: String, _ expected: [String]) {
        #expect(MetricNames.candidates(name) == expected)
    }

    @Test(arguments: [
        ("kv_cache_usage_perc", "vllm:kv_cache_usage_perc"), ("vllm:foo", "vllm:foo"), ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_UTIL"),
        ("gpu_utilization", "gpu_utilization"), ("decode_tps", "decode_tps"), ("prefill_tps", "prefill_tps"),
    ])
    func resolveMatchesTheSimulator(_ name: String, _ expected: String) {
        #expect(MetricNames.resolve(name) == expected)
    }

    /// Each spelling finds a payload written with the other one; counters are found as `x` or `x_total`.
    @Test(arguments: [
        ("# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc 0.5\n", "gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"),
        ("# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc 0.5\n", "kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
        ("# TYPE vllm:inter_token_latency_seconds histogram\nvllm:inter_token_latency_seconds_bucket{le=\"+Inf\"} 1\n", "vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds"),
        ("# TYPE vllm:time_per_output_token_seconds histogram\nvllm:time_per_output_token_seconds_count 1\n", "inter_token_latency_seconds", "vllm:time_per_output_token_seconds"),
        ("# TYPE vllm:generation_tokens counter\nvllm:generation_tokens_total 1\n", "vllm:generation_tokens_total", "vllm:generation_tokens"),
        ("# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total 1\n", "vllm:generation_tokens", "vllm:generation_tokens_total"),
    ])
    func lookupAcrossAliases(_ text: String, _ asked: String, _ found: String) throws {
        #expect(MetricSet(try PrometheusText.parse(text)).lookup(asked)?.name == found)
    }

    /// An untyped `x_total` is not a counter, so it is not found under `x`.
    @Test func untypedTotalIsNotACounter() throws {
        #expect(MetricSet(try PrometheusText.parse("x_total 1\n")).lookup("x") == nil)
    }
}
