import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import YAML

/// One request the pod proxy subresource forwards to a pod (`/api/v1/namespaces/NS/pods/ID/proxy/PATH`).
struct PodProxyPlan: Sendable {
    var method: String
    /// The pod's IP and port as kube-apiserver names them in its messages (`dial tcp IP:PORT: ...`).
    var podIP: String
    var port: Int
    /// The address the emulator dials: `KubeEmulator.Configuration.podNetwork` applied to the pod IP.
    var dialHost: String
    /// Path and query sent to the pod.
    var uri: String
    var body: [UInt8]
    var contentType: String
    var accept: String
}

/// The pod's answer, passed through unchanged (status, content type, body).
struct PodProxyAnswer: Sendable {
    var status: Int
    var contentType: String?
    var body: [UInt8]
}

extension Engine {
    /// The pods/proxy subresource, as kube-apiserver's `pod.ResourceLocation` and its proxy handler answer:
    /// - the id is `NAME`, `NAME:PORT` or `SCHEME:NAME:PORT` (else 400 `invalid pod request "ID"`); without a port the
    ///   first declared container port is used;
    /// - an unknown pod is 404; a pod without an IP (Pending, not yet scheduled) or with an IP that is not global
    ///   unicast is 400 `address not allowed` (the phase itself is not checked: a finished pod that keeps its IP is
    ///   dialled, and refuses);
    /// - a pod that does not answer is 503 ServiceUnavailable `error trying to reach service: dial tcp IP:PORT:
    ///   connect: connection refused` (or `i/o timeout`), from the proxy transport's `RoundTrip`;
    /// - anything the pod answers is passed through.
    ///
    /// Deviation: loopback pod IPs are allowed (kube-apiserver refuses them), since the emulator's pods live on
    /// loopback addresses. `https` pods are not dialled (the emulator speaks no TLS): 503 saying so.
    func podProxy(_ req: APIRequest, namespace: String?, id: String, def: ResourceDef) throws(StatusError) -> APIResponse {
        guard ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(req.method) else {
            throw StatusError.methodNotAllowed(req.method)
        }
        // k8s.io/apimachinery/pkg/util/net.SplitSchemeNamePort.
        let parts = id.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var scheme = "", name = "", port = ""
        switch parts.count {
        case 1: name = parts[0]
        case 2: (name, port) = (parts[0], parts[1])
        case 3: (scheme, name, port) = (parts[0], parts[1], parts[2])
        default: throw StatusError.badRequest("invalid pod request \(GoFormat.quote(id))")
        }
        guard !name.isEmpty, ["", "http", "https"].contains(scheme) else {
            throw StatusError.badRequest("invalid pod request \(GoFormat.quote(id))")
        }
        let pod = try state.withLock { s throws(StatusError) in try s.get(def, namespace, name) }
        if port.isEmpty {
            for c in pod["spec"]?["containers"]?.arrayValue ?? [] {
                if let p = c["ports"]?.arrayValue?.first?["containerPort"]?.intValue {
                    port = String(p)
                    break
                }
            }
        }
        // getPodIP reads status.podIPs[0] (status.podIP converts into it).
        let podIP = pod["status"]?["podIPs"]?.arrayValue?.first?["ip"]?.stringValue ?? pod["status"]?["podIP"]?.stringValue ?? ""
        guard Self.isAllowedPodAddress(podIP) else { throw StatusError.badRequest("address not allowed") }
        let host = podIP.contains(":") ? "[\(podIP)]" : podIP
        if scheme == "https" {
            throw StatusError.serviceUnavailable(
                "error trying to reach service: the KubeEmulator's pod proxy does not speak TLS (https:\(name):\(port))")
        }
        let number = port.isEmpty ? 80 : Int(port) ?? -1
        guard (1...65535).contains(number) else {
            throw StatusError.serviceUnavailable("error trying to reach service: dial tcp: address \(host):\(port): invalid port")
        }
        // Everything after `/proxy`, query included; an empty path is `/`.
        let marker = "/pods/\(id)/proxy"
        var rest = ""
        if let r = req.rawURI.range(of: marker) { rest = String(req.rawURI[r.upperBound...]) }
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return .proxy(PodProxyPlan(
            method: req.method, podIP: podIP, port: number, dialHost: podNetwork(podIP), uri: rest, body: req.body,
            contentType: req.contentType, accept: req.accept))
    }

