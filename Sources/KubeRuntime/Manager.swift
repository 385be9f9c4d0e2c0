import Foundation
import KubeClient
import Logging
import YAML

/// What makes a controller reconcile a key: one resource's informer events mapped to the keys of the
/// controller's objects (controller-runtime's `Watches` with an event handler; kube-rs' `watches`/`owns`).
public struct Watch: Sendable {
    public var resource: GroupVersionResource
    /// Keys to enqueue for one event (empty: ignore it).
    public var map: @Sendable (InformerEvent) -> [ObjectKey]
    /// A primary watch also enqueues every cached object when the controller starts (after a restart or on
    /// becoming leader), so the whole state is reconciled once.
    public var primary: Bool

    public init(_ resource: GroupVersionResource, primary: Bool = false, map: @escaping @Sendable (InformerEvent) -> [ObjectKey]) {
        self.resource = resource
        self.primary = primary
        self.map = map
    }

    /// The controller's own objects: added and deleted ones, and updates that change the spec (`generation`),
    /// the deletion timestamp or, when `labels`/`annotations` is set, those; status-only updates (often the
    /// controller's own writes) do not trigger reconciles (controller-runtime's `GenerationChangedPredicate`).
    public static func primary(_ resource: GroupVersionResource, labels: Bool = false, annotations: Bool = false) -> Watch {
        Watch(resource, primary: true) { event in
            switch event {
            case .added(let o), .deleted(let o):
                return ObjectStore.key(of: o).map { [$0] } ?? []
            case .updated(let old, let new):
                let meta = (old["metadata"], new["metadata"])
                let changed = meta.0?["generation"] != meta.1?["generation"]
                    || meta.0?["deletionTimestamp"] != meta.1?["deletionTimestamp"]
                    || (labels && meta.0?["labels"] != meta.1?["labels"])
                    || (annotations && meta.0?["annotations"] != meta.1?["annotations"])
                return changed ? (ObjectStore.key(of: new).map { [$0] } ?? []) : []
            }
        }
    }

    /// Objects owned by the controller's objects: any change to one enqueues its controlling owner (the
    /// `ownerReferences` entry with `controller: true`) when that owner is of `kind` in `apiGroup`
    /// (controller-runtime's `Owns`, kube-rs' `owns`).
    public static func owned(_ resource: GroupVersionResource, ownerKind kind: String, ownerAPIGroup group: String) -> Watch {
        Watch(resource) { event in
            var keys: [ObjectKey] = []
            for o in event.objects {
                guard let owner = Self.controllerOwner(of: o), owner.kind == kind, owner.group == group else { continue }
                let key = ObjectKey(namespace: o["metadata"]?["namespace"]?.stringValue ?? "", name: owner.name)
                if !keys.contains(key) { keys.append(key) }
            }
            return keys
        }
    }

    /// The `controller: true` owner reference of an object: its kind, API group and name.
    public static func controllerOwner(of object: JSONValue) -> (kind: String, group: String, name: String)? {
        for ref in object["metadata"]?["ownerReferences"]?.arrayValue ?? [] where ref["controller"]?.boolValue == true {
            guard let kind = ref["kind"]?.stringValue, let name = ref["name"]?.stringValue else { continue }
            let apiVersion = ref["apiVersion"]?.stringValue ?? ""
            let group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : ""
            return (kind, group, name)
        }
        return nil
    }
}

extension InformerEvent {
    /// The objects of the event: both versions of an update (a label change may move an object between owners).
    public var objects: [JSONValue] {
        switch self {
        case .added(let o), .deleted(let o): return [o]
        case .updated(let old, let new): return [old, new]
        }
    }
}

/// One controller run by a `Manager`: a name (for metrics and logs), a reconciler, its watches and workers.
public struct ControllerDefinition: Sendable {
    public var name: String
    public var reconciler: any Reconciler
    public var watches: [Watch]
    public var workers: Int

    public init(name: String, reconciler: any Reconciler, watches: [Watch], workers: Int = 2) {
        self.name = name
        self.reconciler = reconciler
        self.watches = watches
        self.workers = max(1, workers)
    }
}

