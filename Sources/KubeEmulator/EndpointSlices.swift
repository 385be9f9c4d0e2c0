import Foundation
import YAML

/// The EndpointSlice controller stand-in (pkg/controller/endpointslice): for every Service with a selector, one
/// `discovery.k8s.io/v1` EndpointSlice (generateName `<service>-`, labels `kubernetes.io/service-name` and
/// `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, owned by the Service) listing the
/// selected pods that have an IP and are not terminal: `addresses: [podIP]`, `conditions {ready, serving,
/// terminating}` (ready = pod Ready and not terminating, or the Service publishes not-ready addresses; serving =
/// pod Ready), `targetRef`, `nodeName`, `zone` (the node's `topology.kubernetes.io/zone`). Ports are the
/// Service's, with `targetPort` resolved (a named one through the first selected pod's container ports).
extension StoreState {
    static let managedByLabel = "endpointslice.kubernetes.io/managed-by"
    static let endpointSliceController = "endpointslice-controller.k8s.io"
    static let serviceNameLabel = "kubernetes.io/service-name"

    private var sliceDef: ResourceDef? { defs.first { $0.group == "discovery.k8s.io" && $0.plural == "endpointslices" } }
    private var serviceDef: ResourceDef { defs.first { $0.group.isEmpty && $0.plural == "services" }! }

    mutating func syncEndpointSlices() {
        guard let sliceDef else { return }
        let services = (objects[serviceDef.storeKey] ?? [:]).values.sorted {
            StoreState.key($0["metadata"]?["namespace"]?.stringValue, $0["metadata"]?["name"]?.stringValue ?? "")
                < StoreState.key($1["metadata"]?["namespace"]?.stringValue, $1["metadata"]?["name"]?.stringValue ?? "")
        }
        for service in services where service["metadata"]?["deletionTimestamp"] == nil {
            syncEndpointSlice(service, sliceDef)
        }
    }

    private func managedSlices(_ sliceDef: ResourceDef, namespace: String?, service: String) -> [JSONValue] {
        (objects[sliceDef.storeKey] ?? [:]).values.filter { s in
            let labels = s["metadata"]?["labels"]
            return s["metadata"]?["namespace"]?.stringValue == namespace
                && labels?[Self.serviceNameLabel]?.stringValue == service
                && labels?[Self.managedByLabel]?.stringValue == Self.endpointSliceController
        }.sorted { ($0["metadata"]?["name"]?.stringValue ?? "") < ($1["metadata"]?["name"]?.stringValue ?? "") }
    }

    private mutating func syncEndpointSlice(_ service: JSONValue, _ sliceDef: ResourceDef) {
        let meta = service["metadata"]
        let ns = meta?["namespace"]?.stringValue
        let name = meta?["name"]?.stringValue ?? ""
        let existing = managedSlices(sliceDef, namespace: ns, service: name)
        guard let selector = service["spec"]?["selector"]?.objectValue, !selector.isEmpty else {
            for s in existing { _ = try? delete(sliceDef, ns, s["metadata"]?["name"]?.stringValue ?? "", options: nil, dryRun: false) }
            return
        }
        let publishNotReady = service["spec"]?["publishNotReadyAddresses"]?.boolValue == true
        let pods = (objects["pods."] ?? [:]).values.filter { p in
            guard p["metadata"]?["namespace"]?.stringValue == ns, !Self.isTerminal(p),
                  let ip = p["status"]?["podIP"]?.stringValue, !ip.isEmpty else { return false }
            let labels = p["metadata"]?["labels"]?.objectValue ?? JSONObject()
            return selector.allSatisfy { labels[$0.key] == $0.value }
        }.sorted { ($0["metadata"]?["name"]?.stringValue ?? "") < ($1["metadata"]?["name"]?.stringValue ?? "") }
        let endpoints: [JSONValue] = pods.map { p in
            let ready = Self.isReady(p)
            let terminating = p["metadata"]?["deletionTimestamp"] != nil
            var ep: JSONObject = [
                "addresses": [p["status"]?["podIP"] ?? ""],
                "conditions": ["ready": .bool(publishNotReady || (ready && !terminating)), "serving": .bool(ready),
                               "terminating": .bool(terminating)],
                "targetRef": ["kind": "Pod", "namespace": p["metadata"]?["namespace"] ?? "",
                              "name": p["metadata"]?["name"] ?? "", "uid": p["metadata"]?["uid"] ?? ""],
            ]
            if let nodeName = p["spec"]?["nodeName"]?.stringValue, !nodeName.isEmpty {
                ep["nodeName"] = .string(nodeName)
                if let zone = node(named: nodeName)?["metadata"]?["labels"]?["topology.kubernetes.io/zone"]?.stringValue {
                    ep["zone"] = .string(zone)
                }
            }
            return .object(ep)
        }
        let ports: [JSONValue] = (service["spec"]?["ports"]?.arrayValue ?? []).compactMap { sp in
            guard let number = Self.targetPort(sp, pod: pods.first) else { return nil }
            var port: JSONObject = ["name": sp["name"] ?? "", "port": .int(number), "protocol": sp["protocol"] ?? "TCP"]
            if let app = sp["appProtocol"] { port["appProtocol"] = app }
            return .object(port)
        }
        var labels = meta?["labels"]?.objectValue ?? JSONObject()
        labels[Self.serviceNameLabel] = .string(name)
        labels[Self.managedByLabel] = .string(Self.endpointSliceController)
        let owner: JSONValue = ["apiVersion": "v1", "kind": "Service", "name": .string(name), "uid": meta?["uid"] ?? "",
                                "controller": true, "blockOwnerDeletion": true]
        if var slice = existing.first {
            for extra in existing.dropFirst() {
                _ = try? delete(sliceDef, ns, extra["metadata"]?["name"]?.stringValue ?? "", options: nil, dryRun: false)
            }
            let before = slice
            slice["metadata"]?["labels"] = .object(labels)
            slice["endpoints"] = .array(endpoints)
            slice["ports"] = .array(ports)
            guard slice != before else { return }
            _ = try? update(sliceDef, ns, slice["metadata"]?["name"]?.stringValue ?? "", slice, subresource: nil, dryRun: false)
        } else {
            let slice: JSONValue = [
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": ["generateName": .string("\(name)-"), "namespace": .string(ns ?? "default"),
                             "labels": .object(labels), "ownerReferences": [owner]],
                "addressType": "IPv4", "endpoints": .array(endpoints), "ports": .array(ports),
            ]
            _ = try? create(sliceDef, ns, slice, dryRun: false)
        }
    }

    /// `podutil.FindPort`: a numeric `targetPort` (default: `port`), or a named one from the pod's container ports.
    static func targetPort(_ servicePort: JSONValue, pod: JSONValue?) -> Int64? {
        let target = servicePort["targetPort"]
        if let n = target?.intValue, n > 0 { return n }
        if let name = target?.stringValue, !name.isEmpty {
            if let n = Int64(name) { return n }
            for c in pod?["spec"]?["containers"]?.arrayValue ?? [] {
                for p in c["ports"]?.arrayValue ?? [] where p["name"]?.stringValue == name {
                    return p["containerPort"]?.intValue
                }
            }
            return nil
        }
        return servicePort["port"]?.intValue
    }
}
