import Foundation
import KubeAPI

/// AIBrix's APA (`algorithm/apa.go`): fluctuation tolerances around the target and rate-bounded
/// `ceil(c·r)`, on the per-pod average over a window. Unlike AIBrix, a failed scrape is a missing sample,
/// never a 0 that drags the average down.
public enum APA {
    public struct Parameters: Sendable, Hashable {
        public static let defaultUpTolerance = 0.1
        public static let defaultDownTolerance = 0.2
        public static let defaultMaxScaleUpRate = 2.0
        public static let defaultMaxScaleDownRate = 2.0
        public static let defaultWindowSeconds = 60.0

        public var upTolerance: Double
        public var downTolerance: Double
        public var maxScaleUpRate: Double
        public var maxScaleDownRate: Double
        public var windowSeconds: Double

        public init(
            upTolerance: Double = defaultUpTolerance, downTolerance: Double = defaultDownTolerance,
            maxScaleUpRate: Double = defaultMaxScaleUpRate, maxScaleDownRate: Double = defaultMaxScaleDownRate,
            windowSeconds: Double = defaultWindowSeconds
        ) {
            self.upTolerance = upTolerance
            self.downTolerance = downTolerance
            self.maxScaleUpRate = maxScaleUpRate
            self.maxScaleDownRate = maxScaleDownRate
            self.windowSeconds = windowSeconds
        }

        public init(spec: APASpec?) {
            self.init(
                upTolerance: spec?.upFluctuationTolerance ?? Self.defaultUpTolerance,
                downTolerance: spec?.downFluctuationTolerance ?? Self.defaultDownTolerance,
                maxScaleUpRate: spec?.maxScaleUpRate ?? Self.defaultMaxScaleUpRate,
                maxScaleDownRate: spec?.maxScaleDownRate ?? Self.defaultMaxScaleDownRate,
                windowSeconds: spec?.windowSeconds ?? Self.defaultWindowSeconds)
        }

        public static func validate(_ spec: APASpec?, path: String = "spec.apa") -> [ValidationIssue] {
            guard let spec else { return [] }
            var issues: [ValidationIssue] = []
            func check(_ value: Double?, _ field: String, _ ok: (Double) -> Bool, _ message: String) {
                if let value, !(value.isFinite && ok(value)) {
                    issues.append(ValidationIssue(field: "\(path).\(field)", message: "\(message), got \(Fmt.num(value))"))
                }
            }
            check(spec.upFluctuationTolerance, "upFluctuationTolerance", { $0 >= 0 }, "must be zero or positive")
            check(spec.downFluctuationTolerance, "downFluctuationTolerance", { $0 >= 0 && $0 < 1 }, "must be within [0, 1)")
            check(spec.maxScaleUpRate, "maxScaleUpRate", { $0 > 1 }, "must be greater than 1")
            check(spec.maxScaleDownRate, "maxScaleDownRate", { $0 > 1 }, "must be greater than 1")
            check(spec.windowSeconds, "windowSeconds", { $0 >= 1 && $0 <= 3600 }, "must be within 1...3600 seconds")
            return issues
        }
    }

    /// AIBrix's `computeTargetReplicas`: `r = U/T`; above `1+up` → `min(ceil(c·r), ceil(upRate·c))`; below
    /// `1−down` → `max(ceil(c·r), floor(c/downRate))`; otherwise (or `T ≤ 0`) `c`.
    public static func targetReplicas(current c: Int, perPodValue u: Double, target t: Double, parameters p: Parameters) -> Int {
        guard t > 0 else { return c }
        let cf = Double(c)
        let r = u / t
        if r > 1 + p.upTolerance {
            let maxUp = (p.maxScaleUpRate * cf).rounded(.up)
            let expected = (cf * r).rounded(.up)
            return Int(Swift.min(expected, maxUp))
        } else if r < 1 - p.downTolerance {
            let maxDown = (cf / p.maxScaleDownRate).rounded(.down)
            let expected = (cf * r).rounded(.up)
            return Int(Swift.max(expected, maxDown))
        }
        return c
    }

    /// The per-pod average of one source at one instant: the mean of the pods that reported (missing
    /// samples are skipped), or the aggregated total over the ready replicas.
    static func perPodValue(_ source: SourceSnapshot, readyReplicas: Int) -> Double? {
        let values = source.pods.filter { $0.phase != .failed && $0.phase != .deleting }.compactMap(\.value)
        if !values.isEmpty { return values.reduce(0, +) / Double(values.count) }
        if let total = source.total, readyReplicas > 0 { return total / Double(readyReplicas) }
        return nil
    }

    public static func decide(
        spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, state: inout APAState?, now: Date
    ) -> Decision {
        let p = Parameters(spec: spec.apa)
        var s = state ?? APAState()
        defer { state = s }
        let c = snapshot.currentReplicas
        var details = DecisionDetails(strategy: "APA")
        var best: (replicas: Int, value: Double, target: Double, name: String)?
        var missing: [String] = []
        for source in snapshot.sources {
            let key = String(source.index)
            var w = s.windows[key] ?? MetricWindow(windowSeconds: p.windowSeconds)
            if w.windowSeconds != p.windowSeconds { w = MetricWindow(windowSeconds: p.windowSeconds) }
            if let v = perPodValue(source, readyReplicas: snapshot.readyReplicas) {
                w.fill(v, at: now)
                details.metricValues[source.metricName] = v
            }
            s.windows[key] = w
            guard let u = w.average(at: now) else {
                missing.append(source.metricName)
                continue
            }
            let replicas = targetReplicas(current: c, perPodValue: u, target: source.target, parameters: p)
            if best == nil || replicas > best!.replicas {
                best = (replicas, u, source.target, source.metricName)
            }
        }
        guard let best else {
            var d = Decision.inactive(current: c, reason: .failedGetMetrics, message: snapshot.noDataMessage, strategy: "APA")
            d.details = details
            return d
        }
        details.stableValue = best.value
        details.recommendation = best.replicas
        let ratio = best.target > 0 ? best.value / best.target : 1
        details.extra["ratio"] = ratio
        var reason = "APA: \(best.name) per-pod \(Fmt.num(best.value)) / target \(Fmt.num(best.target)) (ratio \(Fmt.num(ratio))) → \(best.replicas)"
        var desired = best.replicas
        var able = ConditionHint(status: true, reason: .readyForNewScale, message: "recommended size matches current size")
        if desired < c, let hold = Autoscaler.missingDataHold(snapshot, sourcesWithoutData: missing) {
            // Missing data never scales down: the pods or sources without data might need the capacity.
            desired = c
            reason += " → \(c) (held: \(hold))"
            able = ConditionHint(status: true, reason: .scaleDownStabilized, message: "metric data is missing (\(hold)); scale-down held")
        }
        return Decision(desiredReplicas: desired, reason: reason, ableToScale: able, details: details)
    }
}
