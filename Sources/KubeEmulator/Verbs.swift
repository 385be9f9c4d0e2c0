import Foundation
import YAML

/// Kubernetes verb semantics over the store.
extension StoreState {
    private static let nameAlphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    func namespaceExists(_ ns: String) -> Bool {
        objects["namespaces."]?[Self.key(nil, ns)] != nil
    }

    // MARK: read

    func get(_ def: ResourceDef, _ ns: String?, _ name: String) throws(StatusError) -> JSONValue {
        guard let o = object(def, ns, name) else { throw StatusError.notFound(def, name) }
        return o
    }

    func list(_ def: ResourceDef, _ ns: String?, labels: LabelSelector?, fields: FieldSelector?,
              limit: Int?, continueToken: String?) throws(StatusError) -> JSONValue {
        let filter = WatchFilter(def: def, namespace: def.namespaced ? ns : nil, labels: labels, fields: fields)
        var start = ""
        if let continueToken, !continueToken.isEmpty {
            guard let data = Data(base64Encoded: continueToken), let tok = try? JSONValue.parseJSON(Array(data)),
                  let s = tok["start"]?.stringValue else {
                throw StatusError.badRequest("invalid continue token")
            }
            start = s
        }
        let all = (objects[def.storeKey] ?? [:]).sorted { $0.key < $1.key }
        var items: [JSONValue] = []
        var meta: JSONObject = ["resourceVersion": .string(String(rv))]
        var remaining = 0
        var lastKey = ""
        for (key, obj) in all where key > start && filter.matches(def.storeKey, obj) {
            if let limit, limit > 0, items.count >= limit {
                remaining += 1
                continue
            }
            items.append(obj)
            lastKey = key
        }
        if remaining > 0 {
            let tok: JSONValue = ["v": "meta.k8s.io/v1", "rv": .int(rv), "start": .string(lastKey + "\u{0}")]
            meta["continue"] = .string(Data((try? tok.jsonBytes()) ?? []).base64EncodedString())
            meta["remainingItemCount"] = .int(Int64(remaining))
        }
        return ["kind": .string(def.kind + "List"), "apiVersion": .string(def.groupVersion),
                "metadata": .object(meta), "items": .array(items)]
    }

    // MARK: create

