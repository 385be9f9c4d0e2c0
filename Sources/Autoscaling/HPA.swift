import Foundation
import KubeAPI

/// The Kubernetes autoscaling/v2 HorizontalPodAutoscaler algorithm (`replica_calculator.go` and
/// `horizontal.go`), as pure functions over explicit state.
public enum HPA {
    /// Kubernetes' `scaleUpLimitFactor` and `scaleUpLimitMinimum` (used without `behavior`).
    public static let scaleUpLimitFactor = 2.0
    public static let scaleUpLimitMinimum = 4.0
    /// The default downscale stabilisation window (the controller's `--horizontal-pod-autoscaler-downscale-stabilization`).
    public static let defaultDownscaleStabilizationSeconds = 300
    public static let defaultTolerance = 0.1
    /// The default decision period.
    public static let defaultTickSeconds = 15.0

    // MARK: Tolerances

    /// Per-direction tolerance (Kubernetes 1.33): no change while `1 - down ≤ ratio ≤ 1 + up`.
    public struct Tolerances: Sendable, Hashable {
        public var scaleUp: Double
        public var scaleDown: Double
        public init(scaleUp: Double = HPA.defaultTolerance, scaleDown: Double = HPA.defaultTolerance) {
            self.scaleUp = scaleUp
            self.scaleDown = scaleDown
        }
        public init(behavior: ScalingBehavior?) {
            self.init(scaleUp: behavior?.scaleUp?.tolerance ?? HPA.defaultTolerance,
                      scaleDown: behavior?.scaleDown?.tolerance ?? HPA.defaultTolerance)
        }
        public func isWithin(_ ratio: Double) -> Bool { (1 - scaleDown) <= ratio && ratio <= (1 + scaleUp) }
    }

    // MARK: Replica calculator

    /// Why a metric produced no proposal.
    public enum MetricError: Error, Sendable, Hashable, CustomStringConvertible {
        case noPods
        case noMetrics
        case missingRequest(pod: String)
        case noValue
        case invalidTarget

        public var description: String {
            switch self {
            case .noPods: return "no pods returned by selector while calculating replica count"
            case .noMetrics: return "did not receive metrics for targeted pods (pods might be unready)"
            case .missingRequest(let pod): return "missing request for pod \(pod)"
            case .noValue: return "no value for the metric"
            case .invalidTarget: return "the target must be positive"
            }
        }
    }

    /// A proposal for one metric.
    public struct Proposal: Sendable, Hashable {
        public var replicas: Int
        /// Current utilisation (percent) or average value / total, for status and reasons.
        public var current: Double
        public var ratio: Double
    }

    /// Kubernetes' `groupPods`: ignored (deleting, failed), unready (pending; for CPU also not ready), missing
    /// (no metric) and the count of ready pods with metrics.
    struct PodGroups {
        var readyCount = 0
        var unready: Set<String> = []
        var missing: Set<String> = []
        var ignored: Set<String> = []
    }

    static func groupPods(_ pods: [PodSample], considerReadiness: Bool) -> PodGroups {
        var g = PodGroups()
        for pod in pods {
            if pod.phase == .deleting || pod.phase == .failed {
                g.ignored.insert(pod.name)
                continue
            }
            if pod.phase == .pending {
                g.unready.insert(pod.name)
                continue
            }
            if pod.value == nil {
                g.missing.insert(pod.name)
                continue
            }
            if considerReadiness && !pod.ready {
                g.unready.insert(pod.name)
                continue
            }
            g.readyCount += 1
        }
        return g
    }

    /// Kubernetes works in milli-units (`MilliValue()`).
    static func milli(_ v: Double) -> Int64 { Int64((v * 1000).rounded()) }

