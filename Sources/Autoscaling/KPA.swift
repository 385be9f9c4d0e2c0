import Foundation
import KubeAPI

/// Knative's KPA decider (`pkg/autoscaler/scaling/autoscaler.go`) over explicit state. Metrics are
/// revision-wide totals (per-pod samples are summed, never averaged and divided by the target) averaged over
/// 1 s buckets in a stable and a panic window; each observation holds over the buckets since the previous
/// one (`MetricWindow.fill`), so a 2 s decision period averages like Knative's 1 s scrapes.
public enum KPA {
    /// `KPASpec` with Knative's defaults applied.
    public struct Parameters: Sendable, Hashable {
        public static let defaultStableWindowSeconds = 60.0
        public static let defaultPanicWindowPercentage = 10.0
        public static let defaultPanicThresholdPercentage = 200.0
        public static let defaultMaxScaleUpRate = 1000.0
        public static let defaultMaxScaleDownRate = 2.0
        public static let defaultTickSeconds = 2.0

        public var stableWindowSeconds: Double
        public var panicWindowSeconds: Double
        /// A ratio (`2.0` for 200 %).
        public var panicThreshold: Double
        public var maxScaleUpRate: Double
        public var maxScaleDownRate: Double
        public var scaleDownDelaySeconds: Double
        public var activationScale: Int
        public var algorithm: MetricWindow.Algorithm
        /// Granularity of the scale-down delay window (Knative's tick interval).
        public var tickSeconds: Double

        public init(
            stableWindowSeconds: Double = defaultStableWindowSeconds, panicWindowSeconds: Double? = nil,
            panicThreshold: Double = defaultPanicThresholdPercentage / 100, maxScaleUpRate: Double = defaultMaxScaleUpRate,
            maxScaleDownRate: Double = defaultMaxScaleDownRate, scaleDownDelaySeconds: Double = 0, activationScale: Int = 1,
            algorithm: MetricWindow.Algorithm = .linear, tickSeconds: Double = defaultTickSeconds
        ) {
            self.stableWindowSeconds = stableWindowSeconds
            self.panicWindowSeconds = panicWindowSeconds ?? stableWindowSeconds * Self.defaultPanicWindowPercentage / 100
            self.panicThreshold = panicThreshold
            self.maxScaleUpRate = maxScaleUpRate
            self.maxScaleDownRate = maxScaleDownRate
            self.scaleDownDelaySeconds = scaleDownDelaySeconds
            self.activationScale = activationScale
            self.algorithm = algorithm
            self.tickSeconds = tickSeconds
        }

        /// From the CRD fields (call `Autoscaler.validate` first; out-of-range values are used as given).
        public init(spec: KPASpec?, tickSeconds: Double? = nil) {
            let stable = spec?.stableWindowSeconds ?? Self.defaultStableWindowSeconds
            self.init(
                stableWindowSeconds: stable,
                panicWindowSeconds: stable * (spec?.panicWindowPercentage ?? Self.defaultPanicWindowPercentage) / 100,
                panicThreshold: (spec?.panicThresholdPercentage ?? Self.defaultPanicThresholdPercentage) / 100,
                maxScaleUpRate: spec?.maxScaleUpRate ?? Self.defaultMaxScaleUpRate,
                maxScaleDownRate: spec?.maxScaleDownRate ?? Self.defaultMaxScaleDownRate,
                scaleDownDelaySeconds: spec?.scaleDownDelaySeconds ?? 0,
                activationScale: spec?.activationScale ?? 1,
                algorithm: spec?.windowAlgorithm.flatMap(MetricWindow.Algorithm.init(rawValue:)) ?? .linear,
                tickSeconds: tickSeconds ?? Self.defaultTickSeconds)
        }

