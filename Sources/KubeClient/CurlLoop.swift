import CCurl
import Foundation

// The only file that drives libcurl. Every easy handle and the multi handle are touched on the loop's
// own thread; other threads talk to it through `commands` and `curl_multi_wakeup`, the one libcurl call
// documented as safe from any thread.

private let curlGlobalInit: Bool = {
    curl_global_init(hs_global_all()) == CURLE_OK
}()

/// One request in flight, owned by the loop thread once submitted.
final class CurlTransfer: @unchecked Sendable {
    enum Delivery {
        case buffered(CheckedContinuation<HTTPResponse, any Error>)
        case streaming(CheckedContinuation<HTTPStreamingResponse, any Error>, StreamBuffer)
    }

    let request: HTTPRequest
    private let cancelFlag = Locked(false)
    // Everything below is touched only on the loop thread.
    var delivery: Delivery?
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var connectToList: UnsafeMutablePointer<curl_slist>?
    var retainedForCallbacks = false
    var status = 0
    var headers = HTTPHeaders()
    var headDelivered = false
    var body: [UInt8] = []
    var maxBodyBytes = Int.max
    var bodyTooLarge = false
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init(request: HTTPRequest) {
        self.request = request
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit { errorBuffer.deallocate() }

    var isCancelled: Bool { cancelFlag.withLock { $0 } }
    func markCancelled() { cancelFlag.withLock { $0 = true } }

    /// Completes the transfer exactly once; later calls are ignored.
    func complete(_ result: Result<Void, any Error>) {
        guard let delivery else { return }
        self.delivery = nil
        switch (delivery, result) {
        case let (.buffered(cont), .success):
            cont.resume(returning: HTTPResponse(status: status, headers: headers, body: body))
        case let (.buffered(cont), .failure(error)):
            cont.resume(throwing: error)
        case let (.streaming(cont, buffer), .success):
            if !headDelivered {
                headDelivered = true
                cont.resume(returning: HTTPStreamingResponse(head: HTTPResponseHead(status: status, headers: headers), buffer: buffer))
            }
            buffer.finish(nil)
        case let (.streaming(cont, buffer), .failure(error)):
            if !headDelivered {
                headDelivered = true
                cont.resume(throwing: error)
            }
            buffer.finish(error)
        }
    }

    /// Streaming: hands the status and headers to the waiting caller once the header block is complete.
    func deliverHeadIfStreaming() {
        guard !headDelivered, case let .streaming(cont, buffer)? = delivery else { return }
        headDelivered = true
        cont.resume(returning: HTTPStreamingResponse(head: HTTPResponseHead(status: status, headers: headers), buffer: buffer))
    }
}

/// The network thread: one `curl_multi` loop serving every request of a transport.
final class CurlLoop: @unchecked Sendable {
    enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
        case resume(CurlTransfer)
        case shutdown
    }

    struct Limits: Sendable {
        var maxConcurrentTransfers: Int
        var maxConnectionsPerHost: Int
        var maxBufferedBodyBytes: Int
        var userAgent: String
    }

    private let multi: UnsafeMutableRawPointer
    private let commands = Locked<(queue: [Command], stopped: Bool)>(([], false))
    private let limits: Limits
    private let finished = DispatchSemaphore(value: 0)
    // Loop-thread state.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private var waiting: [CurlTransfer] = []
    private var waitingHead = 0

