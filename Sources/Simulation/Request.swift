/// One inference request of a workload: when it arrives and how many tokens it reads and writes.
public struct Request: Sendable, Hashable, CustomStringConvertible {
    /// Identifier, unique within one stream (a trace's `request_id`, or the 0-based row index).
    public var id: Int
    /// Arrival time in seconds from the start of the workload.
    public var arrival: Double
    public var promptTokens: Int
    public var outputTokens: Int

    public init(id: Int, arrival: Double, promptTokens: Int, outputTokens: Int) {
        self.id = id
        self.arrival = arrival
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
    }

    public var description: String {
        "Request(id: \(id), arrival: \(arrival), prompt: \(promptTokens), output: \(outputTokens))"
    }
}

/// A pull-based stream of requests in non-decreasing arrival order.
///
/// Trace readers, generators and trace operations all conform, so they compose without materialising the
/// workload: memory stays flat in trace length. A stream is consumed as it is read; copying a stream that wraps
/// a file reader shares the reader's position.
public protocol RequestStream {
    /// The next request, or nil at the end. Readers throw `TraceError` on a malformed row.
    mutating func next() throws -> Request?
}

extension RequestStream {
    /// Reads the rest of the stream into an array (for tests and small workloads).
    public mutating func collect(limit: Int = .max) throws -> [Request] {
        var out: [Request] = []
        while out.count < limit, let r = try next() { out.append(r) }
        return out
    }

    /// Type-erases the stream.
    public func eraseToAnyStream() -> AnyRequestStream { AnyRequestStream(self) }
}

/// A type-erased `RequestStream`.
public struct AnyRequestStream: RequestStream {
    private var nextRequest: () throws -> Request?

    public init(_ base: some RequestStream) {
        var base = base
        nextRequest = { try base.next() }
    }

    public mutating func next() throws -> Request? { try nextRequest() }
}
