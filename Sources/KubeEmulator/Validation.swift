import YAML

/// Structural-schema checks and defaulting for custom resources (a subset of apiextensions-apiserver):
/// `type`, `required`, `enum`, `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`,
/// `properties`, `items`, `additionalProperties`, and `default`. No pruning, no CEL, no formats.
enum SchemaValidation {
    struct Cause {
        var reason: String
        var field: String
        var message: String
        var json: JSONValue { ["reason": .string(reason), "message": .string(message), "field": .string(field)] }
    }

    /// Fills in `default`s of missing properties (only inside objects that exist).
    static func applyDefaults(_ value: inout JSONValue, schema: JSONValue) {
        switch value {
        case .object(var o):
            for p in schema["properties"]?.objectValue ?? JSONObject() {
                if o[p.key] == nil, let d = p.value["default"] { o[p.key] = d }
                if var child = o[p.key] {
                    applyDefaults(&child, schema: p.value)
                    o[p.key] = child
                }
            }
            if let extra = schema["additionalProperties"], extra.objectValue != nil {
                for k in o.keys where schema["properties"]?[k] == nil {
                    var child = o[k]!
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

    /// Validates an object against its CRD schema; metadata, apiVersion and kind are not checked.
    static func validate(_ object: JSONValue, schema: JSONValue) -> [Cause] {
        var causes: [Cause] = []
        var o = object
        o["metadata"] = nil
        o["apiVersion"] = nil
        o["kind"] = nil
        var s = schema
        var props = s["properties"]?.objectValue ?? JSONObject()
        for k in ["metadata", "apiVersion", "kind"] { props[k] = nil }
        s["properties"] = .object(props)
        s["required"] = s["required"]?.arrayValue.map { .array($0.filter { !["metadata", "apiVersion", "kind"].contains($0.stringValue ?? "") }) }
        check(o, s, "", &causes)
        return causes
    }

    private static func render(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        default: return (try? v.jsonBytes()).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
    }

    private static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private static func check(_ v: JSONValue, _ schema: JSONValue, _ path: String, _ causes: inout [Cause]) {
        let field = path.isEmpty ? "<root>" : path
        if v.isNull {
            if schema["nullable"]?.boolValue != true && !path.isEmpty {
                causes.append(Cause(reason: "FieldValueInvalid", field: path,
                                    message: "Invalid value: \"null\": \(field) in body must be of type \(schema["type"]?.stringValue ?? "object"): \"null\""))
            }
            return
        }
        if let type = schema["type"]?.stringValue {
            let actual = typeName(v)
            let ok = actual == type || (type == "number" && actual == "integer")
            if !ok {
                causes.append(Cause(reason: "FieldValueTypeInvalid", field: path,
                                    message: "Invalid value: \"\(actual)\": \(field) in body must be of type \(type): \"\(actual)\""))
                return
            }
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(v) {
            causes.append(Cause(reason: "FieldValueNotSupported", field: path,
                                message: "Unsupported value: \(render(v)): supported values: \(allowed.map(render).joined(separator: ", "))"))
        }
        if let n = v.doubleValue {
            if let min = schema["minimum"]?.doubleValue, n < min {
                causes.append(Cause(reason: "FieldValueInvalid", field: path,
                                    message: "Invalid value: \(render(v)): \(field) in body should be greater than or equal to \(render(schema["minimum"]!))"))
            }
            if let max = schema["maximum"]?.doubleValue, n > max {
                causes.append(Cause(reason: "FieldValueInvalid", field: path,
                                    message: "Invalid value: \(render(v)): \(field) in body should be less than or equal to \(render(schema["maximum"]!))"))
            }
        }
        if let s = v.stringValue {
            if let min = schema["minLength"]?.intValue, s.count < min {
                causes.append(Cause(reason: "FieldValueInvalid", field: path,
                                    message: "Invalid value: \(render(v)): \(field) in body should be at least \(min) chars long"))
            }
            if let max = schema["maxLength"]?.intValue, s.count > max {
                causes.append(Cause(reason: "FieldValueTooLong", field: path,
                                    message: "Too long: may not be longer than \(max)"))
            }
        }
        switch v {
        case .object(let o):
            let props = schema["properties"]?.objectValue ?? JSONObject()
            for r in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where o[r] == nil {
                causes.append(Cause(reason: "FieldValueRequired", field: path.isEmpty ? r : "\(path).\(r)", message: "Required value"))
            }
            for e in o {
                let childPath = path.isEmpty ? e.key : "\(path).\(e.key)"
                if let ps = props[e.key] {
                    check(e.value, ps, childPath, &causes)
                } else if let extra = schema["additionalProperties"], extra.objectValue != nil {
                    check(e.value, extra, childPath, &causes)
                }
            }
        case .array(let a):
            if let min = schema["minItems"]?.intValue, a.count < min {
                causes.append(Cause(reason: "FieldValueInvalid", field: path,
                                    message: "Invalid value: \(a.count): \(field) in body should have at least \(min) items"))
            }
            if let max = schema["maxItems"]?.intValue, a.count > max {
                causes.append(Cause(reason: "FieldValueTooMany", field: path,
                                    message: "Too many: \(a.count): must have at most \(max) items"))
            }
            if let items = schema["items"] {
                for (i, el) in a.enumerated() { check(el, items, "\(path)[\(i)]", &causes) }
            }
        default: break
        }
    }

    /// The 422 Invalid Status for a custom resource, as apiextensions-apiserver words it.
    static func error(_ def: ResourceDef, name: String, _ causes: [Cause]) -> StatusError {
        let parts = causes.map { "\($0.field): \($0.message)" }
        let summary = parts.count == 1 ? parts[0] : "[\(parts.joined(separator: ", "))]"
        var details = StatusError.details(def, name: name)
        details["kind"] = .string(def.kind)
        details["causes"] = .array(causes.map(\.json))
        return StatusError(code: 422, reason: "Invalid",
                           message: "\(def.kind).\(def.group) \"\(name)\" is invalid: \(summary)", details: details)
    }
}
