import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

/// End to end over loopback: the emulator with its kubelet, a real HTTP metrics endpoint per pod IP, the
/// `heteroscale controller` process, and the real `kubectl` reading the results back.
@Suite(.serialized) struct ControllerProcessTests {
    @Test func hpaScalesUpThenDownAfterItsWindowAndKubectlShowsIt() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port,
                                                    extra: "  behavior: {scaleDown: {stabilizationWindowSeconds: 6}}"))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }

        await eventually("scale-up to 4") { try await cluster.replicas() == 4 }
        await eventually("ready") { try await controller.get("/readyz", port: controller.healthPort).status == 200 }
        #expect(try await controller.get("/healthz", port: controller.healthPort).status == 200)

        let row = try cluster.kubectl("get", "pa", "llama", "--no-headers").split(separator: " ").map(String.init)
        #expect(Array(row.prefix(6)) == ["llama", "HPA", "1", "4", "4", "4"], "kubectl get pa: \(row)")
        let describe = try cluster.kubectl("describe", "pa", "llama")
        for text in ["ValidMetricFound", "SuccessfulRescale", "New size: 4; reason: HPA:", "vllm:num_requests_running"] {
            #expect(describe.contains(text), "kubectl describe pa shows \(text)")
        }
        #expect(try await controller.metric(#"heteroscale_desired_replicas{name="llama",namespace="default"}"#) == 4)
        #expect(try await controller.metric(#"controller_runtime_reconcile_total{controller="podautoscaler",result="requeue_after"}"#) ?? 0 >= 1)

        // Load drops: the scale-down waits for the 6 s stabilisation window (long enough that a loaded machine's
        // scheduling delays cannot skip it), then goes to the minimum.
        try await engines.set(1)
        let dropped = Date()
        var heldByWindow = false
        await eventually("scale-down to 1") {
            let pa = try await cluster.client.get(.podAutoscalers, namespace: "default", name: "llama").decode(PodAutoscaler.self)
            if pa.status?.conditions?[type: "AbleToScale"]?.reason == "ScaleDownStabilized" { heldByWindow = true }
            return try await cluster.replicas() == 1
        }
        #expect(heldByWindow, "the scale-down was first held back (AbleToScale=ScaleDownStabilized)")
        // The window (6 s) counts from the last high recommendation, at most one tick (1 s) before the drop.
        #expect(Date().timeIntervalSince(dropped) >= 4.5, "the stabilisation window held the scale-down")
        let describeAfter = try cluster.kubectl("describe", "pa", "llama")
        #expect(describeAfter.contains("New size: 1; reason: HPA:"))
        await eventually("the rescale log line") { controller.process.output.contains("rescaled") }
    }

    @Test func withoutTheCRDTheControllerSaysSoAndExits() async throws {
        let emulator = KubeEmulator()
        let port = try await emulator.start()
        let dir = try TestDirectory("heteroscale-nocrd")
        defer { dir.cleanup(); Task { try? await emulator.stop() } }
        try dir.write("kubeconfig", KubeEmulator.kubeconfig(server: "http://127.0.0.1:\(port)"))
        let p = try TestProcess(ControllerProcess.binary, ["controller", "--kubeconfig", dir.path("kubeconfig"),
                                                            "--metrics-bind-address", "0", "--health-probe-bind-address", "0"])
        p.process.waitUntilExit()
        #expect(p.process.terminationStatus == 1)
        await eventually("the message") { p.output.contains("the CRD is not installed (kubectl apply -f crds/)") }
    }

    @Test func kpaPanicsUpAndHoldsWhilePanicking() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(10)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "KPA", port: engines.port, max: 8,
                                                    extra: "  kpa: {stableWindowSeconds: 20}"))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }
        let panicMode = #"heteroscale_panic_mode{name="llama",namespace="default"}"#
        await eventually("the first decisions") { try await controller.metric(panicMode) == 0 }
        try await engines.set(60)  // 6× the target per pod
        await eventually("panic scale-up") { try await cluster.replicas() >= 3 }
        // The scale write and the gauge update are two steps of one decision: wait for the gauge too.
        await eventually("panic mode reported") { try await controller.metric(panicMode) == 1 }
        let peak = try await cluster.replicas()
        // Load gone: in panic KPA never scales down (it holds for a stable window, 20 s here: far more than the
        // 3 s watched, however the machine schedules the controller).
        try await engines.set(0.5)
        let until = Date().addingTimeInterval(3)
        while Date() < until {
            let now = try await cluster.replicas()
            #expect(now >= peak, "no scale-down while panicking")
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try cluster.kubectl("describe", "pa", "llama").contains("SuccessfulRescale"))
    }

    @Test func apaHoldsWithinItsTolerance() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(10.8)  // 8 % above target; APA's default up tolerance is 10 %
        try cluster.apply(ClusterFixture.deployment(replicas: 3))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "APA", port: engines.port, max: 8))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }
        let reconciles = #"controller_runtime_reconcile_total{controller="podautoscaler",result="requeue_after"}"#
        await eventually("four decisions") { try await controller.metric(reconciles) ?? 0 >= 4 }
        #expect(try await cluster.replicas() == 3)
        #expect(!(try cluster.kubectl("describe", "pa", "llama").contains("SuccessfulRescale")))
    }

    @Test func aFailingScrapeOnOnePodDoesNotScaleDown() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(2)  // far below the target of 10: without the missing-pod rule this would go to 1
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port,
                                                    extra: "  behavior: {scaleDown: {stabilizationWindowSeconds: 0}}"))
        let pods = try await cluster.client.list(.pods, namespace: "default")["items"]?.arrayValue ?? []
        await eventually("pod IPs") { try await cluster.client.list(.pods, namespace: "default")["items"]?.arrayValue?.allSatisfy { $0["status"]?["podIP"] != nil } == true }
        let ips = try await cluster.client.list(.pods, namespace: "default")["items"]?.arrayValue?.compactMap { $0["status"]?["podIP"]?.stringValue } ?? []
        #expect(pods.count == 2 && ips.count == 2)
        try await engines.fail(ip: ips[0])
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }
        await eventually("the scrape failure reported") { try cluster.kubectl("describe", "pa", "llama").contains("FailedGetPodsMetric") }
        let errors = #"heteroscale_scrape_errors_total{name="llama",namespace="default"}"#
        await eventually("three failed scrapes") { try await controller.metric(errors) ?? 0 >= 3 }
        #expect(try await cluster.replicas() == 2)
        // Healed: now both pods report 2 and the scale-down happens.
        try await engines.fail(ip: ips[0], false)
        await eventually("scale-down once both pods are observed") { try await cluster.replicas() == 1 }
    }

    @Test func invalidSpecAndTwoAutoscalersOnOneTargetShowInDescribe() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(ClusterFixture.deployment("other", replicas: 1))
        try cluster.apply(ClusterFixture.autoscaler("broken", strategy: "HPA", port: engines.port, target: "0", deployment: "other"))
        try cluster.apply(ClusterFixture.autoscaler("first", strategy: "HPA", port: engines.port))
        try await Task.sleep(for: .milliseconds(1100))  // creationTimestamp has second precision
        try cluster.apply(ClusterFixture.autoscaler("second", strategy: "HPA", port: engines.port, max: 2))
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { controller.stop() }

        await eventually("the invalid spec reported") {
            let d = try cluster.kubectl("describe", "pa", "broken")
            return d.contains("InvalidSpec") && d.contains("spec.metricsSources[0].targetValue")
        }
        #expect(try cluster.kubectl("describe", "pa", "broken").contains("Warning"))
        #expect(try await cluster.replicas("other") == 1)

        await eventually("the older autoscaler scales") { try await cluster.replicas() == 4 }
        await eventually("the newer one reports the conflict") {
            try cluster.kubectl("describe", "pa", "second").contains("MultiplePodAutoscalers")
        }
        let valid = try await cluster.client.get(.podAutoscalers, namespace: "default", name: "second").decode(PodAutoscaler.self)
            .status?.conditions?[type: "ValidSpec"]
        #expect(valid?.status == .isFalse && valid?.message.contains("first") == true)
        // The older one goes: the other takes over (and its maxReplicas of 2 now applies).
        try cluster.kubectl("delete", "pa", "first")
        await eventually("the remaining autoscaler takes over") { try await cluster.replicas() == 2 }
    }

    @Test func aRestartKeepsTheScaleAndShutsDownGracefully() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 2))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port))
        let first = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        await eventually("scale-up to 4") { try await cluster.replicas() == 4 }
        #expect(first.terminate() == 0)
        await eventually("the last log line") { first.process.output.contains("shut down cleanly") }

        // Load vanishes while the controller is down; the restarted one must not drop the scale at once
        // (HPA's default 300 s scale-down window is seeded with the current replicas).
        try await engines.set(0.5)
        let second = try await ControllerProcess(kubeconfig: cluster.kubeconfig)
        defer { second.stop() }
        let reconciles = #"controller_runtime_reconcile_total{controller="podautoscaler",result="requeue_after"}"#
        await eventually("three decisions after the restart") { try await second.metric(reconciles) ?? 0 >= 3 }
        #expect(try await cluster.replicas() == 4)
        let pa = try await cluster.client.get(.podAutoscalers, namespace: "default", name: "llama").decode(PodAutoscaler.self)
        #expect(pa.status?.conditions?[type: "AbleToScale"]?.reason == "ScaleDownStabilized")
    }

    @Test func withLeaderElectionOnlyTheLeaderWritesAndAFollowerTakesOver() async throws {
        let cluster = try await ClusterFixture.start()
        let engines = try await FakeEngines()
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(20)
        try cluster.apply(ClusterFixture.deployment(replicas: 1))
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port, max: 2))
        let flags = ["--leader-elect", "--leader-election-namespace", "default"]
        let a = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: flags)
        let b = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: flags)
        defer { a.stop(); b.stop() }
        await eventually("scale-up to 2") { try await cluster.replicas() == 2 }
        let lease = try await cluster.client.get(.leases, namespace: "default", name: "heteroscale-controller")
        let holder = try #require(lease["spec"]?["holderIdentity"]?.stringValue)
        let (leader, follower) = a.process.output.contains("identity=\(holder)") ? (a, b) : (b, a)
        await eventually("the leader's log") { leader.process.output.contains("starting workers") }
        #expect(!follower.process.output.contains("starting workers"), "the follower never reconciles")
        #expect(!follower.process.output.contains("rescaled"))
        let leaderMetric = #"leader_election_master_status{name="heteroscale-controller"}"#
        #expect(try await leader.metric(leaderMetric) == 1)
        #expect(try await follower.metric(leaderMetric) == nil)
        let events = try await cluster.client.list(.events, namespace: "default")["items"]?.arrayValue ?? []
        #expect(!events.isEmpty && events.allSatisfy { $0["reportingInstance"]?.stringValue == holder }, "only the leader writes events")

        // The leader stops: it releases the lease and the follower takes over at its next retry.
        #expect(leader.terminate() == 0)
        await eventually("the follower leads") { follower.process.output.contains("starting workers") }
        try await engines.set(1)
        try cluster.apply(ClusterFixture.autoscaler("llama", strategy: "HPA", port: engines.port, max: 2,
                                                    extra: "  behavior: {scaleDown: {stabilizationWindowSeconds: 0}}"))
        await eventually("the new leader scales down") { try await cluster.replicas() == 1 }
        // The log line follows the write; the pipe is read asynchronously.
        await eventually("the new leader logs the rescale") { follower.process.output.contains("rescaled") }
    }
}
