import Foundation
import Testing
import KubeAPI
@testable import Autoscaling

/// Kubernetes' own reference vectors (replica_calculator_test.go, horizontal_test.go).
@Suite struct HPAReplicaCalculatorTests {
    struct ResourceCase: CustomTestStringConvertible, Sendable {
        var name: String
        var current: Int
        var requests: [Double]
        /// CPU in cores; `nil` = no metric for the pod.
        var usage: [Double?]
        var ready: [Bool]? = nil
        var phases: [PodSample.Phase]? = nil
        var target: Double
        var expected: Int
        var testDescription: String { name }

        var pods: [PodSample] {
            requests.indices.map { i in
                PodSample(
                    name: "pod-\(i)", value: i < usage.count ? usage[i] : nil, ready: ready?[i] ?? true,
                    phase: phases?[i] ?? .running, request: requests[i])
            }
        }
    }

    static let resourceCases: [ResourceCase] = [
        ResourceCase(name: "scale up: 300/500/700m of 1.0, target 30% → 5", current: 3, requests: [1, 1, 1], usage: [0.3, 0.5, 0.7], target: 30, expected: 5),
        ResourceCase(name: "scale up, pod0 unready counts as 0 → 4", current: 3, requests: [1, 1, 1], usage: [0.3, 0.5, 0.7], ready: [false, true, true], target: 30, expected: 4),
        ResourceCase(name: "pods 1,2 unready: direction would flip → 3", current: 3, requests: [1, 1, 1], usage: [0.4, 0.5, 0.7], ready: [true, false, false], target: 30, expected: 3),
        ResourceCase(name: "scale down 100/300/500/250/250m, target 50% → 3", current: 5, requests: [1, 1, 1, 1, 1], usage: [0.1, 0.3, 0.5, 0.25, 0.25], target: 50, expected: 3),
        ResourceCase(name: "scale down ignores unready pods → 2", current: 5, requests: [1, 1, 1, 1, 1], usage: [0.1, 0.3, 0.5, 0.25, 0.25], ready: [true, true, true, false, false], target: 50, expected: 2),
        ResourceCase(name: "4 Pending pods, one metric 100m, target 50% → 1", current: 5, requests: [1, 1, 1, 1, 1], usage: [0.1, nil, nil, nil, nil], ready: [true, false, false, false, false], phases: [.running, .pending, .pending, .pending, .pending], target: 50, expected: 1),
        ResourceCase(name: "tolerance: 1010/1030/1020m of .9/1.0/1.1, target 100% → 3", current: 3, requests: [0.9, 1.0, 1.1], usage: [1.01, 1.03, 1.02], target: 100, expected: 3),
        ResourceCase(name: "missing metrics count as 100% on scale-down: 400/95m of 4 → 3", current: 4, requests: [1, 1, 1, 1], usage: [0.4, 0.095], target: 100, expected: 3),
        ResourceCase(name: "missing metric, no change at 100% → 2", current: 2, requests: [1, 1], usage: [1.0], target: 100, expected: 2),
        ResourceCase(name: "deleted and failed pods are ignored → 1", current: 4, requests: [1, 1, 1, 1], usage: [0.1, 0.3, 5, 5], phases: [.running, .running, .deleting, .failed], target: 50, expected: 1),
    ]

    @Test(arguments: resourceCases)
    func resourceUtilisation(_ c: ResourceCase) throws {
        let result = HPA.resourceReplicas(currentReplicas: c.current, pods: c.pods, targetUtilization: c.target)
        let proposal = try result.get()
        #expect(proposal.replicas == c.expected)
    }

    struct PodMetricCase: CustomTestStringConvertible, Sendable {
        var name: String
        var current: Int
        var values: [Double?]
        var phases: [PodSample.Phase]? = nil
        var target: Double
        var expected: Int
        var testDescription: String { name }
    }

