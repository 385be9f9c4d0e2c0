import CYAML

/// Turns libyaml parser events into `JSONValue` documents.
enum YAMLLoader {
    /// Parses every document of a stream (or stops after `stopAfter` non-empty ones).
    static func load(_ input: UnsafeBufferPointer<UInt8>, marks: Bool, stopAfter: Int = .max) throws
        -> [YAMLDocument]
    {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else { throw YAMLError(message: "cannot initialize libyaml") }
        defer { yaml_parser_delete(parser) }
        // libyaml needs a non-null pointer even for empty input.
        let placeholder = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        defer { placeholder.deallocate() }
        yaml_parser_set_input_string(parser, input.baseAddress ?? UnsafePointer(placeholder), input.count)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { event.deallocate() }

        var builder = DocumentBuilder(marks: marks)
        var documents: [YAMLDocument] = []
        while true {
            guard yaml_parser_parse(parser, event) != 0 else {
                throw parserError(parser.pointee, input: input)
            }
            defer { yaml_event_delete(event) }
            let e = event.pointee
            let mark = YAMLMark(e.start_mark)
            switch e.type {
            case YAML_STREAM_END_EVENT:
                return documents
            case YAML_DOCUMENT_START_EVENT:
                builder.startDocument(at: mark)
            case YAML_DOCUMENT_END_EVENT:
                if let doc = builder.finishDocument() {
                    documents.append(doc)
                    if documents.count >= stopAfter { return documents }
                }
            case YAML_SCALAR_EVENT:
                let s = e.data.scalar
                try builder.scalar(
                    UnsafeBufferPointer(start: s.value, count: s.length),
                    plain: s.style == YAML_PLAIN_SCALAR_STYLE,
                    tag: s.tag.map { String(cString: $0) },
                    anchor: s.anchor.map { String(cString: $0) },
                    at: mark)
            case YAML_ALIAS_EVENT:
                try builder.alias(String(cString: e.data.alias.anchor), at: mark)
            case YAML_SEQUENCE_START_EVENT:
                let s = e.data.sequence_start
                try builder.startCollection(
                    mapping: false, tag: s.tag.map { String(cString: $0) },
                    anchor: s.anchor.map { String(cString: $0) }, at: mark)
            case YAML_MAPPING_START_EVENT:
                let s = e.data.mapping_start
                try builder.startCollection(
                    mapping: true, tag: s.tag.map { String(cString: $0) },
                    anchor: s.anchor.map { String(cString: $0) }, at: mark)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                try builder.endCollection()
            default:
                continue
            }
        }
    }

    static func parserError(_ p: yaml_parser_t, input: UnsafeBufferPointer<UInt8>) -> YAMLError {
        let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
        switch p.error {
        case YAML_MEMORY_ERROR:
            return YAMLError(message: "out of memory")
        case YAML_READER_ERROR:
            var message = problem
            if p.problem_value != -1 {
                message += " (0x" + String(p.problem_value, radix: 16, uppercase: true) + ")"
            }
            return YAMLError(message: message, mark: markOfOffset(p.problem_offset, in: input))
        default:
            var message = problem
            let problemMark = YAMLMark(p.problem_mark)
            if let context = p.context.map({ String(cString: $0) }) {
                message += " " + context
                let contextMark = YAMLMark(p.context_mark)
                if contextMark != problemMark { message += " (started at \(contextMark))" }
            }
            return YAMLError(message: message, mark: problemMark)
        }
    }

    /// The line and column of a byte offset of UTF-8 input.
    static func markOfOffset(_ offset: Int, in input: UnsafeBufferPointer<UInt8>) -> YAMLMark {
        var line = 1
        var column = 1
        for b in input.prefix(offset) {
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        return YAMLMark(line: line, column: column)
    }
}

extension YAMLMark {
    init(_ m: yaml_mark_t) {
        self.init(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }
}

/// Builds the value of one document at a time from events, with an explicit stack (no recursion).
struct DocumentBuilder {
    static let coreTagPrefix = "tag:yaml.org,2002:"

    struct Anchored {
        var value: JSONValue
        var marks: MarkNode?
        var nodeCount: Int
        /// The source text of a scalar, for use as a mapping key.
        var keyText: String?
    }

    struct Merge {
        var position: Int
        var objects: [(JSONObject, [MarkNode]?, [YAMLMark]?)]
    }