    /// `GetResourceReplicas`: utilisation of the pods' requests against `targetUtilization` percent.
    /// Readiness counts when `considerReadiness` (CPU: the caller folds the initialisation period into
    /// `PodSample.ready`).
    public static func resourceReplicas(
        currentReplicas: Int, pods: [PodSample], targetUtilization: Double, tolerances: Tolerances = Tolerances(),
        considerReadiness: Bool = true
    ) -> Result<Proposal, MetricError> {
        guard targetUtilization > 0 else { return .failure(.invalidTarget) }
        guard !pods.isEmpty else { return .failure(.noPods) }
        let groups = groupPods(pods, considerReadiness: considerReadiness)
        var metrics: [String: Int64] = [:]
        for pod in pods {
            if let v = pod.value, !groups.ignored.contains(pod.name), !groups.unready.contains(pod.name) {
                metrics[pod.name] = milli(v)
            }
        }
        guard !metrics.isEmpty else { return .failure(.noMetrics) }
        var requests: [String: Int64] = [:]
        for pod in pods {
            guard let r = pod.request else { return .failure(.missingRequest(pod: pod.name)) }
            requests[pod.name] = milli(r)
        }
        let target = Int64(targetUtilization.rounded())
        func utilization(_ m: [String: Int64]) -> (ratio: Double, utilization: Int64)? {
            var total: Int64 = 0, req: Int64 = 0
            for (name, value) in m {
                guard let r = requests[name] else { continue }
                total += value
                req += r
            }
            guard req > 0 else { return nil }
            let u = (total * 100) / req
            return (Double(u) / Double(target), u)
        }
        guard let (usageRatio, util) = utilization(metrics) else { return .failure(.noMetrics) }
        let scaleUpWithUnready = !groups.unready.isEmpty && usageRatio > 1.0
        if !scaleUpWithUnready && groups.missing.isEmpty {
            if tolerances.isWithin(usageRatio) {
                return .success(Proposal(replicas: currentReplicas, current: Double(util), ratio: usageRatio))
            }
            return .success(Proposal(replicas: Int((usageRatio * Double(groups.readyCount)).rounded(.up)), current: Double(util), ratio: usageRatio))
        }
        if !groups.missing.isEmpty {
            if usageRatio < 1.0 {
                let fallback = max(100, target)
                for name in groups.missing { metrics[name] = (requests[name] ?? 0) * fallback / 100 }
            } else if usageRatio > 1.0 {
                for name in groups.missing { metrics[name] = 0 }
            }
        }
        if scaleUpWithUnready {
            for name in groups.unready { metrics[name] = 0 }
        }
        guard let (newRatio, _) = utilization(metrics) else { return .failure(.noMetrics) }
        return .success(Proposal(
            replicas: guardedReplicas(currentReplicas, usageRatio, newRatio, metrics.count, tolerances),
            current: Double(util), ratio: usageRatio))
    }

    /// `GetMetricReplicas` / `calcPlainMetricReplicas`: the pods' average value against `targetValue`.
    /// Readiness does not count (only Pending pods are unready), as in Kubernetes.
    public static func podMetricReplicas(
        currentReplicas: Int, pods: [PodSample], targetValue: Double, tolerances: Tolerances = Tolerances()
    ) -> Result<Proposal, MetricError> {
        let targetUsage = milli(targetValue)
        guard targetUsage > 0 else { return .failure(.invalidTarget) }
        guard !pods.isEmpty else { return .failure(.noPods) }
        let groups = groupPods(pods, considerReadiness: false)
        var metrics: [String: Int64] = [:]
        for pod in pods {
            if let v = pod.value, !groups.ignored.contains(pod.name), !groups.unready.contains(pod.name) {
                metrics[pod.name] = milli(v)
            }
        }
        guard !metrics.isEmpty else { return .failure(.noMetrics) }
        func usage(_ m: [String: Int64]) -> (ratio: Double, usage: Int64) {
            let total = m.values.reduce(0, +)
            let u = total / Int64(m.count)
            return (Double(u) / Double(targetUsage), u)
        }
        let (usageRatio, currentUsage) = usage(metrics)
        let current = Double(currentUsage) / 1000
        let scaleUpWithUnready = !groups.unready.isEmpty && usageRatio > 1.0
        if !scaleUpWithUnready && groups.missing.isEmpty {
            if tolerances.isWithin(usageRatio) {
                return .success(Proposal(replicas: currentReplicas, current: current, ratio: usageRatio))
            }
            return .success(Proposal(replicas: Int((usageRatio * Double(groups.readyCount)).rounded(.up)), current: current, ratio: usageRatio))
        }
        if !groups.missing.isEmpty {
            let fill: Int64 = usageRatio < 1.0 ? targetUsage : 0
            for name in groups.missing { metrics[name] = fill }
        }
        if scaleUpWithUnready {
            for name in groups.unready { metrics[name] = 0 }
        }
        let (newRatio, _) = usage(metrics)
        return .success(Proposal(
            replicas: guardedReplicas(currentReplicas, usageRatio, newRatio, metrics.count, tolerances),
            current: current, ratio: usageRatio))
    }

