import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

@testable import KubeRuntime

/// A running emulator and a client for it.
struct EmulatorFixture {
    let emulator: KubeEmulator
    let client: RESTClient

    static func start(historyLimit: Int = 1000) async throws -> EmulatorFixture {
        var config = KubeEmulator.Configuration()
        config.historyLimit = historyLimit
        let emulator = KubeEmulator(configuration: config)
        let port = try await emulator.start()
        let client = RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(port)", namespace: "default", source: "test"))
        return EmulatorFixture(emulator: emulator, client: client)
    }

    func stop() async { try? await emulator.stop() }
}

func lease(_ name: String, holder: String = "nobody", labels: [String: String] = [:]) -> JSONValue {
    var meta: JSONValue = ["name": .string(name), "namespace": "default"]
    if !labels.isEmpty {
        var l = JSONObject()
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) { l[k] = .string(v) }
        meta["labels"] = .object(l)
    }
    return ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": ["holderIdentity": .string(holder)]]
}

/// Waits (yielding, bounded by wall time) until `condition` holds.
func waitUntil(_ what: String, seconds: Double = 10, _ condition: () async -> Bool) async {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return }
        try? await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("timed out waiting for \(what)")
}

@Suite(.serialized) struct ClientVerbTests {
    @Test func createGetUpdateConflictPatchDelete() async throws {
        let f = try await EmulatorFixture.start()
        let c = f.client
        let created = try await c.create(.leases, namespace: "default", lease("a"))
        let rv1 = try #require(created["metadata"]?["resourceVersion"]?.stringValue)
        #expect(created["metadata"]?["uid"]?.stringValue?.isEmpty == false)

        var changed = created
        changed["spec"] = ["holderIdentity": "me"]
        let updated = try await c.update(.leases, namespace: "default", changed)
        #expect(updated["spec"]?["holderIdentity"] == "me")
        #expect(updated["metadata"]?["resourceVersion"]?.stringValue != rv1)

        // Writing with the stale resourceVersion is a 409 Conflict.
        var stale = created
        stale["spec"] = ["holderIdentity": "late"]
        await #expect { _ = try await c.update(.leases, namespace: "default", stale) } throws: { e in
            (e as? KubeAPIError)?.isConflict == true && (e as? KubeAPIError)?.reason == "Conflict"
        }
        // A create of an existing name is AlreadyExists.
        await #expect { _ = try await c.create(.leases, namespace: "default", lease("a")) } throws: { e in
            (e as? KubeAPIError)?.reason == "AlreadyExists"
        }

        let patched = try await c.patch(.leases, namespace: "default", name: "a", type: .merge, ["spec": ["leaseTransitions": 3]])
        #expect(patched["spec"]?["leaseTransitions"] == 3)
        #expect(patched["spec"]?["holderIdentity"] == "me")
        let jsonPatched = try await c.patch(.leases, namespace: "default", name: "a", type: .json,
                                            [["op": "replace", "path": "/spec/holderIdentity", "value": "jp"]])
        #expect(jsonPatched["spec"]?["holderIdentity"] == "jp")

        try await c.delete(.leases, namespace: "default", name: "a")
        await #expect { _ = try await c.get(.leases, namespace: "default", name: "a") } throws: { e in
            guard let e = e as? KubeAPIError else { return false }
            return e.isNotFound && e.reason == "NotFound" && e.message.contains("\"a\" not found")
        }
        await f.stop()
    }

    @Test func labelSelectorsAndPagination() async throws {
        let f = try await EmulatorFixture.start()
        for i in 0..<7 {
            _ = try await f.client.create(.leases, namespace: "default", lease("l\(i)", labels: ["tier": i % 2 == 0 ? "even" : "odd"]))
        }
        let (all, rv) = try await f.client.listAll(.leases, namespace: "default", pageSize: 2)
        #expect(all.count == 7)
        #expect(!rv.isEmpty)
        let page = try await f.client.list(.leases, namespace: "default", options: ListOptions(limit: 3))
        #expect(page["items"]?.arrayValue?.count == 3)
        #expect(page["metadata"]?["continue"]?.stringValue?.isEmpty == false)
        let even = try await f.client.listAll(.leases, namespace: "default", options: ListOptions(labelSelector: "tier=even"))
        #expect(even.items.count == 4)
        let notOdd = try await f.client.listAll(.leases, namespace: "default", options: ListOptions(labelSelector: "tier!=odd"))
        #expect(notOdd.items.count == 4)
        await f.stop()
    }

    @Test func watchDeliversLaterEventsInOrderAndExpiredHistoryIs410() async throws {
        let f = try await EmulatorFixture.start(historyLimit: 5)
        let start = try await f.client.list(.leases, namespace: "default")
        let rv = try #require(start["metadata"]?["resourceVersion"]?.stringValue)
        let events = f.client.watch(.leases, namespace: "default", options: ListOptions(resourceVersion: rv, timeoutSeconds: 30))
        var it = events.makeAsyncIterator()
        for i in 0..<3 { _ = try await f.client.create(.leases, namespace: "default", lease("w\(i)")) }
        _ = try await f.client.patch(.leases, namespace: "default", name: "w1", type: .merge, ["spec": ["holderIdentity": "x"]])
        try await f.client.delete(.leases, namespace: "default", name: "w2")
        var seen: [String] = []
        for _ in 0..<5 {
            switch try await it.next() {
            case .added(let o)?: seen.append("ADDED \(o["metadata"]?["name"]?.stringValue ?? "")")
            case .modified(let o)?: seen.append("MODIFIED \(o["metadata"]?["name"]?.stringValue ?? "")")
            case .deleted(let o)?: seen.append("DELETED \(o["metadata"]?["name"]?.stringValue ?? "")")
            case let other: seen.append("\(String(describing: other))")
            }
        }
        #expect(seen == ["ADDED w0", "ADDED w1", "ADDED w2", "MODIFIED w1", "DELETED w2"])

        // Push the starting resourceVersion out of the history window: a watch from it is 410 Expired.
        for i in 0..<10 { _ = try await f.client.create(.leases, namespace: "default", lease("h\(i)")) }
        f.emulator.compactHistory()
        var old = f.client.watch(.leases, namespace: "default", options: ListOptions(resourceVersion: rv, timeoutSeconds: 30)).makeAsyncIterator()
        let first = try await old.next()
        guard case .error(let status)? = first else {
            Issue.record("expected an ERROR event, got \(String(describing: first))")
            await f.stop()
            return
        }
        #expect(status.isExpired)
        await f.stop()
    }
}

