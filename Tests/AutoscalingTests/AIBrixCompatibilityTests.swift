import Foundation
import Testing
import KubeAPI
import YAML
@testable import Autoscaling

/// AIBrix PodAutoscalers work by changing `apiVersion` (DESIGN.md §4): fixtures modelled on every sample of
/// vllm-project/aibrix `samples/autoscaling/` and on its annotation docs, each with the typed fields its AIBrix
/// settings become, the settings reported as without effect, and the values refused.
@Suite struct AIBrixCompatibilityTests {
    static func fixture(_ name: String) throws -> PodAutoscaler {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/aibrix").appendingPathComponent(name)
        return try YAML.decode(PodAutoscaler.self, from: try String(contentsOf: url, encoding: .utf8))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var applied: [String]
        var ignored: [String] = []
        var issues: [String] = []
        var testDescription: String { file }
    }

    static let cases: [Case] = [
        Case(file: "apa.yaml", applied: [
            "apa.autoscaling.aibrix.ai/window=30s used as spec.apa.windowSeconds=30",
            "autoscaling.aibrix.ai/down-fluctuation-tolerance=0.2 used as spec.apa.downFluctuationTolerance=0.2",
            "autoscaling.aibrix.ai/up-fluctuation-tolerance=0.1 used as spec.apa.upFluctuationTolerance=0.1",
        ]),
        Case(file: "multimetrics-apa.yaml", applied: [
            "apa.autoscaling.aibrix.ai/window=30s used as spec.apa.windowSeconds=30",
            "autoscaling.aibrix.ai/down-fluctuation-tolerance=0.2 used as spec.apa.downFluctuationTolerance=0.2",
            "autoscaling.aibrix.ai/up-fluctuation-tolerance=0.1 used as spec.apa.upFluctuationTolerance=0.1",
        ]),
        Case(file: "kpa.yaml", applied: ["kpa.autoscaling.aibrix.ai/scale-down-delay=3m used as spec.kpa.scaleDownDelaySeconds=180"]),
        Case(file: "hpa.yaml", applied: []),
        Case(file: "scheduled-bounds-apa.yaml", applied: []),
        Case(file: "generic-annotations-kpa.yaml", applied: [
            "spec.observeWindowSeconds=120 used as spec.kpa.stableWindowSeconds=120",
            "spec.panicWindowSeconds=12 used as spec.kpa.panicWindowPercentage=10",
            "autoscaling.aibrix.ai/max-scale-down-rate=2.0 used as spec.kpa.maxScaleDownRate=2",
            "autoscaling.aibrix.ai/max-scale-up-rate=3.0 used as spec.kpa.maxScaleUpRate=3",
            "autoscaling.aibrix.ai/panic-threshold=2.5 used as spec.kpa.panicThresholdPercentage=250",
            "autoscaling.aibrix.ai/scale-down-cooldown-window=5m used as spec.kpa.scaleDownDelaySeconds=300",
        ], ignored: [
            "autoscaling.aibrix.ai/scale-down-tolerance: KPA has no fluctuation tolerance (KPA follows Knative, which has none)",
            "autoscaling.aibrix.ai/scale-to-zero: scaling to zero is allowed exactly when spec.minReplicas is 0 (as in AIBrix, minReplicas still bounds the result)",
            "autoscaling.aibrix.ai/scale-up-cooldown-window: KPA has no scale-up stabilisation window (KPA and APA react to every window average)",
            "autoscaling.aibrix.ai/scale-up-tolerance: KPA has no fluctuation tolerance (KPA follows Knative, which has none)",
        ]),
        Case(file: "generic-annotations-hpa.yaml", applied: [
            "autoscaling.aibrix.ai/max-scale-down-rate=2.0 used as spec.behavior.scaleDown.policies=[Percent 50 per 60 s]",
            "autoscaling.aibrix.ai/max-scale-up-rate=3.0 used as spec.behavior.scaleUp.policies=[Percent 200 per 60 s]",
            "autoscaling.aibrix.ai/scale-down-tolerance=0.1 used as spec.behavior.scaleDown.tolerance=0.1",
            "autoscaling.aibrix.ai/scale-up-cooldown-window=30s used as spec.behavior.scaleUp.stabilizationWindowSeconds=30",
            "autoscaling.aibrix.ai/scale-up-tolerance=0.2 used as spec.behavior.scaleUp.tolerance=0.2",
        ], ignored: [
            "autoscaling.aibrix.ai/scale-down-cooldown-window: spec.behavior.scaleDown.stabilizationWindowSeconds is set, and the typed field wins",
        ]),
        Case(file: "legacy-kpa.yaml", applied: [
            "kpa.autoscaling.aibrix.ai/stable-window=90s used as spec.kpa.stableWindowSeconds=90",
            "autoscaling.aibrix.ai/max-scale-up-rate=4 used as spec.kpa.maxScaleUpRate=4",
            "kpa.autoscaling.aibrix.ai/panic-threshold=3.0 used as spec.kpa.panicThresholdPercentage=300",
            "kpa.autoscaling.aibrix.ai/panic-window=9s used as spec.kpa.panicWindowPercentage=10",
            "kpa.autoscaling.aibrix.ai/scale-down-delay=1m30s used as spec.kpa.scaleDownDelaySeconds=90",
        ], ignored: [
            "kpa.autoscaling.aibrix.ai/activation-scale: spec.kpa.activationScale is set, and the typed field wins",
            "kpa.autoscaling.aibrix.ai/target-burst-capacity: target burst capacity sizes Knative's activator path, which HeteroScale does not have",
        ]),
        Case(file: "stormservice-pool.yaml", applied: [], ignored: [
            "autoscaling.aibrix.ai/storm-service-mode: StormService is AIBrix's workload; a DeploymentGroup's roles are scaled with subTargetSelector.roleName",
        ]),
        Case(file: "external-metrics-kpa.yaml", applied: ["kpa.autoscaling.aibrix.ai/scale-down-delay=3m used as spec.kpa.scaleDownDelaySeconds=180"], issues: [
            "spec.metricsSources[0].metricSourceType: must be pod, prometheus or resource, got external (AIBrix's external sources read an external or custom metrics API: use a prometheus source with the query behind it)",
        ]),
        Case(file: "malformed.yaml", applied: [], issues: [
            "metadata.annotations[apa.autoscaling.aibrix.ai/window]: \"30 seconds\" is not a duration (Go syntax, e.g. 30s, 5m, 1h30m)",
            "metadata.annotations[autoscaling.aibrix.ai/scale-to-zero]: \"yes\" is not a boolean (true or false)",
            "metadata.annotations[autoscaling.aibrix.ai/scale-up-tolerance]: \"ten\" is not a number",
        ]),
    ]

