// Events in both API groups: events.k8s.io/v1 (what recorders should write) and core/v1 (what older
// clients and `kubectl get events` read).

/// events.k8s.io/v1 `Event` subset.
public struct Event: Codable, Sendable, Hashable {
    public static let apiVersion = "events.k8s.io/v1"
    public static let kind = "Event"
    public static let resource = "events"

    /// `type` values.
    public enum EventType {
        public static let normal = "Normal"
        public static let warning = "Warning"
    }

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// MicroTime (`2024-05-01T10:00:00.123456Z`); required by the API on create.
    public var eventTime: String?
    public var series: Series?
    public var reportingController: String?
    public var reportingInstance: String?
    public var action: String?
    public var reason: String?
    public var regarding: ObjectReference?
    public var note: String?
    /// `Normal` or `Warning`.
    public var type: String?

    public init(metadata: ObjectMeta = ObjectMeta(), eventTime: String? = nil, series: Series? = nil,
                reportingController: String? = nil, reportingInstance: String? = nil, action: String? = nil,
                reason: String? = nil, regarding: ObjectReference? = nil, note: String? = nil, type: String? = nil,
                apiVersion: String? = Event.apiVersion, kind: String? = Event.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.eventTime = eventTime
        self.series = series
        self.reportingController = reportingController
        self.reportingInstance = reportingInstance
        self.action = action
        self.reason = reason
        self.regarding = regarding
        self.note = note
        self.type = type
    }

    /// events.k8s.io/v1 `EventSeries`.
    public struct Series: Codable, Sendable, Hashable {
        public var count: Int32?
        /// MicroTime.
        public var lastObservedTime: String?

        public init(count: Int32? = nil, lastObservedTime: String? = nil) {
            self.count = count
            self.lastObservedTime = lastObservedTime
        }
    }
}

/// core/v1 `Event` subset.
public struct CoreEvent: Codable, Sendable, Hashable {
    public static let apiVersion = "v1"
    public static let kind = "Event"
    public static let resource = "events"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var count: Int32?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var source: Source?

    public init(metadata: ObjectMeta = ObjectMeta(), involvedObject: ObjectReference = ObjectReference(),
                reason: String? = nil, message: String? = nil, type: String? = nil, count: Int32? = nil,
                firstTimestamp: String? = nil, lastTimestamp: String? = nil, source: Source? = nil,
                apiVersion: String? = CoreEvent.apiVersion, kind: String? = CoreEvent.kind) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
        self.count = count
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.source = source
    }

    /// core/v1 `EventSource`.
    public struct Source: Codable, Sendable, Hashable {
        public var component: String?
        public var host: String?

        public init(component: String? = nil, host: String? = nil) {
            self.component = component
            self.host = host
        }
    }
}
