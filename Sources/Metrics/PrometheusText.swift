/// A malformed line in a Prometheus text exposition.
public struct PrometheusTextError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    public var message: String
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "line \(line): \(message)" }
}

/// Parser for the Prometheus text exposition format 0.0.4 (what vLLM, SGLang and DCGM exporters serve).
///
/// `# HELP`/`# TYPE` lines, other comments, blank lines, labels in any order with `\\`, `\"` and `\n`
/// escapes, `NaN`/`+Inf`/`-Inf`, optional integer millisecond timestamps. Samples are grouped into families
/// by the `TYPE` line only: histogram `x_bucket{le}`/`x_sum`/`x_count`, summary `x{quantile}`/`x_sum`/
/// `x_count`, counter `x` or `x_total` (under `# TYPE x counter` as well as `# TYPE x_total counter`).
/// `_created` series of those families are dropped. A sample without a `TYPE` line is its own `untyped`
/// family, whatever its suffix. Malformed input throws `PrometheusTextError`; it never traps.
public enum PrometheusText {
    public static func parse(_ text: String) throws -> [MetricFamily] {
        try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws -> [MetricFamily] { try parse(bytes, only: nil) }

    /// Parses only the families whose names are in `wanted` (metric names as the sources and signals ask for
    /// them; `x` and `x_total` stand for each other, `_bucket`/`_sum`/`_count`/`_created` samples go with
    /// their family). Other lines are skipped after their name is read — real engine payloads carry dozens of
    /// families a PodAutoscaler never looks at — so a malformed line in a family nobody asked for is not an
    /// error.
    public static func parse(_ bytes: [UInt8], only wanted: Set<String>?) throws -> [MetricFamily] {
        let wanted = wanted.map(expand)
        return try bytes.withUnsafeBufferPointer { buffer in
            var builder = FamilyBuilder()
            var lineNumber = 0
            var start = 0
            while start < buffer.count {
                lineNumber += 1
                var end = start
                while end < buffer.count, buffer[end] != UInt8(ascii: "\n") { end += 1 }
                var lineEnd = end
                if lineEnd > start, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                var line = LineReader(buffer: buffer, position: start, end: lineEnd, number: lineNumber)
                try parseLine(&line, into: &builder, wanted: wanted)
                start = end + 1
            }
            return builder.finish()
        }
    }

    /// A sample value or `le`/`quantile` label: a float, `NaN`, `Inf`/`+Inf`/`-Inf` (case-insensitive).
    public static func parseValue(_ text: String) -> Double? {
        switch text.lowercased() {
        case "nan": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default:
            // Swift also reads "nan(…)", "snan" and the like; only plain numbers get this far.
            guard let first = text.utf8.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
                || first == UInt8(ascii: ".") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
            else { return nil }
            guard let v = Double(text), !v.isNaN else { return nil }
            return v
        }
    }

    /// `wanted` plus the other spelling of counters (`x` ↔ `x_total`).
    public static func expand(_ wanted: Set<String>) -> Set<String> {
        var out = wanted
        for w in wanted {
            if w.hasSuffix("_total") { out.insert(String(w.dropLast(6))) } else { out.insert(w + "_total") }
        }
        return out
    }

    /// Whether a sample or `# TYPE`/`# HELP` name belongs to a wanted family.
    public static func isWanted(_ name: String, _ wanted: Set<String>) -> Bool {
        if wanted.contains(name) { return true }
        for suffix in ["_bucket", "_sum", "_count", "_created"] where name.hasSuffix(suffix) {
            if wanted.contains(String(name.dropLast(suffix.count))) { return true }
        }
        return false
    }

    private static func parseLine(_ line: inout LineReader, into builder: inout FamilyBuilder, wanted: Set<String>?) throws {
        line.skipBlanks()
        guard let first = line.peek else { return }  // blank line
        if first == UInt8(ascii: "#") {
            line.advance()
            try parseComment(&line, into: &builder, wanted: wanted)
            return
        }
        let name = line.readMetricName()
        guard !name.isEmpty else { throw line.error("invalid metric name") }
        if let wanted, !isWanted(name, wanted) { return }
        line.skipBlanks()
        var labels: [String: String] = [:]
        if line.peek == UInt8(ascii: "{") {
            line.advance()
            labels = try parseLabels(&line)
            line.skipBlanks()
        }
        let valueToken = line.readToken()
        guard !valueToken.isEmpty else { throw line.error("missing value for \(name)") }
        guard let value = parseValue(valueToken) else { throw line.error("invalid value \"\(valueToken)\" for \(name)") }
        line.skipBlanks()
        var timestamp: Int64?
        if !line.atEnd {
            let token = line.readToken()
            guard let ts = Int64(token) else { throw line.error("invalid timestamp \"\(token)\" for \(name)") }
            timestamp = ts
            line.skipBlanks()
            guard line.atEnd else { throw line.error("unexpected text after the timestamp of \(name)") }
        }
        try builder.add(Sample(name: name, labels: labels, value: value, timestampMs: timestamp), line: line.number)
    }

    private static func parseComment(_ line: inout LineReader, into builder: inout FamilyBuilder, wanted: Set<String>?) throws {
        line.skipBlanks()
        let keyword = line.readToken()
        guard keyword == "HELP" || keyword == "TYPE" else { return }  // an ordinary comment
        line.skipBlanks()
        let name = line.readMetricName()
        guard !name.isEmpty else { throw line.error("invalid metric name in # \(keyword) line") }
        if let wanted, !isWanted(name, wanted) { return }
        guard line.atEnd || line.peekIsBlank else { throw line.error("invalid metric name in # \(keyword) line") }
        line.skipBlanks()
        if keyword == "HELP" {
            try builder.setHelp(line.readHelpText(), for: name, line: line.number)
            return
        }
        let typeToken = line.readToken()
        line.skipBlanks()
        guard line.atEnd else { throw line.error("unexpected text after the type of \(name)") }
        let type: MetricType
        switch typeToken.lowercased() {
        case "counter": type = .counter
        case "gauge": type = .gauge
        case "histogram": type = .histogram
        case "summary": type = .summary
        case "untyped", "unknown": type = .untyped
        case "": throw line.error("missing type for \(name)")
        default: throw line.error("unknown metric type \"\(typeToken)\" for \(name)")
        }
        try builder.setType(type, for: name, line: line.number)
    }

    private static func parseLabels(_ line: inout LineReader) throws -> [String: String] {
        var labels: [String: String] = [:]
        while true {
            line.skipBlanks()
            guard let c = line.peek else { throw line.error("unterminated label set") }
            if c == UInt8(ascii: "}") {
                line.advance()
                return labels
            }
            let name = line.readLabelName()
            guard !name.isEmpty else { throw line.error("invalid label name") }
            line.skipBlanks()
            guard line.peek == UInt8(ascii: "=") else { throw line.error("expected '=' after label \(name)") }
            line.advance()
            line.skipBlanks()
            guard line.peek == UInt8(ascii: "\"") else { throw line.error("expected '\"' to start the value of label \(name)") }
            line.advance()
            let value = try line.readQuotedValue()
            guard labels.updateValue(value, forKey: name) == nil else { throw line.error("duplicate label \(name)") }
            line.skipBlanks()
            switch line.peek {
            case UInt8(ascii: ","): line.advance()
            case UInt8(ascii: "}"): continue
            default: throw line.error("expected ',' or '}' after the value of label \(name)")
            }
        }
    }
}

/// A cursor over one line of the payload.
private struct LineReader {
    let buffer: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int
    let number: Int

