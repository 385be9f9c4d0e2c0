import Foundation
import YAML

/// The optional built-in controllers (docs/emulator.md, "Built-in controllers"): Deployments get Pods (owned
/// directly by the Deployment; there are no ReplicaSets); with Nodes present a scheduler stand-in binds them;
/// a kubelet stand-in starts bound pods after `readyDelay` (or the pod's start-delay annotation) and computes
/// `ContainersReady` and `Ready` (readiness gates included) as the kubelet does; an EndpointSlice controller
/// follows Services. Deleted pods are replaced; scale-in picks victims as the ReplicaSet controller does.
public struct KubeletOptions: Sendable {
    /// Time from a pod's binding to Running/Ready; zero makes pods ready at once (in the same write).
    /// A pod's `emulator.heteroscale.io/start-delay-seconds` annotation overrides it.
    public var readyDelay: Duration = .zero
    /// `spec.nodeName` for Deployment pods when no Node exists (with Nodes, the scheduler stand-in binds).
    public var nodeName: String?
    /// The leading octets of pod IPs (default `10.244.`, numbered on from there). A loopback
    /// prefix such as `127.0.10.` makes every pod IP reachable on this machine, so tests can serve each
    /// pod's metrics from a real HTTP server bound to that address.
    public var podIPPrefix: String
    public init(readyDelay: Duration = .zero, nodeName: String? = nil, podIPPrefix: String = "10.244.") {
        self.readyDelay = readyDelay
        self.nodeName = nodeName
        self.podIPPrefix = podIPPrefix
    }

    /// The IP of the `n`th pod (1-based): `PREFIX a.b` for a two-octet prefix like `10.244.`, `PREFIX b` for a
    /// three-octet prefix like `127.0.10.` (at most 250 pods there).
    func podIP(_ n: Int) -> String {
        let octets = podIPPrefix.split(separator: ".").count
        return octets >= 3 ? "\(podIPPrefix)\(n % 250 + 2)" : "\(podIPPrefix)\(n / 250).\(n % 250 + 2)"
    }
}

/// What the kubelet stand-in knows about a pod it runs.
struct PodRuntime: Sendable {
    var startTime: String
    var startedAt: String?
    var ip: String?
}

extension KubeEmulator {
    /// Pod annotation (usually set on a Deployment's pod template): seconds from binding until the pod's
    /// containers start and are ready, overriding `KubeletOptions.readyDelay` (e.g. `"30"`, `"0.5"`).
    public static let startDelayAnnotation = "emulator.heteroscale.io/start-delay-seconds"
    /// The ReplicaSet controller's pod annotation: pods with a lower cost are deleted first on scale-in.
    public static let deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

    /// Starts, now, the containers of the bound pods in `namespace` (matching `labelSelector`, when given) that
    /// are still waiting for their start delay; returns how many started. With a long start-delay annotation this
    /// lets a test decide exactly when a pod becomes ready.
    @discardableResult
    public func startContainers(namespace: String, labelSelector: String? = nil) throws -> Int {
        let selector = try labelSelector.map { try LabelSelector(parsing: $0) }
        return engine.state.withLock { s in
            let podDef = s.defs.first { $0.group.isEmpty && $0.plural == "pods" }!
            let uids = (s.objects[podDef.storeKey] ?? [:]).values.filter { p in
                p["metadata"]?["namespace"]?.stringValue == namespace
                    && (selector?.matches(p["metadata"]?["labels"]?.objectValue ?? JSONObject()) ?? true)
            }.compactMap { $0["metadata"]?["uid"]?.stringValue }
            return s.startContainers(uids: uids)
        }
    }

    /// Starts, now, the containers of the named bound pods in `namespace` that are still waiting for their start
    /// delay; returns how many started. The sandbox uses it as its container runtime: a pod's containers start
    /// when the simulated engine's cold start is over.
    @discardableResult
    public func startContainers(namespace: String, names: [String]) -> Int {
        let wanted = Set(names)
        return engine.state.withLock { s in
            let podDef = s.defs.first { $0.group.isEmpty && $0.plural == "pods" }!
            let uids = (s.objects[podDef.storeKey] ?? [:]).values.filter { p in
                p["metadata"]?["namespace"]?.stringValue == namespace && wanted.contains(p["metadata"]?["name"]?.stringValue ?? "")
            }.compactMap { $0["metadata"]?["uid"]?.stringValue }
            return s.startContainers(uids: uids)
        }
    }
}

extension StoreState {
    private var podDef: ResourceDef { defs.first { $0.group.isEmpty && $0.plural == "pods" }! }
    private var deploymentDef: ResourceDef { defs.first { $0.group == "apps" && $0.plural == "deployments" }! }

