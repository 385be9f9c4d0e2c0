/// Knative KPA parameters (defaults as Knative's config-autoscaler). All optional; `nil` means the default.
public struct KPASpec: Codable, Sendable, Hashable {
    /// Stable window in seconds (default 60, Knative allows 6...3600).
    public var stableWindowSeconds: Double?
    /// Panic window as a percentage of the stable window (default 10, range 1...100).
    public var panicWindowPercentage: Double?
    /// Panic threshold as a percentage of the desired capacity (default 200, > 100).
    public var panicThresholdPercentage: Double?
    /// Maximum scale-up rate (default 1000, > 1).
    public var maxScaleUpRate: Double?
    /// Maximum scale-down rate (default 2, > 1).
    public var maxScaleDownRate: Double?
    /// Scale-down delay in seconds (default 0, 0...3600).
    public var scaleDownDelaySeconds: Double?
    /// Minimum non-zero scale (default 1).
    public var activationScale: Int?
    /// `linear` (default) or `weightedExponential` averaging over the window.
    public var windowAlgorithm: String?
    public init() {}
}

/// AIBrix APA parameters. All optional; `nil` means the default.
public struct APASpec: Codable, Sendable, Hashable {
    /// Up fluctuation tolerance (default 0.1).
    public var upFluctuationTolerance: Double?
    /// Down fluctuation tolerance (default 0.2).
    public var downFluctuationTolerance: Double?
    /// Maximum scale-up rate (default 2).
    public var maxScaleUpRate: Double?
    /// Maximum scale-down rate (default 2).
    public var maxScaleDownRate: Double?
    /// Averaging window in seconds (default 60).
    public var windowSeconds: Double?
    public init() {}
}
