/// The YAML 1.2 core schema, applied to the bytes of a scalar.
enum CoreSchema {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// The value of an untagged plain scalar.
    static func resolvePlain(_ b: UnsafeBufferPointer<UInt8>) -> JSONValue {
        nonString(b) ?? .string(String(decoding: b, as: UTF8.self))
    }

    /// The null, bool, int or float that a plain scalar denotes; `nil` when it is a string.
    static func nonString(_ b: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        guard let first = b.first else { return .null }
        switch first {
        case UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "~"):
            if isNull(b) { return .null }
        case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"):
            if let v = bool(b) { return .bool(v) }
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."):
            if let v = number(b) { return v }
        default:
            break
        }
        return nil
    }

    static func isNull(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        switch b.count {
        case 0: return true
        case 1: return b[0] == UInt8(ascii: "~")
        case 4: return equals(b, "null") || equals(b, "Null") || equals(b, "NULL")
        default: return false
        }
    }

    static func bool(_ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        switch b.count {
        case 4 where equals(b, "true") || equals(b, "True") || equals(b, "TRUE"): return true
        case 5 where equals(b, "false") || equals(b, "False") || equals(b, "FALSE"): return false
        default: return nil
        }
    }

    /// An int (`.int`, or `.double` when it overflows Int64) or a float of the core schema.
    static func number(_ b: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        if let i = integer(b) { return i }
        if let d = float(b) { return .double(d) }
        return nil
    }

    /// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
    static func integer(_ b: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        let n = b.count
        guard n > 0 else { return nil }
        if n > 2, b[0] == UInt8(ascii: "0"), b[1] == UInt8(ascii: "x") || b[1] == UInt8(ascii: "o") {
            let radix: UInt64 = b[1] == UInt8(ascii: "x") ? 16 : 8
            var acc: UInt64 = 0
            var approx: Double = 0
            var overflow = false
            for k in 2..<n {
                guard let d = digitValue(b[k], radix: radix) else { return nil }
                approx = approx * Double(radix) + Double(d)
                if !overflow {
                    let (m, o1) = acc.multipliedReportingOverflow(by: radix)
                    let (a, o2) = m.addingReportingOverflow(d)
                    if o1 || o2 || a > UInt64(Int64.max) { overflow = true } else { acc = a }
                }
            }
            return overflow ? .double(approx) : .int(Int64(acc))
        }
        var i = 0
        var negative = false
        if b[0] == UInt8(ascii: "-") || b[0] == UInt8(ascii: "+") {
            negative = b[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < n else { return nil }
        var acc: UInt64 = 0
        var overflow = false
        while i < n {
            let c = b[i]
            guard isDigit(c) else { return nil }
            if !overflow {
                let (m, o1) = acc.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
                if o1 || o2 { overflow = true } else { acc = a }
            }
            i += 1
        }
        if !overflow {
            if negative {
                if acc <= UInt64(Int64.max) { return .int(-Int64(acc)) }
                if acc == UInt64(Int64.max) + 1 { return .int(.min) }
            } else if acc <= UInt64(Int64.max) {
                return .int(Int64(acc))
            }
        }
        // Beyond Int64: the nearest double (correctly rounded by the standard library).
        return Double(String(decoding: b, as: UTF8.self)).map(JSONValue.double)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?\.(inf|Inf|INF)`, `\.(nan|NaN|NAN)`.
    static func float(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = b.count
        var i = 0
        var negative = false
        if n > 0, b[0] == UInt8(ascii: "-") || b[0] == UInt8(ascii: "+") {
            negative = b[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < n else { return nil }
        if b[i] == UInt8(ascii: "."), n - i == 4, !isDigit(b[i + 1]) {
            let rest = UnsafeBufferPointer(rebasing: b[(i + 1)...])
            if equals(rest, "inf") || equals(rest, "Inf") || equals(rest, "INF") {
                return negative ? -.infinity : .infinity
            }
            if i == 0, equals(rest, "nan") || equals(rest, "NaN") || equals(rest, "NAN") { return .nan }
            return nil
        }
        var intDigits = 0
        while i < n, isDigit(b[i]) {
            i += 1
            intDigits += 1
        }
        var fracDigits = 0
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, isDigit(b[i]) {
                i += 1
                fracDigits += 1
            }
            // `.5` and `5.` are floats; a lone `.` is not.
            if intDigits == 0 && fracDigits == 0 { return nil }
        } else if intDigits == 0 {
            return nil
        }
        if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < n, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
            var expDigits = 0
            while i < n, isDigit(b[i]) {
                i += 1
                expDigits += 1
            }
            if expDigits == 0 { return nil }
        }
        guard i == n else { return nil }
        return Double(String(decoding: b, as: UTF8.self))
    }

    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ]

    /// `mantissa × 10^exponent` when it can be computed exactly with one correctly rounded operation
    /// (Clinger's fast path: the mantissa below 2^53 and |exponent| ≤ 22); `nil` otherwise.
    @inline(__always) static func exactDouble(_ mantissa: UInt64, exponent: Int) -> Double? {
        guard mantissa < (1 << 53), exponent >= -22, exponent <= 22 else { return nil }
        let m = Double(mantissa)
        return exponent >= 0 ? m * powersOfTen[exponent] : m / powersOfTen[-exponent]
    }

    @inline(__always) static func digitValue(_ c: UInt8, radix: UInt64) -> UInt64? {
        let v: UInt64
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt64(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt64(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt64(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
        return v < radix ? v : nil
    }

    @inline(__always) static func equals(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for k in 0..<b.count where b[k] != p[k] { return false }
        return true
    }

    // MARK: - Emitting

    /// Plain scalars that YAML 1.1 readers (go-yaml v2, hence kubectl and sigs.k8s.io/yaml) would not read back
    /// as the same string: booleans such as `yes`/`on`/`y`, and anything shaped like a 1.1 number (`1_000`,
    /// `0b101`, `1:30`, `+0x1F`, `1.2.3` is included to keep the rule simple). Quoting them costs nothing.
    static func isYAML11Ambiguous(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if b.count <= 3 {
            switch String(decoding: b, as: UTF8.self) {
            case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                "on", "On", "ON", "off", "Off", "OFF", "<<", "=":
                return true
            default:
                break
            }
        }
        var bytes = b.makeIterator()
        guard var c = bytes.next() else { return false }
        if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
            guard let n = bytes.next() else { return false }
            c = n
        }
        if c == UInt8(ascii: ".") {
            guard let n = bytes.next() else { return false }
            c = n
        }
        guard isDigit(c) else { return false }
        while let b = bytes.next() {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"),
                UInt8(ascii: "x"), UInt8(ascii: "X"), UInt8(ascii: "o"), UInt8(ascii: "O"), UInt8(ascii: "+"),
                UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return true
    }
}
