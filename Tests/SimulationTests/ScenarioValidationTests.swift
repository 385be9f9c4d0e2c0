import Foundation
import Testing
import TestSupport
import YAML

@testable import Simulation

/// Issue 10 §3: scenarios, the manifests and profiles they name, and their files are read strictly; errors
/// name the file, the line or key, and what to do.
@Suite struct ScenarioValidationTests {
    static let base = Paths.repo("samples/simulation")

    /// A small runnable scenario: one DeploymentGroup (prefill + decode, TP4 on H100) under KPA.
    static func scenario(slo: String = "slo: {ttftMs: 1000, tbtMs: 100}", nodes: Int = 2, minReplicas: Int = 2,
                         policies extra: String = "") -> String {
        """
        profiles: [../profiles/h100.yaml]
        model: llama2-70b
        cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: \(nodes)}]}
        workload: {arrivals: {kind: constant, rate: 1}, sizes: {constant: {prompt: 200, output: 20}}, duration: 30}
        seed: 1
        \(slo)
        policies:
          - name: kpa
            manifests:
              - {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 2, roles: [{name: prefill, gpuType: h100-80gb, gpusPerInstance: 4}, {name: decode, gpuType: h100-80gb, gpusPerInstance: 4}]}}
              - kind: PodAutoscaler
                metadata: {name: svc-kpa}
                spec:
                  scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}
                  minReplicas: \(minReplicas)
                  maxReplicas: 8
                  scalingStrategy: KPA
                  metricsSources: [{metricSourceType: pod, targetMetric: num_requests_running, targetValue: "4"}]
        \(extra)
        """
    }

    func run(_ text: String) throws -> [PolicyOutcome] {
        try ScenarioRunner.run(try ScenarioSpec.parse(text), baseDirectory: Self.base)
    }

