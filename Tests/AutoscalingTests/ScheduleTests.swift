import Foundation
import KubeAPI
import Testing
@testable import Autoscaling

/// An instant from a UTC wall time, `2025-01-03 23:00`.
private func utc(_ text: String) -> Date {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm"
    return f.date(from: text)!
}

@Suite("Schedules")
struct ScheduleTests {
    // 2025-01-03 is a Friday.
    static let overnight = [ScheduleSpec(name: "friday-night", days: ["Fri"], start: "22:00", end: "02:00", replicas: 5)]

    @Test("a window that ends before it starts wraps past midnight and belongs to its start day", arguments: [
        ("2025-01-03 21:59", false),
        ("2025-01-03 22:00", true),
        ("2025-01-03 23:30", true),
        ("2025-01-04 01:59", true), // Saturday early morning: still Friday's window
        ("2025-01-04 02:00", false), // the end is exclusive
        ("2025-01-04 23:00", false), // Saturday night: not a Friday
        ("2025-01-02 23:00", false), // Thursday night
        ("2025-01-03 01:00", false), // Friday early morning belongs to Thursday's (absent) window
    ])
    func wrapsPastMidnight(at: String, active: Bool) {
        let a = ScheduleEvaluator.active(Self.overnight, at: utc(at))
        #expect((a != nil) == active)
        if let a {
            #expect(a.index == 0)
            #expect(a.name == "friday-night")
            #expect(a.replicas == 5)
            #expect(a.end.timeIntervalSince(a.start) == 4 * 3600)
        }
    }

    @Test("weekdays, any spelling", arguments: [
        ("2025-01-06 09:00", true), // Monday
        ("2025-01-06 08:59", false),
        ("2025-01-10 16:59", true), // Friday
        ("2025-01-10 17:00", false),
        ("2025-01-11 12:00", false), // Saturday
        ("2025-01-08 12:00", true), // Wednesday (spelled "wednesday")
    ])
    func weekdays(at: String, active: Bool) {
        let s = [ScheduleSpec(days: ["Mon", "TUE", "wednesday", "Thu", "Fri"], start: "09:00", end: "17:00", minReplicas: 4)]
        #expect((ScheduleEvaluator.active(s, at: utc(at)) != nil) == active)
    }

    @Test("the first matching schedule wins; an empty day list means every day")
    func firstMatchWins() {
        let s = [
            ScheduleSpec(name: "lunch", days: ["Mon"], start: "12:00", end: "13:00", replicas: 9),
            ScheduleSpec(name: "day", start: "08:00", end: "20:00", replicas: 6),
        ]
        #expect(ScheduleEvaluator.active(s, at: utc("2025-01-06 12:30"))?.name == "lunch")
        #expect(ScheduleEvaluator.active(s, at: utc("2025-01-07 12:30"))?.name == "day")
        #expect(ScheduleEvaluator.active(s, at: utc("2025-01-06 13:00"))?.index == 1)
        #expect(ScheduleEvaluator.active(s, at: utc("2025-01-06 20:00")) == nil)
    }

    @Test("time zones: 09:00 Tokyo is 00:00 UTC")
    func timeZones() {
        let s = [ScheduleSpec(start: "09:00", end: "10:00", timeZone: "Asia/Tokyo", replicas: 2)]
        #expect(ScheduleEvaluator.active(s, at: utc("2025-01-06 00:30")) != nil)
        #expect(ScheduleEvaluator.active(s, at: utc("2025-01-06 09:30")) == nil)
    }