    static let podMetricCases: [PodMetricCase] = [
        PodMetricCase(name: "qps 20/10/30, target 15 → 4", current: 3, values: [20, 10, 30], target: 15, expected: 4),
        PodMetricCase(name: "qps 12/12/12/12/12, target 20 → 3", current: 5, values: [12, 12, 12, 12, 12], target: 20, expected: 3),
        PodMetricCase(name: "within tolerance → unchanged", current: 5, values: [20, 19, 21], target: 20, expected: 5),
        PodMetricCase(name: "missing on scale-down filled with the target", current: 4, values: [5, 5, nil, nil], target: 10, expected: 3),
        PodMetricCase(name: "missing on scale-up filled with 0", current: 4, values: [40, 40, nil, nil], target: 10, expected: 8),
        PodMetricCase(name: "pending pods count as 0 when scaling up", current: 4, values: [40, 40, nil, nil], phases: [.running, .running, .pending, .pending], target: 10, expected: 8),
    ]

    @Test(arguments: podMetricCases)
    func podAverageValue(_ c: PodMetricCase) throws {
        let pods = c.values.enumerated().map { PodSample(name: "p\($0.offset)", value: $0.element, phase: c.phases?[$0.offset] ?? .running) }
        let proposal = try HPA.podMetricReplicas(currentReplicas: c.current, pods: pods, targetValue: c.target).get()
        #expect(proposal.replicas == c.expected)
    }

    @Test func noPodsAndNoMetricsAreErrors() {
        #expect(throws: HPA.MetricError.noPods) { try HPA.podMetricReplicas(currentReplicas: 1, pods: [], targetValue: 1).get() }
        #expect(throws: HPA.MetricError.noMetrics) {
            try HPA.podMetricReplicas(currentReplicas: 1, pods: [PodSample(name: "a", value: nil, phase: .pending)], targetValue: 1).get()
        }
        #expect(throws: HPA.MetricError.missingRequest(pod: "a")) {
            try HPA.resourceReplicas(currentReplicas: 1, pods: [PodSample(name: "a", value: 1)], targetUtilization: 50).get()
        }
    }

    struct ValueCase: CustomTestStringConvertible, Sendable {
        var current: Int
        var ready: Int
        var value: Double
        var target: Double
        var expected: Int
        var testDescription: String { "cur \(current) ready \(ready) value \(value)/\(target) → \(expected)" }
    }

    @Test(arguments: [
        ValueCase(current: 1, ready: 1, value: 8.6, target: 4.4, expected: 2),
        ValueCase(current: 5, ready: 5, value: 8.6, target: 4.4, expected: 10),
        ValueCase(current: 5, ready: 3, value: 30, target: 5, expected: 18),
        ValueCase(current: 0, ready: 0, value: 8.6, target: 4.4, expected: 2),
        ValueCase(current: 0, ready: 0, value: 0, target: 4.4, expected: 0),
        ValueCase(current: 4, ready: 4, value: 4.5, target: 4.4, expected: 4),
    ])
    func externalValue(_ c: ValueCase) throws {
        let p = try HPA.valueReplicas(currentReplicas: c.current, value: c.value, targetValue: c.target, readyPods: c.ready).get()
        #expect(p.replicas == c.expected)
    }

    @Test(arguments: [(0.9, true), (1.1, true), (0.89, false), (1.11, false)])
    func tolerance(_ ratio: Double, _ within: Bool) {
        #expect(HPA.Tolerances().isWithin(ratio) == within)
    }

    @Test func perDirectionTolerance() {
        let t = HPA.Tolerances(behavior: ScalingBehavior(scaleUp: ScalingRules(tolerance: 0.5), scaleDown: ScalingRules(tolerance: 0)))
        #expect(t.isWithin(1.4))
        #expect(!t.isWithin(0.99))
    }
}

@Suite struct HPANormalisationTests {
    struct RulesCase: CustomTestStringConvertible, Sendable {
        var current: Int
        var desired: Int
        var min: Int
        var max: Int
        var expected: Int
        var reason: ReasonCode
        var testDescription: String { "(\(current), \(desired), \(min), \(max)) → \(expected) \(reason)" }
    }

