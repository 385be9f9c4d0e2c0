import KubeAPI

/// Parses the string targets of `metricsSources[].targetValue`: Kubernetes quantities (`"500m"`, `"2"`,
/// `"1.5k"`, `"4Gi"`, `"1e3"`) and, for utilisation, an optional trailing `%` (`"50%"` = 50). Exactly the texts
/// the CRD's pattern accepts (`QuantitySyntax`) parse.
public enum MetricTarget {
    private static let suffixes: [(String, Double)] = [
        ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
        ("Pi", 1_125_899_906_842_624), ("Ei", 1_152_921_504_606_846_976),
        ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
    ]

    /// The numeric value, or `nil` for text that is not a quantity.
    public static func parse(_ text: String) -> Double? {
        guard QuantitySyntax.isValid(text) else { return nil }
        var s = Substring(text)
        if s.hasSuffix("%") { s = s.dropLast() }
        guard !s.isEmpty else { return nil }
        var multiplier = 1.0
        for (suffix, m) in suffixes where s.hasSuffix(suffix) {
            // `1e3` is an exponent, not the `E` suffix; `E` alone is exa.
            s = s.dropLast(suffix.count)
            multiplier = m
            break
        }
        guard let v = Double(s), v.isFinite else { return nil }
        return v * multiplier
    }
}
