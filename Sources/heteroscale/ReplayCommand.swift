import ArgumentParser
import Autoscaling
import Foundation
import KubeAPI
import YAML

/// `heteroscale replay --autoscaler pa.yaml --metrics series.csv [--format table|csv|json]`: what a strategy
/// would have decided, step by step, on recorded metrics.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print what a PodAutoscaler would have decided, step by step, on recorded metrics.",
        discussion: """
            The metrics CSV has a `time` column (seconds), optionally `ready` (and `ready_<role>` per role), and one \
            column per metric: a total named like a source's targetMetric (or a signal such as decode_tps), or a \
            per-pod sample `pod:<name>:<metric>`. An empty cell is a missing value. Each row is one observation and \
            one decision. Without a `ready` column replicas follow the decisions, starting from minReplicas.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Option(name: .customLong("autoscaler"), help: ArgumentHelp("The PodAutoscaler manifest (YAML).", valueName: "pa.yaml"))
    var autoscaler: String

    @Option(name: .customLong("metrics"), help: ArgumentHelp("The recorded metrics (CSV).", valueName: "series.csv"))
    var metrics: String

    @Option(help: "Output format: table, csv or json.")
    var format: OutputFormat = .table

    @Option(name: .customLong("group"), help: ArgumentHelp("The DeploymentGroup of a P/D target, for its roles' weights and bounds.", valueName: "dg.yaml"))
    var group: String?

    @Option(name: .customLong("start"), help: ArgumentHelp("The wall-clock time of `time = 0` (RFC 3339; default 1970-01-01T00:00:00Z), for schedules.", valueName: "time"))
    var start: String?

    func run() async throws {
        do {
            try replay()
        } catch {
            // One line naming the file, what is wrong and what to do; exit 1 (not the usage text and 64).
            Self.fail(error)
        }
    }

    private func replay() throws {
        var pa = try decode(PodAutoscaler.self, from: autoscaler)
        // AIBrix annotations stand in for the typed fields, as in the controller.
        let compatibility = AIBrixCompatibility.resolve(pa)
        pa.spec = compatibility.spec
        for note in compatibility.applied { FileHandle.standardError.write(Data("\(autoscaler): \(note)\n".utf8)) }
        for note in compatibility.ignored { FileHandle.standardError.write(Data("\(autoscaler): warning: \(note)\n".utf8)) }
        let issues = compatibility.issues + Autoscaler.validate(pa.spec)
        guard issues.isEmpty else {
            throw CommandFailure(description: "\(autoscaler): invalid spec (the controller would report ValidSpec=False): "
                + issues.map(\.description).joined(separator: "; "))
        }
        var roles: [RoleSnapshot] = []
        if let group {
            roles = Replay.roles(of: try decode(DeploymentGroup.self, from: group))
        }
        var origin = Date(timeIntervalSince1970: 0)
        if let start {
            guard let d = RFC3339.parse(start) else {
                throw CommandFailure(description: "--start must be an RFC 3339 time such as 2025-01-06T09:00:00Z, got \(start)")
            }
            origin = d
        }
        let observations: [Replay.Observation]
        do {
            observations = try Replay.parse(try read(metrics), for: pa.spec)
        } catch let e as Replay.ParseError {
            throw CommandFailure(description: "\(metrics): \(e)")
        }
        let steps = Replay.run(spec: pa.spec, observations: observations, roles: roles, start: origin)
        let rendered = Replay.render(steps, format: Replay.Format(rawValue: format.rawValue) ?? .table)
        FileHandle.standardOutput.write(Data(rendered.utf8))
    }

    /// Reads a manifest strictly: an unknown field is an error with its line and the nearest valid field.
    private func decode<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let text = try read(path)
        do {
            return try YAML.decode(type, from: text, strict: true)
        } catch {
            throw CommandFailure(description: "\(path): \(error)")
        }
    }

    private func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let why = FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file"
            throw CommandFailure(description: "\(path): cannot read the file (\(why))")
        }
    }
}
