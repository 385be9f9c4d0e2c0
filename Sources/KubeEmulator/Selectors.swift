import YAML

/// A parsed label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String), notEquals(String, String)
        case isIn(String, [String]), notIn(String, [String])
        case exists(String), notExists(String)
    }
    var requirements: [Requirement]

    struct ParseError: Error { var message: String }

    init(parsing text: String) throws {
        requirements = []
        for raw in Self.splitTopLevel(text) {
            let term = raw.trimmingSpaces
            if term.isEmpty { continue }
            if let r = Self.setRequirement(term, op: " notin ") {
                requirements.append(.notIn(r.0, r.1))
            } else if let r = Self.setRequirement(term, op: " in ") {
                requirements.append(.isIn(r.0, r.1))
            } else if let i = term.firstRange(of: "!=") {
                requirements.append(.notEquals(String(term[..<i.lowerBound]).trimmingSpaces,
                                               String(term[i.upperBound...]).trimmingSpaces))
            } else if let i = term.firstRange(of: "==") ?? term.firstRange(of: "=") {
                requirements.append(.equals(String(term[..<i.lowerBound]).trimmingSpaces,
                                            String(term[i.upperBound...]).trimmingSpaces))
            } else if term.hasPrefix("!") {
                requirements.append(.notExists(String(term.dropFirst()).trimmingSpaces))
            } else {
                guard !term.contains(" ") && !term.contains("(") else {
                    throw ParseError(message: "unable to parse requirement: \(term)")
                }
                requirements.append(.exists(term))
            }
        }
    }

    /// A `metav1.LabelSelector` object (matchLabels + matchExpressions) as a selector.
    init(object: JSONValue) {
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
    var string: String {
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

    func matches(_ labels: JSONObject) -> Bool {
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
        let key = String(term[..<r.lowerBound]).trimmingSpaces
        var rest = String(term[r.upperBound...]).trimmingSpaces
        guard rest.hasPrefix("("), rest.hasSuffix(")") else { return nil }
        rest = String(rest.dropFirst().dropLast())
        return (key, rest.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty })
    }

    /// Splits on commas outside parentheses.
    static func splitTopLevel(_ text: String) -> [String] {
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
}

/// A field selector (`metadata.name=x,spec.nodeName!=y`); any dotted path is evaluated on the object.
struct FieldSelector: Sendable {
    var terms: [(path: String, value: String, negate: Bool)]

    init(parsing text: String) {
        terms = []
        for raw in text.split(separator: ",") {
            let term = String(raw)
            if let r = term.firstRange(of: "!=") {
                terms.append((String(term[..<r.lowerBound]), String(term[r.upperBound...]), true))
            } else if let r = term.firstRange(of: "==") ?? term.firstRange(of: "=") {
                terms.append((String(term[..<r.lowerBound]), String(term[r.upperBound...]), false))
            }
        }
    }

    func matches(_ object: JSONValue) -> Bool {
        terms.allSatisfy { t in
            let v = JSONOps.get(object, path: t.path)
            let s: String
            switch v {
            case .string(let x)?: s = x
            case .int(let x)?: s = String(x)
            case .bool(let x)?: s = String(x)
            case .double(let x)?: s = String(x)
            default: s = ""
            }
            return (s == t.value) != t.negate
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
