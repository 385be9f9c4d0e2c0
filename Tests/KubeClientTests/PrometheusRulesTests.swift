import Foundation
import Testing
import TestSupport
import YAML

/// The chart's alerting and recording rules (`charts/heteroscale/files/prometheus-rules.yaml`): valid for the
/// real `promtool` (the Debian `prometheus` package, `make deps` installs it), their unit tests
/// (`charts/heteroscale/tests/prometheus-rules.test.yaml`: every alert firing and not firing, every recording
/// rule's value) pass, and the chart's PrometheusRule carries exactly that file. Without promtool these tests
/// fail saying how to install it, unless HETEROSCALE_SKIP_PROMETHEUS=1.
@Suite struct PrometheusRulesTests {
    static let chart = "\(HelmChartTests.root)/charts/heteroscale"
    static let rules = "\(chart)/files/prometheus-rules.yaml"
    static let unitTests = "\(chart)/tests/prometheus-rules.test.yaml"

    @Test(.enabled(if: !RealPrometheus.skipRequested, "HETEROSCALE_SKIP_PROMETHEUS=1"))
    func promtoolChecksTheRules() throws {
        let out = try runCommand(try RealPrometheus.executable("promtool"), ["check", "rules", Self.rules])
        #expect(out.contains("SUCCESS: 9 rules found"), "\(out)")
    }

    @Test(.enabled(if: !RealPrometheus.skipRequested, "HETEROSCALE_SKIP_PROMETHEUS=1"))
    func promtoolUnitTestsPass() throws {
        let out = try runCommand(try RealPrometheus.executable("promtool"), ["test", "rules", Self.unitTests])
        #expect(out.contains("SUCCESS"), "\(out)")
    }

    /// Every alert has a firing and a not-firing case in the unit tests (an alert added without tests fails).
    @Test func everyAlertIsUnitTestedFiringAndNot() throws {
        let rules = try YAML.load(String(contentsOfFile: Self.rules, encoding: .utf8))
        let alerts = (rules["groups"]?.arrayValue ?? []).flatMap { $0["rules"]?.arrayValue ?? [] }.compactMap { $0["alert"]?.stringValue }
        #expect(alerts.count == 5)
        let tests = try YAML.load(String(contentsOfFile: Self.unitTests, encoding: .utf8))
        let cases = (tests["tests"]?.arrayValue ?? []).flatMap { $0["alert_rule_test"]?.arrayValue ?? [] }
        for alert in alerts {
            let mine = cases.filter { $0["alertname"]?.stringValue == alert }
            #expect(mine.contains { ($0["exp_alerts"]?.arrayValue ?? []).isEmpty }, "\(alert) has no not-firing case")
            #expect(mine.contains { !($0["exp_alerts"]?.arrayValue ?? []).isEmpty }, "\(alert) has no firing case")
        }
    }

    /// `prometheusRule.enabled=true` renders a PrometheusRule whose spec is the rules file, which promtool accepts
    /// as rendered; off by default.
    @Test(.enabled(if: HelmChartTests.helm != nil && !RealPrometheus.skipRequested))
    func theChartsPrometheusRuleIsTheRulesFile() throws {
        #expect(try HelmChartTests.render([]).allSatisfy { $0["kind"]?.stringValue != "PrometheusRule" })
        let objects = try HelmChartTests.render(["prometheusRule.enabled=true", "prometheusRule.labels.release=kps"])
        let rule = try #require(objects.first { $0["kind"]?.stringValue == "PrometheusRule" })
        #expect(rule["apiVersion"]?.stringValue == "monitoring.coreos.com/v1")
        #expect(rule["metadata"]?["namespace"]?.stringValue == "ops")
        #expect(rule["metadata"]?["labels"]?["release"]?.stringValue == "kps")
        let file = try YAML.load(String(contentsOfFile: Self.rules, encoding: .utf8))
        #expect(rule["spec"] == file)
        let dir = try TestDirectory("heteroscale-rules")
        defer { dir.cleanup() }
        try dir.write("rendered.json", try #require(rule["spec"]).jsonString())
        let out = try runCommand(try RealPrometheus.executable("promtool"), ["check", "rules", dir.path("rendered.json")])
        #expect(out.contains("SUCCESS: 9 rules found"), "\(out)")
    }
}
