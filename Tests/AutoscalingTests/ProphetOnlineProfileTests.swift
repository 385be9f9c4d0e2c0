import Foundation
import KubeAPI
import Testing
@testable import Autoscaling

/// SplitMix64 with a Box–Muller normal, so the noisy series reproduce from their seed.
struct NoiseSource {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
    mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-12), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

@Suite struct ProphetPredictorTests {
    /// A synthetic series with known coefficients: level + slope·t (+ a slope change at `change`) +
    /// a·sin + b·cos of the first harmonic + c·sin of the second, over a season of `period` points.
    struct Series: Sendable, CustomTestStringConvertible {
        var name: String
        var level: Double, slope: Double, a: Double, b: Double, c: Double
        var period: Int
        var change: Int? = nil
        var newSlope = 0.0
        var noise: Double
        /// Largest forecast error allowed over the 12 steps after the fit, relative to the level.
        var bound: Double
        var testDescription: String { name }
        func truth(_ t: Int) -> Double {
            var trend = level + slope * Double(t)
            if let change, t > change { trend += (newSlope - slope) * Double(t - change) }
            let w = 2 * Double.pi * Double(t) / Double(period)
            return trend + a * sin(w) + b * cos(w) + c * sin(2 * w)
        }
    }

    static let cases: [Series] = [
        Series(name: "season only", level: 100, slope: 0, a: 40, b: 10, c: 0, period: 24, noise: 0, bound: 0.01),
        Series(name: "trend + two harmonics, noisy", level: 100, slope: 0.5, a: 30, b: -10, c: 8, period: 24, noise: 2, bound: 0.05),
        Series(name: "trend change at 2/3", level: 200, slope: 1, a: 50, b: 0, c: 0, period: 24, change: 48, newSlope: -0.5, noise: 3, bound: 0.11),
        Series(name: "compressed day, 60 points a season", level: 8, slope: 0, a: 6, b: 0, c: 0, period: 60, noise: 0.3, bound: 0.10),
    ]

    @Test(arguments: cases)
    func recoversTrendAndSeason(_ s: Series) throws {
        var rng = NoiseSource(seed: 42)
        let n = 3 * s.period
        let values = (0..<n).map { s.truth($0) + s.noise * rng.normal() }
        let model = try #require(ProphetLikeModel(values: values, firstIndex: 0, period: s.period))
        for h in 1...12 {
            let error = abs(model.forecast(steps: h) - s.truth(n - 1 + h))
            #expect(error <= s.bound * s.level, "h=\(h): forecast \(model.forecast(steps: h)), truth \(s.truth(n - 1 + h))")
        }
        if s.change == nil {
            // The trend's slope is the known one (the season's average slope is zero over whole seasons).
            #expect(abs(model.finalSlopePerInterval - s.slope) <= 0.05 * max(1, abs(s.slope)) + 3 * s.noise / Double(n))
        }
    }

    /// Through `LoadPredictor`: a window shorter than the history keeps the season's phase (absolute index), and
    /// `predict(ahead:)` forecasts the horizon; other kinds answer their one-step forecast for any horizon.
    @Test func loadPredictorKeepsPhaseAcrossTheWindow() {
        let s = Series(name: "", level: 100, slope: 0.2, a: 40, b: 0, c: 0, period: 24, noise: 0, bound: 0)
        var prophet = LoadPredictor(kind: .prophet, window: 60, seasonLength: 24)
        var constant = LoadPredictor(kind: .constant, window: 60, seasonLength: 24)
        for t in 0..<100 {
            prophet.observe(s.truth(t))
            constant.observe(s.truth(t))
        }
        #expect(prophet.count == 60)
        for h in [1, 3, 6] {
            #expect(abs(prophet.predict(ahead: h) - s.truth(99 + h)) < 1.5, "h=\(h)")
        }
        #expect(abs(prophet.predict() - s.truth(100)) < 1.5)
        #expect(constant.predict(ahead: 6) == s.truth(99))
        #expect(LoadPredictor.Kind(name: "prophet") == .prophet)
    }
}

@Suite struct OnlineProfileTests {
    /// Pairs from `L = L₀ / (1 − x/c)` (M/M/1-like: `1/L = 1/L₀ − x/(L₀·c)`) with multiplicative noise; the
    /// throughput at a target `L*` is `c·(1 − L₀/L*)`.
    struct Relation: Sendable, CustomTestStringConvertible {
        var name: String
        var idle: Double, capacity: Double, target: Double, noise: Double
        var loads: ClosedRange<Double>
        var tolerance: Double
        var testDescription: String { name }
        var expected: Double { capacity * (1 - idle / target) }
    }

