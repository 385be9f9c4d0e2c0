
/// The body of a streaming response, delivered in chunks as the network hands them over.
///
/// Back-pressure: when the consumer falls `highWater` bytes behind, the network thread pauses the transfer
/// (libcurl keeps the bytes; nothing is dropped) and resumes it once the consumer has drained below
/// `lowWater`. Dropping the response, or cancelling the task that iterates it, aborts the transfer.
public final class HTTPStreamingResponse: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    public let head: HTTPResponseHead
    public var status: Int { head.status }
    public var headers: HTTPHeaders { head.headers }

    let buffer: StreamBuffer

    init(head: HTTPResponseHead, buffer: StreamBuffer) {
        self.head = head
        self.buffer = buffer
    }

    deinit { buffer.abandon() }

    /// Stops the transfer; a pending `next()` ends with `CancellationError`.
    public func cancel() { buffer.abandon() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let response: HTTPStreamingResponse
        public mutating func next() async throws -> [UInt8]? { try await response.buffer.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(response: self) }

    /// Reads the rest of the body, failing once it exceeds `limit` bytes.
    public func collect(limit: Int = 64 << 20) async throws -> [UInt8] {
        var all: [UInt8] = []
        for try await chunk in self {
            all += chunk
            if all.count > limit { throw TransportError.invalidRequest("response body larger than \(limit) bytes") }
        }
        return all
    }

    /// The body split into lines (without the `\n`, and without a trailing `\r`), as they arrive.
    /// A final line without a newline is delivered too. Lines longer than `maxLineBytes` fail the stream.
    public func lines(maxLineBytes: Int = 16 << 20) -> LineSequence { LineSequence(response: self, maxLineBytes: maxLineBytes) }

    public struct LineSequence: AsyncSequence, Sendable {
        public typealias Element = [UInt8]
        let response: HTTPStreamingResponse
        let maxLineBytes: Int

        public struct AsyncIterator: AsyncIteratorProtocol {
            var chunks: HTTPStreamingResponse.AsyncIterator
            var framer: LineFramer
            var done = false

            public mutating func next() async throws -> [UInt8]? {
                while true {
                    if let line = try framer.nextLine() { return line }
                    if done { return framer.finish() }
                    if let next = try await chunks.next() {
                        framer.push(next)
                    } else {
                        done = true
                    }
                }
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(chunks: response.makeAsyncIterator(), framer: LineFramer(maxLineBytes: maxLineBytes))
        }
    }
}

/// Splits a byte stream into lines as its chunks arrive (the framing of a watch response and of `lines()`).
///
/// A line is delivered without its `\n` and without a trailing `\r`; a final line without a newline is
/// delivered by `finish()`. A line still incomplete after more than `maxLineBytes` bytes fails with
/// `TransportError.invalidRequest`. Synchronous and pure, so it is unit-tested and fuzzed (docs/fuzzing.md)
/// apart from the network.
public struct LineFramer: Sendable {
    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var current: [UInt8] = []
    private var offset = 0

    public init(maxLineBytes: Int = 16 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Hands over the next chunk of the stream. Call it only once `nextLine()` has returned `nil`.
    public mutating func push(_ chunk: [UInt8]) {
        precondition(offset >= current.count, "LineFramer.push before the previous chunk was consumed")
        current = chunk
        offset = 0
    }

    /// The next complete line of the bytes pushed so far, or `nil` when it needs another chunk.
    public mutating func nextLine() throws -> [UInt8]? {
        guard offset < current.count else { return nil }
        if let nl = current[offset...].firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending
            pending = []
            line += current[offset..<nl]
            offset = nl + 1
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            return line
        }
        pending += current[offset...]
        offset = current.count
        if pending.count > maxLineBytes {
            throw TransportError.invalidRequest("a line of the response exceeds \(maxLineBytes) bytes")
        }
        return nil
    }

    /// At the end of the stream: the final line that had no newline, once (then `nil`).
    public mutating func finish() -> [UInt8]? {
        guard !pending.isEmpty else { return nil }
        defer { pending = [] }
        return pending.last == UInt8(ascii: "\r") ? Array(pending.dropLast()) : pending
    }
}

/// The hand-over point between the network thread (producer) and one consumer task.
final class StreamBuffer: Sendable {
    private struct State {
        var chunks: [[UInt8]] = []
        var head = 0
        var buffered = 0
        var finished = false
        var failure: (any Error)?
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var producerPaused = false
        var abandoned = false
    }

    private let state = Locked(State())
    let highWater: Int
    let lowWater: Int
    /// Asks the network thread to resume a paused transfer.
    private let resume: @Sendable () -> Void
    /// Asks the network thread to abort the transfer.
    private let abort: @Sendable () -> Void

    init(highWater: Int, lowWater: Int, resume: @escaping @Sendable () -> Void, abort: @escaping @Sendable () -> Void) {
        self.highWater = highWater
        self.lowWater = lowWater
        self.resume = resume
        self.abort = abort
    }

    /// Bytes received but not yet read (for tests and diagnostics).
    var bufferedBytes: Int { state.withLock { $0.buffered } }

    /// Producer side: accepts `bytes` unless the consumer is too far behind, in which case it returns
    /// `false` and the transfer must pause (libcurl delivers the same bytes again after resuming).
    func offer(_ bytes: [UInt8]) -> Bool {
        if bytes.isEmpty { return true }
        enum Outcome { case handOver(CheckedContinuation<[UInt8]?, any Error>), stored, full }
        let outcome: Outcome = state.withLock { s in
            if s.abandoned { return .stored }  // the transfer is being aborted; swallow
            if let w = s.waiter {
                s.waiter = nil
                return .handOver(w)
            }
            if s.buffered >= highWater {
                s.producerPaused = true
                return .full
            }
            s.chunks.append(bytes)
            s.buffered += bytes.count
            return .stored
        }
        switch outcome {
        case .handOver(let w):
            w.resume(returning: bytes)
            return true
        case .stored: return true
        case .full: return false
        }
    }

    /// Producer side: the transfer ended, with an error or not.
    func finish(_ error: (any Error)?) {
        let waiter = state.withLock { s -> CheckedContinuation<[UInt8]?, any Error>? in
            guard !s.finished else { return nil }
            s.finished = true
            s.failure = error
            defer { s.waiter = nil }
            return s.waiter
        }
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    /// Consumer side.
    func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<[UInt8]?, any Error>) in
                enum Outcome { case chunk([UInt8], wakeProducer: Bool), end((any Error)?), wait(wakeProducer: Bool), cancelled }
                let outcome: Outcome = state.withLock { s in
                    if s.head < s.chunks.count {
                        let c = s.chunks[s.head]
                        s.chunks[s.head] = []
                        s.head += 1
                        s.buffered -= c.count
                        if s.head >= 64 && s.head * 2 >= s.chunks.count {
                            s.chunks.removeFirst(s.head)
                            s.head = 0
                        }
                        let wake = s.producerPaused && s.buffered <= lowWater
                        if wake { s.producerPaused = false }
                        return .chunk(c, wakeProducer: wake)
                    }
                    if s.abandoned { return .cancelled }
                    if s.finished { return .end(s.failure) }
                    s.waiter = cont
                    let wake = s.producerPaused
                    s.producerPaused = false
                    return .wait(wakeProducer: wake)
                }
                switch outcome {
                case let .chunk(c, wake):
                    if wake { resume() }
                    cont.resume(returning: c)
                case .end(let error):
                    if let error { cont.resume(throwing: error) } else { cont.resume(returning: nil) }
                case .cancelled:
                    cont.resume(throwing: CancellationError())
                case .wait(let wake):
                    if wake { resume() }
                }
            }
        } onCancel: {
            self.abandon()
        }
    }

    /// Consumer side: stop the transfer and fail a pending `next()`.
    func abandon() {
        let (waiter, needAbort) = state.withLock { s -> (CheckedContinuation<[UInt8]?, any Error>?, Bool) in
            let needAbort = !s.finished && !s.abandoned
            s.abandoned = true
            s.chunks = []
            s.head = 0
            s.buffered = 0
            defer { s.waiter = nil }
            return (s.waiter, needAbort)
        }
        waiter?.resume(throwing: CancellationError())
        if needAbort { abort() }
    }
}
