/// One step of a value path such as `users[0].user.token` or `metadata.annotations["app.kubernetes.io/name"]`.
public enum JSONPathComponent: Sendable, Hashable {
    case key(String)
    case index(Int)
}

/// Formatting and parsing of the dotted paths used in error messages and by `YAMLDocument.mark(at:)`.
///
/// Grammar: a path is a sequence of components; a key is written `name` at the start and `.name` after,
/// an index `[3]`; a key that is empty or contains `.`, `[`, `]`, `"` or `\` is written `["key"]` with `"` and
/// `\` escaped by a backslash. The empty path is the root.
public enum JSONPath {
    public static func format(_ components: some Sequence<JSONPathComponent>) -> String {
        var out = ""
        for c in components {
            switch c {
            case .index(let i):
                out += "[\(i)]"
            case .key(let k):
                if needsBrackets(k) {
                    out += "[\""
                    for ch in k.unicodeScalars {
                        if ch == "\"" || ch == "\\" { out.unicodeScalars.append("\\") }
                        out.unicodeScalars.append(ch)
                    }
                    out += "\"]"
                } else {
                    if !out.isEmpty { out += "." }
                    out += k
                }
            }
        }
        return out
    }

    /// The components of a coding path: keys of unkeyed containers become indices.
    public static func components(of codingPath: [any CodingKey]) -> [JSONPathComponent] {
        codingPath.map { key in
            if let i = key as? IndexCodingKey { return .index(i.index) }
            return .key(key.stringValue)
        }
    }

    public static func format(codingPath: [any CodingKey]) -> String {
        format(components(of: codingPath))
    }

    /// Parses a path; `nil` when it is malformed.
    public static func parse(_ path: String) -> [JSONPathComponent]? {
        var result: [JSONPathComponent] = []
        let s = Array(path.utf8)
        var i = 0
        var expectKey = true  // a bare name is allowed at the start and after '.'
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "[") {
                i += 1
                guard i < s.count else { return nil }
                if s[i] == UInt8(ascii: "\"") {
                    i += 1
                    var bytes: [UInt8] = []
                    var closed = false
                    while i < s.count {
                        let b = s[i]
                        if b == UInt8(ascii: "\\") {
                            guard i + 1 < s.count else { return nil }
                            bytes.append(s[i + 1])
                            i += 2
                        } else if b == UInt8(ascii: "\"") {
                            closed = true
                            i += 1
                            break
                        } else {
                            bytes.append(b)
                            i += 1
                        }
                    }
                    guard closed, i < s.count, s[i] == UInt8(ascii: "]") else { return nil }
                    i += 1
                    result.append(.key(String(decoding: bytes, as: UTF8.self)))
                } else {
                    var n = 0
                    var digits = 0
                    while i < s.count, s[i] >= UInt8(ascii: "0"), s[i] <= UInt8(ascii: "9") {
                        let (m, o1) = n.multipliedReportingOverflow(by: 10)
                        let (a, o2) = m.addingReportingOverflow(Int(s[i] - UInt8(ascii: "0")))
                        guard !o1, !o2 else { return nil }
                        n = a
                        digits += 1
                        i += 1
                    }
                    guard digits > 0, i < s.count, s[i] == UInt8(ascii: "]") else { return nil }
                    i += 1
                    result.append(.index(n))
                }
                expectKey = false
            } else if c == UInt8(ascii: ".") {
                guard !result.isEmpty, !expectKey else { return nil }
                i += 1
                expectKey = true
                guard i < s.count, s[i] != UInt8(ascii: "."), s[i] != UInt8(ascii: "[") else { return nil }
            } else {
                guard expectKey else { return nil }
                let start = i
                while i < s.count, s[i] != UInt8(ascii: "."), s[i] != UInt8(ascii: "[") { i += 1 }
                result.append(.key(String(decoding: s[start..<i], as: UTF8.self)))
                expectKey = false
            }
        }
        if expectKey && !result.isEmpty { return nil }
        return result
    }

    static func needsBrackets(_ key: String) -> Bool {
        if key.isEmpty { return true }
        for b in key.utf8 {
            switch b {
            case UInt8(ascii: "."), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\""), UInt8(ascii: "\\"):
                return true
            default:
                continue
            }
        }
        return false
    }
}

/// The coding key of an element of an unkeyed container; paths print it as `[index]` (also usable in the
/// coding path of an error a type throws itself).
public struct IndexCodingKey: CodingKey, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public init?(intValue: Int) { index = intValue }
    public init?(stringValue: String) { nil }
    public var intValue: Int? { index }
    public var stringValue: String { "Index \(index)" }
}

extension JSONValue {
    /// The value at a path such as `spec.template.spec.containers[0].image` (see `JSONPath`); `nil` when the
    /// path is malformed or leads nowhere. The empty path is the value itself.
    public func value(at path: String) -> JSONValue? {
        guard let components = JSONPath.parse(path) else { return nil }
        return value(at: components)
    }

    public func value(at components: some Sequence<JSONPathComponent>) -> JSONValue? {
        var current = self
        for c in components {
            switch c {
            case .key(let k):
                guard let next = current[k] else { return nil }
                current = next
            case .index(let i):
                guard let next = current[i] else { return nil }
                current = next
            }
        }
        return current
    }
}
