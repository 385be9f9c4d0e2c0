import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import KubeRuntime
import Logging
import YAML

/// The PodAutoscaler controller process minus its command line: informers on PodAutoscalers and Pods, a
/// rate-limited work queue, the reconcile loop (only while leading, with leader election), and graceful
/// shutdown (stop taking work, finish in-flight reconciles, release the lease).
public final class PodAutoscalerController: Sendable {
    public struct Configuration: Sendable {
        /// Watch one namespace, or all when `nil`.
        public var namespace: String?
        /// Leader election on a Lease; `nil` runs without it.
        public var leaderElection: LeaderElector<ContinuousClock>.Config?
        public var workers = 2
        public var reconciler = PodAutoscalerReconcilerOptions()
        public init(namespace: String? = nil, leaderElection: LeaderElector<ContinuousClock>.Config? = nil) {
            self.namespace = namespace
            self.leaderElection = leaderElection
        }
    }

    public static let name = "podautoscaler"

    public let configuration: Configuration
    public let registry: MetricsRegistry
    private let client: RESTClient
    private let logger: Logger
    private let queue: WorkQueue<ObjectKey, ContinuousClock>
    private let autoscalerInformer: Informer<ContinuousClock>
    private let podInformer: Informer<ContinuousClock>
    private let reconciler: PodAutoscalerReconciler<ContinuousClock>
    private let elector: LeaderElector<ContinuousClock>?
    private let shutdownRequested = Latch()

    public init(client: RESTClient, metrics: any MetricsProvider, configuration: Configuration, registry: MetricsRegistry,
                logger: Logger, instance: String) {
        self.client = client
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        let clock = ContinuousClock()
        let queue = WorkQueue<ObjectKey, ContinuousClock>(clock: clock)
        self.queue = queue
        let cache = Locked<ObjectStore?>(nil)
        let errorLog = ErrorLog(logger: logger)
        let autoscalers = Informer(client: client, resource: .podAutoscalers, namespace: configuration.namespace, clock: clock,
                                   onError: { errorLog.report("podautoscalers.heteroscale.io", $0) }) { event in
            await Self.enqueue(event, queue: queue, cache: cache.withLock { $0 })
        }
        cache.withLock { $0 = autoscalers.store }
        autoscalerInformer = autoscalers
        podInformer = Informer(client: client, resource: .pods, namespace: configuration.namespace, clock: clock,
                               onError: { errorLog.report("pods", $0) }) { _ in }
        let recorder = EventRecorder(client: client, controller: "heteroscale.io/controller", instance: instance, clock: clock)
        reconciler = PodAutoscalerReconciler(
            client: client, discovery: Discovery(client: client), autoscalers: autoscalers.store, pods: podInformer.store,
            metrics: metrics, recorder: recorder, registry: registry, logger: logger, options: configuration.reconciler)
        elector = configuration.leaderElection.map { LeaderElector(client: client, config: $0, clock: clock) }
        ControllerMetricNames.register(in: registry)
        registry.addCollector { [queue, registry] in
            let labels = ["name": Self.name]
            // As client-go: items ready for a worker; the ones waiting for their requeue time are not counted.
            registry.set(ControllerMetricNames.workqueueDepth, labels, Double(await queue.depth))
            registry.set(ControllerMetricNames.workqueueAdds, labels, Double(await queue.addsTotal))
            registry.set(ControllerMetricNames.workqueueRetries, labels, Double(await queue.retriesTotal))
        }
    }

    /// True once both caches have synced.
    var hasSynced: Bool { autoscalerInformer.hasSynced && podInformer.hasSynced }

    /// True while both caches are synced and their last LIST/WATCH succeeded (for `/readyz`): an API server
    /// outage makes the controller unready until a watch is accepted again.
    public var isReady: Bool { autoscalerInformer.isHealthy && podInformer.isHealthy }

    /// Why the controller is not ready (for the `/readyz` body).
    public var notReadyReason: String {
        let informers = [("podautoscalers", autoscalerInformer), ("pods", podInformer)]
        let unsynced = informers.compactMap { name, informer in
            informer.hasSynced ? nil : "\(name): \(informer.lastError.map(LogThrottle.normalized) ?? "listing")"
        }
        if !unsynced.isEmpty { return "informer caches have not synced: " + unsynced.joined(separator: "; ") }
        let failing = informers.compactMap { name, informer in
            informer.lastError.map { "\(name): \(LogThrottle.normalized($0))" }
        }
        return failing.isEmpty ? "ready" : "cannot list or watch (serving the cached state meanwhile): " + failing.joined(separator: "; ")
    }

    /// Fails at once, with what to do, when the PodAutoscaler CRD is not served (controller-runtime's
    /// "no matches for kind"); other errors are left to the informers' retries.
    public func checkCRDs() async throws {
        do {
            _ = try await Discovery(client: client).resolve(apiVersion: PodAutoscaler.apiVersion, kind: PodAutoscaler.kind)
        } catch let e as KubeAPIError where e.isNotFound {
            throw ControllerStartupError(message: "the API server does not serve \(PodAutoscaler.apiVersion) PodAutoscaler: "
                + "the CRD is not installed (kubectl apply -f crds/), or not established yet")
        } catch {
            logger.warning("cannot check the CRDs yet", metadata: ["error": "\(error)"])
        }
    }

    /// True while this process may write (always without leader election).
    public var isLeader: Bool { elector?.isLeader ?? true }