@Suite(.serialized) struct InformerTests {
    @Test func convergesAndRelistsAfterExpiredHistory() async throws {
        let f = try await EmulatorFixture.start(historyLimit: 4)
        for i in 0..<3 { _ = try await f.client.create(.leases, namespace: "default", lease("i\(i)")) }
        let log = Locked<[String]>([])
        let informer = Informer(client: f.client, resource: .leases, namespace: "default", clock: ContinuousClock(),
                                random: { 0 }) { event in
            switch event {
            case .added(let o): log.withLock { $0.append("add \(o["metadata"]?["name"]?.stringValue ?? "")") }
            case .updated(_, let o): log.withLock { $0.append("update \(o["metadata"]?["name"]?.stringValue ?? "")") }
            case .deleted(let o): log.withLock { $0.append("delete \(o["metadata"]?["name"]?.stringValue ?? "")") }
            }
        }
        let run = Task { await informer.run() }
        await waitUntil("synced") { informer.hasSynced }
        #expect(informer.store.count == 3)

        _ = try await f.client.patch(.leases, namespace: "default", name: "i0", type: .merge, ["spec": ["holderIdentity": "z"]])
        try await f.client.delete(.leases, namespace: "default", name: "i1")
        _ = try await f.client.create(.leases, namespace: "default", lease("i3"))
        await waitUntil("watch applied") { informer.store.count == 3 && informer.store.get(ObjectKey(namespace: "default", name: "i3")) != nil }
        #expect(informer.store.get(ObjectKey(namespace: "default", name: "i0"))?["spec"]?["holderIdentity"] == "z")
        #expect(log.withLock { $0.contains("delete i1") && $0.contains("update i0") })

        // The API server drops the watch and refuses new ones (503) while objects churn past the history
        // window: the informer backs off, then its re-watch gets 410, it re-lists, and the cache again equals
        // the server.
        let listsBefore = informer.counts.lists
        let watchesBefore = informer.counts.watches
        f.emulator.injectFault(FaultRule(watch: true, action: .fail(code: 503)))
        f.emulator.closeAllWatches()
        await waitUntil("a refused re-watch") { informer.counts.watches > watchesBefore }
        for i in 0..<12 { _ = try await f.client.create(.leases, namespace: "default", lease("x\(i)")) }
        for i in 0..<6 { try await f.client.delete(.leases, namespace: "default", name: "x\(i)") }
        f.emulator.compactHistory()
        #expect(informer.counts.lists == listsBefore)  // nothing applied while the server refuses
        f.emulator.clearFaults()
        await waitUntil("relisted", seconds: 15) { informer.counts.lists > listsBefore }
        let server = try await f.client.listAll(.leases, namespace: "default").items
        await waitUntil("cache equals server") {
            Set(informer.store.list().compactMap { $0["metadata"]?["name"]?.stringValue })
                == Set(server.compactMap { $0["metadata"]?["name"]?.stringValue })
        }
        run.cancel()
        await run.value
        await f.stop()
    }
}