    struct Frame {
        var isMapping: Bool
        var start: YAMLMark
        var anchor: String?
        var nodeCount = 1
        var items: [JSONValue] = []
        var entries: [JSONObject.Entry] = []
        var childMarks: [MarkNode] = []
        var keyMarks: [YAMLMark] = []
        var keyIndex: [String: Int] = [:]
        var pendingKey: String?
        var pendingKeyMark = YAMLMark(line: 0, column: 0)
        var pendingIsMerge = false
        var mergeKeyMark: YAMLMark?
        var merges: [Merge] = []

        init(isMapping: Bool, start: YAMLMark, anchor: String?) {
            self.isMapping = isMapping
            self.start = start
            self.anchor = anchor
        }

        func index(ofKey key: String) -> Int? {
            if entries.count <= 16 { return entries.firstIndex { $0.key == key } }
            return keyIndex[key]
        }
    }

    let marks: Bool
    var stack: [Frame] = []
    var anchors: [String: Anchored] = [:]
    var aliasExpansion = 0
    var documentStart = YAMLMark(line: 1, column: 1)
    var root: (JSONValue, MarkNode?)?
    var rootIsEmpty = false

    init(marks: Bool) { self.marks = marks }

    mutating func startDocument(at mark: YAMLMark) {
        stack.removeAll(keepingCapacity: true)
        anchors.removeAll()
        root = nil
        rootIsEmpty = false
        documentStart = mark
    }

    mutating func finishDocument() -> YAMLDocument? {
        defer { root = nil }
        guard let (value, marks) = root, !rootIsEmpty else { return nil }
        return YAMLDocument(value: value, start: documentStart, marks: marks)
    }

    // MARK: Events

    mutating func scalar(
        _ bytes: UnsafeBufferPointer<UInt8>, plain: Bool, tag: String?, anchor: String?, at mark: YAMLMark
    ) throws {
        if stack.isEmpty && bytes.isEmpty && plain && tag == nil && anchor == nil {
            rootIsEmpty = true
        }
        if let last = stack.indices.last, stack[last].isMapping, stack[last].pendingKey == nil {
            // A mapping key: kept as its text.
            let text = String(decoding: bytes, as: UTF8.self)
            let isMerge = text == "<<" && plain && (tag == nil || tag == Self.coreTagPrefix + "merge")
            if let anchor {
                anchors[anchor] = Anchored(
                    value: try Self.resolve(bytes, plain: plain, tag: tag, at: mark),
                    marks: marks ? .scalar(mark) : nil, nodeCount: 1, keyText: text)
            }
            try addKey(text, isMerge: isMerge, at: mark)
            return
        }
        let value = try Self.resolve(bytes, plain: plain, tag: tag, at: mark)
        let markNode: MarkNode? = marks ? .scalar(mark) : nil
        if let anchor {
            anchors[anchor] = Anchored(
                value: value, marks: markNode, nodeCount: 1, keyText: String(decoding: bytes, as: UTF8.self))
        }
        try addValue(value, marks: markNode, nodeCount: 1, at: mark)
    }

    mutating func alias(_ name: String, at mark: YAMLMark) throws {
        guard let anchored = anchors[name] else {
            throw YAMLError(message: "found undefined alias \"\(name)\"", mark: mark)
        }
        aliasExpansion += anchored.nodeCount
        if aliasExpansion > YAML.maxAliasExpansion {
            throw YAMLError(
                message: "aliases expand to more than \(YAML.maxAliasExpansion) nodes (an alias bomb?)", mark: mark)
        }
        if let last = stack.indices.last, stack[last].isMapping, stack[last].pendingKey == nil {
            guard let text = anchored.keyText else {
                throw YAMLError(
                    message: "mapping keys must be scalars, but alias \"\(name)\" refers to a collection",
                    mark: mark)
            }
            try addKey(text, isMerge: false, at: mark)
            return
        }
        try addValue(
            anchored.value, marks: anchored.marks?.relocated(to: mark), nodeCount: anchored.nodeCount, at: mark)
    }

    mutating func startCollection(mapping: Bool, tag: String?, anchor: String?, at mark: YAMLMark) throws {
        if let last = stack.indices.last, stack[last].isMapping, stack[last].pendingKey == nil {
            throw YAMLError(
                message: "mapping keys must be scalars; \(mapping ? "mapping" : "sequence") keys are not supported",
                mark: mark)
        }
        if stack.count >= YAML.maxDepth {
            throw YAMLError(message: "collections nested deeper than \(YAML.maxDepth) levels", mark: mark)
        }
        if let tag { try Self.checkCollectionTag(tag, mapping: mapping, at: mark) }
        stack.append(Frame(isMapping: mapping, start: mark, anchor: anchor))
    }

