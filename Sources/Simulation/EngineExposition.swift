import Foundation
import Metrics

/// vLLM's histogram bucket boundaries, from vLLM v0.11 `vllm/v1/metrics/loggers.py` (`PrometheusStatLogger`;
/// the same lists as v0.6–v0.10's `vllm/engine/metrics.py`, where ITL was `time_per_output_token_seconds`).
enum VLLMBuckets {
    /// `vllm:time_to_first_token_seconds`.
    static let ttft: [Double] = [
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
        160.0, 640.0, 2560.0,
    ]
    /// `vllm:inter_token_latency_seconds`.
    static let itl: [Double] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
    /// `vllm:e2e_request_latency_seconds` (`request_latency_buckets`).
    static let requestLatency: [Double] = [
        0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
    ]
    /// `build_1_2_5_buckets(max_model_len)` for `vllm:request_prompt_tokens` / `request_generation_tokens`;
    /// the simulator's engines have no `max_model_len`, 128 Ki tokens is assumed (1, 2, 5, 10, … 100000).
    static let tokens: [Double] = {
        var out: [Double] = []
        var base = 1.0
        while true {
            for m in [1.0, 2.0, 5.0] {
                let v = m * base
                if v > 131_072 { return out }
                out.append(v)
            }
            base *= 10
        }
    }()
}

/// A Prometheus histogram as `prometheus_client` keeps it: per-bucket counts (the last is `+Inf`), `_sum` and
/// `_count`, all cumulative since the instance started. An observation falls in the first bucket whose upper
/// bound is ≥ it (`le` is inclusive).
struct CumulativeHistogram {
    let bounds: [Double]
    private(set) var counts: [Double]
    private(set) var sum = 0.0
    private(set) var count = 0.0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    /// Records `times` observations of `value`.
    mutating func observe(_ value: Double, times: Int = 1) {
        guard times > 0 else { return }
        var lo = 0, hi = bounds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bounds[mid] >= value { hi = mid } else { lo = mid + 1 }
        }
        counts[lo] += Double(times)
        sum += value * Double(times)
        count += Double(times)
    }

    /// The `_bucket` (cumulative), `_sum` and `_count` samples of family `name`, every one times `scale` (the
    /// observed values, hence the quantiles and the mean, are unchanged).
    func samples(_ name: String, labels: [String: String], scale: Double = 1) -> [Sample] {
        var out: [Sample] = []
        out.reserveCapacity(counts.count + 2)
        var cumulative = 0.0
        for (i, c) in counts.enumerated() {
            cumulative += c
            var l = labels
            l["le"] = i < bounds.count ? PrometheusText.formatValue(bounds[i]) : "+Inf"
            out.append(Sample(name: name + "_bucket", labels: l, value: cumulative * scale))
        }
        out.append(Sample(name: name + "_sum", labels: labels, value: sum * scale))
        out.append(Sample(name: name + "_count", labels: labels, value: count * scale))
        return out
    }
}

/// The metrics one simulated instance keeps the way vLLM does: cumulative counters and histograms, updated as
/// tokens and requests come out (only when some autoscaler will read them: `Simulator.exposesMetrics`).
struct EngineCounters {
    var requestSuccess = 0
    var ttft = CumulativeHistogram(bounds: VLLMBuckets.ttft)
    var itl = CumulativeHistogram(bounds: VLLMBuckets.itl)
    var e2e = CumulativeHistogram(bounds: VLLMBuckets.requestLatency)
    var promptTokens = CumulativeHistogram(bounds: VLLMBuckets.tokens)
    var generationTokens = CumulativeHistogram(bounds: VLLMBuckets.tokens)
}

extension SimInstance {
    /// What this instance's `/metrics` serves now, as families: vLLM's (`model_name`, `engine` labels as vLLM
    /// v1 sets them) and, as a DCGM exporter scoped to the pod would, `DCGM_FI_DEV_GPU_UTIL` (percent) and
    /// `DCGM_FI_PROF_SM_ACTIVE` (ratio) — one series per pod, the mean over its GPUs of the last scrape
    /// interval. Gauges are read at this instant; counters and histograms are cumulative, times `counterScale`:
    /// a sandbox running N× faster than the wall clock serves them at 1/N, so that a rate over wall seconds is
    /// the simulated rate (tokens and requests per simulated second) while latencies stay simulated seconds.
    func exposition(model: String, counterScale: Double = 1) -> [MetricFamily] {
        let labels = ["engine": "0", "model_name": model]
        func counter(_ name: String, _ help: String, _ value: Int) -> MetricFamily {
            MetricFamily(name: name, type: .counter, help: help, samples: [Sample(name: name, labels: labels, value: Double(value) * counterScale)])
        }
        func gauge(_ name: String, _ help: String, _ value: Double, labels: [String: String] = labels) -> MetricFamily {
            MetricFamily(name: name, type: .gauge, help: help, samples: [Sample(name: name, labels: labels, value: value)])
        }
        func histogram(_ name: String, _ help: String, _ h: CumulativeHistogram) -> MetricFamily {
            MetricFamily(name: name, type: .histogram, help: help, samples: h.samples(name, labels: labels, scale: counterScale))
        }
        let running = self.running.count + (busy && role != .decode ? prefillBatch.count : 0)
        let waiting = self.waiting.count + queuedPrompts
        // Requests end at their output length in a trace replay (`max_tokens`): finished_reason "length".
        let success = ["stop": 0, "length": counters.requestSuccess, "abort": 0].sorted { $0.key < $1.key }.map { reason, n in
            Sample(name: "vllm:request_success_total", labels: labels.merging(["finished_reason": reason]) { a, _ in a }, value: Double(n) * counterScale)
        }
        let dcgm = ["gpu": "0", "modelName": gpuType, "Hostname": "node-\(node)", "pod": "instance-\(id)"]
        return [
            gauge("vllm:num_requests_running", "Number of requests in model execution batches.", Double(running)),
            gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", Double(waiting)),
            gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", Double(kvUsed) / Double(kvCapacity)),
            counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", promptTokensTotal),
            counter("vllm:generation_tokens_total", "Number of generation tokens processed.", generationTokensTotal),
            MetricFamily(name: "vllm:request_success_total", type: .counter, help: "Count of successfully processed requests.", samples: success),
            histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", counters.promptTokens),
            histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", counters.generationTokens),
            histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", counters.ttft),
            histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", counters.itl),
            histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", counters.e2e),
            gauge("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", (sample.gpuUtilization * 100).rounded(), labels: dcgm),
            gauge("DCGM_FI_PROF_SM_ACTIVE", "The ratio of cycles an SM has at least 1 warp assigned.", sample.smActivity, labels: dcgm),
        ]
    }

    /// The `/metrics` text of this instance (Prometheus text format 0.0.4, as vLLM serves it).
    func metricsText(model: String, counterScale: Double = 1) -> String {
        PrometheusText.render(exposition(model: model, counterScale: counterScale))
    }
}
