import Foundation

/// A fitted ARIMA(p, d, q) model and its one-step forecast, in pure Swift.
///
/// The series is differenced `d` times into `w`; the model is
/// `wₜ = c + φ₁wₜ₋₁ + … + φₚwₜ₋ₚ + eₜ + θ₁eₜ₋₁ + … + θ_q eₜ₋q`.
/// Fitting minimises the conditional sum of squares (CSS): residuals are computed recursively from `t = p` with
/// earlier residuals taken as zero. Pure AR models are solved exactly by least squares; with an MA part the
/// least-squares AR fit is the start of a Nelder–Mead search (fixed iteration budget, deterministic) in which
/// non-invertible MA polynomials are rejected.
///
/// `autoFit` picks `d` by repeated KPSS level-stationarity tests at 5 % (as pmdarima's `auto_arima` does) and
/// then `p, q ∈ {0, 1, 2}` (fewer on short series) by AIC, all candidates conditioned on the same observations so
/// their AICs compare. A constant is included for `d ≤ 1` (the mean, or the drift).
public struct ARIMAModel: Sendable, Hashable {
    public var p: Int
    public var d: Int
    public var q: Int
    public var constant: Double
    public var ar: [Double]
    public var ma: [Double]
    /// Residual variance (CSS / effective observations).
    public var sigma2: Double
    /// `n·log(σ²) + 2k` over the conditioning observations (k = p + q + constant + variance).
    public var aic: Double
    /// One-step-ahead forecast of the original (undifferenced) series.
    public var forecast: Double

    /// KPSS 5 % critical value for level stationarity.
    public static let kpssCritical = 0.463

    /// Fits a given order; nil when the series is too short for it.
    public static func fit(_ y: [Double], p: Int, d: Int, q: Int) -> ARIMAModel? {
        let w = difference(y, times: d)
        return fitDifferenced(y, w, p: p, d: d, q: q, start: p)
    }

    /// Chooses `d` by KPSS and `(p, q)` by AIC; nil when the series is too short for any model.
    public static func autoFit(_ y: [Double], maxP: Int = 2, maxQ: Int = 2, maxD: Int = 2) -> ARIMAModel? {
        guard y.count >= 4 else { return nil }
        let d = differencingOrder(y, maxD: maxD)
        let w = difference(y, times: d)
        let m = w.count
        let pCap = min(maxP, m >= 20 ? 2 : (m >= 10 ? 1 : 0))
        let qCap = min(maxQ, m >= 20 ? 2 : (m >= 10 ? 1 : 0))
        var best: ARIMAModel?
        for p in 0...max(0, pCap) {
            for q in 0...max(0, qCap) {
                guard let model = fitDifferenced(y, w, p: p, d: d, q: q, start: pCap) else { continue }
                if best == nil || model.aic < best!.aic - 1e-9 { best = model }
            }
        }
        return best
    }

    /// The number of differences after which KPSS no longer rejects level stationarity (at most `maxD`).
    public static func differencingOrder(_ y: [Double], maxD: Int = 2) -> Int {
        var d = 0
        var w = y
        while d < maxD, w.count >= 8, kpss(w) > kpssCritical {
            w = difference(w, times: 1)
            d += 1
        }
        return d
    }

    /// KPSS level-stationarity statistic `Σ Sₜ² / (n² · σ̂²_LR)`, with partial sums `Sₜ` of the demeaned series
    /// and a Newey–West (Bartlett) long-run variance using `⌊3√n / 13⌋` lags (the short lag rule).
    public static func kpss(_ x: [Double]) -> Double {
        let n = x.count
        guard n >= 2 else { return 0 }
        let mean = x.reduce(0, +) / Double(n)
        let e = x.map { $0 - mean }
        var s = 0.0, eta = 0.0
        for v in e {
            s += v
            eta += s * s
        }
        let lags = Int(3 * Double(n).squareRoot() / 13)
        var lrv = e.reduce(0) { $0 + $1 * $1 } / Double(n)
        if lags > 0 {
            for l in 1...lags {
                var acc = 0.0
                for t in l..<n { acc += e[t] * e[t - l] }
                lrv += 2 * (1 - Double(l) / Double(lags + 1)) * acc / Double(n)
            }
        }
        guard lrv > 1e-300 else { return 0 }
        return eta / (Double(n) * Double(n) * lrv)
    }

