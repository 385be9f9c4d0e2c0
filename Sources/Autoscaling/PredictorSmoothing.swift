/// One-step-ahead forecasts of a series (oldest first). Pure functions of the series; smoothing parameters are
/// fitted by a fixed grid search minimising the in-sample one-step squared error (ties: the first in grid order),
/// so results are deterministic.
public enum LoadForecast {
    /// Mean of the series (0 when empty).
    public static func movingAverage(_ xs: [Double]) -> Double {
        xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count)
    }

    static let holtAlphas: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    static let holtBetas: [Double] = [0.01, 0.05, 0.1, 0.2, 0.3, 0.5]

    /// Holt's linear method: level `l` and trend `b` start at `x₀` and `x₁ − x₀`;
    /// `lₜ = α·xₜ + (1−α)(lₜ₋₁ + bₜ₋₁)`, `bₜ = β(lₜ − lₜ₋₁) + (1−β)bₜ₋₁`; forecast `l + b`.
    /// Fewer than 3 points: the last value. With `alpha`/`beta` nil they are fitted.
    public static func holt(_ xs: [Double], alpha: Double? = nil, beta: Double? = nil) -> Double {
        guard xs.count >= 3 else { return xs.last ?? 0 }
        let alphas = alpha.map { [$0] } ?? holtAlphas
        let betas = beta.map { [$0] } ?? holtBetas
        var best = (sse: Double.infinity, forecast: xs[xs.count - 1])
        for a in alphas {
            for b in betas {
                let run = holtRun(xs, alpha: a, beta: b)
                if run.sse < best.sse { best = run }
            }
        }
        return best.forecast
    }

    static func holtRun(_ xs: [Double], alpha: Double, beta: Double) -> (sse: Double, forecast: Double) {
        var level = xs[0]
        var trend = xs[1] - xs[0]
        var sse = 0.0
        for t in 1..<xs.count {
            let forecast = level + trend
            if t >= 2 { sse += (xs[t] - forecast) * (xs[t] - forecast) }
            let newLevel = alpha * xs[t] + (1 - alpha) * forecast
            trend = beta * (newLevel - level) + (1 - beta) * trend
            level = newLevel
        }
        return (sse, level + trend)
    }

    static let hwAlphas: [Double] = [0.1, 0.3, 0.5, 0.7, 0.9]
    static let hwBetas: [Double] = [0.01, 0.05, 0.1, 0.3]
    static let hwGammas: [Double] = [0.05, 0.1, 0.3, 0.5]

    /// Additive Holt-Winters with season length `L`. Initialisation from the first two seasons: trend
    /// `b = (mean(season 2) − mean(season 1)) / L`, level the first season's mean moved to its last point,
    /// seasonal offsets the first season's deviations from that line. Then for `t ≥ L`:
    /// `lₜ = α(xₜ − sₜ₋L) + (1−α)(lₜ₋₁ + bₜ₋₁)`, `bₜ = β(lₜ − lₜ₋₁) + (1−β)bₜ₋₁`,
    /// `sₜ = γ(xₜ − lₜ) + (1−γ)sₜ₋L`; forecast `l + b + sₙ₋L`. Fewer than `2L` points: Holt.
    public static func holtWinters(_ xs: [Double], seasonLength: Int, alpha: Double? = nil, beta: Double? = nil, gamma: Double? = nil) -> Double {
        let L = seasonLength
        guard L >= 2, xs.count >= 2 * L else { return holt(xs) }
        var best = (sse: Double.infinity, forecast: xs[xs.count - 1])
        for a in alpha.map({ [$0] }) ?? hwAlphas {
            for b in beta.map({ [$0] }) ?? hwBetas {
                for g in gamma.map({ [$0] }) ?? hwGammas {
                    let run = holtWintersRun(xs, L, a, b, g)
                    if run.sse < best.sse { best = run }
                }
            }
        }
        return best.forecast
    }

    static func holtWintersRun(_ xs: [Double], _ L: Int, _ alpha: Double, _ beta: Double, _ gamma: Double) -> (sse: Double, forecast: Double) {
        let m1 = xs[0..<L].reduce(0, +) / Double(L)
        let m2 = xs[L..<(2 * L)].reduce(0, +) / Double(L)
        var trend = (m2 - m1) / Double(L)
        let centre = Double(L - 1) / 2
        var level = m1 + trend * centre
        var season = [Double](repeating: 0, count: xs.count + 1)
        for i in 0..<L { season[i] = xs[i] - (m1 + trend * (Double(i) - centre)) }
        var sse = 0.0
        for t in L..<xs.count {
            let forecast = level + trend + season[t - L]
            sse += (xs[t] - forecast) * (xs[t] - forecast)
            let newLevel = alpha * (xs[t] - season[t - L]) + (1 - alpha) * (level + trend)
            trend = beta * (newLevel - level) + (1 - beta) * trend
            season[t] = gamma * (xs[t] - newLevel) + (1 - gamma) * season[t - L]
            level = newLevel
        }
        return (sse, level + trend + season[xs.count - L])
    }

    /// ARIMA forecast via `ARIMAModel.autoFit`; the last value when no model fits, the value itself for a
    /// constant series.
    public static func arima(_ xs: [Double]) -> Double {
        guard let last = xs.last else { return 0 }
        if xs.allSatisfy({ $0 == xs[0] }) { return xs[0] }
        return ARIMAModel.autoFit(xs)?.forecast ?? last
    }
}
