import Foundation
import KubeAPI
import Testing
import TestSupport

@testable import Placement

/// 10. Properties on seeded random topologies and workloads (`SyntheticCluster`): a first cycle from an empty
/// cluster, then a second one after the first's instances became pods and every group was resized (growth and
/// scale-in), with existing placements read back from status and pods.
@Suite struct PlacementPropertyTests {
    static func shape(_ rng: inout SeededRandom) -> SyntheticCluster.Shape {
        var s = SyntheticCluster.Shape()
        s.nodesPerS1 = 2 + Int(rng.next() % 4)
        s.s1PerS2 = 2 + Int(rng.next() % 4)
        s.nodes = s.nodesPerS1 * s.s1PerS2 * (2 + Int(rng.next() % 4)) + Int(rng.next() % 3)
        s.gpusPerNode = [4, 8, 8, 16][Int(rng.next() % 4)]
        s.groups = 10 + Int(rng.next() % 30)
        s.maxUnits = 2 + Int(rng.next() % 3)
        return s
    }

    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func cyclesKeepTheirInvariants(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let synthetic = SyntheticCluster.generate(Self.shape(&rng), using: &rng)
        let empty = Topology(nodes: synthetic.nodes)
        let first = try synthetic.groups.map { try PlacementRequest(group: $0) }
        let plan1 = empty.plan(first)
        try Self.check(plan1, first, before: empty, pods: [])

        // The first plan's instances run; every group is resized by -3…+3.
        let pods = SyntheticCluster.pods(for: plan1, first)
        var byKey: [String: GroupPlan] = [:]
        for g in plan1.groups { byKey[g.key] = g }
        let resized = synthetic.groups.map { g -> DeploymentGroup in
            var g = g
            var status = DeploymentGroupStatus()
            status.placements = byKey["\(g.metadata.namespace!)/\(g.metadata.name!)"]?.statusPlacements
            g.status = status
            g.spec.replicas = max(0, g.spec.replicas + Int(rng.next() % 7) - 3)
            return g
        }
        let running = Topology(nodes: synthetic.nodes, pods: pods)
        let second = try resized.map { try PlacementRequest(group: $0) }
        let plan2 = running.plan(second)
        try Self.check(plan2, second, before: running, pods: pods)

        // Same inputs, nodes and requests in another order: the same plan.
        var shuffler = SeededRandom(seed: seed &* 7919)
        let again = Topology(nodes: synthetic.nodes.shuffled(using: &shuffler), pods: pods.shuffled(using: &shuffler)).plan(second.shuffled(using: &shuffler))
        #expect(again == plan2)
    }

    static func check(_ plan: PlacementPlan, _ requests: [PlacementRequest], before: Topology, pods: [Pod]) throws {
        var requestByKey: [String: PlacementRequest] = [:]
        for r in requests { requestByKey[r.key] = r }
        #expect(plan.groups.count == requests.count)
        // Where each group's existing instances run (from the pods), per placement.
        var podsAt: [String: [String]] = [:]
        for pod in pods {
            let l = pod.metadata.labels!
            podsAt["\(pod.metadata.namespace!)/\(l[GroupLabels.group]!)/\(l[GroupLabels.placement]!)", default: []].append(pod.spec!.nodeName!)
        }
        var taken: [String: Int] = [:]
        for g in plan.groups {
            let req = try #require(requestByKey[g.key])
            let gpus = Dictionary(uniqueKeysWithValues: req.roles.map { ($0.name, $0.gpusPerInstance) })
            // Every placement inside one domain of its level (new and existing instances, and victims).
            for p in g.placements + g.released {
                let nodes = p.added.map(\.node) + p.victims.map(\.node) + (podsAt["\(g.key)/\(p.name)"] ?? [])
                for name in nodes {
                    let node = try #require(before.node(named: name))
                    switch p.level {
                    case .s1: #expect(node.s1 == p.domain, "\(g.key): \(name) is in S1 \(node.s1), not \(p.domain)")
                    case .s2: #expect(node.s2 == p.domain, "\(g.key): \(name) is in S2 \(node.s2), not \(p.domain)")
                    case .cluster: #expect(p.domain == "cluster")
                    }
                }
                for a in p.added {
                    taken[a.node, default: 0] += a.count * gpus[a.role]!
                    let role = try #require(req.roles.first { $0.name == a.role })
                    #expect(role.gpuTypes.contains(a.gpuType))
                    #expect(before.node(named: a.node)?.gpuType == a.gpuType)
                }
                #expect(p.level == req.affinity)
            }
            // One request's new instances go to one placement: never split across domains.
            #expect(g.placements.filter { !$0.added.isEmpty }.count <= 1)
            // Counts add up: what the group held, plus what was added, minus what was removed; what is missing
            // of a scale-out is reported unschedulable.
            for role in req.roles {
                let held = req.existing.reduce(0) { $0 + ($1.roles[role.name]?.count ?? 0) }
                let added = (g.placements).flatMap(\.added).filter { $0.role == role.name }.reduce(0) { $0 + $1.count }
                let removed = (g.placements + g.released).reduce(0) { $0 + ($1.removed[role.name] ?? 0) }
                let short = g.unschedulable.filter { $0.role == role.name }.reduce(0) { $0 + $1.count }
                #expect(g.total(role.name) == held + added - removed)
                if role.delta >= 0 {
                    #expect(removed == 0)
                    #expect(added + short == role.delta, "\(g.key) \(role.name): +\(added), \(short) unschedulable of \(role.delta)")
                } else {
                    #expect(added == 0 && short == 0)
                    #expect(removed == -role.delta)
                }
            }
        }
        // No node over-committed: what the cycle placed fits in what each node had free.
        for (name, gpus) in taken {
            let free = try #require(before.node(named: name)).free
            #expect(gpus <= free, "node \(name): \(gpus) GPUs placed, \(free) free")
        }
    }
}
