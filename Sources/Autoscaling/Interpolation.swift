/// How an `Interpolator` joins its knots.
public enum InterpolationMethod: String, Sendable, Hashable, Codable, CaseIterable {
    /// Straight segments between knots.
    case linear
    /// Piecewise cubic Hermite with Fritsch–Carlson tangents: C¹, exact at the knots, and monotone wherever the
    /// data are (no overshoot between knots, unlike a plain cubic spline).
    case monotoneCubic
}

/// What an `Interpolator` returns outside its knots.
public enum Extrapolation: String, Sendable, Hashable, Codable {
    /// The value at the nearest end knot (Dynamo clamps the ISL into the profiled range the same way).
    case clamp
    /// Continue along the end tangent (the end segment's slope for `linear`, the end knot's Hermite tangent for
    /// `monotoneCubic`).
    case linear
}

/// Errors building an interpolator or a profile.
public struct InterpolationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A one-dimensional interpolator over knots `(x, y)`. Knots are sorted by x; knots sharing an x are averaged.
/// One knot gives a constant. Evaluation is `O(log n)`.
public struct Interpolator: Sendable, Hashable {
    public let xs: [Double]
    public let ys: [Double]
    public let method: InterpolationMethod
    public let extrapolation: Extrapolation
    /// Hermite tangents at the knots (for `linear`, the segment slopes used for extrapolation).
    public let tangents: [Double]

    public init(xs: [Double], ys: [Double], method: InterpolationMethod = .monotoneCubic, extrapolation: Extrapolation = .clamp) throws(InterpolationError) {
        guard xs.count == ys.count else { throw InterpolationError("xs and ys differ in length (\(xs.count) vs \(ys.count))") }
        guard !xs.isEmpty else { throw InterpolationError("at least one point is needed") }
        guard xs.allSatisfy(\.isFinite), ys.allSatisfy(\.isFinite) else { throw InterpolationError("points must be finite numbers") }
        var px: [Double] = []
        var py: [Double] = []
        var count: [Double] = []
        for i in xs.indices.sorted(by: { xs[$0] < xs[$1] || (xs[$0] == xs[$1] && $0 < $1) }) {
            if let last = px.last, last == xs[i] {
                py[py.count - 1] += ys[i]
                count[count.count - 1] += 1
            } else {
                px.append(xs[i])
                py.append(ys[i])
                count.append(1)
            }
        }
        for i in py.indices { py[i] /= count[i] }
        self.xs = px
        self.ys = py
        self.method = method
        self.extrapolation = extrapolation
        self.tangents = Self.tangents(px, py, method)
    }

    /// Fritsch–Carlson (1980): secants δₖ; interior tangents the mean of neighbouring secants (zero where
    /// they differ in sign or either is zero), ends the end secants; then wherever αₖ = mₖ/δₖ, βₖ = mₖ₊₁/δₖ
    /// leave the circle of radius 3, both are scaled by τ = 3/√(α²+β²) — sufficient for monotonicity.
    static func tangents(_ x: [Double], _ y: [Double], _ method: InterpolationMethod) -> [Double] {
        let n = x.count
        guard n >= 2 else { return [Double](repeating: 0, count: n) }
        var delta = [Double](repeating: 0, count: n - 1)
        for k in 0..<(n - 1) {
            let dy: Double = y[k + 1] - y[k]
            let dx: Double = x[k + 1] - x[k]
            delta[k] = dy / dx
        }
        if method == .linear {
            return (0..<n).map { delta[min($0, n - 2)] }
        }
        var m = [Double](repeating: 0, count: n)
        m[0] = delta[0]
        m[n - 1] = delta[n - 2]
        for k in 1..<(n - 1) {
            m[k] = delta[k - 1] * delta[k] <= 0 ? 0 : (delta[k - 1] + delta[k]) / 2
        }
        for k in 0..<(n - 1) {
            if delta[k] == 0 {
                m[k] = 0
                m[k + 1] = 0
                continue
            }
            let a: Double = m[k] / delta[k]
            let b: Double = m[k + 1] / delta[k]
            if a < 0 { m[k] = 0 }
            if b < 0 { m[k + 1] = 0 }
            let s: Double = a * a + b * b
            if s > 9 {
                let tau: Double = 3 / s.squareRoot()
                m[k] = tau * a * delta[k]
                m[k + 1] = tau * b * delta[k]
            }
        }
        return m
    }

    public var domain: ClosedRange<Double> { xs[0]...xs[xs.count - 1] }

    public func callAsFunction(_ x: Double) -> Double { value(at: x) }

    public func value(at x: Double) -> Double {
        let n = xs.count
        if n == 1 { return ys[0] }
        if x <= xs[0] {
            return extrapolation == .clamp ? ys[0] : ys[0] + tangents[0] * (x - xs[0])
        }
        if x >= xs[n - 1] {
            return extrapolation == .clamp ? ys[n - 1] : ys[n - 1] + tangents[n - 1] * (x - xs[n - 1])
        }
        // Largest k with xs[k] <= x.
        var lo = 0, hi = n - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if xs[mid] <= x { lo = mid } else { hi = mid }
        }
        let h = xs[lo + 1] - xs[lo]
        let t = (x - xs[lo]) / h
        switch method {
        case .linear:
            return ys[lo] + (ys[lo + 1] - ys[lo]) * t
        case .monotoneCubic:
            let t2 = t * t, t3 = t2 * t
            let h00 = 2 * t3 - 3 * t2 + 1
            let h10 = t3 - 2 * t2 + t
            let h01 = -2 * t3 + 3 * t2
            let h11 = t3 - t2
            return h00 * ys[lo] + h10 * h * tangents[lo] + h01 * ys[lo + 1] + h11 * h * tangents[lo + 1]
        }
    }
}
