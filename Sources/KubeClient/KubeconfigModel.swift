import YAML

/// Where an entry of a (possibly merged) kubeconfig came from.
public struct KubeconfigSource: Sendable, Hashable, CustomStringConvertible {
    /// The absolute path of the file.
    public var file: String
    /// The entry's path in the file, e.g. `clusters[2]`.
    public var path: String
    /// The entry's position in the file, when known.
    public var mark: KubeconfigMark?

    public init(file: String, path: String, mark: KubeconfigMark? = nil) {
        self.file = file
        self.path = path
        self.mark = mark
    }

    public var description: String {
        var s = file
        if let mark { s += ":\(mark.line)" }
        return s
    }
}

/// A kubeconfig: one file, or several merged the way `kubectl` merges `KUBECONFIG`.
///
/// File paths in it (certificate authority, client certificate and key, token file, and exec commands that
/// contain a slash) are already absolute: resolved against the directory of the file that named them.
public struct Kubeconfig: Sendable {
    /// The files that were read, in precedence order.
    public var files: [String]
    /// The `current-context`, from the first file that sets one.
    public var currentContext: String?
    /// The file `currentContext` came from.
    public var currentContextFile: String?
    public var clusters: [Cluster]
    public var contexts: [Context]
    public var users: [User]

    public init(
        files: [String] = [], currentContext: String? = nil, currentContextFile: String? = nil,
        clusters: [Cluster] = [], contexts: [Context] = [], users: [User] = []
    ) {
        self.files = files
        self.currentContext = currentContext
        self.currentContextFile = currentContextFile
        self.clusters = clusters
        self.contexts = contexts
        self.users = users
    }

    /// True when no file contributed anything usable (client-go then tries the in-cluster configuration).
    public var isEmpty: Bool {
        clusters.isEmpty && contexts.isEmpty && users.isEmpty && (currentContext ?? "").isEmpty
    }

    public func cluster(named name: String) -> Cluster? { clusters.first { $0.name == name } }
    public func context(named name: String) -> Context? { contexts.first { $0.name == name } }
    public func user(named name: String) -> User? { users.first { $0.name == name } }

    /// Merges `other` into this configuration with kubectl's rules: a named cluster, context or user already
    /// present here wins over `other`'s; `current-context` is taken from `other` only when this one has none.
    public mutating func merge(_ other: Kubeconfig) {
        for f in other.files where !files.contains(f) { files.append(f) }
        if (currentContext ?? "").isEmpty, let c = other.currentContext, !c.isEmpty {
            currentContext = c
            currentContextFile = other.currentContextFile
        }
        for c in other.clusters where cluster(named: c.name) == nil { clusters.append(c) }
        for c in other.contexts where context(named: c.name) == nil { contexts.append(c) }
        for u in other.users where user(named: u.name) == nil { users.append(u) }
    }

    // MARK: - Entries

    /// A `clusters[]` entry.
    public struct Cluster: Sendable, Hashable {
        public var name: String
        public var server: String?
        /// Absolute path of the CA bundle file.
        public var certificateAuthority: String?
        /// Decoded `certificate-authority-data` (PEM bytes); wins over `certificateAuthority`.
        public var certificateAuthorityData: [UInt8]?
        public var tlsServerName: String?
        public var insecureSkipTLSVerify: Bool
        public var proxyURL: String?
        public var disableCompression: Bool
        /// `extensions[]` by name; `client.authentication.k8s.io/exec` is passed to exec plugins.
        public var extensions: [NamedExtension]
        public var source: KubeconfigSource
        /// Positions of the fields that were present, keyed by their path below the entry (`cluster.server`).
        var fieldMarks: [String: KubeconfigMark] = [:]

        public init(
            name: String, server: String? = nil, certificateAuthority: String? = nil,
            certificateAuthorityData: [UInt8]? = nil, tlsServerName: String? = nil,
            insecureSkipTLSVerify: Bool = false, proxyURL: String? = nil, disableCompression: Bool = false,
            extensions: [NamedExtension] = [], source: KubeconfigSource
        ) {
            self.name = name
            self.server = server
            self.certificateAuthority = certificateAuthority
            self.certificateAuthorityData = certificateAuthorityData
            self.tlsServerName = tlsServerName
            self.insecureSkipTLSVerify = insecureSkipTLSVerify
            self.proxyURL = proxyURL
            self.disableCompression = disableCompression
            self.extensions = extensions
            self.source = source
        }
    }