    /// The second pass shared by resource and pod metrics: no change within tolerance or when the
    /// direction flips; `ceil(newRatio · n)`, but never against the direction of the ratio.
    static func guardedReplicas(_ current: Int, _ usageRatio: Double, _ newRatio: Double, _ count: Int, _ tolerances: Tolerances) -> Int {
        if tolerances.isWithin(newRatio) || (usageRatio < 1.0 && newRatio > 1.0) || (usageRatio > 1.0 && newRatio < 1.0) {
            return current
        }
        let newReplicas = Int((newRatio * Double(count)).rounded(.up))
        if (newRatio < 1.0 && newReplicas > current) || (newRatio > 1.0 && newReplicas < current) {
            return current
        }
        return newReplicas
    }

    /// `GetExternalMetricReplicas` / `GetObjectMetricReplicas` (value targets): `ceil(ratio · ready)`, and from
    /// zero replicas `ceil(ratio)`.
    public static func valueReplicas(
        currentReplicas: Int, value: Double, targetValue: Double, readyPods: Int, tolerances: Tolerances = Tolerances()
    ) -> Result<Proposal, MetricError> {
        let targetUsage = milli(targetValue)
        guard targetUsage > 0 else { return .failure(.invalidTarget) }
        let ratio = Double(milli(value)) / Double(targetUsage)
        if currentReplicas != 0 {
            if tolerances.isWithin(ratio) { return .success(Proposal(replicas: currentReplicas, current: value, ratio: ratio)) }
            return .success(Proposal(replicas: Int((ratio * Double(readyPods)).rounded(.up)), current: value, ratio: ratio))
        }
        return .success(Proposal(replicas: Int(ratio.rounded(.up)), current: value, ratio: ratio))
    }

    // MARK: Normalisation without behavior

    /// `stabilizeRecommendation`: the maximum of the recommendations within the window (and this one);
    /// records this one, reusing the slot of an expired one.
    public static func stabilizeLegacy(_ state: inout HPAState, desired: Int, now: Date, windowSeconds: Int = defaultDownscaleStabilizationSeconds) -> Int {
        var maxRecommendation = desired
        var oldIndex: Int?
        let cutoff = now.addingTimeInterval(-Double(windowSeconds))
        for (i, rec) in state.recommendations.enumerated() {
            if rec.time < cutoff {
                oldIndex = i
            } else if rec.replicas > maxRecommendation {
                maxRecommendation = rec.replicas
            }
        }
        let record = TimestampedRecommendation(time: now, replicas: desired)
        if let oldIndex { state.recommendations[oldIndex] = record } else { state.recommendations.append(record) }
        return maxRecommendation
    }

    /// `convertDesiredReplicasWithRules`: clamp to `[min, min(max, max(2·current, 4))]`.
    public static func convertWithRules(current: Int, desired: Int, minReplicas: Int, maxReplicas: Int) -> (replicas: Int, limit: ConditionHint) {
        let scaleUpLimit = Int(Swift.max(scaleUpLimitFactor * Double(current), scaleUpLimitMinimum))
        var maximumAllowed: Int
        var reason: ReasonCode
        var message: String
        if maxReplicas > scaleUpLimit {
            maximumAllowed = scaleUpLimit
            reason = .scaleUpLimit
            message = "the desired replica count is increasing faster than the maximum scale rate"
        } else {
            maximumAllowed = maxReplicas
            reason = .tooManyReplicas
            message = "the desired replica count is more than the maximum replica count"
        }
        if desired < minReplicas {
            return (minReplicas, ConditionHint(status: true, reason: .tooFewReplicas, message: "the desired replica count is less than the minimum replica count"))
        } else if desired > maximumAllowed {
            return (maximumAllowed, ConditionHint(status: true, reason: reason, message: message))
        }
        return (desired, withinRange)
    }