    /// Called after every stored write.
    mutating func kubeletAfterWrite(_ def: ResourceDef, _ object: JSONValue, type: String) {
        let isPod = def.group.isEmpty && def.kind == "Pod"
        if isPod, let uid = object["metadata"]?["uid"]?.stringValue {
            if type == "ADDED" {
                podSequences[uid] = nextPodSequence
                nextPodSequence += 1
            } else if type == "DELETED" {
                podSequences[uid] = nil
                podRuntimes[uid] = nil
            }
        }
        guard kubelet != nil, !kubeletBusy else { return }
        let isDeployment = def.group == "apps" && def.kind == "Deployment"
        guard isPod || isDeployment || (def.group.isEmpty && (def.kind == "Node" || def.kind == "Service")) else { return }
        kubeletBusy = true
        defer { kubeletBusy = false }
        if isDeployment && type != "DELETED" {
            reconcileDeployment(object)
        } else if isPod, let owner = ownerDeployment(of: object) {
            reconcileDeployment(owner)
        }
        runControllers()
    }

    /// One pass of the scheduler, the kubelet, the Deployment status and the EndpointSlice controllers.
    mutating func runControllers() {
        schedulePendingPods()
        syncPods()
        for d in (objects[deploymentDef.storeKey] ?? [:]).values { updateDeploymentStatus(d) }
        syncEndpointSlices()
    }

    /// Creation order of pods (later = newer), for ordering ties the 1-second timestamps cannot break.
    func podSequence(_ pod: JSONValue) -> Int {
        podSequences[pod["metadata"]?["uid"]?.stringValue ?? ""] ?? Int.max
    }

    private func ownerDeployment(of pod: JSONValue) -> JSONValue? {
        guard let ref = pod["metadata"]?["ownerReferences"]?.arrayValue?.first(where: {
            $0["kind"]?.stringValue == "Deployment" && $0["apiVersion"]?.stringValue == "apps/v1"
        }), let name = ref["name"]?.stringValue,
            let d = object(deploymentDef, pod["metadata"]?["namespace"]?.stringValue, name),
            d["metadata"]?["uid"] == ref["uid"] else { return nil }
        return d
    }

