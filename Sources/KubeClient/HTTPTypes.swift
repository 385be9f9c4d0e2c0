/// TLS settings for one request. Verification is on unless `insecureSkipVerify` is set explicitly.
public struct TLSOptions: Sendable, Hashable {
    /// PEM bundle of CA certificates to trust instead of the system store.
    public var caPEM: [UInt8]?
    /// PEM client certificate (chain) and its private key, for mutual TLS.
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// Verify the server against this name instead of the URL's host (kubeconfig `tls-server-name`).
    public var serverName: String?
    /// Skip server verification. Only ever set from an explicit `insecure-skip-tls-verify: true`.
    public var insecureSkipVerify: Bool

    public init(
        caPEM: [UInt8]? = nil, clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil,
        serverName: String? = nil, insecureSkipVerify: Bool = false
    ) {
        self.caPEM = caPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
    }
}

/// Case-insensitive, order-keeping HTTP header list.
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init() { fields = [] }
    public init(dictionaryLiteral elements: (String, String)...) { fields = elements.map { ($0.0, $0.1) } }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// The first value of a header, matched case-insensitively.
    public subscript(name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Replaces every value of `name` with one value.
    public mutating func set(_ name: String, _ value: String) {
        let lower = name.lowercased()
        fields.removeAll { $0.name.lowercased() == lower }
        fields.append((name, value))
    }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
    public func hash(into hasher: inout Hasher) {
        for f in fields {
            hasher.combine(f.name)
            hasher.combine(f.value)
        }
    }
}

/// One HTTP request for the transport.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]?
    /// Whole-transfer timeout in seconds; `nil` means none (watches rely on the server's timeoutSeconds).
    public var timeout: Double?
    /// Timeout for establishing the connection (TCP + TLS) in seconds.
    public var connectTimeout: Double
    public var tls: TLSOptions
    /// An HTTP(S) proxy for this request (kubeconfig `proxy-url`).
    public var proxyURL: String?

    public init(
        method: String = "GET", url: String, headers: HTTPHeaders = [:], body: [UInt8]? = nil,
        timeout: Double? = 30, connectTimeout: Double = 10, tls: TLSOptions = TLSOptions(), proxyURL: String? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.proxyURL = proxyURL
    }
}

/// The status line and headers of a response.
public struct HTTPResponseHead: Sendable, Hashable {
    public var status: Int
    public var headers: HTTPHeaders
    public init(status: Int, headers: HTTPHeaders) {
        self.status = status
        self.headers = headers
    }
}

/// A fully buffered response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
    public var head: HTTPResponseHead { HTTPResponseHead(status: status, headers: headers) }
    public var bodyString: String { String(decoding: body, as: UTF8.self) }
}

/// Why a transfer failed before an HTTP response arrived. Descriptions never contain credentials.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server's certificate is not signed by a trusted CA.
    case tlsUnknownAuthority(url: String, detail: String)
    /// The server's certificate does not name the host we connected to.
    case tlsNameMismatch(url: String, detail: String)
    /// The server rejected our client certificate (or required one we did not send).
    case tlsClientCertificateRejected(url: String, detail: String)
    /// Our own client certificate or key could not be loaded.
    case tlsBadClientCredentials(detail: String)
    /// Any other TLS handshake failure.
    case tls(url: String, detail: String)
    case couldNotResolve(host: String)
    case connectionRefused(url: String, detail: String)
    case timedOut(url: String, seconds: Double?)
    case invalidRequest(String)
    case transport(code: Int, url: String, detail: String)
    case shutDown

    public var description: String {
        switch self {
        case let .tlsUnknownAuthority(url, d):
            return "TLS verification of \(url) failed: the server certificate is signed by an unknown authority (\(d))"
        case let .tlsNameMismatch(url, d):
            return "TLS verification of \(url) failed: the server certificate does not match the host name (\(d))"
        case let .tlsClientCertificateRejected(url, d):
            return "TLS handshake with \(url) failed: the server rejected the client certificate (\(d))"
        case let .tlsBadClientCredentials(d):
            return "the client certificate or key could not be used (\(d))"
        case let .tls(url, d): return "TLS handshake with \(url) failed: \(d)"
        case let .couldNotResolve(host): return "could not resolve host \(host)"
        case let .connectionRefused(url, d): return "could not connect to \(url): \(d)"
        case let .timedOut(url, s):
            return "request to \(url) timed out" + (s.map { " after \($0) s" } ?? "")
        case let .invalidRequest(d): return "invalid request: \(d)"
        case let .transport(code, url, d): return "request to \(url) failed (curl error \(code)): \(d)"
        case .shutDown: return "the HTTP transport has been shut down"
        }
    }
}
