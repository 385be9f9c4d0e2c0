import Foundation
import KubeAPI
import Testing
import YAML

@testable import Placement

/// The output of `heteroscale place` (`PlacementPlan.render`), on samples/placement.
@Suite struct RenderingTests {
    static var repo: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    static func samplePlan() throws -> PlacementPlan {
        func read(_ name: String) throws -> String { try String(contentsOf: repo.appendingPathComponent("samples/placement/\(name)"), encoding: .utf8) }
        let topo = Topology(nodes: try PlacementInput.nodes(yaml: read("nodes.yaml"), source: "nodes.yaml"),
                            pods: try PlacementInput.pods(yaml: read("pods.yaml"), source: "pods.yaml"))
        let groups = try PlacementInput.groups(yaml: read("groups.yaml"), source: "groups.yaml")
        var big = groups[0]
        big.metadata.name = "huge"
        big.spec.replicas = 60
        return topo.plan(try (groups + [big]).map { try PlacementRequest(group: $0) })
    }

    /// `-o json` is one object of the documented shape, keys in the documented order.
    @Test func jsonHasTheDocumentedShape() throws {
        let doc = try JSONValue.parseJSON(try Self.samplePlan().render(.json))
        guard case .object(let top) = doc else { Issue.record("not an object"); return }
        #expect(top.keys == ["groups"])
        let groups = try #require(doc["groups"]?.arrayValue)
        #expect(groups.compactMap { $0["name"]?.stringValue } == ["batch", "chat", "code", "embed", "huge"])
        for g in groups {
            guard case .object(let o) = g else { Issue.record("group not an object"); continue }
            #expect(o.keys == ["namespace", "name", "placements", "unschedulable"])
            for p in g["placements"]?.arrayValue ?? [] {
                guard case .object(let po) = p else { continue }
                #expect(po.keys == ["domain", "level", "subgroupPriority", "roles"])
                #expect(["S1", "S2", "Cluster"].contains(p["level"]?.stringValue ?? ""))
                #expect(["low", "medium", "high"].contains(p["subgroupPriority"]?.stringValue ?? ""))
                guard case .object(let roles)? = p["roles"] else { Issue.record("roles not an object"); continue }
                for r in roles {
                    guard case .object(let ro) = r.value else { continue }
                    #expect(ro.keys == ["count", "gpuType"])
                }
            }
            for u in g["unschedulable"]?.arrayValue ?? [] {
                guard case .object(let uo) = u else { continue }
                #expect(uo.keys == ["role", "count", "reason"])
            }
        }
        let chat = try #require(groups.first { $0["name"]?.stringValue == "chat" })
        #expect(chat["placements"]?[0]?["domain"]?.stringValue == "bp-2")
        #expect(chat["placements"]?[0]?["roles"]?["decode"]?["count"] == .int(4))
        #expect(chat["placements"]?[0]?["roles"]?["decode"]?["gpuType"]?.stringValue == "h20")
        let huge = try #require(groups.first { $0["name"]?.stringValue == "huge" })
        #expect(huge["unschedulable"]?.arrayValue?.isEmpty == false)
    }

    @Test func yamlIsTheSameDocument() throws {
        let plan = try Self.samplePlan()
        #expect(try YAML.load(plan.render(.yaml)) == JSONValue.parseJSON(plan.render(.json)))
    }

    /// The table: one row per placement, then each decision's reason and what is unschedulable.
    @Test func tableShowsPlacementsReasonsAndShortfalls() throws {
        let table = try Self.samplePlan().render(.table)
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true) == ["NAMESPACE", "GROUP", "PLACEMENT", "LEVEL", "CLASS", "ROLES", "CHANGE"])
        let chat = try #require(lines.first { $0.hasPrefix("default") && $0.contains(" chat ") })
        #expect(chat.split(separator: " ", omittingEmptySubsequences: true) == ["default", "chat", "bp-2", "S2", "medium", "prefill=2(h100)", "decode=4(h20)", "prefill+2", "decode+4"])
        let batch = try #require(lines.first { $0.contains(" batch ") })
        #expect(batch.split(separator: " ", omittingEmptySubsequences: true) == ["default", "batch", "bp-1", "S2", "low", "prefill=2(h20)", "decode=4(h20)", "prefill+1", "decode+2"])
        #expect(lines.contains("Decisions:"))
        #expect(lines.contains { $0.hasPrefix("  default/chat: opened bp-2 (S2, medium) with prefill 2 (h100), decode 4 (h20): ") })
        #expect(lines.contains { $0.hasPrefix("  default/batch: grew bp-1 (S2, low) by prefill +1 (h20), decode +2 (h20): ") })
        #expect(lines.contains("Unschedulable:"))
        #expect(lines.contains { $0.hasPrefix("  default/huge: prefill ") })
    }
}