/// Runs controllers over shared informers (controller-runtime's `Manager`, kube-rs' `Controller` runtime):
/// - one informer per resource, started once and shared by every controller that watches it;
/// - start-up waits for every cache to sync (signalled, not polled);
/// - leader election (optional) around all controllers: only the leader runs workers, every replica keeps its
///   caches warm; losing leadership stops the workers and makes `run` throw `LeadershipLost`;
/// - per controller: its own rate-limited work queue, `workers` reconcile loops, and the `controller_runtime_*`
///   and `workqueue_*` metrics labelled with its name;
/// - graceful shutdown: no new work, in-flight reconciles finish, the lease is released.
public final class Manager: Sendable {
    public struct Configuration: Sendable {
        /// Watch one namespace, or all when `nil`.
        public var namespace: String?
        /// Leader election on a Lease; `nil` runs without it.
        public var leaderElection: LeaderElector<ContinuousClock>.Config?
        public init(namespace: String? = nil, leaderElection: LeaderElector<ContinuousClock>.Config? = nil) {
            self.namespace = namespace
            self.leaderElection = leaderElection
        }
        /// The `name` label of `leader_election_master_status`: the Lease's name (client-go's convention).
        public var leaderMetricName: String { leaderElection?.name ?? Self.defaultLeaseName }
        public static let defaultLeaseName = "heteroscale-controller"
    }

    public let configuration: Configuration
    public let client: RESTClient
    public let registry: MetricsRegistry
    private let logger: Logger
    private let clock = ContinuousClock()
    private let elector: LeaderElector<ContinuousClock>?
    private let shutdownRequested = Latch()
    private let errorLog: InformerErrorLog
    /// Informers by resource path, and the handlers each dispatches to.
    private let informers = Locked<[(resource: GroupVersionResource, informer: Informer<ContinuousClock>, handlers: HandlerList)]>([])
    private let controllers = Locked<[(definition: ControllerDefinition, queue: WorkQueue<ObjectKey, ContinuousClock>)]>([])
    private let started = Locked(false)

    public init(client: RESTClient, configuration: Configuration, registry: MetricsRegistry, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        errorLog = InformerErrorLog(logger: logger)
        elector = configuration.leaderElection.map { LeaderElector(client: client, config: $0, clock: ContinuousClock()) }
        RuntimeMetricNames.register(in: registry)
    }

    /// The shared informer of `resource` (created on first use; started by `run`). Its store is the cache
    /// reconcilers read.
    public func informer(_ resource: GroupVersionResource) -> Informer<ContinuousClock> {
        informers.withLock { list in
            if let existing = list.first(where: { $0.resource == resource }) { return existing.informer }
            let handlers = HandlerList()
            let errorLog = self.errorLog
            let informer = Informer(client: client, resource: resource, namespace: configuration.namespace, clock: clock,
                                    onError: { errorLog.report(resource.resource, $0) }) { event in await handlers.dispatch(event) }
            list.append((resource, informer, handlers))
            return informer
        }
    }

    /// Adds a controller; call before `run`.
    public func add(_ definition: ControllerDefinition) {
        precondition(!started.withLock { $0 }, "Manager.add must be called before run")
        let queue = WorkQueue<ObjectKey, ContinuousClock>(clock: clock)
        controllers.withLock { $0.append((definition, queue)) }
        for watch in definition.watches {
            _ = informer(watch.resource)
            let handlers = informers.withLock { list in list.first { $0.resource == watch.resource }!.handlers }
            handlers.add { event in
                for key in watch.map(event) { await queue.add(key) }
            }
        }
        let labels = ["name": definition.name]
        registry.addCollector { [registry] in
            // As client-go: items ready for a worker; the ones waiting for their requeue time are not counted.
            registry.set(RuntimeMetricNames.workqueueDepth, labels, Double(await queue.depth))
            registry.set(RuntimeMetricNames.workqueueAdds, labels, Double(await queue.addsTotal))
            registry.set(RuntimeMetricNames.workqueueRetries, labels, Double(await queue.retriesTotal))
        }
        registry.set(RuntimeMetricNames.maxConcurrentReconciles, ["controller": definition.name], Double(definition.workers))
        registry.set(RuntimeMetricNames.activeWorkers, ["controller": definition.name], 0)
        // As controller-runtime: the error counter exists from the start, so `rate()` sees the first error.
        registry.increment(RuntimeMetricNames.reconcileErrors, ["controller": definition.name], by: 0)
    }

