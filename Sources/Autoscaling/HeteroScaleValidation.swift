import KubeAPI

/// One problem found in a strategy's spec: the JSON path of the offending field (for example
/// `spec.heteroScale.scaleInDamping` or `spec.schedules[1].timeZone`) and what is wrong with it. The controller
/// turns these into the `ValidSpec=False` condition and a warning event.
public struct StrategySpecIssue: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// Thrown by the strategy initialisers when their spec has issues.
public struct StrategySpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [StrategySpecIssue]
    public init(issues: [StrategySpecIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "; ") }
}

/// The latency tiers of HeteroScale's negative feedback, resolved and sorted by ascending ratio.
public struct LatencyTier: Sendable, Hashable, Codable {
    /// Observed / SLO above which the tier fires (strictly greater).
    public var ratio: Double
    /// Scale-out step as a percentage of the current group (at least one instance).
    public var stepPercent: Double
    public init(ratio: Double, stepPercent: Double) {
        self.ratio = ratio
        self.stepPercent = stepPercent
    }
}

/// `HeteroScaleSpec` with every default filled in. Build it with `init(spec:)`, which validates.
public struct HeteroScaleParameters: Sendable, Hashable {
    public static let defaultScaleOutThreshold = 0.1
    public static let defaultScaleInThreshold = 0.1
    public static let defaultScaleOutDamping = 1.0
    public static let defaultScaleInDamping = 0.5
    public static let defaultScaleOutCooldownSeconds = 180.0
    public static let defaultScaleInCooldownSeconds = 600.0
    public static let defaultScaleInStabilizationSeconds = 60.0
    /// The longest scale-in stabilisation window (an hour, HPA's limit), which also bounds the need history.
    public static let maximumScaleInStabilizationSeconds = 3600.0
    public static let defaultLatencyCooldownSeconds = 60.0
    public static let defaultRatioTolerance = 0.1
    public static let defaultTiers = [LatencyTier(ratio: 1.1, stepPercent: 10), LatencyTier(ratio: 1.5, stepPercent: 20)]

    public var targetDecodeTPSPerInstance: Double
    public var targetPrefillTPSPerInstance: Double?
    public var prefillRole: String
    public var decodeRole: String
    public var scaleOutThreshold: Double
    public var scaleInThreshold: Double
    public var scaleOutDamping: Double
    public var scaleInDamping: Double
    public var scaleOutCooldownSeconds: Double
    public var scaleInCooldownSeconds: Double
    /// Window whose highest need sizes a scale-in (`scaleInStabilizationSeconds`).
    public var scaleInStabilizationSeconds: Double
    /// How far off the weights' ratio a new total's split may be (`ratioTolerance`, `RatioApportionment.ratioError`).
    public var ratioTolerance: Double
    /// `nil` when the spec has no TBT SLO.
    public var tbtSLOMilliseconds: Double?
    public var ttftSLOMilliseconds: Double?
    /// Ascending by ratio; empty when no latency SLO is configured.
    public var tiers: [LatencyTier]
    public var latencyCooldownSeconds: Double

    /// Resolves defaults; throws every issue `HeteroScaleParameters.validate` finds.
    public init(spec: HeteroScaleSpec, path: String = "spec.heteroScale") throws(StrategySpecError) {
        let issues = Self.validate(spec, path: path)
        guard issues.isEmpty, let target = spec.targetDecodeTPSPerInstance else {
            throw StrategySpecError(issues: issues)
        }
        targetDecodeTPSPerInstance = target
        targetPrefillTPSPerInstance = spec.targetPrefillTPSPerInstance
        prefillRole = spec.prefillRole ?? "prefill"
        decodeRole = spec.decodeRole ?? "decode"
        scaleOutThreshold = spec.scaleOutThreshold ?? Self.defaultScaleOutThreshold
        scaleInThreshold = spec.scaleInThreshold ?? Self.defaultScaleInThreshold
        scaleOutDamping = spec.scaleOutDamping ?? Self.defaultScaleOutDamping
        scaleInDamping = spec.scaleInDamping ?? Self.defaultScaleInDamping
        scaleOutCooldownSeconds = spec.scaleOutCooldownSeconds ?? Self.defaultScaleOutCooldownSeconds
        scaleInCooldownSeconds = spec.scaleInCooldownSeconds ?? Self.defaultScaleInCooldownSeconds
        scaleInStabilizationSeconds = spec.scaleInStabilizationSeconds ?? Self.defaultScaleInStabilizationSeconds
        ratioTolerance = spec.ratioTolerance ?? Self.defaultRatioTolerance
        tbtSLOMilliseconds = spec.latency?.tbtSLOMilliseconds
        ttftSLOMilliseconds = spec.latency?.ttftSLOMilliseconds
        if spec.latency != nil && (tbtSLOMilliseconds != nil || ttftSLOMilliseconds != nil) {
            let given = spec.latency?.tiers.map { $0.map { LatencyTier(ratio: $0.ratio, stepPercent: $0.stepPercent) } }
            tiers = (given ?? Self.defaultTiers).sorted { $0.ratio < $1.ratio }
        } else {
            tiers = []
        }
        latencyCooldownSeconds = spec.latency?.cooldownSeconds ?? Self.defaultLatencyCooldownSeconds
    }

