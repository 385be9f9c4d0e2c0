import Foundation

/// A seasonal forecaster in the spirit of Prophet (Taylor & Letham 2018): a piecewise-linear trend plus a
/// Fourier series for one season, fitted by maximum a posteriori (MAP) with Gaussian priors, which is ridge
/// regression solved in closed form. Pure and deterministic.
///
/// Model, for the observation at absolute index `t` (one point per planning interval) and the fitted window
/// `t₀ … t₀ + n − 1`, with `u = (t − t₀) / (n − 1)` the window scaled to [0, 1]:
///
///     y(t) = k + m·u + Σⱼ δⱼ·(u − sⱼ)₊ + Σₖ₌₁ᴷ [aₖ·cos(2πk·t/P) + bₖ·sin(2πk·t/P)]
///
/// - `sⱼ`: `C` changepoints evenly spaced over the first 80 % of the window (Prophet's `changepoint_range`),
///   `C = min(changepoints, ⌊n/4⌋)`; `(x)₊ = max(0, x)`.
/// - `P`: the season in intervals (`seasonLength`); `K = min(fourierOrder, ⌊P/2⌋)` harmonics (default order 3),
///   and none while the window holds less than one whole season (`n < P`): a season cannot be learnt from part of
///   one (Prophet likewise leaves out a seasonality the history does not cover). The phase uses the absolute
///   index, so a window that slides keeps the season's phase.
/// - The series is divided by `max |y|` before the fit (Prophet's scaling) and the forecast multiplied back.
/// - Priors (independent Gaussians, on the scaled series): `k, m ~ N(0, 5²)`, `δⱼ ~ N(0, 0.05²)` (Prophet's
///   `changepoint_prior_scale`; Prophet's prior is Laplace, this Gaussian keeps the MAP in closed form),
///   `aₖ, bₖ ~ N(0, 10²)` (Prophet's `seasonality_prior_scale`); observation noise `σ = 0.05`. The MAP
///   minimises `Σ (y − ŷ)² + Σᵢ (σ/sᵢ)²·βᵢ²`, solved from the normal equations `(XᵀX + Λ)β = Xᵀy` by Cholesky.
/// - A forecast `h` intervals ahead evaluates the model at `t_last + h`; beyond the window the trend continues
///   with its last slope `m + Σδⱼ`.
public struct ProphetLikeModel: Sendable, Hashable {
    public static let defaultFourierOrder = 3
    public static let defaultChangepoints = 5
    static let noise = 0.05
    static let baseScale = 5.0
    static let changepointScale = 0.05
    static let seasonScale = 10.0

    /// The fitted coefficients: `[k, m, δ₁…δ_C, a₁, b₁, …, a_K, b_K]` on the scaled series.
    public let coefficients: [Double]
    public let changepoints: [Double]
    public let harmonics: Int
    public let period: Double
    public let firstIndex: Int
    public let count: Int
    public let scale: Double

    /// Fits `values` observed at absolute indices `firstIndex …`. Returns nil for fewer than 2 points or when
    /// the normal equations are singular.
    public init?(values: [Double], firstIndex: Int = 0, period: Int, fourierOrder: Int = defaultFourierOrder,
                 changepoints: Int = defaultChangepoints) {
        let n = values.count
        guard n >= 2, period >= 2 else { return nil }
        let scale = max(values.map { abs($0) }.max() ?? 0, 1e-12)
        let C = max(0, min(changepoints, n / 4))
        let K = n >= period ? max(0, min(fourierOrder, period / 2)) : 0
        self.changepoints = (0..<C).map { 0.8 * Double($0 + 1) / Double(C + 1) }
        self.harmonics = K
        self.period = Double(period)
        self.firstIndex = firstIndex
        self.count = n
        self.scale = scale
        let width = 2 + C + 2 * K
        var penalty = [Double](repeating: 0, count: width)
        penalty[0] = pow(Self.noise / Self.baseScale, 2)
        penalty[1] = penalty[0]
        for j in 0..<C { penalty[2 + j] = pow(Self.noise / Self.changepointScale, 2) }
        for j in 0..<(2 * K) { penalty[2 + C + j] = pow(Self.noise / Self.seasonScale, 2) }
        var ata = [[Double]](repeating: [Double](repeating: 0, count: width), count: width)
        var aty = [Double](repeating: 0, count: width)
        let partial = Self(coefficients: [], changepoints: self.changepoints, harmonics: K, period: Double(period),
                           firstIndex: firstIndex, count: n, scale: scale)
        for (i, v) in values.enumerated() {
            let row = partial.features(index: firstIndex + i)
            let y = v / scale
            for a in 0..<width {
                aty[a] += row[a] * y
                for b in a..<width { ata[a][b] += row[a] * row[b] }
            }
        }
        for a in 0..<width {
            ata[a][a] += penalty[a]
            for b in 0..<a { ata[a][b] = ata[b][a] }
        }
        guard let beta = Self.solveSPD(ata, aty) else { return nil }
        coefficients = beta
    }

    private init(coefficients: [Double], changepoints: [Double], harmonics: Int, period: Double, firstIndex: Int, count: Int, scale: Double) {
        self.coefficients = coefficients
        self.changepoints = changepoints
        self.harmonics = harmonics
        self.period = period
        self.firstIndex = firstIndex
        self.count = count
        self.scale = scale
    }

    /// The design row of absolute index `index`.
    func features(index: Int) -> [Double] {
        let u = count > 1 ? Double(index - firstIndex) / Double(count - 1) : 0
        var row = [1.0, u]
        for s in changepoints { row.append(max(0, u - s)) }
        for k in 1...max(1, harmonics) where harmonics > 0 {
            let angle = 2 * Double.pi * Double(k) * Double(index) / period
            row.append(cos(angle))
            row.append(sin(angle))
        }
        return row
    }

    /// The model's value at absolute index `index` (in the series' units).
    public func value(at index: Int) -> Double {
        let row = features(index: index)
        var sum = 0.0
        for (x, b) in zip(row, coefficients) { sum += x * b }
        return sum * scale
    }

    /// The forecast `steps` intervals after the last fitted point.
    public func forecast(steps: Int = 1) -> Double { value(at: firstIndex + count - 1 + max(1, steps)) }

    /// The trend's slope per interval at the end of the window (scaled back).
    public var finalSlopePerInterval: Double {
        guard coefficients.count >= 2, count > 1 else { return 0 }
        let slope = coefficients[1] + coefficients[2..<(2 + changepoints.count)].reduce(0, +)
        return slope * scale / Double(count - 1)
    }

    /// Solves `A x = b` for a symmetric positive-definite `A` (Cholesky); nil when `A` is not SPD.
    static func solveSPD(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = b.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                if i == j {
                    guard sum > 1e-300, sum.isFinite else { return nil }
                    l[i][i] = sum.squareRoot()
                } else {
                    l[i][j] = sum / l[j][j]
                }
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i][k] * y[k] }
            y[i] = sum / l[i][i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<n { sum -= l[k][i] * x[k] }
            x[i] = sum / l[i][i]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}
