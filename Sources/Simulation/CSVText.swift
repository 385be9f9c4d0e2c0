import Foundation

/// Fast CSV text for the simulator's outputs: numbers appended as UTF-8 bytes, formatted exactly as C's
/// `printf("%.6g")` (what `String(format: "%.6g", x)` gives), without Foundation's format machinery, which
/// cost more than the simulation itself when every finished request wrote a row.
enum CSVText {
    /// Appends `x` formatted as `%.6g`: six significant digits, trailing zeros dropped, exponent form below
    /// 1e-4 and from 1e6 on (`1.5e-05`, `1.23457e+06`).
    ///
    /// The digits come from Swift's shortest round-trip representation rounded to six: that equals rounding
    /// the exact binary value except when the shortest digits end exactly on the half (seven digits, the last
    /// a 5), where the exact value may lie on either side; those, subnormals and non-finite values, go through
    /// `vsnprintf`. (A six-digit rounding boundary strictly between the shortest digits and the exact value
    /// would be a shorter or closer representation inside the same rounding interval, which the shortest
    /// representation excludes.)
    static func appendG6(_ x: Double, to out: inout [UInt8]) {
        // Subnormals: too few bits for the shortest digits to pin the sixth one (5e-324 is 4.94066e-324).
        guard x.isFinite, x == 0 || abs(x) >= .leastNormalMagnitude else { return appendPrintf(x, to: &out) }
        if x == 0 {
            if x.sign == .minus { out.append(UInt8(ascii: "-")) }
            out.append(UInt8(ascii: "0"))
            return
        }
        if let (digits, count, exponent) = roundedDirectly(abs(x)) {
            return emit(digits: digits, count: count, exponent: exponent, negative: x < 0, to: &out)
        }
        // The first (up to) eight significant digits of the shortest representation as an integer `digits`
        // of `count` digits; value = d1.d2… × 10^exponent.
        var digits: UInt64 = 0
        var count = 0
        var extra = false  // nonzero digits beyond the eighth significant one
        var index = 0  // of the mantissa digit, leading zeros included
        var firstSignificant = -1
        var integerDigits = -1  // mantissa digits before the point (-1: no point seen yet)
        var explicitExponent = 0
        var exponentSign = 1
        var inExponent = false
        for c in abs(x).description.utf8 {
            if inExponent {
                if c == UInt8(ascii: "-") { exponentSign = -1 } else if c != UInt8(ascii: "+") {
                    explicitExponent = explicitExponent * 10 + Int(c &- 48)
                }
                continue
            }
            switch c {
            case UInt8(ascii: "."): integerDigits = index
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            default:
                let d = c &- 48
                if firstSignificant < 0 && d != 0 { firstSignificant = index }
                if firstSignificant >= 0 {
                    if count < 8 {
                        digits = digits * 10 + UInt64(d)
                        count += 1
                    } else if d != 0 {
                        extra = true
                    }
                }
                index += 1
            }
        }
        if integerDigits < 0 { integerDigits = index }
        // value = 0.(mantissa digits) × 10^integerDigits
        var exponent = integerDigits - firstSignificant - 1 + explicitExponent * exponentSign
        while count > 1 && digits % 10 == 0 && !(count == 8 && extra) {
            digits /= 10
            count -= 1
        }
        if count > 6 {
            let dropped = count - 6
            let next = digits / pow10[dropped - 1] % 10  // the seventh digit
            if count == 7 && next == 5 && !extra { return appendPrintf(x, to: &out) }
            digits /= pow10[dropped]
            count = 6
            if next >= 5 {
                digits += 1
                if digits == 1_000_000 {
                    digits = 100_000
                    exponent += 1
                }
            }
            while count > 1 && digits % 10 == 0 {
                digits /= 10
                count -= 1
            }
        }
        emit(digits: digits, count: count, exponent: exponent, negative: x < 0, to: &out)
    }