    var atEnd: Bool { position >= end }
    var peek: UInt8? { position < end ? buffer[position] : nil }
    var peekIsBlank: Bool { peek == UInt8(ascii: " ") || peek == UInt8(ascii: "\t") }
    mutating func advance() { position += 1 }

    func error(_ message: String) -> PrometheusTextError { PrometheusTextError(line: number, message: message) }

    mutating func skipBlanks() {
        while position < end, buffer[position] == UInt8(ascii: " ") || buffer[position] == UInt8(ascii: "\t") { position += 1 }
    }

    private func string(_ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buffer[from..<to]), as: UTF8.self)
    }

    /// Up to the next blank or the end of the line.
    mutating func readToken() -> String {
        let start = position
        while position < end, buffer[position] != UInt8(ascii: " "), buffer[position] != UInt8(ascii: "\t") { position += 1 }
        return string(start, position)
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`; empty when the cursor is not at a valid name.
    mutating func readMetricName() -> String { readName(allowColon: true) }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    mutating func readLabelName() -> String { readName(allowColon: false) }

    private mutating func readName(allowColon: Bool) -> String {
        let start = position
        while position < end {
            let c = buffer[position]
            let letter = (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || c == UInt8(ascii: "_") || (allowColon && c == UInt8(ascii: ":"))
            let digit = c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
            guard letter || (digit && position > start) else { break }
            position += 1
        }
        return string(start, position)
    }

    /// A label value after its opening quote, through the closing quote.
    mutating func readQuotedValue() throws -> String {
        var bytes: [UInt8] = []
        while position < end {
            let c = buffer[position]
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < end else { throw error("unterminated escape in label value") }
                let e = buffer[position]
                position += 1
                switch e {
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "n"): bytes.append(UInt8(ascii: "\n"))
                default: throw error("invalid escape sequence '\\\(Character(Unicode.Scalar(e)))' in label value")
                }
            default:
                bytes.append(c)
            }
        }
        throw error("unterminated label value")
    }

    /// The rest of the line with `\\` and `\n` unescaped (other backslashes are kept as they are).
    mutating func readHelpText() -> String {
        var bytes: [UInt8] = []
        while position < end {
            let c = buffer[position]
            position += 1
            if c == UInt8(ascii: "\\"), position < end {
                let e = buffer[position]
                if e == UInt8(ascii: "\\") || e == UInt8(ascii: "n") {
                    bytes.append(e == UInt8(ascii: "n") ? UInt8(ascii: "\n") : e)
                    position += 1
                    continue
                }
            }
            bytes.append(c)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
