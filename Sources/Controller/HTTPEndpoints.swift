#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP/1.1 server for `/metrics`, `/healthz` and `/readyz` (GET only). Each route is an async
/// closure returning status, content type and body.
public final class HTTPEndpoints: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String
        public init(status: Int = 200, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public typealias Route = @Sendable () async -> Response

    private let routes: [String: Route]
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The bound port (useful with port 0).
    public let port: Int
    public let host: String

    /// Binds `address` (`:8080`, `127.0.0.1:0`, `[::1]:8081`, `0` to disable is the caller's business).
    /// Failures are `HTTPEndpointsError`s that say why (`addressInUse`, …).
    public init(address: String, routes: [String: Route]) async throws {
        let (host, port) = try Self.parse(address)
        self.routes = routes
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let routes = routes
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(Handler(routes: routes))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw HTTPEndpointsError(bindFailure: error, address: address)
        }
        self.port = channel.localAddress?.port ?? port
        self.host = host
    }

    public func close() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// `:8080` → 0.0.0.0:8080; `host:port`; `[v6]:port`.
    public static func parse(_ address: String) throws -> (String, Int) {
        var host = "0.0.0.0"
        var portText = address
        if let colon = address.lastIndex(of: ":") {
            let h = String(address[..<colon])
            portText = String(address[address.index(after: colon)...])
            if !h.isEmpty { host = h.hasPrefix("[") && h.hasSuffix("]") ? String(h.dropFirst().dropLast()) : h }
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw HTTPEndpointsError(kind: .badAddress, address: address, message: "expected HOST:PORT or :PORT, e.g. :8080 or 127.0.0.1:0")
        }
        return (host, port)
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let routes: [String: Route]
        var head: HTTPRequestHead?
        init(routes: [String: Route]) { self.routes = routes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
                let keepAlive = head.isKeepAlive
                let version = head.version
                let loop = context.eventLoop
                let promise = loop.makePromise(of: Response.self)
                if head.method != .GET && head.method != .HEAD {
                    promise.succeed(Response(status: 405, body: "method not allowed\n"))
                } else if let route = routes[path] {
                    promise.completeWithTask { await route() }
                } else {
                    promise.succeed(Response(status: 404, body: "not found\n"))
                }
                let bound = NIOLoopBound((self, context), eventLoop: loop)
                promise.futureResult.whenSuccess { response in
                    let (handler, context) = bound.value
                    handler.write(context: context, response: response, version: version, keepAlive: keepAlive, head: head.method == .HEAD)
                }
            }
        }

        private func write(context: ChannelHandlerContext, response: Response, version: HTTPVersion, keepAlive: Bool, head isHead: Bool) {
            var headers = HTTPHeaders()
            let body = Array(response.body.utf8)
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .init(statusCode: response.status), headers: headers))), promise: nil)
            if !isHead {
                var buffer = context.channel.allocator.buffer(capacity: body.count)
                buffer.writeBytes(body)
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let channel = context.channel
                done.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

/// Why `HTTPEndpoints` could not listen.
public struct HTTPEndpointsError: Error, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case badAddress
        /// Another process (or another endpoint of this one) listens there.
        case addressInUse
        /// A port below 1024 without the privilege to bind it.
        case permissionDenied
        /// The host is not an address of this machine, or cannot be resolved.
        case addressNotAvailable
        case other
    }

    public var kind: Kind
    public var address: String
    public var message: String

    public init(kind: Kind, address: String, message: String) {
        self.kind = kind
        self.address = address
        self.message = message
    }

    /// Classifies an error of binding `address`.
    init(bindFailure error: any Error, address: String) {
        self.address = address
        if let e = error as? IOError {
            switch e.errnoCode {
            case EADDRINUSE: (kind, message) = (.addressInUse, "in use")
            case EACCES, EPERM: (kind, message) = (.permissionDenied, "permission denied")
            case EADDRNOTAVAIL: (kind, message) = (.addressNotAvailable, "not an address of this machine")
            default: (kind, message) = (.other, "\(e)")
            }
        } else if error is SocketAddressError {
            (kind, message) = (.addressNotAvailable, "the host cannot be resolved")
        } else {
            (kind, message) = (.other, "\(error)")
        }
    }

    public var description: String { "\(address): \(message)" }

    /// One line for the flag that gave `address`: what is wrong and what to do, e.g.
    /// `--metrics-bind-address 127.0.0.1:8080 is in use (…); pass a free address, e.g. …`.
    public func explained(flag: String) -> String {
        let free = "pass a free address, e.g. \(flag) 127.0.0.1:0 (any free port; the log line names it), or \(flag) 0 to turn it off"
        switch kind {
        case .addressInUse:
            return "\(flag) \(address) is in use (another controller or server listens there, e.g. a second controller run out-of-cluster); \(free)"
        case .permissionDenied:
            return "\(flag) \(address): permission denied (ports below 1024 need privileges); use a port above 1023, or \(flag) 0 to turn it off"
        case .addressNotAvailable:
            return "\(flag) \(address): \(message); use :PORT (all interfaces) or 127.0.0.1:PORT"
        case .badAddress:
            return "\(flag) \(address): \(message)"
        case .other:
            return "\(flag) \(address): cannot listen: \(message); \(free)"
        }
    }
}
