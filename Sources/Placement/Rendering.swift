import KubeAPI
import YAML

/// Output formats of `heteroscale place`.
public enum PlanFormat: String, Sendable, CaseIterable {
    case table, yaml, json
}

extension PlacementPlan {
    /// The documented document scripts can rely on:
    /// `{"groups": [{"namespace", "name", "placements": [{"domain", "level", "subgroupPriority",
    /// "roles": {ROLE: {"count", "gpuType"}}}], "unschedulable": [{"role", "count", "reason"}]}]}`.
    public var document: JSONValue {
        var groupsOut: [JSONValue] = []
        for g in groups {
            var placements: [JSONValue] = []
            for p in g.placements {
                var roles = JSONObject()
                for name in g.roleNames {
                    guard let a = p.roles[name] else { continue }
                    roles[name] = .object(["count": .int(Int64(a.count)), "gpuType": a.gpuType.map(JSONValue.string) ?? .null])
                }
                placements.append(.object([
                    "domain": .string(p.domain), "level": .string(p.level.rawValue),
                    "subgroupPriority": .string(p.subgroupPriority.rawValue), "roles": .object(roles),
                ]))
            }
            let unschedulable: [JSONValue] = g.unschedulable.map {
                .object(["role": .string($0.role), "count": .int(Int64($0.count)), "reason": .string($0.reason)])
            }
            groupsOut.append(.object([
                "namespace": .string(g.namespace), "name": .string(g.name),
                "placements": .array(placements), "unschedulable": .array(unschedulable),
            ]))
        }
        return .object(["groups": .array(groupsOut)])
    }

    /// The plan as `table` (placements, then every decision's reason and what is unschedulable), `yaml` or
    /// `json` (both `document`).
    public func render(_ format: PlanFormat) -> String {
        switch format {
        case .json:
            return ((try? document.jsonString(pretty: true)) ?? "{}") + "\n"
        case .yaml:
            return YAML.dump(document)
        case .table:
            return table()
        }
    }

    private func table() -> String {
        var rows = [["NAMESPACE", "GROUP", "PLACEMENT", "LEVEL", "CLASS", "ROLES", "CHANGE"]]
        for g in groups {
            for p in g.placements {
                let roles = g.roleNames.compactMap { name in
                    p.roles[name].map { "\(name)=\($0.count)(\($0.gpuType ?? "?"))" }
                }.joined(separator: " ")
                var change: [String] = []
                for name in g.roleNames {
                    let added = p.added.filter { $0.role == name }.reduce(0) { $0 + $1.count }
                    if added > 0 { change.append("\(name)+\(added)") }
                    if let removed = p.removed[name], removed > 0 { change.append("\(name)-\(removed)") }
                }
                rows.append([g.namespace, g.name, p.domain, p.level.rawValue, p.subgroupPriority.rawValue, roles,
                             change.isEmpty ? "-" : change.joined(separator: " ")])
            }
            if g.placements.isEmpty {
                rows.append([g.namespace, g.name, "<none>", "-", "-", "-", "-"])
            }
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        var out = rows.map { r in
            r.enumerated().map { i, cell in i == r.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "   ")
        }.joined(separator: "\n") + "\n"
        let decided = groups.filter { $0.decisions.contains { $0.kind != .unschedulable } }
        if !decided.isEmpty {
            out += "\nDecisions:\n"
            for g in decided {
                for d in g.decisions where d.kind != .unschedulable { out += "  \(g.key): \(d.reason)\n" }
            }
        }
        let short = groups.filter { !$0.unschedulable.isEmpty }
        if !short.isEmpty {
            out += "\nUnschedulable:\n"
            for g in short {
                for s in g.unschedulable { out += "  \(g.key): \(s.role) \(s.count): \(s.reason)\n" }
            }
        }
        return out
    }
}

extension String {
    fileprivate func padding(toLength n: Int, withPad pad: String, startingAt _: Int) -> String {
        count >= n ? self : self + String(repeating: pad, count: n - count)
    }
}
