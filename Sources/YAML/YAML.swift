/// Reading and writing YAML, built on libyaml's event parser and emitter.
///
/// ## Schema
/// Plain scalars are typed by the **YAML 1.2 core schema**:
/// - null: `null`, `Null`, `NULL`, `~` and the empty scalar;
/// - bool: `true`, `True`, `TRUE`, `false`, `False`, `FALSE`;
/// - int: `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+` (beyond Int64 they become doubles);
/// - float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?.inf` (any of the three casings),
///   `.nan`;
/// - everything else is a string: `yes`/`no`/`on`/`off`, `1_000`, `0b1`, timestamps, `1.2.3`.
///
/// Quoted scalars (single, double, literal `|`, folded `>`) are always strings. Explicit core tags win
/// (`!!str 1` is `"1"`, `!!int "3"` is 3, `!!float`, `!!bool`, `!!null`, `!!map`, `!!seq`); the non-specific
/// tag `!` makes a string; other tags are ignored and the node is typed by its content. YAML 1.1 merge keys
/// (`<<: *base`, or a list of mappings) are supported: the merged entries are inserted where the `<<` key
/// stands, except keys that the mapping gives explicitly (those win and keep their own position) and, in a
/// list, keys that an earlier mapping of the list already gave.
///
/// **Compared with Kubernetes**: `kubectl` and `sigs.k8s.io/yaml` use go-yaml v2, a YAML 1.1 reader, which
/// also reads `yes`/`no`/`on`/`off`/`y`/`n` as booleans, `0777` as octal and `1_000` as 1000. We follow
/// YAML 1.2 here, so such values stay strings (and `0777` is 777). When writing, `dump` quotes those strings
/// anyway, so its output means the same thing to both readers.
///
/// ## Structure
/// Mapping keys must be scalars; non-string scalar keys become their source text (`1: a` has key `"1"`).
/// A key repeated in one mapping is an error. Aliases are expanded; a stream whose aliases would expand to
/// more than `maxAliasExpansion` nodes (a "billion laughs" bomb) is refused, as is nesting deeper than
/// `maxDepth`. A document that holds nothing but comments or whitespace (e.g. after a trailing `---`) is
/// skipped by `loadAll`/`loadDocuments`, as kubectl does; `--- null` or `--- ~` is a document holding null.
///
/// Errors are `YAMLError`s with libyaml's problem text and a 1-based line and column.
public enum YAML {
    /// The most nodes that aliases may add to one stream.
    public static let maxAliasExpansion = 1_000_000
    /// The deepest nesting of collections accepted (deeper values would overflow recursive consumers).
    public static let maxDepth = 1_000

    /// Parses a stream that must hold at most one document; an empty stream is `.null`.
    public static func load(_ text: String) throws -> JSONValue {
        try single(text: text, marks: false).value
    }

    public static func load(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        try withBytes(bytes) { b in try single(b, marks: false).value }
    }

    /// All documents of a multi-document stream. Documents that are entirely empty are skipped.
    public static func loadAll(_ text: String) throws -> [JSONValue] {
        var text = text
        return try text.withUTF8 { b in try YAMLLoader.load(b, marks: false).map(\.value) }
    }

    public static func loadAll(_ bytes: some Collection<UInt8>) throws -> [JSONValue] {
        try withBytes(bytes) { b in try YAMLLoader.load(b, marks: false).map(\.value) }
    }

    /// Like `loadAll`, keeping the source position of every node.
    public static func loadDocuments(_ text: String) throws -> [YAMLDocument] {
        var text = text
        return try text.withUTF8 { b in try YAMLLoader.load(b, marks: true) }
    }

    public static func loadDocuments(_ bytes: some Collection<UInt8>) throws -> [YAMLDocument] {
        try withBytes(bytes) { b in try YAMLLoader.load(b, marks: true) }
    }

    /// Emits one block-style document, ending in a newline.
    public static func dump(_ value: JSONValue) -> String {
        YAMLEmitter.dump([value])
    }

    /// Emits several documents separated by `---`; an empty list gives an empty string.
    public static func dumpAll(_ values: [JSONValue]) -> String {
        YAMLEmitter.dump(values)
    }

    /// Decodes a type from a single-document stream. Errors name the field path and position, e.g.
    /// `line 7, column 16: spec.minReplicas: expected an integer, found string "two"`. With `strict`, keys the
    /// type does not read are errors too, with the nearest valid key (files people write: scenarios,
    /// profiles, manifests); without it they are ignored (objects from an API server).
    public static func decode<T: Decodable>(_ type: T.Type, from text: String, strict: Bool = false) throws -> T {
        try single(text: text, marks: true).decode(type, strict: strict)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>, strict: Bool = false) throws
        -> T
    {
        try withBytes(bytes) { b in try single(b, marks: true) }.decode(type, strict: strict)
    }

