import YAML

/// How a resource's `/scale` subresource maps onto the object (CRD `subresources.scale` semantics).
struct ScaleSpec: Sendable, Hashable {
    var specReplicasPath: String
    var statusReplicasPath: String
    /// `.status.selector`-like path holding the label selector string; for Deployments `nil` means
    /// "serialise `.spec.selector`".
    var labelSelectorPath: String?
}

/// One CRD `additionalPrinterColumns` entry.
struct PrinterColumn: Sendable, Hashable {
    var name: String
    var type: String
    var format: String
    var description: String
    var priority: Int
    var jsonPath: String
}

/// One served resource (a group/version/plural), built in or from a CRD.
struct ResourceDef: Sendable, Hashable {
    var group: String
    var version: String
    var plural: String
    var singular: String
    var kind: String
    var namespaced: Bool
    var shortNames: [String] = []
    var categories: [String] = []
    var hasStatus = false
    var scale: ScaleSpec?
    /// `nil` = the default columns (NAME, AGE).
    var columns: [PrinterColumn]?
    /// `true` for resources served from a CustomResourceDefinition.
    var fromCRD = false
    /// DELETE answers with the deleted object (pods, custom resources) rather than a success Status.
    var returnsDeletedObject = false
    /// The CRD version's `openAPIV3Schema`, for validation and defaulting.
    var schema: JSONValue?
    /// Discovery verbs when not the full set (create-only review resources).
    var verbs: [JSONValue]?

    /// Whether metadata.generation is maintained (as kube-apiserver does for workloads, CRDs and custom resources).
    var tracksGeneration: Bool { fromCRD || ["Deployment", "StatefulSet", "ReplicaSet", "CustomResourceDefinition"].contains(kind) }

