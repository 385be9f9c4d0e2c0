import Foundation
import KubeClient
import YAML

/// A real Prometheus server (the Debian package's `/usr/bin/prometheus`, installed by `make deps`) for tests:
/// started on loopback with a generated configuration that scrapes the test's endpoints every second, its
/// TSDB in a temporary directory, stopped (SIGKILL) by `stop()`. Waits for `/-/ready` and for samples with a
/// deadline, never a fixed sleep.
public final class RealPrometheus: Sendable {
    /// One scrape job: `targets` (`host:port`) at `path`, each target's samples given `labels`.
    public struct Job: Sendable {
        public var name: String
        public var path: String
        public var targets: [(target: String, labels: [String: String])]
        public init(name: String, path: String = "/metrics", targets: [(target: String, labels: [String: String])]) {
            self.name = name
            self.path = path
            self.targets = targets
        }
    }

    public let process: TestProcess
    public let port: Int
    public let dir: TestDirectory
    /// `http://127.0.0.1:PORT`, the `endpoint` of a `prometheus` metric source.
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    private let transport: HTTPTransport

    /// `HETEROSCALE_SKIP_PROMETHEUS=1`: the tests that need a real Prometheus skip (say so in their name).
    public static let skipRequested = ProcessInfo.processInfo.environment["HETEROSCALE_SKIP_PROMETHEUS"] == "1"

    /// `prometheus` (or `promtool`) on PATH; otherwise an error saying how to install it: a test that needs it
    /// fails loudly unless `HETEROSCALE_SKIP_PROMETHEUS=1` disabled it.
    public static func executable(_ name: String = "prometheus") throws -> String {
        if let path = which(name) { return path }
        throw RealPrometheusError("\(name) is not installed: `apt-get install prometheus` (make deps does), "
            + "or set HETEROSCALE_SKIP_PROMETHEUS=1 to skip the real-Prometheus tests")
    }

    /// Starts Prometheus scraping `jobs` every `interval`, with `ruleFiles` loaded (evaluated every `interval`).
    public init(jobs: [Job], interval: String = "1s", ruleFiles: [String] = []) async throws {
        let binary = try Self.executable()
        dir = try TestDirectory("heteroscale-prometheus")
        try dir.write("prometheus.yml", Self.configuration(jobs: jobs, interval: interval, ruleFiles: ruleFiles))
        transport = HTTPTransport()
        let launched: (process: TestProcess, port: Int)
        do {
            launched = try await Self.launch(binary, dir: dir)
        } catch {
            transport.shutdown()
            dir.cleanup()
            throw error
        }
        process = launched.process
        port = launched.port
        do {
            try await waitUntilReady()
        } catch {
            stop()
            throw error
        }
    }

