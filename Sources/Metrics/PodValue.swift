import Foundation

/// The value of one metric for one pod. Anything but `.value` is a *missing* metric (never 0).
public enum PodValue: Sendable, Hashable {
    case value(Double)
    /// Not computable yet, which is expected: a counter or histogram seen for the first time, or a
    /// histogram without observations since the previous scrape.
    case pending(String)
    /// Absent or unusable (not exposed, NaN, malformed histogram); reported as a scrape failure.
    case missing(String)

    public var value: Double? {
        if case .value(let v) = self { return v }
        return nil
    }

    /// Why there is no value, if there is none.
    public var reason: String? {
        switch self {
        case .value: return nil
        case .pending(let r), .missing(let r): return r
        }
    }
}

extension RateTracker {
    static func stateKey(_ metric: String, _ endpoint: String) -> String { endpoint.isEmpty ? metric : endpoint + " " + metric }

    /// The value of `metric` (a short or full name, aliases tried) in one pod's scrape, by the family's
    /// declared type: gauge and untyped → the sum over all series; counter → the rate per second since the
    /// previous scrape; histogram → the `quantile` of the bucket increase since the previous scrape; summary
    /// → the mean (Δsum/Δcount) since the previous scrape.
    ///
    /// `endpoint` (e.g. the scrape URL) separates the state of two endpoints of one pod.
    public mutating func value(
        of metric: String, in scrape: MetricSet, collector: String, pod: String, endpoint: String = "", at now: Date,
        quantile: Double = 0.9
    ) -> PodValue {
        guard let family = scrape.lookup(metric) else {
            let tried = MetricNames.candidates(metric)
            return .missing("metric \(tried[0]) not found" + (tried.count > 1 ? " (also tried \(tried.dropFirst().joined(separator: ", ")))" : ""))
        }
        switch family.type {
        case .gauge, .untyped:
            guard let sum = family.sum else { return .missing("\(family.name) has no samples") }
            return sum.isFinite ? .value(sum) : .missing("\(family.name) is \(sum)")
        case .counter:
            return rate(of: family, collector: collector, pod: pod, endpoint: endpoint, at: now)
        case .histogram:
            switch histogramIncrease(of: family, collector: collector, pod: pod, endpoint: endpoint, at: now) {
            case .unavailable(let reason): return reason
            case .increase(let inc):
                if let q = inc.quantile(quantile) { return .value(q) }
                let finite = inc.buckets.contains { $0.upperBound.isFinite }
                guard finite, let inf = inc.buckets.last(where: { $0.upperBound == .infinity }) else {
                    return .missing("\(family.name) needs a +Inf bucket and at least one finite bucket")
                }
                guard inf.count > 0 else { return .pending("no \(family.name) observations since the previous scrape") }
                return .missing("\(family.name) buckets give no quantile")
            }
        case .summary:
            switch histogramIncrease(of: family, collector: collector, pod: pod, endpoint: endpoint, at: now) {
            case .unavailable(let reason): return reason
            case .increase(let inc):
                guard let mean = inc.mean else { return .pending("no \(family.name) observations since the previous scrape") }
                return .value(mean)
            }
        }
    }

    /// The per-second rate of a counter family since the previous scrape, summed over its series.
    public mutating func rate(of family: MetricFamily, collector: String, pod: String, endpoint: String = "", at now: Date) -> PodValue {
        var values: [SeriesKey: Double] = [:]
        for s in family.plainSamples { values[SeriesKey(name: s.name, labels: s.labels)] = s.value }
        guard !values.isEmpty else { return .missing("\(family.name) has no samples") }
        guard let inc = increase(collector: collector, pod: pod, metric: Self.stateKey(family.name, endpoint), values: values, at: now) else {
            return .pending("first scrape of counter \(family.name); a rate needs two")
        }
        guard !inc.series.isEmpty else { return .pending("no \(family.name) series in common with the previous scrape") }
        return .value(inc.series.values.reduce(0, +) / inc.elapsedSeconds)
    }

    /// How a histogram (or summary) family grew since the previous scrape, merged over its label sets.
    public mutating func histogramIncrease(
        of family: MetricFamily, collector: String, pod: String, endpoint: String = "", at now: Date
    ) -> HistogramObservation {
        var values: [SeriesKey: Double] = [:]
        let bucketName = family.name + "_bucket", sumName = family.name + "_sum", countName = family.name + "_count"
        for s in family.samples where s.name == bucketName || s.name == sumName || s.name == countName {
            var labels = s.labels
            if s.name == bucketName {
                // Normalise `le` ("1" vs "1.0") so bounds match across scrapes.
                guard let le = labels["le"], let bound = PrometheusText.parseValue(le) else { continue }
                labels["le"] = String(bound)
            }
            values[SeriesKey(name: s.name, labels: labels)] = s.value
        }
        guard !values.isEmpty else { return .unavailable(.missing("\(family.name) has no samples")) }
        guard let inc = increase(collector: collector, pod: pod, metric: Self.stateKey(family.name, endpoint), values: values, at: now) else {
            return .unavailable(.pending("first scrape of \(family.name); an interval needs two"))
        }
        var byBound: [Double: Double] = [:]
        var sum: Double?, count: Double?
        for (key, delta) in inc.series {
            if key.name == bucketName, let le = key.labels["le"], let bound = Double(le) ?? PrometheusText.parseValue(le) {
                byBound[bound, default: 0] += delta
            } else if key.name == sumName {
                sum = (sum ?? 0) + delta
            } else if key.name == countName {
                count = (count ?? 0) + delta
            }
        }
        let buckets = byBound.map { HistogramSeries.Bucket(upperBound: $0.key, count: $0.value) }
        return .increase(HistogramIncrease(buckets: buckets, sum: sum, count: count))
    }
}

/// A histogram's interval increase, or why there is none.
public enum HistogramObservation: Sendable, Hashable {
    case increase(HistogramIncrease)
    case unavailable(PodValue)
}