    var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// Storage key: one store per group+resource, shared by all versions (no conversion).
    var storeKey: String { "\(plural).\(group)" }
    /// The name used in error messages: `pods`, `deployments.apps`, `podautoscalers.heteroscale.io`.
    var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }

    static let allVerbs: [JSONValue] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    /// The APIResourceList entries for this resource and its subresources.
    func discoveryEntries() -> [JSONValue] {
        var main: JSONObject = [
            "name": .string(plural), "singularName": .string(singular), "namespaced": .bool(namespaced),
            "kind": .string(kind), "verbs": .array(verbs ?? Self.allVerbs),
        ]
        if !shortNames.isEmpty { main["shortNames"] = .array(shortNames.map { .string($0) }) }
        if !categories.isEmpty { main["categories"] = .array(categories.map { .string($0) }) }
        var out: [JSONValue] = [.object(main)]
        if scale != nil {
            out.append([
                "name": .string("\(plural)/scale"), "singularName": "", "namespaced": .bool(namespaced),
                "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
            ])
        }
        if hasStatus {
            out.append([
                "name": .string("\(plural)/status"), "singularName": "", "namespaced": .bool(namespaced),
                "kind": .string(kind), "verbs": ["get", "patch", "update"],
            ])
        }
        return out
    }

    static func builtIns() -> [ResourceDef] {
        [
            ResourceDef(group: "", version: "v1", plural: "namespaces", singular: "namespace", kind: "Namespace",
                        namespaced: false, shortNames: ["ns"], hasStatus: true,
                        columns: [PrinterColumn(name: "Status", type: "string", format: "", description: "", priority: 0, jsonPath: ".status.phase"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
            ResourceDef(group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod", namespaced: true,
                        shortNames: ["po"], categories: ["all"], hasStatus: true,
                        columns: [PrinterColumn(name: "Ready", type: "string", format: "", description: "", priority: 0, jsonPath: "@podReady"), PrinterColumn(name: "Status", type: "string", format: "", description: "", priority: 0, jsonPath: "@podStatus"), PrinterColumn(name: "Restarts", type: "integer", format: "", description: "", priority: 0, jsonPath: "@podRestarts"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp"), PrinterColumn(name: "IP", type: "string", format: "", description: "", priority: 1, jsonPath: ".status.podIP"), PrinterColumn(name: "Node", type: "string", format: "", description: "", priority: 1, jsonPath: ".spec.nodeName")],
                        returnsDeletedObject: true),
            ResourceDef(group: "", version: "v1", plural: "nodes", singular: "node", kind: "Node", namespaced: false,
                        shortNames: ["no"], hasStatus: true,
                        columns: [PrinterColumn(name: "Status", type: "string", format: "", description: "", priority: 0, jsonPath: "@nodeStatus"), PrinterColumn(name: "Roles", type: "string", format: "", description: "", priority: 0, jsonPath: "@nodeRoles"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp"), PrinterColumn(name: "Version", type: "string", format: "", description: "", priority: 0, jsonPath: ".status.nodeInfo.kubeletVersion")]),
            ResourceDef(group: "", version: "v1", plural: "services", singular: "service", kind: "Service",
                        namespaced: true, shortNames: ["svc"], categories: ["all"], hasStatus: true,
                        columns: [PrinterColumn(name: "Type", type: "string", format: "", description: "", priority: 0, jsonPath: ".spec.type"), PrinterColumn(name: "Cluster-IP", type: "string", format: "", description: "", priority: 0, jsonPath: ".spec.clusterIP"), PrinterColumn(name: "External-IP", type: "string", format: "", description: "", priority: 0, jsonPath: "@none"), PrinterColumn(name: "Port(s)", type: "string", format: "", description: "", priority: 0, jsonPath: "@servicePorts"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
            ResourceDef(group: "discovery.k8s.io", version: "v1", plural: "endpointslices", singular: "endpointslice",
                        kind: "EndpointSlice", namespaced: true,
                        columns: [PrinterColumn(name: "AddressType", type: "string", format: "", description: "", priority: 0, jsonPath: ".addressType"), PrinterColumn(name: "Ports", type: "string", format: "", description: "", priority: 0, jsonPath: "@slicePorts"), PrinterColumn(name: "Endpoints", type: "string", format: "", description: "", priority: 0, jsonPath: "@sliceEndpoints"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
            ResourceDef(group: "", version: "v1", plural: "events", singular: "event", kind: "Event",
                        namespaced: true, shortNames: ["ev"],
                        columns: [PrinterColumn(name: "Last Seen", type: "string", format: "", description: "", priority: 0, jsonPath: "@eventLastSeen"), PrinterColumn(name: "Type", type: "string", format: "", description: "", priority: 0, jsonPath: ".type"), PrinterColumn(name: "Reason", type: "string", format: "", description: "", priority: 0, jsonPath: ".reason"),
                                  PrinterColumn(name: "Object", type: "string", format: "", description: "", priority: 0, jsonPath: "@eventObject"), PrinterColumn(name: "Message", type: "string", format: "", description: "", priority: 0, jsonPath: ".message")]),
            ResourceDef(group: "", version: "v1", plural: "configmaps", singular: "configmap", kind: "ConfigMap",
                        namespaced: true, shortNames: ["cm"]),
            ResourceDef(group: "events.k8s.io", version: "v1", plural: "events", singular: "event", kind: "Event",
                        namespaced: true, shortNames: ["ev"]),
            ResourceDef(group: "coordination.k8s.io", version: "v1", plural: "leases", singular: "lease",
                        kind: "Lease", namespaced: true,
                        columns: [PrinterColumn(name: "Holder", type: "string", format: "", description: "", priority: 0, jsonPath: ".spec.holderIdentity"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
            ResourceDef(group: "apps", version: "v1", plural: "deployments", singular: "deployment",
                        kind: "Deployment", namespaced: true, shortNames: ["deploy"], categories: ["all"],
                        hasStatus: true,
                        scale: ScaleSpec(specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas",
                                         labelSelectorPath: nil),
                        columns: [PrinterColumn(name: "Ready", type: "string", format: "", description: "", priority: 0, jsonPath: "@deploymentReady"), PrinterColumn(name: "Up-to-date", type: "integer", format: "", description: "", priority: 0, jsonPath: ".status.updatedReplicas"), PrinterColumn(name: "Available", type: "integer", format: "", description: "", priority: 0, jsonPath: ".status.availableReplicas"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
            ResourceDef(group: "apps", version: "v1", plural: "statefulsets", singular: "statefulset",
                        kind: "StatefulSet", namespaced: true, shortNames: ["sts"], categories: ["all"],
                        hasStatus: true,
                        scale: ScaleSpec(specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas",
                                         labelSelectorPath: nil),
                        columns: [PrinterColumn(name: "Ready", type: "string", format: "", description: "", priority: 0, jsonPath: "@deploymentReady"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
            ResourceDef(group: "apps", version: "v1", plural: "replicasets", singular: "replicaset",
                        kind: "ReplicaSet", namespaced: true, shortNames: ["rs"], categories: ["all"],
                        hasStatus: true,
                        scale: ScaleSpec(specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas",
                                         labelSelectorPath: nil),
                        columns: [PrinterColumn(name: "Desired", type: "integer", format: "", description: "", priority: 0, jsonPath: ".spec.replicas"), PrinterColumn(name: "Current", type: "integer", format: "", description: "", priority: 0, jsonPath: ".status.replicas"), PrinterColumn(name: "Ready", type: "integer", format: "", description: "", priority: 0, jsonPath: ".status.readyReplicas"), PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
            ResourceDef(group: "authorization.k8s.io", version: "v1", plural: "selfsubjectaccessreviews",
                        singular: "selfsubjectaccessreview", kind: "SelfSubjectAccessReview", namespaced: false,
                        verbs: ["create"]),
            ResourceDef(group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
                        singular: "customresourcedefinition", kind: "CustomResourceDefinition", namespaced: false,
                        shortNames: ["crd", "crds"], categories: ["api-extensions"], hasStatus: true,
                        columns: [PrinterColumn(name: "Created At", type: "string", format: "", description: "", priority: 0, jsonPath: ".metadata.creationTimestamp")]),
        ]
    }

    /// The resources a CRD object serves (one per served version); empty when the CRD is malformed.
    static func fromCRD(_ crd: JSONValue) -> [ResourceDef] {
        guard let spec = crd["spec"], let group = spec["group"]?.stringValue,
              let names = spec["names"], let plural = names["plural"]?.stringValue,
              let kind = names["kind"]?.stringValue else { return [] }
        let singular = names["singular"]?.stringValue ?? kind.lowercased()
        let namespaced = spec["scope"]?.stringValue != "Cluster"
        let shortNames = names["shortNames"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let categories = names["categories"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var out: [ResourceDef] = []
        for version in spec["versions"]?.arrayValue ?? [] {
            guard let name = version["name"]?.stringValue, version["served"]?.boolValue ?? true else { continue }
            let sub = version["subresources"] ?? spec["subresources"]
            var scale: ScaleSpec?
            if let s = sub?["scale"], let specPath = s["specReplicasPath"]?.stringValue,
               let statusPath = s["statusReplicasPath"]?.stringValue {
                scale = ScaleSpec(specReplicasPath: specPath, statusReplicasPath: statusPath,
                                  labelSelectorPath: s["labelSelectorPath"]?.stringValue)
            }
            var columns: [PrinterColumn]?
            if let cols = (version["additionalPrinterColumns"] ?? spec["additionalPrinterColumns"])?.arrayValue {
                columns = cols.compactMap { c in
                    guard let n = c["name"]?.stringValue, let p = c["jsonPath"]?.stringValue else { return nil }
                    return PrinterColumn(name: n, type: c["type"]?.stringValue ?? "string",
                                         format: c["format"]?.stringValue ?? "",
                                         description: c["description"]?.stringValue ?? "",
                                         priority: Int(c["priority"]?.intValue ?? 0), jsonPath: p)
                }
            }
            out.append(ResourceDef(group: group, version: name, plural: plural, singular: singular, kind: kind,
                                   namespaced: namespaced, shortNames: shortNames, categories: categories,
                                   hasStatus: sub?["status"] != nil, scale: scale, columns: columns,
                                   fromCRD: true, returnsDeletedObject: true,
                                   schema: (version["schema"] ?? spec["validation"])?["openAPIV3Schema"]))
        }
        return out
    }
}

/// Discovery documents built from the current resource set.
enum Discovery {
    static func version() -> JSONValue {
        [
            "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "heteroscale-emulator",
            "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23",
            "compiler": "gc", "platform": "linux/amd64",
        ]
    }

    static func coreVersions(address: String) -> JSONValue {
        [
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(address)]],
        ]
    }

    /// Group name → versions in first-seen order (the first is preferred).
    static func groups(_ defs: [ResourceDef]) -> [(String, [String])] {
        var order: [String] = []
        var versions: [String: [String]] = [:]
        for d in defs where !d.group.isEmpty {
            if versions[d.group] == nil { order.append(d.group); versions[d.group] = [] }
            if !versions[d.group]!.contains(d.version) { versions[d.group]!.append(d.version) }
        }
        return order.map { ($0, versions[$0]!) }
    }

    static func group(_ name: String, _ versions: [String]) -> JSONValue {
        let vs: [JSONValue] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return ["kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": .array(vs),
                "preferredVersion": vs[0]]
    }

    static func groupList(_ defs: [ResourceDef]) -> JSONValue {
        let gs: [JSONValue] = groups(defs).map { name, versions in
            var g = group(name, versions)
            g["kind"] = nil
            g["apiVersion"] = nil
            return g
        }
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(gs)]
    }

    static func resourceList(_ defs: [ResourceDef], groupVersion: String) -> JSONValue? {
        let matching = defs.filter { $0.groupVersion == groupVersion }
        if matching.isEmpty && groupVersion != "v1" { return nil }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion),
                "resources": .array(matching.flatMap { $0.discoveryEntries() })]
    }

    /// A minimal OpenAPI v3: the root lists every served group version, and each group-version document
    /// declares, per resource, a PATCH operation with its GVK and the `fieldValidation` parameter. That is
    /// what kubectl's query-param verifier looks for; finding it, kubectl leaves field validation to the
    /// server (which accepts and ignores it) and never needs a client-side schema. No schemas are served.
    static func openAPIV3Root(_ defs: [ResourceDef]) -> JSONValue {
        var paths = JSONObject()
        var gvs = ["v1"] + groups(defs).flatMap { g, vs in vs.map { "\(g)/\($0)" } }
        gvs = gvs.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        for gv in gvs {
            let key = gv == "v1" ? "api/v1" : "apis/\(gv)"
            paths[key] = ["serverRelativeURL": .string("/openapi/v3/\(key)?hash=emulator")]
        }
        return ["paths": .object(paths)]
    }

    static func openAPIV3GroupVersion(_ defs: [ResourceDef], groupVersion: String) -> JSONValue? {
        let matching = defs.filter { $0.groupVersion == groupVersion }
        guard !matching.isEmpty else { return nil }
        let param: JSONValue = ["name": "fieldValidation", "in": "query", "schema": ["type": "string", "uniqueItems": true]]
        var paths = JSONObject()
        for d in matching {
            let prefix = d.group.isEmpty ? "/api/v1" : "/apis/\(d.groupVersion)"
            let path = d.namespaced ? "\(prefix)/namespaces/{namespace}/\(d.plural)/{name}" : "\(prefix)/\(d.plural)/{name}"
            let gvk: JSONValue = ["group": .string(d.group), "version": .string(d.version), "kind": .string(d.kind)]
            paths[path] = [
                "patch": [
                    "operationId": .string("patch\(d.kind)"), "parameters": [param],
                    "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                    "responses": ["200": ["description": "OK"]],
                ],
            ]
        }
        return ["openapi": "3.0.0", "info": ["title": "Kubernetes", "version": "v1.32.0"],
                "paths": .object(paths), "components": ["schemas": [:]]]
    }
}
