import ArgumentParser
import Foundation
import Simulation

/// `heteroscale simulate SCENARIO.yaml [--policy NAME] [--out DIR] [--bench]`.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a workload against a simulated P/D cluster under each policy of a scenario and compare them.",
        discussion: """
            Writes per policy DIR/POLICY/{summary.csv,requests.csv,timeline.csv,scaling.log} and DIR/comparison.csv, \
            and prints the comparison table. Paths in the scenario resolve relative to the scenario file.
            """)

    @Argument(help: "The scenario YAML file.")
    var scenario: String

    @Option(name: .long, help: "Run only the policy with this name.")
    var policy: String?

    @Option(name: .long, help: "Output directory.")
    var out: String = "results"

    @Flag(name: .long, help: "Print wall time, simulated requests per wall second and peak RSS.")
    var bench = false

    func run() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let outcomes: [PolicyOutcome]
        let bar = isatty(STDERR_FILENO) == 1 && !bench ? ProgressBar() : nil
        do {
            // Requests stream to DIR/POLICY/requests.csv (flat memory); --bench measures the simulation alone.
            outcomes = try ScenarioRunner.run(scenarioPath: scenario, policy: policy, progress: bar.map { b in { b.update($0, $1, $2) } },
                                              requests: bench ? .statisticsOnly : .stream(to: out))
            bar?.finish()
        } catch {
            // One line: the scenario file, what is wrong, what to do; exit 1 (not the usage text and 64).
            bar?.finish()
            Self.fail(error)
        }
        let elapsed = clock.now - start
        do {
            try ScenarioRunner.write(outcomes, to: out)
        } catch {
            Self.fail(CommandFailure(description: "--out \(out): cannot write the results (\(error.localizedDescription)); choose a writable folder"))
        }
        print(ScenarioRunner.sloLine(outcomes), terminator: "")
        print(ScenarioRunner.comparisonTable(outcomes), terminator: "")
        print(ScenarioRunner.flashCrowdReport(outcomes), terminator: "")
        print("results in \(out)/")
        if bench {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let requests = outcomes.reduce(0) { $0 + $1.result.completed }
            // (with --bench, requests.csv is not written: the figure is the simulation's own speed)
            print(String(format: "wall %.3f s, %d requests, %.0f simulated requests/s, peak RSS %@",
                         seconds, requests, Double(requests) / max(seconds, 1e-9), Self.peakRSS()))
        }
    }

    /// `VmHWM` from /proc/self/status (Linux), or "n/a".
    static func peakRSS() -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return "n/a" }
        let kb = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
        return String(format: "%.1f MB", kb / 1024)
    }
}

/// A one-line progress bar on standard error (only when it is a terminal), redrawn at most 10 times a second.
final class ProgressBar {
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var shown = false

    func update(_ policy: String, _ time: Double, _ end: Double?) {
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        var line = "\r\u{1B}[2K\(policy) "
        if let end, end > 0 {
            let fraction = min(1, max(0, time / end))
            let width = 30, filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += String(format: "%3.0f%% ", fraction * 100)
        }
        line += String(format: "t=%.0fs", time)
        FileHandle.standardError.write(Data(line.utf8))
        shown = true
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
