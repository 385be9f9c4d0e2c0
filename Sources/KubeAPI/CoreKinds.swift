import YAML

// Typed subsets of core/v1 kinds. Fields not listed are dropped on decode; timestamps stay RFC 3339 strings.

/// core/v1 `ObjectReference`.
public struct ObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var resourceVersion: String?
    public var fieldPath: String?

    public init(apiVersion: String? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil,
                uid: String? = nil, resourceVersion: String? = nil, fieldPath: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.fieldPath = fieldPath
    }
}

/// The condition shape shared by Pod, Node, Deployment and StatefulSet status (not `metav1.Condition`:
/// reason, message and times may be absent, and each kind adds its own timestamp).
public struct ResourceCondition: Codable, Sendable, Hashable {
    public var type: String
    /// `"True"`, `"False"` or `"Unknown"`; kept as a string so an unexpected value does not fail a decode.
    public var status: String
    public var lastTransitionTime: String?
    /// Pods only.
    public var lastProbeTime: String?
    /// Nodes only.
    public var lastHeartbeatTime: String?
    /// Deployments only.
    public var lastUpdateTime: String?
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, lastTransitionTime: String? = nil, lastProbeTime: String? = nil,
                lastHeartbeatTime: String? = nil, lastUpdateTime: String? = nil, reason: String? = nil,
                message: String? = nil) {
        self.type = type
        self.status = status
        self.lastTransitionTime = lastTransitionTime
        self.lastProbeTime = lastProbeTime
        self.lastHeartbeatTime = lastHeartbeatTime
        self.lastUpdateTime = lastUpdateTime
        self.reason = reason
        self.message = message
    }

    /// `status == "True"`.
    public var isTrue: Bool { status == ConditionStatus.isTrue.rawValue }
}

extension Array where Element == ResourceCondition {
    /// The condition of the given type, if present.
    public subscript(type type: String) -> ResourceCondition? {
        first { $0.type == type }
    }
}

// MARK: - Pod

/// core/v1 `Pod`.
public struct Pod: Codable, Sendable, Hashable {
    public static let apiVersion = "v1"
    public static let kind = "Pod"
    public static let resource = "pods"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: Spec? = nil, status: Status? = nil,
                apiVersion: String? = Pod.apiVersion, kind: String? = Pod.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// `PodPhase` values.
    public enum Phase {
        public static let pending = "Pending"
        public static let running = "Running"
        public static let succeeded = "Succeeded"
        public static let failed = "Failed"
        public static let unknown = "Unknown"
    }

    /// Well-known `PodConditionType` values.
    public enum ConditionType {
        public static let podScheduled = "PodScheduled"
        public static let initialized = "Initialized"
        public static let containersReady = "ContainersReady"
        public static let ready = "Ready"
    }

    /// The `Ready` condition is `True`.
    public var isReady: Bool { status?.conditions?[type: ConditionType.ready]?.isTrue ?? false }

    /// `metadata.deletionTimestamp` is set.
    public var isTerminating: Bool { metadata.deletionTimestamp != nil }

    /// core/v1 `PodSpec` subset.
    public struct Spec: Codable, Sendable, Hashable {
        public var nodeName: String?
        public var containers: [Container]
        /// Run before `containers`; the scheduler reserves the larger of their largest request and the sum of
        /// the app containers' requests.
        public var initContainers: [Container]?
        public var tolerations: [Toleration]?
        public var readinessGates: [ReadinessGate]?

        public init(nodeName: String? = nil, containers: [Container] = [], initContainers: [Container]? = nil,
                    tolerations: [Toleration]? = nil, readinessGates: [ReadinessGate]? = nil) {
            self.nodeName = nodeName
            self.containers = containers
            self.initContainers = initContainers
            self.tolerations = tolerations
            self.readinessGates = readinessGates
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            nodeName = try c.decodeIfPresent(String.self, forKey: .nodeName)
            containers = try c.decodeIfPresent([Container].self, forKey: .containers) ?? []
            initContainers = try c.decodeIfPresent([Container].self, forKey: .initContainers)
            tolerations = try c.decodeIfPresent([Toleration].self, forKey: .tolerations)
            readinessGates = try c.decodeIfPresent([ReadinessGate].self, forKey: .readinessGates)
        }
    }

