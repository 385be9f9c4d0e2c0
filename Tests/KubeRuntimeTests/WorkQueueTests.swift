import Testing

@testable import KubeRuntime

/// Waits (by yielding, bounded) until `condition` holds; fails the test if it never does.
func eventually(_ what: String, _ condition: () async -> Bool) async {
    for _ in 0..<100_000 {
        if await condition() { return }
        await Task.yield()
    }
    Issue.record("never happened: \(what)")
}

struct RateLimiterTests {
    /// client-go TestItemExponentialFailureRateLimiter: base 1 ms, max 1 s.
    @Test func itemExponentialBackoff() {
        var l = ItemExponentialFailureRateLimiter<String>(base: .milliseconds(1), max: .seconds(1))
        let one = (0..<5).map { _ in l.when("one", now: .zero) }
        #expect(one == [.milliseconds(1), .milliseconds(2), .milliseconds(4), .milliseconds(8), .milliseconds(16)])
        #expect(l.numRequeues("one") == 5)
        #expect(l.when("two", now: .zero) == .milliseconds(1))
        #expect(l.when("two", now: .zero) == .milliseconds(2))
        #expect(l.numRequeues("two") == 2)
        l.forget("one")
        #expect(l.numRequeues("one") == 0)
        #expect(l.when("one", now: .zero) == .milliseconds(1))
    }

    @Test func itemExponentialBackoffIsCapped() {
        var l = ItemExponentialFailureRateLimiter<String>(base: .milliseconds(5), max: .seconds(1000))
        let delays = (0..<80).map { _ in l.when("x", now: .zero) }
        #expect(delays[0] == .milliseconds(5))
        #expect(delays[17] == .seconds(655.36))  // 5 ms · 2^17
        #expect(delays[18] == .seconds(1000))
        #expect(delays.last == .seconds(1000))
    }

    @Test func bucketAllowsABurstThenPacesAtQPS() {
        var l = BucketRateLimiter<Int>(qps: 10, burst: 100)
        let burst = (0..<100).map { l.when($0, now: .zero) }
        #expect(burst.allSatisfy { $0 == .zero })
        #expect(l.when(100, now: .zero) == .milliseconds(100))
        #expect(l.when(101, now: .zero) == .milliseconds(200))
        // Tokens stand at −2; one second later ten came back (8 left): the next call needs no wait ...
        #expect(l.when(102, now: .seconds(1)) == .zero)
        // ... and after eight more the bucket is empty again: 100 ms per token.
        for i in 0..<7 { #expect(l.when(200 + i, now: .seconds(1)) == .zero) }
        #expect(l.when(300, now: .seconds(1)) == .milliseconds(100))
    }

    @Test func controllerDefaultTakesTheLargerDelay() {
        var l = MaxOfRateLimiter<String>.controllerDefault()
        #expect(l.when("a", now: .zero) == .milliseconds(5))
        #expect(l.when("a", now: .zero) == .milliseconds(10))
        #expect(l.numRequeues("a") == 2)
        // Exhaust the bucket with other keys: then the bucket's delay dominates a fresh key's 5 ms.
        for i in 0..<200 { _ = l.when("k\(i)", now: .zero) }
        #expect(l.when("fresh", now: .zero) > .seconds(10))
        l.forget("a")
        #expect(l.numRequeues("a") == 0)
    }
}

@Suite struct WorkQueueTests {
    @Test func deduplicatesQueuedKeysAndKeepsOrder() async {
        let q = WorkQueue<String, ManualClock>(clock: ManualClock())
        await q.add("a")
        await q.add("b")
        await q.add("a")
        #expect(await q.depth == 2)
        #expect(await q.get() == "a")
        #expect(await q.get() == "b")
        #expect(await q.addsTotal == 2)
    }

    @Test func aKeyBeingProcessedIsNotHandedOutAgainUntilDone() async {
        let q = WorkQueue<String, ManualClock>(clock: ManualClock())
        await q.add("a")
        #expect(await q.get() == "a")
        await q.add("a")  // changed while processing
        #expect(await q.depth == 0)
        await q.done("a")
        #expect(await q.depth == 1)
        #expect(await q.get() == "a")
        await q.done("a")
        #expect(await q.depth == 0)
    }