    @Test(arguments: cases)
    func aibrixSettingsBecomeTypedFields(_ c: Case) throws {
        let pa = try Self.fixture(c.file)
        let r = AIBrixCompatibility.resolve(pa)
        #expect(r.applied.map(\.description) == c.applied)
        #expect(r.ignored.map(\.description) == c.ignored)
        let issues = r.issues + Autoscaler.validate(r.spec)
        #expect(issues.map(\.description) == c.issues)
    }

    /// The resolved fields are what the strategies run with.
    @Test func theStrategiesRunWithTheResolvedParameters() throws {
        let kpa = AIBrixCompatibility.resolve(try Self.fixture("generic-annotations-kpa.yaml")).spec
        let p = KPA.Parameters(spec: kpa.kpa, tickSeconds: kpa.tickSeconds)
        #expect(p.stableWindowSeconds == 120)
        #expect(p.panicWindowSeconds == 12)
        #expect(p.panicThreshold == 2.5)
        #expect(p.maxScaleUpRate == 3)
        #expect(p.scaleDownDelaySeconds == 300)
        let apa = APA.Parameters(spec: AIBrixCompatibility.resolve(try Self.fixture("apa.yaml")).spec.apa)
        #expect(apa == APA.Parameters(upTolerance: 0.1, downTolerance: 0.2, windowSeconds: 30))
        let hpa = AIBrixCompatibility.resolve(try Self.fixture("generic-annotations-hpa.yaml")).spec.behavior
        #expect(hpa?.scaleUp?.policies == [ScalingPolicy(type: "Percent", value: 200, periodSeconds: 60)])
        #expect(hpa?.scaleDown?.stabilizationWindowSeconds == 600)
        #expect(hpa?.scaleUp?.stabilizationWindowSeconds == 30)
    }

    @Test func aibrixScheduleFieldsAreAccepted() throws {
        let schedule = try #require(try Self.fixture("scheduled-bounds-apa.yaml").spec.schedules?.first)
        #expect(schedule.days == ["Mon", "Tue", "Wed", "Thu", "Fri"])
        #expect(schedule.start == "09:00" && schedule.end == "18:00")
        #expect(schedule.timeZone == "America/Los_Angeles")
        #expect(schedule.minReplicas == 4 && schedule.maxReplicas == 12)
        // Encoded with HeteroScale's own names.
        let encoded = try JSONValue(encoding: schedule)
        #expect(encoded["startTime"] == nil && encoded["start"] == "09:00" && encoded["timeZone"] == "America/Los_Angeles")
    }

    /// Go's `time.ParseDuration`, as AIBrix parses its duration annotations.
    @Test(arguments: [
        ("30s", 30.0), ("5m", 300), ("1h30m", 5400), ("1m30s", 90), ("1.5h", 5400), ("300ms", 0.3), ("0", 0), ("-2s", -2), ("2h45m10s", 9910),
    ])
    func goDurations(text: String, seconds: Double) {
        #expect(AIBrixCompatibility.parseGoDuration(text) == seconds)
    }

    @Test(arguments: ["", "30", "s", "30 s", "1d", "5mins", "1..5s", "m5"])
    func malformedGoDurations(text: String) {
        #expect(AIBrixCompatibility.parseGoDuration(text) == nil)
    }
}