    /// Parses a stream that must hold at most one document, keeping the source position of every node (an
    /// empty stream is a document holding `.null`).
    public static func loadDocument(_ text: String) throws -> YAMLDocument {
        try single(text: text, marks: true)
    }

    /// Encodes a value as one YAML document.
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        dump(try JSONValue(encoding: value))
    }

    // MARK: - Helpers

    private static func single(text: String, marks: Bool) throws -> YAMLDocument {
        var text = text
        return try text.withUTF8 { b in try single(b, marks: marks) }
    }

    private static func single(_ b: UnsafeBufferPointer<UInt8>, marks: Bool) throws -> YAMLDocument {
        let docs = try YAMLLoader.load(b, marks: marks, stopAfter: 2)
        if docs.count > 1 {
            throw YAMLError(
                message: "expected a single document but found another one", mark: docs[1].start)
        }
        return docs.first ?? YAMLDocument(value: .null)
    }

    private static func withBytes<R>(
        _ bytes: some Collection<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) throws -> R
    ) throws -> R {
        if let result = try bytes.withContiguousStorageIfAvailable(body) { return result }
        return try Array(bytes).withUnsafeBufferPointer(body)
    }
}

/// A position in YAML source text, 1-based; columns count characters.
public struct YAMLMark: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "line \(line), column \(column)" }
}

/// An error reading or decoding YAML. `description` reads `line L, column C: path: message`.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var mark: YAMLMark?
    /// The field path of a decoding error, e.g. `spec.minReplicas`.
    public var path: String?

    public init(message: String, mark: YAMLMark? = nil, path: String? = nil) {
        self.message = message
        self.mark = mark
        self.path = path
    }

    public var description: String {
        var s = ""
        if let mark { s += "\(mark): " }
        if let path, !path.isEmpty { s += "\(path): " }
        return s + message
    }
}

/// One parsed document with the source position of each of its nodes.
public struct YAMLDocument: Sendable {
    public var value: JSONValue
    /// Where the document starts (its `---`, or its first node).
    public var start: YAMLMark
    /// Where this document sits in an enclosing one (see `subdocument(at:)`); errors name paths from there.
    public var basePath: [JSONPathComponent] = []
    let marks: MarkNode?

    /// A document without positions, e.g. built in code.
    public init(value: JSONValue) {
        self.value = value
        self.start = YAMLMark(line: 1, column: 1)
        self.marks = nil
    }

    init(value: JSONValue, start: YAMLMark, marks: MarkNode?) {
        self.value = value
        self.start = start
        self.marks = marks
    }

    /// The position of the node at a path such as `users[0].user.token` or `metadata.labels.app` (`""` is the
    /// root); keys containing `.` or `[` are written `["key.with.dots"]`. `nil` when there is no such node.
    /// An alias reports its own position, the nodes inside it those of the anchored node.
    public func mark(at path: String) -> YAMLMark? {
        guard let components = JSONPath.parse(path) else { return nil }
        return mark(at: components, deepest: false)
    }

    /// The node at `components` as a document of its own that keeps its positions in this one, e.g. an inline
    /// manifest inside a scenario file; its errors name the full path. `nil` when there is no such node.
    public func subdocument(at components: [JSONPathComponent]) -> YAMLDocument? {
        guard let (value, node) = walk(components) else { return nil }
        var doc = YAMLDocument(value: value, start: node?.mark ?? start, marks: node)
        doc.basePath = basePath + components
        return doc
    }

    /// The value and position node at `components`, or (with `deepest`) the deepest that exists.
    private func walk(_ components: [JSONPathComponent], deepest: Bool = false) -> (JSONValue, MarkNode?)? {
        var node = marks
        var value = self.value
        for c in components {
            var next: (JSONValue, MarkNode?)?
            switch (c, value) {
            case (.key(let k), .object(let o)):
                if let i = o.index(forKey: k) {
                    var child: MarkNode?
                    if case .mapping(_, let children, _) = node, i < children.count { child = children[i] }
                    next = (o[i].value, child)
                }
            case (.index(let i), .array(let a)):
                if a.indices.contains(i) {
                    var child: MarkNode?
                    if case .sequence(_, let children) = node, i < children.count { child = children[i] }
                    next = (a[i], child)
                }
            default:
                break
            }
            guard let next else { return deepest ? (value, node) : nil }
            (value, node) = next
        }
        return (value, node)
    }

