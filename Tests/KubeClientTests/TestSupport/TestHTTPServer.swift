import TestSupport
import Foundation

/// A real HTTP/1.1 server (Python's http.server, threaded, keep-alive) on loopback for transport tests.
/// Endpoints:
///   /echo                 JSON {method, path, headers, body}
///   /lines?n=N&gate=G     chunked; sends "line i", then waits until /release?gate=G&i=i before the next
///   /big?bytes=N          chunked body of N bytes, byte k = k % 251
///   /slow?ms=M            answers after M ms
///   /forever              chunked, a line every 20 ms until the client goes away (at most 60 s)
///   /status?code=C        answers with status C
///   /connections          how many TCP connections the server has accepted
///   /fake/MODE/...        a minimal API server for doctor: /version, heteroscale.io discovery, an empty
///                         PodAutoscaler list and SelfSubjectAccessReviews; MODE is ok | nocrds | denied |
///                         unauth | forbidden | old (Kubernetes 1.27) | nsonly (cluster-wide reviews denied) | noproxy (no pods/proxy) |
///                         html (every path is a web page) | html401 (an auth proxy's HTML 401 page).
///                         Every fake call needs "Authorization: Bearer good" (else 401).
final class TestHTTPServer: Sendable {
    let process: TestProcess
    let port: Int
    let dir: TestDirectory
    var base: String { "http://127.0.0.1:\(port)" }

    init() async throws {
        dir = try TestDirectory("heteroscale-http")
        try dir.write("server.py", Self.script)
        process = try TestProcess(which("python3") ?? "/usr/bin/python3", ["-u", dir.path("server.py")])
        let line = try await process.waitForLine(containing: "LISTENING")
        guard let p = line.split(separator: " ").last.flatMap({ Int($0) }) else { throw TestProcessError.ended(output: process.output) }
        port = p
    }

    func stop() {
        process.stop()
        dir.cleanup()
    }

    static let script = #"""
import json, sys, threading, time, socketserver
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

gates = {}
gates_lock = threading.Lock()
connections = [0]

def gate(name):
    with gates_lock:
        if name not in gates:
            gates[name] = threading.Event()
        return gates[name]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def setup(self):
        super().setup()
        connections[0] += 1

    def send_body(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start_chunked(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def handle_any(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if u.path.startswith("/fake/"):
            self.fake(u.path.split("/", 3)[2], "/" + (u.path.split("/", 3)[3] if u.path.count("/") >= 3 else ""), body)
        elif u.path == "/echo":
            out = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            self.send_body(200, json.dumps(out).encode(), "application/json")
        elif u.path == "/lines":
            n = int(q.get("n", "3")); g = q.get("gate", "g")
            self.start_chunked()
            for i in range(n):
                self.chunk(b"line %d\n" % i)
                if i < n - 1 and not gate("%s-%d" % (g, i)).wait(30):
                    break
            self.chunk(b"")
        elif u.path == "/release":
            gate("%s-%s" % (q.get("gate", "g"), q.get("i", "0"))).set()
            self.send_body(200, b"released")
        elif u.path == "/big":
            n = int(q.get("bytes", "0"))
            self.start_chunked()
            sent = 0
            block = bytes(k % 251 for k in range(251 * 256))
            while sent < n:
                take = min(len(block), n - sent)
                # keep the pattern continuous: block starts at a multiple of 251
                self.chunk(block[:take])
                sent += take
            self.chunk(b"")
        elif u.path == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000)
            self.send_body(200, b"slow")
        elif u.path == "/forever":
            self.start_chunked()
            try:
                for i in range(3000):
                    self.chunk(b"tick %d\n" % i)
                    time.sleep(0.02)
                self.chunk(b"")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif u.path == "/status":
            self.send_body(int(q.get("code", "200")), b"status body")
        elif u.path == "/connections":
            self.send_body(200, str(connections[0]).encode())
        else:
            self.send_body(404, b"not found")

    def status(self, code, reason, message):
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}
        self.send_body(code, json.dumps(out).encode(), "application/json")

    def fake(self, mode, path, body):
        page = b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n" + b"<p>lorem ipsum</p>\n" * 200 + b"</body>\n</html>\n"
        if mode == "html":
            return self.send_body(200, page, "text/html")
        if mode == "html401":
            return self.send_body(401, page.replace(b"Welcome to nginx!", b"401 Authorization Required"), "text/html")
        if mode == "unauth" or self.headers.get("Authorization") != "Bearer good":
            return self.status(401, "Unauthorized", "Unauthorized")
        if mode == "forbidden":
            return self.status(403, "Forbidden", 'forbidden: User "system:anonymous" cannot get path "%s"' % path)
        if path == "/version":
            if mode == "old":
                return self.send_body(200, json.dumps({"major": "1", "minor": "27+", "gitVersion": "v1.27.3-eks-1234", "platform": "linux/amd64"}).encode(), "application/json")
            return self.send_body(200, json.dumps({"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake", "platform": "linux/amd64"}).encode(), "application/json")
        if path == "/apis/heteroscale.io/v1alpha1/podautoscalers":
            return self.send_body(200, json.dumps({"kind": "PodAutoscalerList", "apiVersion": "heteroscale.io/v1alpha1", "metadata": {}, "items": []}).encode(), "application/json")
        if path == "/apis/heteroscale.io/v1alpha1":
            if mode == "nocrds":
                return self.status(404, "NotFound", "the server could not find the requested resource")
            out = {"kind": "APIResourceList", "groupVersion": "heteroscale.io/v1alpha1",
                   "resources": [{"name": "podautoscalers", "kind": "PodAutoscaler", "namespaced": True},
                                 {"name": "deploymentgroups", "kind": "DeploymentGroup", "namespaced": True}]}
            return self.send_body(200, json.dumps(out).encode(), "application/json")
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" and self.command == "POST":
            review = json.loads(body)
            attrs = review["spec"]["resourceAttributes"]
            allowed = not (mode == "denied" and attrs.get("group") == "coordination.k8s.io")
            if mode == "noproxy" and attrs.get("resource") == "pods" and attrs.get("subresource") == "proxy":
                allowed = False
            if mode == "nsonly" and not attrs.get("namespace"):
                allowed = False
            review["status"] = {"allowed": allowed}
            return self.send_body(201, json.dumps(review).encode(), "application/json")
        return self.status(404, "NotFound", "the server could not find the requested resource")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

srv = Server(("127.0.0.1", 0), Handler)
print("LISTENING %d" % srv.server_address[1], flush=True)
srv.serve_forever()
"""#
}
