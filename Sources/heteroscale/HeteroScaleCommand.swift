import ArgumentParser
import Foundation

/// The `heteroscale` executable.
@main
struct HeteroScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heteroscale",
        abstract: "Autoscaling for LLM inference on Kubernetes, above all prefill/decode disaggregated serving.",
        version: HeteroScaleVersion.string,
        subcommands: [VersionCommand.self, SandboxCommand.self, ControllerCommand.self, DoctorCommand.self, ReplayCommand.self, SimulateCommand.self, SweepCommand.self, CurateCommand.self, PlaceCommand.self, EmulatorCommand.self, BenchControllerCommand.self]
    )

    /// A parent may start us with SIGTERM/SIGINT blocked (test runners, some supervisors); the mask is
    /// inherited across exec, so a graceful shutdown would never be asked for. Unblock them before any
    /// thread exists, then parse and run as ArgumentParser's own `main` does.
    static func main() async {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

enum HeteroScaleVersion {
    static let string = "0.1.0-dev"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    func run() {
        print("heteroscale \(HeteroScaleVersion.string)")
    }
}

/// Options every command that talks to a cluster shares.
struct ClusterOptions: ParsableArguments {
    @Option(help: "Path to a kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context to use (default: its current-context).")
    var context: String?
}

/// A failure that ends the command with a message on stderr and a non-zero exit code.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32 = 1
}

extension ParsableCommand {
    /// Prints `error` plainly (no stack of Swift types) and exits non-zero.
    static func fail(_ error: any Error) -> Never {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        Foundation.exit((error as? CommandFailure)?.exitCode ?? 1)
    }
}
