import Foundation
import YAML

/// One watch event as it goes on the wire.
struct WatchEvent: Sendable {
    var type: String
    var object: JSONValue
}

/// What a watch wants to see.
struct WatchFilter: Sendable {
    var def: ResourceDef
    var namespace: String?
    var labels: LabelSelector?
    var fields: FieldSelector?

    func matches(_ storeKey: String, _ object: JSONValue) -> Bool {
        guard storeKey == def.storeKey else { return false }
        if let namespace, object["metadata"]?["namespace"]?.stringValue != namespace { return false }
        if let labels, !labels.matches(object["metadata"]?["labels"]?.objectValue ?? JSONObject()) { return false }
        if let fields, !fields.matches(object) { return false }
        return true
    }
}

/// A registered watcher; `deliver` must not block (it hands events to the connection's event loop).
struct Watcher: Sendable {
    var filter: WatchFilter
    var deliver: @Sendable ([WatchEvent]) -> Void
}

struct HistoryEntry: Sendable {
    var rv: Int64
    var storeKey: String
    var type: String
    var object: JSONValue
}

/// `fieldValidation`: what a write does with fields the schema does not know (metav1 CreateOptions et al.).
enum FieldValidation: String, Sendable {
    case strict = "Strict", warn = "Warn", ignore = "Ignore"
}

/// The part of one API request that writes need: how unknown fields are treated, where the object came from
/// (for the wording of a strict decoding error), and the warnings the response carries.
struct RequestContext: Sendable {
    enum Source: Sendable, Equatable {
        /// Not a client request (the emulator's own writes): unknown fields are pruned silently.
        case none
        /// A POST or PUT body, with the kind and version it declares.
        case body(kind: String, version: String)
        /// A JSON or merge patch; the patched object as JSON once applied.
        case patch(String)
    }

    var fieldValidation: FieldValidation = .ignore
    var source: Source = .none
    var warnings: [String] = []
}

/// The whole in-memory API state; always accessed under the engine's mutex.
struct StoreState: Sendable {
    /// The request being served; the router sets it for a write and resets it afterwards.
    var request = RequestContext()
    var rv: Int64 = 0
    var defs: [ResourceDef] = ResourceDef.builtIns()
    /// storeKey → "namespace/name" → object.
    var objects: [String: [String: JSONValue]] = [:]
    var history: [HistoryEntry] = []
    var historyStart = 0
    /// Events with resourceVersion <= this are no longer in the history (a watch from there gets 410).
    var compactedThrough: Int64 = 0
    var historyLimit: Int
    var watchers: [Int: Watcher] = [:]
    var nextWatcherID = 1
    var now: @Sendable () -> Date
    /// The built-in kubelet, when enabled.
    var kubelet: KubeletOptions?
    var kubeletBusy = false
    var nextPodIP = 0
    /// Creation order of the stored pods, by uid (ties of the 1-second creation timestamps).
    var podSequences: [String: Int] = [:]
    var nextPodSequence = 0
    /// The kubelet stand-in's runtime facts per pod uid (admitted, started, IP).
    var podRuntimes: [String: PodRuntime] = [:]
    /// Runs work on the state later (off the caller's thread); set by the engine.
    var schedule: (@Sendable (Duration, @escaping @Sendable (inout StoreState) -> Void) -> Void)?
    /// How long a deleted namespace stays Terminating before its contents and itself are removed.
    var namespaceTerminationDelay: Duration = .seconds(1)

    init(historyLimit: Int, now: @escaping @Sendable () -> Date) {
        self.historyLimit = max(1, historyLimit)
        self.now = now
    }

    static func key(_ ns: String?, _ name: String) -> String { "\(ns ?? "")/\(name)" }

    func timestamp() -> String { RFC3339.format(now(), fractionDigits: 0) }

    mutating func nextRV() -> Int64 {
        rv += 1
        return rv
    }

    // MARK: resource lookup

    func def(groupVersion: String, plural: String) -> ResourceDef? {
        defs.first { $0.groupVersion == groupVersion && $0.plural == plural }
    }

