import Foundation
import KubeAPI
import KubeClient
import Testing
import TestSupport
import YAML

/// The controller's own `/metrics`, scraped by a real Prometheus (the Debian package) that also loads the
/// chart's rules (`charts/heteroscale/files/prometheus-rules.yaml`): every metric name the docs and the rules
/// mention exists, the new gauges say what happened (an unreachable target, an unplaceable group), the
/// recording rules evaluate, and the alerts whose conditions hold are pending.
@Suite struct PrometheusScrapeTests {
    static let root = repositoryRoot
    static let rulesFile = "\(root)/charts/heteroscale/files/prometheus-rules.yaml"
    /// Where names are mentioned: the metrics and controller docs, the chart README, the rules.
    static let namedIn = ["docs/metrics.md", "docs/controller.md", "charts/heteroscale/README.md", "charts/heteroscale/files/prometheus-rules.yaml"]

    /// Metric names of the controller's families (`heteroscale_…`, `controller_runtime_…`, `workqueue_…`,
    /// `leader_election_…`) written in `text`, not counting recording rules' names (`level:metric:operations`).
    static func metricNames(in text: String) throws -> Set<String> {
        let pattern = #"(?<![\w:/.-])(heteroscale_[a-z0-9_]*[a-z0-9]|controller_runtime_[a-z_]*[a-z]|workqueue_[a-z_]*[a-z]|leader_election_[a-z_]*[a-z])(?![\w:])"#
        let regex = try NSRegularExpression(pattern: pattern)
        let ns = text as NSString
        return Set(regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) })
    }

    @Test func namesAreFoundInDocsButNotInRecordedNames() throws {
        #expect(try Self.metricNames(in: "`heteroscale_scale_total{direction}` and namespace_name:heteroscale_scrape_errors:rate5m, heteroscale-controller")
            == ["heteroscale_scale_total"])
    }

    @Test(.enabled(if: !RealPrometheus.skipRequested, "HETEROSCALE_SKIP_PROMETHEUS=1"))
    func aRealPrometheusScrapesTheControllerAndEveryDocumentedNameExists() async throws {
        _ = try RealPrometheus.executable()
        var documented: Set<String> = []
        for file in Self.namedIn { documented.formUnion(try Self.metricNames(in: String(contentsOfFile: "\(Self.root)/\(file)", encoding: .utf8))) }
        // The names this change documents must be among them (the docs were not left behind).
        #expect(documented.isSuperset(of: ["heteroscale_scale_target_reachable", "heteroscale_group_condition", "heteroscale_scrape_errors_total"]))

        let pd = try await PDCluster.start()
        let cluster = pd.cluster
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await pd.stop() } }
        try await engines.set(40)  // 4× the target per pod: KPA scales up (and panics)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(ClusterFixture.autoscaler("kpa", strategy: "KPA", port: engines.port, max: 4))
        // Scrapes that fail: nothing listens on port 1.
        try cluster.apply(ClusterFixture.deployment("other", replicas: 1))
        try cluster.apply(ClusterFixture.autoscaler("broken", strategy: "HPA", port: 1, deployment: "other"))
        // A target that does not exist.
        try cluster.apply(ClusterFixture.autoscaler("orphan", strategy: "HPA", port: engines.port, deployment: "ghost"))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }
        // A group that fits, then (once placed, so it keeps its GPUs) one that cannot: 60 instances of 4 GPUs.
        try cluster.apply(PDCluster.group("pd", replicas: 3))
        await eventually("group pd placed") {
            let conditions = try await cluster.client.get(.deploymentGroups, namespace: "default", name: "pd")["status"]?["conditions"]?.arrayValue ?? []
            return conditions.contains { $0["type"]?.stringValue == "Placed" && $0["status"]?.stringValue == "True" }
        }
        try cluster.apply(PDCluster.group("huge", replicas: 60))
        let job = RealPrometheus.Job(name: "heteroscale", targets: [(target: "127.0.0.1:\(controller.metricsPort)", labels: [:])])
        let prometheus = try await RealPrometheus(jobs: [job], ruleFiles: [Self.rulesFile])
        defer { prometheus.stop() }

        // Every documented name is in Prometheus (a histogram as its _bucket series).
        let families = #"{__name__=~"heteroscale_.*|controller_runtime_.*|workqueue_.*|leader_election_.*"}"#
        func missing(_ present: Set<String>) -> [String] {
            documented.filter { !present.contains($0) && !present.contains($0 + "_bucket") }.sorted()
        }
        do {
            try await prometheus.waitFor("count by (__name__) (\(families))", seconds: 60) { samples in
                missing(Set(samples.compactMap { $0.labels["__name__"] })).isEmpty
            }
        } catch {
            let present = Set(try await prometheus.query("count by (__name__) (\(families))").compactMap { $0.labels["__name__"] })
            Issue.record("missing in Prometheus: \(missing(present)); present: \(present.sorted())")
        }
        // The label values endpoint agrees.
        let names = Set(try await prometheus.api("label/__name__/values").arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(missing(names).isEmpty, "\(missing(names))")

        // The new gauges say what happened.
        func value(_ q: String) async throws -> Double? { try await prometheus.query(q).first?.value }
        try await prometheus.waitFor(#"heteroscale_scale_target_reachable{name="orphan"} == 0"#) { !$0.isEmpty }
        try await prometheus.waitFor(#"heteroscale_scale_target_reachable{name="kpa"} == 1"#) { !$0.isEmpty }
        try await prometheus.waitFor(#"heteroscale_group_condition{name="huge",condition="Placed"} == 0"#) { !$0.isEmpty }
        try await prometheus.waitFor(#"heteroscale_group_condition{name="pd",condition="Placed"} == 1"#) { !$0.isEmpty }
        try await prometheus.waitFor(#"heteroscale_scale_total{name="kpa",direction="up"} >= 1"#) { !$0.isEmpty }
        // The recording rules evaluate on the real series.
        try await prometheus.waitFor(#"namespace_name:heteroscale_scrape_errors:rate5m{namespace="default",name="broken"} > 0"#) { !$0.isEmpty }
        try await prometheus.waitFor(#"namespace_name:heteroscale_replicas_gap{name="kpa"}"#) { !$0.isEmpty }
        // The alerts whose conditions hold are pending (their `for` has not passed), and only for those objects.
        let pending = try await prometheus.waitFor(#"ALERTS{alertstate="pending"}"#) { samples in
            let fired = Set(samples.map { "\($0.labels["alertname"] ?? "") \($0.labels["name"] ?? "")" })
            return fired.isSuperset(of: ["HeteroScaleScaleTargetUnreachable orphan", "HeteroScaleGroupUnschedulable huge",
                                         "HeteroScaleScrapesFailing broken"])
        }
        let fired = Set(pending.map { "\($0.labels["alertname"] ?? "") \($0.labels["name"] ?? "")" })
        #expect(!fired.contains("HeteroScaleScaleTargetUnreachable kpa") && !fired.contains("HeteroScaleGroupUnschedulable pd"), "\(fired)")
        #expect(try await value(#"heteroscale_group_condition{name="pd",condition="RatioBalanced"}"#) != nil)
    }
}
