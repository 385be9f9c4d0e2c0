import ArgumentParser
import Foundation
import Simulation
import YAML

/// `heteroscale curate CURATE.yaml [-o table|yaml|json] [--out DIR] [--jobs N] [--template FILE] [--plots]`.
struct CurateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curate",
        abstract: "Find a service's P/D ratio and scaling targets from its workload, then rank candidate policies (the paper's Algorithm 1).",
        discussion: """
            Step 1 stress-tests one static P/D unit per ratio and GPU pairing (bisection on the request rate) and picks the \
            best by the objective; the per-instance TPS targets and latency tiers are derived at that ratio. Step 2 \
            simulates every candidate policy over the workload and ranks them by the objective subject to SLO attainment. \
            Prints the tables (table), the recommended DeploymentGroup and PodAutoscaler (yaml) or everything (json); \
            --out writes stress_probes.csv, ratios.csv, policies.csv, recommended.yaml, scenario.yaml (step 2 for \
            `heteroscale simulate`), report.txt. Candidate policies: heteroscale, hybrid (HeteroScale above an SLA-planner \
            floor), sla, latency, independent-tps, hpa-gpu. --template FILE: the recommended DeploymentGroup (and the \
            baselines' Deployments) carry the pod templates of FILE (a DeploymentGroup with roles prefill and decode, \
            or a Deployment per role) instead of none; curation changes only replicas, ratio, GPU types and bounds. \
            See docs/curation.md.
            """)

    @Argument(help: "The curation YAML file.")
    var file: String

    @Option(name: [.short, .customLong("output")], help: "table, yaml or json.")
    var output: String = "table"

    @Option(name: .long, help: "Output directory for the CSVs and the recommended manifests.")
    var out: String?

    @Option(name: .long, help: "Simulations at once (default: the number of cores).")
    var jobs: Int?

    @Option(name: .long, help: ArgumentHelp("A DeploymentGroup (roles prefill and decode) or a Deployment per role whose pod templates the recommended manifests carry verbatim.", valueName: "FILE"))
    var template: String?

    @Flag(name: .long, help: "With --out: draw the plots (tools/plot_curate.py; .venv/bin/python if present, else python3).")
    var plots = false

    func run() throws {
        guard ["table", "yaml", "json"].contains(output) else { Self.fail(CommandFailure(description: "-o \(output): use table, yaml or json")) }
        let jobs = self.jobs ?? ProcessInfo.processInfo.activeProcessorCount
        guard jobs >= 1 else { Self.fail(CommandFailure(description: "--jobs \(jobs): give at least 1")) }
        let report: CurateReport
        do {
            let spec = try CurateSpec.load(path: file)
            let template = try self.template.map { try CurateTemplate.load(path: $0) }
            let base = URL(fileURLWithPath: file).deletingLastPathComponent().path
            let tty = isatty(STDERR_FILENO) == 1
            report = try CurateRunner.run(spec, baseDirectory: base, jobs: jobs, template: template) { step, done, total in
                let line = "curate: \(step) \(done)/\(total)"
                FileHandle.standardError.write(Data((tty ? "\r\u{1B}[2K" + line : line + "\n").utf8))
            }
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            if let out { try report.write(to: out) }
        } catch {
            Self.fail(error)
        }
        switch output {
        case "yaml": print(report.recommendedYAML, terminator: "")
        case "json": print((try? report.json.jsonString(pretty: true)) ?? "{}")
        default:
            print(report.text)
            if let out { print("results in \(out)/ (recommended.yaml, ratios.csv, policies.csv, stress_probes.csv, scenario.yaml)") }
        }
        if plots, let out {
            let script = "tools/plot_curate.py"
            guard FileManager.default.fileExists(atPath: script) else {
                Self.fail(CommandFailure(description: "--plots: \(script) not found; run from the repository root"))
            }
            fflush(nil)  // every stream: the report before the script's lines when stdout is a pipe
            let venv = ".venv/bin/python"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3", script, out]
            try p.run()
            p.waitUntilExit()
            if p.terminationStatus != 0 { Self.fail(CommandFailure(description: "--plots: \(script) exited with status \(p.terminationStatus)")) }
        }
    }
}
