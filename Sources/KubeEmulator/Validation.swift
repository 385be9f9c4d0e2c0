import Foundation
import YAML

/// Validation of a custom resource against its CRD's `openAPIV3Schema`, as kube-apiserver does it: the
/// kube-openapi schema validator (k8s.io/kube-openapi/pkg/validation/validate) turned into field errors by
/// apiextensions-apiserver (pkg/apiserver/validation/validation.go, `kubeOpenAPIResultToFieldErrors`).
/// Checked: `type` (integral numbers pass as integers, `x-kubernetes-int-or-string` as integer or string,
/// `nullable`), `allOf`/`anyOf`/`oneOf`/`not`, `minLength`/`maxLength`/`pattern`, `minimum`/`maximum` (also
/// exclusive), `multipleOf`, `minItems`/`maxItems`/`uniqueItems`, `enum`, `required`, `minProperties`/
/// `maxProperties`, `properties`, `items`, `additionalProperties`. Not evaluated: `format` and CEL
/// (`x-kubernetes-validations`).
enum SchemaValidation {
    /// Field errors for `object` (a whole custom resource); `apiVersion`, `kind` and `metadata` are the
    /// server's (ObjectMeta is checked separately).
    static func validate(_ object: JSONValue, schema: JSONValue) -> [FieldError] {
        var o = object
        o["metadata"] = nil
        o["apiVersion"] = nil
        o["kind"] = nil
        var s = schema
        var props = s["properties"]?.objectValue ?? JSONObject()
        for k in ["metadata", "apiVersion", "kind"] { props[k] = nil }
        s["properties"] = .object(props)
        s["required"] = s["required"]?.arrayValue.map { .array($0.filter { !["metadata", "apiVersion", "kind"].contains($0.stringValue ?? "") }) }
        var errors: [FieldError] = []
        check(o, s, "", &errors)
        return errors
    }

    /// The JSON types a schema node accepts (empty: any).
    static func types(_ schema: JSONValue) -> [String] {
        if schema["x-kubernetes-int-or-string"]?.boolValue == true { return ["integer", "string"] }
        if let t = schema["type"]?.stringValue, !t.isEmpty { return [t] }
        return []
    }

