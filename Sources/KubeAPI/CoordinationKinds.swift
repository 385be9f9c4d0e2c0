// coordination.k8s.io/v1 `Lease`, the leader-election lock.

/// coordination.k8s.io/v1 `Lease`.
public struct Lease: Codable, Sendable, Hashable {
    public static let apiVersion = "coordination.k8s.io/v1"
    public static let kind = "Lease"
    public static let resource = "leases"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: Spec? = nil,
                apiVersion: String? = Lease.apiVersion, kind: String? = Lease.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
    }

    /// coordination.k8s.io/v1 `LeaseSpec` subset. Times are MicroTime strings
    /// (`2024-05-01T10:00:00.123456Z`), kept verbatim.
    public struct Spec: Codable, Sendable, Hashable {
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int32?
        public var acquireTime: String?
        public var renewTime: String?
        public var leaseTransitions: Int32?

        public init(holderIdentity: String? = nil, leaseDurationSeconds: Int32? = nil, acquireTime: String? = nil,
                    renewTime: String? = nil, leaseTransitions: Int32? = nil) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
            self.acquireTime = acquireTime
            self.renewTime = renewTime
            self.leaseTransitions = leaseTransitions
        }
    }
}
