/// autoscaling/v1 `Scale`, the `/scale` subresource of Deployments, StatefulSets and custom resources.
public struct Scale: Codable, Sendable, Hashable {
    public static let apiVersion = "autoscaling/v1"
    public static let kind = "Scale"
    public static let subresource = "scale"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public init(metadata: ObjectMeta = ObjectMeta(), spec: Spec? = nil, status: Status? = nil,
                apiVersion: String? = Scale.apiVersion, kind: String? = Scale.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// autoscaling/v1 `ScaleSpec`.
    public struct Spec: Codable, Sendable, Hashable {
        public var replicas: Int32?
        public init(replicas: Int32? = nil) { self.replicas = replicas }
    }

    /// autoscaling/v1 `ScaleStatus`: `selector` is the label selector string (`app=x,tier in (a,b)`).
    public struct Status: Codable, Sendable, Hashable {
        public var replicas: Int32?
        public var selector: String?

        public init(replicas: Int32? = nil, selector: String? = nil) {
            self.replicas = replicas
            self.selector = selector
        }
    }
}