    static let withinRange = ConditionHint(status: false, reason: .desiredWithinRange, message: "the desired count is within the acceptable range")

    /// `normalizeDesiredReplicas`.
    public static func normalizeLegacy(
        _ state: inout HPAState, current: Int, desired: Int, minReplicas: Int, maxReplicas: Int, now: Date,
        windowSeconds: Int = defaultDownscaleStabilizationSeconds
    ) -> (replicas: Int, ableToScale: ConditionHint, limit: ConditionHint) {
        let stabilized = stabilizeLegacy(&state, desired: desired, now: now, windowSeconds: windowSeconds)
        let able = stabilized != desired
            ? ConditionHint(status: true, reason: .scaleDownStabilized, message: "recent recommendations were higher than current one, applying the highest recent recommendation")
            : ConditionHint(status: true, reason: .readyForNewScale, message: "recommended size matches current size")
        var (replicas, limit) = convertWithRules(current: current, desired: stabilized, minReplicas: minReplicas, maxReplicas: maxReplicas)
        limit.status = replicas != stabilized
        return (replicas, able, limit)
    }

    // MARK: Behavior

    /// `HPAScalingRules` with every default applied.
    public struct Rules: Sendable, Hashable {
        public enum Select: String, Sendable, Hashable { case max = "Max", min = "Min", disabled = "Disabled" }
        public enum PolicyType: String, Sendable, Hashable { case pods = "Pods", percent = "Percent" }
        public struct Policy: Sendable, Hashable {
            public var type: PolicyType
            public var value: Int
            public var periodSeconds: Int
            public init(_ type: PolicyType, _ value: Int, _ periodSeconds: Int) {
                self.type = type
                self.value = value
                self.periodSeconds = periodSeconds
            }
        }
        public var stabilizationWindowSeconds: Int
        public var selectPolicy: Select
        public var policies: [Policy]
        public init(stabilizationWindowSeconds: Int, selectPolicy: Select = .max, policies: [Policy]) {
            self.stabilizationWindowSeconds = stabilizationWindowSeconds
            self.selectPolicy = selectPolicy
            self.policies = policies
        }

        /// Kubernetes' defaults: up {0 s, Max, Pods 4/15 s, Percent 100/15 s}.
        public static func scaleUp(_ r: ScalingRules?) -> Rules {
            Rules(
                stabilizationWindowSeconds: r?.stabilizationWindowSeconds ?? 0,
                selectPolicy: r?.selectPolicy.flatMap(Select.init(rawValue:)) ?? .max,
                policies: r?.policies.map(convert) ?? [Policy(.pods, 4, 15), Policy(.percent, 100, 15)])
        }

        /// Kubernetes' defaults: down {300 s, Max, Percent 100/15 s}.
        public static func scaleDown(_ r: ScalingRules?, defaultStabilization: Int = HPA.defaultDownscaleStabilizationSeconds) -> Rules {
            Rules(
                stabilizationWindowSeconds: r?.stabilizationWindowSeconds ?? defaultStabilization,
                selectPolicy: r?.selectPolicy.flatMap(Select.init(rawValue:)) ?? .max,
                policies: r?.policies.map(convert) ?? [Policy(.percent, 100, 15)])
        }

        static func convert(_ ps: [ScalingPolicy]) -> [Policy] {
            ps.map { Policy(PolicyType(rawValue: $0.type) ?? .pods, $0.value, $0.periodSeconds) }
        }

        var longestPeriod: Int { policies.map(\.periodSeconds).max() ?? 0 }
    }