/// Runs `elector` in the background until it leads (its lead work idles until cancelled); cancel the task to stop.
func lead(_ elector: LeaderElector<ManualClock>) async -> Task<Void, Never> {
    let leading = Locked(false)
    let run = Task {
        await elector.run {
            leading.withLock { $0 = true }
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        }
    }
    await waitUntil("the elector leads") { leading.withLock { $0 } && elector.isLeader }
    return run
}

@Suite(.serialized) struct LeaderElectionTests {
    @Test func exactlyOneLeaderAndHandoverAfterExpiry() async throws {
        let f = try await EmulatorFixture.start()
        let clock = ManualClock()
        func elector(_ id: String) -> LeaderElector<ManualClock> {
            LeaderElector(client: f.client, config: .init(namespace: "default", name: "heteroscale-leader", identity: id), clock: clock)
        }
        let a = elector("a"), b = elector("b")
        #expect(await a.tryAcquireOrRenew())
        #expect(await b.tryAcquireOrRenew() == false)
        clock.advance(by: .seconds(10))
        #expect(await a.tryAcquireOrRenew())  // renews
        #expect(await b.tryAcquireOrRenew() == false)  // b saw the record change: still valid
        // a stops renewing: after leaseDuration (15 s) of no change, b takes over.
        clock.advance(by: .seconds(14))
        #expect(await b.tryAcquireOrRenew() == false)
        clock.advance(by: .seconds(2))
        #expect(await b.tryAcquireOrRenew())
        #expect(await a.tryAcquireOrRenew() == false)
        let lease = try await f.client.get(.leases, namespace: "default", name: "heteroscale-leader")
        #expect(lease["spec"]?["holderIdentity"] == "b")
        #expect(lease["spec"]?["leaseTransitions"] == 1)
        await f.stop()
    }

    @Test func racingCandidatesProduceOneWinner() async throws {
        let f = try await EmulatorFixture.start()
        let clock = ManualClock()
        let electors = (0..<6).map {
            LeaderElector(client: f.client, config: .init(namespace: "default", name: "race", identity: "c\($0)"), clock: clock)
        }
        let wins = await withTaskGroup(of: Bool.self) { group in
            for e in electors { group.addTask { await e.tryAcquireOrRenew() } }
            var n = 0
            for await w in group where w { n += 1 }
            return n
        }
        #expect(wins == 1)
        await f.stop()
    }

