import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// Six nodes: two GPU domains, a tainted, a NotReady and a cordoned node.
let schedulerNodes: [EmulatedNode] = [
    EmulatedNode(name: "n1", labels: ["gpu": "h100", "domain": "S1"], gpus: 8),
    EmulatedNode(name: "n2", labels: ["gpu": "h20", "domain": "S2"], gpus: 8),
    EmulatedNode(name: "n3", labels: ["gpu": "h20", "domain": "S2", "tier": "3"], gpus: 2),
    EmulatedNode(name: "n4", labels: ["gpu": "h100"], gpus: 8, taints: [.init(key: "dedicated", value: "infer")]),
    EmulatedNode(name: "n5", labels: ["gpu": "h100"], gpus: 8, ready: false),
    EmulatedNode(name: "n6", labels: ["gpu": "h100"], gpus: 8, unschedulable: true),
]

/// The reasons of n4, n5 and n6 (taint, NotReady taint, cordoned), which no case below tolerates.
let blockedNodeReasons = [
    "1 node(s) had untolerated taint {dedicated: infer}",
    "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
    "1 node(s) were unschedulable",
]

func pod(_ name: String, gpus: Int = 0, spec extra: JSONObject = [:], labels: JSONObject = [:]) -> JSONValue {
    var container: JSONObject = ["name": "c", "image": "vllm"]
    if gpus > 0 { container["resources"] = ["limits": ["nvidia.com/gpu": .string(String(gpus))]] }
    var spec: JSONObject = ["containers": [.object(container)]]
    for e in extra { spec[e.key] = e.value }
    return ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "labels": .object(labels)],
            "spec": .object(spec)]
}

func requiredAffinity(_ terms: [[JSONValue]], fields: [JSONValue] = []) -> JSONObject {
    let t: [JSONValue] = terms.map { ["matchExpressions": .array($0)] } + (fields.isEmpty ? [] : [["matchFields": .array(fields)]])
    return ["affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": .array(t)]]]]
}

func expr(_ key: String, _ op: String, _ values: [String] = []) -> JSONValue {
    var e: JSONObject = ["key": .string(key), "operator": .string(op)]
    if !values.isEmpty { e["values"] = .array(values.map { .string($0) }) }
    return .object(e)
}

func condition(_ pod: JSONValue, _ type: String) -> JSONValue? {
    pod["status"]?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
}

func events(_ client: RESTClient, reason: String) async throws -> [JSONValue] {
    try await client.json(path: "/api/v1/namespaces/default/events")["items"]?.arrayValue?.filter {
        $0["reason"]?.stringValue == reason
    } ?? []
}

struct SchedulingCase: Sendable, CustomTestStringConvertible {
    var name: String
    var gpus: Int = 0
    var spec: JSONObject = [:]
    /// The node the pod lands on, or nil when it stays Pending with `message`.
    var node: String?
    var message: String?
    var testDescription: String { name }
}

@Suite("KubeEmulator scheduler stand-in")
struct SchedulerTests {
    let pods = "/api/v1/namespaces/default/pods"

