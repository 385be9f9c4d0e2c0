import Foundation
import KubeAPI

/// The outcome of a Periodic decision.
public struct PeriodicDecision: Sendable, Hashable {
    public var replicas: Int
    /// The schedule in force, nil outside every window.
    public var active: ActiveSchedule?
    public var reason: String
}

/// The `Periodic` strategy: replicas follow the calendar, not a metric.
/// - Inside a window with fixed `replicas`: that many.
/// - Inside a window with only bounds: the current replicas clamped to them (the window guarantees a floor or a
///   ceiling, nothing else moves the count).
/// - Outside every window: `defaultReplicas` if given, else the PodAutoscaler's `minReplicas`.
/// The result is always clamped to the PodAutoscaler's `[minReplicas, maxReplicas]`, which stay the outer bounds.
/// Stateless; the first matching schedule wins (see `ScheduleEvaluator`).
public struct PeriodicPolicy: Sendable {
    public var schedules: [ScheduleSpec]
    public var minReplicas: Int
    public var maxReplicas: Int
    public var defaultReplicas: Int?

    public init(schedules: [ScheduleSpec], minReplicas: Int, maxReplicas: Int, defaultReplicas: Int? = nil) {
        self.schedules = schedules
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.defaultReplicas = defaultReplicas
    }

    /// `ScheduleEvaluator.validate` plus: at least one schedule.
    public func validate(path: String = "spec.schedules") -> [StrategySpecIssue] {
        var issues = ScheduleEvaluator.validate(schedules, path: path)
        if schedules.isEmpty {
            issues.insert(StrategySpecIssue(field: path, message: "the Periodic strategy needs at least one schedule"), at: 0)
        }
        return issues
    }

    public func decide(currentReplicas: Int, now: Date) -> PeriodicDecision {
        let lo = max(0, minReplicas)
        let hi = max(lo, maxReplicas)
        func clampText(_ r: Int) -> (Int, String) {
            let c = min(max(r, lo), hi)
            if c > r { return (c, " (raised to minReplicas \(lo))") }
            if c < r { return (c, " (capped at maxReplicas \(hi))") }
            return (c, "")
        }
        guard let active = ScheduleEvaluator.active(schedules, at: now) else {
            let base = defaultReplicas ?? lo
            let (r, note) = clampText(base)
            let source = defaultReplicas == nil ? "minReplicas" : "default replicas"
            return PeriodicDecision(replicas: r, active: nil, reason: "Periodic: no schedule active → \(source) \(base)\(note) → \(r)")
        }
        let wanted = active.apply(to: currentReplicas)
        let (r, note) = clampText(wanted)
        let what: String
        if let fixed = active.replicas {
            what = "fixed replicas \(fixed)"
        } else {
            let bounds = [active.minReplicas.map { "min \($0)" }, active.maxReplicas.map { "max \($0)" }].compactMap { $0 }
            what = "bounds \(bounds.joined(separator: ", ")) on current \(currentReplicas)"
        }
        return PeriodicDecision(replicas: r, active: active, reason: "Periodic: \(active.label) active → \(what)\(note) → \(r)")
    }
}