    /// core/v1 `Container` subset.
    public struct Container: Codable, Sendable, Hashable {
        public var name: String
        public var image: String?
        public var ports: [ContainerPort]?
        public var resources: ResourceRequirements?

        public init(name: String, image: String? = nil, ports: [ContainerPort]? = nil, resources: ResourceRequirements? = nil) {
            self.name = name
            self.image = image
            self.ports = ports
            self.resources = resources
        }
    }

    /// core/v1 `ContainerPort`.
    public struct ContainerPort: Codable, Sendable, Hashable {
        public var name: String?
        public var containerPort: Int32
        /// `TCP` (the default), `UDP` or `SCTP`.
        public var `protocol`: String?

        public init(name: String? = nil, containerPort: Int32, protocol: String? = nil) {
            self.name = name
            self.containerPort = containerPort
            self.protocol = `protocol`
        }
    }

    /// core/v1 `ResourceRequirements`: quantities as their API strings (`"500m"`, `"16Gi"`, `"1"`).
    public struct ResourceRequirements: Codable, Sendable, Hashable {
        public var requests: [String: String]?
        public var limits: [String: String]?

        public init(requests: [String: String]? = nil, limits: [String: String]? = nil) {
            self.requests = requests
            self.limits = limits
        }
    }

    /// core/v1 `PodReadinessGate`.
    public struct ReadinessGate: Codable, Sendable, Hashable {
        public var conditionType: String
        public init(conditionType: String) { self.conditionType = conditionType }
    }

    /// core/v1 `PodStatus` subset.
    public struct Status: Codable, Sendable, Hashable {
        /// One of `Pod.Phase`.
        public var phase: String?
        public var podIP: String?
        public var podIPs: [PodIP]?
        public var hostIP: String?
        public var startTime: String?
        public var conditions: [ResourceCondition]?
        public var containerStatuses: [ContainerStatus]?

        public init(phase: String? = nil, podIP: String? = nil, podIPs: [PodIP]? = nil, hostIP: String? = nil,
                    startTime: String? = nil, conditions: [ResourceCondition]? = nil,
                    containerStatuses: [ContainerStatus]? = nil) {
            self.phase = phase
            self.podIP = podIP
            self.podIPs = podIPs
            self.hostIP = hostIP
            self.startTime = startTime
            self.conditions = conditions
            self.containerStatuses = containerStatuses
        }
    }

    /// core/v1 `PodIP`.
    public struct PodIP: Codable, Sendable, Hashable {
        public var ip: String
        public init(ip: String) { self.ip = ip }
    }

    /// core/v1 `ContainerStatus` subset.
    public struct ContainerStatus: Codable, Sendable, Hashable {
        public var name: String
        public var ready: Bool?
        public var restartCount: Int32?
        public var started: Bool?

        public init(name: String, ready: Bool? = nil, restartCount: Int32? = nil, started: Bool? = nil) {
            self.name = name
            self.ready = ready
            self.restartCount = restartCount
            self.started = started
        }
    }
}

// MARK: - Node

/// core/v1 `Node` (cluster-scoped). Topology comes from `metadata.labels` (`Node.Label`).
public struct Node: Codable, Sendable, Hashable {
    public static let apiVersion = "v1"
    public static let kind = "Node"
    public static let resource = "nodes"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: Spec? = nil, status: Status? = nil,
                apiVersion: String? = Node.apiVersion, kind: String? = Node.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Well-known topology labels.
    public enum Label {
        public static let hostname = "kubernetes.io/hostname"
        public static let zone = "topology.kubernetes.io/zone"
        public static let region = "topology.kubernetes.io/region"
        public static let instanceType = "node.kubernetes.io/instance-type"
    }

    /// The `Ready` condition is `True`.
    public var isReady: Bool { status?.conditions?[type: "Ready"]?.isTrue ?? false }

