import Foundation
import YAML

/// The scheduler stand-in: binds pods without `spec.nodeName` to nodes with kube-scheduler's default filter
/// plugins, in its order (the first failing plugin decides a node's reason): NodeUnschedulable,
/// TaintToleration (NoSchedule/NoExecute), NodeAffinity (`nodeSelector` and required node affinity),
/// NodeResourcesFit (pods, cpu, memory and extended resources such as `nvidia.com/gpu`, requested by the
/// non-terminal pods bound to the node vs `status.allocatable`). Among the feasible nodes it picks the most
/// allocated one after placing the pod (bin-packing, as NodeResourcesFit's `MostAllocated` strategy: the mean over
/// the resources the pod requests of requested/allocatable), then the first by name.
enum SchedulerRules {
    static let unschedulable = "node(s) were unschedulable"
    static let affinityMismatch = "node(s) didn't match Pod's node affinity/selector"

    /// A pod's effective requests: per resource, the larger of the containers' sum and any init container's
    /// (requests default to limits when only limits are set, as the API server defaults them).
    static func requests(_ pod: JSONValue) -> [String: Double] {
        func of(_ c: JSONValue) -> [String: Double] {
            var out: [String: Double] = [:]
            let limits = c["resources"]?["limits"]?.objectValue ?? JSONObject()
            let requests = c["resources"]?["requests"]?.objectValue ?? JSONObject()
            for e in limits { if let q = Quantity.parse(e.value) { out[e.key] = q } }
            for e in requests { if let q = Quantity.parse(e.value) { out[e.key] = q } }
            return out
        }
        var sum: [String: Double] = [:]
        for c in pod["spec"]?["containers"]?.arrayValue ?? [] {
            for (k, v) in of(c) { sum[k, default: 0] += v }
        }
        for c in pod["spec"]?["initContainers"]?.arrayValue ?? [] {
            for (k, v) in of(c) where v > sum[k, default: 0] { sum[k] = v }
        }
        return sum
    }

    /// `v1helper.ToleratesTaint`.
    static func tolerates(_ tolerations: [JSONValue], key: String, value: String, effect: String) -> Bool {
        tolerations.contains { t in
            if let e = t["effect"]?.stringValue, !e.isEmpty, e != effect { return false }
            if let k = t["key"]?.stringValue, !k.isEmpty, k != key { return false }
            switch t["operator"]?.stringValue ?? "Equal" {
            case "Exists": return true
            case "Equal", "": return (t["value"]?.stringValue ?? "") == value
            default: return false
            }
        }
    }

