import Foundation
import Testing
@testable import Autoscaling

private func predictor(_ kind: LoadPredictor.Kind, _ series: [Double], window: Int = 50, season: Int = 24) -> LoadPredictor {
    var p = LoadPredictor(kind: kind, window: window, seasonLength: season)
    for v in series { p.observe(v) }
    return p
}

@Suite("Load predictors")
struct PredictorTests {
    @Test("a constant series forecasts the constant", arguments: LoadPredictor.Kind.allCases)
    func constant(kind: LoadPredictor.Kind) {
        let p = predictor(kind, Array(repeating: 42, count: 30), season: 4)
        #expect(abs(p.predict() - 42) < 1e-6)
    }

    @Test("fewer than five points: the last value", arguments: LoadPredictor.Kind.allCases)
    func fewPoints(kind: LoadPredictor.Kind) {
        #expect(predictor(kind, []).predict() == 0)
        #expect(predictor(kind, [10, 20, 30, 40]).predict() == 40)
    }

    @Test("a linear trend is extrapolated by Holt, Kalman and ARIMA", arguments: [LoadPredictor.Kind.holt, .kalman, .arima])
    func linearTrend(kind: LoadPredictor.Kind) {
        // y = 100 + 10t for t = 0…29; the next value is 400.
        let series = (0..<30).map { 100 + 10 * Double($0) }
        let forecast = predictor(kind, series).predict()
        #expect(abs(forecast - 400) < 4, "\(kind): \(forecast)")
        // The moving average lags far behind.
        #expect(abs(predictor(.movingAverage, series).predict() - 400) > 100)
    }

    @Test("a noisy trend: Holt and Kalman stay close to the line")
    func noisyTrend() {
        var rng = HeteroScaleTestRNG(seed: 3)
        let series = (0..<50).map { 1000 + 20 * Double($0) + 5 * rng.gaussian() }
        for kind in [LoadPredictor.Kind.holt, .kalman, .arima] {
            let forecast = predictor(kind, series).predict()
            #expect(abs(forecast - 2000) < 30, "\(kind): \(forecast)")
        }
    }

    @Test("on a seasonal series Holt-Winters beats the moving average")
    func seasonal() {
        var rng = HeteroScaleTestRNG(seed: 17)
        let series = (0..<200).map { 100 + 30 * sin(2 * Double.pi * Double($0) / 8) + 2 * rng.gaussian() }
        var hw = LoadPredictor(kind: .holtWinters, window: 50, seasonLength: 8)
        var ma = LoadPredictor(kind: .movingAverage, window: 50)
        var hwError = 0.0, maError = 0.0
        for (t, v) in series.enumerated() {
            if t >= 50 {
                hwError += abs(hw.predict() - v)
                maError += abs(ma.predict() - v)
            }
            hw.observe(v)
            ma.observe(v)
        }
        #expect(hwError < 0.25 * maError, "HW \(hwError) vs MA \(maError)")
        // Holt-Winters needs two seasons; with fewer it is Holt.
        let short = Array(series.prefix(12))
        #expect(LoadForecast.holtWinters(short, seasonLength: 8) == LoadForecast.holt(short))
    }

    @Test("ARIMA recovers an AR(1) coefficient")
    func arimaAR1() throws {
        var rng = HeteroScaleTestRNG(seed: 2024)
        var y: [Double] = [0]
        for _ in 1..<400 { y.append(0.7 * y[y.count - 1] + rng.gaussian()) }
        let fixed = try #require(ARIMAModel.fit(y, p: 1, d: 0, q: 0))
        #expect(abs(fixed.ar[0] - 0.7) < 0.08, "φ = \(fixed.ar[0])")
        #expect(abs(fixed.sigma2 - 1) < 0.2)
        // The CSS fit of a pure AR is ordinary least squares: the forecast is c + φ·y_last.
        #expect(abs(fixed.forecast - (fixed.constant + fixed.ar[0] * y[y.count - 1])) < 1e-9)
        let auto = try #require(ARIMAModel.autoFit(y))
        #expect(auto.d == 0)
        #expect(auto.p >= 1)
        #expect(abs(auto.forecast - 0.7 * y[y.count - 1]) < 0.5, "auto ARIMA(\(auto.p),\(auto.d),\(auto.q)) forecast \(auto.forecast)")
    }