    mutating func create(_ def: ResourceDef, _ ns: String?, _ body: JSONValue, dryRun: Bool) throws(StatusError) -> JSONValue {
        guard case .object = body else { throw StatusError.badRequest("the body of the request must be a JSON object") }
        var obj = body
        var meta = obj["metadata"]?.objectValue ?? JSONObject()
        var name = meta["name"]?.stringValue ?? ""
        if name.isEmpty, let prefix = meta["generateName"]?.stringValue, !prefix.isEmpty {
            repeat {
                name = prefix + String((0..<5).map { _ in Self.nameAlphabet.randomElement()! })
            } while object(def, ns, name) != nil
        }
        if name.isEmpty {
            throw StatusError.invalid(def, "", [.required("metadata.name", "name or generateName is required")])
        }
        if def.namespaced {
            let bodyNS = meta["namespace"]?.stringValue ?? ""
            guard let ns, !ns.isEmpty else { throw StatusError.badRequest("a namespace is required for \(def.qualifiedName)") }
            if !bodyNS.isEmpty && bodyNS != ns {
                throw StatusError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            guard let nsObj = objects["namespaces."]?[Self.key(nil, ns)] else { throw StatusError.namespaceNotFound(ns) }
            if nsObj["metadata"]?["deletionTimestamp"] != nil {
                throw StatusError(code: 403, reason: "Forbidden",
                                  message: "\(def.qualifiedName) \"\(name)\" is forbidden: unable to create new content in namespace \(ns) because it is being terminated",
                                  details: StatusError.details(def, name: name))
            }
            meta["namespace"] = .string(ns)
        } else {
            meta["namespace"] = nil
        }
        if object(def, ns, name) != nil { throw StatusError.alreadyExists(def, name) }
        meta["name"] = .string(name)
        meta["uid"] = .string(UUID().uuidString.lowercased())
        meta["generation"] = def.tracksGeneration ? .int(1) : nil
        meta["creationTimestamp"] = .string(timestamp())
        meta["deletionTimestamp"] = nil
        meta["resourceVersion"] = nil
        var ordered: JSONObject = ["apiVersion": .string(def.groupVersion), "kind": .string(def.kind)]
        for e in obj.objectValue ?? JSONObject() where e.key != "apiVersion" && e.key != "kind" {
            ordered[e.key] = e.value
        }
        obj = .object(ordered)
        obj["metadata"] = .object(meta)
        try decodeCustom(def, &obj, name: name)
        if def.hasStatus { obj["status"] = nil }
        try applyDefaults(def, &obj)
        try validateCustom(def, &obj, name: name)
        if def.kind == "CustomResourceDefinition" && def.group == "apiextensions.k8s.io" {
            let errors = CRDValidation.validate(obj)
            if !errors.isEmpty { throw StatusError.invalid(def, name, errors) }
        }
        if dryRun { return obj }
        obj["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(def, obj, type: "ADDED")
        if def.kind == "CustomResourceDefinition" { registerCRD(obj) }
        return obj
    }

    /// Built-in defaulting the emulator knows about.
    private mutating func applyDefaults(_ def: ResourceDef, _ obj: inout JSONValue) throws(StatusError) {
        switch (def.group, def.kind) {
        case ("", "Namespace"):
            obj["status"] = ["phase": "Active"]
            var labels = obj["metadata"]?["labels"]?.objectValue ?? JSONObject()
            labels["kubernetes.io/metadata.name"] = obj["metadata"]?["name"]
            obj["metadata"]?["labels"] = .object(labels)
        case ("", "Pod"):
            obj["status"] = ["phase": "Pending", "qosClass": "BestEffort"]
        case ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet"):
            if obj["spec"]?["replicas"] == nil { JSONOps.set(&obj, path: ".spec.replicas", to: 1) }
        case ("apiextensions.k8s.io", "CustomResourceDefinition"):
            let names = obj["spec"]?["names"] ?? .object([:])
            var accepted = names
            if accepted["singular"] == nil, let kind = names["kind"]?.stringValue {
                accepted["singular"] = .string(kind.lowercased())
            }
            if accepted["listKind"] == nil, let kind = names["kind"]?.stringValue { accepted["listKind"] = .string(kind + "List") }
            if obj["spec"]?["conversion"] == nil { obj["spec"]?["conversion"] = ["strategy": "None"] }
            let ts = JSONValue.string(timestamp())
            let versions = obj["spec"]?["versions"]?.arrayValue ?? []
            let stored = versions.filter { $0["storage"]?.boolValue == true }.compactMap { $0["name"] }
            obj["status"] = [
                "conditions": [
                    ["type": "NamesAccepted", "status": "True", "lastTransitionTime": ts, "reason": "NoConflicts",
                     "message": "no conflicts found"],
                    ["type": "Established", "status": "True", "lastTransitionTime": ts, "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted"],
                ],
                "acceptedNames": accepted, "storedVersions": .array(stored),
            ]
            var spec = obj["spec"] ?? .object([:])
            spec["names"] = accepted
            obj["spec"] = spec
        default: break
        }
    }

    /// Decoding a custom resource from a request: fields its structural schema does not specify are pruned, and
    /// reported as the request's `fieldValidation` directive says (apiextensions-apiserver `schemaCoercingDecoder`:
    /// `unknown field "spec.x"`). Strict: a create or update fails with 400 as the handlers' `transformDecodeError`
    /// words it, a patch with 422 on the `patch` field (k8s.io/apiserver pkg/endpoints/handlers/patch.go); Warn:
    /// one warning per field; Ignore: silently.
    private mutating func decodeCustom(_ def: ResourceDef, _ obj: inout JSONValue, name: String) throws(StatusError) {
        guard def.fromCRD, let schema = def.schema else { return }
        let unknown = SchemaPruning.prune(&obj, schema: schema).map { "unknown field \(GoFormat.quote($0))" }
        guard !unknown.isEmpty else { return }
        switch request.fieldValidation {
        case .ignore:
            return
        case .warn:
            request.warnings += unknown
        case .strict:
            let strict = "strict decoding error: " + unknown.joined(separator: ", ")
            switch request.source {
            case .patch(let patched):
                throw StatusError.invalid(kind: "", group: "", "", [.invalid("patch", .string(patched), strict)])
            case .body(let kind, let version):
                throw StatusError.badRequest("\(kind) in version \(GoFormat.quote(version)) cannot be handled as a \(def.kind): \(strict)")
            case .none:
                request.warnings += unknown
            }
        }
    }

    /// Defaults and validates a custom resource against its CRD schema (422 Invalid with causes).
    private func validateCustom(_ def: ResourceDef, _ obj: inout JSONValue, name: String) throws(StatusError) {
        guard def.fromCRD, let schema = def.schema else { return }
        SchemaPruning.applyDefaults(&obj, schema: schema)
        var errors: [FieldError] = []
        if !name.isEmpty {
            errors += NameRules.dns1123Subdomain(name).map { .invalid("metadata.name", .string(name), $0) }
        }
        errors += SchemaValidation.validate(obj, schema: schema)
        if !errors.isEmpty { throw StatusError.invalid(def, name, errors) }
    }

    mutating func registerCRD(_ crd: JSONValue) {
        let new = ResourceDef.fromCRD(crd)
        guard let first = new.first else { return }
        defs.removeAll { $0.fromCRD && $0.storeKey == first.storeKey }
        defs.append(contentsOf: new)
    }

    // MARK: update

    /// PUT semantics. `subresource` is nil or "status".
    mutating func update(_ def: ResourceDef, _ ns: String?, _ name: String, _ body: JSONValue, subresource: String?,
                         dryRun: Bool) throws(StatusError) -> JSONValue {
        guard case .object = body else { throw StatusError.badRequest("the body of the request must be a JSON object") }
        guard let old = object(def, ns, name) else { throw StatusError.notFound(def, name) }
        let bodyName = body["metadata"]?["name"]?.stringValue ?? ""
        if bodyName != name {
            throw StatusError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if let want = body["metadata"]?["resourceVersion"]?.stringValue, !want.isEmpty,
           want != old["metadata"]?["resourceVersion"]?.stringValue {
            throw StatusError.conflict(def, name)
        }
        var decoded = body
        try decodeCustom(def, &decoded, name: name)
        var new: JSONValue
        if subresource == "status" {
            new = old
            new["status"] = decoded["status"]
        } else {
            new = decoded
            new["apiVersion"] = .string(def.groupVersion)
            new["kind"] = .string(def.kind)
            if def.hasStatus { new["status"] = old["status"] }
            for k in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "generation"] {
                new["metadata"]?[k] = old["metadata"]?[k]
            }
            if def.kind == "CustomResourceDefinition" {
                try applyDefaults(def, &new)
                new["status"] = old["status"]
                let errors = CRDValidation.validate(new)
                if !errors.isEmpty { throw StatusError.invalid(def, name, errors) }
            }
        }
        new["metadata"]?["resourceVersion"] = old["metadata"]?["resourceVersion"]
        try validateCustom(def, &new, name: name)
        if new == old { return old }
        if def.tracksGeneration && Self.specPart(new) != Self.specPart(old) {
            new["metadata"]?["generation"] = .int((old["metadata"]?["generation"]?.intValue ?? 1) + 1)
        }
        if dryRun { return new }
        let finalizers = new["metadata"]?["finalizers"]?.arrayValue ?? []
        if new["metadata"]?["deletionTimestamp"] != nil && finalizers.isEmpty {
            return finishDelete(def, new)
        }
        new["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(def, new, type: "MODIFIED")
        if def.kind == "CustomResourceDefinition" { registerCRD(new) }
        return new
    }

    /// Everything except metadata and status: a change here bumps metadata.generation.
    static func specPart(_ o: JSONValue) -> JSONValue {
        var x = o
        x["metadata"] = nil
        x["status"] = nil
        return x
    }

    // MARK: patch

    mutating func patch(_ def: ResourceDef, _ ns: String?, _ name: String, contentType: String, body: [UInt8],
                        subresource: String?, dryRun: Bool) throws(StatusError) -> JSONValue {
        let type = contentType.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        if def.fromCRD && type == "application/strategic-merge-patch+json" {
            // apiextensions-apiserver serves custom resources with JSON, merge and apply patches only.
            throw StatusError.unsupportedPatchType(accepted: ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"])
        }
        let patchDoc: JSONValue
        do {
            patchDoc = type == "application/apply-patch+yaml" ? try YAML.load(body) : try JSONValue.parseJSON(body)
        } catch {
            throw StatusError.badRequest("error decoding patch: \(error)")
        }
        guard let existing = object(def, ns, name) else {
            if type == "application/apply-patch+yaml" && subresource == nil {
                request.source = .none
                var obj = patchDoc
                obj["metadata"]?["name"] = .string(name)
                return try create(def, ns, obj, dryRun: dryRun)
            }
            throw StatusError.notFound(def, name)
        }
        let base = subresource == "scale" ? scale(def, existing) : existing
        var patched: JSONValue
        switch type {
        case "application/merge-patch+json", "application/apply-patch+yaml":
            // Server-side apply is a merge patch here; its unknown fields are pruned with warnings only.
            if type == "application/apply-patch+yaml" { request.source = .none }
            patched = JSONOps.mergePatch(base, patchDoc)
        case "application/strategic-merge-patch+json":
            patched = JSONOps.strategicMergePatch(base, patchDoc)
        case "application/json-patch+json":
            do { patched = try JSONOps.jsonPatch(base, patchDoc) } catch {
                throw StatusError(code: 422, reason: "Invalid", message: (error as? JSONOps.PatchError)?.message ?? "\(error)", details: nil)
            }
        default:
            throw StatusError.unsupportedMediaType(type)
        }
        if subresource == "scale" { return try updateScale(def, ns, name, patched, dryRun: dryRun) }
        if case .patch = request.source {
            request.source = .patch((try? GoFormat.sortedKeys(patched).jsonString()) ?? "")
        }
        return try update(def, ns, name, patched, subresource: subresource, dryRun: dryRun)
    }

    // MARK: scale

    func scale(_ def: ResourceDef, _ obj: JSONValue) -> JSONValue {
        let spec = def.scale!
        let meta = obj["metadata"] ?? .object([:])
        var m = JSONObject()
        for k in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] { m[k] = meta[k] }
        var status: JSONObject = ["replicas": .int(JSONOps.get(obj, path: spec.statusReplicasPath)?.intValue ?? 0)]
        if let path = spec.labelSelectorPath {
            if let sel = JSONOps.get(obj, path: path)?.stringValue { status["selector"] = .string(sel) }
        } else if let sel = obj["spec"]?["selector"] {
            status["selector"] = .string(LabelSelector(object: sel).string)
        }
        return ["kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": .object(m),
                "spec": ["replicas": .int(JSONOps.get(obj, path: spec.specReplicasPath)?.intValue ?? 0)],
                "status": .object(status)]
    }

    mutating func updateScale(_ def: ResourceDef, _ ns: String?, _ name: String, _ body: JSONValue,
                              dryRun: Bool) throws(StatusError) -> JSONValue {
        guard let spec = def.scale else { throw StatusError.pathNotFound }
        guard var obj = object(def, ns, name) else { throw StatusError.notFound(def, name) }
        if let bodyName = body["metadata"]?["name"]?.stringValue, bodyName != name {
            throw StatusError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        guard let replicas = body["spec"]?["replicas"]?.intValue, replicas >= 0 else {
            throw StatusError.invalid(kind: "Scale", group: "autoscaling", name,
                                      [.invalid("spec.replicas", body["spec"]?["replicas"] ?? .null, "must be greater than or equal to 0")])
        }
        if let want = body["metadata"]?["resourceVersion"]?.stringValue, !want.isEmpty {
            obj["metadata"]?["resourceVersion"] = .string(want)
        }
        JSONOps.set(&obj, path: spec.specReplicasPath, to: .int(replicas))
        return scale(def, try update(def, ns, name, obj, subresource: nil, dryRun: dryRun))
    }

    // MARK: delete

    mutating func delete(_ def: ResourceDef, _ ns: String?, _ name: String, options: JSONValue?,
                         dryRun: Bool) throws(StatusError) -> JSONValue {
        guard var obj = object(def, ns, name) else { throw StatusError.notFound(def, name) }
        let meta = obj["metadata"]
        if let pre = options?["preconditions"] {
            if let uid = pre["uid"]?.stringValue, uid != meta?["uid"]?.stringValue {
                throw StatusError.conflict(def, name, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(meta?["uid"]?.stringValue ?? "")")
            }
            if let want = pre["resourceVersion"]?.stringValue, want != meta?["resourceVersion"]?.stringValue {
                throw StatusError.conflict(def, name, "Precondition failed: ResourceVersion in precondition: \(want), ResourceVersion in object meta: \(meta?["resourceVersion"]?.stringValue ?? "")")
            }
        }
        if dryRun { return obj }
        if def.group.isEmpty && def.kind == "Namespace" {
            guard meta?["deletionTimestamp"] == nil else { return obj }
            obj["metadata"]?["deletionTimestamp"] = .string(timestamp())
            obj["status"] = ["phase": "Terminating"]
            obj["metadata"]?["resourceVersion"] = .string(String(nextRV()))
            put(def, obj, type: "MODIFIED")
            schedule?(namespaceTerminationDelay) { $0.finishNamespace(name) }
            return obj
        }
        if !(meta?["finalizers"]?.arrayValue ?? []).isEmpty {
            if meta?["deletionTimestamp"] == nil {
                obj["metadata"]?["deletionTimestamp"] = .string(timestamp())
                obj["metadata"]?["deletionGracePeriodSeconds"] = .int(0)
                obj["metadata"]?["resourceVersion"] = .string(String(nextRV()))
                put(def, obj, type: "MODIFIED")
            }
            return obj
        }
        let policy = options?["propagationPolicy"]?.stringValue
        return finishDelete(def, obj, orphan: policy == "Orphan" || options?["orphanDependents"]?.boolValue == true)
    }

    /// Deletes (synchronously, as background propagation would eventually) the dependents whose every
    /// ownerReference points at a deleted owner.
    private mutating func collectGarbage(ownerUID: String) {
        var liveUIDs = Set<String>()
        for objs in objects.values { for o in objs.values { if let u = o["metadata"]?["uid"]?.stringValue { liveUIDs.insert(u) } } }
        for (storeKey, objs) in objects {
            guard let d = defs.first(where: { $0.storeKey == storeKey }) else { continue }
            for (_, o) in objs.sorted(by: { $0.key < $1.key }) {
                let owners = (o["metadata"]?["ownerReferences"]?.arrayValue ?? []).compactMap { $0["uid"]?.stringValue }
                guard owners.contains(ownerUID), owners.allSatisfy({ !liveUIDs.contains($0) }) else { continue }
                let meta = o["metadata"]
                // The dependent may already be gone through an earlier cascade.
                guard object(d, meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? "") != nil else { continue }
                _ = try? delete(d, meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? "", options: nil, dryRun: false)
            }
        }
    }

    /// Removes the object now, with the cascades the emulator implements (namespace contents, CRD objects).
    private mutating func finishDelete(_ def: ResourceDef, _ obj: JSONValue, orphan: Bool = false) -> JSONValue {
        let name = obj["metadata"]?["name"]?.stringValue ?? ""
        if def.kind == "CustomResourceDefinition", let served = ResourceDef.fromCRD(obj).first {
            for (_, o) in (objects[served.storeKey] ?? [:]).sorted(by: { $0.key < $1.key }) { _ = remove(served, o) }
            closeWatches(storeKey: served.storeKey)
            defs.removeAll { $0.fromCRD && $0.storeKey == served.storeKey }
        }
        let removed = remove(def, obj)
        if !orphan, let uid = obj["metadata"]?["uid"]?.stringValue { collectGarbage(ownerUID: uid) }
        if def.returnsDeletedObject { return removed }
        return successStatus(def, name: name, uid: obj["metadata"]?["uid"]?.stringValue)
    }

    /// The namespace controller's final step: remove everything in a Terminating namespace, then it.
    mutating func finishNamespace(_ name: String) {
        guard let nsDef = defs.first(where: { $0.group.isEmpty && $0.kind == "Namespace" }),
              let ns = object(nsDef, nil, name), ns["metadata"]?["deletionTimestamp"] != nil else { return }
        let wasBusy = kubeletBusy
        kubeletBusy = true  // no pod replacement while the namespace empties
        for (storeKey, objs) in objects {
            guard let d = defs.first(where: { $0.storeKey == storeKey }), d.namespaced else { continue }
            for (_, o) in objs.sorted(by: { $0.key < $1.key }) where o["metadata"]?["namespace"]?.stringValue == name {
                _ = remove(d, o)
            }
        }
        kubeletBusy = wasBusy
        _ = remove(nsDef, ns)
    }

    mutating func deleteCollection(_ def: ResourceDef, _ ns: String?, labels: LabelSelector?,
                                   fields: FieldSelector?, dryRun: Bool) throws(StatusError) -> JSONValue {
        let listed = try list(def, ns, labels: labels, fields: fields, limit: nil, continueToken: nil)
        var items: [JSONValue] = []
        for o in listed["items"]?.arrayValue ?? [] {
            let name = o["metadata"]?["name"]?.stringValue ?? ""
            items.append(try delete(def, o["metadata"]?["namespace"]?.stringValue, name, options: nil, dryRun: dryRun))
        }
        var out = listed
        out["items"] = .array(items)
        return out
    }
}
