import Foundation
import Logging
import YAML

/// Log output formats of `heteroscale controller --log-format`.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// One line per message on standard error, as text (`2026-11-24T03:00:00Z info rescaled podautoscaler=ns/pa …`)
/// or JSON (`{"ts":"…","level":"info","logger":"…","msg":"rescaled","podautoscaler":"ns/pa",…}`).
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let label: String
    public let format: LogFormat
    private let write: @Sendable (String) -> Void

    public init(label: String, format: LogFormat, level: Logger.Level,
                write: @escaping @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data(line.utf8)) }) {
        self.label = label
        self.format = format
        logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let time = Self.timestamp()
        switch format {
        case .text:
            let fields = all.keys.sorted().map { "\($0)=\(Self.quoteIfNeeded("\(all[$0]!)"))" }.joined(separator: " ")
            write("\(time) \(event.level) \(event.message)\(fields.isEmpty ? "" : " " + fields)\n")
        case .json:
            var o: JSONObject = ["ts": .string(time), "level": .string("\(event.level)"), "logger": .string(label), "msg": .string("\(event.message)")]
            for key in all.keys.sorted() where o[key] == nil { o[key] = Self.json(all[key]!) }
            write(String(decoding: (try? JSONValue.object(o).jsonBytes()) ?? [], as: UTF8.self) + "\n")
        }
    }

    private static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d):
            var o = JSONObject()
            for key in d.keys.sorted() { o[key] = json(d[key]!) }
            return .object(o)
        }
    }

    private static func quoteIfNeeded(_ s: String) -> String {
        s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : s
    }

    private static func timestamp() -> String { RFC3339.format(Date(), fractionDigits: 3) }
}