        /// Validation issues for `spec.kpa` (Knative's ranges).
        public static func validate(_ spec: KPASpec?, path: String = "spec.kpa") -> [ValidationIssue] {
            guard let spec else { return [] }
            var issues: [ValidationIssue] = []
            func check(_ value: Double?, _ field: String, _ ok: (Double) -> Bool, _ message: String) {
                if let value, !(value.isFinite && ok(value)) {
                    issues.append(ValidationIssue(field: "\(path).\(field)", message: "\(message), got \(Fmt.num(value))"))
                }
            }
            check(spec.stableWindowSeconds, "stableWindowSeconds", { $0 >= 6 && $0 <= 3600 }, "must be within 6...3600 seconds")
            check(spec.panicWindowPercentage, "panicWindowPercentage", { $0 >= 1 && $0 <= 100 }, "must be within 1...100")
            check(spec.panicThresholdPercentage, "panicThresholdPercentage", { $0 > 100 && $0 <= 1000 }, "must be above 100 and at most 1000")
            check(spec.maxScaleUpRate, "maxScaleUpRate", { $0 > 1 }, "must be greater than 1")
            check(spec.maxScaleDownRate, "maxScaleDownRate", { $0 > 1 }, "must be greater than 1")
            check(spec.scaleDownDelaySeconds, "scaleDownDelaySeconds", { $0 >= 0 && $0 <= 3600 }, "must be within 0...3600 seconds")
            if let a = spec.activationScale, a < 1 {
                issues.append(ValidationIssue(field: "\(path).activationScale", message: "must be at least 1, got \(a)"))
            }
            if let w = spec.windowAlgorithm, MetricWindow.Algorithm(rawValue: w) == nil {
                issues.append(ValidationIssue(field: "\(path).windowAlgorithm", message: "must be linear or weightedExponential, got \(w)"))
            }
            return issues
        }
    }

    /// The outcome of one `Scale` call.
    public struct Result: Sendable, Hashable {
        public var desiredPodCount: Int
        /// `ceil(stable/target)` and `ceil(panic/target)` before the rate clamps.
        public var desiredStable: Double
        public var desiredPanic: Double
        public var panicking: Bool
        /// True when the scale-down delay held the count above the decision.
        public var delayed: Bool
        /// `[maxScaleDown, maxScaleUp]` clamps that applied.
        public var maxScaleUp: Double
        public var maxScaleDown: Double
    }

    /// A decider state for a new autoscaler: in panic at the ready count when more than one pod is ready.
    public static func newState(readyPods: Int, now: Date) -> KPAState {
        KPAState(panicTime: readyPods > 1 ? now : nil, maxPanicPods: readyPods)
    }

    /// Knative's `Scale` for observed stable and panic values of one metric.
    public static func scale(
        stable: Double, panic: Double, target: Double, readyPods: Int, parameters p: Parameters, state: inout KPAState, now: Date
    ) -> Result {
        scale(observations: [(stable, panic, target)], readyPods: readyPods, parameters: p, state: &state, now: now)
    }

    /// `Scale` over several metrics: the largest stable and panic pod counts win.
    public static func scale(
        observations: [(stable: Double, panic: Double, target: Double)], readyPods: Int, parameters p: Parameters,
        state: inout KPAState, now: Date
    ) -> Result {
        let readyF = Swift.max(1, Double(readyPods))
        let maxScaleUp = (p.maxScaleUpRate * readyF).rounded(.up)
        let maxScaleDown = (readyF / p.maxScaleDownRate).rounded(.down)
        var dspc = 0.0
        var dppc = 0.0
        for o in observations {
            dspc = Swift.max(dspc, (o.stable / o.target).rounded(.up))
            dppc = Swift.max(dppc, (o.panic / o.target).rounded(.up))
        }
        var desiredStable = Int(Swift.min(Swift.max(dspc, maxScaleDown), maxScaleUp))
        var desiredPanic = Int(Swift.min(Swift.max(dppc, maxScaleDown), maxScaleUp))
        if p.activationScale > 1 {
            if dspc > 0 && p.activationScale > desiredStable { desiredStable = p.activationScale }
            if dppc > 0 && p.activationScale > desiredPanic { desiredPanic = p.activationScale }
        }
        let overThreshold = dppc / readyF >= p.panicThreshold
        if overThreshold {
            state.panicTime = now
        } else if let pt = state.panicTime, pt.addingTimeInterval(p.stableWindowSeconds) < now {
            state.panicTime = nil
            state.maxPanicPods = 0
        }
        var desired = desiredStable
        if state.panicTime != nil {
            if desired < desiredPanic { desired = desiredPanic }
            if desired > state.maxPanicPods { state.maxPanicPods = desired }
            desired = state.maxPanicPods
        }
        var delayed = false
        if p.scaleDownDelaySeconds > 0 {
            let g = Int64(Swift.max(1, p.tickSeconds.rounded()))
            var window = state.delayWindow ?? MaxTimeWindow(durationSeconds: p.scaleDownDelaySeconds, granularitySeconds: g)
            let capacity = Swift.max(1, Int((p.scaleDownDelaySeconds / Double(g)).rounded(.up)))
            if window.capacity != capacity || window.granularitySeconds != g {
                window = MaxTimeWindow(durationSeconds: p.scaleDownDelaySeconds, granularitySeconds: g)
            }
            window.record(Double(desired), at: now)
            let held = Int(window.current)
            if held != desired {
                delayed = true
                desired = held
            }
            state.delayWindow = window
        } else {
            state.delayWindow = nil
        }
        return Result(
            desiredPodCount: desired, desiredStable: dspc, desiredPanic: dppc, panicking: state.panicTime != nil,
            delayed: delayed, maxScaleUp: maxScaleUp, maxScaleDown: maxScaleDown)
    }