    public struct NamedExtension: Sendable, Hashable {
        public var name: String
        public var value: JSONValue
        public init(name: String, value: JSONValue) {
            self.name = name
            self.value = value
        }
    }

    /// A `contexts[]` entry.
    public struct Context: Sendable, Hashable {
        public var name: String
        public var cluster: String?
        public var user: String?
        public var namespace: String?
        public var source: KubeconfigSource
        var fieldMarks: [String: KubeconfigMark] = [:]

        public init(
            name: String, cluster: String? = nil, user: String? = nil, namespace: String? = nil,
            source: KubeconfigSource
        ) {
            self.name = name
            self.cluster = cluster
            self.user = user
            self.namespace = namespace
            self.source = source
        }
    }

    /// A `users[]` entry (client-go's `AuthInfo`). Its descriptions name the kinds of credentials, never their values.
    public struct User: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        public var name: String
        /// Absolute path of the client certificate file.
        public var clientCertificate: String?
        /// Decoded `client-certificate-data`; wins over `clientCertificate`.
        public var clientCertificateData: [UInt8]?
        public var clientKey: String?
        public var clientKeyData: [UInt8]?
        public var token: String?
        /// Absolute path of a file holding a bearer token, re-read when it changes.
        public var tokenFile: String?
        public var username: String?
        public var password: String?
        public var exec: ExecConfig?
        /// The name of a legacy `auth-provider` (not supported; reported when it is the only credential).
        public var authProvider: String?
        public var source: KubeconfigSource
        var fieldMarks: [String: KubeconfigMark] = [:]

        public init(
            name: String, clientCertificate: String? = nil, clientCertificateData: [UInt8]? = nil,
            clientKey: String? = nil, clientKeyData: [UInt8]? = nil, token: String? = nil, tokenFile: String? = nil,
            username: String? = nil, password: String? = nil, exec: ExecConfig? = nil, authProvider: String? = nil,
            source: KubeconfigSource
        ) {
            self.name = name
            self.clientCertificate = clientCertificate
            self.clientCertificateData = clientCertificateData
            self.clientKey = clientKey
            self.clientKeyData = clientKeyData
            self.token = token
            self.tokenFile = tokenFile
            self.username = username
            self.password = password
            self.exec = exec
            self.authProvider = authProvider
            self.source = source
        }

        /// The kinds of credentials configured, for messages: `["client certificate", "token file /x"]`.
        public var credentialKinds: [String] {
            var kinds: [String] = []
            if clientCertificateData != nil || clientCertificate != nil { kinds.append("client certificate") }
            if token != nil { kinds.append("token") }
            if let tokenFile { kinds.append("token file \(tokenFile)") }
            if let username { kinds.append("basic auth as \"\(username)\"") }
            if let exec { kinds.append("exec plugin \(exec.command ?? "(no command)")") }
            if let authProvider { kinds.append("auth-provider \(authProvider)") }
            return kinds
        }

        public var description: String {
            let kinds = credentialKinds
            return "user \"\(name)\" from \(source.file) (\(kinds.isEmpty ? "no credentials" : kinds.joined(separator: ", ")))"
        }
        public var debugDescription: String { description }
        public var customMirror: Mirror {
            Mirror(self, children: ["name": name, "credentials": credentialKinds, "source": source])
        }
    }

    /// `users[].user.exec`: an exec credential plugin.
    public struct ExecConfig: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
        CustomReflectable
    {
        public var apiVersion: String?
        /// A command name looked up in `PATH`, or an absolute path (a relative path containing a slash was
        /// resolved against the kubeconfig's directory).
        public var command: String?
        public var args: [String]
        /// Added to the environment of the plugin. Values are never printed.
        public var env: [EnvVar]
        public var installHint: String?
        public var provideClusterInfo: Bool
        /// `Never`, `IfAvailable` or `Always`; `nil` when not given (then required for the `v1` API).
        public var interactiveMode: String?

        public struct EnvVar: Sendable, Hashable {
            public var name: String
            public var value: String
            public init(name: String, value: String) {
                self.name = name
                self.value = value
            }
        }

        public init(
            apiVersion: String? = nil, command: String? = nil, args: [String] = [], env: [EnvVar] = [],
            installHint: String? = nil, provideClusterInfo: Bool = false, interactiveMode: String? = nil
        ) {
            self.apiVersion = apiVersion
            self.command = command
            self.args = args
            self.env = env
            self.installHint = installHint
            self.provideClusterInfo = provideClusterInfo
            self.interactiveMode = interactiveMode
        }

        public var description: String {
            "exec plugin \(command ?? "(no command)") (\(apiVersion ?? "no apiVersion"), \(args.count) argument(s), env: \(env.map(\.name).joined(separator: ",")))"
        }
        public var debugDescription: String { description }
        public var customMirror: Mirror {
            Mirror(self, children: ["apiVersion": apiVersion as Any, "command": command as Any, "env": env.map(\.name)])
        }
    }
}

