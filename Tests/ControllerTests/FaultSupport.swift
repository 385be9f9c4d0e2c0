import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

// Shared by the fault suite (FaultSuiteTests*.swift): the summary table, process figures from /proc, a
// replica recorder, log-line counting, and a PodAutoscaler manifest with a chosen tick.

/// One scenario's figures: a row of the summary table.
struct FaultFigures: Sendable {
    var scenario: String
    var load: String
    var faults: String
    var lostUpdates: Int
    var wrongScaleDowns: Int
    var recovery: String
    /// Further figures for this scenario (printed on its own line, not in the table).
    var details: String = ""
}

/// The rows so far, printed as one markdown table after every scenario (the last print has them all) and
/// written to `.build/fault-suite.md`.
actor FaultTable {
    static let shared = FaultTable()
    private var rows: [String: FaultFigures] = [:]

    func add(_ row: FaultFigures) -> String {
        rows[row.scenario] = row
        let text = render()
        try? text.write(toFile: "\(repositoryRoot)/.build/fault-suite.md", atomically: true, encoding: .utf8)
        return text
    }

    func render() -> String {
        var out = "| scenario | load | faults injected | lost updates | wrong scale-downs | recovery time |\n"
        out += "|---|---|---|---|---|---|\n"
        for key in rows.keys.sorted() {
            let r = rows[key]!
            out += "| \(r.scenario) | \(r.load) | \(r.faults) | \(r.lostUpdates) | \(r.wrongScaleDowns) | \(r.recovery) |\n"
        }
        let details = rows.keys.sorted().compactMap { k in rows[k]!.details.isEmpty ? nil : "- \(k): \(rows[k]!.details)" }
        return out + (details.isEmpty ? "" : "\n" + details.joined(separator: "\n") + "\n")
    }
}

/// Prints the scenario's row and the table so far.
func report(_ row: FaultFigures) async {
    print("FAULT-SUITE \(row.scenario): load=\(row.load); faults=\(row.faults); lost=\(row.lostUpdates); wrongScaleDowns=\(row.wrongScaleDowns); recovery=\(row.recovery); \(row.details)")
    let table = await FaultTable.shared.add(row)
    print("FAULT-SUITE summary so far:\n" + table)
}

func seconds(_ t: Double) -> String { String(format: "%.1f s", t) }

/// CPU time and memory of a process, from /proc (Linux).
struct ProcessFigures: Sendable {
    var cpuSeconds: Double
    var rssMiB: Double
    var peakRSSMiB: Double

    static func of(_ pid: Int32) -> ProcessFigures? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func kib(_ key: String) -> Double {
            status.split(separator: "\n").first { $0.hasPrefix(key + ":") }
                .flatMap { Double($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        }
        return ProcessFigures(cpuSeconds: (utime + stime) / ticks, rssMiB: kib("VmRSS") / 1024, peakRSSMiB: kib("VmHWM") / 1024)
    }
}

/// Counts requests the test itself sends, so the controller's share of the emulator's traffic is the rest.
final class RequestTally: Sendable {
    private let box = LockedBox(0)
    var count: Int { box.value }
    func add(_ n: Int = 1) { box.mutate { $0 += n } }
}

/// Records a Deployment's `spec.replicas` every 100 ms (GET, counted in `tally`) until stopped: the changes,
/// and how many of them went down.
final class ReplicaRecorder: Sendable {
    private let history = LockedBox<[(at: Date, replicas: Int)]>([])
    private let task: LockedBox<Task<Void, Never>?> = LockedBox(nil)