    public static func difference(_ y: [Double], times: Int) -> [Double] {
        var w = y
        for _ in 0..<max(0, times) {
            guard w.count >= 2 else { return [] }
            w = (1..<w.count).map { w[$0] - w[$0 - 1] }
        }
        return w
    }

    // MARK: - Fitting

    /// Fits ARMA(p, q) to `w` (the series `y` differenced `d` times), summing squared residuals from `start`.
    static func fitDifferenced(_ y: [Double], _ w: [Double], p: Int, d: Int, q: Int, start: Int) -> ARIMAModel? {
        let m = w.count
        let useConstant = d <= 1
        let k = p + q + (useConstant ? 1 : 0) + 1
        let n = m - start
        guard start >= p, n >= k + 2 else { return nil }
        let mean = useConstant ? w.reduce(0, +) / Double(m) : 0
        let centred = w.map { $0 - mean }
        let scale = max(1e-12, (centred.reduce(0) { $0 + $1 * $1 } / Double(m)).squareRoot())

        // Least-squares AR start (exact CSS solution when q == 0), on the centred series.
        var c = 0.0
        var phi = [Double](repeating: 0, count: p)
        if p > 0 || useConstant {
            var rows: [[Double]] = []
            var rhs: [Double] = []
            for t in p..<m {
                var row: [Double] = useConstant ? [1] : []
                for i in 1...max(1, p) where p > 0 { row.append(centred[t - i]) }
                rows.append(row)
                rhs.append(centred[t])
            }
            if let beta = leastSquares(rows, rhs) {
                c = useConstant ? beta[0] : 0
                phi = Array(beta.dropFirst(useConstant ? 1 : 0))
            }
        }
        var theta = [Double](repeating: 0, count: q)
        if q > 0 {
            let x0 = (useConstant ? [c / scale] : []) + phi + theta
            let objective: ([Double]) -> Double = { x in
                let (cc, ph, th) = unpack(x, p: p, q: q, useConstant: useConstant, scale: scale)
                guard invertible(th) else { return .infinity }
                return css(centred, c: cc, phi: ph, theta: th, from: start).sse
            }
            let xBest = nelderMead(objective, start: x0, step: 0.1, iterations: 150 * x0.count)
            (c, phi, theta) = unpack(xBest, p: p, q: q, useConstant: useConstant, scale: scale)
        }
        let run = css(centred, c: c, phi: phi, theta: theta, from: start)
        guard run.sse.isFinite else { return nil }
        let sigma2 = max(run.sse / Double(n), 1e-12 * scale * scale + 1e-300)
        let aic = Double(n) * log(sigma2) + 2 * Double(k)

        // One step ahead on the centred differenced series, then back to the original scale.
        var next = c
        for i in 0..<p { next += phi[i] * centred[m - 1 - i] }
        for j in 0..<q where m - 1 - j >= 0 { next += theta[j] * run.residuals[m - 1 - j] }
        next += mean
        let forecast: Double
        switch d {
        case 0: forecast = next
        case 1: forecast = y[y.count - 1] + next
        default:
            // Undo each difference: the next value of level k is its last value plus the next of level k+1.
            var levels = [y]
            for _ in 0..<d { levels.append(difference(levels.last!, times: 1)) }
            var value = next
            for level in stride(from: d - 1, through: 0, by: -1) { value += levels[level].last! }
            forecast = value
        }
        let sumPhi = phi.reduce(0, +)
        return ARIMAModel(
            p: p, d: d, q: q, constant: c + mean * (1 - sumPhi), ar: phi, ma: theta, sigma2: sigma2, aic: aic,
            forecast: forecast)
    }

    static func unpack(_ x: [Double], p: Int, q: Int, useConstant: Bool, scale: Double) -> (Double, [Double], [Double]) {
        var i = 0
        var c = 0.0
        if useConstant { c = x[0] * scale; i = 1 }
        let phi = Array(x[i..<(i + p)])
        let theta = Array(x[(i + p)..<(i + p + q)])
        return (c, phi, theta)
    }

