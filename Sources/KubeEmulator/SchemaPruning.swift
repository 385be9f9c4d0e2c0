import YAML

/// What kube-apiserver does to a custom resource before validating it: null values of non-nullable fields are
/// dropped or replaced by their `default` (apiextensions-apiserver pkg/apiserver/schema/defaulting:
/// `PruneNonNullableNullsWithoutDefaults`, `Default`), and fields the structural schema does not specify are
/// pruned (pkg/apiserver/schema/pruning: `PruneWithOptions`), their paths reported as unknown fields.
enum SchemaPruning {
    /// The ObjectMeta fields a client may send; anything else under `metadata` is an unknown field
    /// (pkg/apiserver/schema/objectmeta: `GetObjectMetaWithOptions`).
    static let objectMetaFields: Set<String> = [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
        "managedFields",
    ]

    /// Applies defaults (also replacing non-nullable nulls) and drops non-nullable nulls without a default.
    static func applyDefaults(_ value: inout JSONValue, schema: JSONValue) {
        switch value {
        case .object(var o):
            let props = schema["properties"]?.objectValue ?? JSONObject()
            for p in props {
                let present = o[p.key]
                if present == nil || (present?.isNull == true && p.value["nullable"]?.boolValue != true) {
                    if let d = p.value["default"] {
                        o[p.key] = d
                    } else if present != nil {
                        o[p.key] = nil
                    }
                }
                if var child = o[p.key] {
                    applyDefaults(&child, schema: p.value)
                    o[p.key] = child
                }
            }
            if let extra = schema["additionalProperties"], extra.objectValue != nil {
                for k in o.keys where props[k] == nil {
                    var child = o[k]!
                    if child.isNull && extra["nullable"]?.boolValue != true {
                        if let d = extra["default"] { o[k] = d } else { o[k] = nil }
                        continue
                    }
                    applyDefaults(&child, schema: extra)
                    o[k] = child
                }
            }
            value = .object(o)
        case .array(var a):
            if let items = schema["items"] {
                for i in a.indices { applyDefaults(&a[i], schema: items) }
                value = .array(a)
            }
        default: break
        }
    }

    /// Removes the fields `schema` does not specify from a whole custom resource (the root keeps `apiVersion`,
    /// `kind` and the ObjectMeta fields of `metadata`) and returns their paths (`spec.maxReplica`,
    /// `spec.roles[0].wieght`), sorted.
    static func prune(_ object: inout JSONValue, schema: JSONValue) -> [String] {
        var pruned: [String] = []
        prune(&object, schema, "", isResourceRoot: true, &pruned)
        return pruned.sorted()
    }

    private static func prune(_ value: inout JSONValue, _ schema: JSONValue?, _ path: String, isResourceRoot: Bool,
                              _ pruned: inout [String]) {
        switch value {
        case .object(var o):
            let props = schema?["properties"]?.objectValue ?? JSONObject()
            let extra = schema?["additionalProperties"].flatMap { $0.objectValue != nil ? $0 : nil }
            let preserve = schema?["x-kubernetes-preserve-unknown-fields"]?.boolValue == true
            let embedded = isResourceRoot || schema?["x-kubernetes-embedded-resource"]?.boolValue == true
            for key in o.keys {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if embedded && (key == "apiVersion" || key == "kind") { continue }
                if embedded && key == "metadata" {
                    if var meta = o[key]?.objectValue {
                        for k in meta.keys where !objectMetaFields.contains(k) {
                            meta[k] = nil
                            pruned.append("\(childPath).\(k)")
                        }
                        o[key] = .object(meta)
                    }
                    continue
                }
                var child = o[key]!
                if let ps = props[key] {
                    prune(&child, ps, childPath, isResourceRoot: false, &pruned)
                } else if let extra {
                    prune(&child, extra, childPath, isResourceRoot: false, &pruned)
                } else if preserve {
                    // Unknown but preserved: nothing inside is specified, so nothing is pruned.
                    continue
                } else {
                    o[key] = nil
                    pruned.append(childPath)
                    continue
                }
                o[key] = child
            }
            value = .object(o)
        case .array(var a):
            guard let items = schema?["items"] else { return }
            for i in a.indices { prune(&a[i], items, "\(path)[\(i)]", isResourceRoot: false, &pruned) }
            value = .array(a)
        default:
            break
        }
    }
}
