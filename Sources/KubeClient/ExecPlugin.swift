import Foundation
import YAML

/// A client-go exec credential plugin, ready to run
/// (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins).
public struct ExecPlugin: Sendable, CustomStringConvertible {
    public static let v1 = "client.authentication.k8s.io/v1"
    public static let v1beta1 = "client.authentication.k8s.io/v1beta1"
    public static let supportedAPIVersions = [v1, v1beta1]
    /// The cluster extension whose value is passed to the plugin as `spec.cluster.config`.
    public static let clusterConfigExtension = "client.authentication.k8s.io/exec"

    public enum InteractiveMode: String, Sendable, Hashable {
        case never = "Never"
        case ifAvailable = "IfAvailable"
        case always = "Always"
    }

    /// The `ExecCredential` API version the plugin is asked for and must answer with.
    public var apiVersion: String
    /// A name looked up in `PATH` (from `environment.variables`), or a path.
    public var command: String
    public var args: [String]
    /// Added to (and overriding) the environment.
    public var env: [Kubeconfig.ExecConfig.EnvVar]
    public var installHint: String?
    public var interactiveMode: InteractiveMode
    /// `spec.cluster` for `KUBERNETES_EXEC_INFO`; set when the kubeconfig says `provideClusterInfo: true`.
    public var cluster: JSONValue?
    /// The kubeconfig user, for messages.
    public var userName: String?
    /// Variables the plugin inherits, `PATH` for the lookup, the clock for expiry and the timeout.
    public var environment: KubeEnvironment

    public init(
        apiVersion: String, command: String, args: [String] = [], env: [Kubeconfig.ExecConfig.EnvVar] = [],
        installHint: String? = nil, interactiveMode: InteractiveMode = .ifAvailable, cluster: JSONValue? = nil,
        userName: String? = nil, environment: KubeEnvironment = .current
    ) {
        self.apiVersion = apiVersion
        self.command = command
        self.args = args
        self.env = env
        self.installHint = installHint
        self.interactiveMode = interactiveMode
        self.cluster = cluster
        self.userName = userName
        self.environment = environment
    }

    public var description: String {
        "exec plugin \(command)" + (userName.map { " for user \"\($0)\"" } ?? "")
    }