// MARK: - Reading a file

extension Kubeconfig {
    /// Reads and parses one kubeconfig file. `path` should be absolute.
    public static func load(file path: String, environment: KubeEnvironment = .current) throws -> Kubeconfig {
        let bytes: [UInt8]
        do {
            bytes = try KubeFiles.read(path)
        } catch {
            throw KubeconfigError(
                error.doesNotExist ? .fileNotFound : .fileUnreadable, file: path,
                message: error.doesNotExist ? "kubeconfig file does not exist" : "cannot read: \(error.reason)")
        }
        return try parse(bytes, file: path, environment: environment)
    }

    /// Parses the contents of one kubeconfig file. `file` names it in errors and is the base of relative paths.
    public static func parse(_ bytes: [UInt8], file: String, environment: KubeEnvironment = .current) throws
        -> Kubeconfig
    {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KubeconfigError(.malformed, file: file, message: "not UTF-8 text")
        }
        let documents: [YAMLDocument]
        do {
            documents = try YAML.loadDocuments(text)
        } catch let error as YAMLError {
            throw KubeconfigError(
                .malformed, file: file, mark: error.mark.map { KubeconfigMark(line: $0.line, column: $0.column) },
                message: "not valid YAML: \(redactQuoted(error.message))")
        }
        // Like kubectl, only the first document counts.
        guard let document = documents.first else { return Kubeconfig(files: [file]) }
        let parser = KubeconfigParser(file: file, document: document, environment: environment)
        return try parser.parse()
    }
}

extension Kubeconfig {
    /// Field names that may be quoted in a YAML error message (e.g. `duplicate key "token"`).
    static let knownFieldNames: Set<String> = [
        "apiVersion", "kind", "preferences", "colors", "clusters", "contexts", "users", "current-context",
        "extensions", "extension", "name", "cluster", "context", "user", "server", "certificate-authority",
        "certificate-authority-data", "tls-server-name", "insecure-skip-tls-verify", "proxy-url",
        "disable-compression", "namespace", "client-certificate", "client-certificate-data", "client-key",
        "client-key-data", "token", "tokenFile", "username", "password", "exec", "auth-provider", "config", "as",
        "as-uid", "as-groups", "as-user-extra", "command", "args", "env", "value", "installHint",
        "provideClusterInfo", "interactiveMode", "<<",
    ]

    /// A YAML error message with quoted source text removed: the YAML reader quotes values it cannot read
    /// (`invalid int value "…"`), and in a kubeconfig such a value may be a credential. Quoted kubeconfig field
    /// names stay.
    static func redactQuoted(_ message: String) -> String {
        var out = ""
        var quoted = ""
        var inQuote = false
        for ch in message {
            if ch == "\"" {
                if inQuote {
                    out += knownFieldNames.contains(quoted) ? quoted : "…"
                    quoted = ""
                }
                out.append(ch)
                inQuote.toggle()
            } else if inQuote {
                quoted.append(ch)
            } else {
                out.append(ch)
            }
        }
        if inQuote { out += "…" }
        return out
    }
}

/// Turns a YAML document into a `Kubeconfig`, checking types as client-go's decoder does and remembering
/// positions for later messages.
struct KubeconfigParser {
    let file: String
    let directory: String
    let document: YAMLDocument
    let environment: KubeEnvironment

    init(file: String, document: YAMLDocument, environment: KubeEnvironment) {
        self.file = file
        self.directory = KubePath.directory(of: file)
        self.document = document
        self.environment = environment
    }

    func mark(_ path: String) -> KubeconfigMark? {
        document.mark(at: path).map { KubeconfigMark(line: $0.line, column: $0.column) }
    }

    func malformed(_ path: String, _ message: String) -> KubeconfigError {
        KubeconfigError(.malformed, file: file, mark: mark(path), fieldPath: path.isEmpty ? nil : path, message: message)
    }

    /// `base.key`, bracketing keys that contain `.` or `[` as `YAMLDocument.mark(at:)` expects.
    static func join(_ base: String, _ key: String) -> String {
        JSONPath.format((JSONPath.parse(base) ?? []) + [.key(key)])
    }

