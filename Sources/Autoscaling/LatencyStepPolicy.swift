import Foundation
import KubeAPI

/// The outcome of a `Latency` baseline decision.
public struct LatencyStepDecision: Sendable, Hashable {
    public enum Direction: String, Sendable, Hashable, Codable { case hold, scaleOut, scaleIn }
    public var replicas: Int
    public var direction: Direction
    public var reason: String
}

/// The pure latency step baseline (strategy `Latency`), kept to show how reacting to latency alone flaps:
/// the worse of P90 TBT and P90 TTFT relative to its SLO (each when both the SLO and the signal exist) above
/// `scaleOutRatio` (default 1.1) adds `scaleOutStep` (default 2) replicas, below `scaleInRatio` (default 0.8)
/// removes `scaleInStep` (default 1), bounded by `[minReplicas, maxReplicas]`, and optionally waits
/// `cooldownSeconds` after the last scaling (default 0: none). Missing latency holds.
/// Stateless: the caller passes the time of the last scaling (the PodAutoscaler's `status.lastScaleTime`).
public struct LatencyStepPolicy: Sendable, Hashable {
    /// P90 TBT SLO; nil: TBT is not looked at.
    public var tbtSLOMilliseconds: Double?
    /// P90 TTFT SLO; nil: TTFT is not looked at.
    public var ttftSLOMilliseconds: Double?
    public var minReplicas: Int
    public var maxReplicas: Int
    public var scaleOutRatio: Double
    public var scaleInRatio: Double
    public var scaleOutStep: Int
    public var scaleInStep: Int
    public var cooldownSeconds: Double

    /// A TBT SLO (`sloMilliseconds`) and optionally a TTFT SLO.
    public init(
        sloMilliseconds: Double?, ttftSLOMilliseconds: Double? = nil, minReplicas: Int, maxReplicas: Int, scaleOutRatio: Double = 1.1,
        scaleInRatio: Double = 0.8, scaleOutStep: Int = 2, scaleInStep: Int = 1, cooldownSeconds: Double = 0
    ) {
        self.tbtSLOMilliseconds = sloMilliseconds
        self.ttftSLOMilliseconds = ttftSLOMilliseconds
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.scaleOutRatio = scaleOutRatio
        self.scaleInRatio = scaleInRatio
        self.scaleOutStep = scaleOutStep
        self.scaleInStep = scaleInStep
        self.cooldownSeconds = cooldownSeconds
    }

    /// Takes the SLOs from `heteroScale.latency.tbtSLOMilliseconds` / `ttftSLOMilliseconds` (at least one) and
    /// the cooldown from `heteroScale.latency.cooldownSeconds` (default none), so the baseline needs no spec
    /// fields of its own.
    public init(heteroScale: HeteroScaleSpec, minReplicas: Int, maxReplicas: Int) throws(StrategySpecError) {
        func valid(_ v: Double?) -> Double? { v.flatMap { $0.isFinite && $0 > 0 ? $0 : nil } }
        let tbt = valid(heteroScale.latency?.tbtSLOMilliseconds), ttft = valid(heteroScale.latency?.ttftSLOMilliseconds)
        guard tbt != nil || ttft != nil else {
            throw StrategySpecError(issues: [StrategySpecIssue(
                field: "spec.heteroScale.latency.tbtSLOMilliseconds",
                message: "the Latency strategy needs a positive TBT SLO (or latency.ttftSLOMilliseconds)")])
        }
        self.init(sloMilliseconds: tbt, ttftSLOMilliseconds: ttft, minReplicas: minReplicas, maxReplicas: maxReplicas,
                  cooldownSeconds: heteroScale.latency?.cooldownSeconds ?? 0)
    }

    public func decide(tbtP90Milliseconds: Double?, ttftP90Milliseconds: Double? = nil, currentReplicas: Int, lastScaleTime: Date?,
                       now: Date) -> LatencyStepDecision {
        let lo = max(0, minReplicas)
        let hi = max(lo, maxReplicas)
        let current = currentReplicas
        // The worse of the signals that have an SLO and a value.
        var worst: (ratio: Double, text: String)?
        for (name, value, slo) in [("TBT", tbtP90Milliseconds, tbtSLOMilliseconds), ("TTFT", ttftP90Milliseconds, ttftSLOMilliseconds)] {
            guard let slo, let v = value, v.isFinite, v >= 0 else { continue }
            if v / slo > (worst?.ratio ?? -1) {
                worst = (v / slo, "\(name) p90 \(HeteroScaleFormat.compact(v)) ms = \(HeteroScaleFormat.fixed(v / slo, 2))× SLO \(HeteroScaleFormat.compact(slo)) ms")
            }
        }
        guard let worst else {
            let r = min(max(current, lo), hi)
            let names = [tbtSLOMilliseconds.map { _ in "TBT" }, ttftSLOMilliseconds.map { _ in "TTFT" }].compactMap { $0 }.joined(separator: " and ")
            return LatencyStepDecision(replicas: r, direction: direction(r, current),
                                       reason: "Latency: \(names) p90 unavailable → hold at \(r)")
        }
        let ratio = worst.ratio
        let head = "Latency: \(worst.text)"
        var wanted = current
        var why: String
        if ratio > scaleOutRatio {
            wanted = current + scaleOutStep
            why = "above \(HeteroScaleFormat.compact(scaleOutRatio))× → +\(scaleOutStep)"
        } else if ratio < scaleInRatio {
            wanted = current - scaleInStep
            why = "below \(HeteroScaleFormat.compact(scaleInRatio))× → -\(scaleInStep)"
        } else {
            why = "within \(HeteroScaleFormat.compact(scaleInRatio))×…\(HeteroScaleFormat.compact(scaleOutRatio))×"
        }
        let bounded = min(max(wanted, lo), hi)
        if bounded != wanted { why += bounded < wanted ? " (capped at max \(hi))" : " (raised to min \(lo))" }
        let outOfBounds = current < lo || current > hi
        if bounded != current, !outOfBounds, let last = lastScaleTime, now.timeIntervalSince(last) < cooldownSeconds {
            let left = cooldownSeconds - now.timeIntervalSince(last)
            return LatencyStepDecision(replicas: current, direction: .hold,
                                       reason: "\(head), \(why); cooldown \(HeteroScaleFormat.seconds(left)) left → hold at \(current)")
        }
        return LatencyStepDecision(replicas: bounded, direction: direction(bounded, current), reason: "\(head), \(why) → \(bounded)")
    }

    private func direction(_ new: Int, _ current: Int) -> LatencyStepDecision.Direction {
        new > current ? .scaleOut : (new < current ? .scaleIn : .hold)
    }
}