    @Test(arguments: [
        RulesCase(current: 3, desired: 1000, min: 1, max: 2000, expected: 6, reason: .scaleUpLimit),
        RulesCase(current: 20, desired: 1000, min: 1, max: 10, expected: 10, reason: .tooManyReplicas),
        RulesCase(current: 3, desired: 1, min: 2, max: 8, expected: 2, reason: .tooFewReplicas),
        RulesCase(current: 1, desired: 3, min: 1, max: 10, expected: 3, reason: .desiredWithinRange),
        RulesCase(current: 1, desired: 10, min: 1, max: 10, expected: 4, reason: .scaleUpLimit),
    ])
    func withoutBehavior(_ c: RulesCase) {
        var state = HPAState()
        let r = HPA.normalizeLegacy(&state, current: c.current, desired: c.desired, minReplicas: c.min, maxReplicas: c.max, now: refTime)
        #expect(r.replicas == c.expected)
        #expect(r.limit.reason == c.reason)
        #expect(r.limit.status == (c.reason != .desiredWithinRange))
    }

    @Test func legacyStabilisationTakesTheMaximumOfTheWindow() {
        var state = HPAState(recommendations: [
            TimestampedRecommendation(time: after(-600), replicas: 10),
            TimestampedRecommendation(time: after(-60), replicas: 4),
            TimestampedRecommendation(time: after(-120), replicas: 5),
            TimestampedRecommendation(time: after(-540), replicas: 9),
        ])
        #expect(HPA.stabilizeLegacy(&state, desired: 3, now: refTime) == 5)
        // The expired slot is reused: the log stays at four entries.
        #expect(state.recommendations.count == 4)
        #expect(state.recommendations.contains(TimestampedRecommendation(time: refTime, replicas: 3)))
    }

    @Test func legacyStabilisationWithOnlyOldRecommendations() {
        var state = HPAState(recommendations: [
            TimestampedRecommendation(time: after(-600), replicas: 10),
            TimestampedRecommendation(time: after(-540), replicas: 9),
        ])
        #expect(HPA.stabilizeLegacy(&state, desired: 3, now: refTime) == 3)
        #expect(state.recommendations.count == 2)
    }

    struct BehaviorCase: CustomTestStringConvertible, Sendable {
        var name: String
        var behavior: ScalingBehavior
        var current: Int
        var desired: Int
        var min: Int = 1
        var max: Int = 1000
        var upEvents: [Int] = []
        var downEvents: [Int] = []
        var expected: Int
        var testDescription: String { name }
    }

    static let behaviorCases: [BehaviorCase] = [
        BehaviorCase(name: "default behavior: 10 → 50 limited to 20", behavior: ScalingBehavior(), current: 10, desired: 50, expected: 20),
        BehaviorCase(
            name: "up Pods 100/60 + Percent 100/60: 10 → 500 limited to 110",
            behavior: ScalingBehavior(scaleUp: ScalingRules(policies: [ScalingPolicy(type: "Pods", value: 100, periodSeconds: 60), ScalingPolicy(type: "Percent", value: 100, periodSeconds: 60)])),
            current: 10, desired: 500, expected: 110),
        BehaviorCase(
            name: "down Pods 20/60 + Percent 1/60: 100 → 2 limited to 80",
            behavior: ScalingBehavior(scaleDown: ScalingRules(stabilizationWindowSeconds: 0, policies: [ScalingPolicy(type: "Pods", value: 20, periodSeconds: 60), ScalingPolicy(type: "Percent", value: 1, periodSeconds: 60)])),
            current: 100, desired: 2, expected: 80),
        BehaviorCase(
            name: "up events {1,5,9} in 120 s, Percent 200/120: 100 → 500 limited to 255",
            behavior: ScalingBehavior(scaleUp: ScalingRules(policies: [ScalingPolicy(type: "Percent", value: 200, periodSeconds: 120)])),
            current: 100, desired: 500, upEvents: [1, 5, 9], expected: 255),
        BehaviorCase(
            name: "down events {2,4,6} in 120 s, Percent 50/120: 100 → 0 limited to 56",
            behavior: ScalingBehavior(scaleDown: ScalingRules(stabilizationWindowSeconds: 0, policies: [ScalingPolicy(type: "Percent", value: 50, periodSeconds: 120)])),
            current: 100, desired: 0, min: 0, downEvents: [2, 4, 6], expected: 56),
        BehaviorCase(
            name: "selectPolicy Min picks the smaller change",
            behavior: ScalingBehavior(scaleUp: ScalingRules(selectPolicy: "Min", policies: [ScalingPolicy(type: "Pods", value: 4, periodSeconds: 60), ScalingPolicy(type: "Percent", value: 100, periodSeconds: 60)])),
            current: 10, desired: 50, expected: 14),
        BehaviorCase(
            name: "selectPolicy Disabled keeps the current count",
            behavior: ScalingBehavior(scaleUp: ScalingRules(selectPolicy: "Disabled")),
            current: 10, desired: 50, expected: 10),
        BehaviorCase(name: "max bound: TooManyReplicas", behavior: ScalingBehavior(), current: 10, desired: 50, max: 15, expected: 15),
    ]

