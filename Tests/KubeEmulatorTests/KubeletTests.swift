import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

@Suite("KubeEmulator kubelet")
struct KubeletTests {
    let deployments = "/apis/apps/v1/namespaces/default/deployments"
    let pods = "/api/v1/namespaces/default/pods"
    let deployment: JSONValue = [
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"],
        "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "web"]],
                 "template": ["metadata": ["labels": ["app": "web"]],
                              "spec": ["containers": [["name": "c", "image": "nginx"]]]]],
    ]

    @Test func deploymentsGetReadyPodsImmediately() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { _, client in
            _ = try await client.json(method: "POST", path: deployments, body: deployment)
            var list = try await client.json(path: "\(pods)?labelSelector=app%3Dweb")
            var items = list["items"]?.arrayValue ?? []
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0["status"]?["phase"]?.stringValue == "Running" && $0["status"]?["podIP"] != nil })
            #expect(items.allSatisfy { $0["metadata"]?["ownerReferences"]?[0]?["kind"]?.stringValue == "Deployment" })
            var d = try await client.json(path: "\(deployments)/web")
            #expect(d["status"]?["readyReplicas"]?.intValue == 2)

            // Scale in through /scale, then delete a pod: it is replaced.
            _ = try await client.json(method: "PATCH", path: "\(deployments)/web/scale", body: ["spec": ["replicas": 1]],
                                      contentType: "application/merge-patch+json")
            list = try await client.json(path: pods)
            items = list["items"]?.arrayValue ?? []
            #expect(items.count == 1)
            let victim = try #require(items.first?["metadata"]?["name"]?.stringValue)
            _ = try await client.json(method: "DELETE", path: "\(pods)/\(victim)")
            items = try await client.json(path: pods)["items"]?.arrayValue ?? []
            #expect(items.count == 1 && items.first?["metadata"]?["name"]?.stringValue != victim)
            d = try await client.json(path: "\(deployments)/web")
            #expect(d["status"]?["replicas"]?.intValue == 1 && d["status"]?["readyReplicas"]?.intValue == 1)

            // Deleting the deployment garbage-collects its pods.
            _ = try await client.json(method: "DELETE", path: "\(deployments)/web")
            #expect(try await client.json(path: pods)["items"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test func podsBecomeReadyAfterTheDelay() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions(readyDelay: .milliseconds(100)) }) { emulator, client in
            let rv = emulator.resourceVersion
            var watch = try await WatchStream(client, "\(deployments)?watch=1&resourceVersion=\(rv)&timeoutSeconds=10")
            _ = try await client.json(method: "POST", path: deployments, body: deployment)
            #expect(try await client.json(path: pods)["items"]?.arrayValue?.count == 2)
            // The deployment's status first counts two unready pods, then both become ready (in order).
            var readiness: [Int64] = []
            while readiness.last != 2, let e = try await watch.next() {
                guard let status = e["object"]?["status"], status["replicas"] != nil else { continue }
                readiness.append(status["readyReplicas"]?.intValue ?? 0)
            }
            #expect(readiness == [0, 1, 2])
            watch.response.cancel()
        }
    }
}