    /// Go's `net.IP.IsGlobalUnicast` for the pod's address, loopback allowed (see `podProxy`).
    static func isAllowedPodAddress(_ ip: String) -> Bool {
        if ip.contains(":") {
            // IPv6: not unspecified, not multicast (ff00::/8), not link-local (fe80::/10).
            let lower = ip.lowercased()
            return lower != "::" && !lower.hasPrefix("ff") && !lower.hasPrefix("fe8") && !lower.hasPrefix("fe9")
                && !lower.hasPrefix("fea") && !lower.hasPrefix("feb")
        }
        let octets = ip.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        guard octets.count == 4 else { return false }
        if octets == [0, 0, 0, 0] || octets == [255, 255, 255, 255] { return false }
        if octets[0] >= 224 { return false }  // multicast and reserved
        if octets[0] == 169 && octets[1] == 254 { return false }  // link-local
        return true
    }
}

extension StatusError {
    /// `errors.NewServiceUnavailable`: 503 with the message and no details.
    static func serviceUnavailable(_ message: String) -> StatusError {
        StatusError(code: 503, reason: "ServiceUnavailable", message: message, details: nil)
    }
}

/// Forwards one request to a pod over plain HTTP/1.1 (one connection per request, closed after the answer).
enum PodProxy {
    /// kube-apiserver's proxy dialer waits 30 s for a connection; the emulator less.
    static let connectTimeout = TimeAmount.seconds(5)
    /// The whole exchange; a pod that accepts and never answers gets this.
    static let responseTimeout = TimeAmount.seconds(60)

    static func forward(_ plan: PodProxyPlan, on loop: any EventLoop) -> EventLoopFuture<Result<PodProxyAnswer, StatusError>> {
        let promise = loop.makePromise(of: PodProxyAnswer.self)
        let address = "\(plan.podIP.contains(":") ? "[\(plan.podIP)]" : plan.podIP):\(plan.port)"
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PodAnswerCollector(promise: promise))
                }
            }
        let connected: EventLoopFuture<any Channel>
        if let socket = try? SocketAddress(ipAddress: plan.dialHost, port: plan.port) {
            connected = bootstrap.connect(to: socket)
        } else {
            connected = bootstrap.connect(host: plan.dialHost, port: plan.port)
        }
        connected.whenComplete { result in
            switch result {
            case .failure(let error):
                promise.fail(DialFailure(message: "dial tcp \(address): \(describeDial(error))"))
            case .success(let channel):
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: address)
                if !plan.accept.isEmpty { headers.add(name: "Accept", value: plan.accept) }
                if !plan.contentType.isEmpty { headers.add(name: "Content-Type", value: plan.contentType) }
                headers.add(name: "Content-Length", value: String(plan.body.count))
                headers.add(name: "Connection", value: "close")
                let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: plan.method), uri: plan.uri, headers: headers)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                if !plan.body.isEmpty {
                    channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: plan.body))), promise: nil)
                }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                let timeout = loop.scheduleTask(in: responseTimeout) {
                    promise.fail(DialFailure(message: "net/http: timeout awaiting response headers"))
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in
                    timeout.cancel()
                    channel.close(promise: nil)
                }
            }
        }
        return promise.futureResult.map { .success($0) }.flatMapErrorWithEventLoop { error, loop in
            let message = (error as? DialFailure)?.message ?? "\(error)"
            return loop.makeSucceededFuture(.failure(StatusError.serviceUnavailable("error trying to reach service: \(message)")))
        }
    }

    /// Go's wording for a failed dial: `connect: connection refused`, `i/o timeout`, `connect: no route to host`.
    static func describeDial(_ error: any Error) -> String {
        if case ChannelError.connectTimeout = error { return "i/o timeout" }
        var errno: CInt?
        if let io = error as? IOError { errno = io.errnoCode }
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first?.error as? IOError { errno = first.errnoCode }
        switch errno {
        case ECONNREFUSED?: return "connect: connection refused"
        case EHOSTUNREACH?: return "connect: no route to host"
        case ENETUNREACH?: return "connect: network is unreachable"
        case ETIMEDOUT?: return "i/o timeout"
        case let code?: return "connect: \(String(cString: strerror(code)).lowercased())"
        case nil: return "\(error)"
        }
    }

    struct DialFailure: Error { var message: String }
}

/// Collects the pod's answer; a connection that ends before it is `EOF`, as Go says.
private final class PodAnswerCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<PodProxyAnswer>
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<PodProxyAnswer>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body(let buf): body.append(contentsOf: buf.readableBytesView)
        case .end:
            guard let head else { return }
            promise.succeed(PodProxyAnswer(status: Int(head.status.code), contentType: head.headers["content-type"].first, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(PodProxy.DialFailure(message: "read tcp: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(PodProxy.DialFailure(message: "EOF"))
        context.fireChannelInactive()
    }
}