    /// `stabilizeRecommendationWithBehaviors`: clamp the current count between the minimum of the
    /// up-window and the maximum of the down-window; records the unstabilised recommendation.
    public static func stabilizeWithBehavior(
        _ state: inout HPAState, current: Int, desired: Int, up: Rules, down: Rules, now: Date
    ) -> (replicas: Int, reason: ReasonCode, message: String) {
        var upRecommendation = desired
        var downRecommendation = desired
        let upCutoff = now.addingTimeInterval(-Double(up.stabilizationWindowSeconds))
        let downCutoff = now.addingTimeInterval(-Double(down.stabilizationWindowSeconds))
        var oldIndex: Int?
        for (i, rec) in state.recommendations.enumerated() {
            if rec.time > upCutoff { upRecommendation = Swift.min(rec.replicas, upRecommendation) }
            if rec.time > downCutoff { downRecommendation = Swift.max(rec.replicas, downRecommendation) }
            if rec.time < upCutoff && rec.time < downCutoff { oldIndex = i }
        }
        var recommendation = current
        if recommendation < upRecommendation { recommendation = upRecommendation }
        if recommendation > downRecommendation { recommendation = downRecommendation }
        let record = TimestampedRecommendation(time: now, replicas: desired)
        if let oldIndex { state.recommendations[oldIndex] = record } else { state.recommendations.append(record) }
        if desired >= current {
            return (recommendation, .scaleUpStabilized, "recent recommendations were lower than current one, applying the lowest recent recommendation")
        }
        return (recommendation, .scaleDownStabilized, "recent recommendations were higher than current one, applying the highest recent recommendation")
    }

    static func changeInPeriod(_ periodSeconds: Int, _ events: [TimestampedScaleEvent], now: Date) -> Int {
        let cutoff = now.addingTimeInterval(-Double(periodSeconds))
        return events.reduce(0) { $1.time > cutoff ? $0 + $1.replicaChange : $0 }
    }

    /// `calculateScaleUpLimitWithScalingRules`.
    public static func scaleUpLimit(current: Int, state: HPAState, rules: Rules, now: Date) -> Int {
        if rules.selectPolicy == .disabled { return current }
        var result = rules.selectPolicy == .min ? Int.max : Int.min
        for p in rules.policies {
            let start = current - changeInPeriod(p.periodSeconds, state.scaleUpEvents, now: now)
                + changeInPeriod(p.periodSeconds, state.scaleDownEvents, now: now)
            let proposed = p.type == .pods
                ? start + p.value
                : Int((Double(start) * (1 + Double(p.value) / 100)).rounded(.up))
            result = rules.selectPolicy == .min ? Swift.min(result, proposed) : Swift.max(result, proposed)
        }
        return result
    }

    /// `calculateScaleDownLimitWithBehaviors`.
    public static func scaleDownLimit(current: Int, state: HPAState, rules: Rules, now: Date) -> Int {
        if rules.selectPolicy == .disabled { return current }
        var result = rules.selectPolicy == .min ? Int.min : Int.max
        for p in rules.policies {
            let start = current - changeInPeriod(p.periodSeconds, state.scaleUpEvents, now: now)
                + changeInPeriod(p.periodSeconds, state.scaleDownEvents, now: now)
            let proposed = p.type == .pods
                ? start - p.value
                : Int(Double(start) * (1 - Double(p.value) / 100))
            result = rules.selectPolicy == .min ? Swift.max(result, proposed) : Swift.min(result, proposed)
        }
        return result
    }

    /// `convertDesiredReplicasWithBehaviorRate`.
    public static func convertWithBehaviorRate(
        state: HPAState, current: Int, desired: Int, minReplicas: Int, maxReplicas: Int, up: Rules, down: Rules, now: Date
    ) -> (replicas: Int, limit: ConditionHint) {
        if desired > current {
            var limit = scaleUpLimit(current: current, state: state, rules: up, now: now)
            if limit < current { limit = current }
            var maximumAllowed = maxReplicas
            var hint: ConditionHint
            if maximumAllowed > limit {
                maximumAllowed = limit
                hint = ConditionHint(status: true, reason: .scaleUpLimit, message: "the desired replica count is increasing faster than the maximum scale rate")
            } else {
                hint = ConditionHint(status: true, reason: .tooManyReplicas, message: "the desired replica count is more than the maximum replica count")
            }
            if desired > maximumAllowed { return (maximumAllowed, hint) }
        } else if desired < current {
            var limit = scaleDownLimit(current: current, state: state, rules: down, now: now)
            if limit > current { limit = current }
            var minimumAllowed = minReplicas
            var hint: ConditionHint
            if minimumAllowed < limit {
                minimumAllowed = limit
                hint = ConditionHint(status: true, reason: .scaleDownLimit, message: "the desired replica count is decreasing faster than the maximum scale rate")
            } else {
                hint = ConditionHint(status: true, reason: .tooFewReplicas, message: "the desired replica count is less than the minimum replica count")
            }
            if desired < minimumAllowed { return (minimumAllowed, hint) }
        }
        return (desired, withinRange)
    }

