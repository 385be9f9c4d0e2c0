import Foundation
import YAML

/// A sweep file (`heteroscale sweep SWEEP.yaml`): a base scenario (its cluster, profiles, SLO and policies) and
/// a grid of policies × traces × request rates × seeds. Every cell replaces the scenario's workload by Poisson
/// arrivals at the cell's rate with (prompt, output) sizes drawn from the cell's trace (splitwise-sim's
/// `rr_<trace>_<rate>` workloads), seeded by the cell's seed, for `duration` seconds.
///
/// ```yaml
/// name: conv
/// scenario: ../simulation/pd-conv-diurnal.yaml   # a path relative to this file, or an inline scenario
/// policies: [heteroscale, hpa-gpu]                # default: every policy of the scenario
/// traces:
///   - {name: conv, file: ../../../shared/data/AzureLLMInferenceTrace_conv.csv}
/// rates: [10, 20, 40]                             # requests per second
/// seeds: [1, 2]                                   # default: the scenario's seed (else 0)
/// duration: 300                                   # seconds of arrivals per cell
/// ramp: 120                                       # optional: the rate rises linearly from 0 over 120 s
/// ```
///
/// Read strictly: an unknown key is an error with its line and the nearest valid key; every other error names
/// the line, the field and what to do.
public struct SweepSpec: Decodable, Sendable {
    public var name: String?
    /// A scenario file (relative to the sweep file) or an inline scenario mapping.
    public var scenario: JSONValue
    public var policies: [String]?
    public var traces: [Trace]
    public var rates: [Double]
    public var seeds: [UInt64]?
    public var duration: Double?
    /// Seconds over which the rate rises linearly from 0 to the cell's rate (default 0: the full rate from the
    /// start, as splitwise-sim), so that autoscaled policies are compared after a ramp they can follow.
    public var ramp: Double?

    /// A trace whose (prompt, output) pairs the cells draw from; `name` names its results folder.
    public struct Trace: Codable, Sendable, Hashable {
        public var name: String
        public var file: String
        public init(name: String, file: String) {
            self.name = name
            self.file = file
        }
    }
}

/// One simulation of a sweep: the cell `index` of the documented order (seed, then trace, then rate, then
/// policy, each in the order of the sweep file; the policy varies fastest).
public struct SweepCell: Sendable, Hashable {
    public var index: Int
    public var seed: UInt64
    public var trace: String
    public var rate: Double
    public var policy: String

    public init(index: Int, seed: UInt64, trace: String, rate: Double, policy: String) {
        self.index = index
        self.seed = seed
        self.trace = trace
        self.rate = rate
        self.policy = policy
    }

    /// `SEED/TRACE/RATE/POLICY`, the cell's folder under the output directory.
    public var directory: String {
        "\(seed)/\(trace)/\(SweepCell.rateName(rate))/\(ScenarioRunner.safeName(policy))"
    }

    /// A rate as a folder name and CSV value: `10`, `12.5`.
    public static func rateName(_ rate: Double) -> String { String(format: "%g", rate) }
}

/// A sweep file read and checked: the base scenario, the selected policies and the expanded grid.
public struct Sweep: Sendable {
    public var spec: SweepSpec
    public var scenario: ScenarioSpec
    /// The folder the scenario's own relative paths resolve against.
    public var scenarioDirectory: String
    /// The sweep file's folder.
    public var directory: String
    public var policies: [String]
    public var seeds: [UInt64]
    /// Full paths of the traces, by trace name.
    public var traceFiles: [String: String]
    public var duration: Double
    public var cells: [SweepCell]

    public var name: String { spec.name ?? scenario.name ?? "sweep" }