    @Test(arguments: behaviorCases)
    func withBehavior(_ c: BehaviorCase) {
        var state = HPAState()
        // Events spread over the period, all within it.
        for (i, n) in c.upEvents.enumerated() { state.scaleUpEvents.append(TimestampedScaleEvent(time: after(-Double(10 + 40 * i)), replicaChange: n)) }
        for (i, n) in c.downEvents.enumerated() { state.scaleDownEvents.append(TimestampedScaleEvent(time: after(-Double(10 + 40 * i)), replicaChange: n)) }
        let r = HPA.normalizeWithBehavior(&state, behavior: c.behavior, current: c.current, desired: c.desired, minReplicas: c.min, maxReplicas: c.max, now: refTime)
        #expect(r.replicas == c.expected)
        #expect(r.limit.status == (r.replicas != c.desired))
    }

    @Test func behaviorStabilisationWindows() {
        let behavior = ScalingBehavior(
            scaleUp: ScalingRules(stabilizationWindowSeconds: 60),
            scaleDown: ScalingRules(stabilizationWindowSeconds: 300))
        var state = HPAState(recommendations: [
            TimestampedRecommendation(time: after(-30), replicas: 4),
            TimestampedRecommendation(time: after(-200), replicas: 8),
        ])
        // Up: the minimum over the last 60 s (4, 6) bounds from below → 5 stays, 6 → max(5, min(4, 6)) = 5.
        let up = HPA.normalizeWithBehavior(&state, behavior: behavior, current: 5, desired: 6, minReplicas: 1, maxReplicas: 100, now: refTime)
        #expect(up.replicas == 5)
        #expect(up.ableToScale.reason == .scaleUpStabilized)
        // Down: the maximum over the last 300 s (8) holds the current count.
        let down = HPA.normalizeWithBehavior(&state, behavior: behavior, current: 5, desired: 2, minReplicas: 1, maxReplicas: 100, now: after(1))
        #expect(down.replicas == 5)
        #expect(down.ableToScale.reason == .scaleDownStabilized)
    }

    @Test func scaleEventsReuseOutdatedSlots() {
        let behavior = ScalingBehavior(scaleUp: ScalingRules(policies: [ScalingPolicy(type: "Pods", value: 4, periodSeconds: 60)]))
        var state = HPAState()
        HPA.storeScaleEvent(&state, behavior: behavior, previous: 1, new: 3, now: refTime)
        HPA.storeScaleEvent(&state, behavior: behavior, previous: 3, new: 4, now: after(30))
        #expect(state.scaleUpEvents.map(\.replicaChange) == [2, 1])
        HPA.storeScaleEvent(&state, behavior: behavior, previous: 4, new: 9, now: after(90))
        #expect(state.scaleUpEvents.map(\.replicaChange) == [5, 1])
        HPA.storeScaleEvent(&state, behavior: nil, previous: 9, new: 1, now: after(100))
        #expect(state.scaleDownEvents.isEmpty)
    }
}

