/// Settings of the Hybrid strategy: the SLA planner (`spec.sla`) sizes a floor from its load prediction, and
/// HeteroScale (`spec.heteroScale`) scales on decode TPS with latency feedback above it.
public struct HybridSpec: Codable, Sendable, Hashable {
    /// How far ahead the floor covers the predicted load, in seconds (default 120, a typical cold start). The
    /// floor is the largest plan over the planning intervals in this horizon; predictors that only forecast one
    /// step (all but `prophet`) use their next-interval forecast.
    public var floorLookaheadSeconds: Double?
    /// Multiplier on the planner's replicas before they become the floor (default 1; 0 < factor ≤ 4).
    public var floorFactor: Double?
    public init(floorLookaheadSeconds: Double? = nil, floorFactor: Double? = nil) {
        self.floorLookaheadSeconds = floorLookaheadSeconds
        self.floorFactor = floorFactor
    }
}
