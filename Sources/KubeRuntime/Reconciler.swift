/// Identifies one object: what reconcilers are keyed by.
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }
    /// `namespace/name`, or `name` for cluster-scoped objects.
    public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}

/// What a reconcile asks for next (controller-runtime's `reconcile.Result`).
public enum ReconcileResult: Sendable, Equatable {
    /// Done until something changes.
    case done
    /// Look again after this long (a periodic tick), resetting the failure backoff.
    case requeueAfter(Duration)
}

/// A failure to retry at a fixed interval instead of with the per-item exponential backoff (like the fixed
/// interval of Kubernetes' HPA rate limiter): it still counts as a failed reconcile.
public struct RetryAfter: Error, CustomStringConvertible {
    public var delay: Duration
    public var underlying: any Error
    public init(_ delay: Duration, underlying: any Error) {
        self.delay = delay
        self.underlying = underlying
    }
    public var description: String { "\(underlying) (retry in \(delay))" }
}

/// Level-based reconciliation: read the world, make it right, say when to look again.
/// Throwing requeues the key with per-item exponential backoff (or after `RetryAfter.delay`).
public protocol Reconciler: Sendable {
    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult
}

/// Runs `workers` loops that take keys from a queue and reconcile them until the queue shuts down.
/// A key is never reconciled by two workers at once (the queue guarantees it).
public struct ReconcileLoop<C: Clock>: Sendable where C.Duration == Duration {
    public let queue: WorkQueue<ObjectKey, C>
    public let reconciler: any Reconciler
    public let workers: Int
    /// Called after each reconcile with its outcome, for metrics and logs.
    public let observe: @Sendable (ObjectKey, Result<ReconcileResult, any Error>) async -> Void

    public init(queue: WorkQueue<ObjectKey, C>, reconciler: any Reconciler, workers: Int = 2,
                observe: @escaping @Sendable (ObjectKey, Result<ReconcileResult, any Error>) async -> Void = { _, _ in }) {
        self.queue = queue
        self.reconciler = reconciler
        self.workers = max(1, workers)
        self.observe = observe
    }

    /// Returns once the queue has shut down and every in-flight reconcile has finished.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask { await worker() }
            }
        }
    }

    private func worker() async {
        while let key = await queue.get() {
            let outcome: Result<ReconcileResult, any Error>
            do {
                outcome = .success(try await reconciler.reconcile(key))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(.done):
                await queue.forget(key)
            case .success(.requeueAfter(let d)):
                await queue.forget(key)
                await queue.addAfter(key, d)
            case .failure(let retry as RetryAfter):
                await queue.forget(key)
                await queue.addAfter(key, retry.delay)
            case .failure:
                await queue.addRateLimited(key)
            }
            await queue.done(key)
            await observe(key, outcome)
        }
    }
}