    init(limits: Limits) {
        _ = curlGlobalInit
        guard let m = curl_multi_init() else { preconditionFailure("curl_multi_init failed (out of memory)") }
        multi = m
        self.limits = limits
        if limits.maxConnectionsPerHost > 0 {
            _ = hs_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, limits.maxConnectionsPerHost)
        }
        _ = hs_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(16, limits.maxConcurrentTransfers))
        let thread = Thread { [self] in run() }
        thread.name = "heteroscale-curl"
        thread.start()
    }

    /// Queues a command for the loop thread. Returns false once the loop has stopped.
    @discardableResult
    func post(_ command: Command) -> Bool {
        let accepted = commands.withLock { c -> Bool in
            if c.stopped { return false }
            c.queue.append(command)
            return true
        }
        if accepted { curl_multi_wakeup(multi) }
        return accepted
    }

    /// Stops the loop, failing whatever is still in flight, and waits for the thread to end.
    func shutdown() {
        if post(.shutdown) { finished.wait() }
    }

    // MARK: - Loop thread

    private func run() {
        var stopping = false
        while true {
            let batch = commands.withLock { c -> [Command] in
                defer { c.queue.removeAll(keepingCapacity: true) }
                return c.queue
            }
            for command in batch {
                switch command {
                case .add(let t):
                    if stopping {
                        t.complete(.failure(TransportError.shutDown))
                    } else if t.isCancelled {
                        t.complete(.failure(CancellationError()))
                    } else {
                        waiting.append(t)
                    }
                case .cancel(let t): cancel(t)
                case .resume(let t):
                    if let easy = t.easy, active[easy] != nil { _ = curl_easy_pause(easy, hs_pause_cont()) }
                case .shutdown: stopping = true
                }
            }
            if stopping {
                let all = Array(active.values) + waiting[waitingHead...]
                for t in all { finish(t, .failure(TransportError.shutDown)) }
                waiting = []
                waitingHead = 0
                let late = commands.withLock { c -> [Command] in
                    c.stopped = true
                    defer { c.queue = [] }
                    return c.queue
                }
                for case .add(let t) in late { t.complete(.failure(TransportError.shutDown)) }
                curl_multi_cleanup(multi)
                finished.signal()
                return
            }
            startWaiting()
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            drainMessages()
            var fds: Int32 = 0
            _ = curl_multi_poll(multi, nil, 0, active.isEmpty ? 60_000 : 1_000, &fds)
        }
    }

    private func startWaiting() {
        while active.count < limits.maxConcurrentTransfers, waitingHead < waiting.count {
            let t = waiting[waitingHead]
            waitingHead += 1
            if t.isCancelled {
                t.complete(.failure(CancellationError()))
                continue
            }
            do {
                let easy = try configure(t)
                active[easy] = t
                let rc = curl_multi_add_handle(multi, easy)
                if rc != CURLM_OK {
                    let detail = String(cString: curl_multi_strerror(rc))
                    finish(t, .failure(TransportError.transport(code: Int(rc.rawValue), url: t.request.url, detail: detail)))
                }
            } catch {
                release(t)
                t.complete(.failure(error))
            }
        }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
    }

    private func drainMessages() {
        var remaining: Int32 = 0
        while let msg = curl_multi_info_read(multi, &remaining) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle, let t = active[easy] else { continue }
            let code = hs_msg_result(msg)
            if code == CURLE_OK {
                finish(t, .success(()))
            } else {
                finish(t, .failure(CurlLoop.error(for: code, transfer: t)))
            }
        }
    }

    private func cancel(_ t: CurlTransfer) {
        if let easy = t.easy, active[easy] != nil {
            finish(t, .failure(CancellationError()))
            return
        }
        if let i = waiting[waitingHead...].firstIndex(where: { $0 === t }) {
            waiting.remove(at: i)
            t.complete(.failure(CancellationError()))
        }
    }

    private func finish(_ t: CurlTransfer, _ result: Result<Void, any Error>) {
        if let easy = t.easy {
            active[easy] = nil
            curl_multi_remove_handle(multi, easy)
        }
        release(t)
        if t.bodyTooLarge {
            t.complete(.failure(TransportError.invalidRequest("response body of \(t.request.url) exceeds \(t.maxBodyBytes) bytes")))
        } else {
            t.complete(result)
        }
        if t.retainedForCallbacks {
            t.retainedForCallbacks = false
            Unmanaged.passUnretained(t).release()  // balances the retain taken in configure()
        }
    }

    private func release(_ t: CurlTransfer) {
        if let easy = t.easy { curl_easy_cleanup(easy) }
        t.easy = nil
        if let list = t.headerList { curl_slist_free_all(list) }
        t.headerList = nil
        if let list = t.connectToList { curl_slist_free_all(list) }
        t.connectToList = nil
    }

    // MARK: - Configuring an easy handle

    private func configure(_ t: CurlTransfer) throws -> UnsafeMutableRawPointer {
        let r = t.request
        guard let easy = curl_easy_init() else { throw TransportError.invalidRequest("curl_easy_init failed") }
        t.easy = easy
        t.maxBodyBytes = limits.maxBufferedBodyBytes
        func check(_ rc: CURLcode, _ what: String) throws {
            guard rc == CURLE_OK else {
                throw TransportError.invalidRequest("\(what): \(String(cString: curl_easy_strerror(rc)))")
            }
        }
        var url = r.url
        if let name = r.tls.serverName, !name.isEmpty {
            // Verify against tls-server-name while connecting to the real host: ask for the name, connect elsewhere.
            guard var comps = URLComponents(string: r.url), let host = comps.host else {
                throw TransportError.invalidRequest("malformed URL \(r.url)")
            }
            let port = comps.port ?? (comps.scheme == "https" ? 443 : 80)
            comps.host = name
            comps.port = port
            url = comps.string ?? r.url
            let bracketed = host.contains(":") ? "[\(host)]" : host
            t.connectToList = curl_slist_append(nil, "\(name):\(port):\(bracketed):\(port)")
            try check(hs_easy_setopt_slist(easy, CURLOPT_CONNECT_TO, t.connectToList), "connect-to")
        }
        try check(hs_easy_setopt_string(easy, CURLOPT_URL, url), "URL \(r.url)")
        _ = hs_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = hs_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, t.errorBuffer)
        _ = hs_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = hs_easy_setopt_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        _ = hs_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
        _ = hs_easy_setopt_string(easy, CURLOPT_USERAGENT, limits.userAgent)
        _ = hs_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(r.connectTimeout * 1000)))
        if let timeout = r.timeout, timeout > 0 {
            _ = hs_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, Int(timeout * 1000)))
        }
        switch r.method.uppercased() {
        case "GET": _ = hs_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case "HEAD": _ = hs_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        default: try check(hs_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, r.method), "method")
        }
        if let body = r.body {
            _ = hs_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            if body.isEmpty {
                try check(hs_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""), "body")
            } else {
                // COPYPOSTFIELDS copies exactly POSTFIELDSIZE bytes, so NULs in the body are fine.
                try body.withUnsafeBytes { raw in
                    try check(hs_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress)), "body")
                }
            }
        }
        // Headers. "Expect:" stops libcurl from waiting for 100-continue on large bodies.
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for (name, value) in r.headers {
            guard !name.contains("\r"), !name.contains("\n"), !value.contains("\r"), !value.contains("\n") else {
                curl_slist_free_all(list)
                throw TransportError.invalidRequest("header \(name) contains a line break")
            }
            list = curl_slist_append(list, "\(name): \(value)")
        }
        t.headerList = list
        try check(hs_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list), "headers")
        // TLS.
        if r.tls.insecureSkipVerify {
            _ = hs_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
            _ = hs_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
        } else {
            _ = hs_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
            _ = hs_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        }
        if let ca = r.tls.caPEM {
            try ca.withUnsafeBytes { try check(hs_easy_setopt_blob(easy, CURLOPT_CAINFO_BLOB, $0.baseAddress, $0.count), "certificate authority") }
        }
        if let cert = r.tls.clientCertificatePEM {
            try cert.withUnsafeBytes { try check(hs_easy_setopt_blob(easy, CURLOPT_SSLCERT_BLOB, $0.baseAddress, $0.count), "client certificate") }
            _ = hs_easy_setopt_string(easy, CURLOPT_SSLCERTTYPE, "PEM")
        }
        if let key = r.tls.clientKeyPEM {
            try key.withUnsafeBytes { try check(hs_easy_setopt_blob(easy, CURLOPT_SSLKEY_BLOB, $0.baseAddress, $0.count), "client key") }
            _ = hs_easy_setopt_string(easy, CURLOPT_SSLKEYTYPE, "PEM")
        }
        if let proxy = r.proxyURL, !proxy.isEmpty {
            try check(hs_easy_setopt_string(easy, CURLOPT_PROXY, proxy), "proxy-url")
        } else {
            // Ignore http_proxy and friends unless the kubeconfig names a proxy, like client-go with proxy-url
            // unset would still honour them; we choose explicitness for a controller.
            _ = hs_easy_setopt_string(easy, CURLOPT_NOPROXY, "*")
        }
        // Callbacks get the transfer itself, retained until finish().
        let ctx = Unmanaged.passRetained(t).toOpaque()
        t.retainedForCallbacks = true
        _ = hs_easy_setopt_header_function(easy, curlHeaderCallback)
        _ = hs_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, ctx)
        _ = hs_easy_setopt_write_function(easy, curlWriteCallback)
        _ = hs_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, ctx)
        return easy
    }

    // MARK: - Errors

    static func error(for code: CURLcode, transfer t: CurlTransfer) -> any Error {
        let detail: String = {
            let s = String(cString: t.errorBuffer)
            return s.isEmpty ? String(cString: curl_easy_strerror(code)) : s
        }()
        let url = t.request.url
        let lower = detail.lowercased()
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST:
            return TransportError.couldNotResolve(host: URLComponents(string: url)?.host ?? url)
        case CURLE_COULDNT_CONNECT:
            return TransportError.connectionRefused(url: url, detail: detail)
        case CURLE_OPERATION_TIMEDOUT:
            return TransportError.timedOut(url: url, seconds: t.request.timeout)
        case CURLE_PEER_FAILED_VERIFICATION:
            if lower.contains("subject name") || lower.contains("does not match target host") || lower.contains("no alternative certificate") {
                return TransportError.tlsNameMismatch(url: url, detail: detail)
            }
            if lower.contains("issuer") || lower.contains("self-signed") || lower.contains("self signed") || lower.contains("unknown ca") {
                return TransportError.tlsUnknownAuthority(url: url, detail: detail)
            }
            return TransportError.tls(url: url, detail: detail)
        case CURLE_SSL_CERTPROBLEM:
            return TransportError.tlsBadClientCredentials(detail: detail)
        case CURLE_SSL_CACERT_BADFILE:
            return TransportError.tls(url: url, detail: "the certificate authority data could not be loaded: \(detail)")
        case CURLE_SSL_CONNECT_ERROR, CURLE_RECV_ERROR, CURLE_SEND_ERROR:
            if lower.contains("certificate required") || lower.contains("bad certificate") || lower.contains("certificate unknown")
                || lower.contains("alert unknown ca") || lower.contains("alert handshake failure") && t.request.tls.clientCertificatePEM != nil
            {
                return TransportError.tlsClientCertificateRejected(url: url, detail: detail)
            }
            if code == CURLE_SSL_CONNECT_ERROR { return TransportError.tls(url: url, detail: detail) }
            return TransportError.transport(code: Int(code.rawValue), url: url, detail: detail)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return TransportError.invalidRequest("\(detail): \(url)")
        default:
            return TransportError.transport(code: Int(code.rawValue), url: url, detail: detail)
        }
    }
}

