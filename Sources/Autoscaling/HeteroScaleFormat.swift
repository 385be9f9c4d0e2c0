import Foundation

/// Number formatting for the human-readable reasons of HeteroScale, SLA, Periodic and Latency decisions.
/// Locale-independent (always `.` as the decimal separator), so reasons are identical on every machine.
enum HeteroScaleFormat {
    /// `decimals` fixed digits after the point.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "-∞") }
        return String(format: "%.\(decimals)f", locale: nil, value)
    }

    /// A compact rendering for rates and latencies: no decimals from 100 up, one below, two below 1
    /// (and trailing zeros after the point dropped).
    static func compact(_ value: Double) -> String {
        guard value.isFinite else { return fixed(value, 0) }
        let magnitude = abs(value)
        let text = fixed(value, magnitude >= 100 ? 0 : (magnitude >= 1 ? 1 : 2))
        guard text.contains(".") else { return text }
        var trimmed = Substring(text)
        while trimmed.hasSuffix("0") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    /// A signed whole percentage such as `+31%` or `-12%`.
    static func signedPercent(_ fraction: Double) -> String {
        guard fraction.isFinite else { return fraction > 0 ? "+∞%" : "n/a" }
        let rounded = (fraction * 100).rounded()
        let value = rounded == 0 ? 0 : rounded
        return (value >= 0 ? "+" : "") + fixed(value, 0) + "%"
    }

    /// Whole seconds, rounded up (a cooldown that has 0.2 s left still has 1 s left for a reader).
    static func seconds(_ value: Double) -> String {
        fixed(max(0, value).rounded(.up), 0) + " s"
    }
}