    /// The value of `KUBERNETES_EXEC_INFO`: the `ExecCredential` request, as compact JSON with sorted keys.
    public var execInfoJSON: String {
        var spec: JSONObject = ["interactive": false]
        if let cluster, !cluster.isNull { spec["cluster"] = cluster }
        let request: JSONValue = ["apiVersion": .string(apiVersion), "kind": "ExecCredential", "spec": .object(spec)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail (no non-finite numbers are put in).
        let data = (try? encoder.encode(request)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The full path of the command: a name is searched in `PATH`; a path must be an executable file.
    func resolveExecutable() -> String? {
        if command.contains("/") {
            let path = environment.resolvePath(command)
            return KubeFiles.isExecutableFile(path) ? path : nil
        }
        let searchPath = environment.variables["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        // Empty entries (meaning ".") are skipped, as Go's exec.LookPath refuses results relative to ".".
        for dir in searchPath.split(separator: ":", omittingEmptySubsequences: true) where dir.hasPrefix("/") {
            let candidate = dir.hasSuffix("/") ? "\(dir)\(command)" : "\(dir)/\(command)"
            if KubeFiles.isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// Runs the plugin once and returns its credential.
    func run() async throws -> ExecCredentialResult {
        let who = description
        if interactiveMode == .always {
            throw CredentialError(
                .execInteractive,
                "\(who) requires an interactive terminal (interactiveMode: Always), but credentials are obtained non-interactively here; use a plugin or configuration that works with interactiveMode Never or IfAvailable")
        }
        guard let executable = resolveExecutable() else {
            var message = command.contains("/")
                ? "\(who): executable \(command) not found or not executable"
                : "\(who): executable \"\(command)\" not found in PATH"
            message += "\n\nIt looks like you are trying to use a client-go credential plugin that is not installed."
            if let installHint, !installHint.isEmpty { message += "\n\n" + installHint }
            throw CredentialError(.execNotFound, message)
        }
        var variables = environment.variables
        for v in env { variables[v.name] = v.value }
        variables["KUBERNETES_EXEC_INFO"] = execInfoJSON

        let result: ExecPluginProcess.Result
        do {
            result = try await ExecPluginProcess.run(
                executable: executable, arguments: args, environment: variables, timeout: environment.execTimeout)
        } catch let error as ExecPluginProcess.LaunchError {
            throw CredentialError(.execFailed, "\(who): could not start \(executable): \(error.reason)")
        }
        if result.timedOut {
            throw CredentialError(
                .execTimedOut, "\(who) did not finish within \(Self.formatSeconds(environment.execTimeout)) s and was killed")
        }
        let stderr = Self.summarize(result.stderr)
        if let signal = result.signal {
            throw CredentialError(
                .execFailed, "\(who) was killed by signal \(signal)" + (stderr.isEmpty ? "" : ": \(stderr)"))
        }
        if result.exitCode != 0 {
            throw CredentialError(
                .execFailed,
                "\(who) failed with exit code \(result.exitCode)" + (stderr.isEmpty ? "" : ": \(stderr)"),
                exitCode: result.exitCode)
        }
        if result.stdoutTruncated {
            throw CredentialError(.execInvalidOutput, "\(who) wrote more than \(ExecPluginProcess.stdoutLimit) bytes to stdout")
        }
        return try parseOutput(result.stdout)
    }

    /// Validates the plugin's `ExecCredential` like client-go. Error messages never quote the output, which
    /// holds the credential.
    func parseOutput(_ stdout: [UInt8]) throws -> ExecCredentialResult {
        let who = description
        func invalid(_ what: String) -> CredentialError { CredentialError(.execInvalidOutput, "\(who): \(what)") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(stdout))
        } catch {
            throw invalid(stdout.isEmpty ? "wrote nothing to stdout (expected an ExecCredential as JSON)" : "output is not a JSON ExecCredential")
        }
        guard case .object(let object) = value else { throw invalid("output is not a JSON object") }
        let kind = object["kind"]?.stringValue
        let version = object["apiVersion"]?.stringValue
        guard kind == "ExecCredential" else {
            throw invalid("returned kind \(kind.map { "\"\($0)\"" } ?? "(none)"), expected \"ExecCredential\"")
        }
        guard version == apiVersion else {
            throw invalid(
                "plugin is configured to use API version \(apiVersion), plugin returned version \(version.map { "\"\($0)\"" } ?? "(none)")")
        }
        guard case .object(let status)? = object["status"] else {
            throw invalid("didn't return a status field")
        }
        func stringField(_ key: String) throws -> String? {
            switch status[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s.isEmpty ? nil : s
            default: throw invalid("status.\(key) is not a string")
            }
        }
        let token = try stringField("token")
        let certificate = try stringField("clientCertificateData")
        let key = try stringField("clientKeyData")
        if token == nil && certificate == nil && key == nil {
            throw invalid("didn't return a token or cert/key pair")
        }
        if (certificate == nil) != (key == nil) {
            throw invalid("returned only certificate or key, not both")
        }
        if let token, !Credentials.isValidHeaderToken(token) {
            throw invalid("returned a token containing a line break or control character")
        }
        var expiry: Date?
        if let stamp = try stringField("expirationTimestamp") {
            guard let date = RFC3339.parse(stamp) else {
                throw invalid("status.expirationTimestamp is not an RFC 3339 time")
            }
            expiry = date
        }
        return ExecCredentialResult(
            authorization: Authorization(
                headerValue: token.map { "Bearer " + $0 },
                clientCertificatePEM: certificate.map { Array($0.utf8) },
                clientKeyPEM: key.map { Array($0.utf8) }),
            expiry: expiry)
    }

    /// Trimmed stderr, at most `limit` characters.
    static func summarize(_ bytes: [UInt8], limit: Int = 1024) -> String {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "… (\(bytes.count) bytes in all)"
    }

    static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }
}

/// One successful run of a plugin.
struct ExecCredentialResult: Sendable {
    var authorization: Authorization
    var expiry: Date?
}

/// Caches a plugin's credential until it expires; concurrent callers share one run of the plugin.
actor ExecCredentialProvider {
    let plugin: ExecPlugin
    private var cached: ExecCredentialResult?
    private var inFlight: Task<ExecCredentialResult, any Error>?
    /// Bumped by `invalidate()` so that a run started before it does not refill the cache.
    private var generation = 0

    init(plugin: ExecPlugin) { self.plugin = plugin }

    func authorization() async throws -> Authorization {
        if let cached, !isExpired(cached) { return cached.authorization }
        let task: Task<ExecCredentialResult, any Error>
        if let inFlight {
            task = inFlight
        } else {
            let plugin = self.plugin
            task = Task { try await plugin.run() }
            inFlight = task
        }
        let started = generation
        do {
            let result = try await task.value
            if generation == started {
                cached = result
                if inFlight == task { inFlight = nil }
            }
            return result.authorization
        } catch {
            if generation == started, inFlight == task { inFlight = nil }
            throw error
        }
    }

    func invalidate() {
        cached = nil
        inFlight = nil
        generation += 1
    }

    private func isExpired(_ result: ExecCredentialResult) -> Bool {
        guard let expiry = result.expiry else { return false }
        return plugin.environment.clock() >= expiry
    }
}
