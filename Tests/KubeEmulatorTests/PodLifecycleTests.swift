import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

let gate = "example.com/gate"

func deployment(_ name: String, replicas: Int, annotations: JSONObject = [:], spec extra: JSONObject = [:]) -> JSONValue {
    var spec: JSONObject = ["containers": [["name": "c", "image": "vllm", "ports": [["name": "http", "containerPort": 8080]]]]]
    for e in extra { spec[e.key] = e.value }
    return [
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name)],
        "spec": ["replicas": .int(Int64(replicas)), "selector": ["matchLabels": ["app": .string(name)]],
                 "template": ["metadata": ["labels": ["app": .string(name)], "annotations": .object(annotations)],
                              "spec": .object(spec)]],
    ]
}

/// Reads a watch until `done` holds for an event's object, or fails after `seconds`.
func waitFor(_ client: RESTClient, _ path: String, from rv: String, seconds: Int = 10,
             _ done: @escaping (JSONValue) -> Bool) async throws -> JSONValue? {
    var watch = try await WatchStream(client, "\(path)?watch=1&resourceVersion=\(rv)&timeoutSeconds=\(seconds)")
    defer { watch.response.cancel() }
    while let e = try await watch.nextNonBookmark() {
        if let o = e["object"], done(o) { return o }
    }
    return nil
}

@Suite("KubeEmulator kubelet: readiness, start delay, EndpointSlices, deletion cost")
struct PodLifecycleTests {
    let deployments = "/apis/apps/v1/namespaces/default/deployments"
    let pods = "/api/v1/namespaces/default/pods"
    let slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"

    func podList(_ client: RESTClient, _ selector: String) async throws -> [JSONValue] {
        try await client.json(path: "\(pods)?labelSelector=\(selector)")["items"]?.arrayValue ?? []
    }

    func patchStatus(_ client: RESTClient, _ pod: String, _ status: String, reason: String? = nil) async throws {
        var c: JSONObject = ["type": .string(gate), "status": .string(status)]
        if let reason { c["reason"] = .string(reason) }
        _ = try await client.json(method: "PATCH", path: "\(pods)/\(pod)/status", body: ["status": ["conditions": [.object(c)]]],
                                  contentType: "application/strategic-merge-patch+json")
    }

