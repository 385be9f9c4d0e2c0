import Foundation
import Testing
import KubeAPI
import YAML
@testable import Autoscaling

@Suite struct ReplayTests {
    static func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func pa(_ strategy: String, metric: String, target: String, min: Int = 1, max: Int = 20, extra: String = "") throws -> PodAutoscalerSpec {
        let yaml = """
            apiVersion: heteroscale.io/v1alpha1
            kind: PodAutoscaler
            metadata: {name: replay}
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
              minReplicas: \(min)
              maxReplicas: \(max)
              scalingStrategy: \(strategy)
              metricsSources:
                - {metricSourceType: pod, targetMetric: \(metric), targetValue: "\(target)"}
            \(extra)
            """
        return try YAML.decode(PodAutoscaler.self, from: yaml).spec
    }

    @Test func kpaBurstFollowsTheDecisions() throws {
        let spec = try Self.pa("KPA", metric: "concurrency", target: "10")
        let steps = Replay.run(spec: spec, observations: try Replay.parse(Self.fixture("kpa_burst.csv")))
        #expect(steps.count == 101)
        #expect(steps[0].current == 1)
        #expect(steps[0].desired == 1)
        #expect(steps[0].panic == false)
        // The burst at t = 12: stable (11·10 + 2·100)/13 → 3, panic (4·10 + 2·100)/6 = 40 → 4 ≥ 2·1 ready: panic.
        let burst = try #require(steps.first { $0.time == 12 })
        #expect(burst.desired == 4)
        #expect(burst.panic == true)
        // Replicas follow the decisions.
        for (a, b) in zip(steps, steps.dropFirst()) { #expect(b.current == a.desired) }
        // Never a scale-down while panicking.
        for (a, b) in zip(steps, steps.dropFirst()) where a.panic == true && b.panic == true {
            #expect(b.desired >= a.desired)
        }
        // Panic ends a stable window after the burst stops; load 10 needs one replica again.
        #expect(steps.last?.panic == false)
        #expect(steps.last?.desired == 1)
        #expect(steps.allSatisfy { (1...20).contains($0.desired) })
    }

    @Test func hpaWithRecordedReadyAndPerPodSamples() throws {
        let spec = try Self.pa("HPA", metric: "qps", target: "10")
        let steps = Replay.run(spec: spec, observations: try Replay.parse(Self.fixture("hpa_pods.csv")))
        #expect(steps.map(\.current) == [2, 3, 3, 3])
        // 20, 20 and a missing pod on a scale-up: the missing one counts as 0 → 40/3 per pod → 4.
        #expect(steps[0].desired == 4)
        // 30 × 3 → 9, limited by max(2·3, 4) = 6.
        #expect(steps[1].desired == 6)
        #expect(steps[1].decision.limit == .scaleUpLimit)
        // A scale-down to 2 is held by the 5-minute stabilisation (9 was recommended at t = 15) → 6.
        #expect(steps[2].desired == 6)
        #expect(steps[2].decision.ableToScale.reason == .scaleDownStabilized)
        #expect(steps[3].desired == 2)
        #expect(steps.allSatisfy { $0.panic == nil })
    }

    @Test func apaMissingSamplesAreNotZero() throws {
        let spec = try Self.pa("APA", metric: "kv", target: "30", min: 2, max: 10)
        let steps = Replay.run(spec: spec, observations: try Replay.parse(Self.fixture("apa_missing.csv")))
        #expect(steps.map(\.current) == [3, 3, 3, 3])
        // 45 / 30 = 1.5 → ceil(4.5) = 5. t = 1: one pod reported 45 → still 45 (a 0 for the others would give
        // 15 and a scale-down); t = 2: nobody reported → the window keeps 45; t = 3: 60 holds over the gap,
        // (45 + 45 + 60 + 60) / 4 = 52.5 → ceil(3 · 1.75) = 6.
        #expect(steps.map(\.desired) == [5, 5, 5, 6])
        #expect(steps[1].decision.details.stableValue == 45)
        #expect(steps[2].decision.details.stableValue == 45)
        #expect(steps[3].decision.details.stableValue == 52.5)
    }

    @Test func heteroScaleReplayWithRolesFromADeploymentGroup() throws {
        let yaml = """
            spec:
              scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: llama}
              minReplicas: 2
              maxReplicas: 64
              scalingStrategy: HeteroScale
              heteroScale: {targetDecodeTPSPerInstance: 1000}
            """
        let spec = try YAML.decode(PodAutoscaler.self, from: yaml).spec
        let group = DeploymentGroup(metadata: ObjectMeta(name: "llama"), spec: DeploymentGroupSpec(replicas: 4, roles: [
            DeploymentGroupRole(name: "prefill", weight: 1), DeploymentGroupRole(name: "decode", weight: 3),
        ]))
        let steps = Replay.run(spec: spec, observations: try Replay.parse(Self.fixture("heteroscale_pd.csv")), roles: Replay.roles(of: group))
        #expect(steps.first?.current == 4)
        for s in steps {
            let roles = try #require(s.decision.roleReplicas)
            #expect(roles.reduce(0) { $0 + $1.replicas } == s.desired)
            let prefill = try #require(s.decision.replicas(ofRole: "prefill"))
            #expect(abs(Double(prefill) - Double(s.desired) / 4) <= 1)
        }
        // 8000 TPS at 1000 per instance: 8 instances (2 prefill, 6 decode) at t = 60.
        #expect(steps[1].desired == 8)
        #expect(steps[1].decision.replicas(ofRole: "decode") == 6)
        // Replicas follow the decisions, also per role.
        for (a, b) in zip(steps, steps.dropFirst()) { #expect(b.current == a.desired) }
        #expect(steps.contains { $0.desired == 16 })
        #expect(steps.last!.desired < 16)
        let json = Replay.render(steps, format: .json)
        #expect(json.contains("\"roles\":{\"prefill\":"))
    }

    @Test func csvOutputHasExactlyTheDocumentedHeader() throws {
        let spec = try Self.pa("KPA", metric: "concurrency", target: "10")
        let steps = Replay.run(spec: spec, observations: try Replay.parse("time,concurrency\n0,10\n2,100\n"))
        let csv = Replay.render(steps, format: .csv)
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "time,current,desired,reason,panic")
        #expect(lines.count == 3)
        #expect(lines[1].hasPrefix("0,1,1,"))
        #expect(lines[1].hasSuffix(",false"))
        #expect(lines[2].hasSuffix(",true"))
    }

    @Test func jsonAndTableOutputs() throws {
        let spec = try Self.pa("APA", metric: "kv", target: "30", min: 2, max: 10)
        let steps = Replay.run(spec: spec, observations: try Replay.parse(Self.fixture("apa_missing.csv")))
        let json = Replay.render(steps, format: .json)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 4)
        #expect(parsed?.first?["desired"] as? Int == 5)
        #expect(parsed?.first?["panic"] is NSNull)
        let table = Replay.render(steps, format: .table)
        #expect(table.hasPrefix("TIME"))
        #expect(table.split(separator: "\n").count == 5)
    }