@Suite struct HPADecisionTests {
    @Test func scalingDisabledAtZeroReplicas() {
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: makeSpec("HPA"), snapshot: podSnapshot(current: 0, values: [], target: 10), state: &state, now: refTime)
        #expect(d.desiredReplicas == 0)
        #expect(!d.scalingActive)
        #expect(d.activeCondition.reason == .scalingDisabled)
    }

    @Test func aboveMaxGoesToMaxAndBelowMinToMin() {
        var state = AutoscalerState()
        let above = Autoscaler.decide(spec: makeSpec("HPA", max: 5), snapshot: podSnapshot(current: 8, values: [1], target: 10), state: &state, now: refTime)
        #expect(above.desiredReplicas == 5)
        #expect(above.limit == .tooManyReplicas)
        let below = Autoscaler.decide(spec: makeSpec("HPA", min: 3), snapshot: podSnapshot(current: 2, values: [100], target: 10), state: &state, now: refTime)
        #expect(below.desiredReplicas == 3)
        #expect(below.limit == .tooFewReplicas)
    }

    @Test func legacyStabilisationHoldsAScaleDown() {
        let spec = makeSpec("HPA")
        var state = AutoscalerState()
        let up = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 2, values: [20, 20], target: 10), state: &state, now: refTime)
        #expect(up.desiredReplicas == 4)
        let held = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 4, values: [1, 1, 1, 1], target: 10), state: &state, now: after(60))
        #expect(held.desiredReplicas == 4)
        #expect(held.ableToScale.reason == .scaleDownStabilized)
        let after = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 4, values: [1, 1, 1, 1], target: 10), state: &state, now: after(301))
        #expect(after.desiredReplicas == 1)
    }

    @Test func externalSourceFromZero() {
        let spec = makeSpec("HPA", min: 0, type: .prometheus, target: "5")
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 0, total: 12, target: 5), state: &state, now: refTime)
        #expect(d.desiredReplicas == 3)
        #expect(d.scalingActive)
    }

    @Test func missingMetricsNeverScaleDown() {
        var spec = makeSpec("HPA")
        spec.metricsSources?.append(MetricSource(metricSourceType: .pod, targetMetric: "other", targetValue: "1"))
        var state = AutoscalerState()
        let snap = ScalingSnapshot(currentReplicas: 4, readyReplicas: 4, sources: [
            SourceSnapshot(index: 0, metricName: "m", target: 10, pods: (0..<4).map { PodSample(name: "p\($0)", value: 1) }),
            SourceSnapshot(index: 1, metricName: "other", target: 1, pods: (0..<4).map { PodSample(name: "p\($0)", value: nil, phase: .pending) }),
        ])
        let d = Autoscaler.decide(spec: spec, snapshot: snap, state: &state, now: refTime)
        #expect(d.desiredReplicas == 4)
        #expect(!d.scalingActive)
        #expect(d.activeCondition.reason == .failedGetMetrics)
    }

    @Test func largestRecommendationWins() {
        var spec = makeSpec("HPA")
        spec.metricsSources?.append(MetricSource(metricSourceType: .pod, targetMetric: "other", targetValue: "1"))
        var state = AutoscalerState()
        let snap = ScalingSnapshot(currentReplicas: 2, readyReplicas: 2, sources: [
            SourceSnapshot(index: 0, metricName: "m", target: 10, pods: [PodSample(name: "a", value: 20), PodSample(name: "b", value: 20)]),
            SourceSnapshot(index: 1, metricName: "other", target: 1, pods: [PodSample(name: "a", value: 1.5), PodSample(name: "b", value: 1.5)]),
        ])
        let d = Autoscaler.decide(spec: spec, snapshot: snap, state: &state, now: refTime)
        #expect(d.desiredReplicas == 4)
        #expect(d.reason.contains("m average 20"))
    }

    @Test func behaviorRecordsScaleEvents() {
        let spec = makeSpec("HPA") { $0.behavior = ScalingBehavior() }
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 10, values: Array(repeating: 50, count: 10), target: 10), state: &state, now: refTime)
        #expect(d.desiredReplicas == 20)
        #expect(d.limit == .scaleUpLimit)
        #expect(state.hpa?.scaleUpEvents.map(\.replicaChange) == [10])
        // The next period starts from 20 - 10 = 10 within 15 s: still at most 20.
        let again = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 20, values: Array(repeating: 50, count: 20), target: 10), state: &state, now: after(5))
        #expect(again.desiredReplicas == 20)
        let later = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 20, values: Array(repeating: 50, count: 20), target: 10), state: &state, now: after(16))
        #expect(later.desiredReplicas == 40)
    }
}
