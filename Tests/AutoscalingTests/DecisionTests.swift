import Foundation
import Testing
import KubeAPI
@testable import Autoscaling

@Suite struct DecisionValidationTests {
    struct Invalid: CustomTestStringConvertible, Sendable {
        var field: String
        var mutate: @Sendable (inout PodAutoscalerSpec) -> Void
        var testDescription: String { field }
    }

    @Test(arguments: [
        Invalid(field: "spec.scalingStrategy") { $0.scalingStrategy = "Magic" },
        Invalid(field: "spec.maxReplicas") { $0.maxReplicas = 0 },
        Invalid(field: "spec.minReplicas") { $0.minReplicas = 50; $0.maxReplicas = 10 },
        Invalid(field: "spec.minReplicas") { $0.minReplicas = -1 },
        Invalid(field: "spec.tickSeconds") { $0.tickSeconds = 0 },
        Invalid(field: "spec.metricsSources") { $0.metricsSources = [] },
        Invalid(field: "spec.metricsSources[0].metricSourceType") { $0.metricsSources?[0].metricSourceType = "pods" },
        Invalid(field: "spec.metricsSources[0].targetValue") { $0.metricsSources?[0].targetValue = "lots" },
        Invalid(field: "spec.metricsSources[0].targetValue") { $0.metricsSources?[0].targetValue = "0" },
        Invalid(field: "spec.metricsSources[0].port") { $0.metricsSources?[0].port = "99999" },
        Invalid(field: "spec.metricsSources[0].protocolType") { $0.metricsSources?[0].protocolType = "grpc" },
        Invalid(field: "spec.metricsSources[0].targetMetric") { $0.metricsSources?[0].metricSourceType = "resource" },
        Invalid(field: "spec.metricsSources[0].query") { $0.metricsSources?[0].metricSourceType = "prometheus" },
        Invalid(field: "spec.kpa.maxScaleUpRate") { $0.kpa = KPASpec().with { $0.maxScaleUpRate = 1 } },
        Invalid(field: "spec.kpa.maxScaleDownRate") { $0.kpa = KPASpec().with { $0.maxScaleDownRate = 0.5 } },
        Invalid(field: "spec.kpa.stableWindowSeconds") { $0.kpa = KPASpec().with { $0.stableWindowSeconds = 5 } },
        Invalid(field: "spec.kpa.panicWindowPercentage") { $0.kpa = KPASpec().with { $0.panicWindowPercentage = 0 } },
        Invalid(field: "spec.kpa.panicThresholdPercentage") { $0.kpa = KPASpec().with { $0.panicThresholdPercentage = 100 } },
        Invalid(field: "spec.kpa.scaleDownDelaySeconds") { $0.kpa = KPASpec().with { $0.scaleDownDelaySeconds = -1 } },
        Invalid(field: "spec.kpa.activationScale") { $0.kpa = KPASpec().with { $0.activationScale = 0 } },
        Invalid(field: "spec.kpa.windowAlgorithm") { $0.kpa = KPASpec().with { $0.windowAlgorithm = "median" } },
        Invalid(field: "spec.apa.maxScaleUpRate") { $0.apa = APASpec().with { $0.maxScaleUpRate = 1 } },
        Invalid(field: "spec.apa.downFluctuationTolerance") { $0.apa = APASpec().with { $0.downFluctuationTolerance = 1 } },
        Invalid(field: "spec.apa.windowSeconds") { $0.apa = APASpec().with { $0.windowSeconds = 0 } },
        Invalid(field: "spec.behavior.scaleUp.selectPolicy") { $0.behavior = ScalingBehavior(scaleUp: ScalingRules(selectPolicy: "Most")) },
        Invalid(field: "spec.behavior.scaleDown.stabilizationWindowSeconds") { $0.behavior = ScalingBehavior(scaleDown: ScalingRules(stabilizationWindowSeconds: 4000)) },
        Invalid(field: "spec.behavior.scaleUp.policies[0].type") { $0.behavior = ScalingBehavior(scaleUp: ScalingRules(policies: [ScalingPolicy(type: "Pod", value: 1, periodSeconds: 15)])) },
        Invalid(field: "spec.behavior.scaleUp.policies[0].value") { $0.behavior = ScalingBehavior(scaleUp: ScalingRules(policies: [ScalingPolicy(type: "Pods", value: 0, periodSeconds: 15)])) },
        Invalid(field: "spec.behavior.scaleDown.policies[0].periodSeconds") { $0.behavior = ScalingBehavior(scaleDown: ScalingRules(policies: [ScalingPolicy(type: "Percent", value: 10, periodSeconds: 0)])) },
        Invalid(field: "spec.behavior.scaleDown.tolerance") { $0.behavior = ScalingBehavior(scaleDown: ScalingRules(tolerance: -0.1)) },
    ])
    func issuesNameTheField(_ c: Invalid) {
        var spec = makeSpec("KPA")
        c.mutate(&spec)
        let issues = Autoscaler.validate(spec)
        #expect(issues.contains { $0.field == c.field }, "\(issues)")
    }

