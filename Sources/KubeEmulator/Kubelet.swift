import Foundation
import YAML

/// The optional built-in "kubelet": Deployments get Pods (owned directly by the Deployment; there are no
/// ReplicaSets) that turn Running and Ready with a podIP after `readyDelay`, and the Deployment's status
/// counts them. Deleted pods are replaced; scale-in deletes the newest pods first.
public struct KubeletOptions: Sendable {
    /// Time from pod creation to Running/Ready; zero makes pods ready at once (in the same write).
    public var readyDelay: Duration = .zero
    /// `spec.nodeName` for the pods, when set.
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

extension StoreState {
    private var podDef: ResourceDef { defs.first { $0.group.isEmpty && $0.plural == "pods" }! }
    private var deploymentDef: ResourceDef { defs.first { $0.group == "apps" && $0.plural == "deployments" }! }

    /// Called after every stored write.
    mutating func kubeletAfterWrite(_ def: ResourceDef, _ object: JSONValue, type: String) {
        guard kubelet != nil, !kubeletBusy else { return }
        if def.group == "apps" && def.kind == "Deployment" && type != "DELETED" {
            kubeletBusy = true
            reconcileDeployment(object)
            kubeletBusy = false
        } else if def.group.isEmpty && def.kind == "Pod", let owner = ownerDeployment(of: object) {
            kubeletBusy = true
            reconcileDeployment(owner)
            kubeletBusy = false
        }
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
            p["metadata"]?["namespace"] == ns && p["metadata"]?["deletionTimestamp"] == nil
                && (p["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains { $0["uid"] == uid }
        }.sorted {
            let a = Int($0["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0
            let b = Int($1["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0
            return a < b
        }
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
            if let node = options.nodeName { spec["nodeName"] = .string(node) }
            let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": .object(pm), "spec": spec]
            guard let created = try? create(podDef, ns, pod, dryRun: false) else { break }
            pods.append(created)
            let podName = created["metadata"]?["name"]?.stringValue ?? ""
            if options.readyDelay == .zero {
                markPodReady(ns, podName)
            } else {
                schedule?(options.readyDelay) { $0.markPodReady(ns, podName) }
            }
        }
        while pods.count > desired, let victim = pods.popLast() {
            _ = try? delete(podDef, ns, victim["metadata"]?["name"]?.stringValue ?? "", options: nil, dryRun: false)
        }
        updateDeploymentStatus(d)
    }

    private mutating func updateDeploymentStatus(_ d: JSONValue) {
        let meta = d["metadata"]
        guard let current = object(deploymentDef, meta?["namespace"]?.stringValue, meta?["name"]?.stringValue ?? "")
        else { return }
        let pods = ownedPods(current)
        let ready = pods.filter { p in
            (p["status"]?["conditions"]?.arrayValue ?? []).contains {
                $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
            }
        }.count
        var status = current["status"]?.objectValue ?? JSONObject()
        status["observedGeneration"] = current["metadata"]?["generation"]
        status["replicas"] = .int(Int64(pods.count))
        status["updatedReplicas"] = .int(Int64(pods.count))
        status["readyReplicas"] = ready > 0 ? .int(Int64(ready)) : nil
        status["availableReplicas"] = ready > 0 ? .int(Int64(ready)) : nil
        status["unavailableReplicas"] = pods.count > ready ? .int(Int64(pods.count - ready)) : nil
        guard current["status"] != .object(status) else { return }
        var updated = current
        updated["status"] = .object(status)
        updated["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(deploymentDef, updated, type: "MODIFIED")
    }

    /// Marks a pod Running and Ready with a podIP (the kubelet's "started" moment).
    mutating func markPodReady(_ ns: String?, _ name: String) {
        guard var pod = object(podDef, ns, name), pod["metadata"]?["deletionTimestamp"] == nil,
              pod["status"]?["phase"]?.stringValue != "Running" else { return }
        nextPodIP += 1
        let ts = JSONValue.string(timestamp())
        let ip = JSONValue.string(kubelet?.podIP(nextPodIP) ?? "10.244.0.\(nextPodIP % 250 + 2)")
        let containers = pod["spec"]?["containers"]?.arrayValue ?? []
        let condition = { (type: String) -> JSONValue in ["type": .string(type), "status": "True", "lastTransitionTime": ts] }
        pod["status"] = [
            "phase": "Running", "podIP": ip, "podIPs": [["ip": ip]], "hostIP": "10.0.0.1", "startTime": ts,
            "qosClass": "BestEffort",
            "conditions": [condition("PodScheduled"), condition("Initialized"), condition("ContainersReady"), condition("Ready")],
            "containerStatuses": .array(containers.map { c in
                ["name": c["name"] ?? "", "image": c["image"] ?? "", "ready": true, "started": true, "restartCount": 0,
                 "state": ["running": ["startedAt": ts]]]
            }),
        ]
        pod["metadata"]?["resourceVersion"] = .string(String(nextRV()))
        put(podDef, pod, type: "MODIFIED")
    }
}