    /// One `nodeSelectorRequirement` against a node's labels.
    static func matches(_ expr: JSONValue, labels: JSONObject) -> Bool {
        guard let key = expr["key"]?.stringValue else { return false }
        let values = expr["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let label = labels[key]?.stringValue
        switch expr["operator"]?.stringValue ?? "" {
        case "In": return label.map(values.contains) ?? false
        case "NotIn": return label.map { !values.contains($0) } ?? true
        case "Exists": return label != nil
        case "DoesNotExist": return label == nil
        case "Gt", "Lt":
            guard values.count == 1, let bound = Int64(values[0]), let l = label, let v = Int64(l) else { return false }
            return expr["operator"]?.stringValue == "Gt" ? v > bound : v < bound
        default: return false
        }
    }

    /// `spec.nodeSelector` and `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`: terms
    /// are ORed, a term's matchExpressions and matchFields (`metadata.name`) ANDed; an empty term matches nothing.
    static func matchesAffinity(_ pod: JSONValue, node: JSONValue) -> Bool {
        let labels = node["metadata"]?["labels"]?.objectValue ?? JSONObject()
        for e in pod["spec"]?["nodeSelector"]?.objectValue ?? JSONObject() where labels[e.key] != e.value {
            return false
        }
        guard let required = pod["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"],
              !required.isNull else { return true }
        let terms = required["nodeSelectorTerms"]?.arrayValue ?? []
        let fields: JSONObject = ["metadata.name": node["metadata"]?["name"] ?? ""]
        return terms.contains { term in
            let exprs = term["matchExpressions"]?.arrayValue ?? []
            let fieldExprs = term["matchFields"]?.arrayValue ?? []
            if exprs.isEmpty && fieldExprs.isEmpty { return false }
            return exprs.allSatisfy { matches($0, labels: labels) } && fieldExprs.allSatisfy { matches($0, labels: fields) }
        }
    }

    /// Why `pod` does not fit `node` (empty: it fits), given what the node's pods already request.
    static func filter(_ pod: JSONValue, node: JSONValue, used: [String: Double], podCount: Int,
                       requests: [String: Double]) -> [String] {
        let tolerations = pod["spec"]?["tolerations"]?.arrayValue ?? []
        if node["spec"]?["unschedulable"]?.boolValue == true,
           !tolerates(tolerations, key: NodeRules.unschedulableTaint, value: "", effect: "NoSchedule") {
            return [unschedulable]
        }
        if let t = NodeRules.schedulingTaints(node).first(where: { !tolerates(tolerations, key: $0.key, value: $0.value, effect: $0.effect) }) {
            return ["node(s) had untolerated taint {\(t.key): \(t.value)}"]
        }
        if !matchesAffinity(pod, node: node) { return [affinityMismatch] }
        let allocatable = NodeRules.allocatable(node)
        var reasons: [String] = []
        if let maxPods = allocatable["pods"], Double(podCount + 1) > maxPods { reasons.append("Too many pods") }
        for (resource, want) in requests.sorted(by: { $0.key < $1.key }) where want > 0 && resource != "pods" {
            let free = allocatable[resource, default: 0] - used[resource, default: 0]
            if want > free + 1e-9 { reasons.append("Insufficient \(resource)") }
        }
        return reasons
    }

    /// kube-scheduler's FitError text: `0/N nodes are available: 2 Insufficient nvidia.com/gpu, 3 node(s) didn't
    /// match Pod's node affinity/selector.` (the reason histogram as "count reason", sorted as strings).
    static func fitError(nodes: Int, histogram: [String: Int]) -> String {
        let reasons = histogram.map { "\($0.value) \($0.key)" }.sorted()
        return "0/\(nodes) nodes are available: " + reasons.joined(separator: ", ") + "."
    }
}

extension StoreState {
    private var nodeDef: ResourceDef { defs.first { $0.group.isEmpty && $0.plural == "nodes" }! }
    private var schedPodDef: ResourceDef { defs.first { $0.group.isEmpty && $0.plural == "pods" }! }

    /// Whether any Node exists (then the scheduler stand-in binds pods; otherwise the kubelet runs pods unbound).
    var hasNodes: Bool { !(objects[nodeDef.storeKey] ?? [:]).isEmpty }

    func node(named name: String) -> JSONValue? { object(nodeDef, nil, name) }

    static func isTerminal(_ pod: JSONValue) -> Bool {
        let phase = pod["status"]?["phase"]?.stringValue
        return phase == "Succeeded" || phase == "Failed"
    }

    /// Binds every pending pod that fits somewhere, oldest first; records `PodScheduled=False` and a
    /// FailedScheduling event (once per distinct message) for the others.
    mutating func schedulePendingPods() {
        guard hasNodes else { return }
        let nodes = (objects[nodeDef.storeKey] ?? [:]).values.sorted {
            ($0["metadata"]?["name"]?.stringValue ?? "") < ($1["metadata"]?["name"]?.stringValue ?? "")
        }
        let allPods = Array((objects[schedPodDef.storeKey] ?? [:]).values)
        var used: [String: [String: Double]] = [:]
        var counts: [String: Int] = [:]
        for p in allPods where !Self.isTerminal(p) {
            guard let n = p["spec"]?["nodeName"]?.stringValue, !n.isEmpty else { continue }
            counts[n, default: 0] += 1
            for (k, v) in SchedulerRules.requests(p) { used[n, default: [:]][k, default: 0] += v }
        }
        let pending = allPods.filter {
            ($0["spec"]?["nodeName"]?.stringValue ?? "").isEmpty && $0["metadata"]?["deletionTimestamp"] == nil
                && !Self.isTerminal($0)
        }.sorted { podSequence($0) < podSequence($1) }
        for pod in pending {
            let requests = SchedulerRules.requests(pod)
            var histogram: [String: Int] = [:]
            var best: (score: Double, name: String)?
            for node in nodes {
                let name = node["metadata"]?["name"]?.stringValue ?? ""
                let reasons = SchedulerRules.filter(pod, node: node, used: used[name] ?? [:], podCount: counts[name] ?? 0,
                                                    requests: requests)
                if !reasons.isEmpty {
                    for r in reasons { histogram[r, default: 0] += 1 }
                    continue
                }
                let allocatable = NodeRules.allocatable(node)
                let scored = requests.filter { $0.value > 0 && allocatable[$0.key, default: 0] > 0 }
                let score = scored.isEmpty ? 0 : scored.reduce(0.0) { acc, r in
                    acc + ((used[name]?[r.key] ?? 0) + r.value) / allocatable[r.key]!
                } / Double(scored.count)
                if best == nil || score > best!.score + 1e-12 { best = (score, name) }
            }
            if let best {
                bind(pod, to: best.name)
                counts[best.name, default: 0] += 1
                for (k, v) in requests { used[best.name, default: [:]][k, default: 0] += v }
            } else {
                markUnschedulable(pod, message: SchedulerRules.fitError(nodes: nodes.count, histogram: histogram))
            }
        }
    }

