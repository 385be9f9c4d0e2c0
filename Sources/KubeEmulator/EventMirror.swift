import YAML

// kube-apiserver keeps one storage for events and serves it as core/v1 `Event` and as events.k8s.io/v1
// `Event`, converting field names on the way. The emulator stores each API's objects separately, so a write
// through one API is mirrored, converted, into the other: `kubectl describe` (which reads core/v1 events)
// then shows events that a controller wrote through events.k8s.io/v1, as on a real cluster.

extension StoreState {
    /// After a write of an Event through either API: the converted copy in the other one, same name and
    /// resourceVersion, delivered to that API's watchers.
    mutating func mirrorEvent(_ def: ResourceDef, _ object: JSONValue, type: String) {
        guard def.kind == "Event", def.group.isEmpty || def.group == "events.k8s.io" else { return }
        let toCore = def.group == "events.k8s.io"
        guard let other = defs.first(where: { $0.kind == "Event" && $0.group == (toCore ? "" : "events.k8s.io") }) else { return }
        let converted = toCore ? Self.coreEvent(from: object) : Self.eventsEvent(from: object)
        let meta = object["metadata"]
        let key = Self.key(meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? "")
        if type == "DELETED" {
            objects[other.storeKey]?[key] = nil
        } else {
            objects[other.storeKey, default: [:]][key] = converted
        }
        record(other.storeKey, type, converted)
    }

    /// events.k8s.io/v1 field ↔ core/v1 field (k8s.io/kubernetes/pkg/apis/events/v1 conversion).
    static let eventFieldPairs: [(events: String, core: String)] = [
        ("metadata", "metadata"), ("regarding", "involvedObject"), ("related", "related"), ("reason", "reason"),
        ("note", "message"), ("type", "type"), ("action", "action"), ("eventTime", "eventTime"), ("series", "series"),
        ("reportingController", "reportingComponent"), ("reportingInstance", "reportingInstance"),
        ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"),
    ]

    /// events.k8s.io/v1 → core/v1.
    static func coreEvent(from e: JSONValue) -> JSONValue {
        var o: JSONObject = ["apiVersion": "v1", "kind": "Event"]
        for pair in eventFieldPairs { o[pair.core] = e[pair.events] }
        return .object(o)
    }

    /// core/v1 → events.k8s.io/v1.
    static func eventsEvent(from e: JSONValue) -> JSONValue {
        var o: JSONObject = ["apiVersion": "events.k8s.io/v1", "kind": "Event"]
        for pair in eventFieldPairs { o[pair.events] = e[pair.core] }
        return .object(o)
    }
}
