import Foundation
import Testing
import KubeAPI
@testable import Autoscaling

/// AIBrix APA vectors (T30, tolerances 0.1, rates 2 unless stated).
@Suite struct APATests {
    struct Case: CustomTestStringConvertible, Sendable {
        var current: Int
        var usage: Double
        var target: Double = 30
        var up: Double = 2
        var down: Double = 2
        var expected: Int
        var testDescription: String { "c\(current), U\(usage), T\(target), up \(up), down \(down) → \(expected)" }
    }

    @Test(arguments: [
        Case(current: 2, usage: 45, expected: 3),
        Case(current: 2, usage: 35, expected: 3),
        Case(current: 2, usage: 90, expected: 4),
        Case(current: 2, usage: 90, up: 2.5, expected: 5),
        Case(current: 6, usage: 20, expected: 4),
        Case(current: 6, usage: 18, expected: 4),
        Case(current: 6, usage: 10, expected: 3),
        Case(current: 6, usage: 5, down: 2.5, expected: 2),
        Case(current: 2, usage: 33, expected: 2),
        Case(current: 2, usage: 27, expected: 2),
        Case(current: 1, usage: 10, target: 0, expected: 1),
    ])
    func vector(_ c: Case) {
        let p = APA.Parameters(upTolerance: 0.1, downTolerance: 0.1, maxScaleUpRate: c.up, maxScaleDownRate: c.down)
        #expect(APA.targetReplicas(current: c.current, perPodValue: c.usage, target: c.target, parameters: p) == c.expected)
    }

    @Test func defaults() {
        let p = APA.Parameters(spec: nil)
        #expect(p.upTolerance == 0.1)
        #expect(p.downTolerance == 0.2)
        #expect(p.maxScaleUpRate == 2)
        #expect(p.maxScaleDownRate == 2)
        #expect(p.windowSeconds == 60)
    }

    @Test func failedScrapeIsMissingNotZero() {
        let spec = makeSpec("APA", max: 10, target: "30")
        var state = AutoscalerState()
        // Two pods at 45, one failed scrape: the average is 45, not 30.
        let d = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 3, values: [45, 45, nil], target: 30), state: &state, now: refTime)
        #expect(d.details.stableValue == 45)
        #expect(d.desiredReplicas == 5)
    }

    @Test func windowAveragesOverTime() {
        let spec = makeSpec("APA", max: 10, target: "30")
        var state = AutoscalerState()
        _ = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 2, values: [60, 60], target: 30), state: &state, now: refTime)
        let d = Autoscaler.decide(spec: spec, snapshot: podSnapshot(current: 2, values: [0, 0], target: 30), state: &state, now: after(1))
        #expect(d.details.stableValue == 30)
        #expect(d.desiredReplicas == 2)
    }

    @Test func noDataKeepsTheCurrentCount() {
        var state = AutoscalerState()
        let d = Autoscaler.decide(spec: makeSpec("APA"), snapshot: podSnapshot(current: 3, values: [nil], target: 10), state: &state, now: refTime)
        #expect(!d.scalingActive)
        #expect(d.desiredReplicas == 3)
    }
}
