import Foundation
import KubeAPI

// The decision API shared by the controller, the simulator and `heteroscale replay`:
// `Autoscaler.decide(spec:snapshot:state:now:) -> Decision`. Everything here is a value type, Codable and
// Sendable; the clock is always passed in.

// MARK: - Snapshot (the inputs of one decision)

/// One pod's sample for one metric source.
public struct PodSample: Codable, Sendable, Hashable {
    public enum Phase: String, Codable, Sendable, Hashable {
        /// Not yet running (Kubernetes `Pending`): counts as unready.
        case pending
        case running
        /// `Failed`: ignored.
        case failed
        /// Has a deletion timestamp: ignored.
        case deleting
    }

    public var name: String
    /// The metric value; `nil` when the scrape failed or the pod reported nothing (a *missing* metric, never 0).
    public var value: Double?
    /// The pod's `Ready` condition (for CPU utilisation the controller folds Kubernetes' CPU initialisation
    /// period into this flag).
    public var ready: Bool
    public var phase: Phase
    /// The resource request (same unit as `value`) for utilisation sources.
    public var request: Double?
    public var startTime: Date?
    public var readyTime: Date?

    public init(
        name: String, value: Double?, ready: Bool = true, phase: Phase = .running, request: Double? = nil,
        startTime: Date? = nil, readyTime: Date? = nil
    ) {
        self.name = name
        self.value = value
        self.ready = ready
        self.phase = phase
        self.request = request
        self.startTime = startTime
        self.readyTime = readyTime
    }
}

/// What was observed for one entry of `spec.metricsSources`.
public struct SourceSnapshot: Codable, Sendable, Hashable {
    /// Index into `spec.metricsSources`.
    public var index: Int
    /// The resolved metric name (e.g. `vllm:kv_cache_usage_perc`).
    public var metricName: String
    /// The target parsed from `targetValue` (see `MetricTarget.parse`); a utilisation percentage for
    /// `resource` sources.
    public var target: Double
    public var role: String?
    /// Per-pod samples (pod sources, resource sources). Empty for aggregated sources.
    public var pods: [PodSample]
    /// An aggregated value (Prometheus result, or counters turned into a rate and summed). When set, the
    /// strategies that work on totals use it instead of summing `pods`.
    public var total: Double?

    public init(index: Int, metricName: String, target: Double, role: String? = nil, pods: [PodSample] = [], total: Double? = nil) {
        self.index = index
        self.metricName = metricName
        self.target = target
        self.role = role
        self.pods = pods
        self.total = total
    }
}

/// Replicas of one role of a P/D `DeploymentGroup`.
public struct RoleSnapshot: Codable, Sendable, Hashable {
    public var name: String
    public var weight: Double
    public var current: Int
    public var ready: Int
    public var minReplicas: Int?
    public var maxReplicas: Int?

    public init(name: String, weight: Double = 1, current: Int, ready: Int, minReplicas: Int? = nil, maxReplicas: Int? = nil) {
        self.name = name
        self.weight = weight
        self.current = current
        self.ready = ready
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
    }
}

/// Well-known keys of `ScalingSnapshot.signals`: aggregate values derived by the controller or the simulator.
public enum Signal {
    /// Decode tokens generated per second, summed over the decode pool.
    public static let decodeTPS = "decode_tps"
    /// Prompt (prefill) tokens per second not served from the KV cache, summed over the prefill pool.
    public static let prefillTPS = "prefill_tps"
    /// P90 time between tokens, milliseconds.
    public static let tbtP90Milliseconds = "tbt_p90_ms"
    /// P90 time to first token, milliseconds.
    public static let ttftP90Milliseconds = "ttft_p90_ms"
    /// Requests arriving per second (SLA planner load).
    public static let numRequests = "num_requests"
    /// Average input sequence length of recent requests, tokens.
    public static let averageISL = "avg_isl"
    /// Average output sequence length of recent requests, tokens.
    public static let averageOSL = "avg_osl"
    /// Average time to first token over the last interval, milliseconds.
    public static let ttftMilliseconds = "ttft_ms"
    /// Average inter-token latency over the last interval, milliseconds.
    public static let itlMilliseconds = "itl_ms"
    /// Length in seconds of the window the SLA signals above were observed over (default: the planner's
    /// adjustment interval).
    public static let intervalSeconds = "interval_s"
    /// Average KV-cache usage (0…1) of the decode pool.
    public static let decodeKVUsage = "decode_kv_usage"
    /// Average request duration in seconds (SLA planner's KV estimate).
    public static let requestDurationSeconds = "request_duration_s"
}

