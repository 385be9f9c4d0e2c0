import Foundation
import YAML

/// A Node for the emulator's scheduler stand-in: labels, allocatable resources, readiness and taints.
/// `addNodes` turns it into a core/v1 Node with `status.capacity` = `status.allocatable` and a `Ready` condition.
public struct EmulatedNode: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    /// Allocatable (and capacity) `nvidia.com/gpu`; 0 leaves the resource out.
    public var gpus: Int
    /// Allocatable CPU as a quantity (`"64"`, `"500m"`).
    public var cpu: String
    /// Allocatable memory as a quantity (`"512Gi"`).
    public var memory: String
    /// Allocatable pods (the kubelet's `maxPods`, 110 by default).
    public var pods: Int
    /// The `Ready` condition's status. A NotReady node also carries the node lifecycle controller's
    /// `node.kubernetes.io/not-ready:NoSchedule` taint, so the scheduler keeps pods off it.
    public var ready: Bool
    /// `spec.unschedulable` (cordoned).
    public var unschedulable: Bool
    public var taints: [Taint]

    /// A node taint (`spec.taints[]`).
    public struct Taint: Sendable, Hashable {
        public var key: String
        public var value: String
        /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
        public var effect: String
        public init(key: String, value: String = "", effect: String = "NoSchedule") {
            self.key = key
            self.value = value
            self.effect = effect
        }
    }

    public init(name: String, labels: [String: String] = [:], gpus: Int = 0, cpu: String = "64",
                memory: String = "512Gi", pods: Int = 110, ready: Bool = true, unschedulable: Bool = false,
                taints: [Taint] = []) {
        self.name = name
        self.labels = labels
        self.gpus = gpus
        self.cpu = cpu
        self.memory = memory
        self.pods = pods
        self.ready = ready
        self.unschedulable = unschedulable
        self.taints = taints
    }

    /// The Node object (without server-set metadata).
    public func object(now: Date = Date()) -> JSONValue {
        var labels: JSONObject = ["kubernetes.io/hostname": .string(name), "kubernetes.io/os": "linux",
                                  "kubernetes.io/arch": "amd64"]
        for (k, v) in self.labels.sorted(by: { $0.key < $1.key }) { labels[k] = .string(v) }
        var resources: JSONObject = ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(String(pods)),
                                     "ephemeral-storage": "1Ti"]
        if gpus > 0 { resources["nvidia.com/gpu"] = .string(String(gpus)) }
        var allTaints = taints
        if !ready && !allTaints.contains(where: { $0.key == NodeRules.notReadyTaint }) {
            allTaints.append(Taint(key: NodeRules.notReadyTaint, effect: "NoSchedule"))
        }
        if unschedulable && !allTaints.contains(where: { $0.key == NodeRules.unschedulableTaint }) {
            allTaints.append(Taint(key: NodeRules.unschedulableTaint, effect: "NoSchedule"))
        }
        var spec = JSONObject()
        if unschedulable { spec["unschedulable"] = true }
        if !allTaints.isEmpty {
            spec["taints"] = .array(allTaints.map { t in
                var o: JSONObject = ["key": .string(t.key), "effect": .string(t.effect)]
                if !t.value.isEmpty { o["value"] = .string(t.value) }
                return .object(o)
            })
        }
        let ts = JSONValue.string(RFC3339.format(now, fractionDigits: 0))
        let readyCondition: JSONValue = ready
            ? ["type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
               "lastHeartbeatTime": ts, "lastTransitionTime": ts]
            : ["type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "container runtime network not ready",
               "lastHeartbeatTime": ts, "lastTransitionTime": ts]
        return [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": .object(labels)],
            "spec": .object(spec),
            "status": [
                "capacity": .object(resources), "allocatable": .object(resources),
                "conditions": [readyCondition],
                "addresses": [["type": "Hostname", "address": .string(name)]],
                "nodeInfo": ["kubeletVersion": "v1.32.0", "architecture": "amd64", "operatingSystem": "linux",
                             "containerRuntimeVersion": "emulator://1.0"],
            ],
        ]
    }
}

/// Node facts the scheduler and kubelet stand-ins read.
enum NodeRules {
    static let notReadyTaint = "node.kubernetes.io/not-ready"
    static let unschedulableTaint = "node.kubernetes.io/unschedulable"

    static func isReady(_ node: JSONValue) -> Bool {
        node["status"]?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue == "True"
    }

    /// `status.allocatable`, or `status.capacity` when a node has none.
    static func allocatable(_ node: JSONValue) -> [String: Double] {
        let source = node["status"]?["allocatable"]?.objectValue ?? node["status"]?["capacity"]?.objectValue ?? JSONObject()
        var out: [String: Double] = [:]
        for e in source { if let q = Quantity.parse(e.value) { out[e.key] = q } }
        return out
    }

