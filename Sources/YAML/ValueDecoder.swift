#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension JSONValue {
    /// Decodes a `Decodable` type from the value tree, as `JSONDecoder` would from its JSON text, with these
    /// conventions: `Date` is an RFC 3339 string (as in Kubernetes), `Data` a base64 string, `URL` a string;
    /// integers also accept doubles holding a whole number; `JSONValue` and `JSONObject` fields take the subtree
    /// as it is. Errors are `DecodingError`s whose messages read like `expected an integer, found string "two"`
    /// (see `DecodingError.summary`).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decode(type, userInfo: [:])
    }

    public func decode<T: Decodable>(_ type: T.Type, userInfo: [CodingUserInfoKey: any Sendable]) throws -> T {
        let decoder = ValueDecoder(value: self, path: .root, userInfo: userInfo)
        return try decoder.unbox(self, as: type, path: .root)
    }
}

/// A coding path kept as a linked list, turned into an array only when asked (mostly for errors).
indirect enum CodingPathNode {
    case root
    case node(any CodingKey, CodingPathNode)

    var path: [any CodingKey] {
        var keys: [any CodingKey] = []
        var current = self
        while case .node(let key, let parent) = current {
            keys.append(key)
            current = parent
        }
        return keys.reversed()
    }

    func appending(_ key: any CodingKey) -> CodingPathNode { .node(key, self) }
}

/// Describes a value for error messages: `string "two"`, `integer 3`, `object`.
func describeFound(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return "boolean \(b)"
    case .int(let i): return "integer \(i)"
    case .double(let d): return "number \(YAMLEmitter.format(d))"
    case .string(let s):
        var shown = ""
        for ch in s.unicodeScalars.prefix(60) {
            switch ch {
            case "\\": shown += "\\\\"
            case "\"": shown += "\\\""
            case "\n": shown += "\\n"
            case "\t": shown += "\\t"
            default: shown.unicodeScalars.append(ch)
            }
        }
        if s.unicodeScalars.count > 60 { shown += "…" }
        return "string \"\(shown)\""
    case .array: return "array"
    case .object: return "object"
    }
}

final class ValueDecoder: Decoder, SingleValueDecodingContainer {
    var value: JSONValue
    var pathNode: CodingPathNode
    let userInfoStorage: [CodingUserInfoKey: any Sendable]
    /// Set in strict mode: records the keys each mapping's type asks for.
    let tracker: StrictKeyTracker?

    init(value: JSONValue, path: CodingPathNode, userInfo: [CodingUserInfoKey: any Sendable], tracker: StrictKeyTracker? = nil) {
        self.value = value
        self.pathNode = path
        self.userInfoStorage = userInfo
        self.tracker = tracker
    }