    @Test("ARIMA with an MA term: Nelder–Mead recovers θ")
    func arimaMA() throws {
        var rng = HeteroScaleTestRNG(seed: 5)
        var y: [Double] = [0]
        var previousNoise = 0.0
        for _ in 1..<600 {
            let e = rng.gaussian()
            y.append(0.5 * y[y.count - 1] + e + 0.4 * previousNoise)
            previousNoise = e
        }
        let model = try #require(ARIMAModel.fit(y, p: 1, d: 0, q: 1))
        #expect(abs(model.ar[0] - 0.5) < 0.12, "φ = \(model.ar[0])")
        #expect(abs(model.ma[0] - 0.4) < 0.12, "θ = \(model.ma[0])")
        let ar = try #require(ARIMAModel.fit(y, p: 1, d: 0, q: 0))
        #expect(model.aic < ar.aic)
    }

    @Test("KPSS: a random walk needs differencing, white noise does not")
    func kpss() {
        var rng = HeteroScaleTestRNG(seed: 8)
        let noise = (0..<200).map { _ in rng.gaussian() }
        var walk: [Double] = [0]
        for e in noise.dropFirst() { walk.append(walk[walk.count - 1] + e) }
        #expect(ARIMAModel.kpss(noise) < ARIMAModel.kpssCritical)
        #expect(ARIMAModel.kpss(walk) > ARIMAModel.kpssCritical)
        #expect(ARIMAModel.differencingOrder(noise) == 0)
        #expect(ARIMAModel.differencingOrder(walk) == 1)
    }

    @Test("leading zeros are skipped, NaN counts as zero, the window is bounded")
    func bookkeeping() {
        var p = LoadPredictor(kind: .movingAverage, window: 5)
        for v in [0.0, 0, .nan, 10, 0, .nan, 20, 30, 40, 50, 60] { p.observe(v) }
        #expect(p.history == [20, 30, 40, 50, 60])
        #expect(p.predict() == 40)
        #expect(LoadPredictor(kind: .constant, window: 1).window == LoadPredictor.minimumPoints)
    }

    @Test("predictor state round-trips through JSON", arguments: LoadPredictor.Kind.allCases)
    func codable(kind: LoadPredictor.Kind) throws {
        let p = predictor(kind, (0..<20).map { 50 + Double($0 % 7) * 3 }, season: 7)
        let decoded = try JSONDecoder().decode(LoadPredictor.self, from: JSONEncoder().encode(p))
        #expect(decoded == p)
        #expect(decoded.predict() == p.predict())
    }

    @Test("predictor names from the spec", arguments: [
        ("constant", LoadPredictor.Kind.constant), ("movingAverage", .movingAverage), ("moving_average", .movingAverage),
        ("holt", .holt), ("Holt-Winters", .holtWinters), ("ARIMA", .arima), ("kalman", .kalman),
    ])
    func names(name: String, kind: LoadPredictor.Kind) {
        #expect(LoadPredictor.Kind(name: name) == kind)
        #expect(LoadPredictor.Kind(name: "oracle") == nil)
    }

    @Test("the Kalman filter follows Dynamo's local linear trend")
    func kalman() {
        var k = KalmanLocalLinearTrend()
        #expect(k.forecast == 0)
        k.update(100)
        #expect(k.level == 100 && k.trend == 0)
        #expect(k.forecast == 100)
        // Second point: predicted level 100 + 0, predicted P = [[1000 + 1000 + 1, 1000], [1000, 1000 + 0.1]]
        // (F P Fᵀ + Q), innovation variance 2001 + R = 2011, gains 2001/2011 and 1000/2011.
        k.update(110)
        let gain = 2001.0 / 2011.0
        #expect(abs(k.level - (100 + gain * 10)) < 1e-9)
        #expect(abs(k.trend - 1000.0 / 2011.0 * 10) < 1e-9)
    }
}
