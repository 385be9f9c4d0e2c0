/// The Kubernetes versions HeteroScale supports: 1.28 and newer. The oldest kube-apiserver that accepts `crds/`
/// is 1.28: `x-kubernetes-validations[].fieldPath` exists from 1.28 (older servers answer `strict decoding
/// error: unknown field "…fieldPath"`). `heteroscale doctor` warns on an older server.
public enum SupportedKubernetes {
    public static let minimum = (major: 1, minor: 28)

    /// `"1.28"`.
    public static var minimumString: String { "\(minimum.major).\(minimum.minor)" }

    /// Whether a server's `/version` `major`/`minor` (minor may carry a suffix, as `"28+"` on managed clusters) is
    /// at least `minimum`; nil when they are not numbers.
    public static func isSupported(major: String, minor: String) -> Bool? {
        guard let ma = Int(major.prefix { $0.isNumber }), let mi = Int(minor.prefix { $0.isNumber }) else { return nil }
        return (ma, mi) >= minimum
    }

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
        (version.major, version.minor) < minimum
    }
}
