/// The type a `# TYPE` line declares. Samples without a `TYPE` line are `untyped`; a type is never inferred
/// from a name suffix.
public enum MetricType: String, Sendable, Hashable, CaseIterable {
    case counter
    case gauge
    case histogram
    case summary
    case untyped
}

/// One sample line: `name{labels} value [timestamp]`.
public struct Sample: Sendable, Hashable {
    /// The sample's own name (`x_bucket`, `x_sum`, `x_total`, …), which may differ from its family's name.
    public var name: String
    public var labels: [String: String]
    public var value: Double
    /// Milliseconds since the epoch, when the line carries a timestamp.
    public var timestampMs: Int64?

    public init(name: String, labels: [String: String] = [:], value: Double, timestampMs: Int64? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestampMs = timestampMs
    }

    public static func == (a: Sample, b: Sample) -> Bool {
        // NaN samples compare equal to NaN samples so that parsed payloads can be compared in tests.
        a.name == b.name && a.labels == b.labels && a.timestampMs == b.timestampMs
            && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(labels)
        hasher.combine(timestampMs)
        hasher.combine(value.isNaN ? Double.nan.bitPattern : value.bitPattern)
    }
}

/// All samples of one metric, grouped by its `TYPE` line (histogram `_bucket`/`_sum`/`_count`, summary
/// quantiles/`_sum`/`_count`, counter `x` or `x_total`). `_created` samples are dropped.
public struct MetricFamily: Sendable, Hashable {
    public var name: String
    public var type: MetricType
    public var help: String?
    public var samples: [Sample]

    public init(name: String, type: MetricType = .untyped, help: String? = nil, samples: [Sample] = []) {
        self.name = name
        self.type = type
        self.help = help
        self.samples = samples
    }

    /// The samples that carry the metric's value itself: every sample of a gauge, untyped or counter family,
    /// the quantile samples of a summary, none of a histogram.
    public var plainSamples: [Sample] {
        switch type {
        case .gauge, .untyped, .counter: return samples
        case .summary: return samples.filter { $0.name == name }
        case .histogram: return []
        }
    }

    /// The sum of `plainSamples` (across `engine`, `model_name`, … labels); `nil` when there are none.
    public var sum: Double? {
        let plain = plainSamples
        guard !plain.isEmpty else { return nil }
        return plain.reduce(0) { $0 + $1.value }
    }

    /// A histogram's series grouped by their label set without `le`; empty for other types.
    public var histogramSeries: [HistogramSeries] {
        guard type == .histogram else { return [] }
        var order: [[String: String]] = []
        var byLabels: [[String: String]: HistogramSeries] = [:]
        for s in samples {
            var labels = s.labels
            let le = labels.removeValue(forKey: "le")
            if byLabels[labels] == nil {
                order.append(labels)
                byLabels[labels] = HistogramSeries(labels: labels)
            }
            if s.name == name + "_bucket", let le, let bound = PrometheusText.parseValue(le) {
                byLabels[labels]?.buckets.append(.init(upperBound: bound, count: s.value))
            } else if s.name == name + "_sum" {
                byLabels[labels]?.sum = s.value
            } else if s.name == name + "_count" {
                byLabels[labels]?.count = s.value
            }
        }
        return order.compactMap { labels in
            guard var series = byLabels[labels] else { return nil }
            series.buckets.sort { $0.upperBound < $1.upperBound }
            return series
        }
    }
}

/// One histogram series (one label set): cumulative buckets sorted by upper bound, `_sum` and `_count`.
public struct HistogramSeries: Sendable, Hashable {
    public struct Bucket: Sendable, Hashable {
        public var upperBound: Double
        /// Cumulative count of observations ≤ `upperBound`.
        public var count: Double
        public init(upperBound: Double, count: Double) {
            self.upperBound = upperBound
            self.count = count
        }
    }

    public var labels: [String: String]
    public var buckets: [Bucket]
    public var sum: Double?
    public var count: Double?

    public init(labels: [String: String] = [:], buckets: [Bucket] = [], sum: Double? = nil, count: Double? = nil) {
        self.labels = labels
        self.buckets = buckets
        self.sum = sum
        self.count = count
    }
}

extension Array where Element == MetricFamily {
    /// The family with exactly this name.
    public func family(named name: String) -> MetricFamily? { first { $0.name == name } }
}
