/// The P/D ready-ratio gate on service discovery (DeploymentGroup `gate`): when one role has more ready
/// instances than the other roles' ready instances can use at the group's ratio, the surplus is not admitted
/// (not routed to, not in the service's endpoints) until the others catch up — a burst of ready prefill
/// instances must not flood a decode pool that is still cold-starting, and the reverse.
///
/// With weights `wᵢ` and ready counts `rᵢ`, the group has `u = minᵢ rᵢ/wᵢ` complete ratio units ready. Role
/// `i` admits `min(rᵢ, ⌊u·wᵢ·(1 + tolerance)⌋)` instances, and at least one when every role has one ready. The
/// smallest role (the one that sets `u`) is never gated; with no ready instance of some role, no instance of the
/// others is admitted either: in a disaggregated service a prefill instance without a decode instance (or the
/// reverse) cannot serve a request. Roles with weight 0 are never gated. Pure and deterministic; the simulator
/// and the controller's gate call the same code.
public enum ReadyRatioGate {
    public struct Role: Sendable, Hashable {
        public var name: String
        public var weight: Double
        public var ready: Int
        public init(name: String, weight: Double, ready: Int) {
            self.name = name
            self.weight = weight
            self.ready = ready
        }
    }

    /// The default tolerance: a role may run 10 % ahead of the ratio before the gate holds its surplus back.
    public static let defaultTolerance = 0.1

    /// Admitted instances per role, in the roles' order.
    public static func admitted(_ roles: [Role], tolerance: Double = defaultTolerance) -> [Int] {
        let tol = tolerance.isFinite ? max(0, tolerance) : defaultTolerance
        let weighted = roles.filter { $0.weight.isFinite && $0.weight > 0 }
        guard weighted.count > 1 else { return roles.map { max(0, $0.ready) } }
        let units = weighted.map { Double(max(0, $0.ready)) / $0.weight }.min() ?? 0
        return roles.map { role in
            let ready = max(0, role.ready)
            guard role.weight.isFinite, role.weight > 0 else { return ready }
            let cap = Int((units * role.weight * (1 + tol) + 1e-9).rounded(.down))
            return min(ready, max(cap, ready > 0 && units > 0 ? 1 : 0))
        }
    }
}
