/// A recurring time window that fixes the replica count or bounds it (Periodic strategy, or bounds for
/// any strategy).
public struct ScheduleSpec: Codable, Sendable, Hashable {
    public var name: String?
    /// Days of the week: `Mon`...`Sun` (or full names, any case); empty or nil = every day. A window that wraps
    /// past midnight belongs to the day it starts on.
    public var days: [String]?
    /// Local start and end as `HH:MM` (24-hour clock; `end` may also be `24:00`); an end before the start wraps
    /// past midnight, an end equal to the start means the whole day.
    public var start: String
    public var end: String
    /// IANA time zone (default `UTC`).
    public var timeZone: String?
    /// Fixed replicas while active ...
    public var replicas: Int?
    /// ... or bounds while active (either or both; not together with `replicas`).
    public var minReplicas: Int?
    public var maxReplicas: Int?
    public init(
        name: String? = nil, days: [String]? = nil, start: String, end: String, timeZone: String? = nil,
        replicas: Int? = nil, minReplicas: Int? = nil, maxReplicas: Int? = nil
    ) {
        self.name = name
        self.days = days
        self.start = start
        self.end = end
        self.timeZone = timeZone
        self.replicas = replicas
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
    }
}