    init(client: RESTClient, deployment: String, tally: RequestTally) {
        let history = self.history
        task.mutate {
            $0 = Task {
                while !Task.isCancelled {
                    tally.add()
                    if let r = try? await client.get(.deployments, namespace: "default", name: deployment)["spec"]?["replicas"]?.intValue {
                        history.mutate { h in if h.last?.replicas != Int(r) { h.append((Date(), Int(r))) } }
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
    }

    /// The values seen, in order, each once per change.
    var values: [Int] { history.value.map(\.replicas) }
    var last: Int? { history.value.last?.replicas }
    /// How many changes went down.
    var scaleDowns: Int { zip(values, values.dropFirst()).filter { $0.1 < $0.0 }.count }
    /// How many times the direction of change reversed (up then down, or down then up).
    var reversals: Int {
        let steps = zip(values, values.dropFirst()).map { $0.1 > $0.0 ? 1 : -1 }
        return zip(steps, steps.dropFirst()).filter { $0.0 != $0.1 }.count
    }
    /// When the replicas first equalled `n`.
    func firstTime(_ n: Int) -> Date? { history.value.first { $0.replicas == n }?.at }

    func stop() { task.value?.cancel() }
}

/// Log lines of a controller's output at `warning` or above (text format: `TIME LEVEL message k=v…`).
func warningLines(_ output: String) -> [Substring] {
    output.split(separator: "\n").filter { line in
        let level = line.split(separator: " ", maxSplits: 2).dropFirst().first
        return level == "warning" || level == "error" || level == "critical"
    }
}

/// A PodAutoscaler for `deployment` on `num_requests_running` with a chosen tick and scale-down window.
func faultAutoscaler(_ name: String, deployment: String = "model", strategy: String = "HPA", port: Int, target: String = "10",
                     min: Int = 1, max: Int = 4, tick: Int = 1, scaleDownWindow: Int = 0) -> String {
    ClusterFixture.autoscaler(name, strategy: strategy, port: port, target: target, min: min, max: max, tick: tick,
                              extra: "  behavior: {scaleDown: {stabilizationWindowSeconds: \(scaleDownWindow)}}", deployment: deployment)
}

extension ClusterFixture {
    /// The fixture on an emulator with `configure` applied to its configuration (history, bookmarks).
    static func start(configure: (inout KubeEmulator.Configuration) -> Void) async throws -> ClusterFixture {
        var config = KubeEmulator.Configuration()
        config.kubelet = KubeletOptions(readyDelay: .milliseconds(200), nodeName: "gpu-node-1", podIPPrefix: FakeEngines.ipPrefix)
        configure(&config)
        let emulator = KubeEmulator(configuration: config)
        let port = try await emulator.start()
        let dir = try TestDirectory("heteroscale-faults")
        try dir.write("kubeconfig", KubeEmulator.kubeconfig(server: "http://127.0.0.1:\(port)"))
        let f = ClusterFixture(emulator: emulator, client: RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(port)", namespace: "default", source: "test")), dir: dir)
        try f.kubectl("apply", "-f", "\(repositoryRoot)/crds/")
        return f
    }

    /// Creates objects from YAML through the API (faster than kubectl for many objects).
    func create(_ yaml: String, as resource: GroupVersionResource) async throws {
        _ = try await client.create(resource, namespace: "default", try YAML.load(yaml))
    }

    /// The pod IPs of a Deployment's pods, once all `count` have one.
    func podIPs(_ deployment: String, count: Int) async throws -> [String] {
        var ips: [String] = []
        await eventually("\(count) pod IPs of \(deployment)") {
            var options = ListOptions()
            options.labelSelector = "app=\(deployment)"
            let items = try await client.list(.pods, namespace: "default", options: options)["items"]?.arrayValue ?? []
            ips = items.compactMap { $0["status"]?["podIP"]?.stringValue }
            return ips.count == count
        }
        return ips.sorted()
    }

    func autoscaler(_ name: String) async throws -> PodAutoscaler {
        try await client.get(.podAutoscalers, namespace: "default", name: name).decode(PodAutoscaler.self)
    }

    /// The events about one object: (reason, note).
    func events(about name: String) async throws -> [(reason: String, note: String)] {
        let items = try await client.list(.events, namespace: "default")["items"]?.arrayValue ?? []
        return items.filter { $0["regarding"]?["name"]?.stringValue == name }.map {
            ($0["reason"]?.stringValue ?? "", $0["note"]?.stringValue ?? "")
        }
    }
}
