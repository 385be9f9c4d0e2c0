import YAML

/// A `heteroscale.io/v1alpha1` `PodAutoscaler` (short name `pa`). Field names follow AIBrix where they overlap.
public struct PodAutoscaler: Codable, Sendable, Hashable {
    public static let apiVersion = "heteroscale.io/v1alpha1"
    public static let kind = "PodAutoscaler"
    public static let plural = "podautoscalers"

    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: PodAutoscalerSpec
    public var status: PodAutoscalerStatus?

    public init(metadata: ObjectMeta, spec: PodAutoscalerSpec, status: PodAutoscalerStatus? = nil) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? Self.apiVersion
        kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? Self.kind
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try c.decode(PodAutoscalerSpec.self, forKey: .spec)
        status = try c.decodeIfPresent(PodAutoscalerStatus.self, forKey: .status)
    }
}

/// The scaling strategies. `scalingStrategy` stays a `String` in the spec so that an unknown value reaches
/// validation (and is reported on the field) instead of failing decoding.
public enum ScalingStrategy: String, Codable, Sendable, Hashable, CaseIterable {
    case hpa = "HPA"
    case kpa = "KPA"
    case apa = "APA"
    case heteroScale = "HeteroScale"
    case sla = "SLA"
    case periodic = "Periodic"
    /// Pure-latency baseline (steps on latency alone); used to show its flapping.
    case latency = "Latency"
    /// The SLA planner's prediction as a floor, HeteroScale's decode-TPS control with latency feedback on top.
    case hybrid = "Hybrid"

    /// Whether the strategy decides on the group-wide signals derived from the pods' metrics (decode TPS,
    /// latency percentiles) rather than on its metric sources alone.
    public var readsPodSignals: Bool { self == .heteroScale || self == .sla || self == .latency || self == .hybrid }
}

/// `subTargetSelector`: picks one role of a `DeploymentGroup`.
public struct SubTargetSelector: Codable, Sendable, Hashable {
    public var roleName: String?
    public init(roleName: String? = nil) { self.roleName = roleName }
}

/// `pod` (scrape each pod), `prometheus` (a query), `resource` (cpu/memory utilisation from pod requests).
public enum MetricSourceType: String, Codable, Sendable, Hashable, CaseIterable {
    case pod
    case prometheus
    case resource
}

/// One entry of `metricsSources`.
public struct MetricSource: Codable, Sendable, Hashable {
    /// `pod`, `prometheus` or `resource` (kept as a string so validation names a bad value).
    public var metricSourceType: String
    /// `http` (default) or `https` for pod scrapes.
    public var protocolType: String?
    /// Pod port to scrape (string, as AIBrix; a number is accepted too).
    public var port: String?
    /// Scrape path (default `/metrics`).
    public var path: String?
    /// A short name (`kv_cache_usage_perc`, …) or a full metric name; for `resource`, `cpu` or `memory`.
    public var targetMetric: String
    /// The target as a Kubernetes quantity string (`"50"`, `"500m"`, `"0.5"`); for `resource`, a
    /// utilisation percentage of the pods' requests.
    public var targetValue: String
    /// The role of a DeploymentGroup this source measures (P/D strategies).
    public var role: String?
    /// PromQL for `prometheus` sources.
    public var query: String?
    /// Prometheus base URL for `prometheus` sources.
    public var endpoint: String?

    public init(metricSourceType: MetricSourceType, targetMetric: String, targetValue: String, role: String? = nil) {
        self.metricSourceType = metricSourceType.rawValue
        self.targetMetric = targetMetric
        self.targetValue = targetValue
        self.role = role
    }