    @Test("DST in America/New_York: 09:00 local is 14:00 UTC before and 13:00 UTC after the change")
    func daylightSaving() throws {
        // Clocks go forward at 02:00 on Sunday 2025-03-09.
        let s = [ScheduleSpec(start: "09:00", end: "17:00", timeZone: "America/New_York", replicas: 3)]
        #expect(ScheduleEvaluator.active(s, at: utc("2025-03-08 13:30")) == nil) // 08:30 EST
        #expect(ScheduleEvaluator.active(s, at: utc("2025-03-08 14:00")) != nil) // 09:00 EST
        #expect(ScheduleEvaluator.active(s, at: utc("2025-03-09 13:00")) != nil) // 09:00 EDT
        #expect(ScheduleEvaluator.active(s, at: utc("2025-03-09 12:59")) == nil)
        #expect(ScheduleEvaluator.active(s, at: utc("2025-03-09 21:00")) == nil) // 17:00 EDT
        // An overnight window across the change is an hour short in spring and an hour long in autumn.
        let night = [ScheduleSpec(start: "22:00", end: "06:00", timeZone: "America/New_York", replicas: 1)]
        let spring = try #require(ScheduleEvaluator.active(night, at: utc("2025-03-09 05:00")))
        #expect(spring.start == utc("2025-03-09 03:00")) // Sat 22:00 EST
        #expect(spring.end == utc("2025-03-09 10:00")) // Sun 06:00 EDT
        #expect(spring.end.timeIntervalSince(spring.start) == 7 * 3600)
        let autumn = try #require(ScheduleEvaluator.active(night, at: utc("2025-11-02 05:00")))
        #expect(autumn.end.timeIntervalSince(autumn.start) == 9 * 3600)
        // 01:30 happens twice on 2025-11-02; a window starting then starts at the first (EDT, 05:30 UTC).
        let twice = [ScheduleSpec(start: "01:30", end: "03:00", timeZone: "America/New_York", replicas: 1)]
        let repeated = try #require(ScheduleEvaluator.active(twice, at: utc("2025-11-02 06:00")))
        #expect(repeated.start == utc("2025-11-02 05:30"))
        #expect(repeated.end == utc("2025-11-02 08:00")) // 03:00 EST
    }

    @Test("a window starting inside the skipped spring hour opens when the wall time exists again, an hour later")
    func skippedHour() throws {
        let s = [ScheduleSpec(start: "02:30", end: "05:00", timeZone: "America/New_York", replicas: 1)]
        // 04:00 EDT on 2025-03-09 is 08:00 UTC.
        let a = try #require(ScheduleEvaluator.active(s, at: utc("2025-03-09 08:00")))
        #expect(a.start == utc("2025-03-09 07:30")) // 02:30 does not exist: moved forward to 03:30 EDT
        #expect(a.end == utc("2025-03-09 09:00"))
    }

    @Test("start == end is the whole day; end 24:00 is midnight")
    func fullDay() {
        let whole = [ScheduleSpec(days: ["Tue"], start: "06:00", end: "06:00", replicas: 1)]
        #expect(ScheduleEvaluator.active(whole, at: utc("2025-01-07 06:00")) != nil)
        #expect(ScheduleEvaluator.active(whole, at: utc("2025-01-08 05:59")) != nil)
        #expect(ScheduleEvaluator.active(whole, at: utc("2025-01-08 06:00")) == nil)
        let evening = [ScheduleSpec(start: "18:00", end: "24:00", replicas: 1)]
        #expect(ScheduleEvaluator.active(evening, at: utc("2025-01-07 23:59")) != nil)
        #expect(ScheduleEvaluator.active(evening, at: utc("2025-01-08 00:00")) == nil)
    }

