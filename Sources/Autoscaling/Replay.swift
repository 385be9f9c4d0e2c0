import Foundation
import KubeAPI

/// Backtesting: runs a `PodAutoscaler` over recorded metrics, one decision per CSV row.
///
/// CSV columns: `time` (seconds, required), optionally `ready` and per-role `ready_<role>`, and one column per
/// metric: a total (the column is named like a source's `targetMetric`, or any other name, which becomes a
/// snapshot signal such as `decode_tps`) or a per-pod sample `pod:<name>:<metric>`. An empty cell is a missing
/// value. Lines starting with `#` are comments. With a `ready` column the recorded replicas are used (current
/// = ready = the column); without one, replicas follow the decisions: the next row's current is the last
/// desired, starting from `minReplicas`.
///
/// `parse(_:for:)` also checks the table against the autoscaler: every metric it reads must have a column
/// (else every row would say "no data to scale on yet"), and those metrics (rates, counts, utilisations,
/// latencies) may not be negative.
public enum Replay {
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
        public var description: String { "line \(line): \(message)" }
    }

    /// One per-pod sample of a row.
    public struct PodValue: Sendable, Hashable {
        public var pod: String
        /// `nil` when the cell was empty (a missing sample).
        public var value: Double?
        public init(pod: String, value: Double?) {
            self.pod = pod
            self.value = value
        }
    }

    /// One parsed row.
    public struct Observation: Sendable, Hashable {
        public var time: Double
        public var ready: Int?
        public var roleReady: [String: Int]
        /// Totals by column name (missing cells absent).
        public var totals: [String: Double]
        /// Per-pod samples by metric, in column order.
        public var pods: [String: [PodValue]]
        /// The CSV line number.
        public var line: Int

        public init(time: Double, ready: Int? = nil, roleReady: [String: Int] = [:], totals: [String: Double] = [:],
                    pods: [String: [PodValue]] = [:], line: Int = 0) {
            self.time = time
            self.ready = ready
            self.roleReady = roleReady
            self.totals = totals
            self.pods = pods
            self.line = line
        }
    }

    /// One replayed step.
    public struct Step: Sendable, Hashable {
        public var time: Double
        public var current: Int
        public var decision: Decision
        public var desired: Int { decision.desiredReplicas }
        /// The KPA panic flag, when the strategy has one.
        public var panic: Bool? { decision.details.panic }
    }

    // MARK: Parsing

    /// Splits CSV text into records (RFC 4180 quoting), keeping line numbers; skips blank and `#` lines.
    static func records(_ text: String) throws(ParseError) -> [(line: Int, fields: [String])] {
        var out: [(Int, [String])] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var atFieldStart = true
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0
        func endRecord() {
            fields.append(field)
            field = ""
            let blank = fields.count == 1 && fields[0].trimmingCharacters(in: .whitespaces).isEmpty
            let comment = fields.first?.hasPrefix("#") ?? false
            if !blank && !comment { out.append((recordLine, fields)) }
            fields = []
            atFieldStart = true
        }
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && atFieldStart {
                inQuotes = true
                atFieldStart = false
            } else if c == "," {
                fields.append(field)
                field = ""
                atFieldStart = true
            } else if c == "\n" || c == "\r" {
                if c == "\r" && i + 1 < chars.count && chars[i + 1] == "\n" { i += 1 }
                endRecord()
                line += 1
                recordLine = line
            } else {
                field.unicodeScalars.append(c)
                atFieldStart = false
            }
            i += 1
        }
        if inQuotes { throw ParseError(line: recordLine, message: "unterminated quoted field") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return out
    }

    /// A parsed CSV: its columns, the header's line and one observation per row.
    public struct Table: Sendable, Hashable {
        public var columns: [String]
        public var headerLine: Int
        public var observations: [Observation]
    }

    /// A metric the autoscaler reads: a total column of that name, or per-pod columns `pod:<name>:<metric>`.
    public struct Requirement: Sendable, Hashable {
        public var metric: String
        /// Who reads it, e.g. `metricsSources[0] (KPA)` or `the HeteroScale strategy`.
        public var reader: String
    }

    /// The metrics `spec` decides on: its metric sources' `targetMetric`s (HPA, KPA, APA), or the signals of the
    /// strategies that size on aggregate signals (HeteroScale: `decode_tps`, plus `prefill_tps` and the latency
    /// percentiles its spec sets targets for; Latency: `tbt_p90_ms`; SLA: `num_requests`, `avg_isl`, `avg_osl`).
    public static func requirements(of spec: PodAutoscalerSpec) -> [Requirement] {
        var out: [Requirement] = []
        func add(_ metric: String, _ reader: String) {
            if !out.contains(where: { $0.metric == metric }) { out.append(Requirement(metric: metric, reader: reader)) }
        }
        switch spec.strategy {
        case .heteroScale?:
            let hs = spec.heteroScale
            add(Signal.decodeTPS, "the HeteroScale strategy (it sizes the group on decode TPS)")
            if hs?.targetPrefillTPSPerInstance != nil { add(Signal.prefillTPS, "heteroScale.targetPrefillTPSPerInstance") }
            if hs?.latency?.tbtSLOMilliseconds != nil { add(Signal.tbtP90Milliseconds, "heteroScale.latency.tbtSLOMilliseconds") }
            if hs?.latency?.ttftSLOMilliseconds != nil { add(Signal.ttftP90Milliseconds, "heteroScale.latency.ttftSLOMilliseconds") }
        case .latency?:
            // TBT when its SLO is set, or when neither is (the spec error then names the TBT SLO).
            let latency = spec.heteroScale?.latency
            if latency?.tbtSLOMilliseconds != nil || latency?.ttftSLOMilliseconds == nil {
                add(Signal.tbtP90Milliseconds, "the Latency strategy")
            }
            if latency?.ttftSLOMilliseconds != nil { add(Signal.ttftP90Milliseconds, "the Latency strategy (heteroScale.latency.ttftSLOMilliseconds)") }
        case .sla?:
            for m in [Signal.numRequests, Signal.averageISL, Signal.averageOSL] { add(m, "the SLA planner") }
        case .hybrid?:
            let hs = spec.heteroScale
            add(Signal.decodeTPS, "the Hybrid strategy (HeteroScale sizes the group on decode TPS)")
            if hs?.targetPrefillTPSPerInstance != nil { add(Signal.prefillTPS, "heteroScale.targetPrefillTPSPerInstance") }
            if hs?.latency?.tbtSLOMilliseconds != nil { add(Signal.tbtP90Milliseconds, "heteroScale.latency.tbtSLOMilliseconds") }
            if hs?.latency?.ttftSLOMilliseconds != nil { add(Signal.ttftP90Milliseconds, "heteroScale.latency.ttftSLOMilliseconds") }
            for m in [Signal.numRequests, Signal.averageISL, Signal.averageOSL] { add(m, "the Hybrid strategy's SLA floor") }
        case .periodic?, nil:
            break
        case .hpa?, .kpa?, .apa?:
            for (i, source) in (spec.metricsSources ?? []).enumerated() {
                add(source.targetMetric, "metricsSources[\(i)] (\(spec.scalingStrategy))")
            }
        }
        return out
    }

    /// Parses the replay CSV and checks it against what `spec` reads: a metric without a column is an error
    /// naming it and the columns found; a negative value of a metric it reads is an error naming the row.
    public static func parse(_ text: String, for spec: PodAutoscalerSpec) throws(ParseError) -> [Observation] {
        let table = try parseTable(text)
        let required = requirements(of: spec)
        for r in required {
            let present = table.columns.contains(r.metric) || table.columns.contains { $0.hasPrefix("pod:") && $0.hasSuffix(":" + r.metric) }
            guard present else {
                throw ParseError(
                    line: table.headerLine,
                    message: "no column for \(r.metric), which \(r.reader) reads: add a total column \(r.metric) or per-pod columns pod:<name>:\(r.metric); columns found: \(table.columns.joined(separator: ", "))")
            }
        }
        for obs in table.observations {
            for r in required {
                if let v = obs.totals[r.metric], v < 0 {
                    throw ParseError(line: obs.line, message: "column \(r.metric): \(Fmt.num(v, 6)) is negative; it is a rate, count, utilisation or latency (zero or more), fix the row")
                }
                for p in obs.pods[r.metric] ?? [] {
                    if let v = p.value, v < 0 {
                        throw ParseError(line: obs.line, message: "column pod:\(p.pod):\(r.metric): \(Fmt.num(v, 6)) is negative; it is a rate, count, utilisation or latency (zero or more), fix the row")
                    }
                }
            }
        }
        return table.observations
    }

    /// Parses the replay CSV (no check against an autoscaler).
    public static func parse(_ text: String) throws(ParseError) -> [Observation] {
        try parseTable(text).observations
    }

    /// Parses the replay CSV into its columns and observations.
    public static func parseTable(_ text: String) throws(ParseError) -> Table {
        let rows = try records(text)
        guard let header = rows.first else { throw ParseError(line: 1, message: "empty file: expected a header with a time column") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let timeIndex = names.firstIndex(of: "time") else {
            throw ParseError(line: header.line, message: "the header has no time column")
        }
        var seen: Set<String> = []
        for name in names {
            if name.isEmpty { throw ParseError(line: header.line, message: "empty column name") }
            if !seen.insert(name).inserted { throw ParseError(line: header.line, message: "duplicate column \(name)") }
            if name.hasPrefix("pod:") {
                let parts = name.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                if parts.count != 3 || parts[1].isEmpty || parts[2].isEmpty {
                    throw ParseError(line: header.line, message: "per-pod column \(name) must be pod:<name>:<metric>")
                }
            }
        }
        var observations: [Observation] = []
        var lastTime = -Double.infinity
        for row in rows.dropFirst() {
            guard row.fields.count == names.count else {
                throw ParseError(line: row.line, message: "expected \(names.count) fields, got \(row.fields.count)")
            }
            var obs = Observation(time: 0, ready: nil, roleReady: [:], totals: [:], pods: [:], line: row.line)
            for (i, raw) in row.fields.enumerated() {
                let name = names[i]
                let cell = raw.trimmingCharacters(in: .whitespaces)
                let value: Double?
                if cell.isEmpty {
                    value = nil
                } else if let v = Double(cell), v.isFinite {
                    value = v
                } else {
                    throw ParseError(line: row.line, message: "column \(name): not a number: \(cell)")
                }
                if i == timeIndex {
                    guard let value else { throw ParseError(line: row.line, message: "time is empty") }
                    guard value >= lastTime else {
                        throw ParseError(line: row.line, message: "time \(Fmt.num(value)) goes backwards (previous \(Fmt.num(lastTime)))")
                    }
                    obs.time = value
                    lastTime = value
                } else if name == "ready" || name.hasPrefix("ready_") {
                    guard let value else { continue }
                    guard value >= 0, value == value.rounded() else {
                        throw ParseError(line: row.line, message: "column \(name): replicas must be a whole number ≥ 0, got \(cell)")
                    }
                    if name == "ready" { obs.ready = Int(value) } else { obs.roleReady[String(name.dropFirst(6))] = Int(value) }
                } else if name.hasPrefix("pod:") {
                    let parts = name.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                    obs.pods[String(parts[2]), default: []].append(PodValue(pod: String(parts[1]), value: value))
                } else if let value {
                    obs.totals[name] = value
                }
            }
            observations.append(obs)
        }
        return Table(columns: names, headerLine: header.line, observations: observations)
    }

    // MARK: Running

    /// The observation as a snapshot for `spec`. Totals named like a source's `targetMetric` feed that source;
    /// every total is also a signal.
    public static func snapshot(
        for obs: Observation, spec: PodAutoscalerSpec, current: Int, roles: [RoleSnapshot], roleCurrent: [String: Int]
    ) -> ScalingSnapshot {
        var sources: [SourceSnapshot] = []
        for (i, source) in (spec.metricsSources ?? []).enumerated() {
            let metric = source.targetMetric
            // The same source snapshot as the controller's and the simulator's (resolved name, parsed target);
            // the values come from the row, already reduced (a rate, a quantile) where those read a scrape.
            var snapshot = SnapshotAssembly.source(i, of: spec)
            snapshot.pods = (obs.pods[metric] ?? []).map { PodSample(name: $0.pod, value: $0.value, ready: true, phase: .running, request: 1) }
            snapshot.total = obs.totals[metric]
            sources.append(snapshot)
        }
        let ready = obs.ready ?? current
        let roleSnapshots = roles.map { r -> RoleSnapshot in
            var r = r
            r.current = roleCurrent[r.name] ?? r.current
            r.ready = obs.roleReady[r.name] ?? r.current
            return r
        }
        return ScalingSnapshot(currentReplicas: current, readyReplicas: ready, roles: roleSnapshots, sources: sources, signals: obs.totals)
    }

    /// Replays `observations`: one decision per row at `start + time`.
    /// - Parameter roles: the roles of a P/D target (from its `DeploymentGroup`), or none; columns
    ///   `ready_<role>` without a matching role add one with weight 1.
    public static func run(
        spec: PodAutoscalerSpec, observations: [Observation], roles: [RoleSnapshot] = [],
        start: Date = Date(timeIntervalSince1970: 0)
    ) -> [Step] {
        // The controller's rule for an autoscaler it has no memory of (`AutoscalerState.seeded`), at the first row.
        var state: AutoscalerState?
        var roleList = roles
        for obs in observations {
            for name in obs.roleReady.keys.sorted() where !roleList.contains(where: { $0.name == name }) {
                roleList.append(RoleSnapshot(name: name, weight: 1, current: obs.roleReady[name] ?? 0, ready: obs.roleReady[name] ?? 0))
            }
        }
        let minReplicas = spec.minReplicas ?? 1
        var followed = roleList.isEmpty ? minReplicas : Swift.max(minReplicas, roleList.reduce(0) { $0 + $1.current })
        var roleCurrent: [String: Int] = Dictionary(uniqueKeysWithValues: roleList.map { ($0.name, $0.current) })
        var steps: [Step] = []
        steps.reserveCapacity(observations.count)
        for obs in observations {
            let current = obs.ready ?? followed
            let snap = snapshot(for: obs, spec: spec, current: current, roles: roleList, roleCurrent: roleCurrent)
            let at = start.addingTimeInterval(obs.time)
            var s = state ?? AutoscalerState.seeded(currentReplicas: current, now: at)
            let decision = Autoscaler.decide(spec: spec, snapshot: snap, state: &s, now: at)
            state = s
            steps.append(Step(time: obs.time, current: current, decision: decision))
            followed = decision.desiredReplicas
            for r in decision.roleReplicas ?? [] { roleCurrent[r.name] = r.replicas }
        }
        return steps
    }

    // MARK: Output

    public enum Format: String, Sendable, CaseIterable {
        case table, csv, json
    }

    /// Renders steps: columns `time, current, desired, reason, panic` (the CSV header is exactly these names).
    public static func render(_ steps: [Step], format: Format) -> String {
        func panicText(_ p: Bool?) -> String { p.map { $0 ? "true" : "false" } ?? "" }
        switch format {
        case .csv:
            var out = "time,current,desired,reason,panic\n"
            for s in steps {
                out += "\(Fmt.num(s.time, 3)),\(s.current),\(s.desired),\(csvField(s.decision.reason)),\(panicText(s.panic))\n"
            }
            return out
        case .json:
            let lines = steps.map { s -> String in
                var fields = [
                    "\"time\":\(Fmt.num(s.time, 3))", "\"current\":\(s.current)", "\"desired\":\(s.desired)",
                    "\"reason\":\(jsonString(s.decision.reason))", "\"panic\":\(s.panic.map { $0 ? "true" : "false" } ?? "null")",
                ]
                if let roles = s.decision.roleReplicas {
                    fields.append("\"roles\":{" + roles.map { "\(jsonString($0.name)):\($0.replicas)" }.joined(separator: ",") + "}")
                }
                return "  {" + fields.joined(separator: ",") + "}"
            }
            return "[\n" + lines.joined(separator: ",\n") + (lines.isEmpty ? "]\n" : "\n]\n")
        case .table:
            let header = ["TIME", "CURRENT", "DESIRED", "PANIC", "REASON"]
            let rows = steps.map { [Fmt.num($0.time, 3), String($0.current), String($0.desired), panicText($0.panic), $0.decision.reason] }
            var widths = header.map(\.count)
            for r in rows { for (i, c) in r.enumerated() where i < 4 { widths[i] = Swift.max(widths[i], c.count) } }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { i, c in i < 4 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0) : c }
                    .joined(separator: "  ")
            }
            return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
        }
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

extension Replay {
    /// The roles of a `DeploymentGroup` as replay starts them: at the group's current split of `replicas`.
    public static func roles(of group: DeploymentGroup) -> [RoleSnapshot] {
        zip(group.spec.roles, RatioApportionment.split(group.spec)).map { role, count in
            RoleSnapshot(name: role.name, weight: role.weight, current: count, ready: count, minReplicas: role.minReplicas, maxReplicas: role.maxReplicas)
        }
    }
}
