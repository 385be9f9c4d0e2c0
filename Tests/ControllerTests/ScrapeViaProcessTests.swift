import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

/// `heteroscale controller --scrape-via` end to end against the emulator's pod proxy. The kubelet hands out pod
/// IPs 127.0.20.N that nothing listens on, so the controller cannot reach them; the emulator's pod network maps
/// them to 127.0.10.N where the fake engines serve — the situation of a controller on a laptop against kind,
/// whose node reaches pod IPs the host has no route to.
@Suite(.serialized) struct ScrapeViaProcessTests {
    static let hiddenPrefix = "127.0.20."

    static func hiddenCluster() async throws -> ClusterFixture {
        try await ClusterFixture.start(podIPPrefix: hiddenPrefix) { ip in
            ip.hasPrefix(hiddenPrefix) ? FakeEngines.ipPrefix + ip.dropFirst(hiddenPrefix.count) : ip
        }
    }

    static let mode = #"heteroscale_scrape_mode{mode="apiserver",name="llama",namespace="default"}"#
    static let directMode = #"heteroscale_scrape_mode{mode="direct",name="llama",namespace="default"}"#

    /// The pod IPs are not reachable from the test process, yet `kubectl get --raw` through the pod proxy reads
    /// a pod's metrics: the emulator reaches them.
    @Test func podIPsAnswerOnlyThroughTheProxy() async throws {
        let cluster = try await Self.hiddenCluster()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(3)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        await eventually("a pod IP") {
            try await cluster.client.list(.pods, namespace: "default")["items"]?.arrayValue?.first?["status"]?["podIP"]?.stringValue != nil
        }
        let pod = try #require(try await cluster.client.list(.pods, namespace: "default")["items"]?.arrayValue?.first)
        let name = try #require(pod["metadata"]?["name"]?.stringValue)
        let ip = try #require(pod["status"]?["podIP"]?.stringValue)
        #expect(ip.hasPrefix(Self.hiddenPrefix))
        await #expect(throws: (any Error).self) {
            _ = try await HTTPTransport.shared.send(HTTPRequest(url: "http://\(ip):\(engines.port)/metrics", timeout: 2))
        }
        let raw = try cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/\(name):\(engines.port)/proxy/metrics")
        #expect(raw.contains(#"vllm:num_requests_running{engine="0",model_name="llama"} 3.0"#), "\(raw)")
    }

    /// `auto` (the default out of cluster): the first scrapes fail to connect, the pod proxy answers, the choice
    /// is logged once, kept, shown in `kubectl describe` and in `heteroscale_scrape_mode`, and the autoscaler scales.
    @Test(arguments: [[String](), ["--scrape-via", "auto"]])
    func autoFallsBackToThePodProxy(flags: [String]) async throws {
        // Without the flag the default applies, which is direct when the tests themselves run in a pod.
        if flags.isEmpty, ProcessInfo.processInfo.environment["KUBERNETES_SERVICE_HOST"] != nil { return }
        let cluster = try await Self.hiddenCluster()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: flags)
        defer { controller.stop() }

        await eventually("scale-up to 4 on metrics read through the pod proxy") { try await cluster.replicas() == 4 }
        await eventually("the apiserver route in /metrics") { try await controller.metric(Self.mode) == 1 }
        #expect(try await controller.metric(Self.directMode) == nil)
        let describe = try cluster.kubectl("describe", "pa", "llama")
        #expect(describe.contains("pods are scraped through the API server's pod proxy (--scrape-via auto: pod IPs do not answer from the controller"),
                "\(describe)")
        #expect(!describe.contains("FailedGetPodsMetric"))
        // Several decisions later the choice was still logged only once.
        let reconciles = #"controller_runtime_reconcile_total{controller="podautoscaler",result="requeue_after"}"#
        let seen = try await controller.metric(reconciles) ?? 0
        await eventually("three more decisions") { try await controller.metric(reconciles) ?? 0 >= seen + 3 }
        let output = controller.process.output
        #expect(output.components(separatedBy: "scrape route chosen").count - 1 == 1, "\(output)")
        #expect(output.contains("scrapeVia=auto") || output.contains(#""scrapeVia":"auto""#), "\(output)")
    }

    /// `apiserver`: every scrape goes through the proxy from the first one; nothing is "chosen".
    @Test func apiserverModeScrapesThroughTheProxy() async throws {
        let cluster = try await Self.hiddenCluster()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: ["--scrape-via", "apiserver"])
        defer { controller.stop() }

        await eventually("scale-up to 4") { try await cluster.replicas() == 4 }
        await eventually("the apiserver route in /metrics") { try await controller.metric(Self.mode) == 1 }
        let describe = try cluster.kubectl("describe", "pa", "llama")
        #expect(describe.contains("pods are scraped through the API server's pod proxy (--scrape-via apiserver)"), "\(describe)")
        #expect(!describe.contains("FailedGetPodsMetric"))
        #expect(!controller.process.output.contains("scrape route chosen"))
        #expect(controller.process.output.contains("every pod scrape is an API request"))
    }

    /// `direct` against the same pods: every scrape fails to connect, and nothing scales.
    @Test func directModeCannotReachThem() async throws {
        let cluster = try await Self.hiddenCluster()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: ["--scrape-via", "direct"])
        defer { controller.stop() }

        await eventually("the scrape failure reported") { try cluster.kubectl("describe", "pa", "llama").contains("FailedGetPodsMetric") }
        await eventually("the direct route in /metrics") { try await controller.metric(Self.directMode) == 1 }
        #expect(try await cluster.replicas() == 2)
    }

    /// Pods the controller does reach stay direct under `auto`: no API server load.
    @Test func reachablePodsStayDirectUnderAuto() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }

        await eventually("scale-up to 4") { try await cluster.replicas() == 4 }
        await eventually("the direct route in /metrics") { try await controller.metric(Self.directMode) == 1 }
        #expect(try await controller.metric(Self.mode) == nil)
        #expect(!(try cluster.kubectl("describe", "pa", "llama").contains("pod proxy")))
    }
}