    /// core/v1 `NodeSpec` subset.
    public struct Spec: Codable, Sendable, Hashable {
        public var unschedulable: Bool?
        public var taints: [Taint]?
        public init(unschedulable: Bool? = nil, taints: [Taint]? = nil) {
            self.unschedulable = unschedulable
            self.taints = taints
        }
    }

    /// core/v1 `NodeStatus` subset: quantities as their API strings (`"nvidia.com/gpu": "8"`).
    public struct Status: Codable, Sendable, Hashable {
        public var capacity: [String: String]?
        public var allocatable: [String: String]?
        public var conditions: [ResourceCondition]?

        public init(capacity: [String: String]? = nil, allocatable: [String: String]? = nil,
                    conditions: [ResourceCondition]? = nil) {
            self.capacity = capacity
            self.allocatable = allocatable
            self.conditions = conditions
        }
    }
}

// MARK: - Taints and tolerations

/// core/v1 `Taint`: a node repels pods that do not tolerate it.
public struct Taint: Codable, Sendable, Hashable {
    public var key: String
    public var value: String?
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    public var effect: String
    public var timeAdded: String?

    public init(key: String, value: String? = nil, effect: String, timeAdded: String? = nil) {
        self.key = key
        self.value = value
        self.effect = effect
        self.timeAdded = timeAdded
    }

    /// `TaintEffect` values.
    public enum Effect {
        public static let noSchedule = "NoSchedule"
        public static let preferNoSchedule = "PreferNoSchedule"
        public static let noExecute = "NoExecute"
    }
}

/// core/v1 `Toleration`.
public struct Toleration: Codable, Sendable, Hashable {
    public var key: String?
    /// `Exists` or `Equal` (the default).
    public var `operator`: String?
    public var value: String?
    /// Empty matches every effect.
    public var effect: String?
    public var tolerationSeconds: Int64?

    public init(key: String? = nil, operator: String? = nil, value: String? = nil, effect: String? = nil,
                tolerationSeconds: Int64? = nil) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
        self.tolerationSeconds = tolerationSeconds
    }

    /// Whether this toleration tolerates `taint`, as `Toleration.ToleratesTaint` in k8s.io/api core/v1
    /// (toleration.go): the effects match (or the toleration's is empty), the keys match (an empty key with
    /// `Exists` matches every key), and with `Equal` (or no operator) the values are equal.
    public func tolerates(_ taint: Taint) -> Bool {
        if let effect, !effect.isEmpty, effect != taint.effect { return false }
        if let key, !key.isEmpty, key != taint.key { return false }
        switch `operator` ?? "Equal" {
        case "Exists": return true
        case "Equal", "": return (value ?? "") == (taint.value ?? "")
        default: return false
        }
    }
}

// MARK: - Service

/// core/v1 `Service` subset.
public struct Service: Codable, Sendable, Hashable {
    public static let apiVersion = "v1"
    public static let kind = "Service"
    public static let resource = "services"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: Spec? = nil,
                apiVersion: String? = Service.apiVersion, kind: String? = Service.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
    }

    /// core/v1 `ServiceSpec` subset.
    public struct Spec: Codable, Sendable, Hashable {
        /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
        public var type: String?
        public var selector: [String: String]?
        public var clusterIP: String?
        public var clusterIPs: [String]?
        public var ports: [Port]?

        public init(type: String? = nil, selector: [String: String]? = nil, clusterIP: String? = nil,
                    clusterIPs: [String]? = nil, ports: [Port]? = nil) {
            self.type = type
            self.selector = selector
            self.clusterIP = clusterIP
            self.clusterIPs = clusterIPs
            self.ports = ports
        }
    }

    /// core/v1 `ServicePort` subset.
    public struct Port: Codable, Sendable, Hashable {
        public var name: String?
        public var `protocol`: String?
        public var port: Int32
        /// An int or a named port (IntOrString), kept unstructured.
        public var targetPort: JSONValue?

        public init(name: String? = nil, protocol: String? = nil, port: Int32, targetPort: JSONValue? = nil) {
            self.name = name
            self.protocol = `protocol`
            self.port = port
            self.targetPort = targetPort
        }
    }
}
