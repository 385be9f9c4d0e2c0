import ArgumentParser
import Controller
import Foundation
import KubeClient
import KubeEmulator
import YAML

/// `heteroscale bench-controller`: DESIGN.md §7's controller target, measured. N PodAutoscalers × M pods are
/// seeded into the loopback API emulator, every pod's IP (127.0.30.K) is served by a real HTTP server with a
/// vLLM-sized payload, and `heteroscale controller` runs as a child process that scrapes and decides every
/// PodAutoscaler on its tick. Prints decisions per second, the controller's CPU (from /proc) and peak RSS.
struct BenchControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-controller",
        abstract: "Benchmark the controller: N PodAutoscalers x M pods scraped and decided every tick (run from the repository root).")

    @Option(help: "PodAutoscalers (each with its own Deployment).")
    var autoscalers = 1000

    @Option(help: "Pods per Deployment (at most 200).")
    var pods = 8

    @Option(help: "Decision period of every PodAutoscaler, seconds.")
    var tick = 2.0

    @Option(help: "Measured seconds (after one warm-up tick).")
    var seconds = 20.0

    @Option(help: "Reconcile workers of the controller under test.")
    var workers = 16

    @Option(help: "The CRD directory.")
    var crds = "crds"

    func validate() throws {
        guard autoscalers > 0, (1...200).contains(pods), tick > 0, seconds > 0, workers > 0 else {
            throw ValidationError("--autoscalers, --tick, --seconds and --workers must be positive, --pods within 1...200")
        }
    }

    func run() async throws {
        let emulator = KubeEmulator()
        let apiPort = try await emulator.start()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heteroscale-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let kubeconfig = dir.appendingPathComponent("kubeconfig").path
        try KubeEmulator.kubeconfig(server: "http://127.0.0.1:\(apiPort)").write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        for file in try FileManager.default.contentsOfDirectory(atPath: crds).filter({ $0.hasSuffix(".yaml") }).sorted() {
            for doc in try YAML.loadAll(String(contentsOfFile: "\(crds)/\(file)", encoding: .utf8)) where !doc.isNull {
                _ = try emulator.apply(doc)
            }
        }

        // One HTTP server per pod IP, all on one port: every PodAutoscaler's pods use these IPs.
        let payload = Self.payload
        let route: HTTPEndpoints.Route = { HTTPEndpoints.Response(contentType: "text/plain; version=0.0.4", body: payload) }
        var engines = [try await HTTPEndpoints(address: "127.0.30.1:0", routes: ["/metrics": route])]
        for k in 2...max(2, pods) where k <= pods {
            engines.append(try await HTTPEndpoints(address: "127.0.30.\(k):\(engines[0].port)", routes: ["/metrics": route]))
        }
        let servers = engines
        defer { Task { for e in servers { await e.close() } } }

        let seedStart = ContinuousClock.now
        for i in 0..<autoscalers {
            try seed(emulator, index: i, port: engines[0].port)
        }
        print("seeded \(autoscalers) PodAutoscalers, \(autoscalers) Deployments and \(autoscalers * pods) pods in \(Self.format(ContinuousClock.now - seedStart)) s")

        let child = try ChildController(arguments: [
            "controller", "--kubeconfig", kubeconfig, "--metrics-bind-address", "127.0.0.1:0",
            "--health-probe-bind-address", "0", "--workers", String(workers),
        ])
        defer { child.stop() }
        let metricsPort = try await child.metricsPort()
        let reconciles = { () async throws -> Double in
            let body = try await HTTPTransport.shared.send(HTTPRequest(url: "http://127.0.0.1:\(metricsPort)/metrics")).body
            return String(decoding: body, as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("controller_runtime_reconcile_total{") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }
        // Warm-up: caches synced and every PodAutoscaler decided once.
        let warmupDeadline = ContinuousClock.now + .seconds(120)
        while try await reconciles() < Double(autoscalers), ContinuousClock.now < warmupDeadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let r0 = try await reconciles(), cpu0 = child.cpuSeconds(), t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        let r1 = try await reconciles(), cpu1 = child.cpuSeconds(), t1 = ContinuousClock.now
        let wall = Double((t1 - t0).components.seconds) + Double((t1 - t0).components.attoseconds) * 1e-18
        let decisions = (r1 - r0) / wall
        let wanted = Double(autoscalers) / tick
        let cores = (cpu1 - cpu0) / wall
        let rss = child.peakRSSMegabytes()
        print(String(format: "decisions: %.0f/s (target %.0f/s for %d PodAutoscalers every %.1f s: %.2fx)", decisions, wanted, autoscalers, tick, decisions / wanted))
        print(String(format: "scrapes:   %.0f/s (%d pods each)", decisions * Double(pods), pods))
        print(String(format: "controller CPU: %.2f cores (target at most 1: %.2fx of the budget)", cores, cores))
        print(String(format: "controller peak RSS: %.1f MB (target under 150 MB)", rss))
        print("(the emulator and the metric servers run in this process, on the same 2 cores)")
    }

    private func seed(_ emulator: KubeEmulator, index i: Int, port: Int) throws {
        let app = "bench-\(i)"
        _ = try emulator.apply([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(app), "namespace": "default"],
            "spec": ["replicas": .int(Int64(pods)), "selector": ["matchLabels": ["app": .string(app)]],
                     "template": ["metadata": ["labels": ["app": .string(app)]], "spec": ["containers": [["name": "vllm", "image": "vllm"]]]]],
        ])
        for k in 1...pods {
            _ = try emulator.apply([
                "apiVersion": "v1", "kind": "Pod",
                "metadata": ["name": .string("\(app)-\(k)"), "namespace": "default", "labels": ["app": .string(app)]],
                "spec": ["containers": [["name": "vllm", "image": "vllm"]]],
                "status": ["phase": "Running", "podIP": .string("127.0.30.\(k)"),
                           "conditions": [["type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"]]],
            ])
        }
        // KPA on running requests: every pod reports 10 against a target of 10, so the count holds.
        _ = try emulator.apply([
            "apiVersion": "heteroscale.io/v1alpha1", "kind": "PodAutoscaler",
            "metadata": ["name": .string(app), "namespace": "default"],
            "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": .string(app)],
                     "minReplicas": 1, "maxReplicas": .int(Int64(pods * 2)), "scalingStrategy": "KPA", "tickSeconds": .double(tick),
                     "metricsSources": [["metricSourceType": "pod", "protocolType": "http", "port": .string(String(port)),
                                         "path": "/metrics", "targetMetric": "num_requests_running", "targetValue": "10"]]],
        ])
    }

    static func format(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }

    /// A vLLM 0.8-like exposition (about 4 kB): gauges, counters and histograms for one engine.
    static let payload: String = {
        var out = """
            # HELP vllm:num_requests_running Number of requests currently running on GPU.
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running{engine="0",model_name="llama"} 10
            # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
            # TYPE vllm:num_requests_waiting gauge
            vllm:num_requests_waiting{engine="0",model_name="llama"} 0
            # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
            # TYPE vllm:kv_cache_usage_perc gauge
            vllm:kv_cache_usage_perc{engine="0",model_name="llama"} 0.42
            # HELP vllm:prompt_tokens_total Number of prefill tokens processed.
            # TYPE vllm:prompt_tokens_total counter
            vllm:prompt_tokens_total{engine="0",model_name="llama"} 123456789
            # HELP vllm:generation_tokens_total Number of generation tokens processed.
            # TYPE vllm:generation_tokens_total counter
            vllm:generation_tokens_total{engine="0",model_name="llama"} 23456789

            """
        for name in ["time_to_first_token_seconds", "inter_token_latency_seconds", "e2e_request_latency_seconds"] {
            out += "# HELP vllm:\(name) Histogram of \(name).\n# TYPE vllm:\(name) histogram\n"
            var cumulative = 0
            for le in ["0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "+Inf"] {
                cumulative += 1000
                out += "vllm:\(name)_bucket{engine=\"0\",le=\"\(le)\",model_name=\"llama\"} \(cumulative)\n"
            }
            out += "vllm:\(name)_sum{engine=\"0\",model_name=\"llama\"} 12345.6\nvllm:\(name)_count{engine=\"0\",model_name=\"llama\"} \(cumulative)\n"
        }
        return out
    }()
}

/// `heteroscale controller` as a child process, with its CPU time and peak RSS read from /proc.
final class ChildController {
    let process = Process()
    private let output = Pipe()
    private let lines = Locked<String>("")

    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [lines] h in
            let data = h.availableData
            lines.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    func metricsPort() async throws -> Int {
        for _ in 0..<600 {
            let text = lines.withLock { $0 }
            if let r = text.range(of: "serving metrics address=127.0.0.1:"), let port = Int(text[r.upperBound...].prefix { $0.isNumber }) {
                return port
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CommandFailure(description: "the controller did not start: \(lines.withLock { $0 })")
    }

    /// utime + stime of the child, seconds.
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the name: state is [0]; utime and stime are fields 14 and 15 of the whole line.
        guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func peakRSSMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
