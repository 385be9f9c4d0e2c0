import Foundation
import YAML

/// `meta.k8s.io/v1 Table` rendering for `kubectl get`.
enum Table {
    static func render(_ def: ResourceDef, list: JSONValue, now: Date) -> JSONValue {
        render(def, objects: list["items"]?.arrayValue ?? [], listMeta: list["metadata"], now: now)
    }

    static func render(_ def: ResourceDef, objects: [JSONValue], listMeta: JSONValue?, now: Date,
                       includeColumns: Bool = true) -> JSONValue {
        let columns = def.columns ?? [PrinterColumn(name: "Age", type: "date", format: "",
                                                    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
                                                    priority: 0, jsonPath: ".metadata.creationTimestamp")]
        var defs: [JSONValue] = [[
            "name": "Name", "type": "string", "format": "name",
            "description": "Name must be unique within a namespace.",
            "priority": .int(def.kind == "Event" && def.group.isEmpty ? 1 : 0),
        ]]
        for c in columns {
            defs.append(["name": .string(c.name), "type": .string(c.type), "format": .string(c.format),
                         "description": .string(c.description), "priority": .int(Int64(c.priority))])
        }
        let rows: [JSONValue] = objects.map { obj in
            var cells: [JSONValue] = [obj["metadata"]?["name"] ?? ""]
            for c in columns {
                var v = cell(c, obj, now: now)
                if v.isNull && !def.fromCRD { v = c.type == "integer" ? .int(0) : "<none>" }
                cells.append(v)
            }
            var partial: JSONObject = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"]
            partial["metadata"] = obj["metadata"] ?? .object([:])
            return ["cells": .array(cells), "object": .object(partial)]
        }
        var meta = JSONObject()
        if let rv = listMeta?["resourceVersion"] { meta["resourceVersion"] = rv }
        if let c = listMeta?["continue"] { meta["continue"] = c }
        if let c = listMeta?["remainingItemCount"] { meta["remainingItemCount"] = c }
        var out: JSONObject = ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(meta)]
        out["columnDefinitions"] = includeColumns ? .array(defs) : .null
        out["rows"] = .array(rows)
        return .object(out)
    }

    private static func cell(_ c: PrinterColumn, _ obj: JSONValue, now: Date) -> JSONValue {
        if c.jsonPath.hasPrefix("@") { return computed(c.jsonPath, obj, now: now) }
        guard let v = JSONOps.get(obj, path: c.jsonPath), !v.isNull else { return .null }
        switch c.type {
        case "date":
            guard let s = v.stringValue, let d = RFC3339.parse(s) else { return .null }
            return .string(humanDuration(now.timeIntervalSince(d)))
        case "integer":
            if let i = v.intValue { return .int(i) }
            return v
        case "number":
            return v
        case "boolean":
            return v
        default:
            switch v {
            case .string: return v
            case .int(let i): return .string(String(i))
            case .double(let d): return .string(String(d))
            case .bool(let b): return .string(String(b))
            default:
                return .string((try? v.jsonBytes()).map { String(decoding: $0, as: UTF8.self) } ?? "")
            }
        }
    }

    /// Cells of the built-in kinds' columns that are not a plain path.
    private static func computed(_ name: String, _ obj: JSONValue, now: Date) -> JSONValue {
        let status = obj["status"]
        switch name {
        case "@deploymentReady":
            return .string("\(status?["readyReplicas"]?.intValue ?? 0)/\(obj["spec"]?["replicas"]?.intValue ?? 0)")
        case "@podReady":
            let statuses = status?["containerStatuses"]?.arrayValue ?? []
            let total = max(statuses.count, obj["spec"]?["containers"]?.arrayValue?.count ?? 0)
            return .string("\(statuses.filter { $0["ready"]?.boolValue == true }.count)/\(total)")
        case "@podStatus":
            if obj["metadata"]?["deletionTimestamp"] != nil { return "Terminating" }
            return status?["reason"] ?? status?["phase"] ?? "Unknown"
        case "@podRestarts":
            return .int((status?["containerStatuses"]?.arrayValue ?? []).reduce(0) { $0 + ($1["restartCount"]?.intValue ?? 0) })
        case "@nodeStatus":
            let ready = status?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }
            var s = ready?["status"]?.stringValue == "True" ? "Ready" : (ready == nil ? "Unknown" : "NotReady")
            if obj["spec"]?["unschedulable"]?.boolValue == true { s += ",SchedulingDisabled" }
            return .string(s)
        case "@nodeRoles":
            // kubectl's findNodeRoles: node-role.kubernetes.io/ROLE labels and kubernetes.io/role.
            var roles = Set<String>()
            for e in obj["metadata"]?["labels"]?.objectValue ?? JSONObject() {
                if e.key.hasPrefix("node-role.kubernetes.io/") {
                    let role = String(e.key.dropFirst("node-role.kubernetes.io/".count))
                    if !role.isEmpty { roles.insert(role) }
                } else if e.key == "kubernetes.io/role", let v = e.value.stringValue, !v.isEmpty {
                    roles.insert(v)
                }
            }
            return roles.isEmpty ? "<none>" : .string(roles.sorted().joined(separator: ","))
        case "@slicePorts":
            // kubectl's formatDiscoveryPorts: up to three port numbers, then "+ N more...".
            let ports = obj["ports"]?.arrayValue ?? []
            if ports.isEmpty { return "<unset>" }
            let shown = ports.prefix(3).map { p in p["port"]?.intValue.map(String.init) ?? p["name"]?.stringValue ?? "*" }
            return .string(shown.joined(separator: ",") + (ports.count > 3 ? " + \(ports.count - 3) more..." : ""))
        case "@sliceEndpoints":
            // kubectl's formatDiscoveryEndpoints: up to three addresses, then "+ N more...".
            let addresses = (obj["endpoints"]?.arrayValue ?? []).flatMap { $0["addresses"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            if addresses.isEmpty { return "<unset>" }
            return .string(addresses.prefix(3).joined(separator: ",") + (addresses.count > 3 ? " + \(addresses.count - 3) more..." : ""))
        case "@servicePorts":
            let ports = obj["spec"]?["ports"]?.arrayValue ?? []
            if ports.isEmpty { return "<none>" }
            return .string(ports.map { p in
                let port = p["port"]?.intValue.map(String.init) ?? "?"
                let node = p["nodePort"]?.intValue.map { ":\($0)" } ?? ""
                return "\(port)\(node)/\(p["protocol"]?.stringValue ?? "TCP")"
            }.joined(separator: ","))
        case "@eventLastSeen":
            let ts = obj["lastTimestamp"]?.stringValue ?? obj["eventTime"]?.stringValue
                ?? obj["metadata"]?["creationTimestamp"]?.stringValue
            guard let ts, let d = RFC3339.parse(ts) else { return "<unknown>" }
            return .string(humanDuration(now.timeIntervalSince(d)))
        case "@eventObject":
            let o = obj["involvedObject"] ?? obj["regarding"]
            return .string("\(o?["kind"]?.stringValue?.lowercased() ?? "")/\(o?["name"]?.stringValue ?? "")")
        default:
            return "<none>"
        }
    }

    /// k8s.io/apimachinery/pkg/util/duration.HumanDuration.
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 60 * 2 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 60 * 3 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let dy = (hours / 24) % 365
            return dy == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(dy)d"
        }
        return "\(hours / 24 / 365)y"
    }
}