// MARK: - C callbacks (run on the loop thread inside curl_multi_perform / curl_easy_pause)

private let curlHeaderCallback: hs_data_callback = { ptr, size, count, userdata in
    let n = size * count
    guard let ptr, let userdata else { return n }
    let t = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    // Header lines are parsed on the bytes (Foundation's trimming showed up in scrape profiles).
    let bytes = UnsafeRawBufferPointer(start: ptr, count: n)
    func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
    var lo = 0, hi = n
    while lo < hi, isSpace(bytes[lo]) { lo += 1 }
    while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
    if hi - lo >= 5, bytes[lo] == UInt8(ascii: "H"), bytes[lo + 1] == UInt8(ascii: "T"), bytes[lo + 2] == UInt8(ascii: "T"),
       bytes[lo + 3] == UInt8(ascii: "P"), bytes[lo + 4] == UInt8(ascii: "/") {
        // A new response starts (after a 1xx, or the final one): reset what we collected.
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lo..<hi]), as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        t.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        t.headers = HTTPHeaders()
        return n
    }
    if lo == hi {
        if t.status >= 200 { t.deliverHeadIfStreaming() }
        return n
    }
    if !t.headDelivered, let colon = (lo..<hi).first(where: { bytes[$0] == UInt8(ascii: ":") }) {
        var nameEnd = colon, valueStart = colon + 1
        while nameEnd > lo, isSpace(bytes[nameEnd - 1]) { nameEnd -= 1 }
        while valueStart < hi, isSpace(bytes[valueStart]) { valueStart += 1 }
        t.headers.add(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lo..<nameEnd]), as: UTF8.self),
                      String(decoding: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<hi]), as: UTF8.self))
    }
    return n
}

private let curlWriteCallback: hs_data_callback = { ptr, size, count, userdata in
    let n = size * count
    guard let userdata else { return 0 }
    let t = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    guard n > 0, let ptr else { return n }
    let bytes = UnsafeRawBufferPointer(start: ptr, count: n)
    switch t.delivery {
    case .buffered?:
        if t.body.count + n > t.maxBodyBytes {
            t.bodyTooLarge = true
            return 0  // aborts with CURLE_WRITE_ERROR; reported as too large
        }
        t.body.append(contentsOf: bytes)
        return n
    case .streaming(_, let buffer)?:
        t.deliverHeadIfStreaming()
        return buffer.offer(Array(bytes)) ? n : hs_writefunc_pause()
    case nil:
        return 0
    }
}
