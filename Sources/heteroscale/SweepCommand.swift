import ArgumentParser
import Foundation
import Simulation

/// `heteroscale sweep SWEEP.yaml [--out DIR] [--jobs N] [--index K] [--emit-job …]`, `heteroscale sweep --merge DIR`.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a grid of simulations (policies × traces × request rates × seeds) on a fixed cluster, in parallel or as a Kubernetes Indexed Job.",
        discussion: """
            Writes DIR/SEED/TRACE/RATE/POLICY/{summary.csv,scaling.log} per cell and DIR/results_summary.csv (one row per \
            cell). Cells are numbered seed, then trace, then rate, then policy (policy fastest), as listed in the sweep \
            file; --index K runs cell K only (an Indexed Job's completion index) and --merge DIR builds \
            results_summary.csv from the cells. See docs/simulation.md, "Sweeps".
            """)

    @Argument(help: "The sweep YAML file (not with --merge).")
    var sweep: String?

    @Option(name: .long, help: "Output directory (default: results/sweeps/NAME).")
    var out: String?

    @Option(name: .long, help: "Cells simulated at once (default: the number of cores).")
    var jobs: Int?

    @Option(name: .long, help: "Run only the cell with this index (0-based, in the documented order).")
    var index: Int?

    @Option(name: .long, help: "Build DIR/results_summary.csv from the cells under DIR.")
    var merge: String?

    @Flag(name: .long, help: "With --merge or a full run: draw the plots (tools/plot_sweep.py; .venv/bin/python if present, else python3).")
    var plots = false

    @Flag(name: .long, help: "Print a ConfigMap and an Indexed Job (batch/v1) that run the grid, one cell per completion index.")
    var emitJob = false

    @Option(name: .long, help: "With --emit-job: the container image.")
    var image: String = SweepJobOptions().image

    @Option(name: .long, help: "With --emit-job: where the shared volume is mounted (inputs/ and results/ under it).")
    var outputPath: String = SweepJobOptions().outputPath

    @Option(name: .long, help: "With --emit-job: the PersistentVolumeClaim of the shared volume.")
    var claim: String = SweepJobOptions().claim

    @Option(name: .long, help: "With --emit-job: pods at once (default: min(cells, 16)).")
    var parallelism: Int?

    @Option(name: .long, help: "With --emit-job: the namespace.")
    var namespace: String?

    func run() throws {
        if let merge {
            guard sweep == nil, index == nil, !emitJob else { Self.fail(CommandFailure(description: "--merge DIR takes no sweep file, --index or --emit-job")) }
            do {
                let csv = try SweepRunner.merge(merge)
                print("merged \(csv.split(separator: "\n").count - 1) cells into \(merge)/results_summary.csv")
            } catch {
                Self.fail(error)
            }
            if plots { try drawPlots(merge) }
            return
        }
        guard let sweepPath = sweep else { Self.fail(CommandFailure(description: "give a sweep file (heteroscale sweep SWEEP.yaml) or --merge DIR")) }
        let loaded: Sweep
        do {
            loaded = try Sweep.load(path: sweepPath)
        } catch {
            Self.fail(error)
        }
        if emitJob {
            var options = SweepJobOptions()
            options.image = image
            options.outputPath = outputPath
            options.claim = claim
            options.parallelism = parallelism
            options.namespace = namespace
            if let p = parallelism, p < 1 { Self.fail(CommandFailure(description: "--parallelism \(p): give at least 1")) }
            let text = (try? String(contentsOfFile: sweepPath, encoding: .utf8)) ?? ""
            print(SweepRunner.jobManifest(loaded, sweepText: text, sweepFile: sweepPath, options: options), terminator: "")
            return
        }
        let directory = out ?? "results/sweeps/\(loaded.name)"
        let jobs = self.jobs ?? ProcessInfo.processInfo.activeProcessorCount
        guard jobs >= 1 else { Self.fail(CommandFailure(description: "--jobs \(jobs): give at least 1")) }
        var selected: [Int]?
        if let index {
            guard loaded.cells.indices.contains(index) else {
                Self.fail(CommandFailure(description: "--index \(index): the sweep has \(loaded.cells.count) cells (0…\(loaded.cells.count - 1))"))
            }
            selected = [index]
        }
        let reporter = SweepProgress(total: selected?.count ?? loaded.cells.count)
        let results: [SweepCellResult]
        do {
            results = try SweepRunner.run(loaded, out: directory, jobs: jobs, cells: selected) { done, total, cell in reporter.update(done, total, cell) }
            reporter.finish()
        } catch {
            reporter.finish()
            Self.fail(error)
        }
        if index != nil {
            print("cell \(results[0].cell.index): \(directory)/\(results[0].cell.directory)/summary.csv")
            return
        }
        print(Self.table(results))
        print("\(results.count) cells in \(String(format: "%.1f", reporter.elapsed)) s; results in \(directory)/results_summary.csv")
        if plots { try drawPlots(directory) }
    }

    /// The main columns of every cell, one line each.
    static func table(_ results: [SweepCellResult]) -> String {
        let wanted = ["seed", "trace", "rate", "policy", "ttft_p90_ms", "tbt_p90_ms", "e2e_p90_s", "e2e_slowdown_p90", "slo_attainment", "gpu_hours", "scaling_actions"]
        let idx = wanted.map { SweepRunner.columns.firstIndex(of: $0)! }
        let rows = [wanted] + results.map { r in idx.map { r.row[$0] } }
        let widths = wanted.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            .joined(separator: "\n")
    }

    func drawPlots(_ directory: String) throws {
        let script = "tools/plot_sweep.py"
        guard FileManager.default.fileExists(atPath: script) else {
            Self.fail(CommandFailure(description: "--plots: \(script) not found; run from the repository root, or `make sweep-plots SWEEP=\(directory)`"))
        }
        let venv = ".venv/bin/python"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3", script, directory]
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 { Self.fail(CommandFailure(description: "--plots: \(script) exited with status \(p.terminationStatus)")) }
    }
}

/// Progress over the grid on standard error: a bar redrawn in place on a terminal, else a plain line every 10 %
/// of the cells (and at most every 10 s otherwise).
final class SweepProgress: @unchecked Sendable {
    private let tty = isatty(STDERR_FILENO) == 1
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(60)
    private var lastDecile = 0
    private var shown = false
    private let total: Int

    init(total: Int) { self.total = total }

    var elapsed: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Called under the runner's lock, once per finished cell.
    func update(_ done: Int, _ total: Int, _ cell: SweepCell) {
        let now = ContinuousClock.now
        let fraction = Double(done) / Double(max(total, 1))
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        if tty {
            guard now - lastDraw >= .milliseconds(100) || done == total else { return }
            lastDraw = now
            let width = 30, filled = Int(fraction * Double(width))
            let line = "\r\u{1B}[2K[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
                + String(format: "%d/%d cells %3.0f%% eta %.0fs  ", done, total, fraction * 100, eta) + cell.directory
            FileHandle.standardError.write(Data(line.utf8))
            shown = true
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile || now - lastDraw >= .seconds(10) || done == total else { return }
            lastDecile = decile
            lastDraw = now
            FileHandle.standardError.write(Data(String(format: "sweep: %d/%d cells (%.0f%%), %.0f s, eta %.0f s\n", done, total, fraction * 100, elapsed, eta).utf8))
        }
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
