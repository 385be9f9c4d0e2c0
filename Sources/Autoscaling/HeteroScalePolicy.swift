import Foundation
import KubeAPI

/// What HeteroScale reads in one decision: the group-wide signals and the roles of the DeploymentGroup.
public struct HeteroScaleInput: Sendable, Hashable {
    /// One role (pool) of the group.
    public struct RoleInfo: Sendable, Hashable {
        public var name: String
        /// The role's weight in the P/D ratio (DeploymentGroup `roles[].weight`).
        public var weight: Double
        /// Replicas the role is currently scaled to (spec), the base every step is taken from.
        public var current: Int
        /// Ready replicas (informational; shown in the reason when fewer than `current`).
        public var ready: Int
        public var minReplicas: Int
        public var maxReplicas: Int
        public init(name: String, weight: Double, current: Int, ready: Int? = nil, minReplicas: Int = 0, maxReplicas: Int = Int.max) {
            self.name = name
            self.weight = weight
            self.current = current
            self.ready = ready ?? current
            self.minReplicas = minReplicas
            self.maxReplicas = maxReplicas
        }
    }

    /// Generation tokens/s over the decode pool; `nil` (or not finite, or negative) means unknown → hold.
    public var decodeTPS: Double?
    /// KV-cache-missed prompt tokens/s over the prefill pool (optional second signal, max rule).
    public var prefillTPS: Double?
    /// P90 time between tokens and time to first token, in milliseconds (optional; latency feedback).
    public var tbtP90Milliseconds: Double?
    public var ttftP90Milliseconds: Double?
    public var roles: [RoleInfo]
    /// Override the spec's role names (only used to label roles `P` and `D` in the reason).
    public var prefillRole: String?
    public var decodeRole: String?

    public init(
        decodeTPS: Double?, prefillTPS: Double? = nil, tbtP90Milliseconds: Double? = nil,
        ttftP90Milliseconds: Double? = nil, roles: [RoleInfo], prefillRole: String? = nil, decodeRole: String? = nil
    ) {
        self.decodeTPS = decodeTPS
        self.prefillTPS = prefillTPS
        self.tbtP90Milliseconds = tbtP90Milliseconds
        self.ttftP90Milliseconds = ttftP90Milliseconds
        self.roles = roles
        self.prefillRole = prefillRole
        self.decodeRole = decodeRole
    }
}

/// HeteroScale's memory between decisions: when it last scaled in each direction (for the cooldowns) and the
/// needs of the scale-in stabilisation window.
public struct HeteroScaleState: Codable, Sendable, Equatable {
    /// One observed need (`I_total`, instances) and when.
    public struct TimedNeed: Codable, Sendable, Equatable {
        public var time: Date
        public var instances: Double
        public init(time: Date, instances: Double) {
            self.time = time
            self.instances = instances
        }
    }
    /// The last scale-out (TPS- or latency-driven).
    public var lastScaleOutTime: Date?
    /// The last scale-out that latency feedback drove (informational).
    public var lastLatencyScaleOutTime: Date?
    public var lastScaleInTime: Date?
    /// Needs observed within the scale-in stabilisation window, oldest first (an observation: a decision that
    /// is not applied keeps them, `AutoscalerState.withoutScaleAction`).
    public var recentNeeds: [TimedNeed]
    public init(lastScaleOutTime: Date? = nil, lastLatencyScaleOutTime: Date? = nil, lastScaleInTime: Date? = nil,
                recentNeeds: [TimedNeed] = []) {
        self.lastScaleOutTime = lastScaleOutTime
        self.lastLatencyScaleOutTime = lastLatencyScaleOutTime
        self.lastScaleInTime = lastScaleInTime
        self.recentNeeds = recentNeeds
    }

