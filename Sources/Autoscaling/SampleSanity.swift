import Foundation

/// What makes a metric sample unusable. Every metric a PodAutoscaler scales on is a load (requests, tokens
/// per second, cache usage, utilisation, latency): the strategies compute replicas proportional to it, so a
/// non-finite, negative or absurdly large value is a broken exporter, never load. Such a sample is treated as
/// *missing* — it can hold the current scale, never scale down — and the controller warns about it.
public enum SampleSanity {
    /// The largest magnitude accepted for a metric without a known range. No per-pod or per-service load
    /// reaches 10¹⁵ (a petabyte, or a million times the token rate of the largest deployments); above it a value
    /// is an overflow or a corrupt exporter.
    public static let ceiling = 1e15

    /// Known ranges, by resolved metric name (fractions in [0, 1], percentages in [0, 100]). A small slack
    /// absorbs rounding in exporters.
    public static let upperBounds: [String: Double] = [
        "vllm:kv_cache_usage_perc": 1,
        "vllm:gpu_cache_usage_perc": 1,
        "sglang:token_usage": 1,
        "DCGM_FI_DEV_GPU_UTIL": 100,
        "DCGM_FI_PROF_SM_ACTIVE": 1,
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": 1,
        Signal.decodeKVUsage: 1,
    ]
    static let slack = 1e-6

    /// Why a sample is unusable.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        case notFinite(Double)
        case negative(Double)
        case aboveRange(Double, bound: Double)

        public var description: String {
            switch self {
            case .notFinite(let v): return "is \(v)"
            case .negative(let v): return "is negative (\(Fmt.num(v))); a load metric cannot be"
            case .aboveRange(let v, let bound): return "is \(v), above its range (at most \(Fmt.num(bound)))"
            }
        }
    }

    /// The problem with `value` as a sample of `metric` (a resolved name or a `Signal` key), or `nil` if usable.
    public static func problem(_ value: Double, metric: String) -> Problem? {
        guard value.isFinite else { return .notFinite(value) }
        guard value >= 0 else { return .negative(value) }
        let bound = upperBounds[metric] ?? ceiling
        if value > bound * (1 + slack) { return .aboveRange(value, bound: bound) }
        return nil
    }

    /// `snapshot` with every unusable sample, total and signal removed (made missing), and one message per
    /// removal ("pod a: vllm:kv_cache_usage_perc is negative (-5) …").
    public static func sanitize(_ snapshot: ScalingSnapshot) -> (snapshot: ScalingSnapshot, problems: [String]) {
        var out = snapshot
        var problems: [String] = []
        for i in out.sources.indices {
            let name = out.sources[i].metricName
            if let total = out.sources[i].total, let p = problem(total, metric: name) {
                problems.append("\(name) total \(p)")
                out.sources[i].total = nil
            }
            for j in out.sources[i].pods.indices {
                guard let v = out.sources[i].pods[j].value, let p = problem(v, metric: name) else { continue }
                problems.append("pod \(out.sources[i].pods[j].name): \(name) \(p)")
                out.sources[i].pods[j].value = nil
            }
        }
        for (key, value) in snapshot.signals.sorted(by: { $0.key < $1.key }) {
            if let p = problem(value, metric: key) {
                problems.append("signal \(key) \(p)")
                out.signals[key] = nil
            }
        }
        return (out, problems)
    }
}

extension ScalingSnapshot {
    /// Pods of `source` that are running and ready but have no sample at this instant.
    func missingPods(_ source: SourceSnapshot) -> [String] {
        source.pods.filter { $0.phase == .running && $0.ready && $0.value == nil }.map(\.name)
    }

    /// Why a strategy has nothing to decide on: observation failures when there are some (scrapes failing,
    /// unusable values), otherwise "no data to scale on yet" (pods starting, counters needing a second scrape).
    public var noDataMessage: String {
        guard let first = observationFailures.first else { return "no data to scale on yet" }
        let more = observationFailures.count > 1 ? " (and \(observationFailures.count - 1) more)" : ""
        return "no data to scale on: metrics are failing: \(first)\(more)"
    }
}
