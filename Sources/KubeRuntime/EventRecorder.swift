import Foundation
import KubeClient
import YAML

/// The object an event is about.
public struct EventSubject: Hashable, Sendable {
    public var apiVersion: String
    public var kind: String
    public var namespace: String
    public var name: String
    public var uid: String?
    public init(apiVersion: String, kind: String, namespace: String, name: String, uid: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }

    var reference: JSONValue {
        var r: JSONValue = ["apiVersion": .string(apiVersion), "kind": .string(kind), "namespace": .string(namespace), "name": .string(name)]
        if let uid { r["uid"] = .string(uid) }
        return r
    }
}

/// Records Kubernetes events like client-go's recorder: events.k8s.io/v1 (falling back to core/v1 when the
/// server lacks it), the same event repeated within `seriesWindow` becomes a series (count and last seen
/// time updated in place instead of a new object), and a per-object token bucket stops event storms.
public actor EventRecorder<C: Clock> where C.Duration == Duration {
    public enum EventType: String, Sendable { case normal = "Normal", warning = "Warning" }

    private struct Key: Hashable {
        var subject: EventSubject
        var type: String
        var reason: String
        var action: String
        var note: String
    }

    private struct Seen {
        var name: String
        var count: Int
        var lastSeen: C.Instant
        var lastPatch: C.Instant
        var useCoreV1: Bool
    }

    private let client: RESTClient
    private let clock: C
    private let wallClock: @Sendable () -> Date
    public let controller: String
    public let instance: String
    public let seriesWindow: Duration
    private let spamBurst: Double
    private let spamRefill: Duration
    private var seen: [Key: Seen] = [:]
    private var buckets: [EventSubject: (tokens: Double, at: C.Instant)] = [:]
    private var coreV1Only = false
    private var lastPrune: C.Instant?
    /// A series is written to the server at most this often.
    public let seriesPatchInterval: Duration
    private var counter = 0

    /// Events written, and events dropped by the spam filter (for tests and metrics).
    public private(set) var written = 0
    public private(set) var dropped = 0

    public init(client: RESTClient, controller: String = "heteroscale.io/controller", instance: String,
                clock: C, wallClock: @escaping @Sendable () -> Date = { Date() },
                seriesWindow: Duration = .seconds(360), seriesPatchInterval: Duration = .seconds(30),
                spamBurst: Int = 25, spamRefill: Duration = .seconds(300)) {
        self.seriesPatchInterval = seriesPatchInterval
        self.client = client
        self.controller = controller
        self.instance = instance
        self.clock = clock
        self.wallClock = wallClock
        self.seriesWindow = seriesWindow
        self.spamBurst = Double(spamBurst)
        self.spamRefill = spamRefill
    }

    /// Records an event; failures to write are swallowed (events are best effort) and returned as `false`.
    @discardableResult
    public func record(_ subject: EventSubject, type: EventType, reason: String, action: String, note: String) async -> Bool {
        let key = Key(subject: subject, type: type.rawValue, reason: reason, action: action, note: String(note.prefix(1024)))
        let now = clock.now
        prune(now)
        // A repeat joins its series first: repeats cost no spam-filter tokens (so a warning repeated on every
        // tick cannot crowd out the next new event), and the series is written at most every
        // `seriesPatchInterval` (the count is kept here meanwhile).
        if var s = seen[key], s.lastSeen.duration(to: now) < seriesWindow {
            s.count += 1
            s.lastSeen = now
            guard s.lastPatch.duration(to: now) >= seriesPatchInterval else {
                seen[key] = s
                return true
            }
            let ok = await updateSeries(s, subject: subject)
            if ok {
                s.lastPatch = now
                written += 1
            }
            seen[key] = s
            return ok
        }
        guard allow(subject) else {
            dropped += 1
            return false
        }
        counter += 1
        let name = "\(subject.name).\(String(UInt64(wallClock().timeIntervalSince1970 * 1e9), radix: 16))\(counter)"
        let useCore = coreV1Only
        let ok = await create(name: name, key: key, coreV1: useCore)
        if ok {
            seen[key] = Seen(name: name, count: 1, lastSeen: now, lastPatch: now, useCoreV1: coreV1Only)
            written += 1
        }
        return ok
    }

    /// Forgets series that ended (no repeat within `seriesWindow`) and spam buckets that are full again, so
    /// memory follows the objects that are active, not every object ever seen.
    private func prune(_ now: C.Instant) {
        guard lastPrune.map({ $0.duration(to: now) >= .seconds(60) }) ?? true else { return }
        lastPrune = now
        seen = seen.filter { $0.value.lastSeen.duration(to: now) < seriesWindow }
        buckets = buckets.filter { b in
            b.value.tokens + b.value.at.duration(to: now).seconds / spamRefill.seconds < spamBurst
        }
    }

    private func allow(_ subject: EventSubject) -> Bool {
        let now = clock.now
        var b = buckets[subject] ?? (spamBurst, now)
        let refill = b.at.duration(to: now).seconds / spamRefill.seconds
        b.tokens = min(spamBurst, b.tokens + refill)
        b.at = now
        guard b.tokens >= 1 else {
            buckets[subject] = b
            return false
        }
        b.tokens -= 1
        buckets[subject] = b
        return true
    }

    private func create(name: String, key: Key, coreV1: Bool) async -> Bool {
        let now = wallClock()
        let stamp = RFC3339.format(now, fractionDigits: 6)
        if !coreV1 {
            let event: JSONValue = [
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": ["name": .string(name), "namespace": .string(key.subject.namespace)],
                "eventTime": .string(stamp),
                "reportingController": .string(controller), "reportingInstance": .string(instance),
                "action": .string(key.action), "reason": .string(key.reason), "type": .string(key.type),
                "note": .string(key.note), "regarding": key.subject.reference,
            ]
            do {
                _ = try await client.create(.events, namespace: key.subject.namespace, event)
                return true
            } catch let e as KubeAPIError where e.isNotFound && e.message.contains("the server could not find the requested resource") {
                coreV1Only = true  // no events.k8s.io on this server
            } catch {
                return false
            }
        }
        let seconds = RFC3339.format(now, fractionDigits: 0)
        let event: JSONValue = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(name), "namespace": .string(key.subject.namespace)],
            "involvedObject": key.subject.reference, "reason": .string(key.reason), "message": .string(key.note),
            "type": .string(key.type), "count": 1, "firstTimestamp": .string(seconds), "lastTimestamp": .string(seconds),
            "source": ["component": .string(controller)], "reportingComponent": .string(controller), "reportingInstance": .string(instance),
            "action": .string(key.action),
        ]
        return (try? await client.create(.coreEvents, namespace: key.subject.namespace, event)) != nil
    }

    private func updateSeries(_ s: Seen, subject: EventSubject) async -> Bool {
        let now = wallClock()
        if s.useCoreV1 {
            let patch: JSONValue = ["count": .int(Int64(s.count)), "lastTimestamp": .string(RFC3339.format(now, fractionDigits: 0))]
            return (try? await client.patch(.coreEvents, namespace: subject.namespace, name: s.name, type: .merge, patch)) != nil
        }
        let patch: JSONValue = ["series": ["count": .int(Int64(s.count)), "lastObservedTime": .string(RFC3339.format(now, fractionDigits: 6))]]
        return (try? await client.patch(.events, namespace: subject.namespace, name: s.name, type: .merge, patch)) != nil
    }
}
