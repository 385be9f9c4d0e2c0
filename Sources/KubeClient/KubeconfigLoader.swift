import Foundation
import YAML

/// Everything needed to talk to one API server as one identity.
public struct RESTConfig: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The API server's base URL, e.g. `https://127.0.0.1:6443`, without a trailing slash (may carry a path prefix).
    public var server: String
    public var tls: TLSOptions
    /// How to authorise each request.
    public var credentials: Credentials
    /// The namespace to use when none is given.
    public var namespace: String
    /// `http://`, `https://` or `socks5://` proxy for all requests.
    public var proxyURL: String?
    public var contextName: String?
    public var clusterName: String?
    public var userName: String?
    /// Where this configuration came from, for messages: `kubeconfig /home/u/.kube/config`, `in-cluster`.
    public var source: String

    public init(
        server: String, tls: TLSOptions = TLSOptions(), credentials: Credentials = .none,
        namespace: String = "default", proxyURL: String? = nil, contextName: String? = nil,
        clusterName: String? = nil, userName: String? = nil, source: String
    ) {
        self.server = server
        self.tls = tls
        self.credentials = credentials
        self.namespace = namespace
        self.proxyURL = proxyURL
        self.contextName = contextName
        self.clusterName = clusterName
        self.userName = userName
        self.source = source
    }

    /// A summary safe to log: no credential or key bytes.
    public var description: String {
        var parts = ["server \(server)", "namespace \(namespace)"]
        if let contextName { parts.append("context \(contextName)") }
        if let clusterName { parts.append("cluster \(clusterName)") }
        if let userName { parts.append("user \(userName)") }
        parts.append("auth: \(credentials)")
        if tls.clientCertificatePEM != nil { parts.append("client certificate") }
        if tls.caPEM != nil { parts.append("custom CA") }
        if let name = tls.serverName { parts.append("TLS server name \(name)") }
        if tls.insecureSkipVerify { parts.append("INSECURE: server certificate not verified") }
        if proxyURL != nil { parts.append("via proxy") }
        return "\(source): " + parts.joined(separator: ", ")
    }
    public var debugDescription: String { "RESTConfig(\(description))" }
    /// Mirrors (`dump`, test failure output) show the summary, not the key bytes.
    public var customMirror: Mirror { Mirror(self, children: ["summary": description]) }
}

/// Finds and loads the client configuration the way kubectl does.
public enum KubeconfigLoader {
    public static let inClusterSource = "in-cluster"

    /// The kubeconfig files to read, in precedence order, before checking which exist:
    /// the explicit path alone; else the `KUBECONFIG` list (empty entries dropped, duplicates removed);
    /// else `~/.kube/config`.
    public static func candidateFiles(kubeconfigPath: String?, environment: KubeEnvironment = .current) -> [String] {
        if let explicit = kubeconfigPath, !explicit.isEmpty {
            return [environment.resolvePath(explicit)]
        }
        if let list = environment.variable("KUBECONFIG") {
            var files: [String] = []
            for entry in list.split(separator: ":", omittingEmptySubsequences: true) {
                let path = environment.resolvePath(String(entry))
                if !files.contains(path) { files.append(path) }
            }
            if !files.isEmpty { return files }
        }
        return [environment.resolvePath("~/.kube/config")]
    }

    /// Reads and merges the kubeconfig files (see `candidateFiles`). An explicit path must exist; files from
    /// `KUBECONFIG` or the home directory that do not exist are skipped. The result may be empty.
    public static func loadKubeconfig(kubeconfigPath: String?, environment: KubeEnvironment = .current) throws
        -> Kubeconfig
    {
        let explicit = kubeconfigPath.map { !$0.isEmpty } ?? false
        var merged = Kubeconfig()
        for file in candidateFiles(kubeconfigPath: kubeconfigPath, environment: environment) {
            let config: Kubeconfig
            do {
                config = try Kubeconfig.load(file: file, environment: environment)
            } catch let error as KubeconfigError where error.code == .fileNotFound && !explicit {
                continue
            } catch var error as KubeconfigError where error.code == .fileNotFound {
                error.message = "kubeconfig file given with --kubeconfig does not exist"
                throw error
            }
            merged.merge(config)
        }
        return merged
    }

