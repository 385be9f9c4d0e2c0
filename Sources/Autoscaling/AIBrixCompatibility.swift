import Foundation
import KubeAPI

/// AIBrix `PodAutoscaler` compatibility: AIBrix configures its strategies with annotations (and two spec
/// fields, `observeWindowSeconds` and `panicWindowSeconds`); HeteroScale has typed fields. `resolve` turns
/// the AIBrix settings into the typed fields they stand for — **a typed field that is set always wins** — and
/// says which were used, which are accepted but have no effect here, and which values are malformed.
///
/// Two generations of AIBrix annotation keys are recognised: the current generic ones
/// (`autoscaling.aibrix.ai/max-scale-up-rate`, …, AIBrix ≥ 0.5 `types/annotations.go`) and the per-strategy
/// ones of earlier releases that AIBrix's own samples still use (`kpa.autoscaling.aibrix.ai/scale-down-delay`,
/// `apa.autoscaling.aibrix.ai/window`, …). docs/strategies.md maps every key and field.
public enum AIBrixCompatibility {
    /// An AIBrix setting that was used, and the field it stands for.
    public struct Applied: Sendable, Hashable, CustomStringConvertible {
        /// The annotation key, or the spec field (`spec.observeWindowSeconds`).
        public var source: String
        public var value: String
        /// The typed field it set, with the value used (`spec.kpa.scaleDownDelaySeconds=180`).
        public var field: String
        public var description: String { "\(source)=\(value) used as \(field)" }
    }

    /// An AIBrix setting that is accepted but has no effect here, and why.
    public struct Ignored: Sendable, Hashable, CustomStringConvertible {
        public var source: String
        public var reason: String
        public var description: String { "\(source): \(reason)" }
    }

    public struct Resolution: Sendable, Hashable {
        /// The spec with the AIBrix settings applied where the typed field is unset.
        public var spec: PodAutoscalerSpec
        public var applied: [Applied]
        public var ignored: [Ignored]
        /// Malformed values, each naming the annotation (`metadata.annotations[…]`).
        public var issues: [ValidationIssue]
    }

    /// Annotation prefixes that belong to AIBrix; any other annotation is the user's business.
    static let prefixes = ["autoscaling.aibrix.ai/", "kpa.autoscaling.aibrix.ai/", "apa.autoscaling.aibrix.ai/"]

    /// `spec` with the AIBrix settings of `annotations` (and of the AIBrix spec fields) applied.
    ///
    /// Precedence: typed fields, then AIBrix's spec fields, then annotations. Stable windows are resolved before
    /// panic windows, because KPA's panic window is a percentage of the stable one.
    public static func resolve(spec original: PodAutoscalerSpec, annotations: [String: String]?) -> Resolution {
        var r = Resolver(spec: original, strategy: original.strategy)
        let aibrix = (annotations ?? [:]).filter { key, _ in prefixes.contains(where: key.hasPrefix) }
        func isStableWindow(_ key: String) -> Bool { key == "kpa.autoscaling.aibrix.ai/stable-window" }
        r.resolveObserveWindow()
        for (key, value) in aibrix where isStableWindow(key) { r.resolve(annotation: key, value: value) }
        r.resolvePanicWindow()
        for (key, value) in aibrix.sorted(by: { $0.key < $1.key }) where !isStableWindow(key) {
            r.resolve(annotation: key, value: value)
        }
        return Resolution(spec: r.spec, applied: r.applied, ignored: r.ignored, issues: r.issues)
    }

    /// `resolve` on a whole object.
    public static func resolve(_ pa: PodAutoscaler) -> Resolution {
        resolve(spec: pa.spec, annotations: pa.metadata.annotations)
    }

    /// Go's `time.ParseDuration` (`300ms`, `1.5h`, `2h45m`, `0`): seconds, or `nil` when malformed.
    public static func parseGoDuration(_ text: String) -> Double? {
        var s = Substring(text.trimmingCharacters(in: .whitespaces))
        var sign = 1.0
        if s.first == "-" || s.first == "+" {
            if s.first == "-" { sign = -1 }
            s = s.dropFirst()
        }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var total = 0.0
        while !s.isEmpty {
            let number = s.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, number != ".", let v = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unitText = s.prefix { !($0.isNumber || $0 == ".") }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            s = s.dropFirst(unitText.count)
            total += v * unit.1
        }
        return sign * total
    }
}

