import Foundation
import YAML

/// How the controller reaches the metrics endpoints of pods (`heteroscale controller --scrape-via`).
public enum ScrapeVia: String, Sendable, CaseIterable, CustomStringConvertible {
    /// GET `http(s)://POD_IP:PORT/PATH` from where the controller runs (needs a route to the pod network).
    case direct
    /// GET `/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH` on the API server, with the API client's credentials:
    /// works wherever the API server does, costs one API request per pod scrape (needs `get pods/proxy`).
    case apiserver
    /// Direct first; per PodAutoscaler, the pod proxy once pods' IPs do not answer the first scrapes and the proxy does.
    case auto

    public var description: String { rawValue }

    /// Whether the mode sends scrapes through the API server (and so needs `get pods/proxy`).
    public var usesPodProxy: Bool { self != .direct }

    /// The default mode for a configuration, and why: `direct` in a cluster (pods are reachable and the API server
    /// is spared), `auto` outside one (kind, a laptop: pod IPs are usually not routed there).
    public static func defaultMode(for config: RESTConfig, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (mode: ScrapeVia, reason: String)
    {
        if config.source == KubeconfigLoader.inClusterSource {
            return (.direct, "in-cluster configuration: pod IPs are reachable, and scrapes stay off the API server")
        }
        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
            return (.direct, "running in a pod (KUBERNETES_SERVICE_HOST is set): pod IPs are reachable, and scrapes stay off the API server")
        }
        return (.auto, "out-of-cluster configuration (\(config.source)): pods are tried directly, then through the API server's pod proxy")
    }
}

/// The API server's pod proxy subresource (`pods/proxy`), as `kubectl get --raw` and the dashboard use it.
public enum PodProxy {
    /// `/api/v1/namespaces/NS/pods/[https:]NAME:PORT/proxy/PATH`. `path` starts with `/` and may carry a query;
    /// `https` pods are named `https:NAME:PORT` (the API server does not verify the pod's certificate).
    public static func path(namespace: String, pod: String, port: Int, https: Bool = false, path: String) -> String {
        let id = (https ? "https:" : "") + "\(pod):\(port)"
        let rest = path.hasPrefix("/") ? path : "/" + path
        return GroupVersionResource.pods.path(namespace: namespace, name: id, subresource: "proxy") + rest
    }

    /// The permission the pod proxy needs (the verb is the HTTP method's: `get` for scrapes).
    public static let permission = (verb: "get", group: "", resource: "pods", subresource: "proxy")

    /// Whether an API server answer to a proxied request came from the API server itself (a `Status` object:
    /// 400 `address not allowed`, 403, 404, 503 `error trying to reach service: ...`) rather than from the pod.
    public static func isAPIServerStatus(_ response: HTTPResponse) -> Bool {
        guard (response.headers["Content-Type"] ?? "").contains("application/json"),
              let json = try? JSONValue.parseJSON(response.body) else { return false }
        return json["kind"]?.stringValue == "Status" && json["apiVersion"]?.stringValue == "v1"
    }
}
