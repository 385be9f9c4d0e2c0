/// vLLM-format `/metrics` payloads for the tests.
enum VLLMPayload {
    /// Written from memory of vLLM 0.8 (V1 engine, `prometheus_client` text output, two data-parallel
    /// engines in one pod): `engine`/`model_name` labels, counters as `x_total` families with separate
    /// `x_created` gauge families, histograms with `_bucket`/`_count`/`_sum` and `_created`, process and
    /// Python collector metrics, an info gauge. vLLM 0.8 still spells the KV metric `gpu_cache_usage_perc`
    /// and the inter-token latency `time_per_output_token_seconds`.
    static let v08TwoEngines = #"""
    # HELP python_gc_objects_collected_total Objects collected during gc
    # TYPE python_gc_objects_collected_total counter
    python_gc_objects_collected_total{generation="0"} 12345.0
    python_gc_objects_collected_total{generation="1"} 2345.0
    python_gc_objects_collected_total{generation="2"} 345.0
    # HELP python_info Python platform information
    # TYPE python_info gauge
    python_info{implementation="CPython",major="3",minor="12",patchlevel="9",version="3.12.9"} 1.0
    # HELP process_resident_memory_bytes Resident memory size in bytes.
    # TYPE process_resident_memory_bytes gauge
    process_resident_memory_bytes 4.294967296e+09
    # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
    # TYPE process_start_time_seconds gauge
    process_start_time_seconds 1.74061524852e+09
    # HELP vllm:num_requests_running Number of requests in model execution batches.
    # TYPE vllm:num_requests_running gauge
    vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
    vllm:num_requests_running{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 5.0
    # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
    # TYPE vllm:num_requests_waiting gauge
    vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 2.0
    vllm:num_requests_waiting{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    # HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
    # TYPE vllm:gpu_cache_usage_perc gauge
    vllm:gpu_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.25
    vllm:gpu_cache_usage_perc{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.125
    # HELP vllm:gpu_prefix_cache_queries_total GPU prefix cache queries, in terms of number of queried blocks.
    # TYPE vllm:gpu_prefix_cache_queries_total counter
    vllm:gpu_prefix_cache_queries_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 4096.0
    vllm:gpu_prefix_cache_queries_total{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 2048.0
    # HELP vllm:gpu_prefix_cache_queries_created GPU prefix cache queries, in terms of number of queried blocks.
    # TYPE vllm:gpu_prefix_cache_queries_created gauge
    vllm:gpu_prefix_cache_queries_created{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    vllm:gpu_prefix_cache_queries_created{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    # HELP vllm:prompt_tokens_total Number of prefill tokens processed.
    # TYPE vllm:prompt_tokens_total counter
    vllm:prompt_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 30000.0
    vllm:prompt_tokens_total{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 20000.0
    # HELP vllm:prompt_tokens_created Number of prefill tokens processed.
    # TYPE vllm:prompt_tokens_created gauge
    vllm:prompt_tokens_created{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    vllm:prompt_tokens_created{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    # HELP vllm:generation_tokens_total Number of generation tokens processed.
    # TYPE vllm:generation_tokens_total counter
    vllm:generation_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12000.0
    vllm:generation_tokens_total{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 8000.0
    # HELP vllm:generation_tokens_created Number of generation tokens processed.
    # TYPE vllm:generation_tokens_created gauge
    vllm:generation_tokens_created{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    vllm:generation_tokens_created{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    # HELP vllm:request_success_total Count of successfully processed requests.
    # TYPE vllm:request_success_total counter
    vllm:request_success_total{engine="0",finished_reason="stop",model_name="meta-llama/Llama-3.1-8B-Instruct"} 90.0
    vllm:request_success_total{engine="0",finished_reason="length",model_name="meta-llama/Llama-3.1-8B-Instruct"} 10.0
    vllm:request_success_total{engine="0",finished_reason="abort",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    vllm:request_success_total{engine="1",finished_reason="stop",model_name="meta-llama/Llama-3.1-8B-Instruct"} 60.0
    vllm:request_success_total{engine="1",finished_reason="length",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    vllm:request_success_total{engine="1",finished_reason="abort",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    # HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
    # TYPE vllm:time_to_first_token_seconds histogram
    vllm:time_to_first_token_seconds_bucket{engine="0",le="0.01",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 50.0
    vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="meta-llama/Llama-3.1-8B-Instruct"} 90.0
    vllm:time_to_first_token_seconds_bucket{engine="0",le="1.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
    vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
    vllm:time_to_first_token_seconds_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
    vllm:time_to_first_token_seconds_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 15.5
    vllm:time_to_first_token_seconds_bucket{engine="1",le="0.01",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    vllm:time_to_first_token_seconds_bucket{engine="1",le="0.1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 30.0
    vllm:time_to_first_token_seconds_bucket{engine="1",le="0.5",model_name="meta-llama/Llama-3.1-8B-Instruct"} 55.0
    vllm:time_to_first_token_seconds_bucket{engine="1",le="1.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 60.0
    vllm:time_to_first_token_seconds_bucket{engine="1",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 60.0
    vllm:time_to_first_token_seconds_count{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 60.0
    vllm:time_to_first_token_seconds_sum{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 9.0
    # HELP vllm:time_to_first_token_seconds_created Histogram of time to first token in seconds.
    # TYPE vllm:time_to_first_token_seconds_created gauge
    vllm:time_to_first_token_seconds_created{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    vllm:time_to_first_token_seconds_created{engine="1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.7406152606e+09
    # HELP vllm:time_per_output_token_seconds Histogram of time per output token in seconds.
    # TYPE vllm:time_per_output_token_seconds histogram
    vllm:time_per_output_token_seconds_bucket{engine="0",le="0.01",model_name="meta-llama/Llama-3.1-8B-Instruct"} 4000.0
    vllm:time_per_output_token_seconds_bucket{engine="0",le="0.025",model_name="meta-llama/Llama-3.1-8B-Instruct"} 10000.0
    vllm:time_per_output_token_seconds_bucket{engine="0",le="0.05",model_name="meta-llama/Llama-3.1-8B-Instruct"} 11900.0
    vllm:time_per_output_token_seconds_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 11900.0
    vllm:time_per_output_token_seconds_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 11900.0
    vllm:time_per_output_token_seconds_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 190.4
    # HELP vllm:request_prompt_tokens Number of prefill tokens processed.
    # TYPE vllm:request_prompt_tokens histogram
    vllm:request_prompt_tokens_bucket{engine="0",le="100.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 20.0
    vllm:request_prompt_tokens_bucket{engine="0",le="500.0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
    vllm:request_prompt_tokens_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
    vllm:request_prompt_tokens_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 100.0
    vllm:request_prompt_tokens_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 30000.0
    # HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
    # TYPE vllm:cache_config_info gauge
    vllm:cache_config_info{block_size="16",cache_dtype="auto",enable_prefix_caching="True",gpu_memory_utilization="0.9",num_gpu_blocks="27161"} 1.0
    """#
}

extension VLLMPayload {
    /// Cumulative state of one engine, rendered in the newer (0.9+) names unless `legacy`.
    struct Engine {
        var kv: Double = 0.5
        var running: Double = 4
        var promptTokens: Double = 0
        var generationTokens: Double = 0
        var success: Double = 0
        /// Cumulative counts for bounds 0.01, 0.025, 0.05, 0.1, +Inf.
        var itl: [Double] = [0, 0, 0, 0, 0]
        var itlSum: Double = 0
        /// Cumulative counts for bounds 0.1, 0.5, 1, 2.5, +Inf.
        var ttft: [Double] = [0, 0, 0, 0, 0]
        var ttftSum: Double = 0
        var promptLenCount: Double = 0
        var promptLenSum: Double = 0
        var genLenCount: Double = 0
        var genLenSum: Double = 0
    }

    static let itlBounds = ["0.01", "0.025", "0.05", "0.1", "+Inf"]
    static let ttftBounds = ["0.1", "0.5", "1.0", "2.5", "+Inf"]

    static func render(_ engines: [Engine], legacy: Bool = false, model: String = "m") -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ lines: (Int, Engine) -> [String]) {
            out += "# HELP \(name) \(name).\n# TYPE \(name) \(type)\n"
            for (i, e) in engines.enumerated() { out += lines(i, e).map { $0 + "\n" }.joined() }
        }
        func labels(_ i: Int, _ extra: String = "") -> String { "{engine=\"\(i)\"\(extra),model_name=\"\(model)\"}" }
        func histogram(_ name: String, _ bounds: [String], _ counts: (Engine) -> [Double], _ sum: (Engine) -> Double) {
            family(name, "histogram") { i, e in
                zip(bounds, counts(e)).map { "\(name)_bucket\(labels(i, ",le=\"\($0)\"")) \($1)" }
                    + ["\(name)_count\(labels(i)) \(counts(e).last ?? 0)", "\(name)_sum\(labels(i)) \(sum(e))"]
            }
        }
        family(legacy ? "vllm:gpu_cache_usage_perc" : "vllm:kv_cache_usage_perc", "gauge") { i, e in
            ["\(legacy ? "vllm:gpu_cache_usage_perc" : "vllm:kv_cache_usage_perc")\(labels(i)) \(e.kv)"]
        }
        family("vllm:num_requests_running", "gauge") { i, e in ["vllm:num_requests_running\(labels(i)) \(e.running)"] }
        family("vllm:prompt_tokens_total", "counter") { i, e in ["vllm:prompt_tokens_total\(labels(i)) \(e.promptTokens)"] }
        family("vllm:generation_tokens_total", "counter") { i, e in ["vllm:generation_tokens_total\(labels(i)) \(e.generationTokens)"] }
        family("vllm:request_success_total", "counter") { i, e in
            ["vllm:request_success_total\(labels(i, ",finished_reason=\"stop\"")) \(e.success)"]
        }
        histogram(legacy ? "vllm:time_per_output_token_seconds" : "vllm:inter_token_latency_seconds", itlBounds, { $0.itl }, { $0.itlSum })
        histogram("vllm:time_to_first_token_seconds", ttftBounds, { $0.ttft }, { $0.ttftSum })
        histogram("vllm:request_prompt_tokens", ["+Inf"], { [$0.promptLenCount] }, { $0.promptLenSum })
        histogram("vllm:request_generation_tokens", ["+Inf"], { [$0.genLenCount] }, { $0.genLenSum })
        return out
    }
}
