import Foundation
import Simulation
import Testing
import TestSupport
import YAML

/// What `heteroscale curate` writes: the same bytes whatever `--jobs` is, a step-2 scenario `simulate` re-runs
/// to the same figures, and plots `tools/plot_curate.py` draws from the CSVs. Tiny grids on the toy profile of
/// `CurateTests` so the suite stays fast in debug builds.
@Suite struct CurateOutputTests {
    /// Two ratios, every strategy (so step 2 runs several policies at once), 120 s probes, a 300 s workload.
    static let curation = """
        name: toy
        profiles: [toy.yaml]
        model: toy-model
        roles:
          prefill: {gpuTypes: [toy], gpusPerInstance: 1}
          decode: {gpuTypes: [toy], gpusPerInstance: 1}
        slo: {ttftMs: 3000, tbtMs: 100}
        prices: {toy: 1}
        maxBatchSize: 16
        maxBatchTokens: 2048
        workload:
          arrivals: {kind: diurnal, peakRate: 8, peakToTrough: 4, period: 300, peakAt: 150, flashCrowds: [{factor: 2, start: 200, duration: 30}]}
          sizes: {constant: {prompt: 1000, output: 64}}
          duration: 300
        seed: 5
        ratios: ["1:1", "1:2"]
        stress: {duration: 120, iterations: 3}
        simulation: {coldStartSeconds: 30}
        policies:
          - {strategy: heteroscale, values: [0.7, 0.9]}
          - {strategy: hybrid, values: [0.9]}
          - {strategy: sla, values: [30]}
          - {strategy: latency}
          - {strategy: independent-tps}
          - {strategy: hpa-gpu}
        """

    static func folder() throws -> TestDirectory {
        let dir = try TestDirectory("curate-out")
        try dir.write("toy.yaml", CurateTests.flatProfile)
        try dir.write("curate.yaml", curation)
        return dir
    }

    static func files(_ directory: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
        }
        return out
    }

    /// The same seed gives byte-identical output with one thread and with four: the tables, the recommended
    /// manifests (`-o yaml`), the JSON, and every file of `--out`.
    @Test func theSameSeedGivesTheSameBytesWithOneJobAndWithFour() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        var runs: [Int: (yaml: String, json: String, files: [String: Data])] = [:]
        for jobs in [1, 4] {
            let yaml = try CommandLineTests.heteroscale(["curate", "curate.yaml", "-o", "yaml", "--jobs", "\(jobs)", "--out", "out\(jobs)"], in: dir.url)
            try #require(yaml.status == 0, "\(yaml.stderr)")
            let json = try CommandLineTests.heteroscale(["curate", "curate.yaml", "-o", "json", "--jobs", "\(jobs)"], in: dir.url)
            try #require(json.status == 0, "\(json.stderr)")
            runs[jobs] = (yaml.stdout, json.stdout, try Self.files(dir.path("out\(jobs)")))
        }
        let one = try #require(runs[1]), four = try #require(runs[4])
        #expect(one.yaml.contains("kind: PodAutoscaler"))
        #expect(one.yaml == four.yaml)
        #expect(one.json == four.json)
        #expect(Set(one.files.keys) == ["stress_probes.csv", "ratios.csv", "policies.csv", "recommended.yaml", "scenario.yaml", "report.txt"])
        for (name, data) in one.files { #expect(four.files[name] == data, "\(name) differs between --jobs 1 and --jobs 4") }
    }

    /// `scenario.yaml` is step 2 as `heteroscale simulate` takes it: simulating it gives every policy the SLO
    /// attainment and GPU-hours the ranking reported.
    @Test func theStepTwoScenarioReRunsToTheRankedFigures() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        let report = try CurateRunner.run(try CurateSpec.load(path: dir.path("curate.yaml")), baseDirectory: dir.url.path, jobs: 2)
        try report.write(to: dir.path("out"))
        let outcomes = try ScenarioRunner.run(scenarioPath: dir.path("out/scenario.yaml"), requests: .statisticsOnly)
        #expect(outcomes.map(\.policy).sorted() == report.policies.map(\.name).sorted())
        for o in outcomes {
            let ranked = try #require(report.policies.first { $0.name == o.policy })
            let attainment = Double(o.result.requestStats.sloMet) / Double(max(o.result.arrived, 1))
            #expect(attainment == ranked.attainment, "\(o.policy)")
            #expect(o.result.gpuHours == ranked.gpuHours, "\(o.policy)")
            #expect(o.result.scalingActions == ranked.scalingActions, "\(o.policy)")
        }
    }

    /// tools/plot_curate.py on a tiny curation's output: both figures are written (skipped, with the reason,
    /// without matplotlib; `make curate-plots` creates `.venv` with it).
    @Test func thePlotScriptDrawsBothFiguresOfATinyCuration() throws {
        let venv = Paths.repo(".venv/bin/python")
        let python = FileManager.default.isExecutableFile(atPath: venv) ? venv : (which("python3") ?? "/usr/bin/python3")
        guard (try? runCommand(python, ["-c", "import matplotlib"])) != nil else {
            print("skipped thePlotScriptDrawsBothFiguresOfATinyCuration: no matplotlib for \(python) (make curate-plots creates .venv with it)")
            return
        }
        let dir = try Self.folder()
        defer { dir.cleanup() }
        let report = try CurateRunner.run(try CurateSpec.load(path: dir.path("curate.yaml")), baseDirectory: dir.url.path, jobs: 2)
        try report.write(to: dir.path("out"))
        let out = try runCommand(python, [Paths.repo("tools/plot_curate.py"), dir.path("out")])
        let plots = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path("out/plots")))
        #expect(plots.isSuperset(of: ["throughput_vs_load.png", "policies_frontier.png"]), "\(out)")
        for name in plots {
            let size = (try FileManager.default.attributesOfItem(atPath: dir.path("out/plots/\(name)"))[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name): \(size) bytes")
        }
    }
}
