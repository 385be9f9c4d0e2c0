/// An error reading or writing JSON text.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    /// The byte offset (0-based) of a parse error in the input.
    public var offset: Int?
    /// 1-based line and column of a parse error.
    public var line: Int?
    public var column: Int?

    public init(message: String, offset: Int? = nil, line: Int? = nil, column: Int? = nil) {
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
    }

    public var description: String {
        guard let offset else { return message }
        if let line, let column { return "line \(line), column \(column) (byte \(offset)): \(message)" }
        return "byte \(offset): \(message)"
    }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects that `parseJSON` accepts.
    public static let maxJSONDepth = 1_000

    /// Parses JSON text (RFC 8259, strictly: no comments, trailing commas, single quotes, leading zeros,
    /// NaN or control characters in strings; invalid UTF-8 is an error). Object key order is kept; a
    /// duplicate key keeps its first position and its last value (like Go's encoding/json). A leading
    /// byte-order mark is ignored.
    ///
    /// Numbers without fraction or exponent that fit Int64 are `.int` (`-0` is `.int(0)`); all others are
    /// `.double`. A number too large for a double (`1e400`) is an error rather than infinity, since JSON has
    /// no infinities and the value could not be written back; underflow (`1e-400`) gives 0. A `\u` escape of
    /// an unpaired surrogate decodes as U+FFFD, as in Go.
    public static func parseJSON(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        if let result = try bytes.withContiguousStorageIfAvailable({ try parseJSON(buffer: $0) }) {
            return result
        }
        return try Array(bytes).withUnsafeBufferPointer { try parseJSON(buffer: $0) }
    }

    public static func parseJSON(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parseJSON(buffer: $0) }
    }

    public static func parseJSON(buffer: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var parser = JSONParser(buffer)
        return try parser.parseDocument()
    }

    /// Compact JSON text as UTF-8, keys in order. Throws for NaN and infinities, which JSON cannot carry.
    public func jsonBytes() throws -> [UInt8] {
        try jsonBytes(pretty: false)
    }

    /// JSON text; `pretty` indents by two spaces and puts `": "` between keys and values.
    public func jsonBytes(pretty: Bool) throws -> [UInt8] {
        var writer = JSONWriter(pretty: pretty)
        if !writer.write(self, depth: 0) {
            var path: [JSONPathComponent] = []
            let bad = findNonFinite(in: self, path: &path)
            let text = bad.map { YAMLEmitter.format($0) } ?? "non-finite number"
            let at = path.isEmpty ? "" : " at \(JSONPath.format(path))"
            throw JSONError(message: "cannot write \(text)\(at) as JSON: JSON has no NaN or infinity")
        }
        return writer.out
    }

    public func jsonString() throws -> String {
        String(decoding: try jsonBytes(pretty: false), as: UTF8.self)
    }

    public func jsonString(pretty: Bool) throws -> String {
        String(decoding: try jsonBytes(pretty: pretty), as: UTF8.self)
    }

    private func findNonFinite(in value: JSONValue, path: inout [JSONPathComponent]) -> Double? {
        switch value {
        case .double(let d) where !d.isFinite:
            return d
        case .array(let a):
            for (i, v) in a.enumerated() {
                path.append(.index(i))
                if let d = findNonFinite(in: v, path: &path) { return d }
                path.removeLast()
            }
        case .object(let o):
            for e in o {
                path.append(.key(e.key))
                if let d = findNonFinite(in: e.value, path: &path) { return d }
                path.removeLast()
            }
        default:
            break
        }
        return nil
    }
}

// MARK: - Parser

