/// Parameters of the predictive SLA planner (NVIDIA Dynamo's formulas).
public struct SLASpec: Codable, Sendable, Hashable {
    /// Planning interval in seconds (default 180).
    public var adjustmentIntervalSeconds: Double?
    /// TTFT target in milliseconds (default 500).
    public var ttftMilliseconds: Double?
    /// ITL target in milliseconds (default 50).
    public var itlMilliseconds: Double?
    /// `constant`, `movingAverage`, `holt`, `holtWinters`, `arima`, `kalman` (default `arima`, as in Dynamo).
    public var loadPredictor: String?
    /// Points kept for prediction (default 50).
    public var predictionWindow: Int?
    /// Season length in intervals for Holt-Winters (default 24).
    public var seasonLength: Int?
    /// GPUs per prefill and decode instance (default 1).
    public var prefillGPUsPerInstance: Int?
    public var decodeGPUsPerInstance: Int?
    /// Total GPU budget across both roles (nil = unbounded).
    public var maxGPUBudget: Int?
    /// Lower bound on each role's replicas (default 1, Dynamo's `min_endpoint`).
    public var minReplicasPerRole: Int?
    /// Turn off the TTFT/ITL correction factors (default false: corrections on).
    public var disableCorrection: Bool?
    /// Decide without acting (status and events only).
    public var advisory: Bool?
    /// Role names in the DeploymentGroup (defaults `prefill` and `decode`).
    public var prefillRole: String?
    public var decodeRole: String?
    /// The profiled performance of this model/hardware, inline or from a file.
    public var profile: SLAProfileSpec?
    public init() {}
}

/// Profiled performance: prefill (isl → ttft, throughput/GPU) and decode (kv usage, context → itl,
/// throughput/GPU) points, or a path to a YAML/CSV file holding them.
public struct SLAProfileSpec: Codable, Sendable, Hashable {
    public var file: String?
    public var prefill: [PrefillProfilePoint]?
    public var decode: [DecodeProfilePoint]?
    /// `monotoneCubic` (default) or `linear`.
    public var interpolation: String?
    /// KV-cache capacity of one decode instance in tokens; lets the planner estimate the decode pool's KV usage
    /// from request concurrency when no KV usage is observed (for the decode correction factor).
    public var maxKVTokens: Double?
    public init() {}
}

public struct PrefillProfilePoint: Codable, Sendable, Hashable {
    public var isl: Double
    public var ttftMilliseconds: Double
    public var throughputPerGPU: Double
    public init(isl: Double, ttftMilliseconds: Double, throughputPerGPU: Double) {
        self.isl = isl
        self.ttftMilliseconds = ttftMilliseconds
        self.throughputPerGPU = throughputPerGPU
    }
}

public struct DecodeProfilePoint: Codable, Sendable, Hashable {
    /// Share of the KV cache in use, 0...1.
    public var kvUsage: Double
    /// Context length (tokens).
    public var context: Double
    public var itlMilliseconds: Double
    public var throughputPerGPU: Double
    public init(kvUsage: Double, context: Double, itlMilliseconds: Double, throughputPerGPU: Double) {
        self.kvUsage = kvUsage
        self.context = context
        self.itlMilliseconds = itlMilliseconds
        self.throughputPerGPU = throughputPerGPU
    }
}
