import Foundation
import KubeClient

/// A small Prometheus registry for the controller's own metrics (text format 0.0.4). Counters, gauges and
/// histograms keyed by name and label set; `collectors` add values that are read at scrape time (work-queue
/// depth). Thread-safe.
public final class MetricsRegistry: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    private struct Family {
        var kind: Kind
        var help: String
        var buckets: [Double] = []
        /// Label set (sorted pairs) → value, or histogram state.
        var values: [[LabelPair]: Double] = [:]
        var histograms: [[LabelPair]: (counts: [UInt64], sum: Double, count: UInt64)] = [:]
    }

    private struct LabelPair: Hashable, Comparable {
        var name: String
        var value: String
        static func < (a: LabelPair, b: LabelPair) -> Bool { a.name < b.name }
    }

    private let families = Locked<[String: Family]>([:])
    private let collectors = Locked<[@Sendable () async -> Void]>([])

    public init() {}

    /// Declares a family; declaring it again is a no-op.
    public func register(_ name: String, _ kind: Kind, help: String, buckets: [Double] = []) {
        families.withLock { f in
            if f[name] == nil { f[name] = Family(kind: kind, help: help, buckets: buckets.sorted()) }
        }
    }

    /// Runs `collect` before each exposition (for values owned by actors, set with `set`).
    public func addCollector(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    public func increment(_ name: String, _ labels: [String: String] = [:], by amount: Double = 1) {
        let key = Self.key(labels)
        families.withLock { f in f[name]?.values[key, default: 0] += amount }
    }

    public func set(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        let key = Self.key(labels)
        families.withLock { f in f[name]?.values[key] = value }
    }

    /// Removes one series (a deleted PodAutoscaler's gauges).
    public func remove(_ name: String, _ labels: [String: String]) {
        let key = Self.key(labels)
        families.withLock { f in
            f[name]?.values[key] = nil
            f[name]?.histograms[key] = nil
        }
    }

    /// Removes every series of `name` whose labels include all of `labels` (a deleted object's series).
    public func removeAll(_ name: String, matching labels: [String: String]) {
        let wanted = Set(Self.key(labels))
        families.withLock { f in
            guard var family = f[name] else { return }
            family.values = family.values.filter { !wanted.isSubset(of: Set($0.key)) }
            family.histograms = family.histograms.filter { !wanted.isSubset(of: Set($0.key)) }
            f[name] = family
        }
    }

    public func observe(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        let key = Self.key(labels)
        families.withLock { f in
            guard var family = f[name], family.kind == .histogram else { return }
            var h = family.histograms[key] ?? (Array(repeating: 0, count: family.buckets.count), 0, 0)
            for (i, bound) in family.buckets.enumerated() where value <= bound { h.counts[i] += 1 }
            h.sum += value
            h.count += 1
            family.histograms[key] = h
            f[name] = family
        }
    }

    /// The value of one counter or gauge series (tests and logs).
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let key = Self.key(labels)
        return families.withLock { $0[name]?.values[key] }
    }

    /// The text exposition of every family, sorted by name.
    public func render() async -> String {
        for collect in collectors.withLock({ $0 }) { await collect() }
        let snapshot = families.withLock { $0 }
        var out = ""
        for name in snapshot.keys.sorted() {
            guard let family = snapshot[name] else { continue }
            out += "# HELP \(name) \(Self.escapeHelp(family.help))\n# TYPE \(name) \(family.kind.rawValue)\n"
            if family.kind == .histogram {
                for key in family.histograms.keys.sorted(by: Self.order) {
                    guard let h = family.histograms[key] else { continue }
                    for (i, bound) in family.buckets.enumerated() {
                        out += "\(name)_bucket\(Self.labels(key, extra: ("le", Self.number(bound)))) \(h.counts[i])\n"
                    }
                    out += "\(name)_bucket\(Self.labels(key, extra: ("le", "+Inf"))) \(h.count)\n"
                    out += "\(name)_sum\(Self.labels(key)) \(Self.number(h.sum))\n"
                    out += "\(name)_count\(Self.labels(key)) \(h.count)\n"
                }
            } else {
                for key in family.values.keys.sorted(by: Self.order) {
                    out += "\(name)\(Self.labels(key)) \(Self.number(family.values[key] ?? 0))\n"
                }
            }
        }
        return out
    }

    private static func key(_ labels: [String: String]) -> [LabelPair] {
        labels.map { LabelPair(name: $0.key, value: $0.value) }.sorted()
    }

    private static func order(_ a: [LabelPair], _ b: [LabelPair]) -> Bool {
        a.map { "\($0.name)=\($0.value)" }.joined(separator: ",") < b.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }

    private static func labels(_ pairs: [LabelPair], extra: (String, String)? = nil) -> String {
        var all = pairs.map { ($0.name, $0.value) }
        if let extra { all.append(extra) }
        guard !all.isEmpty else { return "" }
        return "{" + all.map { "\($0.0)=\"\(escapeValue($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    private static func escapeValue(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// The controller runtime's metric names: controller-runtime's and client-go's, with their labels
/// (`controller` on `controller_runtime_*`, `name` on `workqueue_*`).
public enum RuntimeMetricNames {
    public static let reconcileTotal = "controller_runtime_reconcile_total"
    public static let reconcileErrors = "controller_runtime_reconcile_errors_total"
    public static let reconcileTime = "controller_runtime_reconcile_time_seconds"
    public static let activeWorkers = "controller_runtime_active_workers"
    public static let maxConcurrentReconciles = "controller_runtime_max_concurrent_reconciles"
    public static let workqueueDepth = "workqueue_depth"
    public static let workqueueAdds = "workqueue_adds_total"
    public static let workqueueRetries = "workqueue_retries_total"
    public static let leader = "leader_election_master_status"

    /// Declares every family in `registry`.
    public static func register(in registry: MetricsRegistry) {
        registry.register(reconcileTotal, .counter, help: "Total number of reconciliations per controller and result.")
        registry.register(reconcileErrors, .counter, help: "Total number of reconciliation errors per controller.")
        registry.register(reconcileTime, .histogram, help: "Length of time per reconciliation per controller.",
                          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
        registry.register(activeWorkers, .gauge, help: "Number of currently used workers per controller.")
        registry.register(maxConcurrentReconciles, .gauge, help: "Maximum number of concurrent reconciles per controller.")
        registry.register(workqueueDepth, .gauge, help: "Current depth of the work queue.")
        registry.register(workqueueAdds, .counter, help: "Total number of adds handled by the work queue.")
        registry.register(workqueueRetries, .counter, help: "Total number of retries handled by the work queue.")
        registry.register(leader, .gauge, help: "1 while this process is the leader, else 0.")
    }
}