/// The state of one `resolve` call.
private struct Resolver {
    var spec: PodAutoscalerSpec
    let strategy: ScalingStrategy?
    var applied: [AIBrixCompatibility.Applied] = []
    var ignored: [AIBrixCompatibility.Ignored] = []
    var issues: [ValidationIssue] = []

    init(spec: PodAutoscalerSpec, strategy: ScalingStrategy?) {
        self.spec = spec
        self.strategy = strategy
    }

    /// `spec.observeWindowSeconds` (AIBrix's stable window).
    mutating func resolveObserveWindow() {
        if let observe = spec.observeWindowSeconds {
            let source = "spec.observeWindowSeconds"
            switch strategy {
            case .kpa?: setKPA(\.stableWindowSeconds, "stableWindowSeconds", Double(observe), source: source, value: "\(observe)")
            case .apa?: setAPA(\.windowSeconds, "windowSeconds", Double(observe), source: source, value: "\(observe)")
            default: ignore(source, "only KPA and APA have a metric window; \(strategyName) ignores it")
            }
        }
    }

    /// `spec.panicWindowSeconds` (AIBrix's KPA panic window).
    mutating func resolvePanicWindow() {
        if let panic = spec.panicWindowSeconds {
            let source = "spec.panicWindowSeconds"
            if strategy == .kpa {
                setPanicWindow(seconds: Double(panic), source: source, value: "\(panic)")
            } else {
                ignore(source, "only KPA has a panic window; \(strategyName) ignores it")
            }
        }
    }

    var strategyName: String { spec.scalingStrategy }

