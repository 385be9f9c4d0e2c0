import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

/// Fake vLLM engines: one real HTTP server per pod IP (127.0.10.N, loopback), all on one port, serving
/// `/metrics` in the Prometheus text format with values the test sets through a control port.
final class FakeEngines: Sendable {
    static let ipPrefix = "127.0.10."
    let process: TestProcess
    let dir: TestDirectory
    let port: Int
    let controlPort: Int

    init(pods: Int = 12) async throws {
        dir = try TestDirectory("heteroscale-engines")
        try dir.write("engines.py", Self.script)
        process = try TestProcess(which("python3") ?? "/usr/bin/python3", ["-u", dir.path("engines.py"), Self.ipPrefix, String(pods)])
        let line = try await process.waitForLine(containing: "READY")
        let parts = line.split(separator: " ")
        guard parts.count == 3, let c = Int(parts[1]), let p = Int(parts[2]) else { throw TestProcessError.ended(output: process.output) }
        controlPort = c
        port = p
    }

    /// Sets `vllm:num_requests_running` for every pod (a pod's share of the load).
    func set(_ value: Double) async throws { try await control("set?value=\(value)") }
    /// Makes the pod with this IP answer 500 (or heal it again).
    func fail(ip: String, _ failing: Bool = true) async throws { try await control("fail?ip=\(ip)&on=\(failing ? 1 : 0)") }
    func set(ip: String, _ value: Double) async throws { try await control("set?ip=\(ip)&value=\(value)") }
    /// Every pod generates `perPod` tokens/s from now on (`vllm:generation_tokens_total` grows at that rate).
    func setTokensPerSecond(_ perPod: Double) async throws { try await control("tps?value=\(perPod)") }
    /// Every pod's inter-token latencies from now on are `seconds` (100 observations/s into
    /// `vllm:inter_token_latency_seconds`, vLLM's buckets).
    func setInterTokenLatency(_ seconds: Double) async throws { try await control("itl?value=\(seconds)") }

    /// A fault mode for the pod with this IP (or every pod when `ip` is nil): `garbage` (a body that is not the
    /// exposition format), `truncated` (half the announced body, then the connection closes), `slow` (answers
    /// after `argument` seconds), `raw` (the gauge's value written as `argument` verbatim: `NaN`, `+Inf`, `1e308`),
    /// or `normal`.
    func mode(ip: String? = nil, _ mode: String, _ argument: String = "") async throws {
        let arg = argument.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? argument
        try await control("mode?mode=\(mode)&arg=\(arg)" + (ip.map { "&ip=\($0)" } ?? ""))
    }

    private func control(_ query: String) async throws {
        let r = try await HTTPTransport.shared.send(HTTPRequest(url: "http://127.0.0.1:\(controlPort)/\(query)"))
        #expect(r.status == 200)
    }

    func stop() {
        process.stop()
        dir.cleanup()
    }

