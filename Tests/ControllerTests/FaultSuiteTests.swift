import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

/// The fault suite (issue 15 §1): real processes over loopback — the emulator with fault injection, the
/// `heteroscale controller` as a child process, stand-in model servers, kubectl — under API server and metrics
/// faults. Each scenario prints one row of figures; together they print the summary table (docs/faults.md).
/// Run it with `swift test --filter FaultSuite`.
@Suite(.serialized) struct FaultSuite {
    static let reconciled = #"controller_runtime_reconcile_total{controller="podautoscaler",result="requeue_after"}"#

    /// 1. The API server goes away for 20 s while the controller's watches are open, and comes back on the same
    /// port with the same state. Load doubles meanwhile, so exactly one scale-up (2 → 4) is due at the return.
    @Test func apiServerOutageOf20Seconds() async throws {
        let cluster = try await ClusterFixture.start { _ in }
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(10)  // at the target: hold at 2
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        let tick = 4.0  // a failed reconcile is retried after max(tick, 5 s): within 2 ticks of the return
        try cluster.apply(faultAutoscaler("llama", port: engines.port, max: 4, tick: Int(tick)))
        // A renew deadline longer than the outage: the leader keeps its lease (with the default 10 s it would
        // step down and exit for its Deployment to restart it, as client-go controllers do).
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: [
            "--leader-elect", "--leader-election-namespace", "default", "--leader-election-lease-duration", "40",
            "--leader-election-renew-deadline", "30", "--leader-election-retry-period", "2",
        ])
        defer { controller.stop() }
        await eventually("two decisions") { try await controller.metric(Self.reconciled) ?? 0 >= 2 }
        await eventually("ready") { try await controller.get("/readyz", port: controller.healthPort).status == 200 }
        await eventually("the informers' watches open") { cluster.emulator.activeWatchCount >= 2 }
        let leaseBefore = try await cluster.client.get(.leases, namespace: "default", name: "heteroscale-controller")["spec"]
        let tally = RequestTally()
        let recorder = ReplicaRecorder(client: cluster.client, deployment: "model", tally: tally)
        defer { recorder.stop() }
        await eventually("the recorder's first reading") { recorder.last == 2 }
        let scalePath = "deployments/model/scale"
        let port = try #require(cluster.emulator.port)

        // Down, mid-watch.
        try await cluster.emulator.stop()
        let down = Date()
        try await engines.set(20)  // twice the target: 2 → 4 is due
        var outageSeen: Double?
        await eventually("/readyz reports the outage", seconds: 19) {
            let r = try await controller.get("/readyz", port: controller.healthPort)
            if r.status == 503 { outageSeen = Date().timeIntervalSince(down) }
            return r.status == 503
        }
        let reason = try await controller.get("/readyz", port: controller.healthPort).body
        #expect(reason.contains("cannot list or watch"), "\(reason)")
        let putsBefore = cluster.emulator.requestCount(method: "PUT", pathContains: scalePath)
        try await Task.sleep(until: .now + .seconds(20 - Date().timeIntervalSince(down)))  // the outage itself: 20 s
        #expect(controller.process.process.isRunning, "the controller survives the outage")

        // Back, same port, same state.
        _ = try await cluster.emulator.start(port: port)
        let back = Date()
        await eventually("the scale-up after the return", seconds: 30) { recorder.last == 4 }
        let recovery = (recorder.firstTime(4) ?? Date()).timeIntervalSince(back)
        #expect(recovery <= 2 * tick, "reconciles within 2 ticks of the return (\(recovery) s)")
        var readyAgain = 0.0
        await eventually("/readyz recovers", seconds: 40) {
            readyAgain = Date().timeIntervalSince(back)
            return try await controller.get("/readyz", port: controller.healthPort).status == 200
        }
        // Two more decisions: nothing else is written.
        let after = try await controller.metric(Self.reconciled) ?? 0
        await eventually("two more decisions") { try await controller.metric(Self.reconciled) ?? 0 >= after + 2 }
        let puts = cluster.emulator.requestCount(method: "PUT", pathContains: scalePath) - putsBefore
        let rescales = try await cluster.events(about: "llama").filter { $0.reason == "SuccessfulRescale" }.count
        #expect(puts == 1, "exactly one /scale write after the outage")
        #expect(recorder.values == [2, 4], "\(recorder.values)")
        #expect(rescales == 1)
        let status = try await cluster.autoscaler("llama").status
        #expect(status?.desiredScale == 4 && status?.actualScale == 4, "status written after the outage")
        // The lease is kept: same holder, no transition, renewed since.
        let leaseAfter = try await cluster.client.get(.leases, namespace: "default", name: "heteroscale-controller")["spec"]
        #expect(leaseAfter?["holderIdentity"] == leaseBefore?["holderIdentity"])
        #expect(leaseAfter?["leaseTransitions"] == leaseBefore?["leaseTransitions"])
        #expect(leaseAfter?["renewTime"] != leaseBefore?["renewTime"])
        #expect(!controller.process.output.contains("leadership lost"))

