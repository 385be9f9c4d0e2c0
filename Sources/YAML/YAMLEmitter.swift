import CYAML

/// Writes `JSONValue`s as block-style YAML through libyaml's emitter.
///
/// Strings are plain when that reads back as the same string, under the core schema and under YAML 1.1
/// readers (kubectl); otherwise double-quoted. Multi-line strings use literal style (`|`) when libyaml can
/// carry them that way, else double quotes. Collections are block style; only empty ones are `[]`/`{}`.
enum YAMLEmitter {
    static func dump(_ values: [JSONValue]) -> String {
        let emitter = Emitter()
        emitter.emit { e in yaml_stream_start_event_initialize(e, YAML_UTF8_ENCODING) }
        for value in values {
            emitter.emit { e in yaml_document_start_event_initialize(e, nil, nil, nil, 1) }
            emitter.node(value)
            emitter.emit { e in yaml_document_end_event_initialize(e, 1) }
        }
        emitter.emit { e in yaml_stream_end_event_initialize(e) }
        return emitter.finish()
    }

    // MARK: Scalar styles

    enum StringStyle: Equatable {
        case plain, doubleQuoted, literal
    }

    static func style(for s: String) -> StringStyle {
        var s = s
        return s.withUTF8 { b in
            if b.isEmpty { return .doubleQuoted }
            if b.contains(UInt8(ascii: "\n")) { return literalAllowed(b) ? .literal : .doubleQuoted }
            if CoreSchema.nonString(b) != nil { return .doubleQuoted }
            return plainAllowed(b) ? .plain : .doubleQuoted
        }
    }

    /// Conservative: plain only when no indicator, comment, line break or special character could change
    /// the meaning, and YAML 1.1 readers would not type it either.
    static func plainAllowed(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        let first = b[0]
        switch first {
        case UInt8(ascii: "-"):
            // `-x` and `--flag` are fine, but not `-`, `- x` or `---…` (a document marker).
            if n == 1 || b[1] == UInt8(ascii: " ") { return false }
            if n >= 3, b[1] == UInt8(ascii: "-"), b[2] == UInt8(ascii: "-") { return false }
        case UInt8(ascii: "?"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"),
            UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"),
            UInt8(ascii: "!"), UInt8(ascii: "|"), UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""),
            UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"), UInt8(ascii: " "):
            return false
        case UInt8(ascii: "."):
            if n >= 3, b[1] == UInt8(ascii: "."), b[2] == UInt8(ascii: ".") { return false }
        default:
            break
        }
        let last = b[n - 1]
        if last == UInt8(ascii: " ") || last == UInt8(ascii: ":") { return false }
        var previous: UInt8 = 0
        for c in b {
            if c < 0x20 || c == 0x7F { return false }
            if c == UInt8(ascii: "#") && previous == UInt8(ascii: " ") { return false }
            if c == UInt8(ascii: " ") && previous == UInt8(ascii: ":") { return false }
            previous = c
        }
        if CoreSchema.isYAML11Ambiguous(b) { return false }
        // Line and paragraph separators, NEL and BOM would be folded or dropped by a reader.
        return !containsSpecialBreak(b)
    }

    /// Literal style keeps a string exactly only when its line breaks are all `\n`; libyaml itself falls
    /// back to double quotes for trailing spaces before a break, tabs or non-printable characters.
    static func literalAllowed(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        !b.contains(UInt8(ascii: "\r")) && !containsSpecialBreak(b)
    }

    /// U+0085, U+2028, U+2029 or U+FEFF.
    static func containsSpecialBreak(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c == 0xC2, i + 1 < n, b[i + 1] == 0x85 { return true }
            if c == 0xE2, i + 2 < n, b[i + 1] == 0x80, b[i + 2] == 0xA8 || b[i + 2] == 0xA9 { return true }
            if c == 0xEF, i + 2 < n, b[i + 1] == 0xBB, b[i + 2] == 0xBF { return true }
            i += 1
        }
        return false
    }

    /// Text of a double that reads back as the same double, and as a float rather than an int.
    static func format(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        return d.description
    }
}