    /// A free port is picked by binding port 0 and closing; another process may take it in between, so a
    /// start that fails retries on a new port.
    private static func launch(_ binary: String, dir: TestDirectory) async throws -> (process: TestProcess, port: Int) {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let candidate = try freePort()
            let p = try TestProcess(binary, [
                "--config.file=\(dir.path("prometheus.yml"))", "--storage.tsdb.path=\(dir.path("data"))",
                "--web.listen-address=127.0.0.1:\(candidate)", "--storage.tsdb.retention.time=1h", "--log.level=info",
            ])
            do {
                _ = try await p.waitForLine(containing: "Server is ready to receive web requests")
                return (p, candidate)
            } catch {
                p.stop()
                lastError = error
            }
        }
        throw lastError ?? RealPrometheusError("prometheus did not start")
    }

    private let stopped = Locked(false)

    /// Stops the server and removes its directory (once; later calls do nothing).
    public func stop() {
        guard !stopped.withLock({ s in defer { s = true }; return s }) else { return }
        process.stop()
        transport.shutdown()
        dir.cleanup()
    }

    static func configuration(jobs: [Job], interval: String, ruleFiles: [String]) -> String {
        var out = "global: {scrape_interval: \(interval), evaluation_interval: \(interval), scrape_timeout: \(interval)}\n"
        if !ruleFiles.isEmpty { out += "rule_files: [" + ruleFiles.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n" }
        out += "scrape_configs:\n"
        for job in jobs {
            out += "  - job_name: \"\(job.name)\"\n    metrics_path: \"\(job.path)\"\n    static_configs:\n"
            for t in job.targets {
                let labels = t.labels.sorted { $0.key < $1.key }.map { "\($0.key): \"\($0.value)\"" }.joined(separator: ", ")
                out += "      - {targets: [\"\(t.target)\"], labels: {\(labels)}}\n"
            }
        }
        return out
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RealPrometheusError("socket: \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw RealPrometheusError("bind: \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private func waitUntilReady(seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let r = try? await transport.send(HTTPRequest(url: "\(endpoint)/-/ready", timeout: 2)), r.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw RealPrometheusError("/-/ready did not answer 200 within \(seconds) s; output:\n\(process.output)")
    }

    /// One series of an instant vector.
    public struct Sample: Sendable, CustomStringConvertible {
        public var labels: [String: String]
        public var value: Double
        public var description: String { "\(labels.sorted { $0.key < $1.key }) \(value)" }
    }

    /// `GET /api/v1/<path>` and its `data` (an API error throws).
    public func api(_ path: String) async throws -> JSONValue {
        let r = try await transport.send(HTTPRequest(url: "\(endpoint)/api/v1/\(path)", timeout: 10))
        let json = try JSONValue.parseJSON(r.body)
        guard r.status == 200, json["status"]?.stringValue == "success", let data = json["data"] else {
            throw RealPrometheusError("\(path): HTTP \(r.status) \(String(decoding: r.body, as: UTF8.self))")
        }
        return data
    }

    /// The instant query's vector (a scalar is one sample without labels).
    public func query(_ promql: String) async throws -> [Sample] {
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promql
        let data = try await api("query?query=" + encoded)
        func value(_ pair: JSONValue?) -> Double? { pair?.arrayValue?.last?.stringValue.flatMap(Double.init) }
        if data["resultType"]?.stringValue == "scalar" { return value(data["result"]).map { [Sample(labels: [:], value: $0)] } ?? [] }
        return (data["result"]?.arrayValue ?? []).compactMap { s in
            guard let v = value(s["value"]) else { return nil }
            var labels: [String: String] = [:]
            for e in s["metric"]?.objectValue ?? [:] { labels[e.key] = e.value.stringValue ?? "" }
            return Sample(labels: labels, value: v)
        }
    }

    /// Polls `promql` every 200 ms until `condition` holds for its result, which is returned; throws with the
    /// last result after `seconds`.
    @discardableResult
    public func waitFor(_ promql: String, seconds: Double = 30, _ condition: ([Sample]) -> Bool) async throws -> [Sample] {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [Sample] = []
        while Date() < deadline {
            if let r = try? await query(promql) {
                last = r
                if condition(r) { return r }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw RealPrometheusError("timed out after \(seconds) s waiting on \(promql); last result: \(last)")
    }
}

public struct RealPrometheusError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A loopback HTTP server (python3) whose `/metrics` on each of its addresses serves Prometheus text with
/// series that advance linearly in time: a sample's value is `start + perSecond × (now − t0)` at the moment
/// of the request, so `rate()` and `histogram_quantile()` over them have answers the test knows.
public final class AdvancingMetricsServer: Sendable {
    /// One series: `labels` as written between the braces (`le="0.1",pod="a"`), or empty.
    public struct Series: Sendable {
        public var name: String
        public var labels: String
        public var start: Double
        public var perSecond: Double
        public init(_ name: String, _ labels: String = "", start: Double, perSecond: Double = 0) {
            self.name = name
            self.labels = labels
            self.start = start
            self.perSecond = perSecond
        }
    }

    /// A family: its `# TYPE` and series.
    public struct Family: Sendable {
        public var name: String
        public var type: String
        public var series: [Series]
        public init(_ name: String, _ type: String, _ series: [Series]) {
            self.name = name
            self.type = type
            self.series = series
        }
    }

    public let process: TestProcess
    public let port: Int
    let dir: TestDirectory

    /// Serves `payloads[ip]` at `http://ip:PORT/metrics` (one port for every address).
    public init(payloads: [String: [Family]]) async throws {
        dir = try TestDirectory("heteroscale-advancing")
        // JSON by hand: names, labels and numbers only (labels are escaped for JSON's string syntax).
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        let spec = payloads.map { ip, families in
            quoted(ip) + ": [" + families.map { f in
                "{\"name\": \(quoted(f.name)), \"type\": \(quoted(f.type)), \"series\": [" + f.series.map { s in
                    "{\"name\": \(quoted(s.name)), \"labels\": \(quoted(s.labels)), \"start\": \(s.start), \"rate\": \(s.perSecond)}"
                }.joined(separator: ", ") + "]}"
            }.joined(separator: ", ") + "]"
        }.joined(separator: ", ")
        try dir.write("spec.json", "{" + spec + "}")
        try dir.write("server.py", Self.script)
        process = try TestProcess(which("python3") ?? "/usr/bin/python3", ["-u", dir.path("server.py"), dir.path("spec.json")])
        let line = try await process.waitForLine(containing: "LISTENING")
        guard let p = line.split(separator: " ").last.flatMap({ Int($0) }) else { throw TestProcessError.ended(output: process.output) }
        port = p
    }

    /// Makes `ip` answer 500 from now on (a pod whose exporter broke: Prometheus marks its series stale).
    public func fail(ip: String) async throws {
        let r = try await HTTPTransport.shared.send(HTTPRequest(method: "POST", url: "http://\(ip):\(port)/_control/fail", timeout: 10))
        guard r.status == 200 else { throw RealPrometheusError("control /fail on \(ip) returned \(r.status)") }
    }

    public func stop() {
        process.stop()
        dir.cleanup()
    }

    static let script = #"""
import json, sys, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
spec = json.load(open(sys.argv[1]))
t0 = time.time()
failing = set()

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, status, body, ctype="text/plain; version=0.0.4"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        ip = self.server.server_address[0]
        if self.path == "/_control/fail":
            failing.add(ip)
            return self.reply(200, "ok")
        self.reply(404, "no")
    def do_GET(self):
        ip = self.server.server_address[0]
        if self.path != "/metrics" or ip not in spec:
            return self.reply(404, "not found")
        if ip in failing:
            return self.reply(500, "exporter broke")
        dt = time.time() - t0
        out = []
        for f in spec[ip]:
            out.append("# TYPE %s %s" % (f["name"], f["type"]))
            for s in f["series"]:
                v = s["start"] + s["rate"] * dt
                labels = "{" + s["labels"] + "}" if s["labels"] else ""
                out.append("%s%s %s" % (s["name"], labels, repr(float(v))))
        self.reply(200, "\n".join(out) + "\n")

port = 0
for ip in sorted(spec):
    server = ThreadingHTTPServer((ip, port), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("LISTENING", port, flush=True)
threading.Event().wait()
"""#
}
