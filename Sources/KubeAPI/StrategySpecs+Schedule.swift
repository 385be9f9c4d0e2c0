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

    private enum CodingKeys: String, CodingKey {
        case name, days, start, end, timeZone, replicas, minReplicas, maxReplicas
        // AIBrix's spellings (`PodAutoscalerSchedule`), accepted when ours are absent.
        case daysOfWeek, startTime, endTime, timezone
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        // Both spellings are always read (so strict decoding knows both); ours wins when both are set.
        let aibrix = (days: try c.decodeIfPresent([String].self, forKey: .daysOfWeek),
                      start: try c.decodeIfPresent(String.self, forKey: .startTime),
                      end: try c.decodeIfPresent(String.self, forKey: .endTime),
                      timeZone: try c.decodeIfPresent(String.self, forKey: .timezone))
        days = try c.decodeIfPresent([String].self, forKey: .days) ?? aibrix.days
        // A missing start or end decodes as "" and is refused by validation at its field, as the CRD's rule does.
        start = try c.decodeIfPresent(String.self, forKey: .start) ?? aibrix.start ?? ""
        end = try c.decodeIfPresent(String.self, forKey: .end) ?? aibrix.end ?? ""
        timeZone = try c.decodeIfPresent(String.self, forKey: .timeZone) ?? aibrix.timeZone
        replicas = try c.decodeIfPresent(Int.self, forKey: .replicas)
        minReplicas = try c.decodeIfPresent(Int.self, forKey: .minReplicas)
        maxReplicas = try c.decodeIfPresent(Int.self, forKey: .maxReplicas)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(days, forKey: .days)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encodeIfPresent(timeZone, forKey: .timeZone)
        try c.encodeIfPresent(replicas, forKey: .replicas)
        try c.encodeIfPresent(minReplicas, forKey: .minReplicas)
        try c.encodeIfPresent(maxReplicas, forKey: .maxReplicas)
    }
}
