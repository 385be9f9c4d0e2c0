/// A load predictor for one series (requests per interval, average ISL or average OSL) with its state as a
/// plain value, so it can live inside `SLAState`, be encoded into the PodAutoscaler's status and be restored.
///
/// It keeps the last `window` observations (default 50) and forecasts the next one with the chosen method.
/// Every method returns the last observed value while fewer than `minimumPoints` (5) observations exist, and
/// forecasts are never negative. As in Dynamo, leading zeros (the idle period before the first traffic) are
/// skipped, and a NaN counts as zero.
public struct LoadPredictor: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Next = last.
        case constant
        /// Next = mean of the window.
        case movingAverage
        /// Holt's linear exponential smoothing (level + trend), parameters fitted on the window.
        case holt
        /// Additive Holt-Winters (level + trend + season of `seasonLength`), parameters fitted on the window;
        /// Holt while the window holds fewer than two seasons.
        case holtWinters
        /// ARIMA(p, d, q) fitted by conditional sum of squares; d by KPSS, p and q by AIC (see `ARIMAModel`).
        case arima
        /// Kalman filter on a local linear trend (see `KalmanLocalLinearTrend`), over all observations.
        case kalman
        /// Prophet-like: piecewise-linear trend + Fourier season of `seasonLength` intervals, fitted by MAP on
        /// the window (see `ProphetLikeModel`). Forecasts any number of intervals ahead.
        case prophet

        /// Accepts the spec's spellings: `movingAverage`, `moving_average`, `moving-average`, `ema`/`holt`,
        /// `holt_winters`, … (case-insensitive).
        public init?(name: String) {
            let key = name.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " }
            switch key {
            case "constant", "last": self = .constant
            case "movingaverage", "ma", "average": self = .movingAverage
            case "holt", "exponential", "exponentialsmoothing", "ema", "ets": self = .holt
            case "holtwinters", "seasonal": self = .holtWinters
            case "arima", "autoarima": self = .arima
            case "kalman", "kalmanfilter": self = .kalman
            case "prophet", "prophetlike", "fourier": self = .prophet
            default: return nil
            }
        }
    }

    public static let minimumPoints = 5
    public static let defaultWindow = 50
    public static let defaultSeasonLength = 24

    public private(set) var kind: Kind
    public private(set) var window: Int
    public private(set) var seasonLength: Int
    /// The last `window` observations, oldest first.
    public private(set) var history: [Double]
    /// The filter state (kind `kalman` only).
    public private(set) var kalman: KalmanLocalLinearTrend?
    private var seenNonZero: Bool
    /// Observations kept since the first non-zero one, including those that left the window: the absolute
    /// index of the next one, which fixes the season's phase (`prophet`). Optional so older encoded states decode.
    private var observedCount: Int?

    public init(kind: Kind, window: Int = LoadPredictor.defaultWindow, seasonLength: Int = LoadPredictor.defaultSeasonLength) {
        self.kind = kind
        self.window = max(LoadPredictor.minimumPoints, window)
        self.seasonLength = max(2, seasonLength)
        self.history = []
        self.kalman = kind == .kalman ? KalmanLocalLinearTrend() : nil
        self.seenNonZero = false
    }

    /// Observations kept (after skipping leading zeros).
    public var count: Int { history.count }
    public var last: Double? { history.last }

    public mutating func observe(_ value: Double) {
        let v = value.isNaN ? 0 : max(0, value.isFinite ? value : 0)
        if v == 0 && !seenNonZero { return }
        if v != 0 { seenNonZero = true }
        history.append(v)
        observedCount = (observedCount ?? (history.count - 1)) + 1
        if history.count > window { history.removeFirst(history.count - window) }
        kalman?.update(v)
    }

    /// The forecast `steps` intervals ahead. Only `prophet` models the horizon; every other kind gives its
    /// next-interval forecast (`predict()`) for any horizon.
    public func predict(ahead steps: Int) -> Double {
        guard kind == .prophet, steps > 1 else { return predict() }
        guard let last = history.last else { return 0 }
        guard history.count >= Self.minimumPoints else { return last }
        return prophetForecast(steps: steps) ?? last
    }

    /// The Prophet-like forecast `steps` ahead, or nil when the fit fails.
    func prophetForecast(steps: Int) -> Double? {
        let total = observedCount ?? history.count
        if let first = history.first, history.allSatisfy({ $0 == first }) { return first }
        guard let model = ProphetLikeModel(values: history, firstIndex: total - history.count, period: seasonLength) else { return nil }
        let v = model.forecast(steps: steps)
        return v.isFinite ? max(0, v) : nil
    }

    /// The forecast of the next observation.
    public func predict() -> Double {
        guard let last = history.last else { return 0 }
        guard history.count >= Self.minimumPoints else { return last }
        let value: Double
        switch kind {
        case .constant:
            value = last
        case .movingAverage:
            value = LoadForecast.movingAverage(history)
        case .holt:
            value = LoadForecast.holt(history)
        case .holtWinters:
            value = LoadForecast.holtWinters(history, seasonLength: seasonLength)
        case .arima:
            value = LoadForecast.arima(history)
        case .kalman:
            value = kalman?.forecast ?? last
        case .prophet:
            value = prophetForecast(steps: 1) ?? last
        }
        return value.isFinite ? max(0, value) : last
    }
}