    private enum CodingKeys: String, CodingKey { case lastScaleOutTime, lastLatencyScaleOutTime, lastScaleInTime, recentNeeds }
    /// Decodes state written before the stabilisation window existed (no `recentNeeds`: an empty window).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lastScaleOutTime = try c.decodeIfPresent(Date.self, forKey: .lastScaleOutTime)
        lastLatencyScaleOutTime = try c.decodeIfPresent(Date.self, forKey: .lastLatencyScaleOutTime)
        lastScaleInTime = try c.decodeIfPresent(Date.self, forKey: .lastScaleInTime)
        recentNeeds = try c.decodeIfPresent([TimedNeed].self, forKey: .recentNeeds) ?? []
    }

    /// Records `need` at `now`, forgets needs older than `window`, and returns the highest need left (≥ `need`).
    mutating func stabilisedNeed(_ need: Double, now: Date, window: Double) -> Double {
        recentNeeds.removeAll { now.timeIntervalSince($0.time) >= window }
        recentNeeds.append(TimedNeed(time: now, instances: need))
        return recentNeeds.reduce(need) { max($0, $1.instances) }
    }
}

/// The outcome of one HeteroScale decision.
public struct HeteroScaleDecision: Sendable, Hashable {
    public struct RoleReplicas: Sendable, Hashable {
        public var name: String
        public var replicas: Int
        public init(name: String, replicas: Int) {
            self.name = name
            self.replicas = replicas
        }
    }

    public enum Direction: String, Sendable, Hashable, Codable {
        case hold, scaleOut, scaleIn
    }

    /// Why the decision did less than the signal asked for (or nothing).
    public enum Limit: String, Sendable, Hashable, Codable {
        /// Decode TPS unknown: no scaling on missing data.
        case missingMetric
        /// Inside the hysteresis band, or the rounded need equals the current size.
        case hysteresis
        /// The last need asks to scale in, the highest need of the scale-in stabilisation window does not.
        case stabilization
        /// A TPS scale-out or a scale-in waits for its cooldown.
        case cooldown
        /// A latency tier fired but latency's cooldown since the last scale-out has not passed.
        case latencyCooldown
        /// TPS asked to scale in while a latency tier fired: latency vetoes scale-in.
        case latencyVeto
        /// The roles' minimum replicas bound the result.
        case minReplicas
        /// The roles' maximum replicas bound the result.
        case maxReplicas
        /// Every smaller total would put a role off the P/D ratio by more than `ratioTolerance` (scale-in held).
        case ratio
        /// The group has no roles.
        case noRoles
    }

    /// Replicas per role, in the input's role order.
    public var roles: [RoleReplicas]
    /// Sum of `roles`.
    public var total: Int
    /// `I_total`: instances the signals ask for (nil when decode TPS is missing).
    public var desiredInstances: Double?
    public var direction: Direction
    /// The latency tier that fired, 1-based in ascending ratio order (nil: none fired).
    public var tierHit: Int?
    /// Whether latency (rather than TPS) set the size of this scale-out.
    public var latencyDriven: Bool
    public var limitedBy: Limit?
    public var reason: String

    public func replicas(for role: String) -> Int? { roles.first { $0.name == role }?.replicas }
}

