#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension JSONValue {
    /// Encodes an `Encodable` value into a tree, with the conventions of `decode(_:)`: keys in the order they
    /// were encoded, `Date` as an RFC 3339 string in UTC, `Data` as base64, `URL` as its string. A value that
    /// encodes nothing becomes an empty object. Non-finite doubles are kept (YAML can carry them; JSON output
    /// refuses them).
    public init<T: Encodable>(encoding value: T) throws {
        try self.init(encoding: value, userInfo: [:])
    }

    public init<T: Encodable>(encoding value: T, userInfo: [CodingUserInfoKey: any Sendable]) throws {
        let encoder = ValueEncoder(path: .root, userInfo: userInfo)
        self = try encoder.box(value, path: .root).finish()
    }
}

/// A node under construction; containers are reference types so that nested containers can fill them later.
enum EncodedNode {
    case value(JSONValue)
    case object(EncodedObject)
    case array(EncodedArray)

    func finish() -> JSONValue {
        switch self {
        case .value(let v): return v
        case .object(let o):
            var entries: [JSONObject.Entry] = []
            entries.reserveCapacity(o.keys.count)
            for k in 0..<o.keys.count { entries.append(JSONObject.Entry(key: o.keys[k], value: o.values[k].finish())) }
            return .object(JSONObject(entries))
        case .array(let a):
            return .array(a.items.map { $0.finish() })
        }
    }
}

final class EncodedObject {
    var keys: [String] = []
    var values: [EncodedNode] = []
    var index: [String: Int] = [:]

    func set(_ key: String, _ node: EncodedNode) {
        let existing: Int?
        if keys.count <= 16 {
            existing = keys.firstIndex(of: key)
        } else {
            if index.isEmpty { for (i, k) in keys.enumerated() { index[k] = i } }
            existing = index[key]
        }
        if let existing {
            values[existing] = node
        } else {
            if !index.isEmpty { index[key] = keys.count }
            keys.append(key)
            values.append(node)
        }
    }
}

final class EncodedArray {
    var items: [EncodedNode] = []
}

final class ValueEncoder: Encoder, SingleValueEncodingContainer {
    enum Slot {
        case object(EncodedObject, String)
        case array(EncodedArray, Int)
    }

    private(set) var node: EncodedNode?
    let pathNode: CodingPathNode
    let userInfoStorage: [CodingUserInfoKey: any Sendable]
    /// Where a super-encoder writes its result.
    let slot: Slot?

    init(path: CodingPathNode, userInfo: [CodingUserInfoKey: any Sendable], slot: Slot? = nil) {
        self.pathNode = path
        self.userInfoStorage = userInfo
        self.slot = slot
    }

    var codingPath: [any CodingKey] { pathNode.path }
    var userInfo: [CodingUserInfoKey: Any] { userInfoStorage }