    mutating func endCollection() throws {
        guard let frame = stack.popLast() else { return }
        let value: JSONValue
        let markNode: MarkNode?
        if frame.isMapping {
            if frame.merges.isEmpty {
                value = .object(JSONObject(frame.entries))
                markNode = marks ? .mapping(frame.start, frame.childMarks, keys: frame.keyMarks) : nil
            } else {
                let (object, childMarks, keyMarks) = Self.applyMerges(frame, marks: marks)
                value = .object(object)
                markNode = marks ? .mapping(frame.start, childMarks, keys: keyMarks) : nil
            }
        } else {
            value = .array(frame.items)
            markNode = marks ? .sequence(frame.start, frame.childMarks) : nil
        }
        if let anchor = frame.anchor {
            anchors[anchor] = Anchored(value: value, marks: markNode, nodeCount: frame.nodeCount, keyText: nil)
        }
        try addValue(value, marks: markNode, nodeCount: frame.nodeCount, at: frame.start)
    }

    // MARK: Assembly

    private mutating func addKey(_ key: String, isMerge: Bool, at mark: YAMLMark) throws {
        let top = stack.count - 1
        if isMerge {
            if let first = stack[top].mergeKeyMark {
                throw YAMLError(message: "duplicate merge key \"<<\" (first at \(first))", mark: mark)
            }
            stack[top].mergeKeyMark = mark
        } else if let i = stack[top].index(ofKey: key) {
            throw YAMLError(
                message: "duplicate key \"\(key)\" (first defined at \(stack[top].keyMarks[i]))", mark: mark)
        }
        stack[top].pendingKey = key
        stack[top].pendingKeyMark = mark
        stack[top].pendingIsMerge = isMerge
    }

    private mutating func addValue(_ value: JSONValue, marks markNode: MarkNode?, nodeCount: Int, at mark: YAMLMark)
        throws
    {
        guard let top = stack.indices.last else {
            root = (value, markNode)
            return
        }
        stack[top].nodeCount += nodeCount
        if !stack[top].isMapping {
            stack[top].items.append(value)
            if let markNode { stack[top].childMarks.append(markNode) }
            return
        }
        guard let key = stack[top].pendingKey else { return }
        stack[top].pendingKey = nil
        if stack[top].pendingIsMerge {
            try addMerge(value, marks: markNode, at: mark)
            return
        }
        stack[top].entries.append(JSONObject.Entry(key: key, value: value))
        stack[top].keyMarks.append(stack[top].pendingKeyMark)
        if let markNode { stack[top].childMarks.append(markNode) }
        let count = stack[top].entries.count
        if count == 17 {
            for (i, e) in stack[top].entries.enumerated() { stack[top].keyIndex[e.key] = i }
        } else if count > 17 {
            stack[top].keyIndex[key] = count - 1
        }
    }

    private mutating func addMerge(_ value: JSONValue, marks markNode: MarkNode?, at mark: YAMLMark) throws {
        let top = stack.count - 1
        var objects: [(JSONObject, [MarkNode]?, [YAMLMark]?)] = []
        switch value {
        case .object(let o):
            objects.append((o, Self.children(markNode), Self.keyMarks(markNode)))
        case .array(let items):
            let itemMarks = Self.children(markNode)
            for (i, item) in items.enumerated() {
                guard case .object(let o) = item else {
                    throw YAMLError(
                        message: "merge key \"<<\" needs a mapping or a sequence of mappings, found a \(item.kindName) in the sequence",
                        mark: itemMarks.map { $0[i].mark } ?? mark)
                }
                objects.append((o, itemMarks.map { Self.children($0[i]) ?? [] }, itemMarks.flatMap { Self.keyMarks($0[i]) }))
            }
        default:
            throw YAMLError(
                message: "merge key \"<<\" needs a mapping or a sequence of mappings, found \(value.kindName)",
                mark: mark)
        }
        stack[top].merges.append(Merge(position: stack[top].entries.count, objects: objects))
    }

    private static func children(_ node: MarkNode?) -> [MarkNode]? {
        switch node {
        case .mapping(_, let c, _), .sequence(_, let c): return c
        default: return nil
        }
    }

