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
            throw error
        }
        self.port = channel.localAddress?.port ?? port
        self.host = host
    }

    public func close() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// `:8080` → 0.0.0.0:8080; `host:port`; `[v6]:port`.
    static func parse(_ address: String) throws -> (String, Int) {
        var host = "0.0.0.0"
        var portText = address
        if let colon = address.lastIndex(of: ":") {
            let h = String(address[..<colon])
            portText = String(address[address.index(after: colon)...])
            if !h.isEmpty { host = h.hasPrefix("[") && h.hasSuffix("]") ? String(h.dropFirst().dropLast()) : h }
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw HTTPEndpointsError(message: "bad bind address \(address): expected HOST:PORT or :PORT")
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

public struct HTTPEndpointsError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