    @Test(arguments: ["HPA", "KPA", "APA"])
    func validSpecsHaveNoIssues(_ strategy: String) {
        #expect(Autoscaler.validate(makeSpec(strategy)).isEmpty)
    }

    @Test func invalidSpecKeepsTheCurrentReplicas() {
        var spec = makeSpec("KPA")
        spec.kpa = KPASpec().with { $0.maxScaleUpRate = 0.5 }
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 4, total: 1000, target: 10), state: &state, now: refTime)
        #expect(d.desiredReplicas == 4)
        #expect(!d.scalingActive)
        #expect(d.activeCondition.reason == .invalidSpec)
        #expect(d.reason.contains("spec.kpa.maxScaleUpRate"))
        #expect(state.kpa == nil)
    }

    @Test func tickDefaults() {
        #expect(Autoscaler.tickSeconds(makeSpec("HPA")) == 15)
        #expect(Autoscaler.tickSeconds(makeSpec("KPA")) == 2)
        #expect(Autoscaler.tickSeconds(makeSpec("APA") { $0.tickSeconds = 5 }) == 5)
    }
}

@Suite struct DecisionStateTests {
    @Test func decisionAndStateAreCodable() throws {
        var state = AutoscalerState()
        let spec = makeSpec("KPA") { $0.kpa = KPASpec().with { $0.scaleDownDelaySeconds = 30 } }
        let d = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 2, total: 100, target: 10), state: &state, now: refTime)
        let decoded = try JSONDecoder().decode(Decision.self, from: JSONEncoder().encode(d))
        #expect(decoded == d)
        var restored = try JSONDecoder().decode(AutoscalerState.self, from: JSONEncoder().encode(state))
        #expect(restored == state)
        // A restored state decides exactly like the original.
        var original = state
        let next = totalSnapshot(current: d.desiredReplicas, total: 20, target: 10)
        #expect(Autoscaler.decide(spec: spec, snapshot: next, state: &restored, now: after(2)) ==
                Autoscaler.decide(spec: spec, snapshot: next, state: &original, now: after(2)))
    }

    @Test func hpaRestartNeverScalesDownInABurst() {
        let spec = makeSpec("HPA")
        var state = AutoscalerState.seeded(currentReplicas: 10, now: refTime)
        let low = podSnapshot(current: 10, values: Array(repeating: 1, count: 10), target: 10)
        #expect(Autoscaler.decide(spec: spec, snapshot: low, state: &state, now: after(15)).desiredReplicas == 10)
        #expect(Autoscaler.decide(spec: spec, snapshot: low, state: &state, now: after(299)).desiredReplicas == 10)
        #expect(Autoscaler.decide(spec: spec, snapshot: low, state: &state, now: after(301)).desiredReplicas == 1)
    }

    @Test func kpaRestartStartsInPanicAtTheCurrentCount() {
        let spec = makeSpec("KPA")
        var state = AutoscalerState.seeded(currentReplicas: 10, now: refTime)
        let low = totalSnapshot(current: 10, total: 5, target: 10)
        let first = Autoscaler.decide(spec: spec, snapshot: low, state: &state, now: after(2))
        #expect(first.desiredReplicas == 10)
        #expect(first.details.panic == true)
        #expect(Autoscaler.decide(spec: spec, snapshot: low, state: &state, now: after(60)).desiredReplicas == 10)
        // After a stable window without panic-level load, the rate limit allows halving per step.
        #expect(Autoscaler.decide(spec: spec, snapshot: low, state: &state, now: after(61)).desiredReplicas == 5)
    }

    @Test func lastScaleTimeIsRecorded() {
        var state = AutoscalerState()
        _ = Autoscaler.decide(spec: makeSpec("APA"), snapshot: podSnapshot(current: 1, values: [30], target: 10), state: &state, now: refTime)
        #expect(state.lastScaleTime == refTime)
        #expect(state.lastDesiredReplicas == 2)
    }
}

