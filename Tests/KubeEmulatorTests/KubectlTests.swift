import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// The installed kubectl, found on PATH.
let kubectlPath: String? = {
    let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
    return dirs.map { "\($0)/kubectl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// Runs the real kubectl against an emulator, each test in its own temp dir (kubeconfig, HOME, cache).
struct Kubectl {
    let dir: URL
    let kubeconfig: String

    init(server: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        kubeconfig = dir.appendingPathComponent("kubeconfig").path
        try KubeEmulator.kubeconfig(server: server).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func process(_ args: [String], stdout: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: kubectlPath!)
        p.arguments = ["--kubeconfig", kubeconfig, "--request-timeout=30s"] + args
        p.environment = ["HOME": dir.path, "PATH": "/usr/bin:/bin", "KUBECACHEDIR": dir.appendingPathComponent("cache").path]
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        _ = FileManager.default.createFile(atPath: stdout + ".err", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout + ".err"))
        p.standardInput = FileHandle.nullDevice
        return p
    }

    /// Runs kubectl to completion; returns (exit status, stdout, stderr).
    @discardableResult
    func run(_ args: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws -> (Int32, String, String) {
        let out = dir.appendingPathComponent("out-\(UUID().uuidString)").path
        let p = try process(args, stdout: out)
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            p.terminationHandler = { _ in cont.resume() }
            do { try p.run() } catch { cont.resume(throwing: error) }
        }
        let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "kubectl \(args.joined(separator: " ")): \(stderr)", sourceLocation: sourceLocation)
        return (p.terminationStatus, stdout, stderr)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: dir) }
}

