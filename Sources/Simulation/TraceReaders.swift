import Foundation

/// A malformed trace.
public typealias TraceError = DataFileError

/// A malformed data file (trace, performance table): names the file, the 1-based line and, for a bad
/// field, the column.
public struct DataFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: String?
    public var message: String

    public init(file: String, line: Int, column: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        if let column { return "\(file):\(line): column \(column): \(message)" }
        return "\(file):\(line): \(message)"
    }
}

/// Reads lines from a file (or an in-memory buffer) in fixed-size chunks; memory is one chunk plus one line.
final class ChunkedLineReader {
    private let handle: FileHandle?
    private var buffer: [UInt8]
    private var position = 0
    private var atEOF: Bool
    private let chunkSize: Int
    private let path: String
    private(set) var lineNumber = 0

    init(path: String, chunkSize: Int = 1 << 16) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TraceError(file: path, line: 0, message: "cannot open the file")
        }
        self.handle = handle
        self.path = path
        buffer = []
        atEOF = false
        self.chunkSize = chunkSize
    }

    init(bytes: [UInt8], name: String = "<memory>") {
        handle = nil
        path = name
        buffer = bytes
        atEOF = true
        chunkSize = 0
    }

    deinit { try? handle?.close() }

    /// Bytes currently buffered (at most one chunk plus the partial line it split).
    var bufferedBytes: Int { buffer.count }

    /// The next line without its terminator (`\n` or `\r\n`), or nil at the end.
    func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = nl
                if end > position, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = buffer[position..<end]
                position = nl + 1
                lineNumber += 1
                return line
            }
            if atEOF {
                guard position < buffer.count else { return nil }
                var end = buffer.count
                if buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = buffer[position..<end]
                position = buffer.count
                lineNumber += 1
                return line
            }
            // Keep the partial line, read another chunk.
            if position > 0 {
                buffer.removeSubrange(0..<position)
                position = 0
            }
            let data: Data?
            do {
                data = try handle?.read(upToCount: chunkSize)
            } catch {
                throw TraceError(file: path, line: lineNumber + 1, message: "read failed: \(error)")
            }
            if let data, !data.isEmpty { buffer.append(contentsOf: data) } else { atEOF = true }
        }
    }
}

/// Column lookup by header name, and field parsing with positioned errors.
struct CSVRows {
    let reader: ChunkedLineReader
    let file: String
    let header: [String]
    private(set) var fields: [ArraySlice<UInt8>] = []

    init(reader: ChunkedLineReader, file: String, required: [String]) throws {
        self.reader = reader
        self.file = file
        guard let first = try reader.nextLine() else {
            throw TraceError(file: file, line: 1, message: "empty file: expected a header row")
        }
        header = CSVRows.split(first).map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
        for name in required where !header.contains(name) {
            throw TraceError(
                file: file, line: 1, column: name,
                message: "missing column (header: \(header.joined(separator: ",")))")
        }
    }

    func index(of name: String) -> Int { header.firstIndex(of: name)! }

    static func split(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
    }

    /// Advances to the next non-blank row; false at the end.
    mutating func advance() throws -> Bool {
        while let line = try reader.nextLine() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
            fields = CSVRows.split(line)
            if fields.count < header.count {
                throw TraceError(
                    file: file, line: reader.lineNumber,
                    message: "expected \(header.count) fields, found \(fields.count)")
            }
            return true
        }
        return false
    }

    var line: Int { reader.lineNumber }

    func text(_ column: Int) -> String {
        String(decoding: CSVRows.trim(fields[column]), as: UTF8.self)
    }

    func error(_ column: Int, _ message: String) -> TraceError {
        TraceError(file: file, line: line, column: header[column], message: message)
    }

    static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = s
        while let f = s.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") || f == UInt8(ascii: "\"") {
            s = s.dropFirst()
        }
        while let l = s.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") || l == UInt8(ascii: "\"") {
            s = s.dropLast()
        }
        return s
    }

    /// A non-negative decimal integer.
    func int(_ column: Int) throws -> Int {
        let s = CSVRows.trim(fields[column])
        guard !s.isEmpty, s.count <= 18 else {
            throw error(column, "expected a non-negative integer, found \"\(text(column))\"")
        }
        var v = 0
        for c in s {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else {
                throw error(column, "expected a non-negative integer, found \"\(text(column))\"")
            }
            v = v * 10 + Int(c - UInt8(ascii: "0"))
        }
        return v
    }

    /// A finite decimal number.
    func double(_ column: Int) throws -> Double {
        guard let v = Double(text(column)), v.isFinite else {
            throw error(column, "expected a number, found \"\(text(column))\"")
        }
        return v
    }
}

/// Streams an Azure LLM inference trace (`TIMESTAMP,ContextTokens,GeneratedTokens`).
///
/// `TIMESTAMP` is a local wall-clock time such as `2023-11-16 18:15:46.6805900` (up to 7 fractional digits,
/// i.e. 100 ns ticks). Arrivals are seconds relative to the first row, computed exactly in integer ticks and
/// converted to `Double` once. Request ids are 0-based row indices. Rows must be in non-decreasing time order.
public struct AzureTraceReader: RequestStream {
    /// 100 ns ticks per second.
    public static let ticksPerSecond: Int64 = 10_000_000

    private var rows: CSVRows
    private let cTime: Int, cPrompt: Int, cOutput: Int
    private var firstTicks: Int64?
    private var lastTicks: Int64 = .min
    private var nextID = 0

    /// Opens a trace file; reading is lazy.
    public init(path: String) throws {
        try self.init(reader: try ChunkedLineReader(path: path), file: path)
    }

