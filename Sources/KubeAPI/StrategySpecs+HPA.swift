/// Kubernetes autoscaling/v2 `HorizontalPodAutoscalerBehavior`, used by the HPA strategy (and as bounds on
/// rate of change for the others when given).
public struct ScalingBehavior: Codable, Sendable, Hashable {
    public var scaleUp: ScalingRules?
    public var scaleDown: ScalingRules?
    public init(scaleUp: ScalingRules? = nil, scaleDown: ScalingRules? = nil) {
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
    }
}

/// autoscaling/v2 `HPAScalingRules`.
public struct ScalingRules: Codable, Sendable, Hashable {
    public var stabilizationWindowSeconds: Int?
    /// `Max` (default), `Min` or `Disabled`.
    public var selectPolicy: String?
    public var policies: [ScalingPolicy]?
    /// Relative tolerance for this direction (default 0.1), as in Kubernetes 1.33's `tolerance`.
    public var tolerance: Double?
    public init(stabilizationWindowSeconds: Int? = nil, selectPolicy: String? = nil, policies: [ScalingPolicy]? = nil, tolerance: Double? = nil) {
        self.stabilizationWindowSeconds = stabilizationWindowSeconds
        self.selectPolicy = selectPolicy
        self.policies = policies
        self.tolerance = tolerance
    }
}

/// autoscaling/v2 `HPAScalingPolicy`: `type` is `Pods` or `Percent`.
public struct ScalingPolicy: Codable, Sendable, Hashable {
    public var type: String
    public var value: Int
    public var periodSeconds: Int
    public init(type: String, value: Int, periodSeconds: Int) {
        self.type = type
        self.value = value
        self.periodSeconds = periodSeconds
    }
}