    var codingPath: [any CodingKey] { pathNode.path }
    var userInfo: [CodingUserInfoKey: Any] { userInfoStorage }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw Self.mismatch(value, expected: "an object", type: [String: JSONValue].self, path: pathNode)
        }
        return KeyedDecodingContainer(KeyedValueDecodingContainer<Key>(decoder: self, object: object, path: pathNode))
    }

    /// The strict-mode record of the mapping at `path`.
    func record(at path: CodingPathNode, object: JSONObject) -> StrictKeyTracker.Record? {
        tracker?.record(at: path, object: object)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            throw Self.mismatch(value, expected: "an array", type: [JSONValue].self, path: pathNode)
        }
        return UnkeyedValueDecodingContainer(decoder: self, items: items, path: pathNode)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Errors

    static func mismatch(_ value: JSONValue, expected: String, type: Any.Type, path: CodingPathNode)
        -> DecodingError
    {
        let context = DecodingError.Context(
            codingPath: path.path, debugDescription: "expected \(expected), found \(describeFound(value))")
        if case .null = value { return .valueNotFound(type, context) }
        return .typeMismatch(type, context)
    }

    static func corrupted(_ message: String, path: CodingPathNode) -> DecodingError {
        .dataCorrupted(DecodingError.Context(codingPath: path.path, debugDescription: message))
    }

    // MARK: Unboxing

    func unbox<T: Decodable>(_ value: JSONValue, as type: T.Type, path: CodingPathNode) throws -> T {
        switch type {
        case is JSONValue.Type:
            tracker?.markOpaque(path)
            return value as! T
        case is String.Type: return try unboxString(value, path: path) as! T
        case is Int.Type: return try unboxInteger(value, as: Int.self, path: path) as! T
        case is Int64.Type: return try unboxInteger(value, as: Int64.self, path: path) as! T
        case is Int32.Type: return try unboxInteger(value, as: Int32.self, path: path) as! T
        case is Double.Type: return try unboxDouble(value, path: path) as! T
        case is Bool.Type: return try unboxBool(value, path: path) as! T
        case is JSONObject.Type:
            guard case .object(let o) = value else {
                throw Self.mismatch(value, expected: "an object", type: type, path: path)
            }
            tracker?.markOpaque(path)
            return o as! T
        case is Date.Type:
            guard case .string(let s) = value else {
                throw Self.mismatch(value, expected: "an RFC 3339 timestamp string", type: type, path: path)
            }
            guard let date = RFC3339.parse(s) else {
                throw Self.corrupted("expected an RFC 3339 timestamp, found \(describeFound(value))", path: path)
            }
            return date as! T
        case is Data.Type:
            guard case .string(let s) = value else {
                throw Self.mismatch(value, expected: "a base64 string", type: type, path: path)
            }
            guard let data = Data(base64Encoded: s) else {
                throw Self.corrupted("expected base64 data, found \(describeFound(value))", path: path)
            }
            return data as! T
        case is URL.Type:
            guard case .string(let s) = value else {
                throw Self.mismatch(value, expected: "a URL string", type: type, path: path)
            }
            guard let url = URL(string: s) else {
                throw Self.corrupted("expected a URL, found \(describeFound(value))", path: path)
            }
            return url as! T
        default:
            let savedValue = self.value
            let savedPath = self.pathNode
            self.value = value
            self.pathNode = path
            defer {
                self.value = savedValue
                self.pathNode = savedPath
            }
            let result = try T(from: self)
            if let tracker, let ignoring = T.self as? any StrictDecodingIgnoredKeys.Type, case .object(let o) = value {
                let record = tracker.record(at: path, object: o)
                for key in ignoring.ignoredKeys { record.ask(key) }
            }
            return result
        }
    }

    func unboxString(_ value: JSONValue, path: @autoclosure () -> CodingPathNode) throws -> String {
        guard case .string(let s) = value else {
            throw Self.mismatch(value, expected: "a string", type: String.self, path: path())
        }
        return s
    }

    func unboxBool(_ value: JSONValue, path: @autoclosure () -> CodingPathNode) throws -> Bool {
        guard case .bool(let b) = value else {
            throw Self.mismatch(value, expected: "a boolean", type: Bool.self, path: path())
        }
        return b
    }

    func unboxDouble(_ value: JSONValue, path: @autoclosure () -> CodingPathNode) throws -> Double {
        switch value {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: throw Self.mismatch(value, expected: "a number", type: Double.self, path: path())
        }
    }

    func unboxFloat(_ value: JSONValue, path: @autoclosure () -> CodingPathNode) throws -> Float {
        let d = try unboxDouble(value, path: path())
        let f = Float(d)
        if d.isFinite && !f.isFinite {
            throw Self.corrupted("number \(YAMLEmitter.format(d)) does not fit in Float", path: path())
        }
        return f
    }

    func unboxInteger<I: FixedWidthInteger>(
        _ value: JSONValue, as type: I.Type, path: @autoclosure () -> CodingPathNode
    ) throws -> I {
        switch value {
        case .int(let i):
            guard let v = I(exactly: i) else {
                throw Self.corrupted("number \(i) does not fit in \(I.self)", path: path())
            }
            return v
        case .double(let d):
            guard d.isFinite, d.rounded() == d else {
                throw Self.mismatch(value, expected: "an integer", type: I.self, path: path())
            }
            guard let v = I(exactly: d) else {
                throw Self.corrupted("number \(YAMLEmitter.format(d)) does not fit in \(I.self)", path: path())
            }
            return v
        default:
            throw Self.mismatch(value, expected: "an integer", type: I.self, path: path())
        }
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try unboxBool(value, path: pathNode) }
    func decode(_ type: String.Type) throws -> String { try unboxString(value, path: pathNode) }
    func decode(_ type: Double.Type) throws -> Double { try unboxDouble(value, path: pathNode) }
    func decode(_ type: Float.Type) throws -> Float { try unboxFloat(value, path: pathNode) }
    func decode(_ type: Int.Type) throws -> Int { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: Int8.Type) throws -> Int8 { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: Int16.Type) throws -> Int16 { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: Int32.Type) throws -> Int32 { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: Int64.Type) throws -> Int64 { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: UInt.Type) throws -> UInt { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try unboxInteger(value, as: type, path: pathNode) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try unboxInteger(value, as: type, path: pathNode) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unbox(value, as: type, path: pathNode) }
}

