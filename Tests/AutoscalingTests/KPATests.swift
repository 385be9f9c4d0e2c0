import Foundation
import Testing
import KubeAPI
@testable import Autoscaling

/// Knative's reference vectors (pkg/autoscaler/scaling/autoscaler_test.go). Knative's test decider uses
/// max scale-up and scale-down rates of 10; the vectors state other rates explicitly.
@Suite struct KPAScaleTests {
    static func params(up: Double = 10, down: Double = 10, activation: Int = 1, delay: Double = 0, threshold: Double = 2) -> KPA.Parameters {
        KPA.Parameters(panicThreshold: threshold, maxScaleUpRate: up, maxScaleDownRate: down, scaleDownDelaySeconds: delay, activationScale: activation)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var target: Double
        var stable: Double
        var panic: Double
        var ready: Int
        var up: Double = 10
        var down: Double = 10
        var activation: Int = 1
        /// Seconds before now at which panic began, and the panic maximum so far.
        var panicSince: Double? = nil
        var maxPanicPods: Int = 0
        var expected: Int
        var expectPanic: Bool? = nil
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "T10, 50/10, ready 1 → 5", target: 10, stable: 50, panic: 10, ready: 1, expected: 5, expectPanic: false),
        Case(name: "T10, 1000/1001, ready 1 → 10 (max scale-up)", target: 10, stable: 1000, panic: 1001, ready: 1, expected: 10),
        Case(name: "T10, 1/1, ready 100 → 10 (max scale-down)", target: 10, stable: 1, panic: 1, ready: 100, expected: 10),
        Case(name: "T1, 3/3.1, ready 2, up rate 1.1 → 3", target: 1, stable: 3, panic: 3.1, ready: 2, up: 1.1, expected: 3),
        Case(name: "T10, 1/1, ready 100, down rate 1.1 → 90", target: 10, stable: 1, panic: 1, ready: 100, down: 1.1, expected: 90),
        Case(name: "T10, 50/100, ready 1 → 10 (panic)", target: 10, stable: 50, panic: 100, ready: 1, expected: 10, expectPanic: true),
        Case(name: "T1, 50/30, ready 5, in panic with max 5 → 50 (stable larger)", target: 1, stable: 50, panic: 30, ready: 5, panicSince: 5, maxPanicPods: 5, expected: 50, expectPanic: true),
        Case(name: "T1, 20/30, ready 5, in panic with max 5 → 30 (panic larger)", target: 1, stable: 20, panic: 30, ready: 5, panicSince: 5, maxPanicPods: 5, expected: 30, expectPanic: true),
        Case(name: "T10, 50/50, ready 1 → 5 (no change)", target: 10, stable: 50, panic: 50, ready: 1, expected: 5),
        Case(name: "T10, 0/0 → 0 (scale to zero)", target: 10, stable: 0, panic: 0, ready: 1, expected: 0),
        Case(name: "activation 2: stable 0 → 0", target: 10, stable: 0, panic: 0, ready: 1, activation: 2, expected: 0),
        Case(name: "activation 2: stable 1 → 2", target: 10, stable: 1, panic: 0, ready: 1, activation: 2, expected: 2),
    ]

    @Test(arguments: cases)
    func vector(_ c: Case) {
        var state = KPAState(panicTime: c.panicSince.map { after(-$0) }, maxPanicPods: c.maxPanicPods)
        let r = KPA.scale(stable: c.stable, panic: c.panic, target: c.target, readyPods: c.ready,
                          parameters: Self.params(up: c.up, down: c.down, activation: c.activation), state: &state, now: refTime)
        #expect(r.desiredPodCount == c.expected)
        if let p = c.expectPanic { #expect(r.panicking == p) }
    }

    @Test func scaleUpLimitFollowsReadyPods() {
        var state = KPAState()
        let p = Self.params()
        #expect(KPA.scale(stable: 1000, panic: 1001, target: 10, readyPods: 1, parameters: p, state: &state, now: refTime).desiredPodCount == 10)
        #expect(KPA.scale(stable: 1000, panic: 1001, target: 10, readyPods: 10, parameters: p, state: &state, now: refTime).desiredPodCount == 100)
    }

    @Test func scaleDownLimitFollowsReadyPods() {
        var state = KPAState()
        let p = Self.params()
        #expect(KPA.scale(stable: 1, panic: 1, target: 10, readyPods: 100, parameters: p, state: &state, now: refTime).desiredPodCount == 10)
        #expect(KPA.scale(stable: 1, panic: 1, target: 10, readyPods: 10, parameters: p, state: &state, now: refTime).desiredPodCount == 1)
    }

    @Test func scaleDownDelay() {
        var state = KPAState()
        let p = Self.params(threshold: 100).with { $0.scaleDownDelaySeconds = 300 }
        let base = refTime
        func scale(_ v: Double, _ s: Double) -> Int {
            KPA.scale(stable: v, panic: v, target: 10, readyPods: 0, parameters: p, state: &state, now: base.addingTimeInterval(s)).desiredPodCount
        }
        #expect(scale(40, 2) == 4)
        #expect(scale(0, 300) == 4)
        #expect(scale(0, 302) == 0)
        // Gradual: the largest decision of the last 5 minutes holds.
        #expect(scale(40, 540) == 4)
        #expect(scale(30, 600) == 4)
        #expect(scale(0, 660) == 4)
        #expect(scale(0, 840) == 3)
        #expect(scale(0, 900) == 0)
    }

    @Test func scaleDownDelayZeroScalesDownAtOnce() {
        var state = KPAState()
        let p = Self.params(threshold: 100)
        #expect(KPA.scale(stable: 40, panic: 40, target: 10, readyPods: 0, parameters: p, state: &state, now: refTime).desiredPodCount == 4)
        #expect(KPA.scale(stable: 20, panic: 20, target: 10, readyPods: 0, parameters: p, state: &state, now: after(0.5)).desiredPodCount == 2)
        #expect(state.delayWindow == nil)
    }

    @Test func panicThenUnpanic() {
        var state = KPAState()
        let p = Self.params()
        #expect(KPA.scale(stable: 100, panic: 100, target: 10, readyPods: 0, parameters: p, state: &state, now: refTime).desiredPodCount == 10)
        #expect(KPA.scale(stable: 100, panic: 1000, target: 10, readyPods: 10, parameters: p, state: &state, now: refTime).desiredPodCount == 100)
        // Traffic drops: still in panic, no scale-down.
        let during = KPA.scale(stable: 1, panic: 1, target: 10, readyPods: 10, parameters: p, state: &state, now: after(30))
        #expect(during.desiredPodCount == 100)
        #expect(during.panicking)
        // A full stable window later: out of panic.
        let after = KPA.scale(stable: 1, panic: 1, target: 10, readyPods: 10, parameters: p, state: &state, now: after(61))
        #expect(after.desiredPodCount == 1)
        #expect(!after.panicking)
        #expect(state.maxPanicPods == 0)
    }

    @Test func unpanicAfterSlowIncrease() {
        var state = KPAState()
        let p = Self.params()
        #expect(KPA.scale(stable: 11, panic: 25, target: 1, readyPods: 10, parameters: p, state: &state, now: refTime).desiredPodCount == 25)
        #expect(state.panicTime == refTime)
        #expect(KPA.scale(stable: 30, panic: 41, target: 1, readyPods: 40, parameters: p, state: &state, now: after(30)).desiredPodCount == 41)
        #expect(state.panicTime == refTime)
        #expect(KPA.scale(stable: 50, panic: 56, target: 1, readyPods: 55, parameters: p, state: &state, now: after(62)).desiredPodCount == 50)
        #expect(state.panicTime == nil)
    }

    @Test func extendPanicWindow() {
        var state = KPAState()
        let p = Self.params()
        #expect(KPA.scale(stable: 11, panic: 25, target: 1, readyPods: 10, parameters: p, state: &state, now: refTime).desiredPodCount == 25)
        #expect(KPA.scale(stable: 30, panic: 80, target: 1, readyPods: 40, parameters: p, state: &state, now: after(30)).desiredPodCount == 80)
        #expect(state.panicTime == after(30))
    }

    @Test func exponentialTrackAndStabilize() {
        var state = KPAState()
        let p = Self.params()
        #expect(KPA.scale(stable: 6, panic: 6, target: 1, readyPods: 0, parameters: p, state: &state, now: refTime).desiredPodCount == 6)
        #expect(KPA.scale(stable: 36, panic: 36, target: 1, readyPods: 6, parameters: p, state: &state, now: after(1)).desiredPodCount == 36)
        #expect(KPA.scale(stable: 216, panic: 216, target: 1, readyPods: 36, parameters: p, state: &state, now: after(2)).desiredPodCount == 216)
        #expect(KPA.scale(stable: 1296, panic: 1296, target: 1, readyPods: 216, parameters: p, state: &state, now: after(2)).desiredPodCount == 1296)
        #expect(KPA.scale(stable: 1296, panic: 1296, target: 1, readyPods: 1296, parameters: p, state: &state, now: after(3)).desiredPodCount == 1296)
    }

    @Test func newDeciderStartsInPanicAboveOneReadyPod() {
        #expect(KPA.newState(readyPods: 2, now: refTime).panicTime == refTime)
        #expect(KPA.newState(readyPods: 2, now: refTime).maxPanicPods == 2)
        #expect(KPA.newState(readyPods: 1, now: refTime).panicTime == nil)
    }

    @Test func defaults() {
        let p = KPA.Parameters(spec: nil)
        #expect(p.stableWindowSeconds == 60)
        #expect(p.panicWindowSeconds == 6)
        #expect(p.panicThreshold == 2)
        #expect(p.maxScaleUpRate == 1000)
        #expect(p.maxScaleDownRate == 2)
        #expect(p.scaleDownDelaySeconds == 0)
        #expect(p.activationScale == 1)
        #expect(p.algorithm == .linear)
    }

    /// Property: while the decider stays in panic, its decision never goes down.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func neverScalesDownInPanic(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var state = KPAState()
        let p = KPA.Parameters(maxScaleUpRate: 10, maxScaleDownRate: 2)
        var ready = 1
        var previous: (panicking: Bool, desired: Int)?
        var time = 0.0
        for _ in 0..<400 {
            time += Double(Int.random(in: 1...4, using: &rng))
            let stable = Double.random(in: 0...200, using: &rng)
            let panic = Bool.random(using: &rng) ? stable * Double.random(in: 0...4, using: &rng) : stable
            let r = KPA.scale(stable: stable, panic: panic, target: 10, readyPods: ready, parameters: p, state: &state, now: after(time))
            if let previous, previous.panicking, r.panicking {
                #expect(r.desiredPodCount >= previous.desired)
            }
            previous = (r.panicking, r.desiredPodCount)
            ready = Swift.max(0, r.desiredPodCount + Int.random(in: -2...0, using: &rng))
        }
    }
}