    /// `normalizeDesiredReplicasWithBehaviors`.
    public static func normalizeWithBehavior(
        _ state: inout HPAState, behavior: ScalingBehavior, current: Int, desired: Int, minReplicas: Int, maxReplicas: Int, now: Date
    ) -> (replicas: Int, ableToScale: ConditionHint, limit: ConditionHint) {
        let up = Rules.scaleUp(behavior.scaleUp)
        let down = Rules.scaleDown(behavior.scaleDown)
        let (stabilized, reason, message) = stabilizeWithBehavior(&state, current: current, desired: desired, up: up, down: down, now: now)
        let able = stabilized != desired
            ? ConditionHint(status: true, reason: reason, message: message)
            : ConditionHint(status: true, reason: .readyForNewScale, message: "recommended size matches current size")
        var (replicas, limit) = convertWithBehaviorRate(
            state: state, current: current, desired: stabilized, minReplicas: minReplicas, maxReplicas: maxReplicas, up: up, down: down, now: now)
        limit.status = replicas != stabilized
        return (replicas, able, limit)
    }

    /// `storeScaleEvent`: remembers a change for the rate policies, reusing an outdated slot.
    public static func storeScaleEvent(_ state: inout HPAState, behavior: ScalingBehavior?, previous: Int, new: Int, now: Date) {
        guard behavior != nil, previous != new else { return }
        let up = new > previous
        let rules = up ? Rules.scaleUp(behavior?.scaleUp) : Rules.scaleDown(behavior?.scaleDown)
        let cutoff = now.addingTimeInterval(-Double(rules.longestPeriod))
        var events = up ? state.scaleUpEvents : state.scaleDownEvents
        for i in events.indices where events[i].time < cutoff { events[i].outdated = true }
        let event = TimestampedScaleEvent(time: now, replicaChange: abs(new - previous))
        if let i = events.firstIndex(where: \.outdated) { events[i] = event } else { events.append(event) }
        if up { state.scaleUpEvents = events } else { state.scaleDownEvents = events }
    }

    // MARK: Decision

