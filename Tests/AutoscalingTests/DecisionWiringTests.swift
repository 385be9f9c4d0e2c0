import Foundation
import Testing
import KubeAPI
@testable import Autoscaling

/// `Autoscaler.decide` dispatching to the P/D and calendar strategies, and schedule bounds on any strategy.
@Suite struct DecisionWiringTests {
    static func pdSpec(_ strategy: String, min: Int = 2, max: Int = 100, configure: (inout PodAutoscalerSpec) -> Void = { _ in }) -> PodAutoscalerSpec {
        var spec = PodAutoscalerSpec(
            scaleTargetRef: CrossVersionObjectReference(apiVersion: "heteroscale.io/v1alpha1", kind: "DeploymentGroup", name: "llama"),
            minReplicas: min, maxReplicas: max, scalingStrategy: strategy)
        configure(&spec)
        return spec
    }

    static func pdSnapshot(prefill: Int, decode: Int, signals: [String: Double]) -> ScalingSnapshot {
        ScalingSnapshot(
            currentReplicas: prefill + decode, readyReplicas: prefill + decode,
            roles: [RoleSnapshot(name: "prefill", weight: 1, current: prefill, ready: prefill),
                    RoleSnapshot(name: "decode", weight: 3, current: decode, ready: decode)],
            signals: signals)
    }

    static func heteroScale(_ target: Double = 1000) -> (inout PodAutoscalerSpec) -> Void {
        { spec in
            var hs = HeteroScaleSpec()
            hs.targetDecodeTPSPerInstance = target
            spec.heteroScale = hs
        }
    }

