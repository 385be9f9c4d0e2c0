import Autoscaling
import Foundation
import KubeAPI
import KubeRuntime

/// In-memory strategy state per PodAutoscaler. After a restart (or a change of target) the state is
/// rebuilt conservatively with `AutoscalerState.seeded`: HPA's stabilisation window and KPA's panic mode
/// start at the current replicas, so a restart never causes a scale-down burst.
actor AutoscalerStates {
    private struct Entry {
        var state: AutoscalerState
        var target: String
        /// The last status decided for the object (the cache may still show an older one).
        var lastStatus: PodAutoscalerStatus?
        /// The last status written to the API server, and when.
        var written: (status: PodAutoscalerStatus, time: Date)?
        /// The object's uid: memory never carries over to a new object of the same name.
        var uid = ""
        /// The metric names of the last decision (their gauges exist).
        var metricNames: Set<String> = []
        /// The AIBrix settings reported by the last events (applied and ignored, described).
        var compatibilityReport: [String] = []
    }

    private var entries: [ObjectKey: Entry] = [:]

    /// The state to decide with, seeded from `current` when new or when the target changed.
    func state(for key: ObjectKey, target: String, current: Int, now: Date) -> AutoscalerState {
        if let e = entries[key], e.target == target { return e.state }
        let seeded = AutoscalerState.seeded(currentReplicas: current, now: now)
        if entries[key] == nil { entries[key] = Entry(state: seeded, target: target) }
        entries[key]?.state = seeded
        entries[key]?.target = target
        return seeded
    }

    /// Forgets everything about `key` when it now names another object (deleted and re-created); true then.
    func replaceIfNewObject(_ key: ObjectKey, uid: String) -> Bool {
        guard let e = entries[key] else {
            entries[key] = Entry(state: AutoscalerState(), target: "", uid: uid)
            return false
        }
        guard e.uid != uid else { return false }
        entries[key] = Entry(state: AutoscalerState(), target: "", uid: uid)
        return true
    }

    /// Records the metric names of this decision; returns the ones of the previous decision that are gone.
    func swapMetricNames(_ key: ObjectKey, _ names: Set<String>) -> Set<String> {
        let gone = (entries[key]?.metricNames ?? []).subtracting(names)
        entries[key]?.metricNames = names
        return gone
    }

    /// Records the AIBrix settings report; true when it differs from the last one (events are due).
    func swapCompatibilityReport(_ key: ObjectKey, _ report: [String]) -> Bool {
        if entries[key] == nil { entries[key] = Entry(state: AutoscalerState(), target: "") }
        guard entries[key]?.compatibilityReport != report else { return false }
        entries[key]?.compatibilityReport = report
        return true
    }

    func lastWritten(_ key: ObjectKey) -> (status: PodAutoscalerStatus, time: Date)? { entries[key]?.written }

    func setWritten(_ key: ObjectKey, _ status: PodAutoscalerStatus, at time: Date) {
        entries[key]?.written = (status, time)
        entries[key]?.lastStatus = status
    }

    func save(_ key: ObjectKey, _ state: AutoscalerState) {
        entries[key]?.state = state
    }

    func lastStatus(_ key: ObjectKey) -> PodAutoscalerStatus? { entries[key]?.lastStatus }

    func setLastStatus(_ key: ObjectKey, _ status: PodAutoscalerStatus) {
        if entries[key] == nil { entries[key] = Entry(state: AutoscalerState(), target: "") }
        entries[key]?.lastStatus = status
    }

    /// Forgets the strategy memory but keeps the last written status (an invalid spec resets the state).
    func resetState(_ key: ObjectKey) {
        entries[key]?.target = ""
    }

    func remove(_ key: ObjectKey) { entries[key] = nil }

    var count: Int { entries.count }
}