/// The libyaml emitter with an output handler appending to a Swift buffer.
private final class Emitter {
    private let emitter = UnsafeMutablePointer<yaml_emitter_t>.allocate(capacity: 1)
    private let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
    private let output = OutputBuffer()

    final class OutputBuffer {
        var bytes: [UInt8] = []
    }

    init() {
        guard yaml_emitter_initialize(emitter) != 0 else { preconditionFailure("libyaml: cannot initialize emitter") }
        yaml_emitter_set_output(
            emitter,
            { data, buffer, size in
                guard let data, let buffer else { return 0 }
                let out = Unmanaged<OutputBuffer>.fromOpaque(data).takeUnretainedValue()
                out.bytes.append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
                return 1
            }, Unmanaged.passUnretained(output).toOpaque())
        yaml_emitter_set_unicode(emitter, 1)
        yaml_emitter_set_indent(emitter, 2)
        yaml_emitter_set_width(emitter, -1)
        yaml_emitter_set_break(emitter, YAML_LN_BREAK)
    }

    deinit {
        yaml_emitter_delete(emitter)
        emitter.deallocate()
        event.deallocate()
    }

    func finish() -> String {
        guard yaml_emitter_flush(emitter) != 0 else { failed() }
        return withExtendedLifetime(output) { String(decoding: output.bytes, as: UTF8.self) }
    }

    /// Initializes an event and emits it (libyaml takes ownership of the event).
    func emit(_ initialize: (UnsafeMutablePointer<yaml_event_t>) -> Int32) {
        guard initialize(event) != 0 else { preconditionFailure("libyaml: cannot initialize event") }
        guard yaml_emitter_emit(emitter, event) != 0 else { failed() }
    }

    /// The events are well-formed by construction and the text is valid UTF-8, so libyaml cannot refuse them.
    private func failed() -> Never {
        let problem = emitter.pointee.problem.map { String(cString: $0) } ?? "unknown error"
        preconditionFailure("libyaml emitter: \(problem)")
    }

    func node(_ value: JSONValue) {
        switch value {
        case .null:
            scalar("null", .plain)
        case .bool(let b):
            scalar(b ? "true" : "false", .plain)
        case .int(let i):
            scalar(String(i), .plain)
        case .double(let d):
            scalar(YAMLEmitter.format(d), .plain)
        case .string(let s):
            scalar(s, YAMLEmitter.style(for: s))
        case .array(let items):
            let style = items.isEmpty ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE
            emit { e in yaml_sequence_start_event_initialize(e, nil, nil, 1, style) }
            for item in items { node(item) }
            emit { e in yaml_sequence_end_event_initialize(e) }
        case .object(let object):
            let style = object.isEmpty ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE
            emit { e in yaml_mapping_start_event_initialize(e, nil, nil, 1, style) }
            for entry in object {
                scalar(entry.key, YAMLEmitter.style(for: entry.key))
                node(entry.value)
            }
            emit { e in yaml_mapping_end_event_initialize(e) }
        }
    }

    private func scalar(_ text: String, _ style: YAMLEmitter.StringStyle) {
        let yamlStyle: yaml_scalar_style_t
        switch style {
        case .plain: yamlStyle = YAML_PLAIN_SCALAR_STYLE
        case .doubleQuoted: yamlStyle = YAML_DOUBLE_QUOTED_SCALAR_STYLE
        case .literal: yamlStyle = YAML_LITERAL_SCALAR_STYLE
        }
        var text = text
        text.withUTF8 { b in
            var zero: UInt8 = 0
            withUnsafeMutablePointer(to: &zero) { placeholder in
                // libyaml copies the value and never writes through it.
                let value = b.baseAddress.map { UnsafeMutablePointer(mutating: $0) } ?? placeholder
                emit { e in
                    yaml_scalar_event_initialize(e, nil, nil, value, Int32(b.count), 1, 1, yamlStyle)
                }
            }
        }
    }
}