    mutating func resolve(annotation key: String, value: String) {
        let path = "metadata.annotations[\(key)]"
        func number() -> Double? {
            guard let v = Double(value.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                issues.append(ValidationIssue(field: path, message: "\"\(value)\" is not a number"))
                return nil
            }
            return v
        }
        func duration() -> Double? {
            guard let v = AIBrixCompatibility.parseGoDuration(value), v >= 0 else {
                issues.append(ValidationIssue(field: path, message: "\"\(value)\" is not a duration (Go syntax, e.g. 30s, 5m, 1h30m)"))
                return nil
            }
            return v
        }
        switch key {
        // The generic keys of AIBrix ≥ 0.5 (types/annotations.go).
        case "autoscaling.aibrix.ai/max-scale-up-rate":
            guard let v = number() else { return }
            rate(up: true, v, source: key, value: value)
        case "autoscaling.aibrix.ai/max-scale-down-rate":
            guard let v = number() else { return }
            rate(up: false, v, source: key, value: value)
        case "autoscaling.aibrix.ai/scale-up-tolerance", "autoscaling.aibrix.ai/up-fluctuation-tolerance",
             "apa.autoscaling.aibrix.ai/up-fluctuation-tolerance":
            guard let v = number() else { return }
            tolerance(up: true, v, source: key, value: value)
        case "autoscaling.aibrix.ai/scale-down-tolerance", "autoscaling.aibrix.ai/down-fluctuation-tolerance",
             "apa.autoscaling.aibrix.ai/down-fluctuation-tolerance":
            guard let v = number() else { return }
            tolerance(up: false, v, source: key, value: value)
        case "autoscaling.aibrix.ai/panic-threshold", "kpa.autoscaling.aibrix.ai/panic-threshold":
            guard let v = number() else { return }
            if strategy == .kpa {
                setKPA(\.panicThresholdPercentage, "panicThresholdPercentage", v * 100, source: key, value: value)
            } else {
                ignore(key, "only KPA panics; \(strategyName) ignores it")
            }
        case "autoscaling.aibrix.ai/scale-up-cooldown-window":
            guard let v = duration() else { return }
            if strategy == .hpa {
                setBehavior(up: true, \.stabilizationWindowSeconds, "stabilizationWindowSeconds", Int(v.rounded()), source: key, value: value)
            } else {
                ignore(key, "\(strategyName) has no scale-up stabilisation window (KPA and APA react to every window average)")
            }
        case "autoscaling.aibrix.ai/scale-down-cooldown-window":
            guard let v = duration() else { return }
            switch strategy {
            case .hpa?: setBehavior(up: false, \.stabilizationWindowSeconds, "stabilizationWindowSeconds", Int(v.rounded()), source: key, value: value)
            // Knative's scale-down delay holds the highest recommendation of the window: the same thing.
            case .kpa?: setKPA(\.scaleDownDelaySeconds, "scaleDownDelaySeconds", v, source: key, value: value)
            default: ignore(key, "\(strategyName) has no scale-down stabilisation window")
            }
        case "autoscaling.aibrix.ai/scale-to-zero":
            guard ["true", "false"].contains(value.lowercased()) else {
                issues.append(ValidationIssue(field: path, message: "\"\(value)\" is not a boolean (true or false)"))
                return
            }
            ignore(key, "scaling to zero is allowed exactly when spec.minReplicas is 0 (as in AIBrix, minReplicas still bounds the result)")
        case "autoscaling.aibrix.ai/storm-service-mode":
            ignore(key, "StormService is AIBrix's workload; a DeploymentGroup's roles are scaled with subTargetSelector.roleName")
        // The per-strategy keys of AIBrix ≤ 0.4 (scaler/kpa.go, scaler/apa.go), still used by its samples.
        case "kpa.autoscaling.aibrix.ai/stable-window":
            guard let v = duration() else { return }
            kpaOnly(key) { $0.setKPA(\.stableWindowSeconds, "stableWindowSeconds", v, source: key, value: value) }
        case "kpa.autoscaling.aibrix.ai/panic-window":
            guard let v = duration() else { return }
            kpaOnly(key) { $0.setPanicWindow(seconds: v, source: key, value: value) }
        case "kpa.autoscaling.aibrix.ai/scale-down-delay":
            guard let v = duration() else { return }
            kpaOnly(key) { $0.setKPA(\.scaleDownDelaySeconds, "scaleDownDelaySeconds", v, source: key, value: value) }
        case "kpa.autoscaling.aibrix.ai/activation-scale":
            guard let v = Int(value.trimmingCharacters(in: .whitespaces)) else {
                issues.append(ValidationIssue(field: path, message: "\"\(value)\" is not an integer"))
                return
            }
            kpaOnly(key) { r in
                guard r.spec.kpa?.activationScale == nil else { return r.typedWins(key, "spec.kpa.activationScale") }
                var kpa = r.spec.kpa ?? KPASpec()
                kpa.activationScale = v
                r.spec.kpa = kpa
                r.applied.append(.init(source: key, value: value, field: "spec.kpa.activationScale=\(v)"))
            }
        case "kpa.autoscaling.aibrix.ai/target-burst-capacity":
            guard number() != nil else { return }
            ignore(key, "target burst capacity sizes Knative's activator path, which HeteroScale does not have")
        case "apa.autoscaling.aibrix.ai/window":
            guard let v = duration() else { return }
            if strategy == .apa {
                setAPA(\.windowSeconds, "windowSeconds", v, source: key, value: value)
            } else {
                ignore(key, "only APA reads it; \(strategyName) ignores it")
            }
        default:
            ignore(key, "not an AIBrix setting HeteroScale knows")
        }
    }

    mutating func kpaOnly(_ key: String, _ apply: (inout Resolver) -> Void) {
        if strategy == .kpa { apply(&self) } else { ignore(key, "only KPA reads it; \(strategyName) ignores it") }
    }

    mutating func ignore(_ source: String, _ reason: String) {
        ignored.append(.init(source: source, reason: reason))
    }

    /// `field` already has a value: from the spec as written (the typed field wins), or from an earlier AIBrix
    /// setting (the spec field wins over an annotation).
    mutating func typedWins(_ source: String, _ field: String) {
        if let earlier = applied.first(where: { $0.field.hasPrefix(field + "=") }) {
            ignored.append(.init(source: source, reason: "\(field) is already set from \(earlier.source)"))
        } else {
            ignored.append(.init(source: source, reason: "\(field) is set, and the typed field wins"))
        }
    }

    static func fmt(_ v: Double) -> String { Fmt.num(v) }