    @Test func readinessGatesHoldReadyBackUntilTheirConditionIsTrue() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { _, client in
            _ = try await client.json(method: "POST", path: deployments,
                                      body: deployment("web", replicas: 1, spec: ["readinessGates": [["conditionType": .string(gate)]]]))
            var p = try #require(try await podList(client, "app%3Dweb").first)
            let name = try #require(p["metadata"]?["name"]?.stringValue)
            #expect(condition(p, "ContainersReady")?["status"]?.stringValue == "True")
            #expect(condition(p, "Ready")?["status"]?.stringValue == "False")
            #expect(condition(p, "Ready")?["reason"]?.stringValue == "ReadinessGatesNotReady")
            #expect(condition(p, "Ready")?["message"]?.stringValue == "corresponding condition of pod readiness gate \"example.com/gate\" does not exist.")
            #expect(try await client.json(path: "\(deployments)/web")["status"]?["readyReplicas"] == nil)

            try await patchStatus(client, name, "False", reason: "Held")
            p = try await client.json(path: "\(pods)/\(name)")
            #expect(condition(p, "Ready")?["message"]?.stringValue == "the status of pod readiness gate \"example.com/gate\" is not \"True\", but False")
            #expect(condition(p, gate)?["reason"]?.stringValue == "Held")

            try await patchStatus(client, name, "True")
            p = try await client.json(path: "\(pods)/\(name)")
            #expect(condition(p, "Ready")?["status"]?.stringValue == "True")
            #expect(condition(p, "Ready")?["reason"] == nil)
            #expect(condition(p, gate)?["status"]?.stringValue == "True")
            #expect(p["status"]?["phase"]?.stringValue == "Running")
            #expect(try await client.json(path: "\(deployments)/web")["status"]?["readyReplicas"]?.intValue == 1)
        }
    }

    @Test func startDelayAnnotationOverridesReadyDelay() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { emulator, client in
            #expect(KubeEmulator.startDelayAnnotation == "emulator.heteroscale.io/start-delay-seconds")
            _ = try await client.json(method: "POST", path: deployments, body: deployment("fast", replicas: 1))
            _ = try await client.json(method: "POST", path: deployments,
                                      body: deployment("slow", replicas: 2, annotations: [KubeEmulator.startDelayAnnotation: "3600"]))
            #expect(try await podList(client, "app%3Dfast").allSatisfy { condition($0, "Ready")?["status"]?.stringValue == "True" })
            let slow = try await podList(client, "app%3Dslow")
            #expect(slow.count == 2)
            for p in slow {
                #expect(p["status"]?["phase"]?.stringValue == "Pending")
                #expect(p["status"]?["podIP"] == nil)
                #expect(condition(p, "ContainersReady")?["reason"]?.stringValue == "ContainersNotReady")
                #expect(condition(p, "ContainersReady")?["message"]?.stringValue == "containers with unready status: [c]")
                #expect(condition(p, "Ready")?["reason"]?.stringValue == "ContainersNotReady")
                #expect(p["status"]?["containerStatuses"]?[0]?["state"]?["waiting"]?["reason"]?.stringValue == "ContainerCreating")
            }
            // The test decides when: start one pod now.
            let first = try #require(slow.first?["metadata"]?["name"]?.stringValue)
            _ = try await client.json(method: "PATCH", path: "\(pods)/\(first)", body: ["metadata": ["labels": ["now": "yes"]]],
                                      contentType: "application/merge-patch+json")
            #expect(try emulator.startContainers(namespace: "default", labelSelector: "app=slow,now=yes") == 1)
            let started = try await client.json(path: "\(pods)/\(first)")
            #expect(condition(started, "Ready")?["status"]?.stringValue == "True" && started["status"]?["podIP"] != nil)
            #expect(try await client.json(path: "\(deployments)/slow")["status"]?["readyReplicas"]?.intValue == 1)
            // By name (the sandbox's container runtime): the other pod; an unknown or started name starts nothing.
            let second = try #require(slow.last?["metadata"]?["name"]?.stringValue)
            #expect(emulator.startContainers(namespace: "default", names: [first, "nope"]) == 0)
            #expect(emulator.startContainers(namespace: "other", names: [second]) == 0)
            #expect(emulator.startContainers(namespace: "default", names: [second]) == 1)
            #expect(try await client.json(path: "\(deployments)/slow")["status"]?["readyReplicas"]?.intValue == 2)
        }
    }

    @Test func aShortStartDelayElapsesOnItsOwn() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions(readyDelay: .seconds(3600)) }) { emulator, client in
            let rv = emulator.resourceVersion
            _ = try await client.json(method: "POST", path: deployments,
                                      body: deployment("d", replicas: 1, annotations: [KubeEmulator.startDelayAnnotation: "0.2"]))
            let ready = try await waitFor(client, pods, from: rv) { condition($0, "Ready")?["status"]?.stringValue == "True" }
            #expect(ready != nil, "the pod became Ready within the deadline")
        }
    }

    @Test func endpointSlicesListReadyAndNotReadyAddresses() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { emulator, client in
            try emulator.addNodes([EmulatedNode(name: "g1", labels: ["topology.kubernetes.io/zone": "z1"], gpus: 8)])
            _ = try await client.json(method: "POST", path: deployments,
                                      body: deployment("web", replicas: 2, spec: ["readinessGates": [["conditionType": .string(gate)]]]))
            let service: JSONValue = [
                "apiVersion": "v1", "kind": "Service", "metadata": ["name": "web", "labels": ["team": "a"]],
                "spec": ["selector": ["app": "web"], "ports": [["name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"]]],
            ]
            _ = try await client.json(method: "POST", path: "/api/v1/namespaces/default/services", body: service)
            _ = try await client.json(method: "POST", path: "/api/v1/namespaces/default/services",
                                      body: ["apiVersion": "v1", "kind": "Service", "metadata": ["name": "external"],
                                             "spec": ["ports": [["port": 443]]]])
            let names = try await podList(client, "app%3Dweb").compactMap { $0["metadata"]?["name"]?.stringValue }.sorted()
            try await patchStatus(client, names[0], "True")

            let list = try await client.json(path: "\(slices)")["items"]?.arrayValue ?? []
            #expect(list.count == 1, "a Service without a selector gets no slice")
            let slice = try #require(list.first)
            #expect(slice["metadata"]?["name"]?.stringValue?.hasPrefix("web-") == true)
            #expect(slice["metadata"]?["labels"]?["kubernetes.io/service-name"]?.stringValue == "web")
            #expect(slice["metadata"]?["labels"]?["endpointslice.kubernetes.io/managed-by"]?.stringValue == "endpointslice-controller.k8s.io")
            #expect(slice["metadata"]?["labels"]?["team"]?.stringValue == "a")
            #expect(slice["metadata"]?["ownerReferences"]?[0]?["kind"]?.stringValue == "Service")
            #expect(slice["addressType"]?.stringValue == "IPv4")
            #expect(slice["ports"] == [["name": "http", "port": 8080, "protocol": "TCP"]])
            let endpoints = slice["endpoints"]?.arrayValue ?? []
            #expect(endpoints.compactMap { $0["targetRef"]?["name"]?.stringValue } == names)
            #expect(endpoints.map { $0["conditions"] } == [["ready": true, "serving": true, "terminating": false],
                                                           ["ready": false, "serving": false, "terminating": false]])
            #expect(endpoints.allSatisfy { $0["nodeName"]?.stringValue == "g1" && $0["zone"]?.stringValue == "z1" })
            #expect(endpoints.allSatisfy { $0["addresses"]?[0]?.stringValue?.hasPrefix("10.244.") == true })

            // Admitting the second pod makes its address ready; deleting the Service removes the slice.
            try await patchStatus(client, names[1], "True")
            let updated = try await client.json(path: "\(slices)")["items"]?[0]
            #expect(updated?["endpoints"]?.arrayValue?.allSatisfy { $0["conditions"]?["ready"] == true } == true)
            _ = try await client.json(method: "DELETE", path: "/api/v1/namespaces/default/services/web")
            #expect(try await client.json(path: "\(slices)")["items"]?.arrayValue?.isEmpty == true)
        }
    }

    struct DeletionCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// Per pod, in creation order: its pod-deletion-cost (nil: none) and whether its gate is True.
        var pods: [(cost: Int?, admitted: Bool)]
        var scaleTo: Int
        /// Indices (creation order) of the pods that survive.
        var survivors: [Int]
        var testDescription: String { name }
    }

    static let deletionCases: [DeletionCase] = [
        DeletionCase(name: "newest first without costs", pods: [(nil, true), (nil, true), (nil, true)], scaleTo: 1, survivors: [0]),
        DeletionCase(name: "lowest cost first", pods: [(10, true), (-5, true), (nil, true), (100, true)], scaleTo: 2, survivors: [0, 3]),
        DeletionCase(name: "equal costs: newest first", pods: [(7, true), (7, true), (1, true)], scaleTo: 1, survivors: [0]),
        DeletionCase(name: "not ready before any cost", pods: [(-100, true), (1000, false), (0, true)], scaleTo: 2, survivors: [0, 2]),
    ]

    @Test(arguments: deletionCases)
    func scaleInHonoursPodDeletionCost(_ c: DeletionCase) async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { _, client in
            _ = try await client.json(method: "POST", path: deployments,
                                      body: deployment("m", replicas: c.pods.count, spec: ["readinessGates": [["conditionType": .string(gate)]]]))
            let created = try await client.json(path: "\(pods)?labelSelector=app%3Dm")["items"]?.arrayValue ?? []
            // Creation order: the pods' creation resourceVersions are not kept, so order by the kubelet's pod IPs.
            let ordered = created.sorted {
                ($0["status"]?["podIP"]?.stringValue ?? "").compare($1["status"]?["podIP"]?.stringValue ?? "", options: .numeric) == .orderedAscending
            }.compactMap { $0["metadata"]?["name"]?.stringValue }
            for (i, spec) in c.pods.enumerated() {
                if spec.admitted { try await patchStatus(client, ordered[i], "True") }
                if let cost = spec.cost {
                    _ = try await client.json(method: "PATCH", path: "\(pods)/\(ordered[i])",
                                              body: ["metadata": ["annotations": [KubeEmulator.deletionCostAnnotation: .string(String(cost))]]],
                                              contentType: "application/merge-patch+json")
                }
            }
            _ = try await client.json(method: "PATCH", path: "\(deployments)/m/scale", body: ["spec": ["replicas": .int(Int64(c.scaleTo))]],
                                      contentType: "application/merge-patch+json")
            let left = try await podList(client, "app%3Dm").compactMap { $0["metadata"]?["name"]?.stringValue }.sorted()
            #expect(left == c.survivors.map { ordered[$0] }.sorted())
            let status = try await client.json(path: "\(deployments)/m")["status"]
            #expect(status?["replicas"]?.intValue == Int64(c.scaleTo))
            #expect(status?["updatedReplicas"]?.intValue == Int64(c.scaleTo))
            let ready = c.survivors.filter { c.pods[$0].admitted }.count
            #expect((status?["readyReplicas"]?.intValue ?? 0) == Int64(ready))
            #expect((status?["availableReplicas"]?.intValue ?? 0) == Int64(ready))
        }
    }

    @Test func unscheduledPodsAreDeletedFirst() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { emulator, client in
            try emulator.addNodes([EmulatedNode(name: "g1", gpus: 2)])
            let d = deployment("gpu", replicas: 3, spec: ["containers": [["name": "c", "image": "x", "resources": ["limits": ["nvidia.com/gpu": "1"]]]]])
            _ = try await client.json(method: "POST", path: deployments, body: d)
            let before = try await podList(client, "app%3Dgpu")
            let pending = before.filter { $0["spec"]?["nodeName"] == nil }
            #expect(pending.count == 1 && condition(pending[0], "PodScheduled")?["reason"]?.stringValue == "Unschedulable")
            // Unassigned pods go before assigned ones, whatever the assigned ones' deletion cost.
            for p in before where p["spec"]?["nodeName"] != nil {
                _ = try await client.json(method: "PATCH", path: "\(pods)/\(p["metadata"]?["name"]?.stringValue ?? "")",
                                          body: ["metadata": ["annotations": [KubeEmulator.deletionCostAnnotation: "-1000"]]],
                                          contentType: "application/merge-patch+json")
            }
            _ = try await client.json(method: "PATCH", path: "\(deployments)/gpu/scale", body: ["spec": ["replicas": 2]],
                                      contentType: "application/merge-patch+json")
            let after = try await podList(client, "app%3Dgpu")
            #expect(after.count == 2 && after.allSatisfy { $0["spec"]?["nodeName"]?.stringValue == "g1" })
            let status = try await client.json(path: "\(deployments)/gpu")["status"]
            #expect(status?["readyReplicas"]?.intValue == 2 && status?["unavailableReplicas"] == nil)
        }
    }
}