    @Test func heteroScaleMovesBothRolesTogether() throws {
        let spec = Self.pdSpec("HeteroScale", configure: Self.heteroScale())
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: Self.pdSnapshot(prefill: 1, decode: 3, signals: [Signal.decodeTPS: 8000]), state: &state, now: refTime)
        #expect(d.scalingActive)
        #expect(d.desiredReplicas == 8)
        #expect(d.replicas(ofRole: "prefill") == 2)
        #expect(d.replicas(ofRole: "decode") == 6)
        #expect(d.details.strategy == "HeteroScale")
        #expect(d.details.metricValues[Signal.decodeTPS] == 8000)
        #expect(state.heteroScale?.lastScaleOutTime == refTime)
    }

    @Test func heteroScaleWithoutDecodeTPSHolds() {
        let spec = Self.pdSpec("HeteroScale", configure: Self.heteroScale())
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: Self.pdSnapshot(prefill: 1, decode: 3, signals: [:]), state: &state, now: refTime)
        #expect(!d.scalingActive)
        #expect(d.desiredReplicas == 4)
    }

    @Test func heteroScaleSpecIssuesNameTheField() {
        let spec = Self.pdSpec("HeteroScale")
        let issues = Autoscaler.validate(spec)
        #expect(issues.contains { $0.field == "spec.heteroScale.targetDecodeTPSPerInstance" })
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: Self.pdSnapshot(prefill: 1, decode: 3, signals: [Signal.decodeTPS: 8000]), state: &state, now: refTime)
        #expect(d.activeCondition.reason == .invalidSpec)
        #expect(d.desiredReplicas == 4)
    }

    /// Property: the split of a HeteroScale decision is within one instance of the weights' ideal share, and
    /// both roles move in the same direction.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func heteroScaleRatioErrorAtMostOneInstance(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let spec = Self.pdSpec("HeteroScale", min: 2, max: 400, configure: Self.heteroScale(500))
        var state = AutoscalerState()
        var prefill = 1, decode = 3
        var time = 0.0
        for _ in 0..<200 {
            time += Double(Int.random(in: 30...900, using: &rng))
            let tps = Double.random(in: 0...60_000, using: &rng)
            let d = Autoscaler.decide(spec: spec, snapshot: Self.pdSnapshot(prefill: prefill, decode: decode, signals: [Signal.decodeTPS: tps]), state: &state, now: after(time))
            guard d.scalingActive, let p = d.replicas(ofRole: "prefill"), let q = d.replicas(ofRole: "decode") else { continue }
            #expect(p + q == d.desiredReplicas)
            #expect(d.desiredReplicas >= 2 && d.desiredReplicas <= 400)
            #expect(abs(Double(p) - Double(p + q) * 0.25) <= 1, "\(d.reason)")
            #expect(!(p > prefill && q < decode) && !(p < prefill && q > decode), "\(d.reason)")
            prefill = p
            decode = q
        }
    }

    @Test func periodicFollowsTheCalendar() {
        let spec = makeSpec("Periodic", min: 1, max: 20) { spec in
            var allDay = ScheduleSpec(start: "00:00", end: "00:00")
            allDay.replicas = 7
            spec.schedules = [allDay]
        }
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 2, total: nil, target: 10), state: &state, now: refTime)
        #expect(d.desiredReplicas == 7)
        #expect(d.details.strategy == "Periodic")
    }

    @Test func periodicNeedsSchedules() {
        #expect(Autoscaler.validate(makeSpec("Periodic")).contains { $0.field == "spec.schedules" })
    }

    @Test func scheduleBoundsApplyToOtherStrategies() {
        let spec = makeSpec("KPA", min: 1, max: 20) { spec in
            var floor = ScheduleSpec(start: "00:00", end: "00:00")
            floor.name = "business"
            floor.minReplicas = 6
            spec.schedules = [floor]
        }
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 1, total: 10, target: 10), state: &state, now: refTime)
        #expect(d.desiredReplicas == 6)
        #expect(d.limit == .scheduleBound)
        #expect(d.reason.contains("business"))
    }

    @Test func invalidScheduleIsNamed() {
        let spec = makeSpec("KPA") { $0.schedules = [ScheduleSpec(start: "25:00", end: "26:00")] }
        #expect(Autoscaler.validate(spec).contains { $0.field.hasPrefix("spec.schedules[0]") })
    }

    @Test func latencyBaselineStepsOnTBT() {
        let spec = makeSpec("Latency", min: 1, max: 20) { spec in
            var hs = HeteroScaleSpec()
            var latency = LatencyFeedbackSpec()
            latency.tbtSLOMilliseconds = 50
            hs.latency = latency
            spec.heteroScale = hs
            spec.metricsSources = nil
        }
        #expect(Autoscaler.validate(spec).isEmpty)
        var state = AutoscalerState()
        var snap = totalSnapshot(current: 4, total: nil, target: 10)
        snap.signals[Signal.tbtP90Milliseconds] = 80
        let d = Autoscaler.decide(spec: spec, snapshot: snap, state: &state, now: refTime)
        #expect(d.desiredReplicas == 6)
        snap.signals = [:]
        let hold = Autoscaler.decide(spec: spec, snapshot: snap, state: &state, now: after(2))
        #expect(!hold.scalingActive)
        #expect(hold.desiredReplicas == 4)
    }

    @Test func latencyNeedsAnSLO() {
        #expect(Autoscaler.validate(makeSpec("Latency")).contains { $0.field == "spec.heteroScale.latency.tbtSLOMilliseconds" })
    }

    static func slaSpec(advisory: Bool = false) -> (inout PodAutoscalerSpec) -> Void {
        { spec in
            var sla = SLASpec()
            sla.loadPredictor = "constant"
            sla.advisory = advisory
            var profile = SLAProfileSpec()
            profile.interpolation = "linear"
            profile.prefill = [
                PrefillProfilePoint(isl: 1000, ttftMilliseconds: 100, throughputPerGPU: 10_000),
                PrefillProfilePoint(isl: 3000, ttftMilliseconds: 300, throughputPerGPU: 9_000),
            ]
            profile.decode = [
                DecodeProfilePoint(kvUsage: 0.2, context: 2100, itlMilliseconds: 20, throughputPerGPU: 500),
                DecodeProfilePoint(kvUsage: 0.5, context: 2100, itlMilliseconds: 40, throughputPerGPU: 1000),
                DecodeProfilePoint(kvUsage: 0.8, context: 2100, itlMilliseconds: 70, throughputPerGPU: 1300),
            ]
            sla.profile = profile
            spec.sla = sla
        }
    }

    static let slaSignals: [String: Double] = [
        Signal.numRequests: 20, Signal.averageISL: 2000, Signal.averageOSL: 200, Signal.ttftMilliseconds: 200,
        Signal.itlMilliseconds: 40, Signal.intervalSeconds: 180, Signal.decodeKVUsage: 0.5,
    ]

    @Test func slaPlannerSizesBothRoles() {
        let spec = Self.pdSpec("SLA", configure: Self.slaSpec())
        #expect(Autoscaler.validate(spec).isEmpty)
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: Self.pdSnapshot(prefill: 1, decode: 3, signals: Self.slaSignals), state: &state, now: refTime)
        #expect(d.replicas(ofRole: "prefill") == 5)
        #expect(d.replicas(ofRole: "decode") == 4)
        #expect(d.desiredReplicas == 9)
        #expect(d.details.predicted == 3600)
        #expect(state.sla?.lastPlanTime == refTime)
    }

    @Test func slaAdvisoryReportsWithoutActing() {
        let spec = Self.pdSpec("SLA", configure: Self.slaSpec(advisory: true))
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: Self.pdSnapshot(prefill: 1, decode: 3, signals: Self.slaSignals), state: &state, now: refTime)
        #expect(d.desiredReplicas == 4)
        #expect(d.ableToScale.reason == .advisory)
        #expect(d.details.extra["prefillReplicas"] == 5)
    }

    @Test func slaWithoutAProfileLearnsIt() {
        // No profile is valid: the planner learns it online (OnlineProfileTests); a bad inline one is still named.
        #expect(Autoscaler.validate(Self.pdSpec("SLA")).isEmpty)
        var bad = Self.pdSpec("SLA")
        bad.sla = SLASpec()
        bad.sla?.profile = SLAProfileSpec()
        #expect(Autoscaler.validate(bad).contains { $0.field.hasPrefix("spec.sla.profile") })
    }

    @Test func boundsReapportionPDDecisions() {
        let spec = Self.pdSpec("HeteroScale", min: 2, max: 6, configure: Self.heteroScale())
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: Self.pdSnapshot(prefill: 1, decode: 3, signals: [Signal.decodeTPS: 20_000]), state: &state, now: refTime)
        #expect(d.desiredReplicas == 6)
        #expect(d.limit == .tooManyReplicas)
        #expect((d.roleReplicas ?? []).reduce(0) { $0 + $1.replicas } == 6)
    }
}