    func object(_ def: ResourceDef, _ ns: String?, _ name: String) -> JSONValue? {
        objects[def.storeKey]?[Self.key(def.namespaced ? ns : nil, name)]
    }

    // MARK: writes

    /// Stores `object` (already carrying its new resourceVersion) and records/delivers the event.
    mutating func put(_ def: ResourceDef, _ object: JSONValue, type: String) {
        let meta = object["metadata"]
        let key = Self.key(meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? "")
        objects[def.storeKey, default: [:]][key] = object
        record(def.storeKey, type, object)
        mirrorEvent(def, object, type: type)
        kubeletAfterWrite(def, object, type: type)
    }

    mutating func remove(_ def: ResourceDef, _ object: JSONValue) -> JSONValue {
        var obj = object
        let meta = object["metadata"]
        let key = Self.key(meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? "")
        objects[def.storeKey]?[key] = nil
        obj["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        record(def.storeKey, "DELETED", obj)
        mirrorEvent(def, obj, type: "DELETED")
        kubeletAfterWrite(def, obj, type: "DELETED")
        return obj
    }

    mutating func record(_ storeKey: String, _ type: String, _ object: JSONValue) {
        history.append(HistoryEntry(rv: rv, storeKey: storeKey, type: type, object: object))
        if history.count - historyStart > historyLimit {
            compactedThrough = history[historyStart].rv
            historyStart += 1
            if historyStart > 1024 && historyStart * 2 > history.count {
                history.removeFirst(historyStart)
                historyStart = 0
            }
        }
        for w in watchers.values where w.filter.matches(storeKey, object) {
            w.deliver([WatchEvent(type: type, object: object)])
        }
    }

    /// Drops all history: a watch from any earlier resourceVersion gets 410 Expired.
    mutating func compact() {
        compactedThrough = rv
        history.removeAll()
        historyStart = 0
    }

    // MARK: watch

    /// Registers a watcher and returns the events to send first. A resourceVersion older than the history
    /// window throws 410 Expired; none (or "0") starts with synthetic ADDED events for the current state.
    mutating func watch(_ filter: WatchFilter, from rvText: String?,
                        deliver: @escaping @Sendable ([WatchEvent]) -> Void) throws(StatusError) -> (Int, [WatchEvent]) {
        var initial: [WatchEvent] = []
        if let rvText, !rvText.isEmpty, rvText != "0" {
            guard let from = Int64(rvText) else {
                throw StatusError.badRequest("invalid resource version \"\(rvText)\"")
            }
            if from < compactedThrough {
                throw StatusError.expired("too old resource version: \(from) (\(compactedThrough + 1))")
            }
            for e in history[historyStart...] where e.rv > from && filter.matches(e.storeKey, e.object) {
                initial.append(WatchEvent(type: e.type, object: e.object))
            }
        } else {
            for (_, obj) in (objects[filter.def.storeKey] ?? [:]).sorted(by: { $0.key < $1.key })
            where filter.matches(filter.def.storeKey, obj) {
                initial.append(WatchEvent(type: "ADDED", object: obj))
            }
        }
        let id = nextWatcherID
        nextWatcherID += 1
        watchers[id] = Watcher(filter: filter, deliver: deliver)
        return (id, initial)
    }

    mutating func unwatch(_ id: Int) { watchers[id] = nil }

    /// Sends a BOOKMARK with the current resourceVersion to one watcher, in order with its events.
    func bookmark(_ id: Int) {
        guard let w = watchers[id] else { return }
        let obj: JSONValue = ["kind": .string(w.filter.def.kind), "apiVersion": .string(w.filter.def.groupVersion),
                              "metadata": ["resourceVersion": .string(String(rv))]]
        w.deliver([WatchEvent(type: "BOOKMARK", object: obj)])
    }

    /// Ends every watch on the resource (used when its CRD goes away).
    mutating func closeWatches(storeKey: String) {
        for (id, w) in watchers where w.filter.def.storeKey == storeKey {
            w.deliver([])
            watchers[id] = nil
        }
    }
}
