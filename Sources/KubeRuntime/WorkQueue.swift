/// A rate-limited, de-duplicating work queue with client-go's semantics:
/// - a key added while queued is not queued twice;
/// - a key is never handed to two workers at once: added while processing, it is queued again after `done`;
/// - `addAfter` delays, `addRateLimited` delays by the rate limiter (per-item backoff and an overall bucket),
///   `forget` resets an item's backoff.
/// Time comes from an injected clock, so tests drive delays by hand.
public actor WorkQueue<Key: Hashable & Sendable, C: Clock> where C.Duration == Duration {
    private let clock: C
    private let origin: C.Instant
    private var limiter: MaxOfRateLimiter<Key>

    private var queue: [Key] = []
    private var head = 0
    private var dirty: Set<Key> = []
    private var processing: Set<Key> = []
    private var waiters: [CheckedContinuation<Key?, Never>] = []
    private var shuttingDown = false

    /// Delayed keys, earliest first (a key keeps its earliest ready time).
    private var delayed: [(ready: C.Instant, key: Key)] = []
    private var timer: Task<Void, Never>?
    private var timerDeadline: C.Instant?

    /// Counters for the `workqueue_*` metrics.
    public private(set) var addsTotal = 0
    public private(set) var retriesTotal = 0

    public init(clock: C, rateLimiter: MaxOfRateLimiter<Key> = .controllerDefault()) {
        self.clock = clock
        origin = clock.now
        limiter = rateLimiter
    }

    /// Keys waiting to be handed out (not counting delayed or in-process ones).
    public var depth: Int { queue.count - head }
    public var delayedCount: Int { delayed.count }
    public var isShuttingDown: Bool { shuttingDown }

    // MARK: - Adding

    public func add(_ key: Key) {
        guard !shuttingDown, !dirty.contains(key) else { return }
        addsTotal += 1
        dirty.insert(key)
        if processing.contains(key) { return }  // `done` queues it again
        if !waiters.isEmpty {
            let w = waiters.removeFirst()
            dirty.remove(key)
            processing.insert(key)
            w.resume(returning: key)
            return
        }
        queue.append(key)
    }

    /// Adds `key` once `delay` has passed; a non-positive delay adds it now.
    public func addAfter(_ key: Key, _ delay: Duration) {
        guard !shuttingDown else { return }
        guard delay > .zero else { return add(key) }
        let ready = clock.now.advanced(by: delay)
        if let i = delayed.firstIndex(where: { $0.key == key }) {
            guard ready < delayed[i].ready else { return }
            delayed.remove(at: i)
        }
        let at = delayed.firstIndex { ready < $0.ready } ?? delayed.endIndex
        delayed.insert((ready, key), at: at)
        armTimer()
    }

    /// Adds `key` after the rate limiter's delay (a failure for its per-item backoff).
    public func addRateLimited(_ key: Key) {
        retriesTotal += 1
        let delay = limiter.when(key, now: origin.duration(to: clock.now))
        addAfter(key, delay)
    }

    /// Resets `key`'s backoff (call after a successful reconcile).
    public func forget(_ key: Key) { limiter.forget(key) }

    public func numRequeues(_ key: Key) -> Int { limiter.numRequeues(key) }

    // MARK: - Processing

    /// The next key to process, waiting for one; `nil` once the queue shuts down.
    /// Every key returned must be passed to `done` when its processing ends.
    public func get() async -> Key? {
        if head < queue.count {
            let key = queue[head]
            head += 1
            if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            dirty.remove(key)
            processing.insert(key)
            return key
        }
        if shuttingDown { return nil }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// Marks `key` as processed; if it was added meanwhile, it is queued again.
    public func done(_ key: Key) {
        processing.remove(key)
        if dirty.contains(key) {
            if !waiters.isEmpty {
                let w = waiters.removeFirst()
                dirty.remove(key)
                processing.insert(key)
                w.resume(returning: key)
            } else {
                queue.append(key)
            }
        }
    }

    /// Stops handing out keys: waiting `get` calls return `nil`, delayed keys are dropped.
    public func shutDown() {
        shuttingDown = true
        timer?.cancel()
        timer = nil
        delayed = []
        let ws = waiters
        waiters = []
        for w in ws { w.resume(returning: nil) }
    }

    // MARK: - Delays

    private func armTimer() {
        guard let first = delayed.first else { return }
        if let deadline = timerDeadline, timer != nil, deadline <= first.ready { return }
        timer?.cancel()
        timerDeadline = first.ready
        let clock = self.clock
        timer = Task { [weak self] in
            do {
                try await clock.sleep(until: first.ready, tolerance: nil)
            } catch {
                return  // re-armed for an earlier deadline, or shut down
            }
            await self?.releaseDue()
        }
    }

    private func releaseDue() {
        timer = nil
        timerDeadline = nil
        let now = clock.now
        while let first = delayed.first, first.ready <= now {
            delayed.removeFirst()
            add(first.key)
        }
        armTimer()
    }
}
