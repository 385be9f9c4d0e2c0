import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

extension FaultSuite {
    /// 4a. Two controllers without leader election on one PodAutoscaler: both decide and write (guarded by
    /// resourceVersions); load goes up then down. No oscillation, the final replicas are right, both survive.
    @Test func twoControllersWithoutLeaderElection() async throws {
        let cluster = try await ClusterFixture.start { _ in }
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(faultAutoscaler("llama", port: engines.port, max: 3))
        let tally = RequestTally()
        let recorder = ReplicaRecorder(client: cluster.client, deployment: "model", tally: tally)
        defer { recorder.stop() }
        cluster.emulator.resetTraffic()
        let a = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        let b = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { a.stop(); b.stop() }
        let start = Date()
        await eventually("the scale-up to 3") { recorder.last == 3 }
        let up = Date().timeIntervalSince(start)
        try await engines.set(2)
        let dropped = Date()
        await eventually("the scale-down to 1") { recorder.last == 1 }
        let down = Date().timeIntervalSince(dropped)
        // Five more decisions of each: nothing moves.
        let (ra, rb) = (try await a.metric(Self.reconciled) ?? 0, try await b.metric(Self.reconciled) ?? 0)
        await eventually("five more decisions of each") {
            let (na, nb) = (try await a.metric(Self.reconciled) ?? 0, try await b.metric(Self.reconciled) ?? 0)
            return na >= ra + 5 && nb >= rb + 5
        }
        #expect(recorder.last == 1)
        #expect(recorder.reversals == 1, "one rise, one fall: \(recorder.values)")
        #expect(a.process.process.isRunning && b.process.process.isRunning, "both survive the conflicts")
        let scaleWrites = cluster.emulator.requestCount(method: "PUT", pathContains: "deployments/model/scale")
        let conflicts = (a.process.output + b.process.output).components(separatedBy: "409").count - 1
        await report(FaultFigures(
            scenario: "4a two controllers, no leader election", load: "1 → 3 (2× target) → 1 (0.2× target)",
            faults: "a second writer (same decisions, same objects)", lostUpdates: recorder.last == 1 ? 0 : 1,
            wrongScaleDowns: max(0, recorder.scaleDowns - 1), recovery: "up \(seconds(up)), down \(seconds(down))",
            details: "replicas \(recorder.values), /scale PUTs \(scaleWrites), log lines naming a 409: \(conflicts)"))
    }