    @Test func addAfterWaitsForTheClock() async {
        let clock = ManualClock()
        let q = WorkQueue<String, ManualClock>(clock: clock)
        await q.addAfter("late", .seconds(10))
        await q.addAfter("early", .seconds(2))
        await q.addAfter("late", .seconds(30))  // later than queued: keeps 10 s
        #expect(await q.delayedCount == 2)
        await eventually("timer armed") { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(1))
        #expect(await q.depth == 0)
        clock.advance(by: .seconds(1))
        #expect(await q.get() == "early")
        await eventually("timer re-armed for 10 s") { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(7))
        #expect(await q.depth == 0)
        clock.advance(by: .seconds(1))
        #expect(await q.get() == "late")
        #expect(await q.delayedCount == 0)
    }

    @Test func shutDownReleasesWaitingWorkers() async {
        let q = WorkQueue<String, ManualClock>(clock: ManualClock())
        let waiter = Task { await q.get() }
        await Task.yield()
        await q.shutDown()
        #expect(await waiter.value == nil)
        await q.add("ignored")
        #expect(await q.get() == nil)
    }
}

/// A reconciler scripted per call, recording concurrency per key.
actor ScriptedReconciler: Reconciler {
    var calls: [ObjectKey] = []
    var inFlight: [ObjectKey: Int] = [:]
    var maxInFlightPerKey = 0
    var failuresLeft: Int
    var gate: CheckedContinuation<Void, Never>?
    var holdFirstCall: Bool

    init(failures: Int, holdFirstCall: Bool = false) {
        failuresLeft = failures
        self.holdFirstCall = holdFirstCall
    }

    struct Failure: Error {}

    nonisolated func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        try await run(key)
    }

    private func run(_ key: ObjectKey) async throws -> ReconcileResult {
        calls.append(key)
        inFlight[key, default: 0] += 1
        maxInFlightPerKey = max(maxInFlightPerKey, inFlight[key]!)
        defer { inFlight[key, default: 1] -= 1 }
        if holdFirstCall {
            holdFirstCall = false
            await withCheckedContinuation { gate = $0 }
        }
        if failuresLeft > 0 {
            failuresLeft -= 1
            throw Failure()
        }
        return .done
    }

    func release() {
        gate?.resume()
        gate = nil
    }
    var isHolding: Bool { gate != nil }
    var callCount: Int { calls.count }
}

@Suite struct ReconcileLoopTests {
    @Test func failuresBackOffExponentiallyThenSuccessForgets() async {
        let clock = ManualClock()
        let q = WorkQueue<ObjectKey, ManualClock>(clock: clock)
        let r = ScriptedReconciler(failures: 2)
        let loop = ReconcileLoop(queue: q, reconciler: r, workers: 2)
        let running = Task { await loop.run() }
        let key = ObjectKey(namespace: "ns", name: "pa")
        await q.add(key)
        await eventually("first attempt") { await r.callCount == 1 }
        await eventually("backoff armed") { clock.sleeperCount == 1 }
        #expect(await q.numRequeues(key) == 1)
        clock.advance(by: .milliseconds(4))
        #expect(await r.callCount == 1)
        clock.advance(by: .milliseconds(1))  // 5 ms
        await eventually("second attempt") { await r.callCount == 2 }
        await eventually("second backoff armed") { clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(9))
        #expect(await r.callCount == 2)
        clock.advance(by: .milliseconds(1))  // 10 ms
        await eventually("third attempt succeeds") { await r.callCount == 3 }
        await eventually("forgotten after success") { await q.numRequeues(key) == 0 }
        await q.shutDown()
        await running.value
        #expect(await q.retriesTotal == 2)
    }

    @Test func aKeyIsNeverReconciledByTwoWorkersAtOnce() async {
        let clock = ManualClock()
        let q = WorkQueue<ObjectKey, ManualClock>(clock: clock)
        let r = ScriptedReconciler(failures: 0, holdFirstCall: true)
        let loop = ReconcileLoop(queue: q, reconciler: r, workers: 4)
        let running = Task { await loop.run() }
        let key = ObjectKey(namespace: "ns", name: "hot")
        await q.add(key)
        await eventually("first call holding") { await r.isHolding }
        // Changes arrive while the first reconcile runs: they collapse into one more reconcile, later.
        for _ in 0..<10 { await q.add(key) }
        await q.add(ObjectKey(namespace: "ns", name: "other"))
        await eventually("other key processed meanwhile") { await r.callCount == 2 }
        await r.release()
        await eventually("the hot key reconciled once more") { await r.callCount == 3 }
        await q.shutDown()
        await running.value
        #expect(await r.maxInFlightPerKey == 1)
        #expect(await r.calls.filter { $0 == key }.count == 2)
    }
}
