import Foundation
import Simulation
import Testing
import TestSupport
import YAML

/// `heteroscale sweep`: the grid, its parallel run, its files, its Indexed Job form and the sweep file's checks.
/// The grids are tiny (20 s of arrivals at ≤ 2.5 req/s, two-line traces) so the suite takes seconds.
@Suite struct SweepTests {
    static let scenario = """
        profiles: [h100.yaml]
        model: llama2-70b
        cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 2}]}
        workload: {arrivals: {kind: constant, rate: 1}, sizes: {constant: {prompt: 200, output: 20}}, duration: 20}
        slo: {ttftMs: 1000, tbtMs: 100}
        prices: {h100-80gb: 2.5}
        policies:
          - name: small
            fixed: {promptInstances: 1, tokenInstances: 1, hardware: h100-80gb, tensorParallel: 4}
          - name: large
            fixed: {promptInstances: 2, tokenInstances: 2, hardware: h100-80gb, tensorParallel: 4}
        """

    static let sweep = """
        name: tiny
        scenario: scenario.yaml
        traces:
          - {name: short, file: short.csv}
          - {name: long, file: long.csv}
        rates: [1, 2.5]
        seeds: [1, 2]
        duration: 20
        """

    /// A folder with the scenario, two small Azure-format traces and `sweep.yaml` (its text given).
    static func folder(_ sweep: String = Self.sweep) throws -> TestDirectory {
        let dir = try TestDirectory("sweep")
        try dir.write("scenario.yaml", scenario)
        try dir.write("h100.yaml", try String(contentsOfFile: Paths.repo("samples/profiles/h100.yaml"), encoding: .utf8))
        try dir.write("short.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,120,10\n2023-11-16 18:15:47.0,300,25\n")
        try dir.write("long.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,2000,40\n2023-11-16 18:15:47.0,1500,80\n")
        try dir.write("sweep.yaml", sweep)
        return dir
    }

    @Test(arguments: [
        (seeds: 1, traces: 1, rates: 1, policies: 1),
        (seeds: 2, traces: 2, rates: 5, policies: 3),
        (seeds: 3, traces: 1, rates: 10, policies: 7),
    ])
    func theGridIsSeedTraceRatePolicyWithThePolicyFastest(seeds: Int, traces: Int, rates: Int, policies: Int) {
        let s = (0..<seeds).map { UInt64($0 + 1) }, t = (0..<traces).map { "t\($0)" }
        let r = (0..<rates).map { Double($0 + 1) * 10 }, p = (0..<policies).map { "p\($0)" }
        let cells = Sweep.expand(seeds: s, traces: t, rates: r, policies: p)
        #expect(cells.count == seeds * traces * rates * policies)
        for (k, c) in cells.enumerated() {
            let (si, ti, ri, pi) = (s.firstIndex(of: c.seed)!, t.firstIndex(of: c.trace)!, r.firstIndex(of: c.rate)!, p.firstIndex(of: c.policy)!)
            #expect(c.index == k)
            #expect(k == ((si * traces + ti) * rates + ri) * policies + pi)
        }
        #expect(cells.last?.directory == "\(seeds)/t\(traces - 1)/\(rates * 10)/p\(policies - 1)")
    }

    @Test func aCellsFolderNamesItsSeedTraceRateAndPolicy() {
        #expect(SweepCell(index: 0, seed: 7, trace: "conv", rate: 12.5, policy: "hpa gpu").directory == "7/conv/12.5/hpa_gpu")
        #expect(SweepCell.rateName(100) == "100")
    }