/// The inputs of one decision.
public struct ScalingSnapshot: Codable, Sendable, Hashable {
    /// `spec.replicas` of the scale target (the `/scale` subresource).
    public var currentReplicas: Int
    public var readyReplicas: Int
    /// Per-role replicas for P/D targets (a `DeploymentGroup` without `subTargetSelector`).
    public var roles: [RoleSnapshot]
    /// One entry per observed metric source.
    public var sources: [SourceSnapshot]
    /// Derived aggregate signals (keys in `Signal`).
    public var signals: [String: Double]
    /// What went wrong while observing (failed scrapes, unusable values), one line each. Strategies name the
    /// first when they have no data, so "no data" says whether metrics fail or are merely not there yet.
    public var observationFailures: [String]

    public init(
        currentReplicas: Int, readyReplicas: Int, roles: [RoleSnapshot] = [], sources: [SourceSnapshot] = [],
        signals: [String: Double] = [:], observationFailures: [String] = []
    ) {
        self.currentReplicas = currentReplicas
        self.readyReplicas = readyReplicas
        self.roles = roles
        self.sources = sources
        self.signals = signals
        self.observationFailures = observationFailures
    }

    enum CodingKeys: String, CodingKey { case currentReplicas, readyReplicas, roles, sources, signals, observationFailures }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            currentReplicas: try c.decode(Int.self, forKey: .currentReplicas), readyReplicas: try c.decode(Int.self, forKey: .readyReplicas),
            roles: try c.decodeIfPresent([RoleSnapshot].self, forKey: .roles) ?? [],
            sources: try c.decodeIfPresent([SourceSnapshot].self, forKey: .sources) ?? [],
            signals: try c.decodeIfPresent([String: Double].self, forKey: .signals) ?? [:],
            observationFailures: try c.decodeIfPresent([String].self, forKey: .observationFailures) ?? [])
    }

    /// The role snapshot with the given name.
    public func role(_ name: String) -> RoleSnapshot? { roles.first { $0.name == name } }
}

// MARK: - Decision (the output)

/// A condition reason. Kubernetes HPA reasons are predefined; strategies may add their own.
public struct ReasonCode: RawRepresentable, Codable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    // AbleToScale
    public static let scaleDownStabilized: ReasonCode = "ScaleDownStabilized"
    public static let scaleUpStabilized: ReasonCode = "ScaleUpStabilized"
    public static let readyForNewScale: ReasonCode = "ReadyForNewScale"
    /// A cooldown (HeteroScale) or the KPA scale-down delay holds the count.
    public static let cooldown: ReasonCode = "Cooldown"
    // ScalingLimited
    public static let scaleUpLimit: ReasonCode = "ScaleUpLimit"
    public static let scaleDownLimit: ReasonCode = "ScaleDownLimit"
    public static let tooManyReplicas: ReasonCode = "TooManyReplicas"
    public static let tooFewReplicas: ReasonCode = "TooFewReplicas"
    public static let desiredWithinRange: ReasonCode = "DesiredWithinRange"
    /// A schedule window's bounds or fixed count applied.
    public static let scheduleBound: ReasonCode = "ScheduleBound"
    /// The GPU budget (SLA planner) capped the result.
    public static let budgetLimit: ReasonCode = "BudgetLimit"
    /// The Hybrid strategy's SLA floor (the predicted load's plan) raised or held the result.
    public static let predictionFloor: ReasonCode = "PredictionFloor"
    // ScalingActive
    public static let validMetricFound: ReasonCode = "ValidMetricFound"
    public static let scalingDisabled: ReasonCode = "ScalingDisabled"
    public static let failedGetMetrics: ReasonCode = "FailedGetMetrics"
    public static let invalidMetricSourceType: ReasonCode = "InvalidMetricSourceType"
    public static let invalidSpec: ReasonCode = "InvalidSpec"
    /// The decision was computed but not applied (SLA `advisory`).
    public static let advisory: ReasonCode = "Advisory"
}

