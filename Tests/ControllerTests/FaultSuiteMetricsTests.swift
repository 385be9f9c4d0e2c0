import Foundation
import KubeAPI
import KubeClient
import KubeEmulator
import Testing
import TestSupport
import YAML

extension FaultSuite {
    /// A metrics fault on a Deployment's pods: what the first pod does (the second reports 4, below the target
    /// of 10, unless both fail).
    struct MetricsFault: Sendable {
        var name: String
        var mode: String
        var argument: String = ""
        /// Both pods fail (no data at all).
        var allPods = false
        /// Text that the PodAutoscaler's conditions or events must contain (why it holds).
        var why: [String]
    }

    static let metricsFaults: [MetricsFault] = [
        MetricsFault(name: "garbage", mode: "garbage", why: ["FailedGetPodsMetric"]),
        MetricsFault(name: "truncated", mode: "truncated", why: ["FailedGetPodsMetric"]),
        MetricsFault(name: "nan", mode: "raw", argument: "NaN", why: ["is nan"]),
        MetricsFault(name: "posinf", mode: "raw", argument: "+Inf", why: ["is inf"]),
        MetricsFault(name: "neginf", mode: "raw", argument: "-Inf", why: ["is -inf"]),
        MetricsFault(name: "negative", mode: "raw", argument: "-5", why: ["negative"]),
        MetricsFault(name: "huge", mode: "raw", argument: "1e308", why: ["above its range"]),
        MetricsFault(name: "slow", mode: "slow", argument: "3", why: ["FailedGetPodsMetric"]),
        MetricsFault(name: "onefails", mode: "fail", why: ["FailedGetPodsMetric"]),
        MetricsFault(name: "allfail", mode: "fail", allPods: true, why: ["FailedGetPodsMetric", "FailedGetMetrics"]),
    ]

    /// 3. Ten Deployments of 2 pods, one PodAutoscaler each (HPA, target 10, no scale-down window), at the
    /// target; then one pod of each serves a fault (garbage, a truncated body, NaN, ±Inf, −5, 1e308, a scrape
    /// slower than the 1 s timeout, a 500; or both pods fail) while the other reports 4. Read as 0 (or as a
    /// number) the fault would scale down at once; HPA's missing-pod rule (a missing pod counts as at the target
    /// on a scale-down) gives (4 + 10) / 2 = 7 → ⌈2 × 0.7⌉ = 2: hold. Healed, every one scales down to 1.
    @Test func metricsFaultsNeverScaleDown() async throws {
        let cluster = try await ClusterFixture.start { _ in }
        let engines = try await FakeEngines(pods: 24)
        defer { engines.stop(); Task { await cluster.stop() } }
        try await engines.set(10)
        let faults = Self.metricsFaults
        for f in faults {
            try cluster.apply(ClusterFixture.deployment("m-\(f.name)", replicas: 2))
            try cluster.apply(faultAutoscaler(f.name, deployment: "m-\(f.name)", port: engines.port, max: 4))
        }
        var ips: [String: [String]] = [:]
        for f in faults { ips[f.name] = try await cluster.podIPs("m-\(f.name)", count: 2) }
        let controller = try await ControllerProcess(kubeconfig: cluster.kubeconfig, extra: ["--scrape-timeout", "1"])
        defer { controller.stop() }
        await eventually("every PodAutoscaler decided at the target") {
            for f in faults where try await cluster.autoscaler(f.name).status?.desiredScale != 2 { return false }
            return true
        }
        let tally = RequestTally()
        let recorders = Dictionary(uniqueKeysWithValues: faults.map {
            ($0.name, ReplicaRecorder(client: cluster.client, deployment: "m-\($0.name)", tally: tally))
        })
        defer { for r in recorders.values { r.stop() } }

        // Faults on.
        for f in faults {
            let pods = ips[f.name]!
            let bad = f.allPods ? pods : [pods[0]]
            if !f.allPods { try await engines.set(ip: pods[1], 4) }
            for ip in bad {
                if f.mode == "fail" { try await engines.fail(ip: ip) } else { try await engines.mode(ip: ip, f.mode, f.argument) }
            }
        }
        let faultsOn = Date()
        let errors = #"heteroscale_scrape_errors_total{name="slow",namespace="default"}"#
        // Ten ticks of each (the slow scrape takes its 1 s timeout per tick).
        let before = try await controller.metric(Self.reconciled) ?? 0
        await eventually("ten decisions each", seconds: 60) { try await controller.metric(Self.reconciled) ?? 0 >= before + 100 }
        await eventually("the slow scrapes time out") { try await controller.metric(errors) ?? 0 >= 3 }
        let observed = Date().timeIntervalSince(faultsOn)
        var wrong = 0
        var reasons: [String] = []
        for f in faults {
            let r = recorders[f.name]!
            #expect(r.scaleDowns == 0 && r.last == 2, "\(f.name): \(r.values)")
            wrong += r.scaleDowns
            let pa = try await cluster.autoscaler(f.name)
            #expect(pa.status?.desiredScale == 2, "\(f.name): the HPA missing-pod rule holds at 2")
            let conditions = (pa.status?.conditions ?? []).map { "\($0.type)=\($0.status.rawValue) \($0.reason): \($0.message)" }
            let events = try await cluster.events(about: f.name).map { "\($0.reason): \($0.note)" }
            let text = (conditions + events).joined(separator: "\n")
            for why in f.why {
                #expect(text.contains(why), "\(f.name) says why (\(why)):\n\(text)")
            }
            let active = pa.status?.conditions?[type: "ScalingActive"]
            reasons.append("\(f.name): ScalingActive=\(active?.status.rawValue ?? "?")/\(active?.reason ?? "?")")
        }
        #expect(controller.process.process.isRunning)

        // Healed: every pod reports 4 and every PodAutoscaler scales down to 1.
        try await engines.mode("normal")
        for f in faults { for ip in ips[f.name]! { try await engines.fail(ip: ip, false) } }
        try await engines.set(4)
        let healed = Date()
        await eventually("every Deployment scaled down to 1 once healed", seconds: 30) {
            recorders.values.allSatisfy { $0.last == 1 }
        }
        let recovery = Date().timeIntervalSince(healed)

        await report(FaultFigures(
            scenario: "3 metrics faults", load: "10 Deployments × 2 pods: 1 pod at 0.4× target + 1 faulty",
            faults: "garbage, truncated, NaN, +Inf, −Inf, −5, 1e308, slow (3 s > 1 s timeout), 1 pod 500, all pods 500",
            lostUpdates: 0, wrongScaleDowns: wrong, recovery: "\(seconds(recovery)) to scale down once healed",
            details: "held at 2 for \(seconds(observed)) (≥ 10 ticks each); " + reasons.joined(separator: ", ")))
    }
}