    /// Every problem with `spec`, each naming its field under `path`.
    public static func validate(_ spec: HeteroScaleSpec, path: String = "spec.heteroScale") -> [StrategySpecIssue] {
        var issues: [StrategySpecIssue] = []
        func issue(_ field: String, _ message: String) {
            issues.append(StrategySpecIssue(field: "\(path).\(field)", message: message))
        }
        func positive(_ value: Double?, _ field: String) {
            if let value, !(value.isFinite && value > 0) { issue(field, "must be a positive number, got \(value)") }
        }
        func nonNegative(_ value: Double?, _ field: String) {
            if let value, !(value.isFinite && value >= 0) { issue(field, "must be zero or positive, got \(value)") }
        }
        if let target = spec.targetDecodeTPSPerInstance {
            positive(target, "targetDecodeTPSPerInstance")
        } else {
            issue("targetDecodeTPSPerInstance", "is required for the HeteroScale strategy")
        }
        positive(spec.targetPrefillTPSPerInstance, "targetPrefillTPSPerInstance")
        for (value, field) in [(spec.prefillRole, "prefillRole"), (spec.decodeRole, "decodeRole")] {
            if let value, value.isEmpty { issue(field, "must not be empty") }
        }
        if let p = spec.prefillRole, let d = spec.decodeRole, !p.isEmpty, p == d {
            issue("decodeRole", "must differ from prefillRole (\(p))")
        }
        nonNegative(spec.scaleOutThreshold, "scaleOutThreshold")
        if let t = spec.scaleInThreshold, !(t.isFinite && t >= 0 && t < 1) {
            issue("scaleInThreshold", "must be in [0, 1), got \(t)")
        }
        for (value, field) in [(spec.scaleOutDamping, "scaleOutDamping"), (spec.scaleInDamping, "scaleInDamping")] {
            if let value, !(value.isFinite && value > 0 && value <= 1) { issue(field, "must be in (0, 1], got \(value)") }
        }
        nonNegative(spec.scaleOutCooldownSeconds, "scaleOutCooldownSeconds")
        nonNegative(spec.scaleInCooldownSeconds, "scaleInCooldownSeconds")
        if let w = spec.scaleInStabilizationSeconds, !(w.isFinite && w >= 0 && w <= maximumScaleInStabilizationSeconds) {
            issue("scaleInStabilizationSeconds", "must be in [0, 3600] seconds, got \(w)")
        }
        if let t = spec.ratioTolerance, !(t.isFinite && t >= 0 && t <= 1) {
            issue("ratioTolerance", "must be in [0, 1] (0: whole ratio units only, 0.1: the P/D ratio within 10 %, 1: off), got \(t)")
        }
        if let latency = spec.latency {
            positive(latency.tbtSLOMilliseconds, "latency.tbtSLOMilliseconds")
            positive(latency.ttftSLOMilliseconds, "latency.ttftSLOMilliseconds")
            if latency.tbtSLOMilliseconds == nil && latency.ttftSLOMilliseconds == nil {
                issue("latency", "needs tbtSLOMilliseconds and/or ttftSLOMilliseconds")
            }
            if let p = latency.percentile, !(p.isFinite && p > 0 && p <= 100) {
                issue("latency.percentile", "must be in (0, 100], got \(p)")
            }
            nonNegative(latency.cooldownSeconds, "latency.cooldownSeconds")
            if let tiers = latency.tiers {
                if tiers.isEmpty { issue("latency.tiers", "must list at least one tier (omit it for the defaults)") }
                var seen: Set<Double> = []
                for (i, tier) in tiers.enumerated() {
                    positive(tier.ratio, "latency.tiers[\(i)].ratio")
                    positive(tier.stepPercent, "latency.tiers[\(i)].stepPercent")
                    if !seen.insert(tier.ratio).inserted { issue("latency.tiers[\(i)].ratio", "duplicates another tier's ratio \(tier.ratio)") }
                }
            }
        }
        return issues
    }
}
