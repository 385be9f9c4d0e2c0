import Foundation

extension PrometheusText {
    /// Renders families as Prometheus text format 0.0.4, the way `prometheus_client` (vLLM's exporter)
    /// writes them: `# HELP` and `# TYPE` per family, then its samples in order; labels sorted by name with
    /// `le` and `quantile` last; values as Python floats (`12.0`, `0.025`, `+Inf`). `parse(render(f))` gives
    /// `f` back (the round trip is tested), which is what lets the simulator skip the text on its fast path.
    public static func render(_ families: [MetricFamily]) -> String {
        var out = ""
        out.reserveCapacity(families.reduce(0) { $0 + 64 + 48 * $1.samples.count })
        for f in families {
            if let help = f.help { out += "# HELP \(f.name) \(escapeHelp(help))\n" }
            out += "# TYPE \(f.name) \(f.type.rawValue)\n"
            for s in f.samples {
                out += s.name
                if !s.labels.isEmpty {
                    let keys = s.labels.keys.sorted { a, b in
                        let la = a == "le" || a == "quantile", lb = b == "le" || b == "quantile"
                        return la == lb ? a < b : lb
                    }
                    out += "{"
                    out += keys.map { "\($0)=\"\(escapeLabel(s.labels[$0] ?? ""))\"" }.joined(separator: ",")
                    out += "}"
                }
                out += " " + formatValue(s.value)
                if let ts = s.timestampMs { out += " \(ts)" }
                out += "\n"
            }
        }
        return out
    }

    /// A value as Python's `repr(float)` writes it (`prometheus_client.utils.floatToGoString`).
    public static func formatValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == .infinity { return "+Inf" }
        if v == -.infinity { return "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) + ".0" }
        return String(v)
    }

    static func escapeLabel(_ s: String) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return s }
        return s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