    mutating func setKPA(_ kp: WritableKeyPath<KPASpec, Double?>, _ name: String, _ v: Double, source: String, value: String) {
        guard spec.kpa?[keyPath: kp] == nil else { return typedWins(source, "spec.kpa.\(name)") }
        var kpa = spec.kpa ?? KPASpec()
        kpa[keyPath: kp] = v
        spec.kpa = kpa
        applied.append(.init(source: source, value: value, field: "spec.kpa.\(name)=\(Self.fmt(v))"))
    }

    mutating func setAPA(_ kp: WritableKeyPath<APASpec, Double?>, _ name: String, _ v: Double, source: String, value: String) {
        guard spec.apa?[keyPath: kp] == nil else { return typedWins(source, "spec.apa.\(name)") }
        var apa = spec.apa ?? APASpec()
        apa[keyPath: kp] = v
        spec.apa = apa
        applied.append(.init(source: source, value: value, field: "spec.apa.\(name)=\(Self.fmt(v))"))
    }

    /// KPA's panic window is a percentage of the stable window (Knative's `panic-window-percentage`).
    mutating func setPanicWindow(seconds: Double, source: String, value: String) {
        guard spec.kpa?.panicWindowPercentage == nil else { return typedWins(source, "spec.kpa.panicWindowPercentage") }
        let stable = spec.kpa?.stableWindowSeconds ?? KPA.Parameters.defaultStableWindowSeconds
        setKPA(\.panicWindowPercentage, "panicWindowPercentage", seconds / stable * 100, source: source, value: value)
    }

    mutating func setBehavior<T>(up: Bool, _ kp: WritableKeyPath<ScalingRules, T?>, _ name: String, _ v: T, shown: String? = nil,
                                 source: String, value: String) {
        let direction = up ? "scaleUp" : "scaleDown"
        var behavior = spec.behavior ?? ScalingBehavior()
        var rules = (up ? behavior.scaleUp : behavior.scaleDown) ?? ScalingRules()
        guard rules[keyPath: kp] == nil else { return typedWins(source, "spec.behavior.\(direction).\(name)") }
        rules[keyPath: kp] = v
        if up { behavior.scaleUp = rules } else { behavior.scaleDown = rules }
        spec.behavior = behavior
        applied.append(.init(source: source, value: value, field: "spec.behavior.\(direction).\(name)=\(shown ?? "\(v)")"))
    }

    /// `max-scale-{up,down}-rate`: KPA's and APA's rate fields; for HPA, AIBrix's own translation into a
    /// `Percent` policy per 60 s (`hpa_resources.go`: up `(r − 1)·100 %`, down `(1 − 1/r)·100 %`).
    mutating func rate(up: Bool, _ v: Double, source: String, value: String) {
        let name = up ? "maxScaleUpRate" : "maxScaleDownRate"
        switch strategy {
        case .kpa?: setKPA(up ? \.maxScaleUpRate : \.maxScaleDownRate, name, v, source: source, value: value)
        case .apa?: setAPA(up ? \.maxScaleUpRate : \.maxScaleDownRate, name, v, source: source, value: value)
        case .hpa?:
            guard v > 1 else {
                issues.append(ValidationIssue(field: "metadata.annotations[\(source)]", message: "must be greater than 1, got \(value)"))
                return
            }
            let percent = Int(((up ? v - 1 : 1 - 1 / v) * 100).rounded(.down))
            let policy = ScalingPolicy(type: "Percent", value: max(1, percent), periodSeconds: 60)
            setBehavior(up: up, \.policies, "policies", [policy], shown: "[Percent \(policy.value) per 60 s]", source: source, value: value)
        default:
            ignore(source, "\(strategyName) sizes its steps itself (cooldowns, damping)")
        }
    }

    /// Fluctuation tolerances: APA's own fields, HPA's per-direction `tolerance` (Kubernetes 1.33). Knative's
    /// KPA has none.
    mutating func tolerance(up: Bool, _ v: Double, source: String, value: String) {
        switch strategy {
        case .apa?:
            setAPA(up ? \.upFluctuationTolerance : \.downFluctuationTolerance, up ? "upFluctuationTolerance" : "downFluctuationTolerance",
                   v, source: source, value: value)
        case .hpa?: setBehavior(up: up, \.tolerance, "tolerance", v, shown: Self.fmt(v), source: source, value: value)
        default: ignore(source, "\(strategyName) has no fluctuation tolerance (KPA follows Knative, which has none)")
        }
    }
}