    /// The case the issue names: `slo.ttftMS` used to be dropped, leaving only the TBT limit, so requests with
    /// any TTFT "met the SLO".
    @Test func aTypoInTheSLOIsAnErrorWithLineAndTheValidKey() throws {
        let text = Self.scenario(slo: "slo: {ttftMS: 1, tbtMs: 100000}")
        // What the lenient reader made of it: no TTFT limit at all (a 1 ms TTFT SLO nobody meets vanished)…
        let lenient = try YAML.decode(ScenarioSpec.self, from: text)
        #expect(lenient.slo?.ttftMs == nil)
        let outcome = try #require(try ScenarioRunner.run(lenient, baseDirectory: Self.base).first)
        #expect(outcome.requestSLOAttainment == 1)
        // …and what the scenario reader says now.
        #expect {
            _ = try ScenarioSpec.parse(text)
        } throws: { error in
            "\(error)" == #"line 6, column 7: slo: unknown field "ttftMS", did you mean "ttftMs"?"#
        }
    }

    @Test func loadNamesTheScenarioFile() throws {
        let dir = try TestDirectory("scenario")
        defer { dir.cleanup() }
        try dir.write("s.yaml", Self.scenario().replacingOccurrences(of: "seed: 1", with: "seeed: 1"))
        #expect {
            _ = try ScenarioSpec.load(path: dir.path("s.yaml"))
        } throws: { error in
            "\(error)" == dir.path("s.yaml") + #": line 5, column 1: unknown field "seeed", did you mean "seed"?"#
        }
        #expect {
            _ = try ScenarioSpec.load(path: dir.path("missing.yaml"))
        } throws: { error in
            "\(error)" == dir.path("missing.yaml") + ": cannot read the scenario file (no such file)"
        }
    }

    @Test func duplicatePolicyNamesAreAnError() throws {
        let text = Self.scenario(policies: "  - name: kpa\n    fixed: {promptInstances: 1, tokenInstances: 1, hardware: h100-80gb, tensorParallel: 4}")
        #expect {
            _ = try ScenarioSpec.parse(text)
        } throws: { error in
            let e = error as? YAMLError
            return e?.path == "policies[1].name" && e?.mark?.line == 19
                && e?.message == #"duplicate policy name "kpa" (also policies[0]); give every policy its own name"#
        }
    }

    @Test(arguments: [
        ("", "slo: missing; SLO attainment needs targets: add e.g. `slo: {ttftMs: 2000, tbtMs: 80}`"),
        ("slo: {}", "slo: give ttftMs, tbtMs or both (milliseconds)"),
        ("slo: {percentile: 90}", "slo: give ttftMs, tbtMs or both (milliseconds)"),
        ("slo: {ttftMs: 1000, percentile: 99}", "slo.percentile: only 90 is evaluated (P90 per interval), got 99; remove it or set 90"),
        ("slo: {ttftMs: -5}", "slo.ttftMs: must be a positive number of milliseconds, got -5"),
    ])
    func theSLOIsRequired(slo: String, message: String) throws {
        #expect {
            _ = try run(Self.scenario(slo: slo))
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test func theSLOIsPrintedWithTheSummary() throws {
        let outcomes = try run(Self.scenario())
        #expect(ScenarioRunner.sloLine(outcomes) == "SLO: TTFT ≤ 1000 ms, mean TBT ≤ 100 ms per request (intervals: their P90s)\n")
    }

    /// One H100 node (8 GPUs) holds two TP4 instances; a group minimum of 4 (2 prefill + 2 decode) needs four.
    @Test func aClusterThatCannotPlaceTheMinimumIsAnErrorNamingPoolAndShortfall() throws {
        #expect {
            _ = try run(Self.scenario(nodes: 1, minReplicas: 4))
        } throws: { error in
            // The placement engine's own reason, per role short (whole P/D units: two TP4 instances fill the node).
            "\(error)".hasPrefix("policy kpa: the cluster cannot place the minimum of DeploymentGroup svc: pool svc/")
                && "\(error)".contains("(PodAutoscaler svc-kpa minReplicas 4, split by the group's weights), 1 short: ")
                && "\(error)".contains("the cluster has 0 free h100-80gb GPUs")
                && "\(error)".hasSuffix("Add nodes to cluster.nodePools (or cluster.nodes) or lower the minimum")
        }
        // The same cluster runs the minimum of 2 (one instance per role).
        let outcome = try #require(try run(Self.scenario(nodes: 1, minReplicas: 2)).first)
        #expect(outcome.result.completed == outcome.result.arrived && outcome.result.arrived > 10)
    }

    @Test func aPoolOnAGPUTypeTheClusterLacksIsNamed() throws {
        let text = Self.scenario().replacingOccurrences(of: "{name: decode, gpuType: h100-80gb", with: "{name: decode, gpuType: h20")
        #expect {
            _ = try run(text)
        } throws: { error in
            "\(error)".contains("pool svc/decode: 1 instance(s) of 4 × h20 GPUs")
                && "\(error)".contains("the cluster has no nodes of gpuType h20")
        }
    }

    @Test(arguments: [
        ("profiles: [../profiles/h100.yaml]", "profiles: [../profiles/h100.yml]", "profiles[0]: ../profiles/h100.yml not found at "),
        ("sizes: {constant: {prompt: 200, output: 20}}", "sizes: {fromTrace: traces/conv.csv}", "workload.sizes.fromTrace: traces/conv.csv not found at "),
        ("  - name: kpa\n    manifests:\n", "  - name: kpa\n    manifests:\n      - pd.yaml\n", "policies[0].manifests[0]: pd.yaml not found at "),
    ])
    func unresolvablePathsNameTheKeyAndTheFolder(from: String, to: String, message: String) throws {
        let text = Self.scenario().replacingOccurrences(of: from, with: to)
        #expect(text != Self.scenario())
        #expect {
            _ = try run(text)
        } throws: { error in
            "\(error)".hasPrefix(message)
                && "\(error)".hasSuffix("(paths in a scenario are relative to its folder, \(Self.base)); fix the path")
        }
    }

    @Test func manifestTyposNameTheirLineInlineOrInTheirFile() throws {
        // Inline: the line in the scenario and the full path.
        let inline = Self.scenario().replacingOccurrences(of: "maxReplicas: 8", with: "maxReplica: 8")
        #expect {
            _ = try run(inline)
        } throws: { error in
            "\(error)" == #"line 16, column 11: policies[0].manifests[1].spec: unknown field "maxReplica", did you mean "maxReplicas"?"#
        }
        // A manifest file: the scenario key, the file, its line.
        let dir = try TestDirectory("scenario")
        defer { dir.cleanup() }
        try dir.write("pd.yaml", """
            kind: DeploymentGroup
            metadata: {name: svc}
            spec: {replicas: 2, roles: [{name: prefill, gpuType: h100-80gb, gpusPerInstance: 4}, {name: decode, gpuType: h100-80gb, gpusPerInstance: 4}]}
            ---
            kind: PodAutoscaler
            metadata: {name: svc-kpa, lables: {a: b}}
            spec: {scaleTargetRef: {kind: DeploymentGroup, name: svc}, maxReplicas: 4, scalingStrategy: KPA}
            """)
        var spec = try ScenarioSpec.parse(Self.scenario())
        spec.profiles = [Paths.repo("samples/profiles/h100.yaml")]
        spec.policies[0].manifests = ["pd.yaml"]
        #expect {
            _ = try ScenarioRunner.run(spec, baseDirectory: dir.url.path)
        } throws: { error in
            "\(error)" == #"policies[0].manifests[0] (pd.yaml, document 2): line 6, column 27: metadata: unknown field "lables", did you mean "labels"?"#
        }
    }

    @Test func anInvalidPodAutoscalerIsRefusedAsTheControllerWould() throws {
        let text = Self.scenario(minReplicas: 9)
        #expect {
            _ = try run(text)
        } throws: { error in
            "\(error)" == "policies[0].manifests[1]: PodAutoscaler svc-kpa is invalid: spec.minReplicas: must not exceed maxReplicas (8), got 9"
        }
    }

    @Test func profileFilesAreReadStrictly() throws {
        let dir = try TestDirectory("scenario")
        defer { dir.cleanup() }
        let h100 = try String(contentsOfFile: Paths.repo("samples/profiles/h100.yaml"), encoding: .utf8)
        try dir.write("p.yaml", h100.replacingOccurrences(of: "referenceContextTokens", with: "referenceContextToken"))
        var spec = try ScenarioSpec.parse(Self.scenario())
        spec.profiles = ["p.yaml"]
        #expect {
            _ = try ScenarioRunner.run(spec, baseDirectory: dir.url.path)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("profiles[0]: \(dir.path("p.yaml")): line ")
                && text.contains(#"decode: unknown field "referenceContextToken", did you mean "referenceContextTokens"?"#)
        }
    }

    // MARK: Intervals without completed requests

    /// Requests arrive for 20 s, then none for 40 s, then again: the quiet intervals measure no latency. They
    /// must read as missing (an empty timeline cell, no signal), not as 0 ms, which would tell a latency
    /// strategy that all is well.
    @Test func intervalsWithoutRequestsHaveNoLatencyAndStrategiesSeeNoData() throws {
        let text = """
            profiles: [../profiles/h100.yaml]
            model: llama2-70b
            cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 4}]}
            workload:
              arrivals: {kind: piecewise, points: [{time: 0, rate: 4}, {time: 20, rate: 4}, {time: 20, rate: 0}, {time: 60, rate: 0}, {time: 60, rate: 4}, {time: 80, rate: 4}]}
              sizes: {constant: {prompt: 200, output: 20}}
              duration: 80
            seed: 3
            scrapeInterval: 5
            slo: {ttftMs: 1000, tbtMs: 100}
            policies:
              - name: latency
                manifests:
                  - {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 4, roles: [{name: prefill, gpuType: h100-80gb, gpusPerInstance: 4}, {name: decode, gpuType: h100-80gb, gpusPerInstance: 4}]}}
                  - {kind: PodAutoscaler, metadata: {name: svc-latency}, spec: {scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}, minReplicas: 2, maxReplicas: 8, scalingStrategy: Latency, tickSeconds: 5, heteroScale: {targetDecodeTPSPerInstance: 300, latency: {tbtSLOMilliseconds: 100}}}}
            """
        let spec = try ScenarioSpec.parse(text)
        let config = try spec.config(policy: spec.policies[0], baseDirectory: Self.base, performance: try spec.performanceModel(baseDirectory: Self.base))
        let simulator = try Simulator(config: config, stream: try spec.workload.makeStream(baseDirectory: Self.base))
        var signalsSeen: [(Double, [String: Double])] = []
        simulator.tickObserver = { signalsSeen.append(($0.time, $0.snapshot.signals)) }
        let r = try simulator.run()
        #expect(r.completed == r.arrived && r.arrived > 100)
        #expect(r.endTime > 80)
        let busy = r.intervalLatency.filter { $0.time <= 20 }
        let quiet = 35.0...55.0
        let idle = r.intervalLatency.filter { quiet.contains($0.time) }
        #expect(!idle.isEmpty)
        #expect(busy.contains { $0.ttftP90ms.map { $0 > 0 } == true && $0.tbtP90ms.map { $0 > 0 } == true })
        #expect(idle.allSatisfy { $0.ttftP90ms == nil && $0.tbtP90ms == nil })
        // timeline.csv: empty cells, not 0.
        var outcome = PolicyOutcome(policy: "latency", result: r, sloTTFTms: 1000, sloTBTms: 100)
        outcome.requestsStreamed = true
        let rows = ScenarioRunner.timelineCSV(outcome).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = rows[0].map(String.init)
        let ttft = try #require(header.firstIndex(of: "ttft_p90_ms")), tbt = try #require(header.firstIndex(of: "tbt_p90_ms"))
        let idleRows = rows.dropFirst().filter { quiet.contains(Double($0[0]) ?? 0) }
        #expect(!idleRows.isEmpty && idleRows.allSatisfy { $0[ttft].isEmpty && $0[tbt].isEmpty })
        // The signals a strategy gets: no latency keys once the window holds no measurement.
        let idleSignals = signalsSeen.filter { quiet.contains($0.0) }.map(\.1)
        #expect(!idleSignals.isEmpty && idleSignals.allSatisfy { $0["tbt_p90_ms"] == nil && $0["ttft_p90_ms"] == nil })
        #expect(signalsSeen.contains { $0.0 <= 20 && $0.1["tbt_p90_ms"] != nil })
        // So the Latency baseline holds ("unavailable") instead of scaling in on a fictitious 0 ms.
        let idleDecisions = r.scaling.filter { quiet.contains($0.time) }
        #expect(!idleDecisions.isEmpty && idleDecisions.allSatisfy { !$0.active && $0.reason.contains("unavailable") && $0.to == $0.from })
        // Interval SLO attainment counts the measured intervals only.
        #expect(outcome.intervalSLOAttainment > 0)
    }

    /// tools/plot_results.py draws an empty cell as a gap (NaN), not as 0.
    @Test func thePlotsShowGapsForIntervalsWithoutLatency() throws {
        let script = """
            import sys, math
            sys.dont_write_bytecode = True
            sys.path.insert(0, sys.argv[1])
            import plot_results
            times, ttft, tbt = plot_results.latency_series([
                {"time": "5", "ttft_p90_ms": "120", "tbt_p90_ms": "30"},
                {"time": "10", "ttft_p90_ms": "", "tbt_p90_ms": ""},
                {"time": "15", "ttft_p90_ms": "90", "tbt_p90_ms": ""}])
            print(times, [("gap" if math.isnan(v) else v) for v in ttft], [("gap" if math.isnan(v) else v) for v in tbt])
            """
        let out = try runCommand(which("python3") ?? "/usr/bin/python3", ["-c", script, Paths.repo("tools")])
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "[5.0, 10.0, 15.0] [120.0, 'gap', 90.0] [30.0, 'gap', 'gap']")
    }
}

/// The shipped scenarios pass every check (they are what `make demo` and users run).
@Suite struct SampleScenarioTests {
    @Test(arguments: [
        "pd-code-steady.yaml", "pd-conv-diurnal.yaml", "pd-hetero-cost.yaml", "pd-topology.yaml", "splitwise-fixed.yaml",
        "splitwise-long.yaml", "sandbox.yaml",
    ])
    func everySampleScenarioPassesTheChecks(name: String) throws {
        let path = Paths.repo("samples/simulation/\(name)")
        let spec = try ScenarioSpec.load(path: path)
        let prepared = try ScenarioRunner.prepare(spec, baseDirectory: Paths.repo("samples/simulation"))
        #expect(prepared.count == spec.policies.count)
        #expect(prepared.allSatisfy { !$0.config.pools.isEmpty })
    }
}
