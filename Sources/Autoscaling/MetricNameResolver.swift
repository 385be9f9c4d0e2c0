/// Short metric names → engine metric names (`kv_cache_usage_perc` → `vllm:kv_cache_usage_perc`). Names with a
/// `:` and DCGM names are full names already; derived signals and resource names stay as they are. The
/// controller, the simulator and `Metrics` all resolve names through this.
public enum MetricNameResolver {
    public static func resolve(_ name: String) -> String {
        if name.contains(":") || name.hasPrefix("DCGM") { return name }
        switch name {
        case "gpu_utilization", "gpu_util", "sm_activity", "decode_tps", "prefill_tps", "cpu", "memory": return name
        default: return "vllm:" + name
        }
    }
}
