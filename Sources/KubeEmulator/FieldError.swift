import Foundation
import YAML

/// One validation error, rendered as k8s.io/apimachinery/pkg/util/validation/field.Error renders it
/// (`ErrorBody`: `Required value`, `Invalid value: 0: detail`, `Unsupported value: "x": supported values: …`).
struct FieldError: Sendable, Hashable {
    enum Kind: String, Sendable {
        case required = "FieldValueRequired"
        case invalid = "FieldValueInvalid"
        case typeInvalid = "FieldValueTypeInvalid"
        case notSupported = "FieldValueNotSupported"
        case forbidden = "FieldValueForbidden"
        case tooLong = "FieldValueTooLong"
        case tooMany = "FieldValueTooMany"
        case duplicate = "FieldValueDuplicate"

        /// `field.ErrorType.String()`.
        var text: String {
            switch self {
            case .required: return "Required value"
            case .invalid, .typeInvalid: return "Invalid value"
            case .notSupported: return "Unsupported value"
            case .forbidden: return "Forbidden"
            case .tooLong: return "Too long"
            case .tooMany: return "Too many"
            case .duplicate: return "Duplicate value"
            }
        }
    }

    var kind: Kind
    var field: String
    /// The bad value as Go's `%v`/`%q` prints it; nil when the error type omits it.
    var value: String?
    var detail: String

    static func required(_ field: String, _ detail: String = "") -> FieldError {
        FieldError(kind: .required, field: field, value: nil, detail: detail)
    }
    static func forbidden(_ field: String, _ detail: String) -> FieldError {
        FieldError(kind: .forbidden, field: field, value: nil, detail: detail)
    }
    static func invalid(_ field: String, _ value: JSONValue, _ detail: String) -> FieldError {
        FieldError(kind: .invalid, field: field, value: GoFormat.value(value), detail: detail)
    }
    static func typeInvalid(_ field: String, _ value: JSONValue, _ detail: String) -> FieldError {
        FieldError(kind: .typeInvalid, field: field, value: GoFormat.value(value), detail: detail)
    }
    /// `field.NotSupported`: the detail lists the quoted supported values.
    static func notSupported(_ field: String, _ value: JSONValue, _ supported: [String]) -> FieldError {
        FieldError(kind: .notSupported, field: field, value: GoFormat.value(value),
                   detail: supported.isEmpty ? "" : "supported values: " + supported.map(GoFormat.quote).joined(separator: ", "))
    }
    /// `field.TooLong` (Kubernetes 1.32 wording; the value is omitted).
    static func tooLong(_ field: String, max: Int) -> FieldError {
        FieldError(kind: .tooLong, field: field, value: nil, detail: "may not be more than \(max) \(max == 1 ? "byte" : "bytes")")
    }
    /// `field.TooMany`.
    static func tooMany(_ field: String, actual: Int, max: Int) -> FieldError {
        FieldError(kind: .tooMany, field: field, value: String(actual), detail: "must have at most \(max) \(max == 1 ? "item" : "items")")
    }

    /// `field.Error.ErrorBody()`.
    var body: String {
        var s = kind.text
        if let value, kind != .required, kind != .forbidden, kind != .tooLong { s += ": \(value)" }
        if !detail.isEmpty { s += ": \(detail)" }
        return s
    }

    /// `field.Error.Error()`: `field: body`.
    var message: String { "\(field): \(body)" }

    /// The `metav1.StatusCause` of this error.
    var cause: JSONValue { ["reason": .string(kind.rawValue), "message": .string(body), "field": .string(field)] }

    /// `ErrorList.ToAggregate().Error()`: one message, or `[a, b]` with duplicates removed.
    static func aggregate(_ errors: [FieldError]) -> String {
        var seen = Set<String>()
        let messages = errors.map(\.message).filter { seen.insert($0).inserted }
        return messages.count == 1 ? messages[0] : "[\(messages.joined(separator: ", "))]"
    }
}

/// Go's `fmt` renderings of values that appear in Kubernetes error messages.
enum GoFormat {
    /// `strconv.Quote` / `%q`: double-quoted with Go escapes.
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += String(format: "\\x%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `%v` of a float64: integral values without a fraction, otherwise the shortest form.
    static func number(_ d: Double) -> String {
        if d.rounded() == d && abs(d) < 1e21 { return String(Int64(d)) }
        return "\(d)"
    }

    /// A bad value as `field.Error` prints it: numbers and booleans plain, strings quoted, null as `"null"`,
    /// lists and maps as JSON (Go prints its own structs there; the emulator cannot reproduce those byte for byte).
    static func value(_ v: JSONValue) -> String {
        switch v {
        case .null: return "\"null\""
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return number(d)
        case .string(let s): return quote(s)
        case .array, .object: return (try? sortedKeys(v).jsonString()) ?? "{}"
        }
    }

    /// The value with every object's keys sorted, as Go's encoding/json writes maps.
    static func sortedKeys(_ v: JSONValue) -> JSONValue {
        switch v {
        case .array(let a): return .array(a.map(sortedKeys))
        case .object(let o):
            var out = JSONObject()
            for e in o.sorted(by: { $0.key < $1.key }) { out[e.key] = sortedKeys(e.value) }
            return .object(out)
        default: return v
        }
    }
}

/// DNS name rules of k8s.io/apimachinery/pkg/util/validation, with their messages.
enum NameRules {
    static let dns1123LabelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123SubdomainFormat = dns1123LabelFormat + "(\\." + dns1123LabelFormat + ")*"
    static let dns1035LabelFormat = "[a-z]([-a-z0-9]*[a-z0-9])?"

    /// `IsDNS1123Subdomain`.
    static func dns1123Subdomain(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 253 { errs.append("must be no more than 253 characters") }
        if !matches(value, dns1123SubdomainFormat) {
            errs.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '\(dns1123SubdomainFormat)')")
        }
        return errs
    }

    /// `IsDNS1035Label`.
    static func dns1035Label(_ value: String) -> [String] {
        var errs: [String] = []
        if value.utf8.count > 63 { errs.append("must be no more than 63 characters") }
        if !matches(value, dns1035LabelFormat) {
            errs.append("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '\(dns1035LabelFormat)')")
        }
        return errs
    }

    static func matches(_ value: String, _ format: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: "^" + format + "$") else { return false }
        return re.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
    }
}
