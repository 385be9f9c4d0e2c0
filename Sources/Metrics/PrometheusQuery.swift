import Foundation
import YAML

/// Instant queries against the Prometheus HTTP API (`GET /api/v1/query`) for `prometheus` sources.
public enum PrometheusQuery {
    /// Fills `{{namespace}}`, `{{selector}}` and `{{pod}}` (spaces inside the braces allowed). Values are
    /// inserted verbatim; a `{{pod}}` left without a pod stays as it is.
    public static func render(_ template: String, namespace: String, selector: String, pod: String? = nil) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            switch name {
            case "namespace": out += namespace
            case "selector": out += selector
            case "pod" where pod != nil: out += pod ?? ""
            default: out += rest[open.lowerBound..<close.upperBound]
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    /// Whether the template is run once per pod.
    public static func isPerPod(_ template: String) -> Bool {
        render(template, namespace: "", selector: "", pod: "\u{0}") != render(template, namespace: "", selector: "", pod: nil)
    }

    /// `endpoint/api/v1/query?query=…` with the query percent-encoded (RFC 3986 unreserved kept).
    public static func url(endpoint: String, query: String) -> String {
        var base = Substring(endpoint)
        while base.hasSuffix("/") { base = base.dropLast() }
        return "\(base)/api/v1/query?query=\(percentEncode(query))"
    }

    public static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The values of an API response: one per series of a `vector`, one for a `scalar`. An error response
    /// (`status: error`), another result type or a malformed body gives a message instead.
    public static func parseResponse(_ body: [UInt8]) -> Result<[Double], QueryError> {
        let json: JSONValue
        do { json = try JSONValue.parseJSON(body) } catch {
            return .failure(QueryError("the response is not JSON: \(error)"))
        }
        guard let status = json["status"]?.stringValue else { return .failure(QueryError("the response has no status")) }
        guard status == "success" else {
            let type = json["errorType"]?.stringValue ?? "error"
            let message = json["error"]?.stringValue ?? "no message"
            return .failure(QueryError("Prometheus \(type): \(message)"))
        }
        guard let data = json["data"], let resultType = data["resultType"]?.stringValue else {
            return .failure(QueryError("the response has no data.resultType"))
        }
        switch resultType {
        case "vector":
            guard let series = data["result"]?.arrayValue else { return .failure(QueryError("the vector result is not an array")) }
            var values: [Double] = []
            for s in series {
                guard let v = s["value"].flatMap(sampleValue) else { return .failure(QueryError("a vector sample has no [time, \"value\"] pair")) }
                values.append(v)
            }
            return .success(values)
        case "scalar":
            guard let v = data["result"].flatMap(sampleValue) else { return .failure(QueryError("the scalar result is not a [time, \"value\"] pair")) }
            return .success([v])
        default:
            return .failure(QueryError("unsupported result type \(resultType) (an instant vector or scalar is needed)"))
        }
    }

    /// `[1712345678.123, "42.5"]` → 42.5 (`"NaN"`, `"+Inf"` too).
    private static func sampleValue(_ pair: JSONValue) -> Double? {
        guard let a = pair.arrayValue, a.count == 2, a[0].doubleValue != nil, let s = a[1].stringValue else { return nil }
        return PrometheusText.parseValue(s)
    }

    public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }
}
