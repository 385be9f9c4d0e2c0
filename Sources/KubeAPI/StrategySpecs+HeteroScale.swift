/// Parameters of the coordinated P/D HeteroScale strategy. All optional; `nil` means the default.
public struct HeteroScaleSpec: Codable, Sendable, Hashable {
    /// Decode tokens per second one instance of the group should carry (required for HeteroScale):
    /// `decodeTPS / targetDecodeTPSPerInstance` instances size the whole group (all roles together), which the
    /// roles then share by their DeploymentGroup weights.
    public var targetDecodeTPSPerInstance: Double?
    /// Optional second signal: KV-cache-missed prompt tokens/s per instance of the group; the larger need wins.
    public var targetPrefillTPSPerInstance: Double?
    /// Role names in the DeploymentGroup (defaults `prefill` and `decode`).
    public var prefillRole: String?
    public var decodeRole: String?
    /// Hysteresis: act only when I_total/I_current > 1 + scaleOutThreshold (default 0.1) ...
    public var scaleOutThreshold: Double?
    /// ... or < 1 - scaleInThreshold (default 0.1).
    public var scaleInThreshold: Double?
    /// Damping of the step (default 1.0 out, 0.5 in).
    public var scaleOutDamping: Double?
    public var scaleInDamping: Double?
    /// Cooldowns in seconds (default 180 out, 600 in). The scale-out cooldown runs from the last scale-out; the
    /// scale-in cooldown from the last scaling action in either direction.
    public var scaleOutCooldownSeconds: Double?
    public var scaleInCooldownSeconds: Double?
    /// Scale-in stabilisation in seconds (default 60): a scale-in sizes the group for the highest need seen in
    /// this window, not the last one, as HPA's `behavior.scaleDown.stabilizationWindowSeconds` does; one low
    /// sample of a noisy decode TPS cannot shrink the group. 0: the last need only.
    public var scaleInStabilizationSeconds: Double?
    /// How far the P/D ratio of a new group total may be from the weights' ratio (default 0.1: 10 %; measured as
    /// the largest instances per unit of weight over the smallest, minus one). A total whose split is further off
    /// (a 2:3 group at 7 splits 3:4, 12.5 % off) moves to the next one that is not: whole ratio units while the
    /// group is small, finer steps as it grows. 0: whole ratio units only; 1: off (any total).
    public var ratioTolerance: Double?
    /// Latency negative feedback (safety net, scale-out only).
    public var latency: LatencyFeedbackSpec?
    public init() {}
}

/// Latency tiers relative to an SLO: the highest tier whose ratio is exceeded adds its step.
public struct LatencyFeedbackSpec: Codable, Sendable, Hashable {
    /// P90 time-between-tokens SLO in milliseconds.
    public var tbtSLOMilliseconds: Double?
    /// Optional P90 time-to-first-token SLO in milliseconds.
    public var ttftSLOMilliseconds: Double?
    /// Percentile the SLOs apply to (default 90).
    public var percentile: Double?
    /// Tiers (default `[{ratio: 1.1, stepPercent: 10}, {ratio: 1.5, stepPercent: 20}]`).
    public var tiers: [LatencyTierSpec]?
    /// Cooldown in seconds before latency may add instances again after any scale-out (default 60).
    public var cooldownSeconds: Double?
    public init() {}
}

public struct LatencyTierSpec: Codable, Sendable, Hashable {
    /// Observed / SLO above which the tier fires.
    public var ratio: Double
    /// Scale-out step as a percentage of the group.
    public var stepPercent: Double
    public init(ratio: Double, stepPercent: Double) {
        self.ratio = ratio
        self.stepPercent = stepPercent
    }
}
