import Autoscaling

/// Metric names as users write them in `targetMetric` and as engines expose them.
///
/// Short names map to vLLM's (`kv_cache_usage_perc` → `vllm:kv_cache_usage_perc`), as the simulator's
/// `MetricNameResolver` does; names containing `:` or starting with `DCGM` are full names already.
/// vLLM renamed two metrics across versions; either spelling finds the other:
/// `kv_cache_usage_perc` ↔ `gpu_cache_usage_perc`, `inter_token_latency_seconds` ↔
/// `time_per_output_token_seconds`.
public enum MetricNames {
    /// Pairs of names that mean the same metric, matched on the part after the last `:`.
    public static let aliases: [(String, String)] = [
        ("kv_cache_usage_perc", "gpu_cache_usage_perc"),
        ("inter_token_latency_seconds", "time_per_output_token_seconds"),
    ]

    /// Derived names: the engine (or DCGM exporter) metric they are computed from. The one alias table of
    /// the controller, the simulator (whose instances expose these engine metrics) and replay.
    public static let derived: [String: [String]] = [
        "decode_tps": ["vllm:generation_tokens_total"],
        "prefill_tps": ["vllm:prompt_tokens_total"],
        "gpu_utilization": ["DCGM_FI_DEV_GPU_UTIL"],
        "gpu_util": ["DCGM_FI_DEV_GPU_UTIL"],
        "sm_activity": ["DCGM_FI_PROF_SM_ACTIVE"],
    ]

    /// The name a source reports as `SourceSnapshot.metricName` (`Autoscaling.MetricNameResolver`, shared
    /// with the simulator and the controller).
    public static func resolve(_ shortOrFull: String) -> String { MetricNameResolver.resolve(shortOrFull) }

    /// The alias of a name (keeping its prefix), or `nil` when it has none.
    public static func alias(of name: String) -> String? {
        let prefix: Substring
        let base: Substring
        if let colon = name.lastIndex(of: ":") {
            prefix = name[...colon]
            base = name[name.index(after: colon)...]
        } else {
            prefix = ""
            base = Substring(name)
        }
        for (a, b) in aliases {
            if base == a { return prefix + b }
            if base == b { return prefix + a }
        }
        return nil
    }

    /// Family names to look for, in order: the resolved name, its alias, the engine metrics a derived name
    /// comes from, and for a short name also the unprefixed spelling and its alias.
    public static func candidates(_ name: String) -> [String] {
        let resolved = resolve(name)
        var out: [String] = [resolved]
        if let a = alias(of: resolved) { out.append(a) }
        out += derived[resolved] ?? []
        if resolved != name {
            out.append(name)
            if let a = alias(of: name) { out.append(a) }
        }
        var seen: Set<String> = []
        return out.filter { seen.insert($0).inserted }
    }

    /// The family for `name` in a scrape (see `MetricSet.lookup`).
    public static func lookup(_ name: String, in families: [MetricFamily]) -> MetricFamily? {
        MetricSet(families).lookup(name)
    }
}

/// One scrape's families indexed by name, for repeated lookups.
public struct MetricSet: Sendable {
    public let families: [MetricFamily]
    private let byName: [String: Int]

    public init(_ families: [MetricFamily]) {
        self.families = families
        var byName: [String: Int] = [:]
        for (i, f) in families.enumerated() where byName[f.name] == nil { byName[f.name] = i }
        self.byName = byName
    }

    /// The family for `name`: the first of `MetricNames.candidates(name)` present, where a counter
    /// `x_total` is also found as the family `x` (`# TYPE x counter`) and the other way round.
    public func lookup(_ name: String) -> MetricFamily? {
        for candidate in MetricNames.candidates(name) {
            if let i = byName[candidate] { return families[i] }
            if candidate.hasSuffix("_total"), let i = byName[String(candidate.dropLast(6))], families[i].type == .counter {
                return families[i]
            }
            if let i = byName[candidate + "_total"], families[i].type == .counter { return families[i] }
        }
        return nil
    }
}
