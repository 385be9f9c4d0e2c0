/// The Kubernetes versions HeteroScale supports. The CRDs use `x-kubernetes-validations[].fieldPath`, which
/// kube-apiserver accepts from 1.28 (older servers answer `strict decoding error: unknown field
/// "...fieldPath"`); `heteroscale doctor` warns on an older server.
public enum SupportedKubernetes {
    public static let minimumMajor = 1
    public static let minimumMinor = 28
    /// `1.28`.
    public static var minimum: String { "\(minimumMajor).\(minimumMinor)" }

    /// Major and minor of a `/version` answer: `major`/`minor` (`"28+"` on some managed clusters), else
    /// `gitVersion` (`v1.28.3-eks-…`).
    public static func version(major: String?, minor: String?, gitVersion: String?) -> (major: Int, minor: Int)? {
        func leadingNumber(_ s: String?) -> Int? {
            guard let s else { return nil }
            return Int(String(s.prefix { $0.isNumber }))
        }
        if let ma = leadingNumber(major), let mi = leadingNumber(minor) { return (ma, mi) }
        guard let git = gitVersion else { return nil }
        let parts = git.drop { $0 == "v" }.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let ma = leadingNumber(String(parts[0])), let mi = leadingNumber(String(parts[1])) else { return nil }
        return (ma, mi)
    }

    /// Whether `version` is older than the minimum.
    public static func isOlderThanMinimum(_ version: (major: Int, minor: Int)) -> Bool {
        (version.major, version.minor) < (minimumMajor, minimumMinor)
    }
}