    /// The names of the controllers added.
    public var controllerNames: [String] { controllers.withLock { $0.map(\.definition.name) } }

    /// True once every cache has synced.
    public var hasSynced: Bool { informers.withLock { $0 }.allSatisfy { $0.informer.hasSynced } }

    /// True while every cache is synced and its last list or watch succeeded (for `/readyz`): an API server
    /// outage makes the manager unready until a watch is accepted again.
    public var isReady: Bool { informers.withLock { $0 }.allSatisfy { $0.informer.isHealthy } }

    /// Why the manager is not ready (for the `/readyz` body).
    public var notReadyReason: String {
        let all = informers.withLock { $0 }
        let unsynced = all.compactMap { entry in
            entry.informer.hasSynced ? nil : "\(entry.resource.resource): \(entry.informer.lastError.map(LogThrottle.normalized) ?? "listing")"
        }
        if !unsynced.isEmpty { return "informer caches have not synced: " + unsynced.joined(separator: "; ") }
        let failing = all.compactMap { entry in entry.informer.lastError.map { "\(entry.resource.resource): \(LogThrottle.normalized($0))" } }
        return failing.isEmpty ? "ready" : "cannot list or watch (serving the cached state meanwhile): " + failing.joined(separator: "; ")
    }

    /// True while this process may write (always without leader election).
    public var isLeader: Bool { elector?.isLeader ?? true }

    /// Asks `run` to stop: no new work, in-flight reconciles finish, the lease is released.
    public func shutdown() { shutdownRequested.signal() }

    /// Runs until `shutdown()` (returns normally) or until leadership is lost (throws `LeadershipLost`).
    public func run() async throws {
        started.withLock { $0 = true }
        let all = informers.withLock { $0 }
        let informerTasks = Task {
            await withTaskGroup(of: Void.self) { g in
                for entry in all { g.addTask { await entry.informer.run() } }
            }
        }
        defer { informerTasks.cancel() }
        logger.info("waiting for caches to sync", metadata: ["namespace": "\(configuration.namespace ?? "<all>")",
                                                              "resources": "\(all.map(\.resource.resource).joined(separator: ","))"])
        let synced = Latch()
        Task {
            for entry in all { await entry.informer.waitUntilSynced() }
            synced.signal()
        }
        await Latch.first(synced, shutdownRequested)
        if shutdownRequested.isSignalled { return }
        logger.info("caches synced", metadata: Logger.Metadata(uniqueKeysWithValues: all.map { ($0.resource.resource, "\($0.informer.store.count)") }))

        let definitions = controllers.withLock { $0 }
        let leaderName = configuration.leaderMetricName
        let loopsFinished = Latch()
        let runnerFinished = Latch()
        let work: @Sendable () async -> Void = { [registry, logger, informers] in
            registry.set(RuntimeMetricNames.leader, ["name": leaderName], 1)
            await withTaskGroup(of: Void.self) { group in
                for (definition, queue) in definitions {
                    logger.info("starting workers", metadata: ["controller": "\(definition.name)", "workers": "\(definition.workers)"])
                    // Everything cached so far; later changes arrive through the watches.
                    for watch in definition.watches where watch.primary {
                        let store = informers.withLock { list in list.first { $0.resource == watch.resource }?.informer.store }
                        for key in store?.keys ?? [] { await queue.add(key) }
                    }
                    let loop = ReconcileLoop(queue: queue, reconciler: Self.instrumented(definition, registry: registry),
                                             workers: definition.workers, observe: Self.observer(definition.name, registry: registry))
                    group.addTask {
                        // Losing leadership cancels this task: stop taking work, let in-flight reconciles finish.
                        await withTaskCancellationHandler {
                            await loop.run()
                        } onCancel: {
                            Task { await queue.shutDown() }
                        }
                    }
                }
            }
            registry.set(RuntimeMetricNames.leader, ["name": leaderName], 0)
            loopsFinished.signal()
        }
        let runner = Task { [elector, logger] in
            if let elector {
                logger.info("campaigning for leadership", metadata: [
                    "lease": "\(elector.config.namespace)/\(elector.config.name)", "identity": "\(elector.config.identity)",
                ])
                await elector.run(lead: work)  // returns when leadership is lost, or when cancelled (lease released)
            } else {
                await work()
            }
            runnerFinished.signal()
        }
        await Latch.first(shutdownRequested, runnerFinished)
        let lost = !shutdownRequested.isSignalled
        // Stop taking work; in-flight reconciles finish before the loops return.
        for (_, queue) in definitions { await queue.shutDown() }
        if isLeader { await loopsFinished.wait() }
        // Stop campaigning or renewing: LeaderElector releases the lease on cancellation.
        runner.cancel()
        await runnerFinished.wait()
        if lost {
            logger.error("leadership lost; exiting so that a restart campaigns again")
            throw LeadershipLost()
        }
        logger.info("stopped")
    }

