/// The syntax `metricsSources[].targetValue` accepts: a Kubernetes quantity (k8s.io/apimachinery
/// `resource.Quantity`: an optionally signed decimal number with a binary suffix `Ki…Ei`, a decimal suffix
/// `n u m k M G T P E`, or an exponent `e3`), optionally followed by `%` for utilisation targets. The CRD refuses
/// anything else at apply time with `pattern`; the controller, replay and the simulator use `isValid`, so they refuse
/// exactly what the API server refuses.
public enum QuantitySyntax {
    /// The CRD's `pattern` for `targetValue`, verbatim (crds/heteroscale.io_podautoscalers.yaml).
    public static let pattern = #"^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?%?$"#

    /// Whether `text` matches `pattern` (a hand-written matcher of the same grammar, no regex engine needed).
    public static func isValid(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.hasSuffix("%") { rest = rest.dropLast() }
        if let f = rest.first, f == "+" || f == "-" { rest = rest.dropFirst() }
        guard number(&rest) else { return false }
        if rest.isEmpty { return true }
        if rest.count == 2, let f = rest.first, "KMGTPE".contains(f), rest.last == "i" { return true }
        if rest.count == 1, let f = rest.first, "numkMGTPE".contains(f) { return true }
        guard let e = rest.first, e == "e" || e == "E" else { return false }
        rest = rest.dropFirst()
        if let f = rest.first, f == "+" || f == "-" { rest = rest.dropFirst() }
        return number(&rest) && rest.isEmpty
    }

    /// Consumes `[0-9]+(\.[0-9]*)?` or `\.[0-9]+`; false when neither is at the start.
    private static func number(_ s: inout Substring) -> Bool {
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        s = s.dropFirst(digits.count)
        if s.first == "." {
            s = s.dropFirst()
            let fraction = s.prefix { $0.isASCII && $0.isNumber }
            s = s.dropFirst(fraction.count)
            return !digits.isEmpty || !fraction.isEmpty
        }
        return !digits.isEmpty
    }
}