    private mutating func bind(_ pod: JSONValue, to node: String) {
        var p = pod
        let ns = p["metadata"]?["namespace"]?.stringValue ?? ""
        let name = p["metadata"]?["name"]?.stringValue ?? ""
        p["spec"]?["nodeName"] = .string(node)
        setCondition(&p, ["type": "PodScheduled", "status": "True"])
        p["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(schedPodDef, p, type: "MODIFIED")
        recordEvent(involving: p, reason: "Scheduled", type: "Normal", component: "default-scheduler",
                    message: "Successfully assigned \(ns)/\(name) to \(node)")
    }

    private mutating func markUnschedulable(_ pod: JSONValue, message: String) {
        let current = (pod["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "PodScheduled" }
        if current?["status"]?.stringValue == "False" && current?["message"]?.stringValue == message { return }
        var p = pod
        setCondition(&p, ["type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": .string(message)])
        p["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(schedPodDef, p, type: "MODIFIED")
        recordEvent(involving: p, reason: "FailedScheduling", type: "Warning", component: "default-scheduler", message: message)
    }

    /// Sets a pod condition by type, keeping its position and `lastTransitionTime` unless the status changes.
    /// Returns whether anything changed.
    @discardableResult
    func setCondition(_ pod: inout JSONValue, _ condition: JSONObject) -> Bool {
        var conditions = pod["status"]?["conditions"]?.arrayValue ?? []
        var c = condition
        let type = c["type"]?.stringValue
        if let i = conditions.firstIndex(where: { $0["type"]?.stringValue == type }) {
            let old = conditions[i]
            c["lastProbeTime"] = old["lastProbeTime"] ?? .null
            c["lastTransitionTime"] = old["status"] == c["status"] ? old["lastTransitionTime"] : .string(timestamp())
            if old == .object(c) { return false }
            conditions[i] = .object(c)
        } else {
            c["lastProbeTime"] = .null
            c["lastTransitionTime"] = .string(timestamp())
            conditions.append(.object(c))
        }
        if pod["status"] == nil || pod["status"]!.isNull { pod["status"] = .object([:]) }
        pod["status"]?["conditions"] = .array(conditions)
        return true
    }

    /// Writes a core/v1 Event about an object (as the scheduler's and kubelet's event recorders do).
    mutating func recordEvent(involving object: JSONValue, reason: String, type: String, component: String, message: String) {
        guard let eventDef = defs.first(where: { $0.group.isEmpty && $0.kind == "Event" }) else { return }
        let meta = object["metadata"]
        let ns = meta?["namespace"]?.stringValue ?? "default"
        let ts = JSONValue.string(timestamp())
        let event: JSONValue = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string("\(meta?["name"]?.stringValue ?? "object").\(String(rv + 1, radix: 16))"),
                         "namespace": .string(ns)],
            "involvedObject": ["apiVersion": object["apiVersion"] ?? "v1", "kind": object["kind"] ?? "Pod",
                               "name": meta?["name"] ?? "", "namespace": .string(ns), "uid": meta?["uid"] ?? "",
                               "resourceVersion": meta?["resourceVersion"] ?? ""],
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": ["component": .string(component)], "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
            "reportingComponent": .string(component), "reportingInstance": .string(component),
        ]
        _ = try? create(eventDef, ns, event, dryRun: false)
    }
}