    private static func keyMarks(_ node: MarkNode?) -> [YAMLMark]? {
        if case .mapping(_, _, let keys) = node { return keys }
        return nil
    }

    /// Inserts merged entries where their `<<` stood, skipping keys given explicitly and, among several
    /// merged mappings, keys an earlier one already gave.
    private static func applyMerges(_ frame: Frame, marks: Bool) -> (JSONObject, [MarkNode], [YAMLMark]) {
        var explicit = Set<String>(minimumCapacity: frame.entries.count)
        for e in frame.entries { explicit.insert(e.key) }
        var taken = Set<String>()
        var entries: [JSONObject.Entry] = []
        var childMarks: [MarkNode] = []
        var keyMarks: [YAMLMark] = []
        var m = 0
        for i in 0...frame.entries.count {
            while m < frame.merges.count, frame.merges[m].position == i {
                for (object, objectMarks, objectKeyMarks) in frame.merges[m].objects {
                    for (j, e) in object.entries.enumerated()
                    where !explicit.contains(e.key) && !taken.contains(e.key) {
                        taken.insert(e.key)
                        entries.append(e)
                        if marks, let objectMarks, j < objectMarks.count { childMarks.append(objectMarks[j]) }
                        // A merged key is reported where the `<<` stands when its own position is unknown.
                        if marks {
                            keyMarks.append(objectKeyMarks.flatMap { j < $0.count ? $0[j] : nil } ?? frame.mergeKeyMark ?? frame.start)
                        }
                    }
                }
                m += 1
            }
            if i < frame.entries.count {
                entries.append(frame.entries[i])
                if marks, i < frame.childMarks.count { childMarks.append(frame.childMarks[i]) }
                if marks, i < frame.keyMarks.count { keyMarks.append(frame.keyMarks[i]) }
            }
        }
        return (JSONObject(entries), childMarks, keyMarks)
    }

    // MARK: Typing

    static func resolve(_ bytes: UnsafeBufferPointer<UInt8>, plain: Bool, tag: String?, at mark: YAMLMark) throws
        -> JSONValue
    {
        guard let tag else {
            return plain ? CoreSchema.resolvePlain(bytes) : .string(String(decoding: bytes, as: UTF8.self))
        }
        if tag == "!" { return .string(String(decoding: bytes, as: UTF8.self)) }
        guard tag.hasPrefix(coreTagPrefix) else {
            // Unknown tag: typed by content.
            return plain ? CoreSchema.resolvePlain(bytes) : .string(String(decoding: bytes, as: UTF8.self))
        }
        func invalid(_ what: String) -> YAMLError {
            YAMLError(
                message: "invalid \(what) value \"\(String(decoding: bytes, as: UTF8.self))\" for tag !!\(what)",
                mark: mark)
        }
        switch tag.dropFirst(coreTagPrefix.count) {
        case "str":
            return .string(String(decoding: bytes, as: UTF8.self))
        case "int":
            guard let v = CoreSchema.integer(bytes) else { throw invalid("int") }
            return v
        case "float":
            if let d = CoreSchema.float(bytes) { return .double(d) }
            if let v = CoreSchema.integer(bytes), let d = v.doubleValue { return .double(d) }
            throw invalid("float")
        case "bool":
            guard let b = CoreSchema.bool(bytes) else { throw invalid("bool") }
            return .bool(b)
        case "null":
            guard CoreSchema.isNull(bytes) else { throw invalid("null") }
            return .null
        case "map", "seq", "omap", "pairs", "set":
            throw YAMLError(message: "tag !!\(tag.dropFirst(coreTagPrefix.count)) cannot apply to a scalar", mark: mark)
        default:
            return plain ? CoreSchema.resolvePlain(bytes) : .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    static func checkCollectionTag(_ tag: String, mapping: Bool, at mark: YAMLMark) throws {
        guard tag.hasPrefix(coreTagPrefix) else { return }
        let name = tag.dropFirst(coreTagPrefix.count)
        let wrong: Bool
        switch name {
        case "map": wrong = !mapping
        case "seq": wrong = mapping
        case "str", "int", "float", "bool", "null", "binary", "timestamp": wrong = true
        default: wrong = false
        }
        if wrong {
            throw YAMLError(message: "tag !!\(name) cannot apply to a \(mapping ? "mapping" : "sequence")", mark: mark)
        }
    }
}
