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
        // Significant digits d1 d2 … (value = d1.d2… × 10^exponent) of the shortest representation.
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
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
                        withUnsafeMutableBytes(of: &digits) { $0[count] = d }
                        count += 1
                    } else if d != 0 {
                        extra = true
                    }
                }
                index += 1
            }
        }
        if integerDigits < 0 { integerDigits = index }
        // value = 0.(mantissa digits) × 10^integerDigits = d1.d2… × 10^exponent
        var exponent = integerDigits - firstSignificant - 1 + explicitExponent * exponentSign
        var d = withUnsafeBytes(of: digits) { Array($0.prefix(count)) }
        while let last = d.last, last == 0 { d.removeLast() }
        if d.count > 6 {
            if d.count == 7 && d[6] == 5 && !extra { return appendPrintf(x, to: &out) }
            let up = d[6] >= 5
            d.removeLast(d.count - 6)
            if up {
                var i = 5
                while i >= 0 {
                    if d[i] == 9 { d[i] = 0; i -= 1 } else { d[i] += 1; break }
                }
                if i < 0 {
                    d.insert(1, at: 0)
                    d.removeLast()
                    exponent += 1
                }
            }
            while let last = d.last, last == 0 { d.removeLast() }
        }
        if x < 0 { out.append(UInt8(ascii: "-")) }
        if exponent < -4 || exponent >= 6 {
            out.append(d[0] + 48)
            if d.count > 1 {
                out.append(UInt8(ascii: "."))
                for k in d.dropFirst() { out.append(k + 48) }
            }
            out.append(UInt8(ascii: "e"))
            out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let e = abs(exponent)
            if e < 10 { out.append(UInt8(ascii: "0")) }
            appendInt(e, to: &out)
        } else if exponent >= 0 {
            for i in 0...exponent { out.append(i < d.count ? d[i] + 48 : UInt8(ascii: "0")) }
            if d.count > exponent + 1 {
                out.append(UInt8(ascii: "."))
                for k in d[(exponent + 1)...] { out.append(k + 48) }
            }
        } else {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-exponent - 1) { out.append(UInt8(ascii: "0")) }
            for k in d { out.append(k + 48) }
        }
    }

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
