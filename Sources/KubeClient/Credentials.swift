import Foundation

/// What to add to one request: an `Authorization` header and/or a client certificate that overrides the
/// TLS configuration's (exec plugins may return one). Descriptions never show the secret parts.
public struct Authorization: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The full header value: `Bearer …` or `Basic …`.
    public var headerValue: String?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?

    public init(headerValue: String? = nil, clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil) {
        self.headerValue = headerValue
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
    }

    public static let none = Authorization()

    public var description: String {
        var parts: [String] = []
        if let headerValue {
            let scheme = headerValue.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            parts.append("Authorization: \(scheme) <redacted>")
        }
        if let cert = clientCertificatePEM { parts.append("client certificate (\(cert.count) bytes)") }
        if clientKeyPEM != nil { parts.append("client key <redacted>") }
        return "Authorization(" + (parts.isEmpty ? "none" : parts.joined(separator: ", ")) + ")"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["summary": description]) }
}

/// Why credentials could not be produced for a request. Messages never contain the credential.
public struct CredentialError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A token file could not be read or is empty.
        case tokenFile
        /// The exec plugin's command is not installed.
        case execNotFound
        /// The plugin could not be started, exited non-zero or was killed.
        case execFailed
        case execTimedOut
        /// The plugin insists on an interactive terminal.
        case execInteractive
        /// The plugin's output is not a usable `ExecCredential`.
        case execInvalidOutput
    }

    public var code: Code
    public var message: String
    /// The plugin's exit status, for `execFailed` after the plugin ran.
    public var exitCode: Int32?

    public init(_ code: Code, _ message: String, exitCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }
}

/// Resolves the authorisation of each request. Thread-safe; shared by all requests made with one configuration.
public final class Credentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// What kind of credential this is, for messages (`heteroscale doctor`). Carries no secret.
    public enum Kind: Sendable, Hashable {
        case none
        case bearerToken
        case tokenFile(path: String)
        case basic(username: String)
        case execPlugin(command: String)
    }

    enum Provider: Sendable {
        case none
        case fixed(Authorization)
        case tokenFile(TokenFileSource)
        case exec(ExecCredentialProvider)
    }

    public let kind: Kind
    let provider: Provider

    init(kind: Kind, provider: Provider) {
        self.kind = kind
        self.provider = provider
    }

    public static let none = Credentials(kind: .none, provider: .none)

    /// A fixed bearer token.
    public static func bearerToken(_ token: String) -> Credentials {
        Credentials(kind: .bearerToken, provider: .fixed(Authorization(headerValue: "Bearer " + token)))
    }

    /// HTTP basic authentication.
    public static func basic(username: String, password: String) -> Credentials {
        let encoded = KubeBase64.encode(Array("\(username):\(password)".utf8))
        return Credentials(kind: .basic(username: username), provider: .fixed(Authorization(headerValue: "Basic " + encoded)))
    }

    /// A bearer token read from a file, re-read whenever the file changes (and at least once a minute), like
    /// client-go's rotating service account token. `fallbackToken` is used while the file cannot be read.
    public static func tokenFile(
        path: String, fallbackToken: String? = nil, clock: @escaping @Sendable () -> Date = { Date() }
    ) -> Credentials {
        Credentials(tokenFile: TokenFileSource(path: path, fallbackToken: fallbackToken, clock: clock))
    }

    convenience init(tokenFile source: TokenFileSource) {
        self.init(kind: .tokenFile(path: source.path), provider: .tokenFile(source))
    }

    /// An exec credential plugin; its result is cached until it expires or `invalidate()` is called.
    public convenience init(execPlugin plugin: ExecPlugin) {
        self.init(kind: .execPlugin(command: plugin.command), provider: .exec(ExecCredentialProvider(plugin: plugin)))
    }

    /// The header and client certificate to use for the next request.
    public func authorization() async throws -> Authorization {
        switch provider {
        case .none: return .none
        case .fixed(let a): return a
        case .tokenFile(let source): return Authorization(headerValue: "Bearer " + (try source.token()))
        case .exec(let exec): return try await exec.authorization()
        }
    }

    /// Forgets cached credentials after the server answered 401. Returns true when asking again may produce
    /// different credentials (token file, exec plugin), so one retry is worthwhile.
    public func invalidate() async -> Bool {
        switch provider {
        case .none, .fixed: return false
        case .tokenFile(let source):
            source.invalidate()
            return true
        case .exec(let exec):
            await exec.invalidate()
            return true
        }
    }

    public var description: String {
        switch kind {
        case .none: return "none"
        case .bearerToken: return "bearer token"
        case .tokenFile(let path): return "bearer token from \(path)"
        case .basic(let username): return "basic auth as \"\(username)\""
        case .execPlugin(let command): return "exec plugin \(command)"
        }
    }
    public var debugDescription: String { "Credentials(\(description))" }
    public var customMirror: Mirror { Mirror(self, children: ["kind": description]) }

    /// A token is sent in a header; a line break in it would end the header.
    static func isValidHeaderToken(_ token: String) -> Bool {
        !token.isEmpty && !token.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}

/// A bearer token file, re-read when `stat` shows it was replaced or rewritten, and at least every
/// `maximumAge` seconds (mtime granularity can hide a same-size rewrite).
final class TokenFileSource: Sendable {
    struct Cached: Sendable {
        var token: String
        var status: KubeFileStatus
        var readAt: Date
    }

    let path: String
    let fallbackToken: String?
    let clock: @Sendable () -> Date
    let maximumAge: TimeInterval
    private let cache = Locked<Cached?>(nil)

    init(path: String, fallbackToken: String?, clock: @escaping @Sendable () -> Date, maximumAge: TimeInterval = 60) {
        self.path = path
        self.fallbackToken = fallbackToken
        self.clock = clock
        self.maximumAge = maximumAge
    }

    func invalidate() { cache.withLock { $0 = nil } }

    func token() throws -> String {
        let now = clock()
        let status = KubeFiles.status(path)
        if let status, let cached = cache.withLock({ $0 }), cached.status == status,
           now.timeIntervalSince(cached.readAt) < maximumAge, now >= cached.readAt
        {
            return cached.token
        }
        do {
            let token = try readToken()
            // Record the status seen before reading: if the file changes while we read, the next use re-reads.
            if let status {
                cache.withLock { $0 = Cached(token: token, status: status, readAt: now) }
            }
            return token
        } catch {
            // Keep serving the last good token (client-go does the same) or the kubeconfig's static token.
            if let last = cache.withLock({ $0 }) { return last.token }
            if let fallbackToken { return fallbackToken }
            throw error
        }
    }

    private func readToken() throws -> String {
        let bytes: [UInt8]
        do {
            bytes = try KubeFiles.read(path, limit: 1 << 20)
        } catch {
            throw CredentialError(.tokenFile, "cannot read token file \(path): \(error.reason)")
        }
        let token = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw CredentialError(.tokenFile, "token file \(path) is empty") }
        guard Credentials.isValidHeaderToken(token) else {
            throw CredentialError(.tokenFile, "token file \(path) contains a line break or control character")
        }
        return token
    }
}