    /// The reconciler wrapped to time each reconcile and count busy workers, labelled with the controller.
    static func instrumented(_ definition: ControllerDefinition, registry: MetricsRegistry) -> any Reconciler {
        InstrumentedReconciler(inner: definition.reconciler, name: definition.name, registry: registry)
    }

    /// Counts reconciles by result and errors (controller-runtime's names and labels).
    static func observer(_ name: String, registry: MetricsRegistry) -> @Sendable (ObjectKey, Result<ReconcileResult, any Error>) async -> Void {
        { _, outcome in
            let result: String
            switch outcome {
            case .success(.done): result = "success"
            case .success(.requeueAfter): result = "requeue_after"
            case .failure:
                result = "error"
                registry.increment(RuntimeMetricNames.reconcileErrors, ["controller": name])
            }
            registry.increment(RuntimeMetricNames.reconcileTotal, ["controller": name, "result": result])
        }
    }
}

/// Leadership ended while running; the process should exit and be restarted.
public struct LeadershipLost: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "leader election lost" }
}

/// Handlers of one shared informer, in the order added.
final class HandlerList: Sendable {
    private let handlers = Locked<[@Sendable (InformerEvent) async -> Void]>([])
    func add(_ handler: @escaping @Sendable (InformerEvent) async -> Void) { handlers.withLock { $0.append(handler) } }
    func dispatch(_ event: InformerEvent) async {
        for handler in handlers.withLock({ $0 }) { await handler(event) }
    }
}

/// Times each reconcile into `controller_runtime_reconcile_time_seconds` and tracks
/// `controller_runtime_active_workers`.
struct InstrumentedReconciler: Reconciler {
    let inner: any Reconciler
    let name: String
    let registry: MetricsRegistry
    private let active = Locked(0)

    init(inner: any Reconciler, name: String, registry: MetricsRegistry) {
        self.inner = inner
        self.name = name
        self.registry = registry
    }

    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        let start = ContinuousClock.now
        let busy = active.withLock { $0 += 1; return $0 }
        registry.set(RuntimeMetricNames.activeWorkers, ["controller": name], Double(busy))
        defer {
            let d = ContinuousClock.now - start
            registry.observe(RuntimeMetricNames.reconcileTime, ["controller": name],
                             Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            let left = active.withLock { $0 -= 1; return $0 }
            registry.set(RuntimeMetricNames.activeWorkers, ["controller": name], Double(left))
        }
        return try await inner.reconcile(key)
    }
}

/// Logs informer failures: each distinct message (URL query strings ignored) at most once every 30 s per
/// resource, with the count of repeats (the informer retries with backoff).
final class InformerErrorLog: Sendable {
    private let logger: Logger
    private let throttle = LogThrottle(interval: 30)
    init(logger: Logger) { self.logger = logger }

    func report(_ resource: String, _ error: any Error) {
        let message = LogThrottle.normalized((error as? KubeAPIError).map { "\($0.code) \($0.reason): \($0.message)" } ?? "\(error)")
        guard case .write(let suppressed) = throttle.check(subject: resource, reason: "ListWatch", message: message, now: Date()) else { return }
        var metadata: Logger.Metadata = ["resource": "\(resource)", "error": "\(message)"]
        if suppressed > 0 { metadata["repeated"] = "\(suppressed)" }
        logger.error("cannot list or watch", metadata: metadata)
    }
}