    @Test func releaseOnShutdownLetsTheNextCandidateInAtOnce() async throws {
        let f = try await EmulatorFixture.start()
        let clock = ManualClock()
        let a = LeaderElector(client: f.client, config: .init(namespace: "default", name: "rel", identity: "a"), clock: clock)
        let b = LeaderElector(client: f.client, config: .init(namespace: "default", name: "rel", identity: "b"), clock: clock)
        let run = await lead(a)
        run.cancel()
        await run.value
        #expect(!a.isLeader)
        #expect(await b.tryAcquireOrRenew())  // no need to wait out the lease
        await f.stop()
    }

    /// A renewal that hangs (the API server stops answering) is abandoned at the renew deadline and the
    /// leader steps down, before another candidate could take over (`renewDeadline` 10 s < lease 15 s).
    @Test func aHungRenewalStepsDownAtTheRenewDeadline() async throws {
        let f = try await EmulatorFixture.start()
        let clock = ManualClock()
        let a = LeaderElector(client: f.client, config: .init(namespace: "default", name: "hung", identity: "a"), clock: clock)
        let run = await lead(a)
        f.emulator.injectFault(FaultRule(pathContains: "/leases/hung", action: .delay(.seconds(120))))
        // The next renewal starts after the retry period and hangs...
        await waitUntil("the renew loop sleeps") { clock.sleeperCount >= 1 }
        clock.advance(by: .seconds(2))
        await waitUntil("the renewal is in flight with its deadline timer") { clock.sleeperCount >= 1 }
        #expect(a.isLeader)
        // ...until the renew deadline, 10 s after the last successful renewal was sent.
        clock.advance(by: .seconds(9))
        await waitUntil("a steps down") { !a.isLeader }
        f.emulator.clearFaults()
        run.cancel()
        await run.value
        await f.stop()
    }
}

@Suite(.serialized) struct EventRecorderTests {
    @Test func repeatsBecomeASeriesAndStormsAreCut() async throws {
        let f = try await EmulatorFixture.start()
        let clock = ManualClock()
        let recorder = EventRecorder(client: f.client, instance: "test", clock: clock, spamBurst: 3)
        let pa = EventSubject(apiVersion: "heteroscale.io/v1alpha1", kind: "PodAutoscaler", namespace: "default", name: "llm", uid: "u1")
        func series() async throws -> JSONValue? {
            try await f.client.listAll(.events, namespace: "default").items.first { $0["reason"] == "SuccessfulRescale" }?["series"]
        }
        #expect(await recorder.record(pa, type: .normal, reason: "SuccessfulRescale", action: "Scale", note: "New size: 4; reason: load"))
        // Repeats within the patch interval are counted here, written once the interval has passed.
        for _ in 0..<4 {
            clock.advance(by: .seconds(10))
            #expect(await recorder.record(pa, type: .normal, reason: "SuccessfulRescale", action: "Scale", note: "New size: 4; reason: load"))
        }
        let events = try await f.client.listAll(.events, namespace: "default").items
        #expect(events.count == 1)
        #expect(events.first?["regarding"]?["name"] == "llm")
        #expect(try await series()?["count"] == 4, "written at 30 s with the count then; the 40 s repeat waits")
        // Repeats cost no spam tokens: of the burst of 3, one went to the first event, two are left ...
        #expect(await recorder.record(pa, type: .warning, reason: "FailedGetScale", action: "GetScale", note: "boom"))
        #expect(await recorder.record(pa, type: .warning, reason: "FailedGetScale", action: "GetScale", note: "boom 2"))
        #expect(await recorder.record(pa, type: .warning, reason: "FailedGetScale", action: "GetScale", note: "boom 3") == false)
        #expect(await recorder.dropped == 1)
        // ... a repeat of an existing event still gets through, and tokens come back (one per 5 minutes).
        #expect(await recorder.record(pa, type: .warning, reason: "FailedGetScale", action: "GetScale", note: "boom"))
        clock.advance(by: .seconds(300))
        #expect(await recorder.record(pa, type: .warning, reason: "FailedGetScale", action: "GetScale", note: "boom 4"))
        await f.stop()
    }
}