    static let relations: [Relation] = [
        Relation(name: "prefill TTFT, 5 % noise", idle: 300, capacity: 2400, target: 1000, noise: 0.05, loads: 200...1800, tolerance: 0.05),
        Relation(name: "decode ITL, 3 % noise", idle: 20, capacity: 150, target: 60, noise: 0.03, loads: 20...110, tolerance: 0.05),
        Relation(name: "noisier, narrow loads", idle: 100, capacity: 1000, target: 250, noise: 0.10, loads: 300...700, tolerance: 0.12),
    ]

    @Test(arguments: relations)
    func recoversThroughputAtTarget(_ r: Relation) throws {
        var rng = NoiseSource(seed: 7)
        var estimator = OnlineCapacityEstimator()
        for _ in 0..<64 {
            let x = r.loads.lowerBound + (r.loads.upperBound - r.loads.lowerBound) * rng.uniform()
            let latency = r.idle / (1 - x / r.capacity) * (1 + r.noise * rng.normal())
            estimator.observe(load: x, latencyMilliseconds: latency)
        }
        let answer = try #require(estimator.throughput(atLatency: r.target))
        #expect(answer.method.hasPrefix("fit"))
        #expect(abs(answer.value - r.expected) <= r.tolerance * r.expected, "got \(answer.value), expected \(r.expected)")
    }

    @Test func unidentifiedLineFallsBackToWhatThePoolShowed() throws {
        var flat = OnlineCapacityEstimator()
        #expect(flat.throughput(atLatency: 100) == nil)
        // Latency that falls as load grows (warming up): no line; the largest load seen within the target.
        for (x, l) in [(100.0, 150.0), (200, 60), (300, 50), (400, 50)] { flat.observe(load: x, latencyMilliseconds: l) }
        #expect(flat.fit == nil)
        let answer = try #require(flat.throughput(atLatency: 100))
        #expect(answer.value == 400)
        #expect(answer.method == "max seen within target")
        // Far beyond the loads seen, the fitted line is capped at 1.5× the largest.
        var steep = OnlineCapacityEstimator()
        for x in stride(from: 100.0, through: 400, by: 50) { steep.observe(load: x, latencyMilliseconds: 10 / (1 - x / 100_000)) }
        let capped = try #require(steep.throughput(atLatency: 1000))
        #expect(capped.value == 600)
        #expect(capped.method.contains("capped"))
    }

    /// The SLA planner without a profile learns from the observations and sizes both pools from the learned
    /// throughput; before any pair it holds.
    @Test func plannerWithoutProfileLearnsAndPlans() throws {
        var spec = SLASpec()
        spec.adjustmentIntervalSeconds = 60
        spec.ttftMilliseconds = 1000
        spec.itlMilliseconds = 60
        spec.loadPredictor = "constant"
        #expect(SLAPlanner.validate(spec).isEmpty)
        let planner = SLAPlanner(spec: spec, profile: nil)
        var state = SLAState()
        var rng = NoiseSource(seed: 3)
        var last: SLADecision?
        for i in 0..<30 {
            // 4 prefill and 4 decode replicas; the load swings, the latency follows the known relations.
            let rate = 5 + 4 * sin(Double(i) / 3)
            let prefillPerGPU = rate * 1000 / 4, decodePerGPU = rate * 200 / 4
            let obs = SLAObservation(
                numRequests: rate * 60, avgISL: 1000, avgOSL: 200,
                ttftMilliseconds: 300 / (1 - prefillPerGPU / 4000) * (1 + 0.03 * rng.normal()),
                itlMilliseconds: 20 / (1 - decodePerGPU / 600) * (1 + 0.03 * rng.normal()),
                intervalSeconds: 60, prefillReplicas: 4, decodeReplicas: 4)
            let d = planner.decide(obs, state: &state, now: refTime.addingTimeInterval(Double(i) * 60))
            if i == 0 { #expect(d.limitedBy == nil || d.limitedBy == .noData) }
            last = d
        }
        let d = try #require(last)
        // Learned: prefill 4000·(1 − 0.3) = 2800 tok/s/GPU, decode 600·(1 − 1/3) = 400 tok/s/GPU.
        let rate = 5 + 4 * sin(29.0 / 3)
        #expect(abs(Double(d.prefillReplicas) - rate * 1000 / 2800) < 1.2)
        #expect(abs(Double(d.decodeReplicas) - rate * 200 / 400) < 1.2)
        #expect(d.reason.contains("online profile"))
        #expect(state.learned?.prefill.pairs.count == 30)
    }
}