    @Test("validation names each bad field")
    func validation() {
        let s = [
            ScheduleSpec(start: "09:00", end: "17:00", timeZone: "Mars/Olympus_Mons", replicas: 2),
            ScheduleSpec(start: "25:00", end: "24:00", replicas: 2),
            ScheduleSpec(days: ["Mon", "Funday"], start: "9:5", end: "10:60", replicas: 2, minReplicas: 1),
            ScheduleSpec(start: "24:00", end: "01:00"),
            ScheduleSpec(start: "08:00", end: "09:00", minReplicas: 5, maxReplicas: 3),
            ScheduleSpec(start: "08:00", end: "09:00", replicas: -1),
            ScheduleSpec(start: "7:30", end: "24:00", timeZone: "Europe/Berlin", minReplicas: 2),
        ]
        let fields = ScheduleEvaluator.validate(s).map(\.field)
        #expect(fields == [
            "spec.schedules[0].timeZone",
            "spec.schedules[1].start",
            "spec.schedules[2].start", "spec.schedules[2].end", "spec.schedules[2].days[1]", "spec.schedules[2].replicas",
            "spec.schedules[3].start", "spec.schedules[3].replicas",
            "spec.schedules[4].maxReplicas",
            "spec.schedules[5].replicas",
        ])
        let zone = ScheduleEvaluator.validate(s).first
        #expect(zone?.message.contains("Mars/Olympus_Mons") == true)
        // Invalid schedules never match.
        #expect(ScheduleEvaluator.active(Array(s[0...1]), at: utc("2025-01-06 10:00")) == nil)
    }

    @Test("next transition is the next start or end")
    func nextTransition() {
        let s = [ScheduleSpec(days: ["Mon"], start: "09:00", end: "17:00", replicas: 1)]
        #expect(ScheduleEvaluator.nextTransition(s, after: utc("2025-01-06 10:00")) == utc("2025-01-06 17:00"))
        #expect(ScheduleEvaluator.nextTransition(s, after: utc("2025-01-06 17:00")) == utc("2025-01-13 09:00"))
        #expect(ScheduleEvaluator.nextTransition([], after: utc("2025-01-06 17:00")) == nil)
    }

    @Test("an active schedule fixes or bounds a recommendation", arguments: [
        (ScheduleSpec(start: "00:00", end: "00:00", replicas: 7), 3, 7),
        (ScheduleSpec(start: "00:00", end: "00:00", minReplicas: 5), 3, 5),
        (ScheduleSpec(start: "00:00", end: "00:00", minReplicas: 5), 9, 9),
        (ScheduleSpec(start: "00:00", end: "00:00", minReplicas: 2, maxReplicas: 4), 9, 4),
    ])
    func apply(schedule: ScheduleSpec, recommended: Int, expected: Int) throws {
        let a = try #require(ScheduleEvaluator.active([schedule], at: utc("2025-01-06 10:00")))
        #expect(a.apply(to: recommended) == expected)
    }

    @Test("Periodic: fixed replicas inside, minReplicas outside, bounds clamp, PA bounds always hold")
    func periodic() {
        let schedules = [
            ScheduleSpec(name: "peak", days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "09:00", end: "18:00", replicas: 12),
            ScheduleSpec(name: "weekend", days: ["Sat", "Sun"], start: "10:00", end: "22:00", minReplicas: 3, maxReplicas: 6),
            ScheduleSpec(name: "huge", days: ["Mon"], start: "20:00", end: "21:00", replicas: 500),
        ]
        let policy = PeriodicPolicy(schedules: schedules, minReplicas: 2, maxReplicas: 20)
        #expect(policy.validate().isEmpty)
        var d = policy.decide(currentReplicas: 2, now: utc("2025-01-06 10:00"))
        #expect(d.replicas == 12)
        #expect(d.active?.name == "peak")
        #expect(d.reason == "Periodic: schedules[0] (peak) active → fixed replicas 12 → 12")
        d = policy.decide(currentReplicas: 12, now: utc("2025-01-06 19:00"))
        #expect(d.replicas == 2)
        #expect(d.active == nil)
        #expect(d.reason == "Periodic: no schedule active → minReplicas 2 → 2")
        d = policy.decide(currentReplicas: 9, now: utc("2025-01-11 12:00"))
        #expect(d.replicas == 6)
        d = policy.decide(currentReplicas: 1, now: utc("2025-01-11 12:00"))
        #expect(d.replicas == 3)
        d = policy.decide(currentReplicas: 4, now: utc("2025-01-06 20:30"))
        #expect(d.replicas == 20)
        #expect(d.reason.contains("capped at maxReplicas 20"))
        let withDefault = PeriodicPolicy(schedules: schedules, minReplicas: 2, maxReplicas: 20, defaultReplicas: 4)
        #expect(withDefault.decide(currentReplicas: 9, now: utc("2025-01-06 19:00")).replicas == 4)
        #expect(PeriodicPolicy(schedules: [], minReplicas: 1, maxReplicas: 2).validate().map(\.field) == ["spec.schedules"])
    }
}