    /// Reads a trace held in memory; `name` labels errors.
    public init(text: String, name: String = "<memory>") throws {
        try self.init(reader: ChunkedLineReader(bytes: Array(text.utf8), name: name), file: name)
    }

    private init(reader: ChunkedLineReader, file: String) throws {
        rows = try CSVRows(reader: reader, file: file, required: ["TIMESTAMP", "ContextTokens", "GeneratedTokens"])
        cTime = rows.index(of: "TIMESTAMP")
        cPrompt = rows.index(of: "ContextTokens")
        cOutput = rows.index(of: "GeneratedTokens")
    }

    /// Ticks since the first row of the most recent request (exact).
    public private(set) var lastRelativeTicks: Int64 = 0

    public mutating func next() throws -> Request? {
        guard try rows.advance() else { return nil }
        guard let ticks = AzureTraceReader.parseTimestamp(CSVRows.trim(rows.fields[cTime])) else {
            throw rows.error(
                cTime, "expected a timestamp like 2023-11-16 18:15:46.6805900, found \"\(rows.text(cTime))\"")
        }
        if ticks < lastTicks {
            throw rows.error(cTime, "timestamp \(rows.text(cTime)) is earlier than the previous row")
        }
        lastTicks = ticks
        let prompt = try rows.int(cPrompt)
        let output = try rows.int(cOutput)
        let first = firstTicks ?? ticks
        firstTicks = first
        lastRelativeTicks = ticks - first
        defer { nextID += 1 }
        return Request(
            id: nextID, arrival: Double(ticks - first) / Double(Self.ticksPerSecond),
            promptTokens: prompt, outputTokens: output)
    }

    /// `YYYY-MM-DD HH:MM:SS[.fffffff]` (also `T` as the separator) → 100 ns ticks since 1970-01-01 (no zone).
    static func parseTimestamp(_ s: ArraySlice<UInt8>) -> Int64? {
        let b = Bytes(base: s)
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard b.count >= 19, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: " ") || b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2),
            (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction: Int64 = 0
        if b.count > 19 {
            let n = b.count - 20
            guard b[19] == UInt8(ascii: "."), (1...7).contains(n), let f = digits(20, n) else { return nil }
            fraction = f
            for _ in n..<7 { fraction *= 10 }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = ((days * 24 + hour) * 60 + minute) * 60 + second
        return secs * ticksPerSecond + fraction
    }

    /// Zero-based indexing into a slice without copying it.
    private struct Bytes {
        let base: ArraySlice<UInt8>
        var count: Int { base.count }
        subscript(i: Int) -> UInt8 { base[base.startIndex + i] }
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Streams a splitwise-sim trace
/// (`request_id,request_type,application_id,arrival_timestamp,batch_size,prompt_size,token_size`).
///
/// `arrival_timestamp` is in seconds and kept as written; `prompt_size`/`token_size` become the prompt and output
/// tokens. Columns are found by header name, so extra columns (e.g. a pandas index) are ignored. Rows must be in
/// non-decreasing arrival order.
public struct SplitwiseTraceReader: RequestStream {
    public static let columns = [
        "request_id", "request_type", "application_id", "arrival_timestamp", "batch_size", "prompt_size",
        "token_size",
    ]
    private var rows: CSVRows
    private let cID: Int, cArrival: Int, cPrompt: Int, cOutput: Int
    private var lastArrival = -Double.infinity

    public init(path: String) throws {
        try self.init(reader: try ChunkedLineReader(path: path), file: path)
    }

    public init(text: String, name: String = "<memory>") throws {
        try self.init(reader: ChunkedLineReader(bytes: Array(text.utf8), name: name), file: name)
    }

    private init(reader: ChunkedLineReader, file: String) throws {
        rows = try CSVRows(reader: reader, file: file, required: Self.columns)
        cID = rows.index(of: "request_id")
        cArrival = rows.index(of: "arrival_timestamp")
        cPrompt = rows.index(of: "prompt_size")
        cOutput = rows.index(of: "token_size")
    }

    public mutating func next() throws -> Request? {
        guard try rows.advance() else { return nil }
        let id = try rows.int(cID)
        let arrival = try rows.double(cArrival)
        guard arrival >= 0 else { throw rows.error(cArrival, "negative arrival \(rows.text(cArrival))") }
        guard arrival >= lastArrival else {
            throw rows.error(cArrival, "arrival \(rows.text(cArrival)) is earlier than the previous row")
        }
        lastArrival = arrival
        return Request(
            id: id, arrival: arrival, promptTokens: try rows.int(cPrompt), outputTokens: try rows.int(cOutput))
    }
}

/// The trace formats the simulator reads.
public enum TraceFormat: String, Sendable, Codable, CaseIterable {
    case azure
    case splitwise

    /// Guesses the format from a file's header row.
    public static func detect(path: String) throws -> TraceFormat {
        let reader = try ChunkedLineReader(path: path, chunkSize: 4096)
        let header = String(decoding: try reader.nextLine() ?? [], as: UTF8.self)
        if header.contains("TIMESTAMP") { return .azure }
        if header.contains("arrival_timestamp") { return .splitwise }
        throw TraceError(file: path, line: 1, message: "unknown trace format (header: \(header))")
    }

    /// Opens a trace file of this format as a stream.
    public func open(path: String) throws -> AnyRequestStream {
        switch self {
        case .azure: return try AzureTraceReader(path: path).eraseToAnyStream()
        case .splitwise: return try SplitwiseTraceReader(path: path).eraseToAnyStream()
        }
    }
}