    /// The node's NoSchedule/NoExecute taints, plus the ones the node lifecycle controller would add:
    /// `not-ready` for a node whose Ready condition is not True, `unschedulable` for a cordoned node.
    static func schedulingTaints(_ node: JSONValue) -> [(key: String, value: String, effect: String)] {
        var out: [(key: String, value: String, effect: String)] = (node["spec"]?["taints"]?.arrayValue ?? []).compactMap { t in
            guard let key = t["key"]?.stringValue, let effect = t["effect"]?.stringValue,
                  effect == "NoSchedule" || effect == "NoExecute" else { return nil }
            return (key, t["value"]?.stringValue ?? "", effect)
        }
        if !isReady(node) && !out.contains(where: { $0.key == notReadyTaint }) {
            out.append((notReadyTaint, "", "NoSchedule"))
        }
        return out
    }

    /// The Hostname or InternalIP address the kubelet reports, for `status.hostIP`.
    static func hostIP(_ node: JSONValue) -> String? {
        let addresses = node["status"]?["addresses"]?.arrayValue ?? []
        return addresses.first { $0["type"]?.stringValue == "InternalIP" }?["address"]?.stringValue
    }

    /// Fills what a hand-written Node may leave out: `allocatable` from `capacity` (and back), and a Ready
    /// condition (True) when there is none. Server-set metadata of a dumped node is dropped.
    static func normalize(_ node: JSONValue, now: Date) -> JSONValue {
        var n = node
        n["apiVersion"] = "v1"
        n["kind"] = "Node"
        for k in ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"] {
            n["metadata"]?[k] = nil
        }
        var status = n["status"]?.objectValue ?? JSONObject()
        if status["allocatable"] == nil, let c = status["capacity"] { status["allocatable"] = c }
        if status["capacity"] == nil, let a = status["allocatable"] { status["capacity"] = a }
        var conditions = status["conditions"]?.arrayValue ?? []
        if !conditions.contains(where: { $0["type"]?.stringValue == "Ready" }) {
            let ts = JSONValue.string(RFC3339.format(now, fractionDigits: 0))
            conditions.append(["type": "Ready", "status": "True", "reason": "KubeletReady",
                               "message": "kubelet is posting ready status", "lastHeartbeatTime": ts, "lastTransitionTime": ts])
        }
        status["conditions"] = .array(conditions)
        n["status"] = .object(status)
        return n
    }
}

extension KubeEmulator {
    /// Adds (or updates) nodes. With at least one node present and the built-in kubelet on, pods without
    /// `spec.nodeName` are bound by the scheduler stand-in (docs/emulator.md, "Nodes and scheduling").
    @discardableResult
    public func addNodes(_ nodes: [EmulatedNode]) throws -> [JSONValue] {
        let now = configuration.now()
        return try nodes.map { try apply($0.object(now: now)) }
    }

    /// Adds nodes from YAML: a `kubectl get nodes -o yaml` List, or one or more `---`-separated Node documents.
    /// Missing `allocatable`/`capacity` are copied from each other and a missing Ready condition is True.
    @discardableResult
    public func addNodes(yaml text: String) throws -> [JSONValue] {
        let docs: [JSONValue]
        do { docs = try YAML.loadAll(text) } catch { throw EmulatorError(message: "nodes: \(error)") }
        var nodes: [JSONValue] = []
        for doc in docs where !doc.isNull {
            if let items = doc["items"]?.arrayValue {
                nodes += items
            } else {
                nodes.append(doc)
            }
        }
        for n in nodes where (n["kind"]?.stringValue ?? "Node") != "Node" {
            throw EmulatorError(message: "nodes: expected kind Node, got \(n["kind"]?.stringValue ?? "")")
        }
        let now = configuration.now()
        return try nodes.map { try apply(NodeRules.normalize($0, now: now)) }
    }
}

/// `resource.Quantity` as a Double (cores for cpu, bytes for memory, a count for extended resources).
enum Quantity {
    static func parse(_ value: JSONValue) -> Double? {
        if let d = value.doubleValue { return d }
        guard let s = value.stringValue else { return nil }
        return parse(s)
    }

    static func parse(_ text: String) -> Double? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let binary: [(String, Double)] = [("Ki", 0x1p10), ("Mi", 0x1p20), ("Gi", 0x1p30), ("Ti", 0x1p40), ("Pi", 0x1p50), ("Ei", 0x1p60)]
        for (suffix, factor) in binary where s.hasSuffix(suffix) {
            return Double(s.dropLast(2)).map { $0 * factor }
        }
        let decimal: [Character: Double] = ["n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18]
        if let last = s.last, let factor = decimal[last] {
            return Double(s.dropLast()).map { $0 * factor }
        }
        return Double(s)
    }
}