    @Test func reasonsWithCommasAreQuoted() {
        #expect(Replay.csvField("a, b") == "\"a, b\"")
        #expect(Replay.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(Replay.csvField("plain") == "plain")
    }

    struct BadCSV: CustomTestStringConvertible, Sendable {
        var text: String
        var line: Int
        var fragment: String
        var testDescription: String { fragment }
    }

    @Test(arguments: [
        BadCSV(text: "", line: 1, fragment: "empty"),
        BadCSV(text: "ready,m\n1,2\n", line: 1, fragment: "no time column"),
        BadCSV(text: "time,m,m\n", line: 1, fragment: "duplicate column m"),
        BadCSV(text: "time,pod:a\n", line: 1, fragment: "pod:<name>:<metric>"),
        BadCSV(text: "time,m\n0,1\n1\n", line: 3, fragment: "expected 2 fields"),
        BadCSV(text: "time,m\n0,x\n", line: 2, fragment: "not a number"),
        BadCSV(text: "time,m\n5,1\n# note\n3,1\n", line: 4, fragment: "goes backwards"),
        BadCSV(text: "time,ready\n0,1.5\n", line: 2, fragment: "whole number"),
        BadCSV(text: "time,m\n,1\n", line: 2, fragment: "time is empty"),
        BadCSV(text: "time,m\n0,\"1\n", line: 2, fragment: "unterminated"),
    ])
    func parseErrorsNameTheLine(_ c: BadCSV) {
        #expect {
            _ = try Replay.parse(c.text)
        } throws: { error in
            guard let e = error as? Replay.ParseError else { return false }
            return e.line == c.line && e.message.contains(c.fragment)
        }
    }

    @Test func parsesQuotesCommentsBlankLinesAndCRLF() throws {
        let obs = try Replay.parse("\u{FEFF}time,\"m\",ready_decode\r\n# comment\r\n\r\n0,\"1.5\",3\r\n2,,4\r\n")
        #expect(obs.count == 2)
        #expect(obs[0].totals["m"] == 1.5)
        #expect(obs[0].roleReady["decode"] == 3)
        #expect(obs[1].totals["m"] == nil)
        #expect(obs[1].line == 5)
    }

    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0.0), ("2025-01-06T09:00:00Z", 1_736_154_000), ("2025-01-06T10:00:00+01:00", 1_736_154_000),
        ("2024-02-29T23:59:59.5z", 1_709_251_199.5),
    ])
    func rfc3339(_ text: String, _ seconds: Double) {
        #expect(RFC3339.parse(text) == Date(timeIntervalSince1970: seconds))
    }

    @Test(arguments: ["2025-13-01T00:00:00Z", "2025-01-01 00:00", "2025-01-01T00:00:00", "yesterday"])
    func invalidRFC3339(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func rolesFromADeploymentGroup() {
        let dg = DeploymentGroup(metadata: ObjectMeta(name: "g"), spec: DeploymentGroupSpec(replicas: 8, roles: [
            DeploymentGroupRole(name: "prefill", weight: 1), DeploymentGroupRole(name: "decode", weight: 3),
        ]))
        let roles = Replay.roles(of: dg)
        #expect(roles.map(\.current) == [2, 6])
        #expect(roles.map(\.weight) == [1, 3])
    }
}