/// HeteroScale: one signal — decode TPS — sizes the whole P/D group, which is then split by the DeploymentGroup
/// weights, so prefill and decode always move together at a fixed ratio. Latency tiers add instances as a safety
/// net (never remove them); hysteresis, damping and cooldowns keep the group from flapping. Pure and
/// deterministic: the same input, state and time always give the same decision.
///
/// Rules, in order:
/// 1. Decode TPS missing → hold (`missingMetric`).
/// 2. `I_total = max(decodeTPS / targetDecodeTPSPerInstance, prefillTPS / targetPrefillTPSPerInstance)`,
///    `ratio = I_total / I_current` with `I_current` the sum of the roles' current replicas.
/// 3. TPS wants out when `ratio > 1 + θ_out`, in when `ratio < 1 − θ_in` and `⌈I_total⌉ < I_current`.
///    Step: `new = current + damping·(⌈I_total⌉ − current)`, rounded away from current, at least one instance.
/// 4. Latency: the highest tier whose ratio `p90 / SLO` (TBT or TTFT, whichever is worse) exceeds wants
///    `current + max(1, ⌈current·step%⌉)`.
/// 5. Cooldowns: TPS scale-out needs `scaleOutCooldown` since the last scale-out; latency scale-out needs
///    `latency.cooldownSeconds` since the last scale-out; scale-in needs `scaleInCooldown` since the last
///    scaling action in either direction (so it also waits after a scale-out). Scale-out never waits for a
///    scale-in.
/// 6. Both TPS and latency want out → the larger target. A firing tier vetoes a TPS scale-in.
/// 7. The total is clamped to `[Σmin, Σmax]` and apportioned by weight with `RatioApportionment`; on
///    scale-out each role's minimum is raised to its current count and on scale-in each maximum lowered to it,
///    so no role ever moves against the group (bounds win if a role is already outside them).
public struct HeteroScalePolicy: Sendable {
    public let parameters: HeteroScaleParameters

    public init(spec: HeteroScaleSpec) throws(StrategySpecError) {
        parameters = try HeteroScaleParameters(spec: spec)
    }

    public init(parameters: HeteroScaleParameters) {
        self.parameters = parameters
    }

    /// `HeteroScaleParameters.validate`.
    public static func validate(_ spec: HeteroScaleSpec, path: String = "spec.heteroScale") -> [StrategySpecIssue] {
        HeteroScaleParameters.validate(spec, path: path)
    }