    private func ownedPods(_ deployment: JSONValue) -> [JSONValue] {
        let uid = deployment["metadata"]?["uid"]
        let ns = deployment["metadata"]?["namespace"]
        return (objects[podDef.storeKey] ?? [:]).values.filter { p in
            p["metadata"]?["namespace"] == ns && p["metadata"]?["deletionTimestamp"] == nil && !Self.isTerminal(p)
                && (p["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains { $0["uid"] == uid }
        }.sorted { podSequence($0) < podSequence($1) }
    }

    private mutating func reconcileDeployment(_ d: JSONValue) {
        guard d["metadata"]?["deletionTimestamp"] == nil, let options = kubelet else { return }
        let meta = d["metadata"]
        let ns = meta?["namespace"]?.stringValue
        let name = meta?["name"]?.stringValue ?? ""
        let desired = Int(d["spec"]?["replicas"]?.intValue ?? 1)
        var pods = ownedPods(d)
        while pods.count < desired {
            let template = d["spec"]?["template"] ?? .object([:])
            var pm = template["metadata"]?.objectValue ?? JSONObject()
            pm["generateName"] = .string("\(name)-")
            pm["namespace"] = meta?["namespace"]
            pm["ownerReferences"] = [["apiVersion": "apps/v1", "kind": "Deployment", "name": .string(name),
                                      "uid": meta?["uid"] ?? "", "controller": true, "blockOwnerDeletion": true]]
            var spec = template["spec"] ?? .object([:])
            if let node = options.nodeName, !hasNodes { spec["nodeName"] = .string(node) }
            let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": .object(pm), "spec": spec]
            guard let created = try? create(podDef, ns, pod, dryRun: false) else { break }
            pods.append(created)
        }
        if pods.count > desired {
            for victim in podsToDelete(pods, count: pods.count - desired) {
                _ = try? delete(podDef, ns, victim["metadata"]?["name"]?.stringValue ?? "", options: nil, dryRun: false)
            }
        }
    }

    /// The ReplicaSet controller's `getPodsToDelete`: the first `count` pods in `controller.ActivePodsWithRanks`
    /// order — unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower
    /// `controller.kubernetes.io/pod-deletion-cost` first; more pods of the same owner on the node first; ready for
    /// less time first; then newer first (the exact-time comparisons, without LogarithmicScaleDown's buckets).
    func podsToDelete(_ pods: [JSONValue], count: Int) -> [JSONValue] {
        var onNode: [String: Int] = [:]
        for p in pods { onNode[p["spec"]?["nodeName"]?.stringValue ?? "", default: 0] += 1 }
        func phaseRank(_ p: JSONValue) -> Int {
            switch p["status"]?["phase"]?.stringValue ?? "" {
            case "Pending": return 1
            case "Unknown": return 2
            case "Running": return 3
            default: return 0
            }
        }
        func readyCondition(_ p: JSONValue) -> JSONValue? {
            (p["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" }
        }
        func cost(_ p: JSONValue) -> Int64 {
            Int64(p["metadata"]?["annotations"]?[KubeEmulator.deletionCostAnnotation]?.stringValue ?? "").flatMap {
                Int32(exactly: $0).map(Int64.init)
            } ?? 0
        }
        func time(_ v: JSONValue?) -> Date? { v?.stringValue.flatMap(RFC3339.parse) }
        let sorted = pods.sorted { a, b in
            let na = a["spec"]?["nodeName"]?.stringValue ?? "", nb = b["spec"]?["nodeName"]?.stringValue ?? ""
            if na != nb && (na.isEmpty || nb.isEmpty) { return na.isEmpty }
            if phaseRank(a) != phaseRank(b) { return phaseRank(a) < phaseRank(b) }
            let ra = readyCondition(a), rb = readyCondition(b)
            if (ra != nil) != (rb != nil) { return ra == nil }
            if cost(a) != cost(b) { return cost(a) < cost(b) }
            if onNode[na, default: 0] != onNode[nb, default: 0] { return onNode[na, default: 0] > onNode[nb, default: 0] }
            if let ra, let rb, let ta = time(ra["lastTransitionTime"]), let tb = time(rb["lastTransitionTime"]), ta != tb {
                return ta > tb
            }
            let ca = time(a["metadata"]?["creationTimestamp"]), cb = time(b["metadata"]?["creationTimestamp"])
            if let ca, let cb, ca != cb { return ca > cb }
            return podSequence(a) > podSequence(b)
        }
        return Array(sorted.prefix(count))
    }

    private mutating func updateDeploymentStatus(_ d: JSONValue) {
        let meta = d["metadata"]
        guard let current = object(deploymentDef, meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? ""),
              current["metadata"]?["deletionTimestamp"] == nil else { return }
        let pods = ownedPods(current)
        let desired = Int(current["spec"]?["replicas"]?.intValue ?? 1)
        let ready = pods.filter(Self.isReady).count
        var status = current["status"]?.objectValue ?? JSONObject()
        status["observedGeneration"] = current["metadata"]?["generation"]
        status["replicas"] = .int(Int64(pods.count))
        status["updatedReplicas"] = .int(Int64(pods.count))
        status["readyReplicas"] = ready > 0 ? .int(Int64(ready)) : nil
        status["availableReplicas"] = ready > 0 ? .int(Int64(ready)) : nil
        status["unavailableReplicas"] = desired > ready ? .int(Int64(desired - ready)) : nil
        guard current["status"] != .object(status) else { return }
        var updated = current
        updated["status"] = .object(status)
        updated["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(deploymentDef, updated, type: "MODIFIED")
    }

    static func isReady(_ pod: JSONValue) -> Bool {
        (pod["status"]?["conditions"]?.arrayValue ?? []).contains {
            $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
        }
    }

    // MARK: the kubelet

    /// Whether a kubelet runs this pod: with Nodes, pods bound to an existing node; without, the Deployments' pods.
    private func runsHere(_ pod: JSONValue) -> Bool {
        guard pod["metadata"]?["deletionTimestamp"] == nil, !Self.isTerminal(pod) else { return false }
        if hasNodes {
            guard let n = pod["spec"]?["nodeName"]?.stringValue, !n.isEmpty else { return false }
            return node(named: n) != nil
        }
        return ownerDeployment(of: pod) != nil
    }

    /// Admits newly bound pods (starting them now or arming their start delay) and writes every running pod's
    /// status where it differs from what the kubelet would report.
    private mutating func syncPods() {
        let pods = (objects[podDef.storeKey] ?? [:]).values.filter(runsHere).sorted { podSequence($0) < podSequence($1) }
        for pod in pods {
            guard let uid = pod["metadata"]?["uid"]?.stringValue else { continue }
            if podRuntimes[uid] == nil {
                podRuntimes[uid] = PodRuntime(startTime: timestamp())
                let delay = startDelay(pod)
                if delay <= .zero {
                    start(uid)
                } else {
                    schedule?(delay) { _ = $0.startContainers(uids: [uid]) }
                }
            }
            writeKubeletStatus(pod, podRuntimes[uid]!)
        }
    }

    private func startDelay(_ pod: JSONValue) -> Duration {
        if let text = pod["metadata"]?["annotations"]?[KubeEmulator.startDelayAnnotation]?.stringValue,
           let seconds = Double(text.trimmingSpaces), seconds.isFinite {
            return .milliseconds(Int64(max(0, seconds) * 1000))
        }
        return kubelet?.readyDelay ?? .zero
    }

    private mutating func start(_ uid: String) {
        guard var rt = podRuntimes[uid], rt.startedAt == nil else { return }
        nextPodIP += 1
        rt.ip = kubelet?.podIP(nextPodIP) ?? "10.244.0.\(nextPodIP % 250 + 2)"
        rt.startedAt = timestamp()
        podRuntimes[uid] = rt
    }

    /// Starts the admitted, not yet started pods among `uids`, then runs the controllers; returns how many started.
    mutating func startContainers(uids: [String]) -> Int {
        var started = 0
        for uid in uids where podRuntimes[uid] != nil && podRuntimes[uid]!.startedAt == nil {
            start(uid)
            started += 1
        }
        if started > 0 && kubelet != nil && !kubeletBusy {
            kubeletBusy = true
            runControllers()
            kubeletBusy = false
        }
        return started
    }

    /// The status the kubelet reports (pkg/kubelet/status/generate.go): phase, IPs, container statuses and the
    /// PodScheduled, Initialized, ContainersReady and Ready conditions; other conditions (readiness gates set by
    /// controllers through `pods/status`) are kept, and `Ready` honours `spec.readinessGates`.
    private mutating func writeKubeletStatus(_ pod: JSONValue, _ rt: PodRuntime) {
        var p = pod
        let started = rt.startedAt != nil
        let containers = pod["spec"]?["containers"]?.arrayValue ?? []
        var status = p["status"]?.objectValue ?? JSONObject()
        status["phase"] = started ? "Running" : "Pending"
        let hostIP = (pod["spec"]?["nodeName"]?.stringValue).flatMap { node(named: $0) }.flatMap(NodeRules.hostIP) ?? "10.0.0.1"
        status["hostIP"] = .string(hostIP)
        status["hostIPs"] = [["ip": .string(hostIP)]]
        status["startTime"] = .string(rt.startTime)
        if status["qosClass"] == nil { status["qosClass"] = "BestEffort" }
        if let ip = rt.ip {
            status["podIP"] = .string(ip)
            status["podIPs"] = [["ip": .string(ip)]]
        }
        status["containerStatuses"] = .array(containers.map { c in
            let state: JSONValue = started ? ["running": ["startedAt": .string(rt.startedAt!)]]
                : ["waiting": ["reason": "ContainerCreating"]]
            return ["name": c["name"] ?? "", "image": c["image"] ?? "", "imageID": "", "ready": .bool(started),
                    "started": .bool(started), "restartCount": 0, "state": state]
        })
        p["status"] = .object(status)
        setCondition(&p, ["type": "PodScheduled", "status": "True"])
        setCondition(&p, ["type": "Initialized", "status": "True"])
        let unready = "containers with unready status: [\(containers.compactMap { $0["name"]?.stringValue }.joined(separator: " "))]"
        if started {
            setCondition(&p, ["type": "ContainersReady", "status": "True"])
        } else {
            setCondition(&p, ["type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "message": .string(unready)])
        }
        setCondition(&p, Self.readyCondition(p, containersReady: started, unreadyMessage: unready))
        guard p != pod else { return }
        p["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(podDef, p, type: "MODIFIED")
    }

    /// kubelet `GeneratePodReadyCondition`: ContainersReady's status when that is not True, else False with
    /// `ReadinessGatesNotReady` when a readiness gate's condition is missing or not True, else True.
    static func readyCondition(_ pod: JSONValue, containersReady: Bool, unreadyMessage: String) -> JSONObject {
        if !containersReady {
            return ["type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": .string(unreadyMessage)]
        }
        let conditions = pod["status"]?["conditions"]?.arrayValue ?? []
        var messages: [String] = []
        for gate in pod["spec"]?["readinessGates"]?.arrayValue ?? [] {
            let type = gate["conditionType"]?.stringValue ?? ""
            let c = conditions.first { $0["type"]?.stringValue == type }
            if c == nil {
                messages.append("corresponding condition of pod readiness gate \(GoFormat.quote(type)) does not exist.")
            } else if c?["status"]?.stringValue != "True" {
                messages.append("the status of pod readiness gate \(GoFormat.quote(type)) is not \"True\", but \(c?["status"]?.stringValue ?? "")")
            }
        }
        if !messages.isEmpty {
            return ["type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
                    "message": .string(messages.joined(separator: ", "))]
        }
        return ["type": "Ready", "status": "True"]
    }
}