func withKubectl(_ body: (KubeEmulator, RESTClient, Kubectl) async throws -> Void) async throws {
    try await withEmulator { emulator, client in
        let kubectl = try Kubectl(server: try #require(emulator.baseURL))
        defer { kubectl.cleanUp() }
        try await body(emulator, client, kubectl)
    }
}

/// Splits kubectl's table output into rows of whitespace-separated cells.
func tableRows(_ text: String) -> [[String]] {
    text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
}

@Suite("kubectl against KubeEmulator", .enabled(if: kubectlPath != nil, "kubectl is not installed"))
struct KubectlTests {
    @Test func applyGetPatchScaleDeleteCustomResource() async throws {
        try await withKubectl { _, client, kubectl in
            let crd = try kubectl.write("crd.yaml", crdManifest)
            let dg = try kubectl.write("dg.yaml", dgManifest)
            #expect(try await kubectl.run("apply", "-f", crd).1
                .contains("customresourcedefinition.apiextensions.k8s.io/deploymentgroups.heteroscale.io created"))
            #expect(try await kubectl.run("apply", "-f", dg).1.contains("deploymentgroup.heteroscale.io/llama created"))

            var rows = tableRows(try await kubectl.run("get", "dg").1)
            #expect(rows.first == ["NAME", "REPLICAS", "READY", "AGE"])
            #expect(Array(rows.dropFirst().first?.prefix(2) ?? []) == ["llama", "2"])

            let yaml = try YAML.load(try await kubectl.run("get", "deploymentgroup", "llama", "-o", "yaml").1)
            #expect(yaml["kind"]?.stringValue == "DeploymentGroup")
            #expect(yaml["spec"]?["replicas"]?.intValue == 2)
            #expect(yaml["metadata"]?["uid"]?.stringValue?.isEmpty == false)

            try await kubectl.run("patch", "dg", "llama", "--subresource=status", "--type=merge",
                                  "-p", #"{"status":{"replicas":2,"readyReplicas":1,"selector":"app=llama"}}"#)
            #expect(try await kubectl.run("scale", "dg", "llama", "--replicas=5").1.contains("scaled"))
            let obj = try await client.json(path: "\(dgPath)/llama")
            #expect(obj["spec"]?["replicas"]?.intValue == 5)
            #expect(obj["status"]?["readyReplicas"]?.intValue == 1)
            rows = tableRows(try await kubectl.run("get", "dg").1)
            #expect(Array(rows.dropFirst().first?.prefix(3) ?? []) == ["llama", "5", "1"])

            // Re-apply: client-side apply computes a merge patch from last-applied-configuration.
            _ = try kubectl.write("dg.yaml", dgManifest.replacingOccurrences(of: "weight: 1", with: "weight: 3"))
            #expect(try await kubectl.run("apply", "-f", dg).1.contains("configured"))
            let reapplied = try await client.json(path: "\(dgPath)/llama")
            #expect(reapplied["spec"]?["roles"]?[0]?["weight"]?.intValue == 3)
            #expect(reapplied["spec"]?["replicas"]?.intValue == 2)

            #expect(try await kubectl.run("delete", "dg", "llama").1.contains("deleted"))
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(path: "\(dgPath)/llama") }
            let resources = try await kubectl.run("api-resources", "--api-group=heteroscale.io").1
            #expect(resources.contains("deploymentgroups") && resources.contains("dg"))
        }
    }

    @Test func applyScaleAndPatchDeployment() async throws {
        try await withKubectl { _, client, kubectl in
            let manifest = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
              labels: {app: web}
            spec:
              replicas: 1
              selector:
                matchLabels: {app: web}
              template:
                metadata:
                  labels: {app: web}
                spec:
                  containers:
                  - name: c
                    image: nginx:1
                    ports: [{containerPort: 80}]

            """
            let file = try kubectl.write("deploy.yaml", manifest)
            try await kubectl.run("apply", "-f", file)
            _ = try kubectl.write("deploy.yaml", manifest.replacingOccurrences(of: "nginx:1", with: "nginx:2"))
            try await kubectl.run("apply", "-f", file)  // a strategic merge patch
            let path = "/apis/apps/v1/namespaces/default/deployments/web"
            var obj = try await client.json(path: path)
            let container = obj["spec"]?["template"]?["spec"]?["containers"]?[0]
            #expect(container?["image"]?.stringValue == "nginx:2")
            #expect(container?["ports"]?[0]?["containerPort"]?.intValue == 80)
            #expect(obj["metadata"]?["generation"]?.intValue == 2)

            try await kubectl.run("scale", "deployment", "web", "--replicas=3")
            try await kubectl.run("patch", "deployment", "web", "--subresource=status", "--type=merge",
                                  "-p", #"{"status":{"replicas":3,"readyReplicas":2}}"#)
            obj = try await client.json(path: path)
            #expect(obj["spec"]?["replicas"]?.intValue == 3)
            #expect(obj["status"]?["readyReplicas"]?.intValue == 2)
            #expect(obj["metadata"]?["generation"]?.intValue == 3)
            let jsonpath = try await kubectl.run("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}/{.status.readyReplicas}").1
            #expect(jsonpath == "3/2")
            let described = try await kubectl.run("describe", "deployment", "web").1
            #expect(described.contains("Name:") && described.contains("web") && described.contains("nginx:2"))
            try await kubectl.run("delete", "-f", file)
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(path: path) }
        }
    }

    @Test func describeShowsConditionsAndEvents() async throws {
        try await withKubectl { _, client, kubectl in
            try await kubectl.run("apply", "-f", try kubectl.write("crd.yaml", crdManifest))
            try await kubectl.run("apply", "-f", try kubectl.write("dg.yaml", dgManifest))
            let dg = try await client.json(path: "\(dgPath)/llama")
            _ = try await client.json(method: "PATCH", path: "\(dgPath)/llama/status", body: [
                "status": ["conditions": [["type": "Ready", "status": "True", "reason": "AllRolesReady",
                                           "message": "all roles ready", "lastTransitionTime": "2026-01-01T00:00:00Z"]]],
            ], contentType: "application/merge-patch+json")
            let event: JSONValue = [
                "apiVersion": "v1", "kind": "Event", "metadata": ["name": "llama.1"],
                "involvedObject": ["apiVersion": "heteroscale.io/v1alpha1", "kind": "DeploymentGroup", "name": "llama",
                                   "namespace": "default", "uid": dg["metadata"]?["uid"] ?? ""],
                "reason": "ScaledUp", "message": "scaled to 3 replicas", "type": "Normal", "count": 1,
                "source": ["component": "heteroscale"],
                "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
            ]
            _ = try await client.json(method: "POST", path: "/api/v1/namespaces/default/events", body: event)
            let text = try await kubectl.run("describe", "dg", "llama").1
            #expect(text.contains("Conditions:"))
            #expect(text.contains("AllRolesReady"))
            #expect(text.contains("Events:"))
            #expect(text.contains("ScaledUp") && text.contains("heteroscale") && text.contains("scaled to 3 replicas"))
            let events = tableRows(try await kubectl.run("get", "events").1)
            #expect(events.first == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
            #expect(events.dropFirst().first?.contains("deploymentgroup/llama") == true)
        }
    }

    @Test func getWatchStreamsChanges() async throws {
        try await withKubectl { emulator, client, kubectl in
            try await kubectl.run("apply", "-f", try kubectl.write("crd.yaml", crdManifest))
            try await kubectl.run("apply", "-f", try kubectl.write("dg.yaml", dgManifest))
            let out = kubectl.dir.appendingPathComponent("watch.out").path
            let watcher = try kubectl.process(["get", "dg", "-w", "--output-watch-events"], stdout: out)
            try watcher.run()
            defer {
                kill(watcher.processIdentifier, SIGKILL)
                watcher.waitUntilExit()
            }
            try await waitUntil("kubectl's watch") { emulator.activeWatchCount >= 1 }
            _ = try await client.json(method: "PATCH", path: "\(dgPath)/llama/scale", body: ["spec": ["replicas": 4]],
                                      contentType: "application/merge-patch+json")
            _ = try await client.json(method: "DELETE", path: "\(dgPath)/llama")
            try await waitUntil("the DELETED line") {
                ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("DELETED")
            }
            let rows = tableRows((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
            #expect(rows.first == ["EVENT", "NAME", "REPLICAS", "READY", "AGE"])
            #expect(rows.dropFirst().map { Array($0.prefix(3)) } ==
                [["ADDED", "llama", "2"], ["MODIFIED", "llama", "4"], ["DELETED", "llama", "4"]])
        }
    }
}
