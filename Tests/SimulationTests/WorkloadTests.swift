import Foundation
import Testing

@testable import Simulation

@Suite struct RandomTests {
    @Test func splitMix64ReferenceVector() {
        // Reference outputs for seed 1234567 (Vigna's splitmix64.c).
        var g = SplitMix64(seed: 1_234_567)
        #expect(
            (0..<5).map { _ in g.next() } == [
                6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
            ])
    }

    @Test func sameSeedSameSequence() {
        var a = SimRandom(seed: 42)
        var b = SimRandom(seed: 42)
        var c = SimRandom(seed: 43)
        let xs = (0..<100).map { _ in a.next() }
        #expect(xs == (0..<100).map { _ in b.next() })
        #expect(xs != (0..<100).map { _ in c.next() })
    }

    @Test func uniformAndBelowStayInRange() {
        var g = SimRandom(seed: 7)
        var sum = 0.0
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 {
            let u = g.uniform()
            #expect(u >= 0 && u < 1)
            sum += u
            counts[g.below(6)] += 1
        }
        #expect(abs(sum / 60_000 - 0.5) < 0.01)
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
    }
}

@Suite struct GeneratorTests {
    static let sizes = TokenSizes.constant(prompt: 100, output: 10)

    @Test func seededDeterminism() {
        let pattern = ArrivalPattern.flashCrowd(
            base: .diurnal(peakRate: 20, peakToTrough: 4, period: 600, peakAt: 300), factor: 3, start: 100,
            duration: 50)
        let sizes = TokenSizes.lognormal(
            prompt: .init(mean: 1154.7, median: 1020, min: 1, max: 14_050),
            output: .init(mean: 211.1, median: 129, min: 1, max: 1000))
        let a = Array(SyntheticWorkload(pattern: pattern, sizes: sizes, duration: 600, seed: 1))
        let b = Array(SyntheticWorkload(pattern: pattern, sizes: sizes, duration: 600, seed: 1))
        let c = Array(SyntheticWorkload(pattern: pattern, sizes: sizes, duration: 600, seed: 2))
        #expect(a.count > 1000)
        #expect(a == b)
        #expect(a != c)
        #expect(a.map(\.id) == Array(0..<a.count))
        #expect(zip(a, a.dropFirst()).allSatisfy { $0.arrival <= $1.arrival })
        #expect(a.allSatisfy { $0.arrival < 600 && (1...14_050).contains($0.promptTokens) })
    }

    @Test(arguments: [0.5, 5.0, 50.0])
    func poissonRate(_ rate: Double) {
        let duration = 100_000 / rate
        let requests = Array(
            SyntheticWorkload(pattern: .constant(rate: rate), sizes: Self.sizes, duration: duration, seed: 9))
        // ~100,000 arrivals: the count's standard deviation is ~316 (0.32 %); allow 4σ.
        #expect(abs(Double(requests.count) - 100_000) < 1_300)
        // Inter-arrival times are exponential: coefficient of variation 1.
        let gaps = zip(requests, requests.dropFirst()).map { $1.arrival - $0.arrival }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        let variance = gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(gaps.count)
        #expect(abs(mean * rate - 1) < 0.013)
        #expect(abs(variance.squareRoot() / mean - 1) < 0.02)
    }

    @Test func flashCrowdMultipliesTheRateInItsWindow() {
        let pattern = ArrivalPattern.flashCrowd(base: .constant(rate: 10), factor: 5, start: 1000, duration: 200)
        #expect(pattern.rate(at: 999.9) == 10 && pattern.rate(at: 1000) == 50 && pattern.rate(at: 1199.9) == 50)
        #expect(pattern.rate(at: 1200) == 10 && pattern.maxRate == 50)
        let requests = Array(SyntheticWorkload(pattern: pattern, sizes: Self.sizes, duration: 3000, seed: 3))
        let inside = requests.filter { $0.arrival >= 1000 && $0.arrival < 1200 }.count
        let outsideRate = Double(requests.count - inside) / 2800
        let insideRate = Double(inside) / 200
        #expect(abs(outsideRate - 10) < 0.3)  // σ ≈ 0.06
        #expect(abs(insideRate / outsideRate - 5) < 0.3)
    }