    /// CSS residuals `eₜ = wₜ − c − Σφᵢwₜ₋ᵢ − Σθⱼeₜ₋ⱼ` for `t ≥ p` (zero before), and their sum of squares
    /// from `from`.
    static func css(_ w: [Double], c: Double, phi: [Double], theta: [Double], from: Int) -> (sse: Double, residuals: [Double]) {
        let p = phi.count, q = theta.count, m = w.count
        var e = [Double](repeating: 0, count: m)
        var sse = 0.0
        for t in p..<m {
            var pred = c
            for i in 0..<p { pred += phi[i] * w[t - 1 - i] }
            for j in 0..<q where t - 1 - j >= 0 { pred += theta[j] * e[t - 1 - j] }
            e[t] = w[t] - pred
            if t >= from { sse += e[t] * e[t] }
        }
        return (sse.isFinite ? sse : .infinity, e)
    }

    /// MA polynomial `1 + θ₁z + θ₂z²` has its roots outside the unit circle (orders 0–2; higher orders are
    /// only bounded coefficient-wise).
    static func invertible(_ theta: [Double]) -> Bool {
        switch theta.count {
        case 0: return true
        case 1: return abs(theta[0]) < 0.999
        case 2:
            let (a, b) = (theta[0], theta[1])
            return abs(b) < 0.999 && b + a > -0.999 && b - a > -0.999
        default:
            return theta.reduce(0) { $0 + abs($1) } < 0.999
        }
    }

    /// Ordinary least squares by normal equations with partial pivoting; nil if singular.
    static func leastSquares(_ rows: [[Double]], _ rhs: [Double]) -> [Double]? {
        guard let k = rows.first?.count, k > 0 else { return nil }
        var a = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
        for (row, y) in zip(rows, rhs) {
            for i in 0..<k {
                for j in 0..<k { a[i][j] += row[i] * row[j] }
                a[i][k] += row[i] * y
            }
        }
        for col in 0..<k {
            var pivot = col
            for r in (col + 1)..<max(col + 1, k) where abs(a[r][col]) > abs(a[pivot][col]) { pivot = r }
            guard abs(a[pivot][col]) > 1e-12 * max(1, abs(a[col][col])) else { return nil }
            a.swapAt(col, pivot)
            for r in 0..<k where r != col {
                let f = a[r][col] / a[col][col]
                if f != 0 { for j in col...k { a[r][j] -= f * a[col][j] } }
            }
        }
        return (0..<k).map { a[$0][k] / a[$0][$0] }
    }

    /// Nelder–Mead simplex minimisation with the standard coefficients (reflect 1, expand 2, contract ½,
    /// shrink ½), a fixed iteration budget and a fixed initial simplex: deterministic.
    static func nelderMead(_ f: ([Double]) -> Double, start: [Double], step: Double, iterations: Int) -> [Double] {
        let n = start.count
        guard n > 0 else { return start }
        var simplex = [start]
        for i in 0..<n {
            var v = start
            v[i] += step
            simplex.append(v)
        }
        var values = simplex.map(f)
        for _ in 0..<iterations {
            let order = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            if values[n].isFinite, abs(values[n] - values[0]) <= 1e-12 * (abs(values[0]) + 1e-12) { break }
            var centroid = [Double](repeating: 0, count: n)
            for v in simplex[0..<n] { for j in 0..<n { centroid[j] += v[j] / Double(n) } }
            func along(_ t: Double) -> [Double] { (0..<n).map { centroid[$0] + t * (simplex[n][$0] - centroid[$0]) } }
            let reflected = along(-1)
            let fr = f(reflected)
            if fr < values[0] {
                let expanded = along(-2)
                let fe = f(expanded)
                if fe < fr { simplex[n] = expanded; values[n] = fe } else { simplex[n] = reflected; values[n] = fr }
            } else if fr < values[n - 1] {
                simplex[n] = reflected
                values[n] = fr
            } else {
                let contracted = fr < values[n] ? along(-0.5) : along(0.5)
                let fc = f(contracted)
                if fc < min(fr, values[n]) {
                    simplex[n] = contracted
                    values[n] = fc
                } else {
                    for i in 1...n {
                        simplex[i] = (0..<n).map { simplex[0][$0] + 0.5 * (simplex[i][$0] - simplex[0][$0]) }
                        values[i] = f(simplex[i])
                    }
                }
            }
        }
        let best = values.indices.min { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) } ?? 0
        return simplex[best]
    }
}