/// A condition hint carried by a decision; the controller turns it into a `status.conditions` entry.
public struct ConditionHint: Codable, Sendable, Hashable {
    public var status: Bool
    public var reason: ReasonCode
    public var message: String
    public init(status: Bool, reason: ReasonCode, message: String) {
        self.status = status
        self.reason = reason
        self.message = message
    }
}

/// Per-role result for P/D targets.
public struct RoleReplicas: Codable, Sendable, Hashable {
    public var name: String
    public var replicas: Int
    public init(name: String, replicas: Int) {
        self.name = name
        self.replicas = replicas
    }
}

/// Strategy-specific details, for status, events, logs and the simulator's scaling log.
public struct DecisionDetails: Codable, Sendable, Hashable {
    /// The strategy that decided (`HPA`, `KPA`, …).
    public var strategy: String?
    /// KPA: whether the decider is in panic mode.
    public var panic: Bool?
    /// KPA/APA: stable-window value (total for KPA, per-pod average for APA).
    public var stableValue: Double?
    /// KPA: panic-window value.
    public var panicValue: Double?
    /// HeteroScale / latency baseline: the latency tier that fired.
    public var tier: String?
    /// Current value per metric name (for `status.currentMetrics`).
    public var metricValues: [String: Double]
    /// SLA planner / Periodic: the predicted load.
    public var predicted: Double?
    /// The recommendation before stabilisation, rate limits and bounds.
    public var recommendation: Int?
    /// Any further named numbers a strategy wants to surface (ratios, corrections, …).
    public var extra: [String: Double]

    public init(
        strategy: String? = nil, panic: Bool? = nil, stableValue: Double? = nil, panicValue: Double? = nil,
        tier: String? = nil, metricValues: [String: Double] = [:], predicted: Double? = nil,
        recommendation: Int? = nil, extra: [String: Double] = [:]
    ) {
        self.strategy = strategy
        self.panic = panic
        self.stableValue = stableValue
        self.panicValue = panicValue
        self.tier = tier
        self.metricValues = metricValues
        self.predicted = predicted
        self.recommendation = recommendation
        self.extra = extra
    }
}

/// The result of one decision.
public struct Decision: Codable, Sendable, Hashable {
    /// Replicas for the scale target (the sum over roles for P/D targets).
    public var desiredReplicas: Int
    /// Per-role replicas for P/D targets; `nil` for single-pool targets.
    public var roleReplicas: [RoleReplicas]?
    /// Human-readable, e.g. `KPA: stable 120.0 / target 10 → 12 (panic)`. The same text goes to the event,
    /// the status history, the log and the simulator's scaling log.
    public var reason: String
    /// `AbleToScale` hint (`ReadyForNewScale`, `ScaleUpStabilized`, `ScaleDownStabilized`, `Cooldown`).
    public var ableToScale: ConditionHint
    /// `ScalingLimited` hint (`ScaleUpLimit`, `ScaleDownLimit`, `TooManyReplicas`, `TooFewReplicas`,
    /// `DesiredWithinRange`, `ScheduleBound`); `status` is true when a limit changed the result.
    public var scalingLimited: ConditionHint
    /// False when the strategy could not compute (invalid spec, no metrics, scaling disabled); the
    /// controller must then keep the current replicas.
    public var scalingActive: Bool
    /// `ScalingActive` hint (`ValidMetricFound`, `ScalingDisabled`, `FailedGetMetrics`, `InvalidSpec`).
    public var activeCondition: ConditionHint
    public var details: DecisionDetails