@Suite struct DecisionPropertyTests {
    static func randomSnapshot(_ rng: inout SplitMix64, current: Int, perPod: Bool) -> ScalingSnapshot {
        let ready = Int.random(in: 0...current, using: &rng)
        if perPod {
            let pods = (0..<Swift.max(current, 1)).map { i -> PodSample in
                let missing = Int.random(in: 0..<10, using: &rng) == 0
                let phase: PodSample.Phase = [.running, .running, .running, .pending, .deleting, .failed].randomElement(using: &rng)!
                return PodSample(name: "p\(i)", value: missing ? nil : Double.random(in: 0...100, using: &rng), ready: i < ready, phase: phase)
            }
            return ScalingSnapshot(currentReplicas: current, readyReplicas: ready, sources: [SourceSnapshot(index: 0, metricName: "m", target: 10, pods: pods)])
        }
        let total = Int.random(in: 0..<8, using: &rng) == 0 ? nil : Double.random(in: 0...2000, using: &rng)
        return ScalingSnapshot(currentReplicas: current, readyReplicas: ready, sources: [SourceSnapshot(index: 0, metricName: "m", target: 10, total: total)])
    }

    struct Scenario: CustomTestStringConvertible, Sendable {
        var strategy: String
        var seed: UInt64
        var behavior: Bool = false
        var testDescription: String { "\(strategy) seed \(seed)\(behavior ? " behavior" : "")" }
    }

    static let scenarios: [Scenario] = ["HPA", "KPA", "APA"].flatMap { s in (1...4).map { Scenario(strategy: s, seed: $0) } }
        + (1...3).map { Scenario(strategy: "HPA", seed: $0, behavior: true) }

    /// Bounds are always respected: every active decision lies in [minReplicas, maxReplicas]; an inactive one
    /// keeps the current count.
    @Test(arguments: scenarios)
    func boundsAlwaysRespected(_ s: Scenario) {
        var rng = SplitMix64(seed: s.seed)
        let minR = Int.random(in: 0...3, using: &rng)
        let maxR = Int.random(in: Swift.max(minR, 1)...30, using: &rng)
        let spec = makeSpec(s.strategy, min: minR, max: maxR, type: s.strategy == "HPA" ? .pod : .pod) {
            if s.behavior { $0.behavior = ScalingBehavior() }
            if s.strategy == "KPA" { $0.kpa = KPASpec().with { $0.scaleDownDelaySeconds = Double(Int.random(in: 0...1, using: &rng) * 20) } }
        }
        var state = AutoscalerState()
        var current = Int.random(in: 0...40, using: &rng)
        var time = 0.0
        for _ in 0..<300 {
            time += Double(Int.random(in: 1...20, using: &rng))
            let snap = Self.randomSnapshot(&rng, current: current, perPod: Bool.random(using: &rng))
            let d = Autoscaler.decide(spec: spec, snapshot: snap, state: &state, now: after(time))
            if d.scalingActive {
                #expect(d.desiredReplicas >= minR && d.desiredReplicas <= maxR, "\(d.reason)")
                current = d.desiredReplicas
            } else {
                #expect(d.desiredReplicas == current || (s.strategy == "HPA" && current == 0))
                if current == 0 { current = minR }
            }
        }
    }