        await report(FaultFigures(
            scenario: "1 API server down 20 s", load: "2 pods at 1× → 2× target during the outage",
            faults: "listener stopped 20 s (all watches cut)", lostUpdates: max(0, 1 - puts), wrongScaleDowns: recorder.scaleDowns,
            recovery: "\(seconds(recovery)) (tick \(Int(tick)) s)",
            details: "readyz 503 after \(seconds(outageSeen ?? -1)), ready again \(seconds(readyAgain)) after the return; "
                + "/scale writes after the return \(puts); lease kept (transitions \(leaseAfter?["leaseTransitions"]?.intValue ?? -1))"))
    }

    /// 2. API faults for 30 s while load rises then falls: watches cut every 3 s, every other time with the
    /// history compacted (the re-watch gets 410 Gone), no bookmarks, 429 (Retry-After 1 s) on 15 % of PUTs, 503
    /// bursts on writes, 2 s delays on 20 % of GETs, and another writer bumping the PodAutoscaler's and the
    /// Deployment's resourceVersion 5 times a second.
    @Test func apiFaultsAndAConflictStorm() async throws {
        let cluster = try await ClusterFixture.start { config in
            config.bookmarkInterval = .seconds(3600)  // bookmarks missing
            config.historyLimit = 200
        }
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(faultAutoscaler("llama", port: engines.port, max: 3))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }
        await eventually("the first decision") { try await controller.metric(Self.reconciled) ?? 0 >= 1 }

        let emulator = cluster.emulator
        let tally = RequestTally()
        let recorder = ReplicaRecorder(client: cluster.client, deployment: "model", tally: tally)
        defer { recorder.stop() }
        emulator.resetTraffic()
        let logStart = controller.process.output.count
        let start = Date()
        emulator.injectFault(FaultRule(method: "GET", watch: false, action: .delay(.seconds(2)), probability: 0.2))
        emulator.injectFault(FaultRule(method: "PUT", action: .fail(code: 429, retryAfterSeconds: 1), probability: 0.15))
        let storm = Task { [client = cluster.client] in
            var n = 0
            while !Task.isCancelled {
                n += 1
                let bump: JSONValue = ["metadata": ["annotations": ["fault-suite/storm": .string(String(n))]]]
                tally.add(2)
                _ = try? await client.patch(.podAutoscalers, namespace: "default", name: "llama", type: .merge, bump)
                _ = try? await client.patch(.deployments, namespace: "default", name: "model", type: .merge, bump)
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        let chaos = Task {
            var round = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(3))
                round += 1
                if round % 2 == 0 { emulator.compactHistory() }
                emulator.closeAllWatches()
                if round % 2 == 1 {
                    for method in ["PUT", "POST", "PATCH"] { emulator.injectFault(FaultRule(method: method, action: .fail(code: 503), count: 4)) }
                }
            }
        }
        defer { storm.cancel(); chaos.cancel() }

        // Up: 1 → 3 under faults.
        await eventually("the scale-up to 3 under faults", seconds: 30) { recorder.last == 3 }
        let upTime = Date().timeIntervalSince(start)
        let downsWhileLoaded = recorder.scaleDowns
        await eventually("the status shows 3") {
            tally.add()
            let s = try await cluster.autoscaler("llama").status
            return s?.desiredScale == 3 && s?.actualScale == 3
        }
        // Down: load falls to a fifth of the target.
        try await engines.set(2)
        let dropped = Date()
        await eventually("the scale-down to 1 under faults", seconds: 30) { recorder.last == 1 }
        let downTime = Date().timeIntervalSince(dropped)
        var statusLanded = false
        await eventually("the status shows 1") {
            tally.add()
            let s = try await cluster.autoscaler("llama").status
            statusLanded = s?.desiredScale == 1 && s?.actualScale == 1
            return statusLanded
        }
        // Keep the faults on until 30 s have passed, so the rates below cover a fixed stretch.
        if Date().timeIntervalSince(start) < 30 { try await Task.sleep(until: .now + .seconds(30 - Date().timeIntervalSince(start))) }
        storm.cancel()
        chaos.cancel()
        emulator.clearFaults()
        let elapsed = Date().timeIntervalSince(start)
        let traffic = emulator.traffic
        let controllerRequests = traffic.requests - tally.count
        let perSecond = Double(controllerRequests) / elapsed
        let statusWrites = emulator.requestCount(method: "PUT", pathContains: "podautoscalers/llama/status")
        let logLines = warningLines(String(controller.process.output.dropFirst(logStart))).count
        let perMinute = Double(logLines) * 60 / elapsed
        #expect(controller.process.process.isRunning)
        #expect(downsWhileLoaded == 0)
        #expect(recorder.reversals <= 1, "up then down once: \(recorder.values)")
        // One PodAutoscaler on a 1 s tick: a read of /scale, a status write, an event, plus the informers'
        // re-lists and re-watches every 3 s and the conflict retries (at most 3 per write). 25/s is many times
        // that; a retry storm (a loop without backoff) makes hundreds.
        #expect(perSecond < 25, "controller requests per second: \(perSecond)")
        #expect(statusWrites < Int(elapsed) * 5, "status writes: \(statusWrites) in \(elapsed) s")
        // Error and warning lines are rate-limited per PodAutoscaler, reason and message.
        #expect(perMinute <= 120, "warning lines per minute: \(perMinute)")

        await report(FaultFigures(
            scenario: "2 API faults + 409 storm", load: "1 pod → 3 (2× target), then 1/5 of target",
            faults: "\(traffic.injectedFailures) failed + \(traffic.injectedDelays) delayed requests, watches cut \(Int(elapsed / 3))×, 2 writes × 5/s",
            lostUpdates: statusLanded ? 0 : 1, wrongScaleDowns: downsWhileLoaded,
            recovery: "up \(seconds(upTime)), down \(seconds(downTime))",
            details: String(format: "controller requests %.1f/s (%d in %.0f s), status PUTs %d, warning/error log lines %.0f/min",
                            perSecond, controllerRequests, elapsed, statusWrites, perMinute)))
    }
}