    /// 4b. Two controllers with leader election (lease 4 s, renew deadline 3 s, retry 1 s): exactly one writer;
    /// a SIGKILLed leader's lease is taken over within lease duration + one retry period; SIGTERM releases it.
    /// (ControllerProcessTests covers the hand-over after a SIGTERM.)
    @Test func leaderElectionTakeOverAfterSIGKILL() async throws {
        let cluster = try await ClusterFixture.start { _ in }
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(faultAutoscaler("llama", port: engines.port, max: 2))
        let lease = 4.0, retry = 1.0
        let flags = ["--leader-elect", "--leader-election-namespace", "default", "--leader-election-lease-duration", "\(lease)",
                     "--leader-election-renew-deadline", "3", "--leader-election-retry-period", "\(retry)"]
        let a = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: flags)
        let b = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: flags)
        defer { a.stop(); b.stop() }
        await eventually("scale-up to 2") { try await cluster.replicas() == 2 }
        let holder = { try await cluster.client.get(.leases, namespace: "default", name: "heteroscale-controller")["spec"]?["holderIdentity"]?.stringValue ?? "" }
        let first = try await holder()
        let (leader, follower) = a.process.output.contains("identity=\(first)") ? (a, b) : (b, a)
        await eventually("the leader's workers") { leader.process.output.contains("starting workers") }
        #expect(!follower.process.output.contains("starting workers"))
        let writers = Set(try await cluster.client.list(.events, namespace: "default")["items"]?.arrayValue?
            .compactMap { $0["reportingInstance"]?.stringValue } ?? [])
        #expect(writers == [first], "exactly one writer: \(writers)")

        // SIGKILL: no release; the follower waits out the lease.
        kill(leader.process.process.processIdentifier, SIGKILL)
        leader.process.process.waitUntilExit()
        let killed = Date()
        var second = ""
        await eventually("the follower takes over", seconds: 20) {
            second = try await holder()
            return !second.isEmpty && second != first
        }
        let takeOver = Date().timeIntervalSince(killed)
        #expect(takeOver <= lease + retry + 0.5, "take-over in \(takeOver) s: lease \(lease) s + retry \(retry) s")
        await eventually("the new leader's workers") { follower.process.output.contains("starting workers") }
        try await engines.set(1)
        await eventually("the new leader scales down") { try await cluster.replicas() == 1 }

        // SIGTERM: the lease is released at once (empty holder), the process exits 0.
        #expect(follower.terminate() == 0)
        let released = try await cluster.client.get(.leases, namespace: "default", name: "heteroscale-controller")["spec"]
        #expect(released?["holderIdentity"]?.stringValue == "", "released: \(String(describing: released))")
        let transitions = released?["leaseTransitions"]?.intValue ?? -1
        await report(FaultFigures(
            scenario: "4b leader election, SIGKILL", load: "1 → 2 → 1", faults: "leader SIGKILLed, then new leader SIGTERMed",
            lostUpdates: 0, wrongScaleDowns: 0, recovery: "\(seconds(takeOver)) take-over (lease \(Int(lease)) s + retry \(Int(retry)) s)",
            details: "one event writer before the kill; lease released on SIGTERM; transitions \(transitions)"))
    }

    /// 5. 200 PodAutoscalers: 20 valid owners of 20 Deployments, 140 more on the same targets, 20 invalid
    /// (targetValue 0), 20 on missing Deployments. The owners scale 1 → 2; CPU, memory, events and log lines
    /// stay bounded.
    @Test func manyBadObjects() async throws {
        let cluster = try await ClusterFixture.start { _ in }
        let engines = try await FakeEngines(pods: 48)
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        let targets = 20
        for t in 0..<targets {
            try await cluster.create(ClusterFixture.deployment("t\(t)", replicas: 1), as: .deployments)
            try await cluster.create(faultAutoscaler("a-owner-\(t)", deployment: "t\(t)", port: engines.port, max: 2, tick: 2), as: .podAutoscalers)
        }
        for t in 0..<targets {
            for k in 0..<7 {
                try await cluster.create(faultAutoscaler("b-extra-\(t)-\(k)", deployment: "t\(t)", port: engines.port, max: 2, tick: 2), as: .podAutoscalers)
            }
            try await cluster.create(faultAutoscaler("c-invalid-\(t)", deployment: "t\(t)", port: engines.port, target: "0", max: 2, tick: 2), as: .podAutoscalers)
            try await cluster.create(faultAutoscaler("d-missing-\(t)", deployment: "gone-\(t)", port: engines.port, max: 2, tick: 2), as: .podAutoscalers)
        }
        let count = try await cluster.client.list(.podAutoscalers, namespace: "default")["items"]?.arrayValue?.count
        #expect(count == 200)
        cluster.emulator.resetTraffic()
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }
        let pid = controller.process.process.processIdentifier
        let start = Date()
        let scaled = {
            try await cluster.client.list(.deployments, namespace: "default")["items"]?.arrayValue?
                .filter { $0["spec"]?["replicas"]?.intValue == 2 }.count ?? 0
        }
        await eventually("every owner scales its Deployment to 2", seconds: 60) { try await scaled() == targets }
        let converged = Date().timeIntervalSince(start)
        // Steady means every PodAutoscaler has been reconciled once (each bad one has logged its first line).
        await eventually("every PodAutoscaler has a status", seconds: 60) {
            let items = try await cluster.client.list(.podAutoscalers, namespace: "default")["items"]?.arrayValue ?? []
            return items.count == 200 && items.allSatisfy { ($0["status"]?["conditions"]?.arrayValue?.count ?? 0) > 0 }
        }
        try await Task.sleep(for: .seconds(2))
        // A steady stretch of 20 s (10 ticks): CPU, memory, log lines.
        let cpu0 = ProcessFigures.of(pid), log0 = warningLines(controller.process.output).count, t0 = Date()
        try await Task.sleep(for: .seconds(20))
        let cpu1 = ProcessFigures.of(pid), log1 = warningLines(controller.process.output).count
        let window = Date().timeIntervalSince(t0)
        let cpuShare = ((cpu1?.cpuSeconds ?? 0) - (cpu0?.cpuSeconds ?? 0)) / window
        let steadyLines = Double(log1 - log0) * 60 / window
        let events = try await cluster.client.list(.events, namespace: "default")["items"]?.arrayValue?.count ?? 0
        let scaleWrites = cluster.emulator.requestCount(method: "PUT", pathContains: "/scale")
        let requestRate = Double(cluster.emulator.traffic.requests) / Date().timeIntervalSince(start)
        #expect(try await scaled() == targets, "the owners keep their scale")
        #expect(scaleWrites == targets, "one /scale write per owner: \(scaleWrites)")
        #expect(cpuShare < 0.5, "CPU in the steady stretch: \(cpuShare) cores")
        #expect((cpu1?.peakRSSMiB ?? 0) < 400, "peak RSS \(cpu1?.peakRSSMiB ?? 0) MiB")
        #expect(events <= 3 * 200, "events: \(events)")
        #expect(log1 <= 2 * 200, "warning/error lines in total: \(log1)")
        let steady = warningLines(controller.process.output).dropFirst(log0).prefix(log1 - log0)
        #expect(steadyLines <= 30, "warning/error lines per minute once steady: \(steadyLines); e.g. \(steady.prefix(4).joined(separator: " | "))")
        let loser = try await cluster.autoscaler("b-extra-0-0").status?.conditions?[type: "ValidSpec"]
        #expect(loser?.reason == "MultiplePodAutoscalers")
        let invalid = try await cluster.autoscaler("c-invalid-0").status?.conditions?[type: "ValidSpec"]
        #expect(invalid?.reason == "InvalidSpec")
        let missing = try await cluster.events(about: "d-missing-0").map(\.reason)
        #expect(missing.contains("FailedGetScale"), "\(missing)")

        await report(FaultFigures(
            scenario: "5 200 PodAutoscalers, 20 % bad", load: "20 Deployments 1 → 2 (2× target), tick 2 s",
            faults: "140 duplicates on shared targets, 20 invalid, 20 missing targets", lostUpdates: targets - (try await scaled()),
            wrongScaleDowns: max(0, scaleWrites - targets), recovery: "\(seconds(converged)) until all 20 scaled",
            details: String(format: "steady CPU %.2f cores, RSS %.0f MiB (peak %.0f), %d events, %d warning/error lines (%.0f/min steady), %.0f API requests/s",
                            cpuShare, cpu1?.rssMiB ?? 0, cpu1?.peakRSSMiB ?? 0, events, log1, steadyLines, requestRate)))
    }
}
