import Autoscaling
import Controller
import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import KubeRuntime
import Testing
import YAML

/// Regression tests for the defects found under faults on a real kube-apiserver (issue "Hardening" §0):
/// outages that silenced the reconciler, log spam, an invalid PodAutoscaler blocking a valid one, and a
/// "no data yet" message while scrapes were failing.
@Suite(.serialized) struct FaultDefectTests {
    /// With the API server failing, the FailedGetScale path's own status write failed and the key fell into the
    /// work queue's exponential backoff (5 ms·2ⁿ, 36.8 s of silence after a 20 s outage). Now every failure is
    /// logged and retried after max(tick, 5 s), and the PodAutoscaler resumes on the first retry.
    @Test func anOutageIsRetriedOnTheTickAndLogged() async throws {
        let log = CapturedLog()
        let f = try await ReconcilerFixture.start(logger: log.logger)
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 2)
        try await f.createAutoscaler(autoscalerYAML("pa", strategy: "KPA", target: "5", extra: "  tickSeconds: 2"))
        await f.metrics.set([10, 10])
        try await f.refresh()
        f.emulator.injectFault(FaultRule(action: .fail(code: 503)))
        for _ in 0..<3 {
            let error = await #expect(throws: RetryAfter.self) {
                try await f.reconciler.reconcile(ObjectKey(namespace: "default", name: "pa"))
            }
            #expect(error?.delay == .seconds(5), "max(tick 2 s, minimum retry 5 s)")
            #expect((error?.underlying as? KubeAPIError)?.code == 503)
            f.clock.advance(5)
        }
        // Logged: why the target could not be read and why status could not be written, once each (repeats throttled).
        #expect(log.lines(containing: "cannot read the target's scale", "podautoscaler=default/pa", "503").count == 1)
        #expect(log.lines(containing: "cannot write status", "podautoscaler=default/pa", "503").count == 1)
        // The server is back: the next reconcile scales.
        f.emulator.clearFaults()
        try await f.reconcile("pa")
        #expect(try await f.replicas() > 2)
        #expect(try await f.condition("pa", "AbleToScale")?.reason == "SucceededRescale")
    }

    /// 140 PodAutoscalers losing a shared target logged 4,444 lines a minute: the loser's warning is now
    /// written once per 5 minutes per reason, and the next line says how many repeats it stood for.
    @Test func repeatedWarningsAreRateLimitedPerAutoscalerAndReason() async throws {
        let log = CapturedLog()
        let f = try await ReconcilerFixture.start(logger: log.logger)
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 2)
        await f.metrics.set([1, 1])
        try await f.createAutoscaler(autoscalerYAML("older", strategy: "KPA", extra: "  tickSeconds: 2"))
        f.clock.advance(1)
        try await f.createAutoscaler(autoscalerYAML("newer", strategy: "KPA", extra: "  tickSeconds: 2"))
        for _ in 0..<30 {  // one minute of 2 s ticks
            try await f.reconcile("newer")
            f.clock.advance(2)
        }
        #expect(try await f.condition("newer", "ValidSpec")?.reason == "MultiplePodAutoscalers")
        let warnings = log.lines(containing: "not scaling", "podautoscaler=default/newer", "MultiplePodAutoscalers")
        #expect(warnings.count == 1)
        f.clock.advance(300)
        try await f.reconcile("newer")
        let after = log.lines(containing: "not scaling", "podautoscaler=default/newer", "MultiplePodAutoscalers")
        #expect(after.count == 2)
        #expect(after.last?.contains("repeated=29") == true, "\(after.last ?? "")")
    }

    @Test func logThrottleIgnoresURLQueriesAndWritesChangesAtOnce() {
        let t = LogThrottle(interval: 30)
        let start = Date(timeIntervalSince1970: 0)
        let watch = { (timeout: Int) in "connection refused: GET http://127.0.0.1:6443/api/v1/pods?watch=true&timeoutSeconds=\(timeout) failed" }
        #expect(t.check(subject: "pods", reason: "ListWatch", message: watch(301), now: start) == .write(suppressed: 0))
        #expect(t.check(subject: "pods", reason: "ListWatch", message: watch(457), now: start.addingTimeInterval(1)) == .suppress)
        #expect(t.check(subject: "pods", reason: "ListWatch", message: watch(599), now: start.addingTimeInterval(2)) == .suppress)
        #expect(t.check(subject: "pods", reason: "ListWatch", message: watch(312), now: start.addingTimeInterval(31)) == .write(suppressed: 2))
        // Another message for the same subject and reason: the situation changed, write it now.
        #expect(t.check(subject: "pods", reason: "ListWatch", message: "403 Forbidden", now: start.addingTimeInterval(32)) == .write(suppressed: 0))
        // Another subject is independent.
        #expect(t.check(subject: "leases", reason: "ListWatch", message: watch(1), now: start.addingTimeInterval(32)) == .write(suppressed: 0))
        #expect(LogThrottle.normalized(watch(7)) == "connection refused: GET http://127.0.0.1:6443/api/v1/pods failed")
        t.forget(subject: "pods")
        #expect(t.count == 1)
    }

    /// An older PodAutoscaler with an invalid spec owned the target, so the valid one was told another
    /// PodAutoscaler scaled it. An invalid one scales nothing and owns nothing.
    @Test func anInvalidAutoscalerDoesNotBlockAValidOne() async throws {
        let f = try await ReconcilerFixture.start()
        defer { Task { await f.stop() } }
        try await f.createDeployment(replicas: 2)
        await f.metrics.set([20, 20])
        // minReplicas above maxReplicas: the CRD's CEL rule refuses it on a real server; the emulator does not
        // evaluate CEL, and an object can exist from before the rule anyway. Seeded directly.
        _ = try f.emulator.apply(try YAML.load(autoscalerYAML("broken", strategy: "HPA", min: 5, max: 2)))
        f.clock.advance(1)
        try await f.createAutoscaler(autoscalerYAML("valid", strategy: "HPA", target: "10"))
        try await f.reconcile("broken")
        let broken = try await f.condition("broken", "ValidSpec")
        #expect(broken?.status == .isFalse && broken?.reason == "InvalidSpec")
        #expect(broken?.message.contains("minReplicas") == true)
        try await f.reconcile("valid")
        #expect(try await f.condition("valid", "ValidSpec")?.status == .isTrue)
        #expect(try await f.replicas() == 4)
    }

    /// "no data to scale on yet" was said while every scrape failed; now the message names the failure.
    @Test func failingScrapesAreNamedInsteadOfNoDataYet() async throws {
        let f = try await ReconcilerFixture.start(replicas: 2, autoscaler: autoscalerYAML("pa", strategy: "KPA", extra: "  tickSeconds: 2"),
                                                  values: [nil, nil])
        defer { Task { await f.stop() } }
        try await f.reconcile("pa")
        #expect(try await f.replicas() == 2)
        let active = try await f.condition("pa", "ScalingActive")
        #expect(active?.status == .isFalse && active?.reason == "FailedGetMetrics")
        #expect(active?.message.contains("metrics are failing") == true, "\(active?.message ?? "")")
        #expect(active?.message.contains("connection refused") == true)
        let events = try await f.events("pa")
        #expect(events.contains { $0.reason == "FailedComputeMetricsReplicas" && $0.note.contains("metrics are failing") })
        #expect(!events.contains { $0.note.contains("no data to scale on yet") })
    }
}
