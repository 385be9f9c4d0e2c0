import Foundation
import YAML

/// What the sandbox's data plane needs to know about one pod, read from the API object (no I/O).
public struct PodView: Sendable, Hashable {
    public var uid: String
    public var namespace: String
    public var name: String
    public var labels: [String: String]
    /// The controlling Deployment's name (`ownerReferences`), if any.
    public var ownerDeployment: String?
    public var nodeName: String?
    public var podIP: String?
    /// `status.phase` (`Pending`, `Running`, ...).
    public var phase: String
    /// `metadata.deletionTimestamp` is set.
    public var deleting: Bool
    /// The `Ready` condition is True (the kubelet's verdict: containers ready and every readiness gate True).
    public var ready: Bool
    /// The conditions named by `spec.readinessGates` and whether each is True (missing: false).
    public var readinessGates: [String: Bool]
    /// The first container port of the first container that declares one (the port the sandbox serves `/metrics` on).
    public var containerPort: Int?
    /// The pod sets the kubelet stand-in's start-delay annotation itself (then the kubelet starts it, not the sandbox).
    public var hasStartDelayAnnotation: Bool

    public init(uid: String, namespace: String = "default", name: String, labels: [String: String] = [:],
                ownerDeployment: String? = nil, nodeName: String? = nil, podIP: String? = nil, phase: String = "Pending",
                deleting: Bool = false, ready: Bool = false, readinessGates: [String: Bool] = [:], containerPort: Int? = nil,
                hasStartDelayAnnotation: Bool = false) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.ownerDeployment = ownerDeployment
        self.nodeName = nodeName
        self.podIP = podIP
        self.phase = phase
        self.deleting = deleting
        self.ready = ready
        self.readinessGates = readinessGates
        self.containerPort = containerPort
        self.hasStartDelayAnnotation = hasStartDelayAnnotation
    }

    /// The pod key the sandbox uses as the engine instance id: `namespace/name`.
    public var key: String { "\(namespace)/\(name)" }

    /// Reads a core/v1 Pod; nil when it has no name or uid.
    public init?(_ pod: JSONValue, startDelayAnnotation: String = "emulator.heteroscale.io/start-delay-seconds") {
        let meta = pod["metadata"]
        guard let name = meta?["name"]?.stringValue, let uid = meta?["uid"]?.stringValue else { return nil }
        self.uid = uid
        self.name = name
        namespace = meta?["namespace"]?.stringValue ?? "default"
        var labels: [String: String] = [:]
        for e in meta?["labels"]?.objectValue ?? JSONObject() { if let s = e.value.stringValue { labels[e.key] = s } }
        self.labels = labels
        ownerDeployment = meta?["ownerReferences"]?.arrayValue?.first {
            $0["kind"]?.stringValue == "Deployment" && $0["controller"]?.boolValue == true
        }?["name"]?.stringValue
        nodeName = pod["spec"]?["nodeName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        podIP = pod["status"]?["podIP"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        phase = pod["status"]?["phase"]?.stringValue ?? "Pending"
        deleting = meta?["deletionTimestamp"].map { !$0.isNull } ?? false
        let conditions = pod["status"]?["conditions"]?.arrayValue ?? []
        func isTrue(_ type: String) -> Bool {
            conditions.contains { $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True" }
        }
        ready = isTrue("Ready")
        var gates: [String: Bool] = [:]
        for g in pod["spec"]?["readinessGates"]?.arrayValue ?? [] {
            if let type = g["conditionType"]?.stringValue { gates[type] = isTrue(type) }
        }
        readinessGates = gates
        containerPort = (pod["spec"]?["containers"]?.arrayValue ?? []).lazy.compactMap {
            $0["ports"]?.arrayValue?.first?["containerPort"]?.intValue.map(Int.init)
        }.first
        hasStartDelayAnnotation = meta?["annotations"]?[startDelayAnnotation]?.stringValue != nil
    }
}

/// The engine pools a scenario defines (`LiveEngine`'s `config.pools`) and the rule that maps a pod to one.
public struct PoolCatalog: Sendable, Hashable {
    public struct Pool: Sendable, Hashable {
        /// `GROUP/ROLE` for a DeploymentGroup role, else the Deployment's name.
        public var name: String
        /// `prefill`, `decode` or `mixed`.
        public var role: String
        /// GPU types the pool has profiles for, in preference order.
        public var gpuTypes: [String]
        public init(name: String, role: String, gpuTypes: [String]) {
            self.name = name
            self.role = role
            self.gpuTypes = gpuTypes
        }
    }

    public var pools: [Pool]
    public init(pools: [Pool]) { self.pools = pools }

    public static let groupLabel = "heteroscale.io/group"
    public static let roleLabel = "heteroscale.io/role"

    /// The pool of a pod: `GROUP/ROLE` from the DeploymentGroup labels, else the owning Deployment's name, else
    /// the one pool whose role is the pod's `heteroscale.io/role` label (a group or Deployment the scenario does
    /// not name still gets an engine when its role is unambiguous). Nil: no engine for this pod.
    public func pool(for pod: PodView) -> Pool? {
        let role = pod.labels[Self.roleLabel]
        if let group = pod.labels[Self.groupLabel], let role, let p = pools.first(where: { $0.name == "\(group)/\(role)" }) {
            return p
        }
        if let d = pod.ownerDeployment, let p = pools.first(where: { $0.name == d }) { return p }
        if let role {
            let same = pools.filter { $0.role == role }
            if same.count == 1 { return same[0] }
        }
        return nil
    }

    /// The GPU type an instance of `pool` on a node labelled `nodeGPUType` runs as: the node's type when the pool
    /// has a profile for it, else the pool's first.
    public func gpuType(_ pool: Pool, nodeGPUType: String?) -> String? {
        if let t = nodeGPUType, pool.gpuTypes.contains(t) { return t }
        return pool.gpuTypes.first
    }
}
