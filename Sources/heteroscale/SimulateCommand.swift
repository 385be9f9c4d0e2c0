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
        do {
            outcomes = try ScenarioRunner.run(scenarioPath: scenario, policy: policy)
        } catch {
            throw ValidationError("\(error)")
        }
        let elapsed = clock.now - start
        try ScenarioRunner.write(outcomes, to: out)
        print(ScenarioRunner.comparisonTable(outcomes), terminator: "")
        print("results in \(out)/")
        if bench {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let requests = outcomes.reduce(0) { $0 + $1.result.completed }
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
