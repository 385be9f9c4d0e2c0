import Foundation
import NIOCore
import NIOHTTP1
import YAML

/// One connection: collects a request, answers it from the engine, or streams a watch.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let engine: Engine
    private let bookmarkInterval: TimeAmount
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// Set when the request body exceeds `maxRequestBodyBytes`; the rest of it is discarded.
    private var bodyTooLarge = false
    /// kube-apiserver's default request body limit for writes (`MaxRequestBodyBytes`, 3 MiB).
    static let maxRequestBodyBytes = 3 * 1024 * 1024
    // The running watch, if any.
    private var watchID: Int?
    private var watchPlan: WatchPlan?
    private var sentColumns = false
    private var timeoutTask: Scheduled<Void>?
    private var bookmarkTask: RepeatedTask?
    private var keepAlive = true

    init(engine: Engine, bookmarkInterval: TimeAmount) {
        self.engine = engine
        self.bookmarkInterval = bookmarkInterval
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            bodyTooLarge = false
            if h.headers["expect"].first?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .continue))),
                                      promise: nil)
            }
        case .body(let buf):
            guard !bodyTooLarge else { return }
            if body.count + buf.readableBytes > Self.maxRequestBodyBytes {
                bodyTooLarge = true
                body = []
                return
            }
            body.append(contentsOf: buf.readableBytesView)
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, head: head)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopWatch()
        context.fireChannelInactive()
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        keepAlive = head.isKeepAlive
        let req = APIRequest(method: head.method.rawValue, uri: head.uri,
                             accept: head.headers["accept"].joined(separator: ","),
                             contentType: head.headers["content-type"].first ?? "", body: body)
        body = []
        if bodyTooLarge {
            bodyTooLarge = false
            let error = StatusError.requestEntityTooLarge(limit: Self.maxRequestBodyBytes)
            writeJSON(context: context, code: error.code, value: error.status)
            return
        }
        switch engine.fault(for: req) {
        case .none:
            answer(context: context, req)
        case .fail(let error):
            writeJSON(context: context, code: error.code, value: error.status)
        case .delay(let delay):
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                let (handler, ctx) = bound.value
                handler.answer(context: ctx, req)
            }
        }
    }

    private func answer(context: ChannelHandlerContext, _ req: APIRequest) {
        switch engine.handle(req) {
        case .json(let code, let value, let warnings):
            writeJSON(context: context, code: code, value: value, warnings: warnings)
        case .watch(let plan):
            startWatch(context: context, plan: plan)
        case .proxy(let plan):
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            PodProxy.forward(plan, on: context.eventLoop).whenSuccess { result in
                let (handler, ctx) = bound.value
                switch result {
                case .success(let answer): handler.writeRaw(context: ctx, answer)
                case .failure(let error): handler.writeJSON(context: ctx, code: error.code, value: error.status)
                }
            }
        }
    }

    /// A pod's answer through the pod proxy, passed on as it came.
    private func writeRaw(context: ChannelHandlerContext, _ answer: PodProxyAnswer) {
        var headers = HTTPHeaders()
        if let type = answer.contentType { headers.add(name: "Content-Type", value: type) }
        headers.add(name: "Content-Length", value: String(answer.body.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: answer.status),
                                                             headers: headers))), promise: nil)
        if !answer.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
        }
        let keep = keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keep { channel.close(promise: nil) }
        }
    }

    private func writeJSON(context: ChannelHandlerContext, code: Int, value: JSONValue, warnings: [String] = []) {
        let bytes = (try? value.jsonBytes()) ?? Array("{}".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(bytes.count + 1))
        headers.add(name: "Cache-Control", value: "no-cache, private")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        // k8s.io/apiserver pkg/endpoints/handlers/responsewriters: `Warning: 299 - "text"`.
        for w in warnings { headers.add(name: "Warning", value: "299 - \(GoFormat.quote(w))") }
        if let retry = value["details"]?["retryAfterSeconds"]?.intValue, value["kind"]?.stringValue == "Status" {
            headers.add(name: "Retry-After", value: String(retry))
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code),
                                                             headers: headers))), promise: nil)
        var buf = context.channel.allocator.buffer(capacity: bytes.count + 1)
        buf.writeBytes(bytes)
        buf.writeInteger(UInt8(ascii: "\n"))
        context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
        let keep = keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keep { channel.close(promise: nil) }
        }
    }

    private func writeStreamHead(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        headers.add(name: "Cache-Control", value: "no-cache, private")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                              promise: nil)
    }

    private func startWatch(context: ChannelHandlerContext, plan: WatchPlan) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let deliver: @Sendable ([WatchEvent]) -> Void = { events in
            loop.execute {
                let (handler, ctx) = bound.value
                handler.writeEvents(context: ctx, events)
            }
        }
        let result = engine.state.withLock { s in
            Result { () throws(StatusError) in try s.watch(plan.filter, from: plan.resourceVersion, deliver: deliver) }
        }
        switch result {
        case .failure(let error) where error.code == 410:
            writeStreamHead(context: context)
            watchID = 0
            watchPlan = plan
            writeEvents(context: context, [WatchEvent(type: "ERROR", object: error.status)])
            endWatch(context: context)
        case .failure(let error):
            writeJSON(context: context, code: error.code, value: error.status)
        case .success(let (id, initial)):
            watchID = id
            watchPlan = plan
            sentColumns = false
            writeStreamHead(context: context)
            if !initial.isEmpty { writeEvents(context: context, initial) }
            if let t = plan.timeoutSeconds, t > 0 {
                timeoutTask = loop.scheduleTask(in: .seconds(Int64(t))) {
                    let (handler, ctx) = bound.value
                    handler.endWatch(context: ctx)
                }
            }
            if plan.bookmarks {
                let engine = self.engine
                bookmarkTask = loop.scheduleRepeatedTask(initialDelay: bookmarkInterval, delay: bookmarkInterval) { _ in
                    engine.state.withLock { $0.bookmark(id) }
                }
            }
        }
    }

    /// Writes events; an empty batch means "the server ends this watch".
    private func writeEvents(context: ChannelHandlerContext, _ events: [WatchEvent]) {
        guard watchID != nil, let plan = watchPlan else { return }
        if events.isEmpty {
            endWatch(context: context)
            return
        }
        var buf = context.channel.allocator.buffer(capacity: 512 * events.count)
        for e in events {
            var obj = e.object
            if plan.table && (e.type == "ADDED" || e.type == "MODIFIED" || e.type == "DELETED") {
                obj = Table.render(plan.filter.def, objects: [obj], listMeta: nil, now: engine.now(),
                                   includeColumns: !sentColumns)
                sentColumns = true
            }
            let ev: JSONValue = ["type": .string(e.type), "object": obj]
            buf.writeBytes((try? ev.jsonBytes()) ?? [])
            buf.writeInteger(UInt8(ascii: "\n"))
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
    }

    private func stopWatch() {
        if let id = watchID, id != 0 { engine.state.withLock { $0.unwatch(id) } }
        watchID = nil
        watchPlan = nil
        timeoutTask?.cancel()
        timeoutTask = nil
        bookmarkTask?.cancel()
        bookmarkTask = nil
    }

    private func endWatch(context: ChannelHandlerContext) {
        guard watchID != nil else { return }
        stopWatch()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
