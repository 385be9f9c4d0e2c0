import Foundation
import KubeAPI
import YAML

@testable import Placement

/// Node and pod lists under Tests/PlacementTests/Fixtures.
enum Fixture {
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    static func text(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    static func nodes(_ name: String) throws -> [Node] { try PlacementInput.nodes(yaml: text(name), source: name) }

    static func topology(_ name: String, pods: String? = nil) throws -> Topology {
        Topology(nodes: try nodes(name), pods: try pods.map { try PlacementInput.pods(yaml: text($0), source: $0) } ?? [])
    }
}

/// A role of a test group: name, weight, GPU types in preference order, GPUs per instance.
struct TestRole {
    var name: String
    var weight: Double = 1
    var types: [String]
    var gpus: Int
    var tolerations: JSONValue? = nil
}

/// A DeploymentGroup for tests.
func group(_ name: String, namespace: String = "default", replicas: Int, affinity: AffinityDomain, priority: Int? = nil,
           created: String? = nil, roles: [TestRole], placements: [GroupPlacement]? = nil) -> DeploymentGroup {
    var meta = ObjectMeta()
    meta.name = name
    meta.namespace = namespace
    meta.creationTimestamp = created
    var status: DeploymentGroupStatus?
    if let placements {
        status = DeploymentGroupStatus()
        status?.placements = placements
    }
    return DeploymentGroup(metadata: meta, spec: DeploymentGroupSpec(
        replicas: replicas,
        roles: roles.map { r in
            var template: JSONValue = .object([:])
            if let t = r.tolerations { template = .object(["spec": .object(["tolerations": t])]) }
            return DeploymentGroupRole(name: r.name, weight: r.weight, gpuType: r.types, gpusPerInstance: r.gpus, template: template)
        },
        affinity: GroupAffinity(domain: affinity, priority: priority)), status: status)
}

/// prefill (weight 1) and decode (weight 2).
func pd(prefill: [String], decode: [String], gpus: Int = 4, decodeGPUs: Int? = nil) -> [TestRole] {
    [TestRole(name: "prefill", weight: 1, types: prefill, gpus: gpus), TestRole(name: "decode", weight: 2, types: decode, gpus: decodeGPUs ?? gpus)]
}

extension Topology {
    /// One cycle for these groups, keeping the allocation (so tests can look at the free capacity after).
    mutating func run(_ groups: [DeploymentGroup]) throws -> PlacementPlan {
        schedule(try groups.map { try PlacementRequest(group: $0) })
    }

    /// The S1 and S2 of a node.
    func where_(_ node: String) -> (s1: String, s2: String) {
        let n = self.node(named: node)!
        return (n.s1, n.s2)
    }
}
