import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// `heteroscale doctor`'s checks (KubeClient.Doctor) against the emulator.
@Suite("Doctor against KubeEmulator")
struct DoctorAgainstEmulatorTests {
    @Test func reportsMissingThenInstalledCRDs() async throws {
        try await withEmulator { _, client in
            let before = try await Doctor.check(client)
            #expect(before.serverVersion == "v1.32.0")
            #expect(before.crds.allSatisfy { !$0.installed })
            #expect(!before.permissions.isEmpty)
            #expect(before.permissions.allSatisfy { $0.allowed == true })

            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            let after = try await Doctor.check(client)
            #expect(after.crds.first { $0.name == "deploymentgroups" }?.installed == true)
            #expect(after.crds.first { $0.name == "podautoscalers" }?.installed == false)
        }
    }
}

/// `heteroscale doctor` probes the pods the controller would scrape (issue 10 §3): the main out-of-cluster
/// trap is a controller that cannot reach pod IPs.
@Suite("Doctor probes pod IPs")
struct DoctorPodProbeTests {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A Deployment `name` with one running pod at `ip`, and a KPA PodAutoscaler scraping `port`.
    static func seed(_ emulator: KubeEmulator, name: String, ip: String, port: Int, path: String = "/metrics") throws {
        _ = try emulator.apply([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
                     "template": ["metadata": ["labels": ["app": .string(name)]], "spec": ["containers": [["name": "vllm", "image": "vllm"]]]]],
        ])
        _ = try emulator.apply([
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string("\(name)-0"), "namespace": "default", "labels": ["app": .string(name)]],
            "spec": ["containers": [["name": "vllm", "image": "vllm"]]],
            "status": ["phase": "Running", "podIP": .string(ip)],
        ])
        _ = try emulator.apply([
            "apiVersion": "heteroscale.io/v1alpha1", "kind": "PodAutoscaler", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": .string(name)],
                     "minReplicas": 1, "maxReplicas": 4, "scalingStrategy": "KPA",
                     "metricsSources": [["metricSourceType": "pod", "targetMetric": "num_requests_running", "targetValue": "10", "port": .string(String(port)),
                                             "path": .string(path)]]],
        ])
    }

    @Test func reachableRefusedAndUnroutablePodsAreToldApart() async throws {
        try await withEmulator { emulator, client in
            let crd = try YAML.load(try String(contentsOf: Self.repositoryRoot.appendingPathComponent("crds/heteroscale.io_podautoscalers.yaml"), encoding: .utf8))
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: crd)
            let empty = try await Doctor.check(client)
            #expect(empty.podProbes.isEmpty && empty.podProbeNote == "no PodAutoscalers yet, so no pods to probe")
            // The emulator's own port stands in for a model server (any HTTP answer means reachable); port 1 on
            // loopback refuses; 192.0.2.1 (TEST-NET-1, RFC 5737) is routed nowhere.
            let apiPort = try #require(Int(client.config.server.split(separator: ":").last ?? ""))
            try Self.seed(emulator, name: "a-reachable", ip: "127.0.0.1", port: apiPort)
            try Self.seed(emulator, name: "b-refused", ip: "127.0.0.1", port: 1)
            try Self.seed(emulator, name: "c-unroutable", ip: "192.0.2.1", port: 8000)
            let report = try await Doctor.check(client, probeTimeout: 0.5)
            let probes = Dictionary(uniqueKeysWithValues: report.podProbes.map { ($0.autoscaler, $0) })
            #expect(probes.count == 3)
            let ok = try #require(probes["default/a-reachable"])
            #expect(ok.reachable && ok.pod == "a-reachable-0" && ok.endpoint == "127.0.0.1:\(apiPort)")
            #expect(ok.detail == "reachable (HTTP 404 on /metrics)")
            let refused = try #require(probes["default/b-refused"])
            #expect(!refused.reachable)
            // libcurl may or may not say "refused"; either way the port and the source to check are named.
            #expect(refused.detail.contains("port 1") && refused.detail.contains("metricsSources[0].port"))
            let unroutable = try #require(probes["default/c-unroutable"])
            #expect(!unroutable.reachable)
            #expect(unroutable.detail.contains("pod IPs are not routed to this machine"))
            #expect(unroutable.detail.contains("run the controller in-cluster (charts/heteroscale)"))
            #expect(report.problems == 2 + report.crds.filter { !$0.installed }.count)
        }
    }

    /// `--scrape-via` in doctor: the mode assumed (out of cluster the default is auto) and why; `get pods/proxy`
    /// asked only when the mode can use the proxy; a pod whose IP does not answer from here but does from the
    /// emulator (its pod network maps 127.0.60.2 to the emulator's own address) is reachable through the proxy.
    @Test(arguments: [ScrapeVia.direct, .apiserver, .auto, nil])
    func thePodProxyModeIsCheckedAndExplained(mode: ScrapeVia?) async throws {
        try await withEmulator({ $0.podNetwork = { $0 == "127.0.60.2" ? "127.0.0.1" : $0 } }) { emulator, client in
            let crd = try YAML.load(try String(contentsOf: Self.repositoryRoot.appendingPathComponent("crds/heteroscale.io_podautoscalers.yaml"), encoding: .utf8))
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: crd)
            let apiPort = try #require(Int(client.config.server.split(separator: ":").last ?? ""))
            // The emulator's /version stands in for the pod's metrics endpoint (an answer that is not a Status).
            try Self.seed(emulator, name: "hidden", ip: "127.0.60.2", port: apiPort, path: "/version")
            let report = try await Doctor.check(client, probeTimeout: 1, scrapeVia: mode)
            let probe = try #require(report.podProbes.first)
            // The default is auto out of cluster; direct when these tests themselves run in a pod.
            let (expected, why) = mode.map { ($0, "--scrape-via \($0)") } ?? ScrapeVia.defaultMode(for: client.config)
            #expect(report.scrapeVia == expected)
            let proxyPath = "/api/v1/namespaces/default/pods/hidden-0:\(apiPort)/proxy/version"
            switch expected {
            case .direct:
                #expect(report.podProxy == nil)
                #expect(!probe.reachable)
                #expect(report.scrapeSummary.hasPrefix("direct (\(why)): pods are scraped at their IPs"))
            case .apiserver:
                #expect(report.podProxy?.allowed == true && report.podProxy?.label == "get pods/proxy (all namespaces)")
                #expect(probe.reachable && probe.detail == "reachable through the API server's pod proxy (HTTP 200 on \(proxyPath))", "\(probe.detail)")
                #expect(report.scrapeSummary.hasPrefix("apiserver (--scrape-via apiserver): every pod scrape goes through the API server's pod proxy"))
            case .auto:
                #expect(report.podProxy?.allowed == true)
                #expect(probe.reachable && probe.detail.hasPrefix("not reachable directly; reachable through the API server's pod proxy"), "\(probe.detail)")
                #expect(report.scrapeSummary == "auto (\(why)): pod IPs do not answer from here, so pods will be scraped through the API server's pod proxy",
                        "\(report.scrapeSummary)")
            }
            #expect(report.problems == (expected == .direct ? 1 : 0) + report.crds.filter { !$0.installed }.count)
        }
    }
}
