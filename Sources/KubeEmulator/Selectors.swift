import KubeAPI
import YAML

/// The emulator evaluates label selectors with the same parser the controller uses.
typealias LabelSelector = LabelSelectorExpression

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