    /// Loads the configuration for one context.
    ///
    /// Order: `kubeconfigPath` (only that file), else `$KUBECONFIG` (merged), else `~/.kube/config`; when these
    /// yield nothing and no context was named, the in-cluster service account. `context` overrides
    /// `current-context`; `namespace` overrides the context's namespace.
    public static func load(
        kubeconfigPath: String?, context: String?, namespace: String? = nil,
        environment: KubeEnvironment = .current
    ) throws -> RESTConfig {
        let contextOverride = context.flatMap { $0.isEmpty ? nil : $0 }
        let kubeconfig = try loadKubeconfig(kubeconfigPath: kubeconfigPath, environment: environment)
        if kubeconfig.isEmpty && contextOverride == nil && InClusterConfig.isAvailable(environment: environment) {
            return try InClusterConfig.load(namespace: namespace, environment: environment)
        }
        if kubeconfig.isEmpty {
            let files = candidateFiles(kubeconfigPath: kubeconfigPath, environment: environment)
            let looked: String
            if kubeconfig.files.isEmpty {
                let origin = environment.variable("KUBECONFIG") != nil && (kubeconfigPath ?? "").isEmpty
                    ? " (from KUBECONFIG)" : ""
                looked = "no kubeconfig file found at \(files.joined(separator: ", "))\(origin)"
            } else {
                looked = "\(kubeconfig.files.joined(separator: ", ")) defines no clusters, contexts or users"
            }
            let inCluster = InClusterConfig.whyUnavailable(environment: environment)
            throw KubeconfigError(
                .noConfiguration,
                message: "no Kubernetes client configuration: \(looked), and \(inCluster); "
                    + "pass --kubeconfig, set KUBECONFIG, or run inside a cluster")
        }
        return try kubeconfig.restConfig(context: contextOverride, namespace: namespace, environment: environment)
    }
}

// MARK: - From a kubeconfig to a REST configuration

extension Kubeconfig {
    /// Resolves one context into a `RESTConfig`: validates its cluster and user, reads the files they name,
    /// and sets up the credentials.
    public func restConfig(context override: String? = nil, namespace: String? = nil,
                           environment: KubeEnvironment = .current) throws -> RESTConfig {
        let filesText = files.isEmpty ? "the kubeconfig" : files.joined(separator: ":")
        let available = contexts.isEmpty ? "it defines no contexts" : "available: " + contexts.map(\.name).joined(separator: ", ")
        guard let contextName = override ?? currentContext, !contextName.isEmpty else {
            throw KubeconfigError(
                .noCurrentContext, file: filesText,
                message: "no current-context is set and no context was given; pass --context NAME (\(available))")
        }
        guard let context = self.context(named: contextName) else {
            let how = override != nil ? "given with --context" : "named by current-context in \(currentContextFile ?? filesText)"
            throw KubeconfigError(
                .contextNotFound, file: filesText,
                message: "context \"\(contextName)\" (\(how)) is not defined (\(available))")
        }
        guard let clusterName = context.cluster else {
            throw KubeconfigError(
                .clusterNotFound, file: context.source.file, mark: context.source.mark,
                fieldPath: context.source.path + ".context.cluster",
                message: "context \"\(contextName)\" names no cluster")
        }
        guard let cluster = self.cluster(named: clusterName) else {
            throw KubeconfigError(
                .clusterNotFound, file: context.source.file, mark: context.fieldMarks["cluster"] ?? context.source.mark,
                fieldPath: context.source.path + ".context.cluster",
                message: "context \"\(contextName)\" refers to cluster \"\(clusterName)\", which is not defined in \(filesText)")
        }
        var user: User?
        if let userName = context.user {
            guard let u = self.user(named: userName) else {
                throw KubeconfigError(
                    .userNotFound, file: context.source.file, mark: context.fieldMarks["user"] ?? context.source.mark,
                    fieldPath: context.source.path + ".context.user",
                    message: "context \"\(contextName)\" refers to user \"\(userName)\", which is not defined in \(filesText)")
            }
            user = u
        }

        var tls = try cluster.tlsOptions()
        let server = try cluster.validatedServer(hasTLS: tls.caPEM != nil || tls.insecureSkipVerify || user?.hasClientCertificate == true)
        let proxyURL = try cluster.validatedProxyURL()

        var credentials = Credentials.none
        if let user {
            let resolved = try user.resolveCredentials(cluster: cluster, server: server, tls: tls, environment: environment)
            tls.clientCertificatePEM = resolved.certificate
            tls.clientKeyPEM = resolved.key
            credentials = resolved.credentials
        }
        let sourceFiles = files.count == 1 ? files[0] : "\(context.source.file) (merged from \(filesText))"
        return RESTConfig(
            server: server, tls: tls, credentials: credentials,
            namespace: namespace.flatMap { $0.isEmpty ? nil : $0 } ?? context.namespace ?? "default",
            proxyURL: proxyURL, contextName: contextName, clusterName: cluster.name, userName: user?.name,
            source: "kubeconfig \(sourceFiles)")
    }
}

