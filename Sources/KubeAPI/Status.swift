/// metav1 `Status`: the body of API errors (and of some successful deletes).
public struct Status: Codable, Sendable, Hashable {
    public static let apiVersion = "v1"
    public static let kind = "Status"

    /// `status` values.
    public enum Outcome {
        public static let success = "Success"
        public static let failure = "Failure"
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta?
    /// `Success` or `Failure`.
    public var status: String?
    public var message: String?
    /// A `StatusReason` (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    public var reason: String?
    public var details: Details?
    /// The HTTP status code.
    public var code: Int32?

    public init(status: String? = nil, message: String? = nil, reason: String? = nil, details: Details? = nil,
                code: Int32? = nil, metadata: ListMeta? = nil,
                apiVersion: String? = Status.apiVersion, kind: String? = Status.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }

    /// metav1 `StatusDetails`.
    public struct Details: Codable, Sendable, Hashable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var uid: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int32?

        public init(name: String? = nil, group: String? = nil, kind: String? = nil, uid: String? = nil,
                    causes: [Cause]? = nil, retryAfterSeconds: Int32? = nil) {
            self.name = name
            self.group = group
            self.kind = kind
            self.uid = uid
            self.causes = causes
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// metav1 `StatusCause`.
    public struct Cause: Codable, Sendable, Hashable {
        /// A `CauseType` (`FieldValueInvalid`, `FieldValueRequired`, ...).
        public var reason: String?
        public var message: String?
        /// JSON path of the field, e.g. `spec.replicas`.
        public var field: String?

        public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
            self.reason = reason
            self.message = message
            self.field = field
        }
    }
}
