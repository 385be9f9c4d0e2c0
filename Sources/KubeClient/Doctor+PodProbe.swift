import YAML

extension Doctor {
    /// How many PodAutoscalers' pods `check` probes (one pod each).
    static let probedAutoscalers = 3

    /// Probes one running pod of the first few PodAutoscalers with a `pod` metric source: the controller
    /// scrapes pod IPs directly, and from outside the cluster network they are usually unreachable (the main
    /// out-of-cluster trap). Returns the probes, or a note saying why there was nothing to probe.
    /// `mode` `apiserver` probes through the pod proxy only; `auto` probes directly, then (when allowed) through the proxy.
    static func probePods(_ client: RESTClient, namespace: String?, timeout: Double, mode: ScrapeVia = .direct,
                          proxyAllowed: Bool = false) async -> ([DoctorReport.PodProbe], String?) {
        let autoscalers: [JSONValue]
        do {
            let list = try await client.list(.podAutoscalers, namespace: namespace, options: ListOptions(limit: 100))
            autoscalers = list["items"]?.arrayValue ?? []
        } catch {
            return ([], "cannot list PodAutoscalers to find pods to probe: \(explain(error, server: client.config.server))")
        }
        guard !autoscalers.isEmpty else { return ([], "no PodAutoscalers yet, so no pods to probe") }
        let discovery = Discovery(client: client)
        var probes: [DoctorReport.PodProbe] = []
        var skipped: [String] = []
        for pa in autoscalers {
            guard probes.count < probedAutoscalers else { break }
            let ns = pa["metadata"]?["namespace"]?.stringValue ?? client.config.namespace
            let name = "\(ns)/\(pa["metadata"]?["name"]?.stringValue ?? "?")"
            let sources = pa["spec"]?["metricsSources"]?.arrayValue ?? []
            guard let (index, source) = sources.enumerated().first(where: { ($0.element["metricSourceType"]?.stringValue ?? "pod") == "pod" }) else {
                skipped.append("\(name): no pod metric source")
                continue
            }
            guard let port = portNumber(source["port"]) else {
                skipped.append("\(name): metricsSources[\(index)] has no valid port")
                continue
            }
            let pod: (name: String, ip: String)
            do {
                guard let found = try await runningPod(client, discovery, autoscaler: pa, namespace: ns) else {
                    skipped.append("\(name): no running pod with an IP")
                    continue
                }
                pod = found
            } catch {
                skipped.append("\(name): \(explain(error, server: client.config.server))")
                continue
            }
            let https = source["protocolType"]?.stringValue == "https"
            let path = source["path"]?.stringValue ?? "/metrics"
            let proxyPath = PodProxy.path(namespace: ns, pod: pod.name, port: port, https: https, path: path)
            if mode == .apiserver {
                probes.append(await probeThroughProxy(client, autoscaler: name, pod: pod.name, ip: pod.ip, port: port, proxyPath: proxyPath,
                                                      timeout: timeout))
                continue
            }
            var result = await probe(client.transport, autoscaler: name, pod: pod.name, ip: pod.ip, port: port, https: https,
                                     path: path, sourceIndex: index, timeout: timeout)
            if mode == .auto, !result.reachable, proxyAllowed {
                let viaProxy = await probeThroughProxy(client, autoscaler: name, pod: pod.name, ip: pod.ip, port: port, proxyPath: proxyPath,
                                                       timeout: timeout)
                if viaProxy.reachable {
                    result.reachable = true
                    result.detail = "not reachable directly; \(viaProxy.detail), so --scrape-via auto scrapes it that way"
                } else {
                    result.detail += "; through the API server's pod proxy: \(viaProxy.detail)"
                }
            }
            probes.append(result)
        }
        guard probes.isEmpty else { return (probes, nil) }
        return ([], "no pod to probe (" + skipped.prefix(3).joined(separator: "; ") + ")")
    }

    /// GETs the pod's metrics path through the API server's pod proxy: the pod answering (any status that is not
    /// the API server's own `Status`) means the controller can scrape it that way.
    static func probeThroughProxy(_ client: RESTClient, autoscaler: String, pod: String, ip: String, port: Int, proxyPath: String,
                                  timeout: Double) async -> DoctorReport.PodProbe {
        let host = ip.contains(":") ? "[\(ip)]" : ip
        var result = DoctorReport.PodProbe(autoscaler: autoscaler, pod: pod, endpoint: "\(host):\(port)", reachable: true, detail: "")
        do {
            let response = try await client.send(path: proxyPath, timeout: timeout + 1)
            if PodProxy.isAPIServerStatus(response), let status = try? JSONValue.parseJSON(response.body) {
                result.reachable = false
                let message = oneLine(status["message"]?.stringValue ?? "", limit: 200)
                result.detail = "the API server answered \(response.status) \(status["reason"]?.stringValue ?? "") on \(proxyPath): \(message)"
            } else {
                result.detail = "reachable through the API server's pod proxy (HTTP \(response.status) on \(proxyPath))"
            }
        } catch {
            result.reachable = false
            result.detail = "GET \(proxyPath) failed: \(explain(error, server: client.config.server))"
        }
        return result
    }