@Suite struct KPADecisionTests {
    @Test func perPodSamplesAreSummedNotDividedByTheTarget() {
        // AIBrix regression: 4 pods at 0.8 KV usage with target 0.5 gave 2 (a scale-down under overload).
        let spec = makeSpec("KPA", max: 100, metric: "kv", target: "0.5")
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 4, values: [0.8, 0.8, 0.8, 0.8], target: 0.5, metric: "kv"), state: &state, now: refTime)
        #expect(d.desiredReplicas == 7)
        #expect(d.desiredReplicas > 4)
    }

    @Test func windowsAverageTheTotals() {
        let spec = makeSpec("KPA", max: 100, target: "10") { $0.kpa = KPASpec().with { $0.maxScaleDownRate = 100 } }
        var state = AutoscalerState()
        _ = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 1, total: 100, target: 10), state: &state, now: refTime)
        let d = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 10, total: 0, target: 10), state: &state, now: after(1))
        // Stable 50 → 5; panic 50 → 5.
        #expect(d.details.stableValue == 50)
        #expect(d.desiredReplicas == 10)  // still panicking at the maximum seen (started at 100/1 ≥ 2)
        #expect(d.details.panic == true)
        #expect(d.reason.contains("(panic)"))
    }

    @Test func noDataKeepsTheCurrentCount() {
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: makeSpec("KPA"), snapshot: podSnapshot(current: 3, values: [nil, nil, nil], target: 10), state: &state, now: refTime)
        #expect(!d.scalingActive)
        #expect(d.desiredReplicas == 3)
    }

    @Test func boundsClampTheDecision() {
        var state = AutoscalerState()
        let spec = makeSpec("KPA", min: 2, max: 6)
        let up = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 3, ready: 1, total: 1000, target: 10), state: &state, now: refTime)
        #expect(up.desiredReplicas == 6)
        #expect(up.limit == .tooManyReplicas)
        var state2 = AutoscalerState()
        let down = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 1, ready: 1, total: 0, target: 10), state: &state2, now: refTime)
        #expect(down.desiredReplicas == 2)
        #expect(down.limit == .tooFewReplicas)
    }

    @Test func weightedExponentialWindow() {
        let spec = makeSpec("KPA", max: 100) { $0.kpa = KPASpec().with { $0.windowAlgorithm = "weightedExponential" } }
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: spec, snapshot: totalSnapshot(current: 1, total: 100, target: 10), state: &state, now: refTime)
        let coeff = MetricWindow(windowSeconds: 60, algorithm: .weightedExponential).smoothingCoefficient
        #expect(d.details.stableValue == 100 * coeff)
    }
}

extension KPA.Parameters {
    func with(_ f: (inout Self) -> Void) -> Self {
        var c = self
        f(&c)
        return c
    }
}

extension KPASpec {
    func with(_ f: (inout Self) -> Void) -> Self {
        var c = self
        f(&c)
        return c
    }
}