    /// Reads and checks a sweep file; every error starts with the path.
    public static func load(path: String) throws -> Sweep {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SimulationError("\(path): cannot read the sweep file (\(FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file"))")
        }
        do {
            return try parse(text, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        } catch {
            throw SimulationError("\(path): \(error)")
        }
    }

    /// Parses and checks a sweep; relative paths resolve against `baseDirectory` (the sweep file's folder).
    /// Checks the scenario as `heteroscale simulate` does (files, manifests, minimum placement of every
    /// selected policy), then the grid.
    public static func parse(_ text: String, baseDirectory: String) throws -> Sweep {
        let document = try YAML.loadDocument(text)
        guard case .object = document.value else {
            throw SimulationError("the sweep file must be a mapping with `scenario`, `traces` and `rates`")
        }
        let spec = try document.decode(SweepSpec.self, strict: true)
        func fail(_ path: [JSONPathComponent], _ message: String) -> YAMLError {
            YAMLError(message: message, mark: document.mark(at: JSONPath.format(path)), path: JSONPath.format(path))
        }
        // The scenario: a file, or inline (its paths relative to the sweep file).
        var scenario: ScenarioSpec
        var scenarioDirectory = baseDirectory
        switch spec.scenario {
        case .string(let path):
            let full: String
            do {
                full = try ScenarioSpec.existingFile(path, key: "scenario", baseDirectory: baseDirectory)
            } catch {
                throw fail([.key("scenario")], "\(error)".replacingOccurrences(of: "scenario: ", with: "", options: .anchored)
                    .replacingOccurrences(of: "in a scenario are relative to its folder", with: "in a sweep file are relative to its folder"))
            }
            scenario = try ScenarioSpec.load(path: full)
            scenarioDirectory = URL(fileURLWithPath: full).deletingLastPathComponent().path
        case .object:
            let inline = document.subdocument(at: [.key("scenario")])!
            scenario = try inline.decode(ScenarioSpec.self, strict: true)
            scenario.source = inline
        default:
            throw fail([.key("scenario")], "give a scenario file (a path relative to the sweep file) or an inline scenario mapping")
        }
        // Policies: a subset of the scenario's, each once.
        let available = scenario.policies.map(\.name)
        let policies = spec.policies ?? available
        if policies.isEmpty { throw fail([.key("policies")], "empty; name at least one of the scenario's policies (\(available.joined(separator: ", "))) or remove the key") }
        for (i, p) in policies.enumerated() {
            if !available.contains(p) {
                throw fail([.key("policies"), .index(i)], "no policy \"\(p)\" in the scenario; have \(available.joined(separator: ", "))")
            }
            if policies[..<i].contains(p) { throw fail([.key("policies"), .index(i)], "policy \"\(p)\" is listed twice; list each once") }
        }
        // Traces: named for folders, files that exist.
        if spec.traces.isEmpty { throw fail([.key("traces")], "empty; give at least one `{name: conv, file: PATH}`") }
        var traceFiles: [String: String] = [:]
        for (i, t) in spec.traces.enumerated() {
            let at: [JSONPathComponent] = [.key("traces"), .index(i)]
            guard !t.name.isEmpty, t.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }), t.name != ".", t.name != ".." else {
                throw fail(at + [.key("name")], "\"\(t.name)\" cannot name a results folder; use letters, digits, `-`, `_` or `.`")
            }
            if traceFiles[t.name] != nil { throw fail(at + [.key("name")], "trace name \"\(t.name)\" is used twice; give each trace its own name") }
            do {
                traceFiles[t.name] = try ScenarioSpec.existingFile(t.file, key: "file", baseDirectory: baseDirectory)
            } catch {
                throw fail(at + [.key("file")], "\(error)".replacingOccurrences(of: "file: ", with: "", options: .anchored)
                    .replacingOccurrences(of: "in a scenario are relative to its folder", with: "in a sweep file are relative to its folder"))
            }
        }
        // Rates: positive, distinct as folder names.
        if spec.rates.isEmpty { throw fail([.key("rates")], "empty; give request rates in requests per second, e.g. [10, 20, 40]") }
        for (i, r) in spec.rates.enumerated() {
            guard r.isFinite, r > 0 else {
                throw fail([.key("rates"), .index(i)], "must be a positive number of requests per second, got \(ScenarioRunner.f(r))")
            }
            if spec.rates[..<i].contains(where: { SweepCell.rateName($0) == SweepCell.rateName(r) }) {
                throw fail([.key("rates"), .index(i)], "rate \(SweepCell.rateName(r)) is listed twice; list each once")
            }
        }
        let seeds = spec.seeds ?? [scenario.seed ?? 0]
        if seeds.isEmpty { throw fail([.key("seeds")], "empty; give at least one seed or remove the key (default: the scenario's seed)") }
        for (i, s) in seeds.enumerated() where seeds[..<i].contains(s) {
            throw fail([.key("seeds"), .index(i)], "seed \(s) is listed twice; list each once")
        }
        guard let duration = spec.duration ?? scenario.duration ?? scenario.workload.duration else {
            throw YAMLError(message: "duration: missing; give the seconds of arrivals per cell, e.g. `duration: 300` (the scenario has no duration either)")
        }
        guard duration.isFinite, duration > 0 else {
            throw fail([.key("duration")], "must be a positive number of seconds, got \(ScenarioRunner.f(duration))")
        }
        if let ramp = spec.ramp, !(ramp.isFinite && ramp >= 0 && ramp < duration) {
            throw fail([.key("ramp")], "must be zero or more seconds and shorter than the duration (\(ScenarioRunner.f(duration)) s), got \(ScenarioRunner.f(ramp))")
        }
        // The scenario as `simulate` checks it, for the selected policies only.
        for p in policies {
            do {
                _ = try ScenarioRunner.prepare(scenario, baseDirectory: scenarioDirectory, policy: p)
            } catch {
                if case .string(let path) = spec.scenario { throw SimulationError("scenario \(path): \(error)") }
                throw SimulationError("scenario: \(error)")
            }
        }
        var sweep = Sweep(spec: spec, scenario: scenario, scenarioDirectory: scenarioDirectory, directory: baseDirectory,
                          policies: policies, seeds: seeds, traceFiles: traceFiles, duration: duration, cells: [])
        sweep.cells = Self.expand(seeds: seeds, traces: spec.traces.map(\.name), rates: spec.rates, policies: policies)
        return sweep
    }

    /// The grid in its documented order: seed, trace, rate, policy (the policy varies fastest), so that cell
    /// `((s × traces + t) × rates + r) × policies + p` has seed s, trace t, rate r and policy p.
    public static func expand(seeds: [UInt64], traces: [String], rates: [Double], policies: [String]) -> [SweepCell] {
        var cells: [SweepCell] = []
        cells.reserveCapacity(seeds.count * traces.count * rates.count * policies.count)
        for seed in seeds {
            for trace in traces {
                for rate in rates {
                    for policy in policies {
                        cells.append(SweepCell(index: cells.count, seed: seed, trace: trace, rate: rate, policy: policy))
                    }
                }
            }
        }
        return cells
    }

    /// The input files the sweep reads (the scenario's, the traces), relative to the sweep file's folder where
    /// possible: what a Job's working folder must hold.
    public var inputFiles: [String] {
        var files = spec.traces.map(\.file)
        if case .string(let path) = spec.scenario {
            files.append(path)
            let prefix = (path as NSString).deletingLastPathComponent
            func rel(_ p: String) -> String { p.hasPrefix("/") || prefix.isEmpty ? p : (prefix as NSString).appendingPathComponent(p) }
            files += scenario.profiles.map(rel) + scenario.workload.files(key: "").map { rel($0.path) }
            for p in scenario.policies where policies.contains(p.name) {
                files += (p.manifests ?? []).compactMap(\.stringValue).map(rel)
            }
            if let list = scenario.cluster?.nodeList { files.append(rel(list)) }
        } else {
            files += scenario.profiles + scenario.workload.files(key: "").map(\.path)
            for p in scenario.policies where policies.contains(p.name) { files += (p.manifests ?? []).compactMap(\.stringValue) }
            if let list = scenario.cluster?.nodeList { files.append(list) }
        }
        var seen = Set<String>()
        return files.map { ($0 as NSString).standardizingPath }.filter { seen.insert($0).inserted }
    }
}