    @Test func resultsAreTheSameWhateverTheNumberOfJobs() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        let sweep = try Sweep.load(path: dir.path("sweep.yaml"))
        #expect(sweep.cells.count == 16)
        let one = try SweepRunner.run(sweep, out: dir.path("one"), jobs: 1)
        let four = try SweepRunner.run(sweep, out: dir.path("four"), jobs: 4)
        #expect(one.map(\.row) == four.map(\.row))
        #expect(one.map(\.cell.index) == Array(0..<16))
        #expect(try dir.read("one/results_summary.csv") == dir.read("four/results_summary.csv"))
    }

    @Test func theOutputIsATreePerDimensionPlusOneSummary() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        let sweep = try Sweep.load(path: dir.path("sweep.yaml"))
        try SweepRunner.run(sweep, out: dir.path("out"), jobs: 2)
        for seed in ["1", "2"] {
            for trace in ["short", "long"] {
                for rate in ["1", "2.5"] {
                    for policy in ["small", "large"] {
                        #expect(FileManager.default.fileExists(atPath: dir.path("out/\(seed)/\(trace)/\(rate)/\(policy)/summary.csv")))
                        #expect(FileManager.default.fileExists(atPath: dir.path("out/\(seed)/\(trace)/\(rate)/\(policy)/scaling.log")))
                    }
                }
            }
        }
        let summary = String(decoding: try dir.read("out/results_summary.csv"), as: UTF8.self).split(separator: "\n")
        #expect(summary.count == 17)
        // A cell's summary.csv is the header and that cell's row of results_summary.csv.
        let cell = String(decoding: try dir.read("out/2/long/2.5/large/summary.csv"), as: UTF8.self).split(separator: "\n")
        #expect(cell == [summary[0], summary[16]])
    }

    @Test func theSummaryHasLatencySlowdownSLOAndCostColumns() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        let sweep = try Sweep.load(path: dir.path("sweep.yaml"))
        let results = try SweepRunner.run(sweep, out: nil, jobs: 2)
        let columns = SweepRunner.columns
        for metric in ["ttft", "tbt", "e2e"] {
            for q in ["p50", "p90", "p99"] {
                #expect(columns.contains { $0.hasPrefix("\(metric)_\(q)_") })
                #expect(columns.contains("\(metric)_slowdown_\(q)"))
            }
        }
        for c in ["seed", "trace", "rate", "policy", "slo_attainment", "gpu_hours", "cost_per_1m_tokens", "scaling_actions", "requests"] {
            #expect(columns.contains(c))
        }
        for r in results {
            #expect(r.row.count == columns.count)
            let v = Dictionary(uniqueKeysWithValues: zip(columns, r.row))
            #expect(Int(v["requests"]!)! > 0)
            #expect(v["slo_ttft_ms"] == "1000" && v["slo_tbt_ms"] == "100")
            #expect(Double(v["cost_per_1m_tokens"]!)! > 0)
            #expect(Double(v["gpu_hours"]!)! > 0)
            // A latency is never below the unloaded one (sketch accuracy ±0.5 %).
            for m in ["ttft", "tbt", "e2e"] { #expect(Double(v["\(m)_slowdown_p50"]!)! >= 0.99) }
            #expect(v["rate"] == SweepCell.rateName(r.cell.rate) && v["policy"] == r.cell.policy)
        }
    }

    /// At a trickle of requests each is alone: its TTFT is the performance model's prefill time.
    @Test func aLoneRequestsSlowdownIsOne() throws {
        let dir = try Self.folder(Self.sweep.replacingOccurrences(of: "rates: [1, 2.5]", with: "rates: [0.05]")
            .replacingOccurrences(of: "duration: 20", with: "duration: 200"))
        defer { dir.cleanup() }
        let results = try SweepRunner.run(try Sweep.load(path: dir.path("sweep.yaml")), out: nil, jobs: 2)
        for r in results {
            let v = Dictionary(uniqueKeysWithValues: zip(SweepRunner.columns, r.row))
            #expect(abs(Double(v["ttft_slowdown_p50"]!)! - 1) < 0.01, "\(r.cell.directory): \(v["ttft_slowdown_p50"]!)")
            #expect(abs(Double(v["tbt_slowdown_p50"]!)! - 1) < 0.05, "\(r.cell.directory): \(v["tbt_slowdown_p50"]!)")
        }
    }

    /// A cell is `heteroscale simulate` of the scenario with the cell's workload and seed: the same code path.
    @Test func aCellIsTheScenarioSimulatedWithTheCellsWorkload() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        let sweep = try Sweep.load(path: dir.path("sweep.yaml"))
        let cell = sweep.cells[13] // ((1 × 2 + 1) × 2 + 0) × 2 + 1: seed 2, trace long, rate 1, policy large
        #expect(cell.directory == "2/long/1/large")
        let result = try SweepRunner.run(sweep, out: nil, jobs: 1, cells: [13])[0]
        var spec = try ScenarioSpec.load(path: dir.path("scenario.yaml"))
        spec.seed = cell.seed
        spec.workload = WorkloadSpec(arrivals: { var a = ArrivalSpec(kind: .constant); a.rate = cell.rate; return a }(),
                                     sizes: SizesSpec(fromTrace: dir.path("long.csv")), duration: 20)
        let outcome = try ScenarioRunner.run(spec, baseDirectory: dir.path(""), policy: "large")[0]
        let v = Dictionary(uniqueKeysWithValues: zip(SweepRunner.columns, result.row))
        #expect(Int(v["completed"]!) == outcome.result.completed)
        #expect(v["gpu_hours"] == ScenarioRunner.comparisonRow(outcome)[1])
        #expect(v["ttft_p90_ms"] == String(format: "%.6g", outcome.result.requestStats.ttft.quantile(0.9) * 1000))
        #expect(v["tbt_p99_ms"] == String(format: "%.6g", outcome.result.requestStats.tbt.quantile(0.99) * 1000))
    }

    /// The Indexed Job's way: every cell by its index in its own process, then --merge, gives the one-shot file.
    @Test func cellsRunByIndexAndMergedEqualTheOneShotRun() throws {
        let dir = try Self.folder(Self.sweep.replacingOccurrences(of: "seeds: [1, 2]", with: "seeds: [3]"))
        defer { dir.cleanup() }
        let oneShot = try CommandLineTests.heteroscale(["sweep", "sweep.yaml", "--out", "one", "--jobs", "2"], in: dir.url)
        #expect(oneShot.status == 0, "\(oneShot.stderr)")
        // Not a terminal: the progress is plain lines on standard error, the last at 100 %.
        #expect(oneShot.stderr.split(separator: "\n").last?.hasPrefix("sweep: 8/8 cells (100%), ") == true, "\(oneShot.stderr)")
        #expect(oneShot.stdout.hasSuffix("results in one/results_summary.csv\n"))
        for k in 0..<8 {
            let run = try CommandLineTests.heteroscale(["sweep", "sweep.yaml", "--index", String(k), "--out", "job"], in: dir.url)
            #expect(run.status == 0, "\(run.stderr)")
        }
        // Before every cell is there, the merge names what is missing.
        let merged = try CommandLineTests.heteroscale(["sweep", "--merge", "job"], in: dir.url)
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout == "merged 8 cells into job/results_summary.csv\n")
        #expect(try dir.read("job/results_summary.csv") == dir.read("one/results_summary.csv"))
    }

    @Test func mergeNamesTheMissingCells() throws {
        let dir = try Self.folder(Self.sweep.replacingOccurrences(of: "seeds: [1, 2]", with: "seeds: [3]"))
        defer { dir.cleanup() }
        let sweep = try Sweep.load(path: dir.path("sweep.yaml"))
        try SweepRunner.run(sweep, out: dir.path("job"), jobs: 2, cells: [0, 1, 2, 4, 5, 7])
        #expect(throws: SimulationError("\(dir.path("job")): 2 of 8 cells missing (3, 6); run them with `heteroscale sweep SWEEP.yaml --index K --out \(dir.path("job"))`")) {
            try SweepRunner.merge(dir.path("job"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("job/results_summary.csv")))
    }

    /// The manifest's structure (the emulator serves no batch/v1, so no server-side dry run): a ConfigMap with
    /// the sweep file and an Indexed Job with one completion per cell whose pods pass their index to --index.
    @Test func theIndexedJobHasOneCompletionPerCell() throws {
        let dir = try Self.folder()
        defer { dir.cleanup() }
        let run = try CommandLineTests.heteroscale(["sweep", "sweep.yaml", "--emit-job", "--image", "reg/hs:1", "--output-path", "/data", "--parallelism", "4"], in: dir.url)
        #expect(run.status == 0, "\(run.stderr)")
        let docs = try YAML.loadDocuments(run.stdout).map(\.value)
        #expect(docs.count == 2)
        let (cm, job) = (docs[0], docs[1])
        #expect(cm["apiVersion"]?.stringValue == "v1" && cm["kind"]?.stringValue == "ConfigMap")
        #expect(cm["data"]?["sweep.yaml"]?.stringValue == Self.sweep)
        #expect(job["apiVersion"]?.stringValue == "batch/v1" && job["kind"]?.stringValue == "Job")
        #expect(job["metadata"]?["name"]?.stringValue == "tiny-sweep")
        let spec = job["spec"]
        #expect(spec?["completionMode"]?.stringValue == "Indexed")
        #expect(spec?["completions"]?.intValue == 16)
        #expect(spec?["parallelism"]?.intValue == 4)
        let pod = spec?["template"]?["spec"]
        #expect(pod?["restartPolicy"]?.stringValue == "Never")
        let c = pod?["containers"]?[0]
        #expect(c?["image"]?.stringValue == "reg/hs:1")
        let args = c?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(args.first == "sweep" && args.contains("$(JOB_COMPLETION_INDEX)"))
        #expect(args.firstIndex(of: "--index").map { args[$0 + 1] } == "$(JOB_COMPLETION_INDEX)")
        #expect(args.firstIndex(of: "--out").map { args[$0 + 1] } == "/data/results/tiny")
        #expect(c?["env"]?[0]?["name"]?.stringValue == "JOB_COMPLETION_INDEX")
        #expect(c?["env"]?[0]?["valueFrom"]?["fieldRef"]?["fieldPath"]?.stringValue == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        // The sweep file from the ConfigMap sits in the working folder, beside its inputs on the volume.
        let workingDir = c?["workingDir"]?.stringValue ?? ""
        #expect(workingDir == "/data/inputs")
        let mounts = c?["volumeMounts"]?.arrayValue ?? []
        #expect(mounts.contains { $0["mountPath"]?.stringValue == "/data" && $0["name"]?.stringValue == "data" })
        #expect(mounts.contains { $0["mountPath"]?.stringValue == "/data/inputs/sweep.yaml" && $0["subPath"]?.stringValue == "sweep.yaml" })
        let volumes = pod?["volumes"]?.arrayValue ?? []
        #expect(volumes.contains { $0["configMap"]?["name"]?.stringValue == "tiny-sweep" })
        #expect(volumes.contains { $0["persistentVolumeClaim"]?["claimName"]?.stringValue == "heteroscale-sweep" })
        let inputs = job["metadata"]?["annotations"]?["heteroscale.io/sweep-inputs"]?.stringValue ?? ""
        #expect(Set(inputs.split(separator: ",").map(String.init)) == ["inputs/short.csv", "inputs/long.csv", "inputs/scenario.yaml", "inputs/h100.yaml"])
    }

    /// Bad sweep files: one line naming the file, the line, the field and what to do.
    @Test(arguments: [
        ("rates: [1, 2.5]", "rates: [1, 0]", "line 6, column 12: rates[1]: must be a positive number of requests per second, got 0"),
        ("rates: [1, 2.5]", "rates: [1, 1.0]", "line 6, column 12: rates[1]: rate 1 is listed twice; list each once"),
        ("rates: [1, 2.5]", "rates: []", "line 6, column 8: rates: empty; give request rates in requests per second, e.g. [10, 20, 40]"),
        ("rates: [1, 2.5]", "rate: [1, 2.5]", #"line 6, column 1: unknown field "rate", did you mean "rates"?"#),
        ("seeds: [1, 2]", "seeds: [1, 1]", "line 7, column 12: seeds[1]: seed 1 is listed twice; list each once"),
        ("duration: 20", "duration: 20\nramp: 30", "line 9, column 7: ramp: must be zero or more seconds and shorter than the duration (20 s), got 30"),
        ("duration: 20", "duration: -5", "line 8, column 11: duration: must be a positive number of seconds, got -5"),
        ("name: tiny", "name: tiny\npolicies: [small, fast]", "line 2, column 19: policies[1]: no policy \"fast\" in the scenario; have small, large"),
        ("name: tiny", "name: tiny\npolicies: [small, small]", "line 2, column 19: policies[1]: policy \"small\" is listed twice; list each once"),
        ("{name: long, file: long.csv}", "{name: short, file: long.csv}", "line 5, column 12: traces[1].name: trace name \"short\" is used twice; give each trace its own name"),
        ("{name: long, file: long.csv}", "{name: a/b, file: long.csv}", "line 5, column 12: traces[1].name: \"a/b\" cannot name a results folder; use letters, digits, `-`, `_` or `.`"),
        ("{name: long, file: long.csv}", "{name: long, file: nope.csv}", "line 5, column 24: traces[1].file: nope.csv not found at DIR/nope.csv (paths in a sweep file are relative to its folder, DIR); fix the path"),
        ("scenario: scenario.yaml", "scenario: nope.yaml", "line 2, column 11: scenario: nope.yaml not found at DIR/nope.yaml (paths in a sweep file are relative to its folder, DIR); fix the path"),
        ("scenario: scenario.yaml", "scenario: 3", "line 2, column 11: scenario: give a scenario file (a path relative to the sweep file) or an inline scenario mapping"),
        ("scenario: scenario.yaml", "scenario: {profiles: [], workload: {trace: short.csv}, policies: [], slo: {ttftMS: 1}}",
         #"line 2, column 76: scenario.slo: unknown field "ttftMS", did you mean "ttftMs"?"#),
    ])
    func aBadSweepFileIsOneLineThatSaysWhatToDo(original: String, replacement: String, expected: String) throws {
        let dir = try Self.folder(Self.sweep.replacingOccurrences(of: original, with: replacement))
        defer { dir.cleanup() }
        let path = dir.path("sweep.yaml")
        let base = URL(fileURLWithPath: dir.path("")).standardized.path
        #expect(throws: SimulationError("\(path): " + expected.replacingOccurrences(of: "DIR", with: base))) {
            _ = try Sweep.load(path: path)
        }
    }

    @Test func theCommandLineReportsABadSweepFileOnOneLine() throws {
        let dir = try Self.folder(Self.sweep.replacingOccurrences(of: "rates: [1, 2.5]", with: "rates: [-1]"))
        defer { dir.cleanup() }
        CommandLineTests.expectOneLineFailure(try CommandLineTests.heteroscale(["sweep", "sweep.yaml"], in: dir.url),
                                              "sweep.yaml: line 6, column 9: rates[0]: must be a positive number of requests per second, got -1")
        let good = try Self.folder()
        defer { good.cleanup() }
        CommandLineTests.expectOneLineFailure(try CommandLineTests.heteroscale(["sweep", "sweep.yaml", "--index", "99"], in: good.url),
                                              "--index 99: the sweep has 16 cells (0…15)")
    }

    /// tools/plot_sweep.py on a tiny sweep: every figure is written (skipped, with the reason, without matplotlib).
    @Test func thePlotScriptDrawsEveryFigureOfATinySweep() throws {
        let venv = Paths.repo(".venv/bin/python")
        let python = FileManager.default.isExecutableFile(atPath: venv) ? venv : (which("python3") ?? "/usr/bin/python3")
        guard (try? runCommand(python, ["-c", "import matplotlib"])) != nil else {
            print("skipped thePlotScriptDrawsEveryFigureOfATinySweep: no matplotlib for \(python) (make sweep-plots creates .venv with it)")
            return
        }
        let dir = try Self.folder()
        defer { dir.cleanup() }
        try SweepRunner.run(try Sweep.load(path: dir.path("sweep.yaml")), out: dir.path("out"), jobs: 2)
        let out = try runCommand(python, [Paths.repo("tools/plot_sweep.py"), dir.path("out")])
        let plots = Set((try FileManager.default.contentsOfDirectory(atPath: dir.path("out/plots"))))
        for trace in ["short", "long"] {
            for name in ["latency", "slowdown", "p90_grid", "bars", "frontier"] {
                #expect(plots.contains("\(trace)_\(name).png"), "\(out)")
            }
        }
    }
}

/// The shipped sweeps pass every check (the scenario's too) and have the documented size.
@Suite struct SampleSweepTests {
    @Test(arguments: [("conv.yaml", "conv"), ("code.yaml", "code")])
    func everySampleSweepPassesTheChecks(name: String, trace: String) throws {
        let sweep = try Sweep.load(path: Paths.repo("samples/sweeps/\(name)"))
        #expect(sweep.cells.count == sweep.seeds.count * sweep.spec.traces.count * sweep.spec.rates.count * sweep.policies.count)
        #expect(sweep.spec.traces.map(\.name) == [trace])
    }
}