    /// Identical inputs give identical decisions (and identical state).
    @Test(arguments: scenarios)
    func deterministic(_ s: Scenario) throws {
        func run() -> (decisions: [Decision], state: AutoscalerState) {
            var rng = SplitMix64(seed: s.seed)
            let spec = makeSpec(s.strategy, min: 1, max: 50) { if s.behavior { $0.behavior = ScalingBehavior() } }
            var state = AutoscalerState()
            var current = 3
            var out: [Decision] = []
            for i in 0..<200 {
                let snap = Self.randomSnapshot(&rng, current: current, perPod: i % 3 != 0)
                let d = Autoscaler.decide(spec: spec, snapshot: snap, state: &state, now: after(Double(i) * 2))
                if d.scalingActive { current = d.desiredReplicas }
                out.append(d)
            }
            return (out, state)
        }
        let (a, b) = (run(), run())
        #expect(a.decisions == b.decisions)
        #expect(a.state == b.state)
    }
}

extension APASpec {
    func with(_ f: (inout Self) -> Void) -> Self {
        var c = self
        f(&c)
        return c
    }
}

@Suite struct ResolvedConfigTests {
    @Test func resolvesDefaults() throws {
        let config = try Autoscaler.resolve(makeSpec("KPA", min: nil, max: 9, target: "500m")).get()
        #expect(config.strategy == .kpa)
        #expect(config.minReplicas == 1)
        #expect(config.maxReplicas == 9)
        #expect(config.tickSeconds == 2)
        #expect(config.targets == [0.5])
        #expect(config.kpa == KPA.Parameters())
        #expect(config.apa == APA.Parameters())
        #expect(config.scaleUp == HPA.Rules(stabilizationWindowSeconds: 0, policies: [.init(.pods, 4, 15), .init(.percent, 100, 15)]))
        #expect(config.scaleDown == HPA.Rules(stabilizationWindowSeconds: 300, policies: [.init(.percent, 100, 15)]))
    }

    @Test func reportsIssues() {
        #expect(throws: ValidationFailure.self) { try Autoscaler.resolve(makeSpec("Nope")).get() }
    }
}

@Suite struct DecisionMissingDataTests {
    static func twoSources(_ strategy: String) -> PodAutoscalerSpec {
        makeSpec(strategy, max: 50) { $0.metricsSources?.append(MetricSource(metricSourceType: .pod, targetMetric: "other", targetValue: "1")) }
    }

    @Test(arguments: ["KPA", "APA"])
    func aSourceWithoutDataHoldsScaleDowns(_ strategy: String) {
        var state = AutoscalerState()
        state.kpa = KPAState()  // not in the start-up panic, which would hold the count anyway
        let snap = ScalingSnapshot(currentReplicas: 8, readyReplicas: 8, sources: [
            SourceSnapshot(index: 0, metricName: "m", target: 10, total: 10),
            SourceSnapshot(index: 1, metricName: "other", target: 1, total: nil),
        ])
        let d = Autoscaler.decide(spec: Self.twoSources(strategy), snapshot: snap, state: &state, now: refTime)
        #expect(d.desiredReplicas == 8)
        #expect(d.reason.contains("held: no data for other"))
    }

    @Test(arguments: ["KPA", "APA"])
    func aSourceWithoutDataDoesNotBlockScaleUps(_ strategy: String) {
        var state = AutoscalerState()
        let snap = ScalingSnapshot(currentReplicas: 2, readyReplicas: 2, sources: [
            SourceSnapshot(index: 0, metricName: "m", target: 10, total: 200),
            SourceSnapshot(index: 1, metricName: "other", target: 1, total: nil),
        ])
        let d = Autoscaler.decide(spec: Self.twoSources(strategy), snapshot: snap, state: &state, now: refTime)
        #expect(d.desiredReplicas > 2)
    }
}