    public init(
        desiredReplicas: Int, roleReplicas: [RoleReplicas]? = nil, reason: String,
        ableToScale: ConditionHint = ConditionHint(status: true, reason: .readyForNewScale, message: "recommended size matches current size"),
        scalingLimited: ConditionHint = ConditionHint(status: false, reason: .desiredWithinRange, message: "the desired count is within the acceptable range"),
        scalingActive: Bool = true,
        activeCondition: ConditionHint? = nil,
        details: DecisionDetails = DecisionDetails()
    ) {
        self.desiredReplicas = desiredReplicas
        self.roleReplicas = roleReplicas
        self.reason = reason
        self.ableToScale = ableToScale
        self.scalingLimited = scalingLimited
        self.scalingActive = scalingActive
        self.activeCondition = activeCondition ?? (scalingActive
            ? ConditionHint(status: true, reason: .validMetricFound, message: "the strategy computed a replica count from its metrics")
            : ConditionHint(status: false, reason: .failedGetMetrics, message: reason))
        self.details = details
    }

    /// The limiting factor, when a limit changed the result (`ScaleUpLimit`, `TooManyReplicas`, …).
    public var limit: ReasonCode? { scalingLimited.status ? scalingLimited.reason : nil }

    /// The replicas of one role, for P/D decisions.
    public func replicas(ofRole name: String) -> Int? { roleReplicas?.first { $0.name == name }?.replicas }

    /// A decision that keeps `current` because scaling is not possible right now.
    public static func inactive(current: Int, reason: ReasonCode, message: String, strategy: String? = nil) -> Decision {
        Decision(
            desiredReplicas: current, reason: "\(strategy.map { "\($0): " } ?? "")\(message); keeping \(current)",
            ableToScale: ConditionHint(status: true, reason: .readyForNewScale, message: "recommended size matches current size"),
            scalingActive: false,
            activeCondition: ConditionHint(status: false, reason: reason, message: message),
            details: DecisionDetails(strategy: strategy))
    }
}

// MARK: - State (explicit, serialisable)

/// A recommendation remembered for stabilisation.
public struct TimestampedRecommendation: Codable, Sendable, Hashable {
    public var time: Date
    public var replicas: Int
    public init(time: Date, replicas: Int) {
        self.time = time
        self.replicas = replicas
    }
}

/// A scale event remembered for the behavior rate policies.
public struct TimestampedScaleEvent: Codable, Sendable, Hashable {
    public var time: Date
    /// Replicas added (scale-up events) or removed (scale-down events), positive.
    public var replicaChange: Int
    public var outdated: Bool
    public init(time: Date, replicaChange: Int, outdated: Bool = false) {
        self.time = time
        self.replicaChange = replicaChange
        self.outdated = outdated
    }
}

/// HPA memory (Kubernetes keeps it in the controller; here it is explicit).
public struct HPAState: Codable, Sendable, Hashable {
    public var recommendations: [TimestampedRecommendation]
    public var scaleUpEvents: [TimestampedScaleEvent]
    public var scaleDownEvents: [TimestampedScaleEvent]
    public init(recommendations: [TimestampedRecommendation] = [], scaleUpEvents: [TimestampedScaleEvent] = [], scaleDownEvents: [TimestampedScaleEvent] = []) {
        self.recommendations = recommendations
        self.scaleUpEvents = scaleUpEvents
        self.scaleDownEvents = scaleDownEvents
    }
}

/// The stable and panic windows of one metric source.
public struct SourceWindows: Codable, Sendable, Hashable {
    public var stable: MetricWindow
    public var panic: MetricWindow
    public init(stable: MetricWindow, panic: MetricWindow) {
        self.stable = stable
        self.panic = panic
    }
}

