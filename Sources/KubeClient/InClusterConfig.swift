import Foundation

/// The configuration of a pod's service account, as client-go's `rest.InClusterConfig` builds it.
public enum InClusterConfig {
    /// The service account directory, below `KubeEnvironment.inClusterRoot`.
    public static let serviceAccountDirectory = "var/run/secrets/kubernetes.io/serviceaccount"

    static func path(_ name: String, environment: KubeEnvironment) -> String {
        KubePath.clean(environment.inClusterRoot + "/" + serviceAccountDirectory + "/" + name)
    }

    public static func tokenPath(environment: KubeEnvironment) -> String { path("token", environment: environment) }
    public static func caPath(environment: KubeEnvironment) -> String { path("ca.crt", environment: environment) }
    public static func namespacePath(environment: KubeEnvironment) -> String { path("namespace", environment: environment) }

    /// True when the service environment variables are set and the token file exists (client-go's `Possible`).
    public static func isAvailable(environment: KubeEnvironment = .current) -> Bool {
        guard environment.variable("KUBERNETES_SERVICE_HOST") != nil,
              environment.variable("KUBERNETES_SERVICE_PORT") != nil,
              let token = KubeFiles.status(tokenPath(environment: environment))
        else { return false }
        return !token.isDirectory
    }

    /// Why the in-cluster configuration cannot be used, for the "nothing found" message.
    static func whyUnavailable(environment: KubeEnvironment) -> String {
        if environment.variable("KUBERNETES_SERVICE_HOST") == nil || environment.variable("KUBERNETES_SERVICE_PORT") == nil {
            return "not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)"
        }
        return "the service account token \(tokenPath(environment: environment)) does not exist"
    }

    /// The API server URL for a service host and port, with IPv6 literals bracketed.
    public static func serverURL(host: String, port: String) -> String {
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "https://\(bracketed):\(port)"
    }

    /// Builds the configuration. The token file is re-read when it changes (kubelet rotates projected tokens);
    /// a missing CA file leaves the system trust store in use, as in client-go. The namespace is `namespace`,
    /// else `POD_NAMESPACE`, else the service account's namespace file, else `default`.
    public static func load(namespace: String? = nil, environment: KubeEnvironment = .current) throws -> RESTConfig {
        guard let host = environment.variable("KUBERNETES_SERVICE_HOST"),
              let port = environment.variable("KUBERNETES_SERVICE_PORT")
        else {
            throw KubeconfigError(
                .inCluster,
                message: "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined")
        }
        guard !port.isEmpty, port.allSatisfy(\.isNumber), let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubeconfigError(.inCluster, message: "KUBERNETES_SERVICE_PORT is not a port number")
        }
        let tokenFile = tokenPath(environment: environment)
        let source = TokenFileSource(path: tokenFile, fallbackToken: nil, clock: environment.clock)
        do {
            _ = try source.token()
        } catch let error as CredentialError {
            throw KubeconfigError(.inCluster, file: tokenFile, message: "unable to load in-cluster configuration: \(error.message)")
        }
        var tls = TLSOptions()
        tls.caPEM = try? KubeFiles.read(caPath(environment: environment))

        var resolvedNamespace = namespace.flatMap { $0.isEmpty ? nil : $0 } ?? environment.variable("POD_NAMESPACE")
        if resolvedNamespace == nil, let bytes = try? KubeFiles.read(namespacePath(environment: environment), limit: 4096) {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { resolvedNamespace = text }
        }
        return RESTConfig(
            server: serverURL(host: host, port: port), tls: tls, credentials: Credentials(tokenFile: source),
            namespace: resolvedNamespace ?? "default", source: KubeconfigLoader.inClusterSource)
    }
}
