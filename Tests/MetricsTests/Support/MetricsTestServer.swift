import TestSupport
import Foundation
import KubeClient
import YAML

/// A real HTTP/1.1 server on loopback (Python's threaded http.server) standing in for pod metrics endpoints
/// and a Prometheus API. It listens on one port at 127.0.0.1 … 127.0.0.`addresses`, so each "pod" has its
/// own IP. Routes are keyed by `ip + path` and set by the test through control endpoints:
///   POST /_control/route?key=IP/PATH&status=S&delay_ms=D   body = the payload to serve
///   POST /_control/query?query=Q&status=S                   body = the JSON answer to /api/v1/query?query=Q
///   GET  /_control/stats   {requests: {key: n}, accept: {key: header}, max_inflight, queries, raw_query_paths}
///   POST /_control/reset   clears the statistics
/// An unknown route answers 404; an unknown query an empty vector.
final class MetricsTestServer: Sendable {
    let process: TestProcess
    let port: Int
    let directory: URL
    let control: HTTPTransport

    init(addresses: Int = 12) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("heteroscale-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("server.py").path
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process = try TestProcess(which("python3") ?? "/usr/bin/python3", ["-u", script, String(addresses)])
        let line = try await process.waitForLine(containing: "LISTENING")
        guard let p = line.split(separator: " ").last.flatMap({ Int($0) }) else { throw TestProcessError.ended(output: process.output) }
        port = p
        control = HTTPTransport()
    }

    func stop() {
        process.stop()
        control.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    var prometheusEndpoint: String { "http://127.0.0.1:\(port)" }

    private func post(_ path: String, _ body: [UInt8]) async throws {
        let r = try await control.send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)\(path)", body: body, timeout: 10))
        guard r.status == 200 else { throw TestProcessError.ended(output: "control \(path) returned \(r.status)") }
    }

    /// Serves `body` at `http://ip:port/path`, after `delayMs`, with `status`.
    func route(ip: String, path: String = "/metrics", body: String, status: Int = 200, delayMs: Int = 0, contentType: String? = nil) async throws {
        let key = PercentEncoding.encode(ip + path)
        let ctype = contentType.map { "&ctype=\(PercentEncoding.encode($0))" } ?? ""
        try await post("/_control/route?key=\(key)&status=\(status)&delay_ms=\(delayMs)\(ctype)", Array(body.utf8))
    }

    func route(ip: String, path: String = "/metrics", bytes: [UInt8]) async throws {
        try await post("/_control/route?key=\(PercentEncoding.encode(ip + path))&status=200&delay_ms=0", bytes)
    }

    /// Answers the PromQL `query` (as received, decoded) with `json`.
    func answer(query: String, json: String, status: Int = 200) async throws {
        try await post("/_control/query?query=\(PercentEncoding.encode(query))&status=\(status)", Array(json.utf8))
    }

    struct Stats {
        var requests: [String: Int]
        var accept: [String: String]
        var maxInFlight: Int
        var queries: [String]
        var rawQueryPaths: [String]
    }

    func stats() async throws -> Stats {
        let r = try await control.send(HTTPRequest(url: "http://127.0.0.1:\(port)/_control/stats", timeout: 10))
        let json = try JSONValue.parseJSON(r.body)
        var requests: [String: Int] = [:], accept: [String: String] = [:]
        for e in json["requests"]?.objectValue ?? [:] { requests[e.key] = Int(e.value.intValue ?? 0) }
        for e in json["accept"]?.objectValue ?? [:] { accept[e.key] = e.value.stringValue }
        return Stats(
            requests: requests, accept: accept, maxInFlight: Int(json["max_inflight"]?.intValue ?? 0),
            queries: json["queries"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            rawQueryPaths: json["raw_query_paths"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    func reset() async throws { try await post("/_control/reset", []) }

    static let script = #"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

lock = threading.Lock()
routes = {}
queries = {}
def fresh():
    return {"requests": {}, "accept": {}, "inflight": 0, "max_inflight": 0, "queries": [], "raw_query_paths": []}
stats = fresh()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def handle_error(self, *a): pass

    def reply(self, code, body, ctype="text/plain; version=0.0.4; charset=utf-8"):
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        global stats
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            if u.path == "/_control/route":
                routes[q["key"]] = {"status": int(q.get("status", "200")), "body": body, "delay": float(q.get("delay_ms", "0")) / 1000,
                                    "ctype": q.get("ctype")}
            elif u.path == "/_control/query":
                queries[q["query"]] = {"status": int(q.get("status", "200")), "body": body}
            elif u.path == "/_control/reset":
                stats = fresh()
        self.reply(200, b"ok")

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/_control/stats":
            with lock:
                body = json.dumps(stats).encode()
            return self.reply(200, body, "application/json")
        if u.path == "/api/v1/query":
            query = parse_qs(u.query).get("query", [""])[0]
            with lock:
                stats["queries"].append(query)
                stats["raw_query_paths"].append(self.path)
                r = queries.get(query)
            if r is None:
                return self.reply(200, b'{"status":"success","data":{"resultType":"vector","result":[]}}', "application/json")
            return self.reply(r["status"], r["body"], "application/json")
        key = self.server.server_address[0] + u.path
        with lock:
            stats["requests"][key] = stats["requests"].get(key, 0) + 1
            stats["accept"][key] = self.headers.get("Accept", "")
            stats["inflight"] += 1
            stats["max_inflight"] = max(stats["max_inflight"], stats["inflight"])
            route = routes.get(key)
        try:
            if route is None:
                return self.reply(404, b"not found")
            if route["delay"] > 0:
                time.sleep(route["delay"])
            if route.get("ctype"):
                self.reply(route["status"], route["body"], route["ctype"])
            else:
                self.reply(route["status"], route["body"])
        finally:
            with lock:
                stats["inflight"] -= 1

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

first = Server(("127.0.0.1", 0), Handler)
port = first.server_address[1]
servers = [first] + [Server(("127.0.0.%d" % i, port), Handler) for i in range(2, int(sys.argv[1]) + 1)]
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("LISTENING %d" % port, flush=True)
first.serve_forever()
"""#
}

enum PercentEncoding {
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                out.append(Character(Unicode.Scalar(b)))
            } else {
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }
}
