import KubeAPI
import KubeClient

/// Where a `pod` source's metrics are served on each pod: `protocol://ip:port/path`.
struct ScrapeEndpoint: Sendable, Hashable {
    var scheme: String
    var port: Int
    var path: String

    /// The endpoint of a `pod` source, or a message naming the bad field.
    static func of(_ source: MetricSource) -> Result<ScrapeEndpoint, ScrapeEndpointError> {
        let scheme = (source.protocolType ?? "http").lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(ScrapeEndpointError(message: "protocolType \"\(source.protocolType ?? "")\" is not http or https"))
        }
        guard let text = source.port, let port = Int(text), (1...65535).contains(port) else {
            return .failure(ScrapeEndpointError(message: source.port == nil ? "a pod source needs a port" : "port \"\(source.port ?? "")\" is not a port number"))
        }
        var path = source.path ?? "/metrics"
        if path.isEmpty { path = "/metrics" }
        if !path.hasPrefix("/") { path = "/" + path }
        return .success(ScrapeEndpoint(scheme: scheme, port: port, path: path))
    }

    /// The URL for one pod IP (IPv6 addresses bracketed).
    func url(ip: String) -> String {
        let host = ip.contains(":") && !ip.hasPrefix("[") ? "[\(ip)]" : ip
        return "\(scheme)://\(host):\(port)\(path)"
    }

    /// The same endpoint through the API server's pod proxy (`https:NAME:PORT` for https).
    func proxyPath(namespace: String, pod: String) -> String {
        PodProxy.path(namespace: namespace, pod: pod, port: port, https: scheme == "https", path: path)
    }
}

struct ScrapeEndpointError: Error, Sendable {
    var message: String
}

extension MetricSource {
    /// Whether a source with this `role` measures a pod with `podRole` (no role: every pod).
    func measures(role podRole: String?) -> Bool { role == nil || role == podRole }
}
