/// A Kalman filter on a local linear trend, as Dynamo's Kalman load predictor:
/// state `[level, trend]`, transition `levelₜ = levelₜ₋₁ + trendₜ₋₁ + w`, `trendₜ = trendₜ₋₁ + u`, observation
/// `zₜ = levelₜ + v`, with process noise `diag(qLevel, qTrend)` (defaults 1.0 and 0.1), measurement noise
/// `r` (default 10) and initial covariance `1000·I`. The first observation sets the level (trend 0); each later
/// one is a predict + update. The forecast is the predicted level `level + trend`.
public struct KalmanLocalLinearTrend: Codable, Sendable, Hashable {
    public var qLevel: Double
    public var qTrend: Double
    public var r: Double
    public private(set) var level: Double = 0
    public private(set) var trend: Double = 0
    /// Covariance `[[p00, p01], [p01, p11]]`.
    public private(set) var p00: Double
    public private(set) var p01: Double = 0
    public private(set) var p11: Double
    public private(set) var observations: Int = 0

    public init(qLevel: Double = 1.0, qTrend: Double = 0.1, r: Double = 10.0, initialVariance: Double = 1000) {
        self.qLevel = max(1e-12, qLevel)
        self.qTrend = max(1e-12, qTrend)
        self.r = max(1e-9, r)
        self.p00 = initialVariance
        self.p11 = initialVariance
    }

    public mutating func update(_ z: Double) {
        guard z.isFinite else { return }
        defer { observations += 1 }
        guard observations > 0 else {
            level = z
            trend = 0
            return
        }
        // Predict: x = F x, P = F P Fᵀ + Q with F = [[1, 1], [0, 1]].
        let predictedLevel = level + trend
        let a = p00 + 2 * p01 + p11 + qLevel
        let b = p01 + p11
        let c = p11 + qTrend
        // Update with H = [1, 0].
        let s = a + r
        let k0 = a / s
        let k1 = b / s
        let innovation = z - predictedLevel
        level = predictedLevel + k0 * innovation
        trend += k1 * innovation
        p00 = (1 - k0) * a
        p01 = (1 - k0) * b
        p11 = c - k1 * b
    }

    /// The one-step-ahead forecast (the last observation's value before any update).
    public var forecast: Double { observations == 0 ? 0 : level + trend }
}
