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

    /// events.k8s.io/v1 → core/v1 (the field renames of k8s.io/kubernetes/pkg/apis/events/v1 conversion).
    static func coreEvent(from e: JSONValue) -> JSONValue {
        var o: JSONObject = ["apiVersion": "v1", "kind": "Event"]
        o["metadata"] = e["metadata"]
        o["involvedObject"] = e["regarding"]
        o["related"] = e["related"]
        o["reason"] = e["reason"]
        o["message"] = e["note"]
        o["type"] = e["type"]
        o["action"] = e["action"]
        o["eventTime"] = e["eventTime"]
        o["series"] = e["series"]
        o["reportingComponent"] = e["reportingController"]
        o["reportingInstance"] = e["reportingInstance"]
        o["source"] = e["deprecatedSource"]
        o["firstTimestamp"] = e["deprecatedFirstTimestamp"]
        o["lastTimestamp"] = e["deprecatedLastTimestamp"]
        o["count"] = e["deprecatedCount"]
        return .object(o)
    }

    /// core/v1 → events.k8s.io/v1.
    static func eventsEvent(from e: JSONValue) -> JSONValue {
        var o: JSONObject = ["apiVersion": "events.k8s.io/v1", "kind": "Event"]
        o["metadata"] = e["metadata"]
        o["regarding"] = e["involvedObject"]
        o["related"] = e["related"]
        o["reason"] = e["reason"]
        o["note"] = e["message"]
        o["type"] = e["type"]
        o["action"] = e["action"]
        o["eventTime"] = e["eventTime"]
        o["series"] = e["series"]
        o["reportingController"] = e["reportingComponent"]
        o["reportingInstance"] = e["reportingInstance"]
        o["deprecatedSource"] = e["source"]
        o["deprecatedFirstTimestamp"] = e["firstTimestamp"]
        o["deprecatedLastTimestamp"] = e["lastTimestamp"]
        o["deprecatedCount"] = e["count"]
        return .object(o)
    }
}