    private func set(_ newNode: EncodedNode) {
        node = newNode
        switch slot {
        case .object(let o, let key): o.set(key, newNode)
        case .array(let a, let i): a.items[i] = newNode
        case nil: break
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: EncodedObject
        if case .object(let existing)? = node {
            object = existing
        } else {
            object = EncodedObject()
            set(.object(object))
        }
        return KeyedEncodingContainer(KeyedValueEncodingContainer<Key>(encoder: self, object: object, path: pathNode))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: EncodedArray
        if case .array(let existing)? = node {
            array = existing
        } else {
            array = EncodedArray()
            set(.array(array))
        }
        return UnkeyedValueEncodingContainer(encoder: self, array: array, path: pathNode)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: Boxing

    func box<T: Encodable>(_ value: T, path: CodingPathNode) throws -> EncodedNode {
        // Metatype checks are cheaper than casting the value to each candidate type.
        if T.self == String.self { return .value(.string(value as! String)) }
        if T.self == Int.self { return .value(.int(Int64(value as! Int))) }
        if T.self == Double.self { return .value(.double(value as! Double)) }
        if T.self == Bool.self { return .value(.bool(value as! Bool)) }
        if T.self == JSONValue.self { return .value(value as! JSONValue) }
        if T.self == Int64.self { return .value(.int(value as! Int64)) }
        if T.self == Int32.self { return .value(.int(Int64(value as! Int32))) }
        if T.self == JSONObject.self { return .value(.object(value as! JSONObject)) }
        if T.self == Date.self { return .value(.string(RFC3339.format(value as! Date))) }
        if T.self == Data.self { return .value(.string((value as! Data).base64EncodedString())) }
        if T.self == URL.self { return .value(.string((value as! URL).absoluteString)) }
        let encoder = ValueEncoder(path: path, userInfo: userInfoStorage)
        try value.encode(to: encoder)
        return encoder.node ?? .object(EncodedObject())
    }

    static func integer<I: FixedWidthInteger>(_ v: I) -> JSONValue {
        if let i = Int64(exactly: v) { return .int(i) }
        return .double(Double(v))
    }

    static func float(_ f: Float) -> JSONValue {
        // The double nearest to the float's shortest decimal form: 0.1 as Float gives 0.1, not 0.100000001.
        guard f.isFinite else { return .double(Double(f)) }
        return .double(Double(f.description) ?? Double(f))
    }

    // MARK: SingleValueEncodingContainer

    func encodeNil() { set(.value(.null)) }
    func encode(_ value: Bool) { set(.value(.bool(value))) }
    func encode(_ value: String) { set(.value(.string(value))) }
    func encode(_ value: Double) { set(.value(.double(value))) }
    func encode(_ value: Float) { set(.value(Self.float(value))) }
    func encode(_ value: Int) { set(.value(Self.integer(value))) }
    func encode(_ value: Int8) { set(.value(Self.integer(value))) }
    func encode(_ value: Int16) { set(.value(Self.integer(value))) }
    func encode(_ value: Int32) { set(.value(Self.integer(value))) }
    func encode(_ value: Int64) { set(.value(Self.integer(value))) }
    func encode(_ value: UInt) { set(.value(Self.integer(value))) }
    func encode(_ value: UInt8) { set(.value(Self.integer(value))) }
    func encode(_ value: UInt16) { set(.value(Self.integer(value))) }
    func encode(_ value: UInt32) { set(.value(Self.integer(value))) }
    func encode(_ value: UInt64) { set(.value(Self.integer(value))) }
    func encode<T: Encodable>(_ value: T) throws { set(try box(value, path: pathNode)) }
}

struct KeyedValueEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: ValueEncoder
    let object: EncodedObject
    let path: CodingPathNode

    var codingPath: [any CodingKey] { path.path }

    private func put(_ value: JSONValue, _ key: Key) { object.set(key.stringValue, .value(value)) }

    mutating func encodeNil(forKey key: Key) { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) { put(.double(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) { put(ValueEncoder.float(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { put(ValueEncoder.integer(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(key.stringValue, try encoder.box(value, path: path.appending(key)))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = EncodedObject()
        object.set(key.stringValue, .object(nested))
        return KeyedEncodingContainer(
            KeyedValueEncodingContainer<NestedKey>(encoder: encoder, object: nested, path: path.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = EncodedArray()
        object.set(key.stringValue, .array(nested))
        return UnkeyedValueEncodingContainer(encoder: encoder, array: nested, path: path.appending(key))
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(named: "super", key: AnyCodingKey("super"))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(named: key.stringValue, key: key)
    }

    private func superEncoder(named name: String, key: any CodingKey) -> any Encoder {
        object.set(name, .object(EncodedObject()))
        return ValueEncoder(
            path: path.appending(key), userInfo: encoder.userInfoStorage, slot: .object(object, name))
    }
}

struct UnkeyedValueEncodingContainer: UnkeyedEncodingContainer {
    let encoder: ValueEncoder
    let array: EncodedArray
    let path: CodingPathNode

    var codingPath: [any CodingKey] { path.path }
    var count: Int { array.items.count }

    private func put(_ value: JSONValue) { array.items.append(.value(value)) }

    mutating func encodeNil() { put(.null) }
    mutating func encode(_ value: Bool) { put(.bool(value)) }
    mutating func encode(_ value: String) { put(.string(value)) }
    mutating func encode(_ value: Double) { put(.double(value)) }
    mutating func encode(_ value: Float) { put(ValueEncoder.float(value)) }
    mutating func encode(_ value: Int) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: Int8) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: Int16) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: Int32) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: Int64) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: UInt) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: UInt8) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: UInt16) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: UInt32) { put(ValueEncoder.integer(value)) }
    mutating func encode(_ value: UInt64) { put(ValueEncoder.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        array.items.append(try encoder.box(value, path: path.appending(IndexCodingKey(array.items.count))))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = EncodedObject()
        let p = path.appending(IndexCodingKey(array.items.count))
        array.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedValueEncodingContainer<NestedKey>(encoder: encoder, object: nested, path: p))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = EncodedArray()
        let p = path.appending(IndexCodingKey(array.items.count))
        array.items.append(.array(nested))
        return UnkeyedValueEncodingContainer(encoder: encoder, array: nested, path: p)
    }

    mutating func superEncoder() -> any Encoder {
        let i = array.items.count
        array.items.append(.object(EncodedObject()))
        return ValueEncoder(
            path: path.appending(IndexCodingKey(i)), userInfo: encoder.userInfoStorage, slot: .array(array, i))
    }
}

// MARK: - RFC 3339

/// RFC 3339 timestamps, as Kubernetes writes them (`2024-05-01T12:00:00Z`), without locale-aware formatters:
/// the one implementation the codec, the API clients, the controller and the emulator share.
public enum RFC3339 {
    /// With fractional seconds when present (trailing zeros dropped), as the Codable bridge writes `Date`s.
    public static func format(_ date: Date) -> String {
        let (seconds, micros) = split(date)
        var s = dateTime(seconds)
        if micros > 0 {
            var fraction = pad(micros, 6)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            s += "." + fraction
        }
        return s + "Z"
    }

    /// With exactly `fractionDigits` (0…6) fractional digits: 0 for `metav1.Time` (whole seconds, truncated),
    /// 6 for `metav1.MicroTime`.
    public static func format(_ date: Date, fractionDigits: Int) -> String {
        guard fractionDigits > 0 else {
            return dateTime(Int64(date.timeIntervalSince1970.rounded(.down))) + "Z"
        }
        let (seconds, micros) = split(date)
        return dateTime(seconds) + "." + pad(micros, 6).prefix(min(6, fractionDigits)) + "Z"
    }

    /// Whole seconds and rounded microseconds since 1970.
    private static func split(_ date: Date) -> (Int64, Int64) {
        let t = date.timeIntervalSince1970
        var seconds = Int64(t.rounded(.down))
        var micros = Int64(((t - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            seconds += 1
            micros -= 1_000_000
        }
        return (seconds, micros)
    }

    /// `YYYY-MM-DDTHH:MM:SS` of a second since 1970.
    private static func dateTime(_ seconds: Int64) -> String {
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (y, m, d) = civil(fromDays: days)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
            + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
    }

    /// `2025-01-06T09:00:00Z`, `2025-01-06T09:00:00.5+01:00` and the like (`T`, `t` or a space; `Z`, `z` or an
    /// offset); nil for anything else, including impossible dates.
    public static func parse(_ s: String) -> Date? {
        let b = Array(s.utf8)
        var i = 0
        func number(_ digits: Int) -> Int64? {
            guard i + digits <= b.count else { return nil }
            var v: Int64 = 0
            for _ in 0..<digits {
                guard CoreSchema.isDigit(b[i]) else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
                i += 1
            }
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
            let day = number(2)
        else { return nil }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " ")
        else { return nil }
        i += 1
        guard let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2), expect(UInt8(ascii: ":")),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24,
            minute < 60, second <= 60
        else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, CoreSchema.isDigit(b[i]) {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset: Int64 = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = number(2), expect(UInt8(ascii: ":")), let om = number(2), oh < 24, om < 60 else {
                return nil
            }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