    /// The JSON type name of a value as kube-openapi infers it.
    static func typeName(_ v: JSONValue) -> String {
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

    /// The path as kube-openapi names it inside its messages (`spec.roles[0].name`), and the field path of the
    /// error (the same, without a leading dot).
    private static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private static func check(_ v: JSONValue, _ schema: JSONValue, _ path: String, _ errors: inout [FieldError]) {
        let name = path.isEmpty ? "." : path
        let field = path.isEmpty ? "<nil>" : path
        func invalid(_ value: JSONValue, _ message: String) { errors.append(.invalid(field, value, message)) }

        // typeValidator
        let expected = types(schema)
        if v.isNull {
            if !expected.isEmpty && schema["nullable"]?.boolValue != true {
                errors.append(.typeInvalid(field, "null", "\(name) in body must be of type \(expected.joined(separator: ",")): \"null\""))
            }
            return
        }
        if !expected.isEmpty {
            let actual = typeName(v)
            let integral: Bool = { if case .double(let d) = v { return d.rounded() == d && d.isFinite } else { return false } }()
            let ok = expected.contains(actual) || (actual == "number" && integral && expected.contains("integer"))
                || (actual == "integer" && expected.contains("number"))
            if !ok {
                errors.append(.typeInvalid(field, .string(actual), "\(name) in body must be of type \(expected.joined(separator: ",")): \(GoFormat.quote(actual))"))
            }
        }

        // schemaPropsValidator: allOf, anyOf, oneOf, not
        for sub in schema["allOf"]?.arrayValue ?? [] { check(v, sub, path, &errors) }
        if let anyOf = schema["anyOf"]?.arrayValue, !anyOf.isEmpty {
            var firstFailures: [FieldError] = []
            var passed = false
            for sub in anyOf {
                var e: [FieldError] = []
                check(v, sub, path, &e)
                if e.isEmpty { passed = true; break }
                if firstFailures.isEmpty { firstFailures = e }
            }
            if !passed {
                // kube-openapi reports these with an empty name: apiextensions-apiserver puts them on `<nil>`.
                errors.append(.invalid("<nil>", "", "\(GoFormat.quote(name)) must validate at least one schema (anyOf)"))
                errors += firstFailures
            }
        }
        if let oneOf = schema["oneOf"]?.arrayValue, !oneOf.isEmpty {
            let passing = oneOf.filter { sub in var e: [FieldError] = []; check(v, sub, path, &e); return e.isEmpty }.count
            if passing != 1 { errors.append(.invalid("<nil>", "", "\(GoFormat.quote(name)) must validate one and only one schema (oneOf)")) }
        }
        if let not = schema["not"] {
            var e: [FieldError] = []
            check(v, not, path, &e)
            if e.isEmpty { errors.append(.invalid("<nil>", "", "\(GoFormat.quote(name)) must not validate the schema (not)")) }
        }

        // stringValidator: the first failing of maxLength, minLength, pattern
        if let s = v.stringValue {
            let length = s.count
            if let max = schema["maxLength"]?.intValue, length > max {
                errors.append(.tooLong(field, max: Int(max)))
            } else if let min = schema["minLength"]?.intValue, length < min {
                invalid(v, "\(name) in body should be at least \(min) chars long")
            } else if let pattern = schema["pattern"]?.stringValue, !GoRegex.matches(pattern, s) {
                invalid(v, "\(name) in body should match '\(pattern)'")
            }
        }

        // numberValidator
        if let n = v.doubleValue, v.boolValue == nil, v.stringValue == nil {
            if let m = schema["multipleOf"]?.doubleValue, m > 0, (n / m).rounded() != n / m {
                invalid(v, "\(name) in body should be a multiple of \(GoFormat.number(m))")
            }
            if let max = schema["maximum"]?.doubleValue {
                let exclusive = schema["exclusiveMaximum"]?.boolValue == true
                if exclusive ? n >= max : n > max {
                    invalid(v, "\(name) in body should be less than \(exclusive ? "" : "or equal to ")\(GoFormat.number(max))")
                }
            }
            if let min = schema["minimum"]?.doubleValue {
                let exclusive = schema["exclusiveMinimum"]?.boolValue == true
                if exclusive ? n <= min : n < min {
                    invalid(v, "\(name) in body should be greater than \(exclusive ? "" : "or equal to ")\(GoFormat.number(min))")
                }
            }
        }

        // sliceValidator
        if let a = v.arrayValue {
            if let min = schema["minItems"]?.intValue, a.count < min {
                invalid(.int(Int64(a.count)), "\(name) in body should have at least \(min) items")
            }
            if let max = schema["maxItems"]?.intValue, a.count > max {
                errors.append(.tooMany(field, actual: a.count, max: Int(max)))
            }
            if schema["uniqueItems"]?.boolValue == true, Set(a).count != a.count {
                invalid(.string(""), "\(name) in body shouldn't contain duplicates")
            }
            if let items = schema["items"] {
                for (i, el) in a.enumerated() { check(el, items, "\(path)[\(i)]", &errors) }
            }
        }

        // commonValidator: enum
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(v) {
            errors.append(.notSupported(field, v, allowed.map { $0.stringValue ?? GoFormat.value($0) }))
        }

        // objectValidator
        if let o = v.objectValue {
            for r in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where o[r] == nil {
                errors.append(.required(child(path, r)))
            }
            if let min = schema["minProperties"]?.intValue, o.count < min {
                invalid(.int(Int64(o.count)), "\(name) in body should have at least \(min) properties")
            }
            if let max = schema["maxProperties"]?.intValue, o.count > max {
                errors.append(FieldError(kind: .tooMany, field: field, value: String(o.count),
                                         detail: "must have at most \(max) \(max == 1 ? "item" : "items")"))
            }
            let props = schema["properties"]?.objectValue ?? JSONObject()
            for e in o {
                if let ps = props[e.key] {
                    check(e.value, ps, child(path, e.key), &errors)
                } else if let extra = schema["additionalProperties"], extra.objectValue != nil {
                    check(e.value, extra, child(path, e.key), &errors)
                }
            }
        }
    }
}

/// ECMA/RE2-style `pattern` matching for CRD schemas (Go's regexp: unanchored search).
enum GoRegex {
    private static let cache = Cache()

    static func matches(_ pattern: String, _ text: String) -> Bool {
        guard let re = cache.regex(pattern) else { return false }
        return re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Whether `pattern` compiles (CRD validation rejects one that does not).
    static func compiles(_ pattern: String) -> Bool { cache.regex(pattern) != nil }

    private final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var compiled: [String: NSRegularExpression] = [:]

        func regex(_ pattern: String) -> NSRegularExpression? {
            lock.lock()
            defer { lock.unlock() }
            if let r = compiled[pattern] { return r }
            guard let r = try? NSRegularExpression(pattern: pattern) else { return nil }
            compiled[pattern] = r
            return r
        }
    }
}