/// Issue 10 §3: a CSV that lacks what the autoscaler reads used to give "no data to scale on yet" on every row
/// and exit 0; negative values of the metrics it reads were taken as load.
@Suite struct ReplayInputCheckTests {
    static func spec(_ yaml: String) throws -> PodAutoscalerSpec {
        try YAML.decode(PodAutoscaler.self, from: yaml, strict: true).spec
    }

    static let kpa = try! ReplayTests.pa("KPA", metric: "concurrency", target: "10")

    @Test(arguments: [
        ("HPA", "spec:\n  scaleTargetRef: {kind: Deployment, name: m}\n  maxReplicas: 4\n  scalingStrategy: HPA\n  metricsSources: [{metricSourceType: pod, targetMetric: qps, targetValue: \"5\"}, {metricSourceType: pod, targetMetric: kv, targetValue: \"50\"}]",
         ["qps", "kv"]),
        ("HeteroScale", "spec:\n  scaleTargetRef: {kind: DeploymentGroup, name: g}\n  maxReplicas: 4\n  scalingStrategy: HeteroScale\n  heteroScale: {targetDecodeTPSPerInstance: 500, latency: {tbtSLOMilliseconds: 50}}",
         ["decode_tps", "tbt_p90_ms"]),
        ("Latency", "spec:\n  scaleTargetRef: {kind: DeploymentGroup, name: g}\n  maxReplicas: 4\n  scalingStrategy: Latency\n  heteroScale: {targetDecodeTPSPerInstance: 500, latency: {tbtSLOMilliseconds: 50}}",
         ["tbt_p90_ms"]),
        ("SLA", "spec:\n  scaleTargetRef: {kind: DeploymentGroup, name: g}\n  maxReplicas: 4\n  scalingStrategy: SLA", ["num_requests", "avg_isl", "avg_osl"]),
        ("Periodic", "spec:\n  scaleTargetRef: {kind: Deployment, name: m}\n  maxReplicas: 4\n  scalingStrategy: Periodic", []),
    ])
    func theColumnsEachStrategyReads(strategy: String, yaml: String, metrics: [String]) throws {
        #expect(Replay.requirements(of: try Self.spec(yaml)).map(\.metric) == metrics)
    }

    @Test func aMissingColumnNamesItAndTheColumnsFound() throws {
        // What happened before: every row held for lack of data.
        let lenient = Replay.run(spec: Self.kpa, observations: try Replay.parse("time,ready,qps\n0,1,30\n2,1,30\n"))
        #expect(lenient.allSatisfy { $0.decision.reason.contains("no data to scale on yet") })
        #expect {
            _ = try Replay.parse("time,ready,qps\n0,1,30\n2,1,30\n", for: Self.kpa)
        } throws: { error in
            let e = error as? Replay.ParseError
            return e?.line == 1 && e?.message == "no column for concurrency, which metricsSources[0] (KPA) reads: add a total column "
                + "concurrency or per-pod columns pod:<name>:concurrency; columns found: time, ready, qps"
        }
        // A total or per-pod columns both satisfy it.
        #expect(try Replay.parse("time,concurrency\n0,30\n", for: Self.kpa).count == 1)
        #expect(try Replay.parse("time,pod:a:concurrency,pod:b:concurrency\n0,30,\n", for: Self.kpa).count == 1)
    }

    @Test(arguments: [
        ("time,concurrency\n0,30\n\n2,-0.5\n", 4, "column concurrency: -0.5 is negative"),
        ("time,pod:a:concurrency,pod:b:concurrency\n0,30,30\n2,30,-2\n", 3, "column pod:b:concurrency: -2 is negative"),
    ])
    func negativeValuesOfReadMetricsNameTheRow(csv: String, line: Int, fragment: String) {
        #expect {
            _ = try Replay.parse(csv, for: Self.kpa)
        } throws: { error in
            let e = error as? Replay.ParseError
            return e?.line == line && e?.message.hasPrefix(fragment) == true && e?.message.hasSuffix("fix the row") == true
        }
    }

    @Test func negativeValuesOfColumnsTheAutoscalerDoesNotReadAreLeftAlone() throws {
        #expect(try Replay.parse("time,concurrency,temperature_delta\n0,30,-3\n", for: Self.kpa).first?.totals["temperature_delta"] == -3)
    }
}
