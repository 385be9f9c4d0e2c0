import Foundation

/// What the data plane knows about one pod it runs an engine instance for.
public struct TrackedInstance: Sendable, Hashable {
    public var pool: String
    public var gpuType: String
    public var node: String?
    /// Wall-clock seconds (the planner's clock) when the pod was first seen bound to a node.
    public var boundAt: Double
    /// The sandbox asked the kubelet stand-in to start the pod's containers (its cold start is over).
    public var started: Bool
    /// In service in the engine (`LiveEngine.setServing`).
    public var serving: Bool
    /// The `IP:port` its `/metrics` listener is bound to, if any.
    public var listener: String?

    public init(pool: String, gpuType: String, node: String?, boundAt: Double, started: Bool = false, serving: Bool = false,
                listener: String? = nil) {
        self.pool = pool
        self.gpuType = gpuType
        self.node = node
        self.boundAt = boundAt
        self.started = started
        self.serving = serving
        self.listener = listener
    }
}

/// One step the data plane takes to make the engine and the listeners match the pods.
public enum SandboxAction: Sendable, Hashable {
    /// A pod was bound to a node: a `starting` engine instance (`LiveEngine.addInstance`).
    case add(id: String, pool: String, gpuType: String, node: String?)
    /// The pod's cold start is over: start its containers (the kubelet stand-in then makes it Running and
    /// ContainersReady, and Ready once its readiness gates are True).
    case startContainers(id: String, namespace: String, name: String)
    /// Serve the pod's `/metrics` on `ip:port`.
    case listen(id: String, ip: String, port: Int)
    /// Put the instance in or out of service (`LiveEngine.setServing`).
    case serve(id: String, Bool)
    /// The pod is gone: close its listener and remove the instance (`LiveEngine.removeInstance`).
    case remove(id: String)
}

/// The pure core of the sandbox's data plane: given the pods the API shows and what the engine holds, the actions
/// that bring the engine in line (level-triggered: the same inputs give the same actions, and applying them gives
/// none the next time).
///
/// - a pod bound to a node (not being deleted) whose pool the scenario knows becomes a `starting` instance;
/// - its containers start when the cold start of its role and GPU type has passed in simulated time (wall time ×
///   speed), unless the pod sets the kubelet's start-delay annotation itself (then the kubelet times it);
/// - it serves when the pod is Ready (the kubelet's verdict, readiness gates included) and every readiness-gate
///   condition is True (the DeploymentGroup's P/D ratio gate admitted it) and it is not being deleted;
/// - its `/metrics` is served on `podIP:containerPort` (default port `defaultPort`) once it has an IP;
/// - a pod that is gone (or whose instance the engine lost) is removed.
public struct SandboxPlanner: Sendable {
    public var catalog: PoolCatalog
    /// GPU type of each node (the `heteroscale.io/gpu-type` label).
    public var nodeGPUTypes: [String: String]
    /// Simulated seconds from a pod's binding to its containers starting, per pool role and GPU type.
    public var coldStart: @Sendable (_ role: String, _ gpuType: String) -> Double
    /// Simulated seconds per wall-clock second.
    public var speed: Double
    /// The `/metrics` port for pods that declare no container port.
    public var defaultPort: Int

    public init(catalog: PoolCatalog, nodeGPUTypes: [String: String], speed: Double = 1, defaultPort: Int = 8000,
                coldStart: @escaping @Sendable (_ role: String, _ gpuType: String) -> Double) {
        self.catalog = catalog
        self.nodeGPUTypes = nodeGPUTypes
        self.coldStart = coldStart
        self.speed = speed
        self.defaultPort = defaultPort
    }

    /// Whether a pod's instance should be in service: Ready, every readiness gate True, not being deleted.
    public static func shouldServe(_ pod: PodView) -> Bool {
        pod.ready && !pod.deleting && pod.readinessGates.values.allSatisfy { $0 }
    }

    /// Wall-clock seconds from binding to container start for an instance of `pool` on `gpuType`.
    public func coldStartWallSeconds(pool: String, gpuType: String) -> Double {
        let role = catalog.pools.first { $0.name == pool }?.role ?? "mixed"
        return max(0, coldStart(role, gpuType)) / max(speed, 1e-9)
    }

    /// The actions for `pods` (every pod the API lists) against `tracked` (instance id → state) at wall time `now`.
    /// Order: removals first, then per pod (sorted by key) add, start, listen, serve.
    public func plan(pods: [PodView], tracked: [String: TrackedInstance], now: Double) -> [SandboxAction] {
        var actions: [SandboxAction] = []
        let live = Dictionary(pods.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for id in tracked.keys.sorted() where live[id] == nil {
            actions.append(.remove(id: id))
        }
        for pod in pods.sorted(by: { $0.key < $1.key }) {
            let id = pod.key
            var t = tracked[id]
            if t == nil {
                guard let node = pod.nodeName, !pod.deleting, pod.phase != "Succeeded", pod.phase != "Failed",
                      let pool = catalog.pool(for: pod),
                      let gpu = catalog.gpuType(pool, nodeGPUType: nodeGPUTypes[node]) else { continue }
                actions.append(.add(id: id, pool: pool.name, gpuType: gpu, node: node))
                t = TrackedInstance(pool: pool.name, gpuType: gpu, node: node, boundAt: now)
            }
            guard let t else { continue }
            let running = pod.phase == "Running" || pod.podIP != nil
            if !t.started && !running && !pod.hasStartDelayAnnotation && !pod.deleting
                && now - t.boundAt >= coldStartWallSeconds(pool: t.pool, gpuType: t.gpuType) {
                actions.append(.startContainers(id: id, namespace: pod.namespace, name: pod.name))
            }
            if t.listener == nil, let ip = pod.podIP, !pod.deleting {
                actions.append(.listen(id: id, ip: ip, port: pod.containerPort ?? defaultPort))
            }
            let serve = Self.shouldServe(pod)
            if serve != t.serving { actions.append(.serve(id: id, serve)) }
        }
        return actions
    }
}