extension Kubeconfig.Cluster {
    func fieldError(_ field: String, _ message: String, code: KubeconfigError.Code = .invalidField) -> KubeconfigError {
        KubeconfigError(
            code, file: source.file, mark: fieldMarks[field] ?? source.mark,
            fieldPath: "\(source.path).cluster.\(field)", message: message)
    }

    func tlsOptions() throws -> TLSOptions {
        var tls = TLSOptions(serverName: tlsServerName, insecureSkipVerify: insecureSkipTLSVerify)
        if let data = certificateAuthorityData {
            tls.caPEM = data
        } else if let file = certificateAuthority {
            do {
                tls.caPEM = try KubeFiles.read(file)
            } catch {
                throw fieldError("certificate-authority", "cannot read \(file): \(error.reason)", code: .fileUnreadable)
            }
        }
        if insecureSkipTLSVerify && tls.caPEM != nil {
            throw fieldError(
                "insecure-skip-tls-verify",
                "specifying a root certificates file with the insecure flag is not allowed (cluster \"\(name)\" sets both insecure-skip-tls-verify and a certificate authority)")
        }
        return tls
    }

    /// The server URL with a scheme and without a trailing slash. Like client-go, a bare `host:port` gets
    /// `https://` when TLS is configured and `http://` otherwise. The URL itself is never echoed in errors: it
    /// could carry user information.
    func validatedServer(hasTLS: Bool) throws -> String {
        guard let raw = server else {
            throw fieldError("server", "cluster \"\(name)\" has no server URL")
        }
        var url = raw
        if !url.contains("://") { url = (hasTLS ? "https://" : "http://") + url }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else {
            throw fieldError("server", "not a valid URL (expected https://HOST[:PORT])")
        }
        guard scheme == "https" || scheme == "http" else {
            throw fieldError("server", "unsupported URL scheme \"\(scheme)\" (expected https or http)")
        }
        guard components.user == nil && components.password == nil else {
            throw fieldError("server", "the URL must not contain user information; use the user's credentials instead")
        }
        guard components.query == nil && components.fragment == nil else {
            throw fieldError("server", "the URL must not have a query or fragment")
        }
        while url.hasSuffix("/") && !url.hasSuffix("://") { url.removeLast() }
        return url
    }

    func validatedProxyURL() throws -> String? {
        guard let raw = proxyURL else { return nil }
        guard let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else {
            throw fieldError("proxy-url", "not a valid URL (expected http://, https:// or socks5://HOST:PORT)")
        }
        guard ["http", "https", "socks5"].contains(scheme) else {
            throw fieldError("proxy-url", "unsupported scheme \"\(scheme)\", must be http, https, or socks5")
        }
        return raw
    }

    /// The `cluster` object of `KUBERNETES_EXEC_INFO` (client.authentication.k8s.io `Cluster`).
    func execClusterInfo(server: String, tls: TLSOptions) -> JSONValue {
        var o = JSONObject()
        o["server"] = .string(server)
        if let name = tls.serverName { o["tls-server-name"] = .string(name) }
        if tls.insecureSkipVerify { o["insecure-skip-tls-verify"] = .bool(true) }
        if let ca = tls.caPEM { o["certificate-authority-data"] = .string(KubeBase64.encode(ca)) }
        if let proxyURL { o["proxy-url"] = .string(proxyURL) }
        if disableCompression { o["disable-compression"] = .bool(true) }
        if let config = extensions.first(where: { $0.name == ExecPlugin.clusterConfigExtension }) {
            o["config"] = config.value
        }
        return .object(o)
    }
}

extension Kubeconfig.User {
    var hasClientCertificate: Bool { clientCertificateData != nil || clientCertificate != nil }

    func fieldError(_ field: String, _ message: String, code: KubeconfigError.Code = .invalidField) -> KubeconfigError {
        KubeconfigError(
            code, file: source.file, mark: fieldMarks[field] ?? source.mark,
            fieldPath: "\(source.path).user.\(field)", message: message)
    }

    func read(_ path: String, field: String) throws -> [UInt8] {
        do {
            return try KubeFiles.read(path)
        } catch {
            throw fieldError(field, "cannot read \(path): \(error.reason)", code: .fileUnreadable)
        }
    }