    @Test func diurnalPeakToTrough() {
        let pattern = ArrivalPattern.diurnal(peakRate: 40, peakToTrough: 4, period: 1000, peakAt: 250)
        #expect(pattern.rate(at: 250) == 40)
        #expect(abs(pattern.rate(at: 750) - 10) < 1e-12)
        #expect(abs(pattern.rate(at: 1250) - 40) < 1e-12)
        #expect(abs(pattern.meanRate(over: 1000) - 25) < 1e-6)
        // Over 20 compressed days, arrivals within ±25 s of the peak vs of the trough.
        let requests = Array(SyntheticWorkload(pattern: pattern, sizes: Self.sizes, duration: 20_000, seed: 5))
        func phase(_ t: Double) -> Double { t.truncatingRemainder(dividingBy: 1000) }
        let peak = requests.filter { abs(phase($0.arrival) - 250) < 25 }.count
        let trough = requests.filter { abs(phase($0.arrival) - 750) < 25 }.count
        // Expected counts: 20 × ∫ λ over the window (≈ 39.8 × 50 and ≈ 10.2 × 50 per day).
        func expected(_ centre: Double) -> Double {
            (0..<1000).map { pattern.rate(at: centre - 25 + (Double($0) + 0.5) * 0.05) }.reduce(0, +) * 0.05 * 20
        }
        #expect(abs(Double(peak) - expected(250)) < 4 * expected(250).squareRoot())
        #expect(abs(Double(trough) - expected(750)) < 4 * expected(750).squareRoot())
        let ratio = Double(peak) / Double(trough)
        #expect(ratio > 3.5 && ratio < 4.3)
        #expect(abs(Double(requests.count) / 20_000 - 25) < 0.3)
    }

    @Test func quickRiseAndFluctuating() {
        let rise = ArrivalPattern.quickRise(from: 2, to: 20, start: 100, rampDuration: 30)
        #expect(rise.rate(at: 0) == 2 && rise.rate(at: 100) == 2 && rise.rate(at: 115) == 11)
        #expect(rise.rate(at: 130) == 20 && rise.rate(at: 1e6) == 20 && rise.maxRate == 20)
        let step = ArrivalPattern.quickRise(from: 2, to: 20, start: 100, rampDuration: 0)
        #expect(step.rate(at: 99.99) == 2 && step.rate(at: 100) == 20)

        let f = ArrivalPattern.fluctuating(mean: 10, amplitude: 0.5, interval: 60, seed: 11)
        var levels: [Double] = []
        for k in 0..<200 {
            let t = Double(k) * 60
            let level = f.rate(at: t)
            #expect(level >= 5 && level <= 15)
            #expect(f.rate(at: t + 59.9) == level)
            levels.append(level)
        }
        #expect(Set(levels).count > 150)
        #expect(abs(levels.reduce(0, +) / 200 - 10) < 0.6)
        #expect(f == .fluctuating(mean: 10, amplitude: 0.5, interval: 60, seed: 11))
        #expect(ArrivalPattern.fluctuating(mean: 10, amplitude: 0.5, interval: 60, seed: 12).rate(at: 0) != levels[0])

        let wave = ArrivalPattern.piecewise([.init(time: 0, rate: 1), .init(time: 10, rate: 11), .init(time: 20, rate: 1)])
        #expect(wave.rate(at: -5) == 1 && wave.rate(at: 5) == 6 && wave.rate(at: 10) == 11 && wave.rate(at: 15) == 6)
        #expect(wave.rate(at: 99) == 1 && wave.maxRate == 11)
        #expect(ArrivalPattern.scaled(wave, factor: 2).rate(at: 5) == 12)
    }

    @Test func lognormalTokenSizes() {
        let d = TokenSizes.LogNormal(mean: 211.1, median: 129)
        var rng = SimRandom(seed: 21)
        var xs = (0..<200_000).map { _ in d.sample(&rng) }
        xs.sort()
        let mean = Double(xs.reduce(0, +)) / Double(xs.count)
        #expect(abs(mean / 211.1 - 1) < 0.02)
        #expect(abs(Double(xs[xs.count / 2]) - 129) <= 2)
        let clamped = TokenSizes.LogNormal(mean: 211.1, median: 129, min: 10, max: 300)
        let ys = (0..<10_000).map { _ in clamped.sample(&rng) }
        #expect(ys.min() == 10 && ys.max() == 300)
    }

    @Test func empiricalTokenSizesFromATrace() throws {
        let sizes = try TokenSizes.empirical(
            from: try AzureTraceReader(path: Paths.sharedData("AzureLLMInferenceTrace_conv.csv")))
        guard case .empirical(let pairs) = sizes else { Issue.record("not empirical"); return }
        #expect(pairs.count == 19_366)
        var rng = SimRandom(seed: 8)
        var promptSum = 0
        var outputSum = 0
        let n = 100_000
        for _ in 0..<n {
            let p = sizes.sample(&rng)
            promptSum += p.prompt
            outputSum += p.output
        }
        #expect(abs(Double(promptSum) / Double(n) / 1154.7 - 1) < 0.02)
        #expect(abs(Double(outputSum) / Double(n) / 211.1 - 1) < 0.03)
        // Joint pairs: every sample is a row of the trace.
        let rows = Set(pairs)
        #expect((0..<1000).allSatisfy { _ in rows.contains(sizes.sample(&rng)) })
    }
}

