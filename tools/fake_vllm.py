#!/usr/bin/env python3
"""Stand-in vLLM metrics for the pods of one Deployment on the HeteroScale API emulator.

The emulator's kubelet (`heteroscale emulator --with-kubelet --pod-ip-prefix 127.0.10.`) gives pods loopback
IPs. This follows the pods labelled app.kubernetes.io/name=APP through the API, binds POD_IP:PORT for each
one, and serves /metrics in the Prometheus text format: `vllm:num_requests_running` is the load in LOAD_FILE
(running requests of the whole Deployment, default 12) split evenly over the pods, as a load balancer would.

    python3 tools/fake_vllm.py API_URL APP [--port 8000] [--load-file /tmp/hs/load]
"""
import argparse, json, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("api", help="the emulator's URL, e.g. http://127.0.0.1:6443")
parser.add_argument("app", help="value of the pods' app.kubernetes.io/name label")
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--load-file", default="/tmp/hs/load")
parser.add_argument("--namespace", default="default")
args = parser.parse_args()
servers = {}


def load():
    try:
        with open(args.load_file) as f:
            return float(f.read())
    except (OSError, ValueError):
        return 12.0


class Metrics(BaseHTTPRequestHandler):
    def do_GET(self):
        share = load() / max(1, len(servers))
        body = ("# HELP vllm:num_requests_running Number of requests currently running on GPU.\n"
                "# TYPE vllm:num_requests_running gauge\n"
                f'vllm:num_requests_running{{engine="0",model_name="llama"}} {share:g}\n').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


url = f"{args.api}/api/v1/namespaces/{args.namespace}/pods?labelSelector=app.kubernetes.io/name%3D{args.app}"
while True:
    try:
        pods = json.load(urllib.request.urlopen(url, timeout=5))["items"]
    except OSError:
        time.sleep(1)
        continue
    ips = {p["status"]["podIP"] for p in pods if p.get("status", {}).get("podIP")}
    for ip in ips - servers.keys():
        servers[ip] = ThreadingHTTPServer((ip, args.port), Metrics)
        threading.Thread(target=servers[ip].serve_forever, daemon=True).start()
    for ip in servers.keys() - ips:
        servers.pop(ip).shutdown()
    time.sleep(0.5)
