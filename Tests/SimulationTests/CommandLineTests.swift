import Foundation
import Testing
import TestSupport

/// `heteroscale simulate` and `heteroscale replay` as a user runs them (the built executable): a bad input is
/// one line on standard error naming the file, what is wrong and what to do, and exit status 1 — not the
/// usage text and 64.
@Suite struct CommandLineTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `heteroscale` executable built beside the test bundle.
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("heteroscale").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return Paths.repo(".build/debug/heteroscale")
    }

    /// Runs the executable in `directory`; its output goes to files there (no pipe can fill up and block it).
    static func heteroscale(_ arguments: [String], in directory: URL) throws -> Run {
        let outURL = directory.appendingPathComponent(".stdout"), errURL = directory.appendingPathComponent(".stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.currentDirectoryURL = directory
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: try String(contentsOf: outURL, encoding: .utf8),
                   stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    /// Exit 1, nothing on standard output, exactly one line on standard error: `error: ` + `expected`.
    static func expectOneLineFailure(_ run: Run, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status == 1, "exit status \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(run.stderr == "error: \(expected)\n", sourceLocation: sourceLocation)
        #expect(!run.stderr.contains("USAGE"), sourceLocation: sourceLocation)
    }

    static let scenario = """
        profiles: [PROFILE]
        model: llama2-70b
        cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 2}]}
        workload: {arrivals: {kind: constant, rate: 1}, sizes: {constant: {prompt: 200, output: 20}}, duration: 20}
        slo: {ttftMs: 1000, tbtMs: 100}
        policies:
          - name: fixed
            fixed: {promptInstances: 1, tokenInstances: 1, hardware: h100-80gb, tensorParallel: 4}
        """

    @Test func simulateRunsAndPrintsTheSLO() throws {
        let dir = try TestDirectory("cli")
        defer { dir.cleanup() }
        try dir.write("s.yaml", Self.scenario.replacingOccurrences(of: "PROFILE", with: Paths.repo("samples/profiles/h100.yaml")))
        let run = try Self.heteroscale(["simulate", "s.yaml", "--out", "out"], in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("SLO: TTFT ≤ 1000 ms, mean TBT ≤ 100 ms per request (intervals: their P90s)\n"))
        #expect(FileManager.default.fileExists(atPath: dir.path("out/fixed/timeline.csv")))
    }

    @Test func simulateWithATypoInTheSLO() throws {
        let dir = try TestDirectory("cli")
        defer { dir.cleanup() }
        try dir.write("s.yaml", Self.scenario.replacingOccurrences(of: "PROFILE", with: Paths.repo("samples/profiles/h100.yaml"))
            .replacingOccurrences(of: "ttftMs", with: "ttftMS"))
        Self.expectOneLineFailure(try Self.heteroscale(["simulate", "s.yaml"], in: dir.url),
                                  #"s.yaml: line 5, column 7: slo: unknown field "ttftMS", did you mean "ttftMs"?"#)
        #expect(!FileManager.default.fileExists(atPath: dir.path("results")))
    }

    @Test func simulateWithAProfilePathThatDoesNotResolve() throws {
        let dir = try TestDirectory("cli")
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(atPath: dir.path("scenarios"), withIntermediateDirectories: true)
        try dir.write("scenarios/s.yaml", Self.scenario.replacingOccurrences(of: "PROFILE", with: "profiles/h100.yaml"))
        let folder = URL(fileURLWithPath: dir.path("scenarios")).standardized.path
        Self.expectOneLineFailure(
            try Self.heteroscale(["simulate", "scenarios/s.yaml"], in: dir.url),
            "scenarios/s.yaml: profiles[0]: profiles/h100.yaml not found at \(folder)/profiles/h100.yaml "
                + "(paths in a scenario are relative to its folder, \(folder)); fix the path")
    }

    @Test func simulateWithAMissingScenario() throws {
        let dir = try TestDirectory("cli")
        defer { dir.cleanup() }
        Self.expectOneLineFailure(try Self.heteroscale(["simulate", "nope.yaml"], in: dir.url),
                                  "nope.yaml: cannot read the scenario file (no such file)")
    }

    static let autoscaler = """
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata: {name: llm}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: llm}
          minReplicas: 1
          maxReplicas: 10
          scalingStrategy: KPA
          metricsSources:
            - {metricSourceType: pod, targetMetric: vllm:num_requests_running, targetValue: "10"}
        """

    @Test(arguments: [
        // (manifest edit, CSV, expected error after "error: ")
        ("", "time,ready,kv\n0,1,3\n",
         "m.csv: line 1: no column for vllm:num_requests_running, which metricsSources[0] (KPA) reads: add a total column "
            + "vllm:num_requests_running or per-pod columns pod:<name>:vllm:num_requests_running; columns found: time, ready, kv"),
        ("", "time,vllm:num_requests_running\n0,30\n# a comment\n2,-4\n",
         "m.csv: line 4: column vllm:num_requests_running: -4 is negative; it is a rate, count, utilisation or latency (zero or more), fix the row"),
        ("maxReplica", "time,vllm:num_requests_running\n0,30\n",
         #"pa.yaml: line 7, column 3: spec: unknown field "maxReplica", did you mean "maxReplicas"?"#),
        ("minReplicas: 20", "time,vllm:num_requests_running\n0,30\n",
         "pa.yaml: invalid spec (the controller would report ValidSpec=False): spec.minReplicas: must not exceed maxReplicas (10), got 20"),
    ])
    func replayBadInputs(edit: String, csv: String, expected: String) throws {
        let dir = try TestDirectory("cli")
        defer { dir.cleanup() }
        var manifest = Self.autoscaler
        if edit == "maxReplica" { manifest = manifest.replacingOccurrences(of: "maxReplicas", with: "maxReplica") }
        if edit.hasPrefix("minReplicas") { manifest = manifest.replacingOccurrences(of: "minReplicas: 1", with: edit) }
        try dir.write("pa.yaml", manifest)
        try dir.write("m.csv", csv)
        Self.expectOneLineFailure(try Self.heteroscale(["replay", "--autoscaler", "pa.yaml", "--metrics", "m.csv"], in: dir.url), expected)
    }

    @Test func replayRunsOnAGoodCSV() throws {
        let dir = try TestDirectory("cli")
        defer { dir.cleanup() }
        try dir.write("pa.yaml", Self.autoscaler)
        try dir.write("m.csv", "time,vllm:num_requests_running\n0,30\n2,30\n")
        let run = try Self.heteroscale(["replay", "--autoscaler", "pa.yaml", "--metrics", "m.csv", "--format", "csv"], in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("time,current,desired,reason,panic\n0,1,3,"))
    }
}
