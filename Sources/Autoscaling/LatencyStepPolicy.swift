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
/// P90 TBT above `scaleOutRatio × SLO` (default 1.1) adds `scaleOutStep` (default 2) replicas, below
/// `scaleInRatio × SLO` (default 0.8) removes `scaleInStep` (default 1), bounded by `[minReplicas, maxReplicas]`,
/// and optionally waits `cooldownSeconds` after the last scaling (default 0: none). Missing latency holds.
/// Stateless: the caller passes the time of the last scaling (the PodAutoscaler's `status.lastScaleTime`).
public struct LatencyStepPolicy: Sendable, Hashable {
    public var sloMilliseconds: Double
    public var minReplicas: Int
    public var maxReplicas: Int
    public var scaleOutRatio: Double
    public var scaleInRatio: Double
    public var scaleOutStep: Int
    public var scaleInStep: Int
    public var cooldownSeconds: Double

    public init(
        sloMilliseconds: Double, minReplicas: Int, maxReplicas: Int, scaleOutRatio: Double = 1.1,
        scaleInRatio: Double = 0.8, scaleOutStep: Int = 2, scaleInStep: Int = 1, cooldownSeconds: Double = 0
    ) {
        self.sloMilliseconds = sloMilliseconds
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.scaleOutRatio = scaleOutRatio
        self.scaleInRatio = scaleInRatio
        self.scaleOutStep = scaleOutStep
        self.scaleInStep = scaleInStep
        self.cooldownSeconds = cooldownSeconds
    }

    /// Takes the SLO from `heteroScale.latency.tbtSLOMilliseconds` and the cooldown from
    /// `heteroScale.latency.cooldownSeconds` (default none), so the baseline needs no spec fields of its own.
    public init(heteroScale: HeteroScaleSpec, minReplicas: Int, maxReplicas: Int) throws(StrategySpecError) {
        guard let slo = heteroScale.latency?.tbtSLOMilliseconds, slo.isFinite, slo > 0 else {
            throw StrategySpecError(issues: [StrategySpecIssue(
                field: "spec.heteroScale.latency.tbtSLOMilliseconds",
                message: "the Latency strategy needs a positive TBT SLO")])
        }
        self.init(sloMilliseconds: slo, minReplicas: minReplicas, maxReplicas: maxReplicas,
                  cooldownSeconds: heteroScale.latency?.cooldownSeconds ?? 0)
    }

    public func decide(tbtP90Milliseconds: Double?, currentReplicas: Int, lastScaleTime: Date?, now: Date) -> LatencyStepDecision {
        let lo = max(0, minReplicas)
        let hi = max(lo, maxReplicas)
        let current = currentReplicas
        guard let tbt = tbtP90Milliseconds, tbt.isFinite, tbt >= 0 else {
            let r = min(max(current, lo), hi)
            return LatencyStepDecision(replicas: r, direction: direction(r, current),
                                       reason: "Latency: TBT p90 unavailable → hold at \(r)")
        }
        let ratio = tbt / sloMilliseconds
        let head = "Latency: TBT p90 \(HeteroScaleFormat.compact(tbt)) ms = \(HeteroScaleFormat.fixed(ratio, 2))× SLO \(HeteroScaleFormat.compact(sloMilliseconds)) ms"
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
