import Autoscaling
import Foundation

/// Derives the aggregate `Signal`s from the pods' scrapes.
///
/// Pools: "decode" pods are those with role `decode` and "prefill" pods those with role `prefill`; when no
/// pod has a role, every pod is in both. Rates summed over a pool are extrapolated from the pods that gave a
/// value to the pool's pods that could not be read (mean × count), so a failed scrape never lowers a total; a
/// pod whose counter is seen for the first time (just ready) is not extrapolated over. A value that
/// `SampleSanity` rejects (negative, non-finite, out of range) counts as missing.
enum SignalDeriver {
    /// Every metric the signals read (so a scrape can skip the rest).
    static let metricNames = [
        "vllm:generation_tokens_total", "vllm:prompt_tokens_total", "vllm:request_success_total",
        "vllm:inter_token_latency_seconds", "vllm:time_to_first_token_seconds", "vllm:request_prompt_tokens",
        "vllm:request_generation_tokens", "vllm:e2e_request_latency_seconds", "kv_cache_usage_perc",
    ]

    struct PodScrape {
        var pod: MetricsCollector.PodInfo
        var url: String
        var metrics: MetricSet
    }

    static func derive(
        _ scrapes: [PodScrape], observable: [MetricsCollector.PodInfo], tracker: inout RateTracker, collector: String, now: Date
    ) -> [String: Double] {
        let hasRoles = observable.contains { $0.role != nil }
        func pool(_ role: String) -> (scrapes: [PodScrape], size: Int) {
            guard hasRoles else { return (scrapes, observable.count) }
            return (scrapes.filter { $0.pod.role == role }, observable.filter { $0.role == role }.count)
        }
        let decode = pool("decode"), prefill = pool("prefill")
        var signals: [String: Double] = [:]

        func rateTotal(_ metric: String, _ pool: (scrapes: [PodScrape], size: Int)) -> Double? {
            var values: [Double] = []
            var firstSeen = 0
            for s in pool.scrapes {
                guard let family = s.metrics.lookup(metric), family.type == .counter else { continue }
                let rate = tracker.rate(of: family, collector: collector, pod: s.pod.name, endpoint: s.url, at: now)
                if let v = rate.value, SampleSanity.problem(v, metric: metric) == nil { values.append(v) }
                if case .pending = rate { firstSeen += 1 }
            }
            guard !values.isEmpty else { return nil }
            // Extrapolate over the pods that could not be read, not over pods seen for the first time: those
            // just became ready (or the controller just started) and did not serve the interval at the
            // others' mean — counting them so inflated decode_tps each time a scale-out became ready.
            return values.reduce(0, +) / Double(values.count) * Double(max(pool.size - firstSeen, values.count))
        }
        func histogram(_ metric: String, _ pool: (scrapes: [PodScrape], size: Int)) -> HistogramIncrease? {
            var parts: [HistogramIncrease] = []
            for s in pool.scrapes {
                guard let family = s.metrics.lookup(metric), family.type == .histogram else { continue }
                if case .increase(let inc) = tracker.histogramIncrease(of: family, collector: collector, pod: s.pod.name, endpoint: s.url, at: now) {
                    parts.append(inc)
                }
            }
            return HistogramIncrease.merged(parts)
        }

        signals[Signal.decodeTPS] = rateTotal("vllm:generation_tokens_total", decode)
        signals[Signal.prefillTPS] = rateTotal("vllm:prompt_tokens_total", prefill)
        signals[Signal.numRequests] = rateTotal("vllm:request_success_total", decode)

        let itl = histogram("vllm:inter_token_latency_seconds", decode)
        signals[Signal.tbtP90Milliseconds] = itl?.quantile(0.9).map { $0 * 1000 }
        signals[Signal.itlMilliseconds] = itl?.mean.map { $0 * 1000 }
        let ttft = histogram("vllm:time_to_first_token_seconds", prefill)
        signals[Signal.ttftP90Milliseconds] = ttft?.quantile(0.9).map { $0 * 1000 }
        signals[Signal.ttftMilliseconds] = ttft?.mean.map { $0 * 1000 }
        signals[Signal.averageISL] = histogram("vllm:request_prompt_tokens", decode)?.mean
        signals[Signal.averageOSL] = histogram("vllm:request_generation_tokens", decode)?.mean
        signals[Signal.requestDurationSeconds] = histogram("vllm:e2e_request_latency_seconds", decode)?.mean

        let kv = decode.scrapes.compactMap { s -> Double? in
            guard let f = s.metrics.lookup("kv_cache_usage_perc"), f.type == .gauge || f.type == .untyped,
                let v = f.sum.map({ $0 / Double(max(1, f.samples.count)) }), SampleSanity.problem(v, metric: Signal.decodeKVUsage) == nil
            else { return nil }
            return v
        }
        if !kv.isEmpty { signals[Signal.decodeKVUsage] = kv.reduce(0, +) / Double(kv.count) }
        return signals.filter { $0.value.isFinite }
    }
}
