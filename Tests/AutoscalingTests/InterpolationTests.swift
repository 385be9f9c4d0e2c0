import Testing
@testable import Autoscaling

@Suite("Interpolation")
struct InterpolationTests {
    @Test("exact at the knots", arguments: InterpolationMethod.allCases)
    func exactAtKnots(method: InterpolationMethod) throws {
        var rng = HeteroScaleTestRNG(seed: 11)
        for _ in 0..<50 {
            var x = 0.0
            var xs: [Double] = [], ys: [Double] = []
            for _ in 0..<Int.random(in: 2...12, using: &rng) {
                x += Double.random(in: 0.1...5, using: &rng)
                xs.append(x)
                ys.append(Double.random(in: -100...100, using: &rng))
            }
            let f = try Interpolator(xs: xs, ys: ys, method: method)
            for (xi, yi) in zip(xs, ys) { #expect(abs(f(xi) - yi) <= 1e-9 * max(1, abs(yi))) }
        }
    }

    @Test("monotone cubic keeps monotone data monotone and never overshoots (step data)")
    func monotone() throws {
        // The classic overshoot case for cubic splines: a flat run, a jump, a flat run.
        let xs: [Double] = [0, 1, 2, 3, 4, 5, 6]
        let ys: [Double] = [0, 0, 0, 1, 1, 1, 1]
        let f = try Interpolator(xs: xs, ys: ys, method: .monotoneCubic)
        var previous = -Double.infinity
        for i in 0...600 {
            let v = f(Double(i) / 100)
            #expect(v >= previous - 1e-12)
            #expect(v >= 0 && v <= 1)
            previous = v
        }
        // Flat segments stay exactly flat.
        #expect(f(0.5) == 0)
        #expect(f(4.5) == 1)
    }

    @Test("monotone cubic on random increasing and decreasing data")
    func monotoneRandom() throws {
        var rng = HeteroScaleTestRNG(seed: 99)
        for trial in 0..<40 {
            var x = 0.0, y = 0.0
            var xs: [Double] = [], ys: [Double] = []
            let sign: Double = trial.isMultiple(of: 2) ? 1 : -1
            for _ in 0..<Int.random(in: 3...10, using: &rng) {
                x += Double.random(in: 0.05...3, using: &rng)
                y += sign * (Bool.random(using: &rng) ? 0 : Double.random(in: 0...50, using: &rng))
                xs.append(x)
                ys.append(y)
            }
            let f = try Interpolator(xs: xs, ys: ys)
            var previous = f(xs[0])
            for i in 1...500 {
                let v = f(xs[0] + (xs[xs.count - 1] - xs[0]) * Double(i) / 500)
                #expect(sign * (v - previous) >= -1e-9, "trial \(trial)")
                previous = v
            }
        }
    }

    @Test("linear mode is linear between knots; monotone cubic reproduces a straight line")
    func linearBetween() throws {
        let f = try Interpolator(xs: [0, 10, 30], ys: [0, 100, 120], method: .linear)
        #expect(f(5) == 50)
        #expect(f(20) == 110)
        #expect(f(25) == 115)
        let line = try Interpolator(xs: [0, 1, 3, 7], ys: [1, 3, 7, 15], method: .monotoneCubic)
        for x in stride(from: 0.0, through: 7, by: 0.25) { #expect(abs(line(x) - (1 + 2 * x)) < 1e-12) }
    }

    @Test("outside the knots: clamped by default, or extended along the end tangent")
    func ends() throws {
        let clamp = try Interpolator(xs: [1, 2, 4], ys: [10, 20, 30], method: .linear)
        #expect(clamp(0) == 10)
        #expect(clamp(100) == 30)
        let extend = try Interpolator(xs: [1, 2, 4], ys: [10, 20, 30], method: .linear, extrapolation: .linear)
        #expect(extend(0) == 0) // slope 10 before the first knot
        #expect(extend(6) == 40) // slope 5 after the last
        let cubic = try Interpolator(xs: [0, 1, 2], ys: [0, 1, 2], method: .monotoneCubic, extrapolation: .linear)
        #expect(abs(cubic(3) - 3) < 1e-12)
        #expect(cubic.domain == 0...2)
    }

    @Test("duplicates are averaged, order does not matter, one knot is a constant, bad input throws")
    func edgeCases() throws {
        let f = try Interpolator(xs: [2, 0, 2], ys: [4, 0, 6], method: .linear)
        #expect(f.xs == [0, 2])
        #expect(f(2) == 5)
        #expect(f(1) == 2.5)
        let c = try Interpolator(xs: [3], ys: [7])
        #expect(c(-10) == 7 && c(10) == 7)
        #expect(throws: InterpolationError.self) { try Interpolator(xs: [], ys: []) }
        #expect(throws: InterpolationError.self) { try Interpolator(xs: [1, 2], ys: [1]) }
        #expect(throws: InterpolationError.self) { try Interpolator(xs: [1, .nan], ys: [1, 2]) }
    }
}