    /// The position at the path, or with `deepest`, at the longest prefix of it that exists.
    func mark(at components: [JSONPathComponent], deepest: Bool) -> YAMLMark? {
        guard marks != nil, let (_, node) = walk(components, deepest: deepest) else { return nil }
        return node?.mark
    }

    /// The position of the key `key` of the mapping at `components` (where an unknown field is written).
    func keyMark(of key: String, at components: [JSONPathComponent]) -> YAMLMark? {
        guard marks != nil, let (value, node) = walk(components), case .object(let o) = value,
            case .mapping(_, _, let keys) = node, let i = o.index(forKey: key), i < keys.count
        else { return mark(at: components, deepest: true) }
        return keys[i]
    }

    /// Decodes the document, with errors naming the field path and its position. With `strict`, a key that the
    /// type does not read is an error too (see `JSONValue.decode(_:strict:userInfo:)`), reported at the
    /// key with the nearest valid one: `line 12, column 3: slo: unknown field "ttftMS", did you mean "ttftMs"?`.
    public func decode<T: Decodable>(_ type: T.Type, strict: Bool = false) throws -> T {
        do {
            return try value.decode(type, strict: strict)
        } catch let error as UnknownFieldError {
            let first = error.fields.min { a, b in
                let (ma, mb) = (keyMark(of: a.key, at: a.path), keyMark(of: b.key, at: b.path))
                return (ma?.line ?? .max, ma?.column ?? .max) < (mb?.line ?? .max, mb?.column ?? .max)
            } ?? error.fields[0]
            var message = first.message
            let others = error.fields.filter { $0 != first }
            if !others.isEmpty {
                message += " (and \(others.count) more: " + others.prefix(5).map { JSONPath.format(basePath + $0.path + [.key($0.key)]) }
                    .joined(separator: ", ") + (others.count > 5 ? ", …" : "") + ")"
            }
            throw YAMLError(message: message, mark: keyMark(of: first.key, at: first.path), path: JSONPath.format(basePath + first.path))
        } catch let error as DecodingError {
            var components: [JSONPathComponent]
            let message: String
            switch error {
            case .keyNotFound(let key, let context):
                components = JSONPath.components(of: context.codingPath)
                message = "missing required field"
                let markComponents = components
                components.append(.key(key.stringValue))
                throw YAMLError(
                    message: message, mark: mark(at: markComponents, deepest: true),
                    path: JSONPath.format(basePath + components))
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                components = JSONPath.components(of: context.codingPath)
                message = context.debugDescription
            @unknown default:
                throw YAMLError(message: "\(error)", mark: start)
            }
            throw YAMLError(
                message: message, mark: mark(at: components, deepest: true), path: JSONPath.format(basePath + components))
        } catch let error as YAMLError {
            throw error
        } catch {
            throw YAMLError(message: "\(error)", mark: marks?.mark, path: basePath.isEmpty ? nil : JSONPath.format(basePath))
        }
    }
}

/// Source positions, in the shape of the value tree: children are aligned with array elements and object
/// entries; a mapping also keeps the position of each key.
indirect enum MarkNode: Sendable {
    case scalar(YAMLMark)
    case sequence(YAMLMark, [MarkNode])
    case mapping(YAMLMark, [MarkNode], keys: [YAMLMark])

    var mark: YAMLMark {
        switch self {
        case .scalar(let m), .sequence(let m, _), .mapping(let m, _, _): return m
        }
    }

    func relocated(to mark: YAMLMark) -> MarkNode {
        switch self {
        case .scalar: return .scalar(mark)
        case .sequence(_, let c): return .sequence(mark, c)
        case .mapping(_, let c, let k): return .mapping(mark, c, keys: k)
        }
    }
}

extension DecodingError {
    /// The field path of the error, e.g. `spec.containers[0].image` (for a missing key, including the key).
    public var fieldPath: String {
        switch self {
        case .keyNotFound(let key, let context):
            return JSONPath.format(JSONPath.components(of: context.codingPath) + [.key(key.stringValue)])
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return JSONPath.format(codingPath: context.codingPath)
        @unknown default:
            return ""
        }
    }

    /// A one-line summary: `path: message`.
    public var summary: String {
        let message: String
        switch self {
        case .keyNotFound: message = "missing required field"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): message = c.debugDescription
        @unknown default: message = "\(self)"
        }
        let path = fieldPath
        return path.isEmpty ? message : "\(path): \(message)"
    }
}