    /// One KPA decision: records the snapshot's totals into the windows, then `scale`.
    public static func decide(
        spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, state: inout KPAState?, now: Date
    ) -> Decision {
        let p = Parameters(spec: spec.kpa, tickSeconds: spec.tickSeconds)
        var s = state ?? newState(readyPods: snapshot.readyReplicas, now: now)
        defer { state = s }
        var observations: [(stable: Double, panic: Double, target: Double)] = []
        var details = DecisionDetails(strategy: "KPA")
        var largest: (stable: Double, panic: Double, target: Double, name: String)?
        var missing: [String] = []
        for source in snapshot.sources {
            let key = String(source.index)
            var w = s.windows[key] ?? SourceWindows(
                stable: MetricWindow(windowSeconds: p.stableWindowSeconds, algorithm: p.algorithm),
                panic: MetricWindow(windowSeconds: p.panicWindowSeconds, algorithm: p.algorithm))
            if w.stable.windowSeconds != p.stableWindowSeconds || w.stable.algorithm != p.algorithm || w.panic.windowSeconds != p.panicWindowSeconds {
                w = SourceWindows(
                    stable: MetricWindow(windowSeconds: p.stableWindowSeconds, algorithm: p.algorithm),
                    panic: MetricWindow(windowSeconds: p.panicWindowSeconds, algorithm: p.algorithm))
            }
            if let total = source.total ?? Autoscaler.extrapolatedTotal(source.pods) {
                w.stable.fill(total, at: now)
                w.panic.fill(total, at: now)
                details.metricValues[source.metricName] = total
            }
            s.windows[key] = w
            guard source.target > 0, let stable = w.stable.average(at: now) else {
                missing.append(source.metricName)
                continue
            }
            let panic = w.panic.average(at: now) ?? 0
            observations.append((stable, panic, source.target))
            if largest == nil || stable / source.target > largest!.stable / largest!.target {
                largest = (stable, panic, source.target, source.metricName)
            }
        }
        guard let largest else {
            var d = Decision.inactive(current: snapshot.currentReplicas, reason: .failedGetMetrics, message: snapshot.noDataMessage, strategy: "KPA")
            d.details = details
            return d
        }
        let r = scale(observations: observations, readyPods: snapshot.readyReplicas, parameters: p, state: &s, now: now)
        details.panic = r.panicking
        details.stableValue = largest.stable
        details.panicValue = largest.panic
        details.recommendation = r.desiredPodCount
        details.extra["desiredStablePodCount"] = r.desiredStable
        details.extra["desiredPanicPodCount"] = r.desiredPanic
        var reason = "KPA: \(largest.name) stable \(Fmt.num(largest.stable, 1)) panic \(Fmt.num(largest.panic, 1)) / target \(Fmt.num(largest.target)) → \(r.desiredPodCount)"
        var able = ConditionHint(status: true, reason: .readyForNewScale, message: "recommended size matches current size")
        if r.panicking { reason += " (panic)" }
        if r.delayed {
            reason += " (scale-down delayed)"
            able = ConditionHint(status: true, reason: .scaleDownStabilized, message: "the scale-down delay holds the highest recent decision")
        }
        var desired = r.desiredPodCount
        if desired < snapshot.currentReplicas, let hold = Autoscaler.missingDataHold(snapshot, sourcesWithoutData: missing) {
            // Missing data never scales down: the pods or sources without data might need the capacity.
            desired = snapshot.currentReplicas
            reason += " → \(desired) (held: \(hold))"
            able = ConditionHint(status: true, reason: .scaleDownStabilized, message: "metric data is missing (\(hold)); scale-down held")
        }
        return Decision(desiredReplicas: desired, reason: reason, ableToScale: able, details: details)
    }
}
