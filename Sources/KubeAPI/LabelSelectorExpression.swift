import YAML

/// A parsed label selector in its string form (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), as found in a
/// `/scale` subresource's `status.selector` or a `labelSelector` query parameter.
public struct LabelSelectorExpression: Sendable, Hashable {
    public enum Requirement: Sendable, Hashable {
        case equals(String, String), notEquals(String, String)
        case isIn(String, [String]), notIn(String, [String])
        case exists(String), notExists(String)
    }
    public var requirements: [Requirement]

    public struct ParseError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init(parsing text: String) throws {
        requirements = []
        for raw in Self.splitTopLevel(text) {
            let term = raw.trimmingSelectorSpaces
            if term.isEmpty { continue }
            if let r = Self.setRequirement(term, op: " notin ") {
                requirements.append(.notIn(r.0, r.1))
            } else if let r = Self.setRequirement(term, op: " in ") {
                requirements.append(.isIn(r.0, r.1))
            } else if let i = term.firstRange(of: "!=") {
                requirements.append(.notEquals(String(term[..<i.lowerBound]).trimmingSelectorSpaces,
                                               String(term[i.upperBound...]).trimmingSelectorSpaces))
            } else if let i = term.firstRange(of: "==") ?? term.firstRange(of: "=") {
                requirements.append(.equals(String(term[..<i.lowerBound]).trimmingSelectorSpaces,
                                            String(term[i.upperBound...]).trimmingSelectorSpaces))
            } else if term.hasPrefix("!") {
                requirements.append(.notExists(String(term.dropFirst()).trimmingSelectorSpaces))
            } else {
                guard !term.contains(" ") && !term.contains("(") else {
                    throw ParseError(message: "unable to parse requirement: \(term)")
                }
                requirements.append(.exists(term))
            }
        }
    }

    /// A `metav1.LabelSelector` object (matchLabels + matchExpressions) as a selector.
    public init(object: JSONValue) {
        requirements = []
        for e in object["matchLabels"]?.objectValue ?? JSONObject() {
            requirements.append(.equals(e.key, e.value.stringValue ?? ""))
        }
        for ex in object["matchExpressions"]?.arrayValue ?? [] {
            let key = ex["key"]?.stringValue ?? ""
            let values = ex["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
            switch ex["operator"]?.stringValue {
            case "In": requirements.append(.isIn(key, values))
            case "NotIn": requirements.append(.notIn(key, values))
            case "Exists": requirements.append(.exists(key))
            case "DoesNotExist": requirements.append(.notExists(key))
            default: break
            }
        }
    }

    /// The selector serialised the way kube-apiserver prints it (`a=b,c in (x,y)`).
    public var string: String {
        requirements.map { r in
            switch r {
            case let .equals(k, v): return "\(k)=\(v)"
            case let .notEquals(k, v): return "\(k)!=\(v)"
            case let .isIn(k, vs): return "\(k) in (\(vs.sorted().joined(separator: ",")))"
            case let .notIn(k, vs): return "\(k) notin (\(vs.sorted().joined(separator: ",")))"
            case let .exists(k): return k
            case let .notExists(k): return "!\(k)"
            }
        }.joined(separator: ",")
    }

    public func matches(_ labels: JSONObject) -> Bool {
        requirements.allSatisfy { r in
            switch r {
            case let .equals(k, v): return labels[k]?.stringValue == v
            case let .notEquals(k, v): return labels[k]?.stringValue != v
            case let .isIn(k, vs): return labels[k]?.stringValue.map(vs.contains) ?? false
            case let .notIn(k, vs): return !(labels[k]?.stringValue.map(vs.contains) ?? false)
            case let .exists(k): return labels[k] != nil
            case let .notExists(k): return labels[k] == nil
            }
        }
    }

    private static func setRequirement(_ term: String, op: String) -> (String, [String])? {
        guard let r = term.firstRange(of: op) else { return nil }
        let key = String(term[..<r.lowerBound]).trimmingSelectorSpaces
        var rest = String(term[r.upperBound...]).trimmingSelectorSpaces
        guard rest.hasPrefix("("), rest.hasSuffix(")") else { return nil }
        rest = String(rest.dropFirst().dropLast())
        return (key, rest.split(separator: ",").map { String($0).trimmingSelectorSpaces }.filter { !$0.isEmpty })
    }

    /// Splits on commas outside parentheses.
    private static func splitTopLevel(_ text: String) -> [String] {
        var out: [String] = []
        var depth = 0
        var cur = ""
        for ch in text {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if ch == "," && depth == 0 { out.append(cur); cur = "" } else { cur.append(ch) }
        }
        out.append(cur)
        return out
    }

    /// Whether a plain label map satisfies every requirement.
    public func matches(_ labels: [String: String]) -> Bool {
        var object = JSONObject()
        for (k, v) in labels { object[k] = .string(v) }
        return matches(object)
    }
}

extension String {
    fileprivate var trimmingSelectorSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