    /// `"8000"` or `8000`.
    static func portNumber(_ value: JSONValue?) -> Int? {
        let n = value?.intValue.map(Int.init) ?? value?.stringValue.flatMap { Int($0) }
        guard let n, (1...65535).contains(n) else { return nil }
        return n
    }

    /// A running pod with an IP among the target's pods (the selector of the target's `/scale`).
    static func runningPod(_ client: RESTClient, _ discovery: Discovery, autoscaler pa: JSONValue, namespace: String) async throws
        -> (name: String, ip: String)?
    {
        let ref = pa["spec"]?["scaleTargetRef"]
        guard let kind = ref?["kind"]?.stringValue, let target = ref?["name"]?.stringValue else { return nil }
        let info = try await discovery.resolve(apiVersion: ref?["apiVersion"]?.stringValue ?? "apps/v1", kind: kind)
        let scale = try await client.get(info.resource, namespace: namespace, name: target, subresource: "scale")
        guard let selector = scale["status"]?["selector"]?.stringValue, !selector.isEmpty else { return nil }
        let pods = try await client.list(.pods, namespace: namespace, options: ListOptions(labelSelector: selector, limit: 50))
        for p in pods["items"]?.arrayValue ?? [] where p["status"]?["phase"]?.stringValue == "Running" {
            if let ip = p["status"]?["podIP"]?.stringValue, !ip.isEmpty {
                return (p["metadata"]?["name"]?.stringValue ?? "?", ip)
            }
        }
        return nil
    }

    /// Opens a connection to the pod's metrics port (an HTTP GET with a short connect timeout; any HTTP answer,
    /// even an error status or a TLS failure, means the address is reachable).
    static func probe(_ transport: HTTPTransport, autoscaler: String, pod: String, ip: String, port: Int, https: Bool, path: String,
                      sourceIndex: Int, timeout: Double) async -> DoctorReport.PodProbe {
        let host = ip.contains(":") ? "[\(ip)]" : ip
        let endpoint = "\(host):\(port)"
        var request = HTTPRequest(url: "\(https ? "https" : "http")://\(endpoint)\(path)", timeout: timeout + 1, connectTimeout: timeout)
        request.tls.insecureSkipVerify = true
        var result = DoctorReport.PodProbe(autoscaler: autoscaler, pod: pod, endpoint: endpoint, reachable: true, detail: "")
        let advice = "pod IPs are not routed to this machine (they usually are only inside the cluster network): run the "
            + "controller in-cluster (charts/heteroscale), or give this machine a route to the pod network (README, \"Run the "
            + "controller\"), or use a prometheus metric source"
        do {
            let response = try await transport.send(request)
            result.detail = "reachable (HTTP \(response.status) on \(path))"
        } catch let e as TransportError {
            switch e {
            case .timedOut:
                result.reachable = false
                result.detail = "not reachable from here (no connection within \(Int(timeout)) s); \(advice)"
            case .connectionRefused(_, let detail) where detail.localizedLowercase.contains("refused"):
                result.reachable = false
                result.detail = "the pod IP answers but refuses port \(port): check metricsSources[\(sourceIndex)].port and the model server's port"
            case .connectionRefused(_, let detail):
                // libcurl does not always say whether the port refused or the address is not routed.
                result.reachable = false
                result.detail = "could not connect (\(oneLine(detail, limit: 120))): either nothing listens on port \(port) "
                    + "(check metricsSources[\(sourceIndex)].port) or \(advice)"
            case .tlsUnknownAuthority, .tlsNameMismatch, .tlsClientCertificateRejected, .tls:
                result.detail = "reachable (the TLS handshake failed, see --scrape-ca-file)"
            default:
                result.reachable = false
                result.detail = "not reachable from here (\(oneLine("\(e)", limit: 160))); \(advice)"
            }
        } catch {
            result.reachable = false
            result.detail = "not reachable from here (\(oneLine("\(error)", limit: 160)))"
        }
        return result
    }
}
