import Foundation
import KubeClient

/// Rate-limits repeated log lines per subject and reason: the first line of a (subject, reason, message)
/// is written at once, repeats within `interval` are counted instead, and the next line written after the
/// interval says how many were suppressed. A new message for the same subject and reason is written at once
/// (the situation changed). Messages are compared with URL query strings removed, so a watch URL's random
/// `timeoutSeconds` does not make every failure look new.
///
/// Thread-safe; the clock is passed in.
public final class LogThrottle: Sendable {
    /// What to do with one line.
    public enum Verdict: Sendable, Equatable {
        /// Write it; `suppressed` repeats were dropped since the last written line of this subject and reason.
        case write(suppressed: Int)
        /// Drop it (counted).
        case suppress
    }

    public let interval: TimeInterval
    /// Entries idle for longer than this are forgotten (bounded memory with many subjects).
    public let retention: TimeInterval
    private struct Entry {
        var message: String
        var lastWritten: Date
        var lastSeen: Date
        var suppressed: Int
    }
    private let entries = Locked<(map: [String: Entry], lastPrune: Date)>(([:], .distantPast))

    public init(interval: TimeInterval = 300, retention: TimeInterval = 3600) {
        self.interval = interval
        self.retention = max(interval, retention)
    }

    /// Decides whether the line `message` about `subject` (e.g. a PodAutoscaler key) with `reason` is written.
    public func check(subject: String, reason: String, message: String, now: Date) -> Verdict {
        let key = subject + "\u{1F}" + reason
        let normalized = Self.normalized(message)
        return entries.withLock { state -> Verdict in
            if now.timeIntervalSince(state.lastPrune) > retention {
                state.map = state.map.filter { now.timeIntervalSince($0.value.lastSeen) <= retention }
                state.lastPrune = now
            }
            guard var e = state.map[key], e.message == normalized else {
                let suppressed = state.map[key]?.suppressed ?? 0
                state.map[key] = Entry(message: normalized, lastWritten: now, lastSeen: now, suppressed: 0)
                return .write(suppressed: suppressed)
            }
            e.lastSeen = now
            if now.timeIntervalSince(e.lastWritten) >= interval {
                let suppressed = e.suppressed
                e.lastWritten = now
                e.suppressed = 0
                state.map[key] = e
                return .write(suppressed: suppressed)
            }
            e.suppressed += 1
            state.map[key] = e
            return .suppress
        }
    }

    /// Forgets `subject` (it was deleted), so a re-created object logs afresh.
    public func forget(subject: String) {
        let prefix = subject + "\u{1F}"
        entries.withLock { state in state.map = state.map.filter { !$0.key.hasPrefix(prefix) } }
    }

    /// How many subjects and reasons are remembered (for tests).
    public var count: Int { entries.withLock { $0.map.count } }

    /// `message` with the query string of every URL removed (`http://h/p?watch=true&timeoutSeconds=437` →
    /// `http://h/p`).
    public static func normalized(_ message: String) -> String {
        guard message.contains("?") else { return message }
        return message.replacing(#/(https?://[^\s"'?]*)\?[^\s"')]*/#) { String($0.1) }
    }
}