    public func decide(_ input: HeteroScaleInput, state: inout HeteroScaleState, now: Date) -> HeteroScaleDecision {
        let p = parameters
        let roles = input.roles
        let labels = roleLabels(input)
        let current = roles.map(\.current)
        let currentTotal = current.reduce(0, +)
        func rolesText(_ counts: [Int]) -> String {
            zip(labels, counts).map { "\($0) \($1)" }.joined(separator: ", ")
        }
        let readyNote: String = {
            let lagging = roles.indices.filter { roles[$0].ready < roles[$0].current }
            guard !lagging.isEmpty else { return "" }
            return "; ready " + lagging.map { "\(labels[$0]) \(roles[$0].ready)/\(roles[$0].current)" }.joined(separator: ", ")
        }()

        guard !roles.isEmpty else {
            return HeteroScaleDecision(
                roles: [], total: 0, desiredInstances: nil, direction: .hold, tierHit: nil, latencyDriven: false,
                limitedBy: .noRoles, reason: "HeteroScale: the group has no roles → hold")
        }

        // Bounds first: a role outside [min, max] is pulled back in whatever the signals say.
        let boundedCurrent = roles.map { min(max($0.current, max(0, $0.minReplicas)), max(max(0, $0.minReplicas), $0.maxReplicas)) }
        func boundsDecision(prefix: String, desired: Double?, tierHit: Int?) -> HeteroScaleDecision? {
            guard boundedCurrent != current else { return nil }
            let total = boundedCurrent.reduce(0, +)
            let limit: HeteroScaleDecision.Limit = zip(boundedCurrent, current).contains { $0 > $1 } ? .minReplicas : .maxReplicas
            return HeteroScaleDecision(
                roles: zip(roles, boundedCurrent).map { .init(name: $0.name, replicas: $1) }, total: total,
                desiredInstances: desired,
                direction: total > currentTotal ? .scaleOut : (total < currentTotal ? .scaleIn : .hold),
                tierHit: tierHit, latencyDriven: false, limitedBy: limit,
                reason: "\(prefix) → roles outside their bounds, set to \(total) (\(rolesText(boundedCurrent)))\(readyNote)")
        }

        guard let decodeTPS = input.decodeTPS, decodeTPS.isFinite, decodeTPS >= 0 else {
            let prefix = "HeteroScale: decode TPS unavailable"
            if let d = boundsDecision(prefix: prefix, desired: nil, tierHit: nil) { return d }
            return HeteroScaleDecision(
                roles: zip(roles, current).map { .init(name: $0.name, replicas: $1) }, total: currentTotal,
                desiredInstances: nil, direction: .hold, tierHit: nil, latencyDriven: false, limitedBy: .missingMetric,
                reason: "\(prefix) → hold at \(currentTotal) (\(rolesText(current))): no scaling on missing data\(readyNote)")
        }

        // 2. Size of the group the signals ask for.
        let decodeNeed = decodeTPS / p.targetDecodeTPSPerInstance
        var need = decodeNeed
        var signalText = "decode TPS \(HeteroScaleFormat.compact(decodeTPS)) / \(HeteroScaleFormat.compact(p.targetDecodeTPSPerInstance)) per instance"
        if let prefillTPS = input.prefillTPS, prefillTPS.isFinite, prefillTPS >= 0, let target = p.targetPrefillTPSPerInstance {
            let prefillNeed = prefillTPS / target
            if prefillNeed > decodeNeed {
                need = prefillNeed
                signalText = "prefill TPS \(HeteroScaleFormat.compact(prefillTPS)) / \(HeteroScaleFormat.compact(target)) per instance"
                    + " (> decode \(HeteroScaleFormat.fixed(decodeNeed, 1)))"
            }
        }
        let ratio = currentTotal > 0 ? need / Double(currentTotal) : (need > 0 ? Double.infinity : 1)
        let change = currentTotal > 0 ? HeteroScaleFormat.signedPercent(ratio - 1) : (need > 0 ? "+∞%" : "+0%")
        let needText = "\(signalText) = \(HeteroScaleFormat.fixed(need, 1)) instances (current \(currentTotal), \(change))"
        // 2b. Scale-in stabilisation: a scale-in sizes the group for the highest need of the window.
        let stableNeed = state.stabilisedNeed(need, now: now, window: p.scaleInStabilizationSeconds)
        let ceilStableNeed = Int(min(stableNeed - 1e-9, Double(Int.max / 2)).rounded(.up))
        let stableRatio = currentTotal > 0 ? stableNeed / Double(currentTotal) : ratio
        let stableText = "highest need in the last \(HeteroScaleFormat.seconds(p.scaleInStabilizationSeconds)) \(HeteroScaleFormat.fixed(stableNeed, 1))"
        let ceilNeed = Int(min(need - 1e-9, Double(Int.max / 2)).rounded(.up))

        // 3. TPS proposal.
        enum Want { case none, out(Int), inward(Int) }
        var tpsWant = Want.none
        var roundingHold = false
        var stabilised = false
        if ratio > 1 + p.scaleOutThreshold {
            let step = p.scaleOutDamping * Double(ceilNeed - currentTotal)
            tpsWant = .out(max(currentTotal + 1, currentTotal + Int((step - 1e-9).rounded(.up))))
        } else if ratio < 1 - p.scaleInThreshold && stableRatio >= 1 - p.scaleInThreshold {
            stabilised = true
        } else if ratio < 1 - p.scaleInThreshold {
            let target = max(0, ceilStableNeed)
            if target < currentTotal {
                let step = p.scaleInDamping * Double(target - currentTotal)
                tpsWant = .inward(min(currentTotal - 1, currentTotal + Int((step + 1e-9).rounded(.down))))
            } else {
                roundingHold = true
            }
        }

        // 4. Latency tier.
        var tierHit: Int?
        var latencyTarget: Int?
        var latencyText = "latency tier none"
        if !p.tiers.isEmpty {
            var worst: (ratio: Double, text: String)?
            if let slo = p.tbtSLOMilliseconds, let v = input.tbtP90Milliseconds, v.isFinite {
                worst = (v / slo, "TBT p90 \(HeteroScaleFormat.compact(v)) ms = \(HeteroScaleFormat.fixed(v / slo, 2))× SLO \(HeteroScaleFormat.compact(slo)) ms")
            }
            if let slo = p.ttftSLOMilliseconds, let v = input.ttftP90Milliseconds, v.isFinite, v / slo > (worst?.ratio ?? -.infinity) {
                worst = (v / slo, "TTFT p90 \(HeteroScaleFormat.compact(v)) ms = \(HeteroScaleFormat.fixed(v / slo, 2))× SLO \(HeteroScaleFormat.compact(slo)) ms")
            }
            if let worst, let index = p.tiers.lastIndex(where: { worst.ratio > $0.ratio }) {
                let tier = p.tiers[index]
                tierHit = index + 1
                let add = max(1, Int((Double(currentTotal) * tier.stepPercent / 100 - 1e-9).rounded(.up)))
                latencyTarget = currentTotal + add
                latencyText = "latency tier \(index + 1) (\(worst.text) → +\(HeteroScaleFormat.compact(tier.stepPercent))%, +\(add))"
            }
        }

        // 5. Cooldowns.
        let sinceOut = state.lastScaleOutTime.map { now.timeIntervalSince($0) }
        let lastAny = [state.lastScaleOutTime, state.lastScaleInTime].compactMap { $0 }.max()
        let sinceAny = lastAny.map { now.timeIntervalSince($0) }
        let outReady = sinceOut.map { $0 >= p.scaleOutCooldownSeconds } ?? true
        let latencyReady = sinceOut.map { $0 >= p.latencyCooldownSeconds } ?? true
        let inReady = sinceAny.map { $0 >= p.scaleInCooldownSeconds } ?? true

        // 6. Combine.
        var desiredTotal = currentTotal
        var direction = HeteroScaleDecision.Direction.hold
        var limit: HeteroScaleDecision.Limit?
        var latencyDriven = false
        var holdWhy = ""
        var outCandidates: [(target: Int, latency: Bool)] = []
        if case .out(let t) = tpsWant, outReady { outCandidates.append((t, false)) }
        if let t = latencyTarget, latencyReady { outCandidates.append((t, true)) }
        if let best = outCandidates.max(by: { $0.target < $1.target || ($0.target == $1.target && $0.latency && !$1.latency) }) {
            desiredTotal = best.target
            direction = .scaleOut
            latencyDriven = best.latency
        } else if case .out = tpsWant {
            limit = .cooldown
            holdWhy = "scale-out cooldown, \(HeteroScaleFormat.seconds(p.scaleOutCooldownSeconds - (sinceOut ?? 0))) of \(HeteroScaleFormat.seconds(p.scaleOutCooldownSeconds)) left"
        } else if latencyTarget != nil {
            limit = .latencyCooldown
            holdWhy = "latency cooldown, \(HeteroScaleFormat.seconds(p.latencyCooldownSeconds - (sinceOut ?? 0))) of \(HeteroScaleFormat.seconds(p.latencyCooldownSeconds)) left"
            if case .inward = tpsWant { holdWhy += "; latency vetoes scale-in" }
        } else if case .inward(let t) = tpsWant {
            if tierHit != nil {
                limit = .latencyVeto
                holdWhy = "latency vetoes scale-in"
            } else if !inReady {
                limit = .cooldown
                holdWhy = "scale-in cooldown, \(HeteroScaleFormat.seconds(p.scaleInCooldownSeconds - (sinceAny ?? 0))) of \(HeteroScaleFormat.seconds(p.scaleInCooldownSeconds)) left"
            } else {
                desiredTotal = t
                direction = .scaleIn
            }
        } else if stabilised {
            limit = .stabilization
            holdWhy = "scale-in stabilisation, \(stableText) (\(HeteroScaleFormat.signedPercent(stableRatio - 1))) is within the band"
        } else {
            limit = .hysteresis
            holdWhy = roundingHold
                ? "rounded need \(max(0, ceilStableNeed)) is not below current"
                : "within hysteresis band (-\(HeteroScaleFormat.compact(p.scaleInThreshold * 100))%…+\(HeteroScaleFormat.compact(p.scaleOutThreshold * 100))%)"
        }

        let prefix = "HeteroScale: \(needText)"
        if direction == .hold {
            if let d = boundsDecision(prefix: prefix, desired: need, tierHit: tierHit) { return d }
            return HeteroScaleDecision(
                roles: zip(roles, current).map { .init(name: $0.name, replicas: $1) }, total: currentTotal,
                desiredInstances: need, direction: .hold, tierHit: tierHit, latencyDriven: false, limitedBy: limit,
                reason: "\(prefix) → hold at \(currentTotal) (\(rolesText(current))): \(holdWhy); \(latencyText)\(readyNote)")
        }

        // 7. Bounds and apportionment, never moving a role against the group.
        let minTotal = roles.reduce(0) { $0 + max(0, $1.minReplicas) }
        let maxTotal = roles.reduce(0) { sum, role in
            let (s, overflow) = sum.addingReportingOverflow(max(max(0, role.minReplicas), role.maxReplicas))
            return overflow ? Int.max : s
        }
        var boundedTotal = desiredTotal
        if boundedTotal > maxTotal { boundedTotal = maxTotal; limit = .maxReplicas }
        if boundedTotal < minTotal { boundedTotal = minTotal; limit = .minReplicas }
        // 7a. A total whose split is off the ratio moves to the nearest one that is not, away from the need.
        var ratioText = ""
        let snapped = ratioTotal(boundedTotal, direction: direction, current: currentTotal,
                                 need: direction == .scaleIn ? ceilStableNeed : ceilNeed,
                                 minTotal: minTotal, maxTotal: maxTotal, roles: roles)
        if snapped != boundedTotal {
            ratioText = " (\(boundedTotal) would split \(rolesText(plainSplit(boundedTotal, roles))), off the ratio by more than \(HeteroScaleFormat.compact(p.ratioTolerance * 100))%)"
            if snapped == currentTotal {
                return HeteroScaleDecision(
                    roles: zip(roles, current).map { .init(name: $0.name, replicas: $1) }, total: currentTotal,
                    desiredInstances: need, direction: .hold, tierHit: tierHit, latencyDriven: false, limitedBy: .ratio,
                    reason: "\(prefix) → hold at \(currentTotal) (\(rolesText(current))): no total between \(max(minTotal, ceilStableNeed)) and \(currentTotal - 1) keeps the ratio within \(HeteroScaleFormat.compact(p.ratioTolerance * 100))%; \(latencyText)\(readyNote)")
            }
            boundedTotal = snapped
        }
        let apportioned = RatioApportionment.apportion(total: boundedTotal, roles: roles.map { role in
            let lo = max(0, role.minReplicas)
            let hi = max(lo, role.maxReplicas)
            if direction == .scaleOut {
                return .init(name: role.name, weight: role.weight, minReplicas: min(max(lo, role.current), hi), maxReplicas: hi)
            } else {
                return .init(name: role.name, weight: role.weight, minReplicas: lo, maxReplicas: max(lo, min(hi, role.current)))
            }
        })
        let newTotal = apportioned.reduce(0, +)
        if apportioned == current {
            let bound = direction == .scaleOut ? "maximum" : "minimum"
            return HeteroScaleDecision(
                roles: zip(roles, current).map { .init(name: $0.name, replicas: $1) }, total: currentTotal,
                desiredInstances: need, direction: .hold, tierHit: tierHit, latencyDriven: false,
                limitedBy: limit ?? (direction == .scaleOut ? .maxReplicas : .minReplicas),
                reason: "\(prefix) → hold at \(currentTotal) (\(rolesText(current))): at the roles' \(bound) replicas; \(latencyText)\(readyNote)")
        }
        let finalDirection: HeteroScaleDecision.Direction = newTotal > currentTotal ? .scaleOut : (newTotal < currentTotal ? .scaleIn : direction)
        switch finalDirection {
        case .scaleOut:
            state.lastScaleOutTime = now
            if latencyDriven { state.lastLatencyScaleOutTime = now }
        case .scaleIn:
            state.lastScaleInTime = now
        case .hold:
            break
        }
        var verb = finalDirection == .scaleIn ? "scale in" : "scale out"
        if latencyDriven { verb += " (latency)" }
        var limitText = ""
        if finalDirection == .scaleIn && stableNeed > need + 0.05 { limitText = " (\(stableText))" }
        if limit == .maxReplicas { limitText = " (capped by max replicas)" }
        if limit == .minReplicas { limitText = " (raised to min replicas)" }
        return HeteroScaleDecision(
            roles: zip(roles, apportioned).map { .init(name: $0.name, replicas: $1) }, total: newTotal,
            desiredInstances: need, direction: finalDirection, tierHit: tierHit, latencyDriven: latencyDriven,
            limitedBy: limit,
            reason: "\(prefix) → \(verb) to \(newTotal)\(limitText)\(ratioText) (\(rolesText(apportioned))); \(latencyText)\(readyNote)")
    }