struct KeyedValueDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: ValueDecoder
    let object: JSONObject
    let path: CodingPathNode
    /// For larger objects, a hash index instead of linear lookups.
    let index: [String: Int]?
    /// Strict mode: the keys this mapping's type asks for.
    let record: StrictKeyTracker.Record?

    init(decoder: ValueDecoder, object: JSONObject, path: CodingPathNode) {
        self.decoder = decoder
        self.object = object
        self.path = path
        self.record = decoder.record(at: path, object: object)
        if object.count > 12 {
            var index = [String: Int](minimumCapacity: object.count)
            for (i, e) in object.entries.enumerated() { index[e.key] = i }
            self.index = index
        } else {
            self.index = nil
        }
    }

    var codingPath: [any CodingKey] { path.path }
    var allKeys: [Key] {
        record?.all = true
        return object.entries.compactMap { Key(stringValue: $0.key) }
    }

    @inline(__always) func find(_ key: Key) -> JSONValue? {
        record?.ask(key.stringValue)
        if let index {
            guard let i = index[key.stringValue] else { return nil }
            return object.entries[i].value
        }
        let name = key.stringValue
        for e in object.entries where e.key == name { return e.value }
        return nil
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func lookup(_ key: Key) throws -> JSONValue {
        guard let value = find(key) else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(
                    codingPath: path.path, debugDescription: "missing required field \"\(key.stringValue)\""))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try lookup(key).isNull }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try decoder.unboxBool(lookup(key), path: path.appending(key))
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try decoder.unboxString(lookup(key), path: path.appending(key))
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try decoder.unboxDouble(lookup(key), path: path.appending(key))
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try decoder.unboxFloat(lookup(key), path: path.appending(key))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try decoder.unboxInteger(lookup(key), as: type, path: path.appending(key))
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.unbox(lookup(key), as: type, path: path.appending(key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = find(key), !value.isNull else { return nil }
        return try decoder.unbox(value, as: type, path: path.appending(key))
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = find(key), !value.isNull else { return nil }
        return try decoder.unboxString(value, path: path.appending(key))
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let value = find(key), !value.isNull else { return nil }
        return try decoder.unboxBool(value, path: path.appending(key))
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let value = find(key), !value.isNull else { return nil }
        return try decoder.unboxInteger(value, as: type, path: path.appending(key))
    }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        guard let value = find(key), !value.isNull else { return nil }
        return try decoder.unboxInteger(value, as: type, path: path.appending(key))
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        guard let value = find(key), !value.isNull else { return nil }
        return try decoder.unboxInteger(value, as: type, path: path.appending(key))
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let value = find(key), !value.isNull else { return nil }
        return try decoder.unboxDouble(value, path: path.appending(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let value = try lookup(key)
        let nestedPath = path.appending(key)
        guard case .object(let o) = value else {
            throw ValueDecoder.mismatch(value, expected: "an object", type: [String: JSONValue].self, path: nestedPath)
        }
        return KeyedDecodingContainer(KeyedValueDecodingContainer<NestedKey>(decoder: decoder, object: o, path: nestedPath))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let value = try lookup(key)
        let nestedPath = path.appending(key)
        guard case .array(let items) = value else {
            throw ValueDecoder.mismatch(value, expected: "an array", type: [JSONValue].self, path: nestedPath)
        }
        return UnkeyedValueDecodingContainer(decoder: decoder, items: items, path: nestedPath)
    }

    func superDecoder() throws -> any Decoder {
        let key = AnyCodingKey("super")
        record?.ask("super")
        return ValueDecoder(
            value: object["super"] ?? .null, path: path.appending(key), userInfo: decoder.userInfoStorage,
            tracker: decoder.tracker)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(
            value: find(key) ?? .null, path: path.appending(key), userInfo: decoder.userInfoStorage, tracker: decoder.tracker)
    }
}

struct UnkeyedValueDecodingContainer: UnkeyedDecodingContainer {
    let decoder: ValueDecoder
    let items: [JSONValue]
    let path: CodingPathNode
    private(set) var currentIndex = 0

    init(decoder: ValueDecoder, items: [JSONValue], path: CodingPathNode) {
        self.decoder = decoder
        self.items = items
        self.path = path
    }

    var codingPath: [any CodingKey] { path.path }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private func current<T>(_ type: T.Type) throws -> JSONValue {
        guard currentIndex < items.count else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: path.appending(IndexCodingKey(currentIndex)).path,
                    debugDescription: "expected another element, found the end of the array"))
        }
        return items[currentIndex]
    }

    private var elementPath: CodingPathNode { path.appending(IndexCodingKey(currentIndex)) }

    mutating func decodeNil() throws -> Bool {
        if try current(JSONValue.self).isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    private mutating func advance<T>(_ value: T) -> T {
        currentIndex += 1
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        advance(try decoder.unboxBool(current(type), path: elementPath))
    }
    mutating func decode(_ type: String.Type) throws -> String {
        advance(try decoder.unboxString(current(type), path: elementPath))
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        advance(try decoder.unboxDouble(current(type), path: elementPath))
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        advance(try decoder.unboxFloat(current(type), path: elementPath))
    }
    mutating func decode(_ type: Int.Type) throws -> Int {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: UInt.Type) throws -> UInt {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        advance(try decoder.unboxInteger(current(type), as: type, path: elementPath))
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        advance(try decoder.unbox(current(type), as: type, path: elementPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let p = elementPath
        let value = try current(JSONValue.self)
        guard case .object(let o) = value else {
            throw ValueDecoder.mismatch(value, expected: "an object", type: [String: JSONValue].self, path: p)
        }
        return advance(
            KeyedDecodingContainer(KeyedValueDecodingContainer<NestedKey>(decoder: decoder, object: o, path: p)))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let p = elementPath
        let value = try current(JSONValue.self)
        guard case .array(let items) = value else {
            throw ValueDecoder.mismatch(value, expected: "an array", type: [JSONValue].self, path: p)
        }
        return advance(UnkeyedValueDecodingContainer(decoder: decoder, items: items, path: p))
    }

    mutating func superDecoder() throws -> any Decoder {
        let p = elementPath
        return advance(
            ValueDecoder(value: try current(JSONValue.self), path: p, userInfo: decoder.userInfoStorage, tracker: decoder.tracker))
    }
}