    static let script = #"""
import sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
prefix, count = sys.argv[1], int(sys.argv[2])
values, failing, default = {}, set(), [1.0]
modes, default_mode = {}, [("normal", "")]
# Counters per pod IP, integrated from the rates set through the control port.
lock = threading.Lock()
tps, itl = [0.0], [None]
BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
state = {}
def advance(ip):
    now = time.monotonic()
    s = state.setdefault(ip, {"t": now, "tokens": 0.0, "buckets": [0.0] * (len(BUCKETS) + 1), "sum": 0.0})
    dt = now - s["t"]; s["t"] = now
    s["tokens"] += tps[0] * dt
    if itl[0] is not None:
        n = 100.0 * dt
        i = next((k for k, b in enumerate(BUCKETS) if itl[0] <= b), len(BUCKETS))
        s["buckets"][i] += n; s["sum"] += n * itl[0]
    return s
def settle():
    for ip in list(state): advance(ip)
class Engine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        ip = self.connection.getsockname()[0]
        if ip in failing or self.path != "/metrics":
            self.send_response(500 if ip in failing else 404); self.send_header("Content-Length", "0"); self.end_headers(); return
        v = values.get(ip, default[0])
        mode, arg = modes.get(ip, default_mode[0])
        if mode == "slow":
            time.sleep(float(arg))
        elif mode == "garbage":
            body = b"\x00\xff<html>not {the exposition} format\nvllm:num_requests_running{{{ 1 2 3\n"
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body); return
        elif mode == "raw":
            v = arg
        with lock:
            s = advance(ip)
            text = ("# HELP vllm:num_requests_running Number of requests currently running on GPU.\n"
                    "# TYPE vllm:num_requests_running gauge\n"
                    f'vllm:num_requests_running{{engine="0",model_name="llama"}} {v}\n'
                    "# TYPE vllm:generation_tokens_total counter\n"
                    f'vllm:generation_tokens_total{{engine="0",model_name="llama"}} {s["tokens"]}\n')
            if itl[0] is not None:
                text += "# TYPE vllm:inter_token_latency_seconds histogram\n"
                cum = 0.0
                for b, c in zip(BUCKETS + ["+Inf"], s["buckets"]):
                    cum += c
                    text += f'vllm:inter_token_latency_seconds_bucket{{engine="0",model_name="llama",le="{b}"}} {cum}\n'
                text += f'vllm:inter_token_latency_seconds_sum{{engine="0",model_name="llama"}} {s["sum"]}\n'
                text += f'vllm:inter_token_latency_seconds_count{{engine="0",model_name="llama"}} {cum}\n'
        body = text.encode()
        self.send_response(200); self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        if mode == "truncated":
            self.wfile.write(body[: len(body) // 2]); self.wfile.flush(); self.close_connection = True
            self.connection.shutdown(2); return
        self.wfile.write(body)
class Control(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        u = urlparse(self.path); q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/set":
            if "ip" in q: values[q["ip"]] = float(q["value"])
            else: values.clear(); default[0] = float(q["value"])
        elif u.path == "/fail":
            (failing.add if q.get("on") == "1" else failing.discard)(q["ip"])
        elif u.path == "/mode":
            m = (q.get("mode", "normal"), q.get("arg", ""))
            if "ip" in q: modes[q["ip"]] = m
            else: modes.clear(); default_mode[0] = m
        elif u.path in ("/tps", "/itl"):
            with lock:
                settle()
                (tps if u.path == "/tps" else itl)[0] = float(q["value"])
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
port = 0
for i in range(2, 2 + count):
    server = ThreadingHTTPServer((prefix + str(i), port), Engine)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
threading.Thread(target=control.serve_forever, daemon=True).start()
print("READY", control.server_address[1], port, flush=True)
threading.Event().wait()
"""#
}

/// A `heteroscale controller` process against the emulator's kubeconfig.
final class ControllerProcess: Sendable {
    let process: TestProcess
    let metricsPort: Int
    let healthPort: Int

    init(kubeconfig: String, extra: [String] = []) async throws {
        process = try TestProcess(Self.binary, ["controller", "--kubeconfig", kubeconfig, "--metrics-bind-address", "127.0.0.1:0",
                                                "--health-probe-bind-address", "127.0.0.1:0"] + extra)
        metricsPort = try Self.port(try await process.waitForLine(containing: "serving metrics"))
        healthPort = try Self.port(try await process.waitForLine(containing: "serving health probes"))
    }

    /// The `heteroscale` executable built beside the test bundle.
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("heteroscale").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return "\(repositoryRoot)/.build/debug/heteroscale"
    }

    private static func port(_ line: String) throws -> Int {
        guard let r = line.range(of: "address=127.0.0.1:"), let p = Int(line[r.upperBound...].prefix { $0.isNumber }) else {
            throw TestProcessError.ended(output: line)
        }
        return p
    }

    func get(_ path: String, port: Int? = nil) async throws -> (status: Int, body: String) {
        let r = try await HTTPTransport.shared.send(HTTPRequest(url: "http://127.0.0.1:\(port ?? metricsPort)\(path)"))
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    /// The value of one exposition line that starts with `series` (name and labels as written), if any.
    func metric(_ series: String) async throws -> Double? {
        let body = try await get("/metrics").body
        return body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// Sends SIGTERM and waits for the process to end; returns its exit status.
    func terminate() -> Int32 {
        kill(process.process.processIdentifier, SIGTERM)
        process.process.waitUntilExit()
        return process.process.terminationStatus
    }

    func stop() { process.stop() }
}

/// The emulator with the kubelet handing out loopback pod IPs, the CRDs, a kubeconfig file, and kubectl.
struct ClusterFixture {
    let emulator: KubeEmulator
    let client: RESTClient
    let dir: TestDirectory
    var kubeconfig: String { dir.path("kubeconfig") }

    /// `podIPPrefix` is what the kubelet hands out; `podNetwork` is where the emulator's pod proxy dials a pod IP
    /// (a prefix other than `FakeEngines.ipPrefix` mapped back onto it makes pods reachable only through the proxy).
    static func start(podIPPrefix: String = FakeEngines.ipPrefix,
                      podNetwork: @escaping @Sendable (String) -> String = { $0 }) async throws -> ClusterFixture {
        var config = KubeEmulator.Configuration()
        config.kubelet = KubeletOptions(readyDelay: .milliseconds(200), nodeName: "gpu-node-1", podIPPrefix: podIPPrefix)
        config.podNetwork = podNetwork
        let emulator = KubeEmulator(configuration: config)
        let port = try await emulator.start()
        let dir = try TestDirectory("heteroscale-e2e")
        try dir.write("kubeconfig", KubeEmulator.kubeconfig(server: "http://127.0.0.1:\(port)"))
        let f = ClusterFixture(emulator: emulator, client: RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(port)", namespace: "default", source: "test")), dir: dir)
        try f.kubectl("apply", "-f", "\(repositoryRoot)/crds/")
        return f
    }

    func stop() async {
        try? await emulator.stop()
        dir.cleanup()
    }

    @discardableResult
    func kubectl(_ args: String...) throws -> String {
        try runCommand(which("kubectl") ?? "/usr/bin/kubectl", ["--kubeconfig", kubeconfig] + args)
    }

    /// Applies YAML through kubectl (a real client).
    func apply(_ yaml: String) throws {
        let name = "manifest-\(UUID().uuidString).yaml"
        try dir.write(name, yaml)
        try kubectl("apply", "-f", dir.path(name))
    }

    func replicas(_ name: String = "model") async throws -> Int {
        Int(try await client.get(.deployments, namespace: "default", name: name)["spec"]?["replicas"]?.intValue ?? -1)
    }

    static func deployment(_ name: String = "model", replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(name), namespace: default}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec: {containers: [{name: vllm, image: vllm/vllm-openai, ports: [{containerPort: 8000}]}]}
        """
    }

    static func autoscaler(_ name: String, strategy: String, port: Int, target: String = "10", min: Int = 1, max: Int = 4,
                           tick: Int = 1, extra: String = "", deployment: String = "model") -> String {
        """
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata: {name: \(name), namespace: default}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: \(deployment)}
          minReplicas: \(min)
          maxReplicas: \(max)
          scalingStrategy: \(strategy)
          tickSeconds: \(tick)
          metricsSources:
            - {metricSourceType: pod, protocolType: http, port: "\(port)", path: /metrics, targetMetric: num_requests_running, targetValue: "\(target)"}
        \(extra)
        """
    }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass (wall time: these tests drive real
/// processes); records an issue on timeout.
@discardableResult
func eventually(_ what: String, seconds: Double = 40, _ condition: () async throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out after \(seconds) s waiting for \(what)")
    return false
}