    private enum CodingKeys: String, CodingKey {
        case metricSourceType, protocolType, port, path, targetMetric, targetValue, role, query, endpoint
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        metricSourceType = try c.decode(String.self, forKey: .metricSourceType)
        protocolType = try c.decodeIfPresent(String.self, forKey: .protocolType)
        port = try Self.decodeLenientString(c, .port)
        path = try c.decodeIfPresent(String.self, forKey: .path)
        targetMetric = try c.decode(String.self, forKey: .targetMetric)
        guard let tv = try Self.decodeLenientString(c, .targetValue) else {
            throw DecodingError.keyNotFound(CodingKeys.targetValue, .init(codingPath: c.codingPath, debugDescription: "targetValue is required"))
        }
        targetValue = tv
        role = try c.decodeIfPresent(String.self, forKey: .role)
        query = try c.decodeIfPresent(String.self, forKey: .query)
        endpoint = try c.decodeIfPresent(String.self, forKey: .endpoint)
    }

    /// Accepts `"8000"`, `8000` or `0.5` for string fields that users commonly write as numbers.
    private static func decodeLenientString(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String? {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        if let s = try? c.decode(String.self, forKey: key) { return s }
        if let i = try? c.decode(Int64.self, forKey: key) { return String(i) }
        let d = try c.decode(Double.self, forKey: key)
        return String(d)
    }
}

/// `spec` of a `PodAutoscaler` (DESIGN.md §4).
public struct PodAutoscalerSpec: Codable, Sendable, Hashable {
    public var scaleTargetRef: CrossVersionObjectReference
    public var subTargetSelector: SubTargetSelector?
    /// Default 1 (0 allows scale to zero for KPA/APA).
    public var minReplicas: Int?
    public var maxReplicas: Int
    /// `HPA | KPA | APA | HeteroScale | SLA | Periodic | Latency | Hybrid`.
    public var scalingStrategy: String
    public var metricsSources: [MetricSource]?
    public var behavior: ScalingBehavior?
    public var kpa: KPASpec?
    public var apa: APASpec?
    public var heteroScale: HeteroScaleSpec?
    public var sla: SLASpec?
    /// The Hybrid strategy's own settings (it also reads `heteroScale` and `sla`).
    public var hybrid: HybridSpec?
    public var schedules: [ScheduleSpec]?
    /// Decision period in seconds (default 15 for HPA, 2 for the others).
    public var tickSeconds: Double?
    /// AIBrix's stable metric window in seconds (1...3600): KPA's `stableWindowSeconds`, APA's `windowSeconds`
    /// when those are unset (`AIBrixCompatibility`).
    public var observeWindowSeconds: Int?
    /// AIBrix's KPA panic window in seconds (1...3600), when `kpa.panicWindowPercentage` is unset.
    public var panicWindowSeconds: Int?

    public init(
        scaleTargetRef: CrossVersionObjectReference, minReplicas: Int? = nil, maxReplicas: Int,
        scalingStrategy: String, metricsSources: [MetricSource]? = nil
    ) {
        self.scaleTargetRef = scaleTargetRef
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.scalingStrategy = scalingStrategy
        self.metricsSources = metricsSources
    }

    /// The parsed strategy, or `nil` for an unknown value.
    public var strategy: ScalingStrategy? { ScalingStrategy(rawValue: scalingStrategy) }
}

/// One entry of `status.currentMetrics`.
public struct CurrentMetric: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
    public var target: String?
    public var role: String?
    public init(name: String, value: String, target: String? = nil, role: String? = nil) {
        self.name = name
        self.value = value
        self.target = target
        self.role = role
    }
}

/// One entry of the bounded `status.scalingHistory`.
public struct ScalingRecord: Codable, Sendable, Hashable {
    /// RFC 3339.
    public var time: String
    public var from: Int
    public var to: Int
    public var reason: String
    /// Per-role replicas after the change, for P/D targets.
    public var roles: [String: Int]?
    public init(time: String, from: Int, to: Int, reason: String, roles: [String: Int]? = nil) {
        self.time = time
        self.from = from
        self.to = to
        self.reason = reason
        self.roles = roles
    }
}

/// `status` of a `PodAutoscaler`.
public struct PodAutoscalerStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var desiredScale: Int?
    public var actualScale: Int?
    /// RFC 3339.
    public var lastScaleTime: String?
    public var currentMetrics: [CurrentMetric]?
    public var conditions: [Condition]?
    public var scalingHistory: [ScalingRecord]?
    public init() {}
}