    /// The common case without the shortest representation: for 1e-4 ≤ a < 1e6, a × 10^(5 − e) (e the decimal
    /// exponent) is within 2e-10 of the exact product, so rounding it to an integer gives the six digits unless
    /// it lies within 1e-6 of a half (nil: take the general path).
    private static func roundedDirectly(_ a: Double) -> (digits: UInt64, count: Int, exponent: Int)? {
        guard a >= 1e-4 && a < 1e6 else { return nil }
        var e = 5
        while e > -4 && a < powers[e + 4] { e -= 1 }
        let m = a * powers[5 - e + 4]  // a × 10^(5 − e): in [1e5, 1e6)
        let floor = m.rounded(.down)
        guard m >= 99_999.5, m < 1_000_000, abs(m - floor - 0.5) > 1e-6 else { return nil }
        var digits = UInt64(m.rounded())
        var exponent = e
        if digits == 1_000_000 {
            digits = 100_000
            exponent += 1
        }
        var count = 6
        while count > 1 && digits % 10 == 0 {
            digits /= 10
            count -= 1
        }
        return (digits, count, exponent)
    }

    /// 10^-4 … 10^9 (`powers[k + 4]` = 10^k), exact for k ≥ 0.
    private static let powers: [Double] = [1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]

    /// Writes `%g`'s text for the significant digits `digits` (`count` of them, no trailing zero) × 10^exponent.
    private static func emit(digits: UInt64, count: Int, exponent: Int, negative: Bool, to out: inout [UInt8]) {
        func digit(_ i: Int) -> UInt8 { UInt8(digits / pow10[count - 1 - i] % 10) + 48 }
        if negative { out.append(UInt8(ascii: "-")) }
        if exponent < -4 || exponent >= 6 {
            out.append(digit(0))
            if count > 1 {
                out.append(UInt8(ascii: "."))
                for i in 1..<count { out.append(digit(i)) }
            }
            out.append(UInt8(ascii: "e"))
            out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let e = abs(exponent)
            if e < 10 { out.append(UInt8(ascii: "0")) }
            appendInt(e, to: &out)
        } else if exponent >= 0 {
            for i in 0...exponent { out.append(i < count ? digit(i) : UInt8(ascii: "0")) }
            if count > exponent + 1 {
                out.append(UInt8(ascii: "."))
                for i in (exponent + 1)..<count { out.append(digit(i)) }
            }
        } else {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-exponent - 1) { out.append(UInt8(ascii: "0")) }
            for i in 0..<count { out.append(digit(i)) }
        }
    }

    private static let pow10: [UInt64] = (0...9).map { (0..<$0).reduce(1) { p, _ in p * 10 } }

    /// `x` as `%.6g` in a String.
    static func g6(_ x: Double) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        appendG6(x, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the decimal digits of `n`.
    static func appendInt(_ n: Int, to out: inout [UInt8]) {
        if n < 0 {
            out.append(UInt8(ascii: "-"))
            if n == .min { out += String(n).utf8.dropFirst(); return }
            return appendInt(-n, to: &out)
        }
        if n < 10 { out.append(UInt8(n) + 48); return }
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 19 digits
        withUnsafeMutableBytes(of: &buffer) { b in
            var i = b.count
            var v = n
            while v > 0 {
                i -= 1
                b[i] = UInt8(v % 10) + 48
                v /= 10
            }
            out.append(contentsOf: b[i...])
        }
    }

    /// The C library's `%.6g` (ties and non-finite values).
    static func appendPrintf(_ x: Double, to out: inout [UInt8]) {
        var buffer = [CChar](repeating: 0, count: 40)
        let n = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.6g", $0) }
        out.append(contentsOf: buffer.prefix(Int(max(0, min(n, 39)))).map { UInt8(bitPattern: $0) })
    }

    /// The comma-separated fields of `line`, each trimmed of `CharacterSet.whitespaces` (tab and the Unicode
    /// space separators), as `split(separator: ",")` + `trimmingCharacters(in: .whitespaces)` give them.
    static func trimmedFields(_ line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { field in
            let scalars = field.unicodeScalars
            guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
            let last = scalars.lastIndex(where: { !isSpace($0) })!
            return String(scalars[first...last])
        }
    }

    private static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || (s.value >= 0x80 && s.properties.generalCategory == .spaceSeparator)
    }
}