    /// Asks `run` to stop: no new work, in-flight reconciles finish, the lease is released.
    public func shutdown() {
        shutdownRequested.signal()
    }

    /// Runs until `shutdown()` (returns normally) or until leadership is lost (throws `LeadershipLost`).
    public func run() async throws {
        let informers = Task { [autoscalerInformer, podInformer] in
            await withTaskGroup(of: Void.self) { g in
                g.addTask { await autoscalerInformer.run() }
                g.addTask { await podInformer.run() }
            }
        }
        defer { informers.cancel() }
        logger.info("waiting for caches to sync", metadata: ["namespace": "\(configuration.namespace ?? "<all>")"])
        while !hasSynced {
            if shutdownRequested.isSignalled { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        logger.info("caches synced", metadata: ["podautoscalers": "\(autoscalerInformer.store.count)", "pods": "\(podInformer.store.count)"])

        let observe: @Sendable (ObjectKey, Result<ReconcileResult, any Error>) async -> Void = { [registry] _, outcome in
            let result: String
            switch outcome {
            case .success(.done): result = "success"
            case .success(.requeueAfter): result = "requeue_after"
            case .failure:
                result = "error"
                registry.increment(ControllerMetricNames.reconcileErrors, ["controller": Self.name])
            }
            registry.increment(ControllerMetricNames.reconcileTotal, ["controller": Self.name, "result": result])
        }
        let workLoop = ReconcileLoop(queue: queue, reconciler: TimedReconciler(inner: reconciler, registry: registry),
                                     workers: configuration.workers, observe: observe)
        let loopFinished = Latch()
        let runnerFinished = Latch()
        let work: @Sendable () async -> Void = { [queue, autoscalerInformer, registry, logger] in
            registry.set(ControllerMetricNames.leader, ["name": Self.name], 1)
            logger.info("starting workers", metadata: ["workers": "\(workLoop.workers)"])
            // Everything cached so far; later changes arrive through the informer's handler.
            for key in autoscalerInformer.store.keys { await queue.add(key) }
            // Losing leadership cancels this task: stop taking work, let in-flight reconciles finish.
            await withTaskCancellationHandler {
                await workLoop.run()
            } onCancel: {
                Task { await queue.shutDown() }
            }
            registry.set(ControllerMetricNames.leader, ["name": Self.name], 0)
            loopFinished.signal()
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
        // Stop taking work; in-flight reconciles finish before the loop returns.
        await queue.shutDown()
        if isLeader { await loopFinished.wait() }
        // Stop campaigning or renewing: LeaderElector releases the lease on cancellation.
        runner.cancel()
        await runnerFinished.wait()
        if lost {
            logger.error("leadership lost; exiting so that a restart campaigns again")
            throw LeadershipLost()
        }
        logger.info("stopped")
    }

    /// Enqueues on add and delete, and on updates that change the spec (generation) or deletion state; our
    /// own status writes do not trigger reconciles (the periodic tick does). A delete also re-queues the
    /// namespace's other PodAutoscalers, one of which may now own the target.
    static func enqueue(_ event: InformerEvent, queue: WorkQueue<ObjectKey, ContinuousClock>, cache: ObjectStore?) async {
        switch event {
        case .added(let o):
            if let key = ObjectStore.key(of: o) { await queue.add(key) }
        case .updated(let old, let new):
            let changed = old["metadata"]?["generation"] != new["metadata"]?["generation"]
                || old["metadata"]?["deletionTimestamp"] != new["metadata"]?["deletionTimestamp"]
            if changed, let key = ObjectStore.key(of: new) { await queue.add(key) }
        case .deleted(let o):
            guard let key = ObjectStore.key(of: o) else { return }
            await queue.add(key)
            for sibling in cache?.list(namespace: key.namespace).compactMap(ObjectStore.key(of:)) ?? [] where sibling != key {
                await queue.add(sibling)
            }
        }
    }
}

/// The controller cannot start (the CRD is missing).
public struct ControllerStartupError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Logs informer failures: each distinct message (URL query strings ignored) at most once every 30 s per
/// resource, with the count of repeats (the informer retries with backoff).
final class ErrorLog: Sendable {
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

/// Leadership ended while running; the process should exit and be restarted.
public struct LeadershipLost: Error, CustomStringConvertible {
    public var description: String { "leader election lost" }
}

/// Times each reconcile into `controller_runtime_reconcile_time_seconds`.
struct TimedReconciler: Reconciler {
    let inner: any Reconciler
    let registry: MetricsRegistry
    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        let start = ContinuousClock.now
        defer {
            let d = ContinuousClock.now - start
            registry.observe(ControllerMetricNames.reconcileTime, ["controller": PodAutoscalerController.name],
                             Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        return try await inner.reconcile(key)
    }
}

/// A one-shot signal that several tasks can wait for.
final class Latch: Sendable {
    private let state = Locked<(signalled: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isSignalled: Bool { state.withLock { $0.signalled } }

    func signal() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.signalled else { return [] }
            s.signalled = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.signalled { return true }
                s.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Returns once either latch is signalled.
    static func first(_ a: Latch, _ b: Latch) async {
        let either = Latch()
        // The waiter on the other latch stays parked until that latch fires (both do by the end of `run`).
        Task { await a.wait(); either.signal() }
        Task { await b.wait(); either.signal() }
        await either.wait()
    }
}