/// KPA decider memory (Knative's `autoscaler` struct fields plus the metric collector's windows).
public struct KPAState: Codable, Sendable, Hashable {
    /// When panic mode began or was last extended; `nil` when not panicking.
    public var panicTime: Date?
    public var maxPanicPods: Int
    /// Scale-down delay window (maximum of decisions), when a delay is configured.
    public var delayWindow: MaxTimeWindow?
    /// Windows per metric source, keyed by the source index as a string.
    public var windows: [String: SourceWindows]
    public init(panicTime: Date? = nil, maxPanicPods: Int = 0, delayWindow: MaxTimeWindow? = nil, windows: [String: SourceWindows] = [:]) {
        self.panicTime = panicTime
        self.maxPanicPods = maxPanicPods
        self.delayWindow = delayWindow
        self.windows = windows
    }
}

/// APA memory: one averaging window per metric source.
public struct APAState: Codable, Sendable, Hashable {
    public var windows: [String: MetricWindow]
    public init(windows: [String: MetricWindow] = [:]) { self.windows = windows }
}

/// Everything a strategy remembers between decisions. The controller persists it (or rebuilds it with
/// `seeded(currentReplicas:now:)` after a restart); the simulator keeps one per autoscaler.
public struct AutoscalerState: Codable, Sendable, Equatable {
    public var hpa: HPAState?
    public var kpa: KPAState?
    public var apa: APAState?
    /// Defined with the HeteroScale strategy.
    public var heteroScale: HeteroScaleState?
    /// Defined with the SLA planner.
    public var sla: SLAState?
    /// The last time the decided replicas differed from the current ones.
    public var lastScaleTime: Date?
    /// The last decided replicas.
    public var lastDesiredReplicas: Int?

    public init() {}

    /// State after a controller restart: HPA's stabilisation window and HeteroScale's scale-in stabilisation
    /// window hold the current count (so the first decisions cannot scale down until a window of fresh
    /// recommendations exists), and a KPA decider starts
    /// in panic at the current count when more than one replica runs, as a new Knative decider does.
    public static func seeded(currentReplicas: Int, now: Date) -> AutoscalerState {
        var s = AutoscalerState()
        s.hpa = HPAState(recommendations: [TimestampedRecommendation(time: now, replicas: currentReplicas)])
        s.kpa = KPAState(panicTime: currentReplicas > 1 ? now : nil, maxPanicPods: currentReplicas)
        s.heteroScale = HeteroScaleState(recentNeeds: [.init(time: now, instances: Double(currentReplicas))])
        s.lastDesiredReplicas = currentReplicas
        return s
    }
}

// MARK: - Validation

/// A problem with a spec, naming the field (`spec.kpa.maxScaleUpRate`).
public struct ValidationIssue: Codable, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

extension AutoscalerState {
    /// The state after a decision that was computed but not applied (the `/scale` write failed, or advisory
    /// mode). What the decision observed stays (HPA recommendations, metric windows, panic state, predictors);
    /// the memory of scale actions comes from `before` (HPA behavior scale events, HeteroScale cooldown clocks,
    /// `lastScaleTime`, `lastDesiredReplicas`), as Kubernetes' HPA stores a scale event only after the scale
    /// update succeeded. Otherwise a failed or advisory decision would use up rate-policy budgets and cooldowns.
    public func withoutScaleAction(restoring before: AutoscalerState) -> AutoscalerState {
        var s = self
        s.lastScaleTime = before.lastScaleTime
        s.lastDesiredReplicas = before.lastDesiredReplicas
        if s.hpa != nil {
            s.hpa?.scaleUpEvents = before.hpa?.scaleUpEvents ?? []
            s.hpa?.scaleDownEvents = before.hpa?.scaleDownEvents ?? []
        }
        if s.heteroScale != nil {
            s.heteroScale?.lastScaleOutTime = before.heteroScale?.lastScaleOutTime
            s.heteroScale?.lastLatencyScaleOutTime = before.heteroScale?.lastLatencyScaleOutTime
            s.heteroScale?.lastScaleInTime = before.heteroScale?.lastScaleInTime
        }
        return s
    }
}