    // MARK: Typed field access. A missing key or `null` is "not set".

    func object(_ value: JSONValue?, at path: String) throws -> JSONObject? {
        switch value {
        case nil, .null?: return nil
        case .object(let o)?: return o
        case let v?: throw malformed(path, "expected a mapping, got \(describeKind(v))")
        }
    }

    func array(_ value: JSONValue?, at path: String) throws -> [JSONValue] {
        switch value {
        case nil, .null?: return []
        case .array(let a)?: return a
        case let v?: throw malformed(path, "expected a list, got \(describeKind(v))")
        }
    }

    func string(_ value: JSONValue?, at path: String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let v?: throw malformed(path, "expected a string, got \(describeKind(v)) (quote the value)")
        }
    }

    /// A string where empty means "not set", as for Go's `omitempty` fields.
    func nonEmptyString(_ value: JSONValue?, at path: String) throws -> String? {
        guard let s = try string(value, at: path), !s.isEmpty else { return nil }
        return s
    }

    func bool(_ value: JSONValue?, at path: String) throws -> Bool? {
        switch value {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let v?: throw malformed(path, "expected true or false, got \(describeKind(v))")
        }
    }

    func base64(_ value: JSONValue?, at path: String) throws -> [UInt8]? {
        guard let s = try nonEmptyString(value, at: path) else { return nil }
        guard let bytes = KubeBase64.decode(s) else { throw malformed(path, "not valid base64") }
        return bytes
    }

    func path(_ value: JSONValue?, at path: String) throws -> String? {
        guard let p = try nonEmptyString(value, at: path) else { return nil }
        return environment.resolvePath(p, relativeTo: directory)
    }

    func stringList(_ value: JSONValue?, at path: String) throws -> [String] {
        try array(value, at: path).enumerated().map { i, v in
            try string(v, at: "\(path)[\(i)]") ?? ""
        }
    }

    /// The kind of a value for messages; never the value itself.
    func describeKind(_ v: JSONValue) -> String {
        switch v {
        case .object: return "a mapping"
        case .array: return "a list"
        case .string: return "a string"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .null: return "null"
        }
    }

    /// Records the position of every present field of `object`, keyed by `prefix.key`.
    func recordMarks(_ object: JSONObject, base: String, prefix: String, into marks: inout [String: KubeconfigMark]) {
        for entry in object.entries {
            let key = prefix.isEmpty ? entry.key : prefix + "." + entry.key
            if let m = mark(Self.join(base, entry.key)) { marks[key] = m }
        }
    }

    // MARK: The document

    func parse() throws -> Kubeconfig {
        var config = Kubeconfig(files: [file])
        let rootValue = document.value
        if case .null = rootValue { return config }
        guard case .object(let root) = rootValue else {
            throw malformed("", "expected a kubeconfig (a mapping with clusters, contexts and users), got \(describeKind(rootValue))")
        }
        if let current = try nonEmptyString(root["current-context"], at: "current-context") {
            config.currentContext = current
            config.currentContextFile = file
        }
        config.clusters = try named(root["clusters"], list: "clusters", item: "cluster", parse: parseCluster)
        config.contexts = try named(root["contexts"], list: "contexts", item: "context", parse: parseContext)
        config.users = try named(root["users"], list: "users", item: "user", parse: parseUser)
        return config
    }

    /// Parses a `[{name, <item>: {…}}]` list, rejecting duplicate names like client-go does.
    func named<T>(
        _ value: JSONValue?, list: String, item: String,
        parse: (String, JSONObject, String, KubeconfigSource) throws -> T
    ) throws -> [T] {
        var result: [T] = []
        var seen: Set<String> = []
        for (i, element) in try array(value, at: list).enumerated() {
            let path = "\(list)[\(i)]"
            guard let entry = try object(element, at: path) else { continue }
            let name = try string(entry["name"], at: path + ".name") ?? ""
            if !seen.insert(name).inserted {
                throw malformed(path + ".name", "duplicate \(item) name \"\(name)\"")
            }
            let body = try object(entry[item], at: path + "." + item) ?? JSONObject()
            let source = KubeconfigSource(file: file, path: path, mark: mark(path))
            result.append(try parse(name, body, path + "." + item, source))
        }
        return result
    }

    func parseCluster(name: String, o: JSONObject, base: String, source: KubeconfigSource) throws -> Kubeconfig.Cluster {
        func at(_ key: String) -> String { Self.join(base, key) }
        var c = Kubeconfig.Cluster(name: name, source: source)
        c.server = try nonEmptyString(o["server"], at: at("server"))
        c.certificateAuthority = try path(o["certificate-authority"], at: at("certificate-authority"))
        c.certificateAuthorityData = try base64(o["certificate-authority-data"], at: at("certificate-authority-data"))
        c.tlsServerName = try nonEmptyString(o["tls-server-name"], at: at("tls-server-name"))
        c.insecureSkipTLSVerify = try bool(o["insecure-skip-tls-verify"], at: at("insecure-skip-tls-verify")) ?? false
        c.proxyURL = try nonEmptyString(o["proxy-url"], at: at("proxy-url"))
        c.disableCompression = try bool(o["disable-compression"], at: at("disable-compression")) ?? false
        for (i, element) in try array(o["extensions"], at: at("extensions")).enumerated() {
            let p = at("extensions") + "[\(i)]"
            guard let ext = try object(element, at: p) else { continue }
            let extName = try string(ext["name"], at: p + ".name") ?? ""
            c.extensions.append(Kubeconfig.NamedExtension(name: extName, value: ext["extension"] ?? .null))
        }
        recordMarks(o, base: base, prefix: "", into: &c.fieldMarks)
        return c
    }

    func parseContext(name: String, o: JSONObject, base: String, source: KubeconfigSource) throws -> Kubeconfig.Context {
        func at(_ key: String) -> String { Self.join(base, key) }
        var c = Kubeconfig.Context(name: name, source: source)
        c.cluster = try nonEmptyString(o["cluster"], at: at("cluster"))
        c.user = try nonEmptyString(o["user"], at: at("user"))
        c.namespace = try nonEmptyString(o["namespace"], at: at("namespace"))
        recordMarks(o, base: base, prefix: "", into: &c.fieldMarks)
        return c
    }

    func parseUser(name: String, o: JSONObject, base: String, source: KubeconfigSource) throws -> Kubeconfig.User {
        func at(_ key: String) -> String { Self.join(base, key) }
        var u = Kubeconfig.User(name: name, source: source)
        u.clientCertificate = try path(o["client-certificate"], at: at("client-certificate"))
        u.clientCertificateData = try base64(o["client-certificate-data"], at: at("client-certificate-data"))
        u.clientKey = try path(o["client-key"], at: at("client-key"))
        u.clientKeyData = try base64(o["client-key-data"], at: at("client-key-data"))
        u.token = try nonEmptyString(o["token"], at: at("token"))
        u.tokenFile = try path(o["tokenFile"], at: at("tokenFile"))
        u.username = try nonEmptyString(o["username"], at: at("username"))
        u.password = try nonEmptyString(o["password"], at: at("password"))
        if let provider = try object(o["auth-provider"], at: at("auth-provider")) {
            u.authProvider = try string(provider["name"], at: at("auth-provider.name")) ?? ""
        }
        if let exec = try object(o["exec"], at: at("exec")) {
            u.exec = try parseExec(exec, base: at("exec"))
            recordMarks(exec, base: at("exec"), prefix: "exec", into: &u.fieldMarks)
        }
        recordMarks(o, base: base, prefix: "", into: &u.fieldMarks)
        return u
    }

    func parseExec(_ o: JSONObject, base: String) throws -> Kubeconfig.ExecConfig {
        func at(_ key: String) -> String { Self.join(base, key) }
        var e = Kubeconfig.ExecConfig()
        e.apiVersion = try nonEmptyString(o["apiVersion"], at: at("apiVersion"))
        if let command = try nonEmptyString(o["command"], at: at("command")) {
            // kubectl: a command with a slash is a path, relative to the kubeconfig; otherwise it is looked up in PATH.
            e.command = command.contains("/") ? environment.resolvePath(command, relativeTo: directory) : command
        }
        e.args = try stringList(o["args"], at: at("args"))
        for (i, element) in try array(o["env"], at: at("env")).enumerated() {
            let p = at("env") + "[\(i)]"
            guard let v = try object(element, at: p) else { continue }
            let envName = try string(v["name"], at: p + ".name") ?? ""
            let envValue = try string(v["value"], at: p + ".value") ?? ""
            e.env.append(.init(name: envName, value: envValue))
        }
        e.installHint = try nonEmptyString(o["installHint"], at: at("installHint"))
        e.provideClusterInfo = try bool(o["provideClusterInfo"], at: at("provideClusterInfo")) ?? false
        e.interactiveMode = try nonEmptyString(o["interactiveMode"], at: at("interactiveMode"))
        return e
    }
}