struct JSONParser {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0
    var scratch: [UInt8] = []
    var valueStack: [JSONValue] = []
    var entryStack: [JSONObject.Entry] = []

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        b = buffer
    }

    mutating func parseDocument() throws -> JSONValue {
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if i < b.count { throw error("unexpected \(describe(at: i)) after the JSON value") }
        return value
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONError {
        let offset = min(offset ?? i, b.count)
        var line = 1
        var column = 1
        for c in b.prefix(offset) {
            if c == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if c & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONError(message: message, offset: offset, line: line, column: column)
    }

    func describe(at offset: Int) -> String {
        guard offset < b.count else { return "end of input" }
        let c = b[offset]
        if c >= 0x20 && c < 0x7F { return "character '\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + String(c, radix: 16, uppercase: true)
    }

    @inline(__always) mutating func skipWhitespace() {
        while i < b.count {
            switch b[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws -> JSONValue {
        guard i < b.count else { throw error("unexpected end of input, expected a value") }
        switch b[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw error("unexpected \(describe(at: i)), expected a value")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let p = word.utf8Start
        guard i + n <= b.count else { throw error("invalid literal, expected '\(word)'") }
        for k in 0..<n where b[i + k] != p[k] { throw error("invalid literal, expected '\(word)'") }
        i += n
    }

    mutating func enter() throws {
        depth += 1
        if depth > JSONValue.maxJSONDepth {
            throw error("arrays and objects nested deeper than \(JSONValue.maxJSONDepth) levels")
        }
    }

    mutating func parseArray() throws -> JSONValue {
        try enter()
        i += 1
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array([])
        }
        // Elements collect on a shared stack, so that each array is allocated once at its final size.
        let base = valueStack.count
        defer { valueStack.removeSubrange(base...) }
        while true {
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "]"), valueStack.count > base {
                throw error("trailing comma in array")
            }
            let value = try parseValue()
            valueStack.append(value)
            skipWhitespace()
            guard i < b.count else { throw error("unexpected end of input, expected ',' or ']' in array") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if b[i] == UInt8(ascii: "]") {
                i += 1
                depth -= 1
                return .array(Array(valueStack[base...]))
            }
            throw error("unexpected \(describe(at: i)), expected ',' or ']' in array")
        }
    }

    mutating func parseObject() throws -> JSONValue {
        try enter()
        i += 1
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(JSONObject())
        }
        let base = entryStack.count
        defer { entryStack.removeSubrange(base...) }
        var index: [String: Int] = [:]
        while true {
            skipWhitespace()
            guard i < b.count else { throw error("unexpected end of input, expected an object key") }
            guard b[i] == UInt8(ascii: "\"") else {
                if b[i] == UInt8(ascii: "}") && entryStack.count > base { throw error("trailing comma in object") }
                throw error("unexpected \(describe(at: i)), expected a string key in object")
            }
            let key = try parseString()
            skipWhitespace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else {
                throw error("unexpected \(describe(at: i)), expected ':' after object key")
            }
            i += 1
            skipWhitespace()
            let value = try parseValue()
            // Duplicate keys: the last value wins, at the first position.
            let count = entryStack.count - base
            var existing: Int?
            if count < 16 {
                for k in base..<entryStack.count where entryStack[k].key == key {
                    existing = k
                    break
                }
            } else {
                if index.isEmpty { for k in base..<entryStack.count { index[entryStack[k].key] = k } }
                existing = index[key]
            }
            if let existing {
                entryStack[existing].value = value
            } else {
                if !index.isEmpty { index[key] = entryStack.count }
                entryStack.append(JSONObject.Entry(key: key, value: value))
            }
            skipWhitespace()
            guard i < b.count else { throw error("unexpected end of input, expected ',' or '}' in object") }
            if b[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if b[i] == UInt8(ascii: "}") {
                i += 1
                depth -= 1
                return .object(JSONObject(Array(entryStack[base...])))
            }
            throw error("unexpected \(describe(at: i)), expected ',' or '}' in object")
        }
    }

    mutating func parseString() throws -> String {
        let start = i
        i += 1
        var ascii = true
        // Fast path: no escapes.
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: b[(start + 1)..<i])
                i += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string", at: start)
                }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("unescaped control character in string") }
            if c >= 0x80 { ascii = false }
            i += 1
        }
        guard i < b.count else { throw error("unterminated string", at: start) }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: b[(start + 1)..<i])
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(validating: scratch, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string", at: start)
                }
                return s
            }
            if c < 0x20 { throw error("unescaped control character in string") }
            if c != UInt8(ascii: "\\") {
                scratch.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < b.count else { break }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): scratch.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate needs a following low one.
                    if i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            scalar = 0xFFFD
                            i = save
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar)
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))' in string", at: i - 2)
            }
        }
        throw error("unterminated string", at: start)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw error("incomplete \\u escape in string") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = CoreSchema.digitValue(b[i], radix: 16) else {
                throw error("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case ..<0x80:
            scratch.append(UInt8(v))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | (v >> 6)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | (v >> 12)))
            scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (v >> 18)))
            scratch.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = i
        var negative = false
        if b[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < b.count, CoreSchema.isDigit(b[i]) else { throw error("invalid number, expected a digit") }
        // Significant digits, accumulated while they fit, for the integer result and the fast double path.
        var mantissa: UInt64 = 0
        var digits = 0
        var overflow = false
        @inline(__always) func accumulate(_ c: UInt8) {
            if mantissa == 0 && c == UInt8(ascii: "0") { return }
            digits += 1
            guard !overflow else { return }
            let (m, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c &- 0x30))
            if o1 || o2 { overflow = true } else { mantissa = a }
        }
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if i < b.count, CoreSchema.isDigit(b[i]) { throw error("invalid number, leading zeros are not allowed") }
        } else {
            while i < b.count, CoreSchema.isDigit(b[i]) {
                accumulate(b[i])
                i += 1
            }
        }
        var integral = true
        var fractionDigits = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard i < b.count, CoreSchema.isDigit(b[i]) else {
                throw error("invalid number, expected a digit after the decimal point")
            }
            while i < b.count, CoreSchema.isDigit(b[i]) {
                accumulate(b[i])
                fractionDigits += 1
                i += 1
            }
        }
        var exponent = 0
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            var exponentNegative = false
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                exponentNegative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < b.count, CoreSchema.isDigit(b[i]) else {
                throw error("invalid number, expected a digit in the exponent")
            }
            while i < b.count, CoreSchema.isDigit(b[i]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(b[i] &- 0x30) }
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        if integral && !overflow {
            if !negative, mantissa <= UInt64(Int64.max) { return .int(Int64(mantissa)) }
            if negative, mantissa <= UInt64(Int64.max) { return .int(-Int64(mantissa)) }
            if negative, mantissa == UInt64(Int64.max) + 1 { return .int(.min) }
        }
        if !overflow, let d = CoreSchema.exactDouble(mantissa, exponent: exponent - fractionDigits) {
            return .double(negative ? -d : d)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            throw error("number \(text.count > 40 ? String(text.prefix(40)) + "…" : text) is out of range", at: start)
        }
        return .double(d)
    }
}

