import Foundation
import KubeAPI

/// The schedule in force at some instant.
public struct ActiveSchedule: Sendable, Hashable {
    /// Index in `spec.schedules`.
    public var index: Int
    public var name: String?
    public var replicas: Int?
    public var minReplicas: Int?
    public var maxReplicas: Int?
    /// The current occurrence of the window (absolute instants; `end` is exclusive).
    public var start: Date
    public var end: Date

    public init(index: Int, name: String?, replicas: Int?, minReplicas: Int?, maxReplicas: Int?, start: Date, end: Date) {
        self.index = index
        self.name = name
        self.replicas = replicas
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.start = start
        self.end = end
    }

    /// `schedules[i]` or `schedules[i] (name)`.
    public var label: String { name.map { "schedules[\(index)] (\($0))" } ?? "schedules[\(index)]" }

    /// Applies the schedule to a recommendation: fixed replicas replace it, bounds clamp it.
    public func apply(to replicas: Int) -> Int {
        if let fixed = self.replicas { return fixed }
        var r = replicas
        if let lo = minReplicas { r = max(r, lo) }
        if let hi = maxReplicas { r = min(r, hi) }
        return r
    }
}

/// Recurring time windows (`spec.schedules[]`). Each window recurs on the listed weekdays from `start` to `end`
/// local time in its IANA time zone; an `end` at or before the `start` wraps past midnight into the next day, and
/// the window belongs to the day it starts on (a `Fri 22:00–02:00` window covers Friday night until Saturday
/// 02:00). An `end` equal to the `start` is a full 24 hours. The first matching schedule in list order wins.
///
/// Local times become instants through a Gregorian calendar in the schedule's zone, so daylight-saving days are
/// right: `09:00` in `America/New_York` is 14:00 UTC in winter and 13:00 UTC in summer, and a window on the
/// day the clocks change is 23 or 25 hours long when it spans the change. A wall time inside the skipped hour in
/// spring is moved forward by the gap (`02:30` → `03:30` EDT); one that occurs twice in autumn means its first
/// occurrence.
public enum ScheduleEvaluator {
    /// Every problem in `schedules`, each naming its field (`spec.schedules[i].timeZone`, …).
    public static func validate(_ schedules: [ScheduleSpec], path: String = "spec.schedules") -> [StrategySpecIssue] {
        var issues: [StrategySpecIssue] = []
        for (i, s) in schedules.enumerated() {
            let base = "\(path)[\(i)]"
            func issue(_ field: String, _ message: String) {
                issues.append(StrategySpecIssue(field: "\(base).\(field)", message: message))
            }
            if parseTime(s.start, allowMidnightEnd: false) == nil {
                issue("start", "must be a local time HH:MM between 00:00 and 23:59, got \"\(s.start)\"")
            }
            if parseTime(s.end, allowMidnightEnd: true) == nil {
                issue("end", "must be a local time HH:MM between 00:00 and 24:00, got \"\(s.end)\"")
            }
            if let zone = s.timeZone, TimeZone(identifier: zone) == nil {
                issue("timeZone", "unknown IANA time zone \"\(zone)\"")
            }
            for (j, day) in (s.days ?? []).enumerated() where weekday(day) == nil {
                issues.append(StrategySpecIssue(field: "\(base).days[\(j)]", message: "unknown day \"\(day)\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
            }
            if s.replicas != nil && (s.minReplicas != nil || s.maxReplicas != nil) {
                issue("replicas", "set either replicas or minReplicas/maxReplicas, not both")
            }
            if s.replicas == nil && s.minReplicas == nil && s.maxReplicas == nil {
                issue("replicas", "one of replicas, minReplicas or maxReplicas is required")
            }
            for (value, field) in [(s.replicas, "replicas"), (s.minReplicas, "minReplicas"), (s.maxReplicas, "maxReplicas")] {
                if let value, value < 0 { issue(field, "must not be negative, got \(value)") }
            }
            if let lo = s.minReplicas, let hi = s.maxReplicas, lo > hi {
                issue("maxReplicas", "must be at least minReplicas (\(lo)), got \(hi)")
            }
        }
        return issues
    }

    /// The first schedule whose window contains `date`, or nil. Schedules with invalid times or zones never
    /// match (validation reports them).
    public static func active(_ schedules: [ScheduleSpec], at date: Date) -> ActiveSchedule? {
        for (i, s) in schedules.enumerated() {
            if let window = window(of: s, containing: date) {
                return ActiveSchedule(
                    index: i, name: s.name, replicas: s.replicas, minReplicas: s.minReplicas, maxReplicas: s.maxReplicas,
                    start: window.start, end: window.end)
            }
        }
        return nil
    }

    /// The earliest instant after `date` at which some schedule starts or ends (when the active schedule may
    /// change), looking at most `horizonDays` ahead; useful to requeue a reconcile. Nil when nothing changes.
    public static func nextTransition(_ schedules: [ScheduleSpec], after date: Date, horizonDays: Int = 8) -> Date? {
        var best: Date?
        for s in schedules {
            guard let parsed = parse(s) else { continue }
            let today = parsed.calendar.startOfDay(for: date)
            for offset in -1...horizonDays {
                guard let day = parsed.calendar.date(byAdding: .day, value: offset, to: today),
                      let w = occurrence(parsed, startingOn: day)
                else { continue }
                for t in [w.start, w.end] where t > date && (best.map { t < $0 } ?? true) { best = t }
            }
        }
        return best
    }

    // MARK: - Internals

    struct Parsed {
        var calendar: Calendar
        var start: (hour: Int, minute: Int)
        var end: (hour: Int, minute: Int)
        /// Gregorian weekdays (1 = Sunday); empty = every day.
        var days: Set<Int>
    }

    static func parse(_ s: ScheduleSpec) -> Parsed? {
        guard let start = parseTime(s.start, allowMidnightEnd: false),
              let end = parseTime(s.end, allowMidnightEnd: true),
              let zone = TimeZone(identifier: s.timeZone ?? "UTC")
        else { return nil }
        var days = Set<Int>()
        for d in s.days ?? [] {
            guard let w = weekday(d) else { return nil }
            days.insert(w)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return Parsed(calendar: calendar, start: start, end: end, days: days)
    }

    /// The window of `s` that contains `date` (one that started today or yesterday, local time).
    static func window(of s: ScheduleSpec, containing date: Date) -> (start: Date, end: Date)? {
        guard let parsed = parse(s) else { return nil }
        let today = parsed.calendar.startOfDay(for: date)
        for offset in [0, -1] {
            guard let day = parsed.calendar.date(byAdding: .day, value: offset, to: today),
                  let w = occurrence(parsed, startingOn: day)
            else { continue }
            if w.start <= date && date < w.end { return w }
        }
        return nil
    }

    /// The occurrence starting on the local day containing `day`, if the schedule runs that weekday.
    static func occurrence(_ p: Parsed, startingOn day: Date) -> (start: Date, end: Date)? {
        let cal = p.calendar
        if !p.days.isEmpty && !p.days.contains(cal.component(.weekday, from: day)) { return nil }
        let ymd = cal.dateComponents([.year, .month, .day], from: day)
        let startMinutes = p.start.hour * 60 + p.start.minute
        let endMinutes = p.end.hour * 60 + p.end.minute
        let wraps = endMinutes <= startMinutes
        guard let start = localDate(cal, ymd, minutes: startMinutes),
              let end = localDate(cal, ymd, minutes: endMinutes + (wraps ? 24 * 60 : 0))
        else { return nil }
        return (start, end)
    }

    /// `minutes` after local midnight of the day `ymd` (may exceed a day), DST-aware.
    static func localDate(_ cal: Calendar, _ ymd: DateComponents, minutes: Int) -> Date? {
        var c = DateComponents()
        c.year = ymd.year
        c.month = ymd.month
        c.day = (ymd.day ?? 1) + minutes / (24 * 60)
        c.hour = (minutes % (24 * 60)) / 60
        c.minute = minutes % 60
        return cal.date(from: c)
    }

    /// `HH:MM` (or `H:MM`) → (hour, minute); `24:00` only when `allowMidnightEnd`.
    static func parseTime(_ text: String, allowMidnightEnd: Bool) -> (hour: Int, minute: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let h = Int(parts[0]), let m = Int(parts[1]), (0...59).contains(m)
        else { return nil }
        if h == 24 && m == 0 && allowMidnightEnd { return (24, 0) }
        guard (0...23).contains(h) else { return nil }
        return (h, m)
    }

    /// `Mon`, `monday`, `Tue`, `Tues`, … → Gregorian weekday (1 = Sunday).
    static func weekday(_ text: String) -> Int? {
        let names = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
        let t = text.lowercased()
        guard t.count >= 3 else { return nil }
        for (i, name) in names.enumerated() where name.hasPrefix(t) { return i + 1 }
        return nil
    }
}
