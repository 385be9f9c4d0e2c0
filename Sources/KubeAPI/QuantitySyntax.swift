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

/// The Kubernetes versions the project supports (README.md, "Supported Kubernetes versions").
public enum SupportedKubernetes {
    /// The oldest minor release whose kube-apiserver accepts `crds/`: `x-kubernetes-validations[].fieldPath`
    /// exists from Kubernetes 1.28 (older servers answer `strict decoding error: unknown field "…fieldPath"`).
    public static let minimum = (major: 1, minor: 28)

    /// `"1.28"`.
    public static var minimumString: String { "\(minimum.major).\(minimum.minor)" }

    /// Whether a server's `/version` `major`/`minor` (minor may carry a suffix, as `"28+"` on managed clusters) is
    /// at least `minimum`; nil when they are not numbers.
    public static func isSupported(major: String, minor: String) -> Bool? {
        guard let ma = Int(major.prefix { $0.isNumber }), let mi = Int(minor.prefix { $0.isNumber }) else { return nil }
        return (ma, mi) >= minimum
    }
}