    /// One HPA decision (`reconcileAutoscaler` + `computeReplicasForMetrics`).
    public static func decide(
        spec: PodAutoscalerSpec, snapshot: ScalingSnapshot, state: inout HPAState, now: Date
    ) -> Decision {
        let current = snapshot.currentReplicas
        let minReplicas = spec.minReplicas ?? 1
        let maxReplicas = spec.maxReplicas
        let tolerances = Tolerances(behavior: spec.behavior)
        var details = DecisionDetails(strategy: "HPA")

        if current == 0 && minReplicas != 0 {
            return Decision(
                desiredReplicas: 0, reason: "HPA: scaling is disabled since the replica count of the target is zero",
                scalingActive: false,
                activeCondition: ConditionHint(status: false, reason: .scalingDisabled, message: "scaling is disabled since the replica count of the target is zero"),
                details: details)
        }
        if current > maxReplicas {
            return Decision(
                desiredReplicas: maxReplicas, reason: "HPA: current number of replicas (\(current)) above maxReplicas → \(maxReplicas)",
                scalingLimited: ConditionHint(status: true, reason: .tooManyReplicas, message: "the desired replica count is more than the maximum replica count"),
                details: details)
        }
        if current < minReplicas {
            return Decision(
                desiredReplicas: minReplicas, reason: "HPA: current number of replicas (\(current)) below minReplicas → \(minReplicas)",
                scalingLimited: ConditionHint(status: true, reason: .tooFewReplicas, message: "the desired replica count is less than the minimum replica count"),
                details: details)
        }

        var best = 0
        var bestText = ""
        var invalid = 0
        var firstError: String?
        let sources = spec.metricsSources ?? []
        for source in snapshot.sources {
            let type = source.index < sources.count ? MetricSourceType(rawValue: sources[source.index].metricSourceType) : .pod
            let result: Result<Proposal, MetricError>
            var describe: (Proposal) -> String
            switch type {
            case .resource:
                let isCPU = source.metricName == "cpu"
                result = resourceReplicas(currentReplicas: current, pods: source.pods, targetUtilization: source.target, tolerances: tolerances, considerReadiness: isCPU)
                describe = { "\(source.metricName) utilisation \(Fmt.num($0.current))% / target \(Fmt.num(source.target))%" }
            case .pod:
                if source.pods.isEmpty, let total = source.total, snapshot.readyReplicas > 0 {
                    // An aggregated pod metric: its average over the ready pods.
                    let avg = total / Double(snapshot.readyReplicas)
                    let pods = (0..<snapshot.readyReplicas).map { PodSample(name: "pod-\($0)", value: avg) }
                    result = podMetricReplicas(currentReplicas: current, pods: pods, targetValue: source.target, tolerances: tolerances)
                } else {
                    result = podMetricReplicas(currentReplicas: current, pods: source.pods, targetValue: source.target, tolerances: tolerances)
                }
                describe = { "\(source.metricName) average \(Fmt.num($0.current)) / target \(Fmt.num(source.target))" }
            case .prometheus:
                let value = source.total ?? Autoscaler.sum(source.pods)
                let ready = source.pods.isEmpty
                    ? snapshot.readyReplicas
                    : source.pods.filter { $0.phase == .running && $0.ready }.count
                if let value {
                    result = valueReplicas(currentReplicas: current, value: value, targetValue: source.target, readyPods: ready, tolerances: tolerances)
                } else {
                    result = .failure(.noValue)
                }
                describe = { "\(source.metricName) \(Fmt.num($0.current)) / target \(Fmt.num(source.target))" }
            case nil:
                result = .failure(.invalidTarget)
                describe = { _ in "" }
            }
            switch result {
            case .success(let p):
                details.metricValues[source.metricName] = p.current
                if p.replicas > best || bestText.isEmpty {
                    best = Swift.max(best, p.replicas)
                    bestText = describe(p)
                }
            case .failure(let e):
                invalid += 1
                if firstError == nil { firstError = "\(source.metricName): \(e)" }
            }
        }
        if snapshot.sources.isEmpty {
            invalid = 1
            firstError = "no metrics observed"
        }
        if invalid >= Swift.max(1, snapshot.sources.count) || (invalid > 0 && best < current) {
            var d = Decision.inactive(current: current, reason: .failedGetMetrics, message: firstError ?? "invalid metrics", strategy: "HPA")
            d.details = details
            return d
        }
        details.recommendation = best
        let result: (replicas: Int, ableToScale: ConditionHint, limit: ConditionHint)
        if let behavior = spec.behavior {
            result = normalizeWithBehavior(&state, behavior: behavior, current: current, desired: best, minReplicas: minReplicas, maxReplicas: maxReplicas, now: now)
            storeScaleEvent(&state, behavior: behavior, previous: current, new: result.replicas, now: now)
        } else {
            result = normalizeLegacy(&state, current: current, desired: best, minReplicas: minReplicas, maxReplicas: maxReplicas, now: now)
        }
        var reason = "HPA: \(bestText) → \(best)"
        if result.replicas != best {
            reason += " → \(result.replicas) (\(result.limit.status ? result.limit.reason : result.ableToScale.reason))"
        }
        return Decision(
            desiredReplicas: result.replicas, reason: reason, ableToScale: result.ableToScale,
            scalingLimited: result.limit, details: details)
    }
}

/// Locale-independent number formatting for reasons.
public enum Fmt {
    /// Up to `decimals` digits after the point, trailing zeros dropped (`12`, `0.5`, `120.25`).
    public static func num(_ v: Double, _ decimals: Int = 2) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "inf" : "-inf") }
        var s = String(format: "%.\(decimals)f", locale: nil, v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }
}