    /// Client certificate and key, and the per-request credentials, with client-go's precedence:
    /// `tokenFile` over `token`; token or basic auth or a client certificate make an exec plugin unused.
    func resolveCredentials(
        cluster: Kubeconfig.Cluster, server: String, tls: TLSOptions, environment: KubeEnvironment
    ) throws -> (certificate: [UInt8]?, key: [UInt8]?, credentials: Credentials) {
        let certificate = try clientCertificateData ?? clientCertificate.map { try read($0, field: "client-certificate") }
        let key = try clientKeyData ?? clientKey.map { try read($0, field: "client-key") }
        if (certificate == nil) != (key == nil) {
            let field = certificate == nil
                ? (clientKey != nil ? "client-key" : "client-key-data")
                : (clientCertificate != nil ? "client-certificate" : "client-certificate-data")
            throw fieldError(
                field,
                "client-certificate(-data) and client-key(-data) must both be given for user \"\(name)\" to use a client certificate")
        }
        let hasToken = token != nil || tokenFile != nil
        if hasToken && username != nil {
            throw fieldError("username", "username/password or bearer token may be set, but not both (user \"\(name)\")")
        }
        if password != nil && username == nil {
            throw fieldError("password", "password is set without a username (user \"\(name)\")")
        }

        var credentials = Credentials.none
        if let tokenFile {
            let source = TokenFileSource(path: tokenFile, fallbackToken: token, clock: environment.clock)
            do {
                _ = try source.token()
            } catch let error as CredentialError {
                throw fieldError("tokenFile", error.message, code: .fileUnreadable)
            }
            credentials = Credentials(tokenFile: source)
        } else if let token {
            guard Credentials.isValidHeaderToken(token) else {
                throw fieldError("token", "the token contains a line break or control character")
            }
            credentials = .bearerToken(token)
        } else if let username {
            credentials = .basic(username: username, password: password ?? "")
        } else if certificate == nil, let exec {
            credentials = Credentials(execPlugin: try execPlugin(exec, cluster: cluster, server: server, tls: tls, environment: environment))
        } else if certificate == nil, let authProvider {
            throw fieldError(
                "auth-provider",
                "auth-provider \"\(authProvider)\" is not supported; configure an exec credential plugin instead (e.g. kubelogin for OIDC)")
        }
        return (certificate, key, credentials)
    }

    func execPlugin(
        _ exec: Kubeconfig.ExecConfig, cluster: Kubeconfig.Cluster, server: String, tls: TLSOptions,
        environment: KubeEnvironment
    ) throws -> ExecPlugin {
        guard let command = exec.command else {
            throw fieldError("exec.command", "command must be specified for user \"\(name)\" to use an exec credential plugin")
        }
        guard let apiVersion = exec.apiVersion else {
            throw fieldError("exec.apiVersion", "apiVersion must be specified for user \"\(name)\" to use an exec credential plugin")
        }
        guard ExecPlugin.supportedAPIVersions.contains(apiVersion) else {
            throw fieldError(
                "exec.apiVersion",
                "unsupported exec plugin apiVersion \"\(apiVersion)\" (supported: \(ExecPlugin.supportedAPIVersions.joined(separator: ", ")))")
        }
        let mode: ExecPlugin.InteractiveMode
        if let raw = exec.interactiveMode {
            guard let m = ExecPlugin.InteractiveMode(rawValue: raw) else {
                throw fieldError(
                    "exec.interactiveMode", "invalid interactiveMode \"\(raw)\" (expected Never, IfAvailable or Always)")
            }
            mode = m
        } else if apiVersion == ExecPlugin.v1beta1 {
            mode = .ifAvailable  // client-go's default for v1beta1
        } else {
            throw fieldError(
                "exec.interactiveMode",
                "interactiveMode must be specified for user \"\(name)\" to use an exec credential plugin with \(apiVersion)")
        }
        for (i, v) in exec.env.enumerated() where v.name.isEmpty {
            throw fieldError("exec.env", "env[\(i)]: variable name must be specified for user \"\(name)\"")
        }
        return ExecPlugin(
            apiVersion: apiVersion, command: command, args: exec.args, env: exec.env,
            installHint: exec.installHint, interactiveMode: mode,
            cluster: exec.provideClusterInfo ? cluster.execClusterInfo(server: server, tls: tls) : Optional<JSONValue>.none,
            userName: name, environment: environment)
    }
}