    /// The roles' split of `total` by weight within their own bounds (what the group would get).
    func plainSplit(_ total: Int, _ roles: [HeteroScaleInput.RoleInfo]) -> [Int] {
        RatioApportionment.apportion(total: total, roles: roles.map {
            .init(name: $0.name, weight: $0.weight, minReplicas: max(0, $0.minReplicas), maxReplicas: max(max(0, $0.minReplicas), $0.maxReplicas))
        })
    }

    /// The total to move to instead of `total` so that its split stays within `ratioTolerance` of the weights'
    /// ratio (`RatioApportionment.ratioError`): on scale-out the next larger total that does (never past `maxTotal`; `total` itself when none
    /// does); on scale-in the nearest such total between `total` and the current one, else the largest one
    /// between the need and `total`, else `current` (hold: never below the need, never off the ratio).
    /// Totals at the roles' minimums or maximums always qualify: bounds win over the ratio.
    private func ratioTotal(_ total: Int, direction: HeteroScaleDecision.Direction, current: Int, need: Int,
                            minTotal: Int, maxTotal: Int, roles: [HeteroScaleInput.RoleInfo]) -> Int {
        guard parameters.ratioTolerance < 1, roles.count > 1 else { return total }
        func keepsRatio(_ t: Int) -> Bool { self.keepsRatio(t, roles: roles, minTotal: minTotal, maxTotal: maxTotal) }
        if keepsRatio(total) { return total }
        switch direction {
        case .scaleOut:
            guard total < maxTotal else { return total }
            return (total...maxTotal).first(where: keepsRatio) ?? total
        case .scaleIn:
            if total < current - 1, let up = (total + 1..<current).first(where: keepsRatio) { return up }
            let floor = max(minTotal, need, 0)
            if floor < total, let down = (floor..<total).reversed().first(where: keepsRatio) { return down }
            return current
        case .hold:
            return total
        }
    }

    /// Whether the split of `t` keeps the P/D ratio within `ratioTolerance` (totals at the roles' minimums or
    /// maximums always do; so does any total with tolerance 1 or a single role).
    func keepsRatio(_ t: Int, roles: [HeteroScaleInput.RoleInfo], minTotal: Int, maxTotal: Int) -> Bool {
        let tolerance = parameters.ratioTolerance
        guard tolerance < 1, roles.count > 1 else { return true }
        return t <= minTotal || t >= maxTotal
            || RatioApportionment.ratioError(plainSplit(t, roles), weights: roles.map(\.weight)) <= tolerance + 1e-9
    }

    /// `P` and `D` for the prefill and decode roles, the role name for any other.
    private func roleLabels(_ input: HeteroScaleInput) -> [String] {
        let prefill = input.prefillRole ?? parameters.prefillRole
        let decode = input.decodeRole ?? parameters.decodeRole
        return input.roles.map { $0.name == prefill ? "P" : ($0.name == decode ? "D" : $0.name) }
    }
}
