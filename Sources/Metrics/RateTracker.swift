import Foundation

/// One time series of a scrape: its sample name and labels.
public struct SeriesKey: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    public init(name: String, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }
}

/// Per-series increases between two observations of one (collector, pod, metric).
public struct SeriesIncrease: Sendable, Hashable {
    /// Seconds between the two observations.
    public var elapsedSeconds: Double
    /// Increase of every series present in both observations (reset-aware).
    public var series: [SeriesKey: Double]
    public init(elapsedSeconds: Double, series: [SeriesKey: Double]) {
        self.elapsedSeconds = elapsedSeconds
        self.series = series
    }
}

/// Remembers the cumulative values of counters and histograms between scrapes, keyed by (collector key,
/// pod, metric), so that they can be turned into rates and interval histograms. The time is passed in.
///
/// Observing the same key twice at the same instant is idempotent (both calls compare against the same
/// earlier observation), so a source and a signal may read one counter in the same collection.
public struct RateTracker: Sendable {
    private struct Observation: Sendable {
        var time: Date
        var values: [SeriesKey: Double]
    }
    private struct Entry: Sendable {
        var previous: Observation?
        var current: Observation
    }

    /// collector → pod → metric → entry.
    private var entries: [String: [String: [String: Entry]]] = [:]

    public init() {}

    /// Records `values` (cumulative, per series) for (collector, pod, metric) at `time` and returns the
    /// increase since the previous observation, or `nil` when there is none (or time did not advance).
    ///
    /// A series whose value dropped was reset (a restarted engine): its new value is the increase, as in
    /// Prometheus `rate`. Series that appear or disappear between the two observations are left out, and
    /// non-finite values are ignored.
    public mutating func increase(collector: String, pod: String, metric: String, values: [SeriesKey: Double], at time: Date) -> SeriesIncrease? {
        let observation = Observation(time: time, values: values)
        var entry: Entry
        if let existing = entries[collector]?[pod]?[metric] {
            entry = existing
            if time > existing.current.time {
                entry.previous = existing.current
                entry.current = observation
            } else if time == existing.current.time {
                entry.current = observation
            } else {
                return nil  // out of order: keep the newer state
            }
        } else {
            entry = Entry(previous: nil, current: observation)
        }
        entries[collector, default: [:]][pod, default: [:]][metric] = entry
        guard let previous = entry.previous else { return nil }
        let elapsed = time.timeIntervalSince(previous.time)
        guard elapsed > 0 else { return nil }
        var out: [SeriesKey: Double] = [:]
        for (key, now) in values where now.isFinite {
            guard let before = previous.values[key], before.isFinite else { continue }
            out[key] = now >= before ? now - before : now
        }
        return SeriesIncrease(elapsedSeconds: elapsed, series: out)
    }

    /// Drops everything remembered for a collector.
    public mutating func forget(collector: String) { entries[collector] = nil }

    /// Drops the pods of a collector that are not in `pods` (pods that disappeared).
    public mutating func retain(collector: String, pods: Set<String>) {
        guard var byPod = entries[collector] else { return }
        for pod in byPod.keys where !pods.contains(pod) { byPod[pod] = nil }
        entries[collector] = byPod.isEmpty ? nil : byPod
    }

    /// The pods remembered for a collector (for tests and diagnostics).
    public func pods(collector: String) -> Set<String> { Set(entries[collector]?.keys.map { $0 } ?? []) }
}