    static let cases: [SchedulingCase] = [
        SchedulingCase(name: "nodeSelector", gpus: 1, spec: ["nodeSelector": ["gpu": "h100"]], node: "n1"),
        SchedulingCase(name: "In, most allocated fit", gpus: 2, spec: requiredAffinity([[expr("domain", "In", ["S2"])]]), node: "n3"),
        SchedulingCase(name: "In, capacity", gpus: 4, spec: requiredAffinity([[expr("domain", "In", ["S2"])]]), node: "n2"),
        SchedulingCase(name: "Exists", spec: requiredAffinity([[expr("tier", "Exists")]]), node: "n3"),
        SchedulingCase(name: "Gt", spec: requiredAffinity([[expr("tier", "Gt", ["2"])]]), node: "n3"),
        SchedulingCase(name: "terms are ORed", spec: requiredAffinity([[expr("gpu", "In", ["a100"])], [expr("domain", "In", ["S1"])]]), node: "n1"),
        SchedulingCase(name: "expressions are ANDed", spec: requiredAffinity([[expr("gpu", "In", ["h20"]), expr("tier", "DoesNotExist")]]), node: "n2"),
        SchedulingCase(name: "NotIn", spec: requiredAffinity([[expr("gpu", "NotIn", ["h100"]), expr("domain", "NotIn", ["S2"])]]),
                       message: "0/6 nodes are available: " + (blockedNodeReasons + ["3 node(s) didn't match Pod's node affinity/selector"]).joined(separator: ", ") + "."),
        SchedulingCase(name: "Lt", spec: requiredAffinity([[expr("tier", "Lt", ["3"])]]),
                       message: "0/6 nodes are available: " + (blockedNodeReasons + ["3 node(s) didn't match Pod's node affinity/selector"]).joined(separator: ", ") + "."),
        SchedulingCase(name: "toleration", spec: requiredAffinity([], fields: [expr("metadata.name", "In", ["n4"])])
                        .merging(["tolerations": [["key": "dedicated", "operator": "Equal", "value": "infer", "effect": "NoSchedule"]]]),
                       node: "n4"),
        SchedulingCase(name: "Exists toleration for everything", spec: requiredAffinity([], fields: [expr("metadata.name", "In", ["n5"])])
                        .merging(["tolerations": [["operator": "Exists"]]]), node: "n5"),
        SchedulingCase(name: "GPU capacity and affinity", gpus: 9, spec: requiredAffinity([[expr("domain", "In", ["S2"])]]),
                       message: "0/6 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                           + blockedNodeReasons.joined(separator: ", ") + ", 2 Insufficient nvidia.com/gpu."),
        SchedulingCase(name: "cpu and memory", spec: ["containers": [["name": "c", "image": "x", "resources": ["requests": ["cpu": "100", "memory": "1Ti"]]]]],
                       message: "0/6 nodes are available: " + blockedNodeReasons.joined(separator: ", ") + ", 3 Insufficient cpu, 3 Insufficient memory."),
    ]

    @Test(arguments: cases)
    func bindsOrExplains(_ c: SchedulingCase) async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { emulator, client in
            try emulator.addNodes(schedulerNodes)
            let created = try await client.json(method: "POST", path: pods, body: pod("p", gpus: c.gpus, spec: c.spec))
            #expect(created["metadata"]?["name"]?.stringValue == "p")
            let p = try await client.json(path: "\(pods)/p")
            if let node = c.node {
                #expect(p["spec"]?["nodeName"]?.stringValue == node)
                #expect(condition(p, "PodScheduled")?["status"]?.stringValue == "True")
                #expect(p["status"]?["phase"]?.stringValue == "Running")
                #expect(try await events(client, reason: "Scheduled").first?["message"]?.stringValue
                    == "Successfully assigned default/p to \(node)")
            } else {
                #expect(p["spec"]?["nodeName"] == nil)
                #expect(p["status"]?["phase"]?.stringValue == "Pending")
                let scheduled = condition(p, "PodScheduled")
                #expect(scheduled?["status"]?.stringValue == "False")
                #expect(scheduled?["reason"]?.stringValue == "Unschedulable")
                #expect(scheduled?["message"]?.stringValue == c.message)
                let failed = try await events(client, reason: "FailedScheduling")
                #expect(failed.count == 1 && failed.first?["type"]?.stringValue == "Warning")
                #expect(failed.first?["message"]?.stringValue == c.message)
            }
        }
    }

    @Test func pendingPodsAreRetriedWhenCapacityFreesOrNodesArrive() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { emulator, client in
            try emulator.addNodes([EmulatedNode(name: "g1", labels: ["gpu": "h100"], gpus: 8)])
            let deployments = "/apis/apps/v1/namespaces/default/deployments"
            let big: JSONValue = [
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "big"],
                "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "big"]],
                         "template": ["metadata": ["labels": ["app": "big"]],
                                      "spec": ["containers": [["name": "c", "image": "x", "resources": ["limits": ["nvidia.com/gpu": "6"]]]]]]],
            ]
            _ = try await client.json(method: "POST", path: deployments, body: big)
            _ = try await client.json(method: "POST", path: pods, body: pod("small", gpus: 4))
            _ = try await client.json(method: "POST", path: pods, body: pod("other", gpus: 1, spec: ["nodeSelector": ["gpu": "h20"]]))
            var small = try await client.json(path: "\(pods)/small")
            #expect(condition(small, "PodScheduled")?["message"]?.stringValue == "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.")
            #expect(condition(small, "ContainersReady") == nil)

            // Scaling `big` to zero frees the GPUs: `small` is bound at once.
            _ = try await client.json(method: "PATCH", path: "\(deployments)/big/scale", body: ["spec": ["replicas": 0]],
                                      contentType: "application/merge-patch+json")
            small = try await client.json(path: "\(pods)/small")
            #expect(small["spec"]?["nodeName"]?.stringValue == "g1")
            #expect(try await events(client, reason: "Scheduled").contains {
                $0["message"]?.stringValue == "Successfully assigned default/small to g1"
            })

            // A matching node arriving binds the other one.
            var other = try await client.json(path: "\(pods)/other")
            #expect(condition(other, "PodScheduled")?["message"]?.stringValue
                == "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
            try emulator.addNodes([EmulatedNode(name: "g2", labels: ["gpu": "h20"], gpus: 8)])
            other = try await client.json(path: "\(pods)/other")
            #expect(other["spec"]?["nodeName"]?.stringValue == "g2")
            #expect(Self.isReady(other))
        }
    }

    @Test func nodesFileLoadsListsAndDocuments() async throws {
        try await withEmulator({ $0.kubelet = KubeletOptions() }) { emulator, client in
            let list = """
                apiVersion: v1
                kind: List
                items:
                - apiVersion: v1
                  kind: Node
                  metadata: {name: a, uid: 0b1c, resourceVersion: "77", labels: {gpu: h100}}
                  status:
                    capacity: {nvidia.com/gpu: "8", cpu: "96", memory: 1Ti, pods: "110"}
                    conditions: [{type: Ready, status: "True", reason: KubeletReady}]
                """
            let docs = """
                apiVersion: v1
                kind: Node
                metadata: {name: b}
                spec: {unschedulable: true}
                status: {allocatable: {cpu: "4"}}
                ---
                apiVersion: v1
                kind: Node
                metadata: {name: c}
                status:
                  allocatable: {cpu: "4"}
                  conditions: [{type: Ready, status: "False"}]
                """
            #expect(try emulator.addNodes(yaml: list).count == 1)
            #expect(try emulator.addNodes(yaml: docs).count == 2)
            let a = try await client.json(path: "/api/v1/nodes/a")
            #expect(a["status"]?["allocatable"]?["nvidia.com/gpu"]?.stringValue == "8")
            #expect(a["metadata"]?["uid"]?.stringValue != "0b1c")
            let b = try await client.json(path: "/api/v1/nodes/b")
            #expect(condition(b, "Ready")?["status"]?.stringValue == "True")
            _ = try await client.json(method: "POST", path: pods, body: pod("p", gpus: 2))
            #expect(try await client.json(path: "\(pods)/p")["spec"]?["nodeName"]?.stringValue == "a")
            #expect(throws: EmulatorError.self) { try emulator.addNodes(yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n") }
        }
    }

    static func isReady(_ pod: JSONValue) -> Bool { condition(pod, "Ready")?["status"]?.stringValue == "True" }
}

extension JSONObject {
    func merging(_ other: JSONObject) -> JSONObject {
        var out = self
        for e in other { out[e.key] = e.value }
        return out
    }
}
