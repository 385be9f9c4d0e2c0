import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// The pods/proxy subresource: kube-apiserver's `pod.ResourceLocation` answers (400 `address not allowed`, 400
/// `invalid pod request`, 404) and its proxy transport's (503 `error trying to reach service: dial tcp ...`), and a
/// pod's own answer passed through. The "pod" is a second emulator bound to a loopback address: a real HTTP server.
@Suite("Pod proxy")
struct PodProxyTests {
    /// Where the pod's server listens, and an address nothing listens on.
    static let podIP = "127.0.50.2"
    static let silentIP = "127.0.50.3"

    static func pod(_ name: String, ip: String?, phase: String = "Running", containerPort: Int? = nil) -> JSONValue {
        var container: JSONValue = ["name": "server", "image": "server"]
        if let containerPort { container["ports"] = [["containerPort": .int(Int64(containerPort))]] }
        var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"],
                              "spec": ["containers": [container]]]
        if let ip { pod["status"] = ["phase": .string(phase), "podIP": .string(ip), "podIPs": [["ip": .string(ip)]]] }
        return pod
    }

    /// Runs `body` with an emulator holding the test's pods and a pod server on `podIP` (its port passed on).
    static func withPods(_ configure: @escaping (inout KubeEmulator.Configuration) -> Void = { _ in },
                         _ body: @escaping (KubeEmulator, RESTClient, Int) async throws -> Void) async throws {
        var podConfig = KubeEmulator.Configuration()
        podConfig.host = podIP
        let podServer = KubeEmulator(configuration: podConfig)
        let port = try await podServer.start()
        do {
            try await withEmulator(configure) { emulator, client in
                try emulator.apply(pod("serving", ip: podIP, containerPort: port))
                try emulator.apply(pod("pending", ip: nil))
                try emulator.apply(pod("linklocal", ip: "169.254.1.1"))
                try emulator.apply(pod("finished", ip: silentIP, phase: "Succeeded"))
                try emulator.apply(pod("unmapped", ip: "127.0.51.2"))
                try await body(emulator, client, port)
            }
        } catch {
            try? await podServer.stop()
            throw error
        }
        try await podServer.stop()
    }

    @Test(arguments: [
        // (pod id, path below /proxy, status, reason of the API server's Status or nil for the pod's own answer, message)
        ("serving:PORT", "/version", 200, nil, nil),
        ("http:serving:PORT", "/version", 200, nil, nil),
        ("serving", "/version", 200, nil, nil),  // the first container port
        ("serving:PORT", "/healthz?verbose=1", 200, nil, nil),
        ("pending:8000", "/metrics", 400, "BadRequest", "address not allowed"),
        ("linklocal:8000", "/metrics", 400, "BadRequest", "address not allowed"),
        ("finished:PORT", "/metrics", 503, "ServiceUnavailable", "error trying to reach service: dial tcp 127.0.50.3:PORT: connect: connection refused"),
        ("missing:8000", "/metrics", 404, "NotFound", "pods \"missing\" not found"),
        ("a:serving:PORT:x", "/metrics", 400, "BadRequest", "invalid pod request \"a:serving:PORT:x\""),
        ("ftp:serving:PORT", "/metrics", 400, "BadRequest", "invalid pod request \"ftp:serving:PORT\""),
    ] as [(String, String, Int, String?, String?)])
    func answersAsKubeAPIServer(id: String, path: String, status: Int, reason: String?, message: String?) async throws {
        try await Self.withPods { _, client, port in
            let id = id.replacingOccurrences(of: "PORT", with: String(port))
            let response = try await client.send(path: "/api/v1/namespaces/default/pods/\(id)/proxy\(path)")
            #expect(response.status == status, "\(id)\(path): \(String(decoding: response.body, as: UTF8.self))")
            let body = try JSONValue.parseJSON(response.body)
            if let reason {
                #expect(PodProxy.isAPIServerStatus(response))
                #expect(body["kind"]?.stringValue == "Status")
                #expect(body["reason"]?.stringValue == reason)
                #expect(body["code"]?.intValue == Int64(status))
                #expect(body["message"]?.stringValue == message?.replacingOccurrences(of: "PORT", with: String(port)))
            } else {
                // The pod's own answer: the pod server's /version or /healthz.
                #expect(!PodProxy.isAPIServerStatus(response))
                #expect(path.hasPrefix("/version") ? body["gitVersion"]?.stringValue != nil : body == "ok")
            }
        }
    }

    /// `PodProxy.path` builds what the emulator (and kube-apiserver) route, https pods included.
    @Test func theClientPathIsTheSubresource() async throws {
        try await Self.withPods { _, client, port in
            let path = PodProxy.path(namespace: "default", pod: "serving", port: port, path: "/version")
            #expect(path == "/api/v1/namespaces/default/pods/serving:\(port)/proxy/version")
            #expect(try await client.send(path: path).status == 200)
            let https = PodProxy.path(namespace: "default", pod: "serving", port: port, https: true, path: "metrics")
            #expect(https == "/api/v1/namespaces/default/pods/https:serving:\(port)/proxy/metrics")
            // The emulator speaks no TLS to pods: 503, saying so.
            let answer = try await client.send(path: https)
            #expect(answer.status == 503 && PodProxy.isAPIServerStatus(answer))
        }
    }

    /// The emulator's pod network: a pod IP nothing on this machine listens on (so a client cannot reach it
    /// directly) is dialled at the address `podNetwork` maps it to, as a node reaches pod IPs the host cannot.
    @Test func thePodNetworkReachesWhatTheHostCannot() async throws {
        try await Self.withPods({ $0.podNetwork = { $0 == "127.0.51.2" ? PodProxyTests.podIP : $0 } }) { _, client, port in
            let direct = await attempt { try await client.transport.send(HTTPRequest(url: "http://127.0.51.2:\(port)/version", timeout: 5)) }
            guard case .failure(let error) = direct, let transportError = error as? TransportError, case .connectionRefused = transportError else {
                Issue.record("expected the pod IP to refuse a direct connection, got \(direct)")
                return
            }
            let proxied = try await client.send(path: "/api/v1/namespaces/default/pods/unmapped:\(port)/proxy/version")
            #expect(proxied.status == 200)
            #expect(try JSONValue.parseJSON(proxied.body)["gitVersion"]?.stringValue != nil)
        }
    }
}

/// The result of `body`, error included.
private func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
