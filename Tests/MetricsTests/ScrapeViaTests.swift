import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import Testing
@testable import Metrics

/// `--scrape-via`: the collector scrapes pods directly, through the API server's pod proxy, or (auto) directly
/// and then through the proxy per PodAutoscaler. The test server answers on 127.0.0.1 … 127.0.0.12 only, so a
/// pod IP of 127.0.0.20 refuses connections; it also stands in for the API server (at 127.0.0.1), serving the
/// pod proxy paths the collector asks for. The emulator's real pod proxy is exercised in ControllerTests.
@Suite struct ScrapeViaTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static let unreachable = ["127.0.0.20", "127.0.0.21"]

    static func pods(_ ips: [String]) -> [MetricsCollector.PodInfo] {
        ips.enumerated().map { MetricsCollector.PodInfo(name: "pod-\($0.offset)", ip: $0.element, ready: true) }
    }

    static func spec(_ port: Int) -> PodAutoscalerSpec {
        CollectorTests.spec([CollectorTests.podSource(port, "num_requests_running")], strategy: "KPA")
    }

    static func proxyPath(_ pod: Int, _ port: Int) -> String { "/api/v1/namespaces/ns/pods/pod-\(pod):\(port)/proxy/metrics" }

    static func collector(_ server: MetricsTestServer, _ transport: HTTPTransport, _ mode: ScrapeVia, warnRate: Double = 100) -> MetricsCollector {
        let api = RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(server.port)", source: "test"), transport: transport)
        return MetricsCollector(transport: transport, configuration: .init(scrapeTimeout: 2, scrapeVia: mode, podProxyWarnRate: warnRate),
                                podProxy: api)
    }

    static func values(_ c: MetricsCollection) -> [Double?] { c.sources[0].pods.map(\.value) }

    /// Pods whose IPs refuse connections: direct fails, apiserver reads them through the proxy, auto falls back
    /// on the first collection, says so once, and keeps the proxy afterwards.
    @Test(arguments: [ScrapeVia.direct, .apiserver, .auto])
    func unreachablePodIPs(mode: ScrapeVia) async throws {
        try await CollectorTests.withServer { server, transport in
            try await server.route(ip: "127.0.0.1", path: Self.proxyPath(0, server.port), body: CollectorTests.gauge(4))
            try await server.route(ip: "127.0.0.1", path: Self.proxyPath(1, server.port), body: CollectorTests.gauge(6))
            let collector = Self.collector(server, transport, mode)
            let pods = Self.pods(Self.unreachable)
            let first = await collector.collect(key: "ns/pa", spec: Self.spec(server.port), namespace: "ns", selector: "app=llm", pods: pods, now: Self.t0)
            let second = await collector.collect(key: "ns/pa", spec: Self.spec(server.port), namespace: "ns", selector: "app=llm", pods: pods,
                                                 now: Self.t0.addingTimeInterval(2))
            switch mode {
            case .direct:
                #expect(Self.values(first) == [nil, nil])
                #expect(first.failures.count == 2 && first.failures.allSatisfy { $0.message.contains("could not connect to http://127.0.0.2") })
                #expect(first.route == .init(route: .direct, reason: "--scrape-via direct"))
            case .apiserver:
                #expect(Self.values(first) == [5, 7] && Self.values(second) == [5, 7])
                #expect(first.failures.isEmpty)
                #expect(first.route == .init(route: .apiserver, reason: "--scrape-via apiserver"))
            case .auto:
                #expect(Self.values(first) == [5, 7] && Self.values(second) == [5, 7])
                #expect(first.failures.isEmpty && second.failures.isEmpty)
                #expect(first.route.route == .apiserver && first.route.decided)
                #expect(first.route.reason?.hasPrefix("--scrape-via auto: pod IPs do not answer from the controller (scrape failed: could not connect to http://127.0.0.2") == true)
                // Remembered: reported, not decided again.
                #expect(second.route.route == .apiserver && !second.route.decided && second.route.reason == first.route.reason)
                #expect(await collector.chosenRoute(key: "ns/pa") == .apiserver)
            }
            let proxied = try await server.stats().requests[Self.proxyKey(0, server.port)] ?? 0
            #expect(proxied == (mode == .direct ? 0 : 2))
        }
    }

    static func proxyKey(_ pod: Int, _ port: Int) -> String { "127.0.0.1" + proxyPath(pod, port) }

    /// A pod that answers directly, even with an error, fixes `direct`: the proxy is never asked.
    @Test(arguments: [200, 500])
    func reachablePodsStayDirect(status: Int) async throws {
        try await CollectorTests.withServer { server, transport in
            try await server.route(ip: "127.0.0.2", body: CollectorTests.gauge(4), status: status)
            try await server.route(ip: "127.0.0.1", path: Self.proxyPath(0, server.port), body: CollectorTests.gauge(9))
            let collector = Self.collector(server, transport, .auto)
            let first = await collector.collect(key: "ns/pa", spec: Self.spec(server.port), namespace: "ns", selector: "app=llm",
                                                pods: Self.pods(["127.0.0.2"]), now: Self.t0)
            #expect(Self.values(first) == [status == 200 ? 5 : nil])
            #expect(first.route == .init(route: .direct, reason: "--scrape-via auto: pod IPs answer from the controller", decided: true))
            #expect(try await server.stats().requests[Self.proxyKey(0, server.port)] == nil)
        }
    }

    /// Neither way reaches a pod (the API server answers 503 `error trying to reach service`): both failures are
    /// reported, nothing is remembered, and a later collection decides once the pod answers.
    @Test func bothWaysFailingDecidesNothing() async throws {
        try await CollectorTests.withServer { server, transport in
            let status = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"error trying to reach service: dial tcp 127.0.0.20:\#(server.port): connect: connection refused","reason":"ServiceUnavailable","code":503}"#
            try await server.route(ip: "127.0.0.1", path: Self.proxyPath(0, server.port), body: status, status: 503, contentType: "application/json")
            let collector = Self.collector(server, transport, .auto)
            let pods = Self.pods(["127.0.0.20"])
            let first = await collector.collect(key: "ns/pa", spec: Self.spec(server.port), namespace: "ns", selector: "app=llm", pods: pods, now: Self.t0)
            #expect(Self.values(first) == [nil])
            #expect(first.route == .init())
            let message = try #require(first.failures.first?.message)
            #expect(message.contains("could not connect to http://127.0.0.20"))
            #expect(message.contains("; through the API server's pod proxy: GET http://127.0.0.1:\(server.port)\(Self.proxyPath(0, server.port)): the API server answered 503 ServiceUnavailable: error trying to reach service: dial tcp 127.0.0.20"))
            #expect(await collector.chosenRoute(key: "ns/pa") == nil)

            // The pod's server comes up behind the proxy: the next collection falls back.
            try await server.route(ip: "127.0.0.1", path: Self.proxyPath(0, server.port), body: CollectorTests.gauge(2))
            let second = await collector.collect(key: "ns/pa", spec: Self.spec(server.port), namespace: "ns", selector: "app=llm", pods: pods,
                                                 now: Self.t0.addingTimeInterval(2))
            #expect(Self.values(second) == [3] && second.route.decided && second.route.route == .apiserver)
            // Forgetting the PodAutoscaler forgets the choice.
            await collector.forget(key: "ns/pa")
            #expect(await collector.chosenRoute(key: "ns/pa") == nil)
        }
    }

    /// Scrapes through the proxy above `podProxyWarnRate` per second carry a warning, once.
    @Test func proxyLoadIsWarnedAboutOnce() async throws {
        try await CollectorTests.withServer { server, transport in
            for pod in 0..<2 { try await server.route(ip: "127.0.0.1", path: Self.proxyPath(pod, server.port), body: CollectorTests.gauge(1)) }
            // 2 pods every 2 s = 1 request/s, over a threshold of 0.5/s.
            let collector = Self.collector(server, transport, .apiserver, warnRate: 0.5)
            var warnings: [String] = []
            for step in 0..<4 {
                let c = await collector.collect(key: "ns/pa", spec: Self.spec(server.port), namespace: "ns", selector: "app=llm",
                                                pods: Self.pods(Self.unreachable), now: Self.t0.addingTimeInterval(Double(step) * 2))
                if let w = c.route.loadWarning { warnings.append(w) }
            }
            #expect(warnings.count == 1)
            #expect(warnings.first?.hasPrefix("about 1 pod scrapes per second go through the API server's pod proxy (1 PodAutoscalers), above 0.5/s") == true)
        }
    }

    /// Without an API client the collector scrapes directly whatever the mode says.
    @Test func noAPIClientMeansDirect() {
        let collector = MetricsCollector(transport: HTTPTransport(), configuration: .init(scrapeVia: .apiserver))
        #expect(collector.scrapeVia == .direct)
    }

    /// The default: direct in a cluster (in-cluster config, or running in a pod), auto elsewhere.
    @Test(arguments: [
        (KubeconfigLoader.inClusterSource, [String: String](), ScrapeVia.direct),
        ("/home/me/.kube/config", ["KUBERNETES_SERVICE_HOST": "10.96.0.1"], .direct),
        ("/home/me/.kube/config", [:], .auto),
        ("/home/me/.kube/config", ["KUBERNETES_SERVICE_HOST": ""], .auto),
    ])
    func theDefaultModeFollowsWhereTheControllerRuns(source: String, environment: [String: String], mode: ScrapeVia) {
        let (chosen, why) = ScrapeVia.defaultMode(for: RESTConfig(server: "https://10.0.0.1:6443", source: source), environment: environment)
        #expect(chosen == mode)
        #expect(why.hasPrefix(mode == .auto ? "out-of-cluster configuration (\(source))" : mode == .direct && environment.isEmpty ? "in-cluster" : "running in a pod"))
    }
}