// MARK: - Writer

struct JSONWriter {
    var out: [UInt8] = []
    let pretty: Bool

    init(pretty: Bool) {
        self.pretty = pretty
        out.reserveCapacity(256)
    }

    /// Returns false on a non-finite double.
    mutating func write(_ value: JSONValue, depth: Int) -> Bool {
        switch value {
        case .null: append("null")
        case .bool(let v): append(v ? "true" : "false")
        case .int(let v): append(String(v))
        case .double(let d):
            guard d.isFinite else { return false }
            append(d.description)
        case .string(let s): writeString(s)
        case .array(let items):
            if items.isEmpty {
                append("[]")
                return true
            }
            out.append(UInt8(ascii: "["))
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                guard write(item, depth: depth + 1) else { return false }
            }
            newline(depth)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty {
                append("{}")
                return true
            }
            out.append(UInt8(ascii: "{"))
            for (k, e) in object.entries.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                writeString(e.key)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                guard write(e.value, depth: depth + 1) else { return false }
            }
            newline(depth)
            out.append(UInt8(ascii: "}"))
        }
        return true
    }

    @inline(__always) mutating func newline(_ depth: Int) {
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<(depth * 2) { out.append(UInt8(ascii: " ")) }
    }

    @inline(__always) mutating func append(_ s: String) {
        out.append(contentsOf: s.utf8)
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func writeString(_ s: String) {
        var s = s
        s.withUTF8 { b in
            out.append(UInt8(ascii: "\""))
            var runStart = 0
            for k in 0..<b.count {
                let c = b[k]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                if runStart < k { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<k])) }
                runStart = k + 1
                out.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30])
                    out.append(Self.hexDigits[Int(c >> 4)])
                    out.append(Self.hexDigits[Int(c & 0xF)])
                }
            }
            if runStart < b.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<b.count])) }
            out.append(UInt8(ascii: "\""))
        }
    }
}
