import YAML

/// The structural-schema rules of apiextensions-apiserver pkg/apiserver/schema/validation.go
/// (`validateStructuralInvariants`, `validateStructuralMetadataInvariants`, `validateValueValidation`,
/// `validateNestedValueValidation`) and the completeness rule (`validateStructuralCompleteness`: a field named in a
/// value validation must also be specified outside of it).
enum StructuralSchema {
    enum Level { case root, item, field }

    /// The keys a structural node may carry outside of value validations.
    static func validate(_ schema: JSONValue, _ path: String) -> [FieldError] {
        var errors: [FieldError] = []
        invariants(schema, .root, path, &errors)
        completeness(schema, path, &errors)
        return errors
    }

    private static func flag(_ s: JSONValue, _ key: String) -> Bool { s[key]?.boolValue == true }

    private static func invariants(_ s: JSONValue, _ level: Level, _ path: String, _ errors: inout [FieldError]) {
        let type = s["type"]?.stringValue ?? ""
        if type == "array" && s["items"] == nil { errors.append(.required("\(path).items", "must be specified")) }
        if let items = s["items"], items.objectValue != nil { invariants(items, .item, "\(path).items", &errors) }
        for p in (s["properties"]?.objectValue ?? JSONObject()) {
            invariants(p.value, .field, "\(path).properties[\(p.key)]", &errors)
        }
        if let extra = s["additionalProperties"] {
            if level == .root { errors.append(.forbidden("\(path).additionalProperties", "must not be used at the root")) }
            if extra.objectValue != nil { invariants(extra, .field, "\(path).additionalProperties", &errors) }
        }
        let intOrString = flag(s, "x-kubernetes-int-or-string")
        let preserve = flag(s, "x-kubernetes-preserve-unknown-fields")
        let embedded = flag(s, "x-kubernetes-embedded-resource")
        if intOrString && preserve {
            errors.append(.invalid("\(path).x-kubernetes-preserve-unknown-fields", true, "must be false if x-kubernetes-int-or-string is true"))
        }
        if intOrString && embedded {
            errors.append(.invalid("\(path).x-kubernetes-embedded-resource", true, "must be false if x-kubernetes-int-or-string is true"))
        }
        valueValidation(s, skipAnyOf: isIntOrStringAnyOf(s["anyOf"]), skipFirstAllOfAnyOf: isIntOrStringAnyOf(s["allOf"]?[0]?["anyOf"]),
                        level, path, &errors)
        let checkMetadata = level == .root || embedded
        if embedded && type != "object" {
            errors.append(type.isEmpty ? .required("\(path).type", "must be object if x-kubernetes-embedded-resource is true")
                          : .invalid("\(path).type", .string(type), "must be object if x-kubernetes-embedded-resource is true"))
        } else if type.isEmpty && !intOrString && !preserve {
            switch level {
            case .root: errors.append(.required("\(path).type", "must not be empty at the root"))
            case .item: errors.append(.required("\(path).type", "must not be empty for specified array items"))
            case .field: errors.append(.required("\(path).type", "must not be empty for specified object fields"))
            }
        }
        if embedded && s["additionalProperties"] != nil {
            errors.append(.forbidden("\(path).additionalProperties", "must not be used if x-kubernetes-embedded-resource is set"))
        }
        if level == .root && !type.isEmpty && type != "object" {
            errors.append(.invalid("\(path).type", .string(type), "must be object at the root"))
        }
        if checkMetadata {
            for key in ["kind", "apiVersion"] {
                if let p = s["properties"]?[key], (p["type"]?.stringValue ?? "") != "string" {
                    errors.append(.invalid("\(path).properties[\(key)].type", .string(p["type"]?.stringValue ?? ""), "must be string"))
                }
            }
        }
        if let metadata = s["properties"]?["metadata"] {
            metadataInvariants(metadata, checkMetadata: checkMetadata, level, "\(path).properties[metadata]", &errors)
        }
        if embedded && !preserve && (s["properties"]?.objectValue ?? JSONObject()).isEmpty {
            errors.append(.required("\(path).properties", "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))
        }
    }

    /// Root `metadata` may only say `type: object` and restrict `name`/`generateName`; nothing else, not even a
    /// description.
    private static func metadataInvariants(_ s: JSONValue, checkMetadata: Bool, _ level: Level, _ path: String,
                                           _ errors: inout [FieldError]) {
        let type = s["type"]?.stringValue ?? ""
        if checkMetadata && type != "object" { errors.append(.invalid("\(path).type", .string(type), "must be object")) }
        guard level == .root, var o = s.objectValue else { return }
        o["type"] = nil
        if let props = o["properties"]?.objectValue {
            let names = Set(props.keys)
            if names.isSubset(of: ["name", "generateName"]) { o["properties"] = nil }
        }
        // The default is checked by the OpenAPI validation ("must not be set in top-level metadata").
        o["default"] = nil
        if !o.isEmpty {
            errors.append(.forbidden(path, "must not specify anything other than name and generateName, but metadata is implicitly specified"))
        }
    }

    private static func isIntOrStringAnyOf(_ anyOf: JSONValue?) -> Bool {
        guard let a = anyOf?.arrayValue, a.count == 2 else { return false }
        return a[0] == ["type": "integer"] && a[1] == ["type": "string"]
    }

    /// Value validations (`anyOf`, `allOf`, `oneOf`, `not`) must not carry structure; patterns must compile.
    private static func valueValidation(_ s: JSONValue, skipAnyOf: Bool, skipFirstAllOfAnyOf: Bool, _ level: Level,
                                        _ path: String, _ errors: inout [FieldError]) {
        if !skipAnyOf {
            for (i, v) in (s["anyOf"]?.arrayValue ?? []).enumerated() { nested(v, skipAnyOf: false, level, "\(path).anyOf[\(i)]", &errors) }
        }
        for (i, v) in (s["allOf"]?.arrayValue ?? []).enumerated() {
            nested(v, skipAnyOf: skipFirstAllOfAnyOf && i == 0, level, "\(path).allOf[\(i)]", &errors)
        }
        for (i, v) in (s["oneOf"]?.arrayValue ?? []).enumerated() { nested(v, skipAnyOf: false, level, "\(path).oneOf[\(i)]", &errors) }
        if let not = s["not"] { nested(not, skipAnyOf: false, level, "\(path).not", &errors) }
        if let pattern = s["pattern"]?.stringValue, !pattern.isEmpty, !GoRegex.compiles(pattern) {
            errors.append(.invalid("\(path).pattern", .string(pattern), "must be a valid regular expression, but isn't: error parsing regexp"))
        }
    }

    private static func nested(_ v: JSONValue, skipAnyOf: Bool, _ level: Level, _ path: String, _ errors: inout [FieldError]) {
        valueValidation(v, skipAnyOf: skipAnyOf, skipFirstAllOfAnyOf: false, level, path, &errors)
        if let items = v["items"] { nested(items, skipAnyOf: false, level, "\(path).items", &errors) }
        for p in (v["properties"]?.objectValue ?? JSONObject()) {
            nested(p.value, skipAnyOf: false, .field, "\(path).properties[\(p.key)]", &errors)
        }
        if v["type"] != nil { errors.append(.forbidden("\(path).type", "must be empty to be structural")) }
        if v["additionalProperties"] != nil { errors.append(.forbidden("\(path).additionalProperties", "must be undefined to be structural")) }
        if v["default"] != nil { errors.append(.forbidden("\(path).default", "must be undefined to be structural")) }
        if !(v["title"]?.stringValue ?? "").isEmpty { errors.append(.forbidden("\(path).title", "must be empty to be structural")) }
        if !(v["description"]?.stringValue ?? "").isEmpty { errors.append(.forbidden("\(path).description", "must be empty to be structural")) }
        if v["nullable"]?.boolValue == true { errors.append(.forbidden("\(path).nullable", "must be false to be structural")) }
        if v["externalDocs"] != nil { errors.append(.forbidden("\(path).externalDocs", "must be undefined to be structural")) }
        if flag(v, "x-kubernetes-preserve-unknown-fields") {
            errors.append(.forbidden("\(path).x-kubernetes-preserve-unknown-fields", "must be false to be structural"))
        }
        if flag(v, "x-kubernetes-embedded-resource") {
            errors.append(.forbidden("\(path).x-kubernetes-embedded-resource", "must be false to be structural"))
        }
        if flag(v, "x-kubernetes-int-or-string") {
            errors.append(.forbidden("\(path).x-kubernetes-int-or-string", "must be false to be structural"))
        }
        if !(v["x-kubernetes-list-map-keys"]?.arrayValue ?? []).isEmpty {
            errors.append(.forbidden("\(path).x-kubernetes-list-map-keys", "must be empty to be structural"))
        }
        if v["x-kubernetes-list-type"] != nil { errors.append(.forbidden("\(path).x-kubernetes-list-type", "must be undefined to be structural")) }
        if v["x-kubernetes-map-type"] != nil { errors.append(.forbidden("\(path).x-kubernetes-map-type", "must be undefined to be structural")) }
        if !(v["x-kubernetes-validations"]?.arrayValue ?? []).isEmpty {
            errors.append(.forbidden("\(path).x-kubernetes-validations", "must be empty to be structural"))
        }
        if v["properties"]?["metadata"] != nil {
            errors.append(.forbidden("\(path).properties[metadata]", "must not be specified in a nested context"))
        }
    }

    /// Every property or `items` named inside a value validation must also be specified in the structural part
    /// (`validateStructuralCompleteness`).
    private static func completeness(_ s: JSONValue, _ path: String, _ errors: inout [FieldError]) {
        func check(_ v: JSONValue, against structural: JSONValue?, _ spath: String, _ vpath: String) {
            if v["items"] != nil && structural?["items"] == nil {
                errors.append(.required("\(spath).items", "because it is defined in \(vpath).items"))
            }
            if let items = v["items"] { check(items, against: structural?["items"], "\(spath).items", "\(vpath).items") }
            for p in (v["properties"]?.objectValue ?? JSONObject()) {
                let sp = structural?["properties"]?[p.key]
                if sp == nil {
                    errors.append(.required("\(spath).properties[\(p.key)]", "because it is defined in \(vpath).properties[\(p.key)]"))
                }
                check(p.value, against: sp, "\(spath).properties[\(p.key)]", "\(vpath).properties[\(p.key)]")
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                for (i, sub) in (v[key]?.arrayValue ?? []).enumerated() { check(sub, against: structural, spath, "\(vpath).\(key)[\(i)]") }
            }
            if let not = v["not"] { check(not, against: structural, spath, "\(vpath).not") }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            for (i, sub) in (s[key]?.arrayValue ?? []).enumerated() { check(sub, against: s, path, "\(path).\(key)[\(i)]") }
        }
        if let not = s["not"] { check(not, against: s, path, "\(path).not") }
        if let items = s["items"], items.objectValue != nil { completeness(items, "\(path).items", &errors) }
        for p in (s["properties"]?.objectValue ?? JSONObject()) { completeness(p.value, "\(path).properties[\(p.key)]", &errors) }
        if let extra = s["additionalProperties"], extra.objectValue != nil { completeness(extra, "\(path).additionalProperties", &errors) }
    }
}