@Suite struct TraceOperationTests {
    static func conv() throws -> AzureTraceReader {
        try AzureTraceReader(path: Paths.sharedData("AzureLLMInferenceTrace_conv.csv"))
    }

    @Test func timeScaling() throws {
        var original = try Self.conv().truncated(to: 300)
        var stretched = try Self.conv().timeScaled(by: 2).truncated(to: 600)
        let a = try original.collect()
        let b = try stretched.collect()
        #expect(a.count == b.count && !a.isEmpty)
        #expect(zip(a, b).allSatisfy { $1.arrival == $0.arrival * 2 && $1.promptTokens == $0.promptTokens })
    }

    @Test func truncation() throws {
        var all = try Self.conv()
        let expected = try all.collect().filter { $0.arrival < 600 }
        var truncated = try Self.conv().truncated(to: 600)
        #expect(try truncated.collect() == expected)
        #expect(try truncated.next() == nil)
    }

    @Test(arguments: [2.0, 3.0])
    func integerRateScalingMultipliesCountsExactly(_ factor: Double) throws {
        var base = try Self.conv().truncated(to: 600)
        let original = try base.collect()
        var scaled = try Self.conv().truncated(to: 600).rateScaled(by: factor, seed: 4)
        let out = try scaled.collect()
        #expect(out.count == original.count * Int(factor))
        #expect(out.map(\.id) == Array(0..<out.count))
        #expect(zip(out, out.dropFirst()).allSatisfy { $0.arrival <= $1.arrival })
        #expect(out.map(\.promptTokens).reduce(0, +) == original.map(\.promptTokens).reduce(0, +) * Int(factor))
        #expect(out.last!.arrival <= original.last!.arrival)
    }

    @Test func fractionalRateScalingThins() throws {
        var scaled = try Self.conv().rateScaled(by: 0.5, seed: 4)
        let n = try scaled.collect().count
        // Binomial(19,366, 0.5): σ ≈ 70.
        #expect(abs(n - 9_683) < 300)
        var again = try Self.conv().rateScaled(by: 0.5, seed: 4)
        #expect(try again.collect().count == n)
        var grown = try Self.conv().rateScaled(by: 1.5, seed: 4)
        #expect(abs(try grown.collect().count - 29_049) < 300)
    }

    @Test func concatenation() throws {
        let a = SyntheticWorkload(pattern: .constant(rate: 5), sizes: .constant(prompt: 1, output: 1), duration: 100, seed: 1)
        let b = SyntheticWorkload(pattern: .constant(rate: 5), sizes: .constant(prompt: 2, output: 2), duration: 100, seed: 2)
        let first = Array(a)
        let second = Array(b)
        var joined = a.followed(by: b, gap: 10)
        let out = try joined.collect()
        #expect(out.count == first.count + second.count)
        #expect(out.map(\.id) == Array(0..<out.count))
        #expect(Array(out.prefix(first.count).map(\.arrival)) == first.map(\.arrival))
        let lastA = first.last!.arrival
        #expect(zip(out.suffix(second.count), second).allSatisfy { $0.arrival == $1.arrival + (lastA + 10) && $0.promptTokens == 2 })
        // A trace followed by itself (shifted) stays ordered.
        var twice = try Self.conv().truncated(to: 60).followed(by: try Self.conv().truncated(to: 60))
        let t = try twice.collect()
        #expect(zip(t, t.dropFirst()).allSatisfy { $0.arrival <= $1.arrival })
    }

    @Test func opsComposeLazilyOverAnUnboundedGenerator() throws {
        // No duration: only laziness lets this finish.
        let endless = SyntheticWorkload(pattern: .constant(rate: 100), sizes: .constant(prompt: 1, output: 1), duration: nil, seed: 3)
        var s = endless.timeScaled(by: 0.5).rateScaled(by: 2, seed: 1).shifted(by: 5).truncated(to: 15).eraseToAnyStream()
        let out = try s.collect()
        #expect(abs(out.count - 4000) < 400)  // 100 req/s ×2 (time) ×2 (rate) over 10 s
        #expect(out.allSatisfy { $0.arrival >= 5 && $0.arrival < 15 })
    }
}
