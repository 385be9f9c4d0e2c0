import Foundation
import KubeClient
import YAML

/// What an informer tells its handlers.
public enum InformerEvent: Sendable {
    case added(JSONValue)
    case updated(old: JSONValue, new: JSONValue)
    case deleted(JSONValue)
}

/// Exponential backoff with jitter that resets after a healthy stretch (client-go's reflector backoff:
/// 800 ms → 30 s, factor 2, reset after 2 min without errors).
public struct Backoff: Sendable {
    public var initial: Duration = .milliseconds(800)
    public var maximum: Duration = .seconds(30)
    public var factor: Double = 2
    /// Each delay is stretched by up to this fraction at random.
    public var jitter: Double = 1.0
    public var resetAfter: Duration = .seconds(120)

    private var current: Duration?
    private var lastFailure: Duration?

    public init() {}

    /// The next delay, given the time now (as an offset on the informer's clock) and a random unit value.
    public mutating func next(now: Duration, random: Double) -> Duration {
        if let last = lastFailure, now - last >= resetAfter { current = nil }
        lastFailure = now
        let base: Duration
        if let c = current {
            base = min(maximum, .seconds(c.seconds * factor))
        } else {
            base = initial
        }
        current = base
        return .seconds(base.seconds * (1 + jitter * max(0, min(1, random))))
    }
}

/// Lists and watches one resource, keeps `store` equal to the server's state, and reports every change.
///
/// LIST (paged) then WATCH from the list's resourceVersion with bookmarks; a watch that ends normally is
/// re-opened from the last seen resourceVersion; `410 Expired` re-lists (from the last resourceVersion, or
/// from the newest state if that is too old as well); other errors back off exponentially with jitter,
/// and 429 waits at least its Retry-After.
public final class Informer<C: Clock>: Sendable where C.Duration == Duration {
    public let resource: GroupVersionResource
    public let namespace: String?
    public let options: ListOptions
    public let store = ObjectStore()

    private let client: RESTClient
    private let clock: C
    private let origin: C.Instant
    private let handler: @Sendable (InformerEvent) async -> Void
    private let state = Locked<(synced: Bool, lastRV: String, relists: Int, watches: Int, lastError: String?)>((false, "", 0, 0, nil))
    private let syncedLatch = Latch()
    private let onError: (@Sendable (any Error) -> Void)?
    private let random: @Sendable () -> Double
    /// Server-side watch timeout range in seconds (client-go: 5–10 minutes).
    private let watchTimeout: ClosedRange<Int>

    public init(client: RESTClient, resource: GroupVersionResource, namespace: String? = nil, options: ListOptions = ListOptions(),
                clock: C, watchTimeoutSeconds: ClosedRange<Int> = 300...600,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                onError: (@Sendable (any Error) -> Void)? = nil,
                handler: @escaping @Sendable (InformerEvent) async -> Void) {
        self.onError = onError
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.options = options
        self.clock = clock
        origin = clock.now
        watchTimeout = watchTimeoutSeconds
        self.random = random
        self.handler = handler
    }

    /// The last LIST or WATCH failure, cleared by the next successful LIST or accepted WATCH (for `/readyz`
    /// and logs).
    public var lastError: String? { state.withLock { $0.lastError } }

    /// True once the first LIST has been applied to the store (it stays true through later outages: the
    /// cache keeps serving its last state).
    public var hasSynced: Bool { state.withLock { $0.synced } }

    /// Returns once the first LIST has been applied to the store (no polling).
    public func waitUntilSynced() async { await syncedLatch.wait() }

    /// Synced, and the last LIST or WATCH succeeded: false during an API server outage.
    public var isHealthy: Bool { state.withLock { $0.synced && $0.lastError == nil } }
    /// The resourceVersion the cache reflects.
    public var lastResourceVersion: String { state.withLock { $0.lastRV } }
    /// How many LISTs and WATCHes were made (for tests and metrics).
    public var counts: (lists: Int, watches: Int) { state.withLock { ($0.relists, $0.watches) } }

    /// Runs until the task is cancelled.
    public func run() async {
        var backoff = Backoff()
        var needList = true
        var listFromRV: String? = nil
        while !Task.isCancelled {
            do {
                if needList {
                    try await relist(from: listFromRV)
                    needList = false
                }
                let outcome = try await watchOnce()
                switch outcome {
                case .ended:
                    continue
                case .expired:
                    needList = true
                    listFromRV = lastResourceVersion
                    continue
                }
            } catch is CancellationError {
                return
            } catch let e as KubeAPIError where e.isGone && listFromRV != nil {
                // The last resourceVersion is too old for a LIST too: take the newest state.
                listFromRV = nil
                continue
            } catch {
                if Task.isCancelled { return }
                state.withLock { $0.lastError = "\(error)" }
                onError?(error)
                var delay = backoff.next(now: origin.duration(to: clock.now), random: random())
                if let e = error as? KubeAPIError, let ra = e.retryAfterSeconds {
                    delay = max(delay, .seconds(ra))
                }
                do { try await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil) } catch { return }
            }
        }
    }

    private enum WatchOutcome { case ended, expired }

    private func relist(from rv: String?) async throws {
        var opts = options
        if let rv, !rv.isEmpty {
            opts.resourceVersion = rv
            opts.resourceVersionMatch = "NotOlderThan"
        }
        let (items, listRV) = try await client.listAll(resource, namespace: namespace, options: opts)
        let old = store.replace(with: items)
        state.withLock {
            $0.lastRV = listRV
            $0.synced = true
            $0.lastError = nil
            $0.relists += 1
        }
        defer { syncedLatch.signal() }
        // Tell the handlers what changed relative to the previous state.
        var seen = Set<ObjectKey>()
        for item in items {
            guard let key = ObjectStore.key(of: item) else { continue }
            seen.insert(key)
            if let before = old[key] {
                if before["metadata"]?["resourceVersion"] != item["metadata"]?["resourceVersion"] {
                    await handler(.updated(old: before, new: item))
                }
            } else {
                await handler(.added(item))
            }
        }
        for (key, gone) in old where !seen.contains(key) {
            await handler(.deleted(gone))
        }
    }

    private func watchOnce() async throws -> WatchOutcome {
        var opts = options
        opts.resourceVersion = lastResourceVersion
        opts.allowWatchBookmarks = true
        let lo = watchTimeout.lowerBound, hi = watchTimeout.upperBound
        opts.timeoutSeconds = lo + Int(Double(hi - lo) * random())
        state.withLock { $0.watches += 1 }
        let opened: @Sendable () -> Void = { [state] in state.withLock { $0.lastError = nil } }
        for try await event in client.watch(resource, namespace: namespace, options: opts, opened: opened) {
            switch event {
            case .added(let o), .modified(let o):
                let old = store.upsert(o)
                if let old { await handler(.updated(old: old, new: o)) } else { await handler(.added(o)) }
            case .deleted(let o):
                if let key = ObjectStore.key(of: o) { store.remove(key) }
                await handler(.deleted(o))
            case .bookmark:
                break
            case .error(let status):
                if status.isExpired { return .expired }
                throw KubeAPIError(reason: status.reason, code: status.code, message: status.message, method: "WATCH", path: resource.path(namespace: namespace))
            }
            if let rv = event.resourceVersion, !rv.isEmpty {
                state.withLock { $0.lastRV = rv }
            }
        }
        return .ended
    }
}
