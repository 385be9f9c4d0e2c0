/// Strict decoding: a key that the decoded type never reads is an error, not silently dropped.
///
/// The valid keys of a `Decodable` type are learnt from the type itself: while decoding, every keyed
/// container records the keys its type asked for (`decode`, `decodeIfPresent`, `contains`, …, and every key
/// when it reads `allKeys`, as dictionaries do). Afterwards any key of a mapping that no container at that path
/// asked for is unknown. Subtrees taken whole (`JSONValue`/`JSONObject` fields) accept anything. The nearest
/// asked-for key (edit distance, case-insensitive) is offered as a correction.

/// A type whose strict decoding accepts keys that its `init(from:)` does not read: fields that are valid in
/// the format but of no use to the program (e.g. `metadata.managedFields` of a Kubernetes object).
public protocol StrictDecodingIgnoredKeys {
    /// Keys accepted without being read; they also count as valid keys for "did you mean" suggestions.
    static var ignoredKeys: [String] { get }
}

/// Keys of a strictly decoded value that its type does not know. `description` reads
/// `slo: unknown field "ttftMS", did you mean "ttftMs"?`.
public struct UnknownFieldError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Field: Sendable, Hashable {
        /// The path of the mapping holding the key.
        public var path: [JSONPathComponent]
        public var key: String
        /// The keys the type reads at that path, in the order it asked for them.
        public var validKeys: [String]
        /// The nearest valid key, if one is close enough to be a likely typo.
        public var suggestion: String?

        /// `unknown field "ttftMS", did you mean "ttftMs"?` (or the list of valid fields when none is near).
        public var message: String {
            var m = "unknown field \"\(key)\""
            if let suggestion {
                m += ", did you mean \"\(suggestion)\"?"
            } else if validKeys.isEmpty {
                m += "; this mapping takes no fields"
            } else if validKeys.count <= 16 {
                m += "; valid fields: " + validKeys.joined(separator: ", ")
            }
            return m
        }
    }

    /// Every unknown key, in decoding order.
    public var fields: [Field]

    public var description: String {
        guard let first = fields.first else { return "unknown field" }
        let path = JSONPath.format(first.path)
        var s = (path.isEmpty ? "" : "\(path): ") + first.message
        if fields.count > 1 {
            s += " (and \(fields.count - 1) more: "
                + fields.dropFirst().prefix(5).map { JSONPath.format($0.path + [.key($0.key)]) }.joined(separator: ", ")
                + (fields.count > 6 ? ", …" : "") + ")"
        }
        return s
    }
}

/// The keys asked for per mapping during one strict decode.
final class StrictKeyTracker {
    final class Record {
        let path: [JSONPathComponent]
        let object: JSONObject
        var asked: [String] = []
        var askedSet: Set<String> = []
        /// The type read `allKeys`: every key is taken (a map).
        var all = false

        init(path: [JSONPathComponent], object: JSONObject) {
            self.path = path
            self.object = object
        }

        func ask(_ key: String) {
            if askedSet.insert(key).inserted { asked.append(key) }
        }
    }

    private var records: [Record] = []
    private var byPath: [String: Record] = [:]
    /// Paths decoded as raw `JSONValue`/`JSONObject`: anything below them is accepted.
    private var opaque: [[JSONPathComponent]] = []

    /// The record of the mapping at `path` (several containers at one path share one).
    func record(at path: CodingPathNode, object: JSONObject) -> Record {
        let components = JSONPath.components(of: path.path)
        let key = JSONPath.format(components)
        if let r = byPath[key] { return r }
        let r = Record(path: components, object: object)
        records.append(r)
        byPath[key] = r
        return r
    }

    func existingRecord(at components: [JSONPathComponent]) -> Record? { byPath[JSONPath.format(components)] }

    func markOpaque(_ path: CodingPathNode) {
        opaque.append(JSONPath.components(of: path.path))
    }

    private func isOpaque(_ path: [JSONPathComponent]) -> Bool {
        opaque.contains { o in o.count <= path.count && Array(path.prefix(o.count)) == o }
    }

    /// Keys present in a mapping that no container at its path asked for.
    func unknownFields() -> [UnknownFieldError.Field] {
        var out: [UnknownFieldError.Field] = []
        for r in records where !r.all && !isOpaque(r.path) {
            for e in r.object.entries where !r.askedSet.contains(e.key) {
                out.append(UnknownFieldError.Field(
                    path: r.path, key: e.key, validKeys: r.asked, suggestion: KeySuggestion.nearest(to: e.key, in: r.asked)))
            }
        }
        return out
    }
}

/// "Did you mean" for keys: the closest candidate by optimal-string-alignment distance (adjacent swaps count
/// one), ignoring case, if it is close enough to be a typo.
public enum KeySuggestion {
    public static func nearest(to key: String, in candidates: [String]) -> String? {
        let k = Array(key.lowercased())
        var best: (distance: Int, key: String)?
        for c in candidates where c != key {
            let d = distance(k, Array(c.lowercased()))
            if best == nil || d < best!.distance { best = (d, c) }
        }
        guard let best, best.distance <= max(1, (min(k.count, best.key.count) + 2) / 3) else { return nil }
        return best.key
    }

    /// Optimal string alignment distance (Levenshtein plus transpositions of neighbours).
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev2 = [Int](repeating: 0, count: b.count + 1)
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    cur[j] = min(cur[j], prev2[j - 2] + 1)
                }
            }
            (prev2, prev, cur) = (prev, cur, prev2)
        }
        return prev[b.count]
    }
}

extension JSONValue {
    /// Decodes like `decode(_:)`; with `strict`, keys of a mapping that the type never asks for throw
    /// `UnknownFieldError` (after a successful decode, listing them all). A required field that is missing
    /// while a key close to it is present reports that key as the typo it probably is.
    public func decode<T: Decodable>(_ type: T.Type, strict: Bool, userInfo: [CodingUserInfoKey: any Sendable] = [:])
        throws -> T
    {
        guard strict else { return try decode(type, userInfo: userInfo) }
        let tracker = StrictKeyTracker()
        let decoder = ValueDecoder(value: self, path: .root, userInfo: userInfo, tracker: tracker)
        let result: T
        do {
            result = try decoder.unbox(self, as: type, path: .root)
        } catch DecodingError.keyNotFound(let key, let context) {
            // `maxReplica: 5` for the required `maxReplicas`: the typo is the better message.
            let path = JSONPath.components(of: context.codingPath)
            if case .object(let object)? = value(at: path) {
                let asked = tracker.existingRecord(at: path)?.askedSet ?? []
                let present = object.entries.map(\.key).filter { !asked.contains($0) }
                if let typo = present.first(where: { KeySuggestion.nearest(to: $0, in: [key.stringValue]) != nil }) {
                    let valid = (tracker.existingRecord(at: path)?.asked ?? []) + (asked.contains(key.stringValue) ? [] : [key.stringValue])
                    throw UnknownFieldError(fields: [.init(path: path, key: typo, validKeys: valid, suggestion: key.stringValue)])
                }
            }
            throw DecodingError.keyNotFound(key, context)
        }
        let unknown = tracker.unknownFields()
        guard unknown.isEmpty else { throw UnknownFieldError(fields: unknown) }
        return result
    }
}
