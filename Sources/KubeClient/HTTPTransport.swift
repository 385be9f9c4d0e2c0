import Foundation

/// An HTTP/1.1 and HTTP/2 client over libcurl's multi interface: one network thread serves every request,
/// connections are kept alive and reused, and requests from any number of tasks are safe.
public final class HTTPTransport: Sendable {
    public struct Configuration: Sendable {
        /// Transfers running at once; more wait their turn in order.
        public var maxConcurrentTransfers = 128
        /// Connections per host (0 = no limit; HTTP/2 multiplexes many transfers on one).
        public var maxConnectionsPerHost = 0
        /// Largest buffered response body accepted by `send`.
        public var maxBufferedBodyBytes = 512 << 20
        /// Streaming back-pressure: pause the transfer when this many bytes wait unread ...
        public var streamHighWater = 1 << 20
        /// ... and resume once the reader is down to this many.
        public var streamLowWater = 256 << 10
        public var userAgent = "heteroscale"
        public init() {}
    }

    /// A process-wide transport with the default configuration.
    public static let shared = HTTPTransport()

    private let loop: CurlLoop
    private let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        loop = CurlLoop(limits: .init(
            maxConcurrentTransfers: max(1, configuration.maxConcurrentTransfers),
            maxConnectionsPerHost: configuration.maxConnectionsPerHost,
            maxBufferedBodyBytes: configuration.maxBufferedBodyBytes,
            userAgent: configuration.userAgent))
    }

    deinit { loop.post(.shutdown) }

    /// Sends a request and buffers the whole response. Any status is a response; only transport failures throw
    /// (`TransportError`, or `CancellationError` when the calling task is cancelled).
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = CurlTransfer(request: request)
        let loop = self.loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<HTTPResponse, any Error>) in
                transfer.delivery = .buffered(cont)
                if !loop.post(.add(transfer)) { transfer.complete(.failure(TransportError.shutDown)) }
            }
        } onCancel: {
            transfer.markCancelled()
            loop.post(.cancel(transfer))
        }
    }

    /// Sends a request and returns as soon as the status and headers are in; the body streams as it arrives.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let transfer = CurlTransfer(request: request)
        let loop = self.loop
        let buffer = StreamBuffer(
            highWater: configuration.streamHighWater, lowWater: configuration.streamLowWater,
            resume: { [weak transfer] in if let transfer { loop.post(.resume(transfer)) } },
            abort: { [weak transfer] in
                if let transfer {
                    transfer.markCancelled()
                    loop.post(.cancel(transfer))
                }
            })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<HTTPStreamingResponse, any Error>) in
                transfer.delivery = .streaming(cont, buffer)
                if !loop.post(.add(transfer)) { transfer.complete(.failure(TransportError.shutDown)) }
            }
        } onCancel: {
            transfer.markCancelled()
            loop.post(.cancel(transfer))
        }
    }

    /// Fails everything in flight with `TransportError.shutDown` and stops the network thread.
    public func shutdown() { loop.shutdown() }
}
