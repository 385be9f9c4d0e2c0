import Foundation
import KubeAPI
import Testing
import TestSupport
import YAML

@testable import Placement

/// The placement behaviours of issue 11 (HeteroScale paper §3.4 and Appendix B), on the node lists in Fixtures/.
@Suite struct SubgroupPriorityTests {
    /// 1. A group needing one GPU type lands in low-priority capacity even when medium and high capacity is
    ///    free, and leaves the high-priority capacity untouched.
    @Test(arguments: [(AffinityDomain.s1, "low-a"), (.s2, "pod-low"), (.cluster, "cluster")])
    func singleTypeGroupsUseLowPriorityCapacity(affinity: AffinityDomain, domain: String) throws {
        var topo = try Fixture.topology("classes.yaml")
        let high = topo.freeGPUs(class: .high), medium = topo.freeGPUs(class: .medium)
        #expect(high == 16 && medium == 48)
        let plan = try topo.run([group("solo", replicas: 3, affinity: affinity, roles: pd(prefill: ["h100"], decode: ["h100"]))])
        let g = try #require(plan.group("solo"))
        #expect(g.unschedulable.isEmpty)
        #expect(g.placements.map(\.domain) == [domain])
        #expect(g.placements.map(\.subgroupPriority) == [.low])
        #expect(g.placements[0].roles == ["prefill": RoleAllocation(count: 1, gpuType: "h100"), "decode": RoleAllocation(count: 2, gpuType: "h100")])
        #expect(g.placements[0].added.allSatisfy { topo.node(named: $0.node)?.subgroupClass == .low })
        #expect(topo.freeGPUs(class: .high) == high)
        #expect(topo.freeGPUs(class: .medium) == medium)
        #expect(topo.freeGPUs(class: .low) == 32 - 12)
    }

    /// 2. Two GPU types with S2 affinity: a medium S2 (homogeneous S1s) beats an S2 whose h20 sits in a
    ///    high-priority S1; with S1 affinity only a high-priority S1 holds both types.
    @Test(arguments: [(AffinityDomain.s2, "pod-med", SubgroupClass.medium), (.s1, "high-a", .high)])
    func twoTypeGroupsTakeTheLeastPreciousCapacityTheirAffinityAllows(affinity: AffinityDomain, domain: String, cls: SubgroupClass) throws {
        var topo = try Fixture.topology("classes.yaml")
        let plan = try topo.run([group("pd", replicas: 3, affinity: affinity, roles: pd(prefill: ["h100"], decode: ["h20"]))])
        let g = try #require(plan.group("pd"))
        #expect(g.placements.map(\.domain) == [domain])
        #expect(g.placements.map(\.subgroupPriority) == [cls])
        #expect(g.placements[0].roles["decode"] == RoleAllocation(count: 2, gpuType: "h20"))
        let reason = try #require(g.decisions.last?.reason)
        #expect(reason.hasPrefix("opened \(domain) (\(affinity.rawValue), \(cls))"))
        if affinity == .s2 { #expect(reason.contains("least high-priority capacity (0 GPUs, the next best 8)")) }
    }

    /// 2b. With S1 affinity and both types there is one high-priority S1; a second such group in the same cycle
    ///     finds it taken and is unschedulable, with the reason naming what is short.
    @Test func aSecondTwoTypeS1GroupFindsTheHighPriorityS1Taken() throws {
        var topo = try Fixture.topology("classes.yaml")
        let roles = pd(prefill: ["h100"], decode: ["h20"])
        let plan = try topo.run([group("first", replicas: 3, affinity: .s1, roles: roles), group("second", replicas: 3, affinity: .s1, roles: roles)])
        #expect(plan.group("first")?.placements.map(\.domain) == ["high-a"])
        let second = try #require(plan.group("second"))
        #expect(second.placements.isEmpty)
        #expect(Set(second.unschedulable.map(\.role)) == ["prefill", "decode"])
        #expect(second.unschedulable.first { $0.role == "decode" }?.reason.contains("a placement is never split across S1s") == true)
    }
}

@Suite struct GPUTypePreferenceTests {
    /// 3. Decode prefers [h20, l20]: the group scheduled first (higher priority, then older, then by name)
    ///    gets the only h20 node; the other falls back to l20 and says so.
    @Test(arguments: [
        (10, 5, nil, nil, "a"), (5, 10, nil, nil, "b"),
        (0, 0, "2024-05-02T00:00:00Z", "2024-05-01T00:00:00Z", "b"), (0, 0, nil, nil, "a"),
    ] as [(Int, Int, String?, String?, String)])
    func thePreferredTypeGoesToTheGroupScheduledFirst(priorityA: Int, priorityB: Int, createdA: String?, createdB: String?, winner: String) throws {
        var topo = try Fixture.topology("preference.yaml")
        let roles = pd(prefill: ["h100"], decode: ["h20", "l20"])
        let plan = try topo.run([
            group("b", replicas: 3, affinity: .s2, priority: priorityB, created: createdB, roles: roles),
            group("a", replicas: 3, affinity: .s2, priority: priorityA, created: createdA, roles: roles),
        ])
        let loser = winner == "a" ? "b" : "a"
        #expect(plan.group(winner)?.placements.first?.roles["decode"]?.gpuType == "h20")
        #expect(plan.group(loser)?.placements.first?.roles["decode"]?.gpuType == "l20")
        #expect(plan.group(loser)?.decisions.last?.reason.contains("decode falls back to l20 (no room for h20 there)") == true)
        #expect(plan.groups.allSatisfy { $0.unschedulable.isEmpty })
    }

    /// The preferred type wins over a lower priority class: decode [h20, l20] goes to the h20 in the medium S2,
    /// not to the l20 of the low S2; with no h20 left it falls back to l20, in the low S2.
    @Test(arguments: [(1, "mid", "h20"), (3, "low", "l20")])
    func preferenceComesBeforeTheSubgroupClass(replicas: Int, domain: String, type: String) throws {
        var topo = try Fixture.topology("preference-classes.yaml")
        let plan = try topo.run([group("g", replicas: replicas, affinity: .s2, roles: [TestRole(name: "decode", types: ["h20", "l20"], gpus: 4)])])
        let g = try #require(plan.group("g"))
        #expect(g.placements.map(\.domain) == [domain])
        #expect(g.placements.first?.roles["decode"]?.gpuType == type)
        #expect(g.unschedulable.isEmpty)
        if replicas == 1 { #expect(g.decisions.last?.reason.contains("GPU types earlier in their preference lists") == true, "\(g.decisions)") }
    }
}

@Suite struct DomainChoiceTests {
    /// 4. A request that fits one S1 is not spread over two when S2 affinity allows either.
    @Test(arguments: [
        [TestRole(name: "server", types: ["h100"], gpus: 4)],
        pd(prefill: ["h100"], decode: ["h100"]),
    ])
    func aRequestThatFitsOneS1StaysInIt(roles: [TestRole]) throws {
        var topo = try Fixture.topology("tight.yaml")
        let plan = try topo.run([group("g", replicas: 3, affinity: .s2, roles: roles)])
        let p = try #require(plan.group("g")?.placements.first)
        #expect(p.level == .s2 && p.domain == "pod-t")
        #expect(Set(p.added.map { topo.where_($0.node).s1 }) == ["t-a"])
        #expect(p.added.reduce(0) { $0 + $1.count } == 3)
    }

    /// 4b. A P/D unit larger than any S1 stays unschedulable with S1 affinity (never split across S1s), while
    ///     S2 affinity places it across the S2's S1s.
    @Test func aRequestWhoseAffinityDomainHasNoRoomIsNotSplit() throws {
        let roles = pd(prefill: ["h100"], decode: ["h100"], gpus: 8)
        var topo = try Fixture.topology("tight.yaml")
        let s1 = try topo.run([group("g", replicas: 3, affinity: .s1, roles: roles)])
        let g = try #require(s1.group("g"))
        #expect(g.placements.isEmpty)
        #expect(g.unschedulable.map(\.count).reduce(0, +) == 3)
        let reason = try #require(g.unschedulable.first { $0.role == "decode" }?.reason)
        #expect(reason.contains("no S1 has room for a whole P/D unit of the group"))
        #expect(reason.hasSuffix("a placement is never split across S1s"))
        #expect(topo.freeGPUs() == 32)

        let s2 = try topo.run([group("g", replicas: 3, affinity: .s2, roles: roles)])
        let p = try #require(s2.group("g")?.placements.first)
        #expect(p.domain == "pod-t" && p.instances == 3)
        #expect(Set(p.added.map { topo.where_($0.node).s1 }) == ["t-a", "t-b"])
    }

    /// 5. Tightest fit: among equally good S1s, the one whose free capacity is closest to the need (the pods of
    ///    pods-tight.yaml leave t-b with 10 free GPUs against t-a's 16); without them, topology order.
    @Test(arguments: [("pods-tight.yaml", "t-b", 2), (nil, "t-a", 8)] as [(String?, String, Int)])
    func theTightestDomainWins(pods: String?, domain: String, slack: Int) throws {
        var topo = try Fixture.topology("tight.yaml", pods: pods)
        let plan = try topo.run([group("g", replicas: 2, affinity: .s1, roles: [TestRole(name: "server", types: ["h100"], gpus: 4)])])
        let g = try #require(plan.group("g"))
        #expect(g.placements.map(\.domain) == [domain])
        if pods != nil { #expect(g.decisions.last?.reason.contains("it fits tightest (\(slack) GPUs of its types left free, the next best 8)") == true) }
    }

    /// 6. Virtual allocation: two 6-GPU requests against one S1 with 8 free GPUs: exactly one is placed there.
    @Test(arguments: AffinityDomain.allCases)
    func twoRequestsNeverGetTheSameGPUs(affinity: AffinityDomain) throws {
        var topo = try Fixture.topology("small-s1.yaml")
        let role = [TestRole(name: "server", types: ["h100"], gpus: 6)]
        let plan = try topo.run([group("one", replicas: 1, affinity: affinity, roles: role), group("two", replicas: 1, affinity: affinity, roles: role)])
        #expect(plan.groups.map { $0.placements.count } == [1, 0])
        #expect(plan.group("two")?.unschedulable.map(\.count) == [1])
        #expect(topo.node(named: "only-0")?.free == 2)
    }
}

@Suite struct GrowthAndScaleInTests {
    static let status = [GroupPlacement(domain: "pod-low", subgroupPriority: "low", roles: ["prefill": 1, "decode": 2])]

    /// 7. Scaling 3 → 6 grows the existing placement when it has room…
    @Test func growthUsesTheExistingPlacementWhenItHasRoom() throws {
        var topo = try Fixture.topology("classes.yaml")
        let plan = try topo.run([group("g", replicas: 6, affinity: .s2, roles: pd(prefill: ["h100"], decode: ["h100"]), placements: Self.status)])
        let g = try #require(plan.group("g"))
        #expect(g.placements.count == 1)
        #expect(g.placements[0].domain == "pod-low")
        #expect(g.placements[0].roles.mapValues(\.count) == ["prefill": 2, "decode": 4])
        #expect(g.decisions.map(\.kind) == [.reserve, .grow])
        #expect(topo.freeGPUs(class: .low) == 32 - 24)
    }

    /// …and opens a second placement, by the same rules, only when it has none.
    @Test func growthOpensASecondPlacementWhenTheFirstIsFull() throws {
        var topo = try Fixture.topology("classes.yaml")
        let plan = try topo.run([group("g", replicas: 6, affinity: .s2, roles: pd(prefill: ["h100"], decode: ["h100"], gpus: 8), placements: Self.status)])
        let g = try #require(plan.group("g"))
        #expect(g.placements.map(\.domain) == ["pod-high", "pod-low"])
        #expect(g.placements.map { $0.roles.mapValues(\.count) } == [["prefill": 1, "decode": 2], ["prefill": 1, "decode": 2]])
        #expect(g.decisions.map(\.kind) == [.reserve, .open])
        #expect(g.placements[0].subgroupPriority == .high)
    }

    /// 8. Scale-in 8 → 4 releases the high-priority placement first; the GPUs it frees are not reused in the
    ///    same cycle (a group that could only use them stays unschedulable until the next one).
    @Test func scaleInReleasesHighPriorityCapacityFirst() throws {
        var topo = try Fixture.topology("classes.yaml")
        let roles = [TestRole(name: "prefill", weight: 1, types: ["h100"], gpus: 2), TestRole(name: "decode", weight: 1, types: ["h100"], gpus: 2)]
        let shrink = group("shrink", replicas: 4, affinity: .s1, roles: roles, placements: [
            GroupPlacement(domain: "low-a", subgroupPriority: "low", roles: ["prefill": 2, "decode": 2]),
            GroupPlacement(domain: "high-a", subgroupPriority: "high", roles: ["prefill": 2, "decode": 2]),
        ])
        let late = group("late", replicas: 2, affinity: .s1, priority: -1,
                         roles: [TestRole(name: "prefill", types: ["h100"], gpus: 2), TestRole(name: "decode", types: ["h20"], gpus: 2)])
        let plan = try topo.run([shrink, late])
        let g = try #require(plan.group("shrink"))
        #expect(g.placements.map(\.domain) == ["low-a"])
        #expect(g.placements[0].roles.mapValues(\.count) == ["prefill": 2, "decode": 2])
        let release = try #require(g.decisions.first { $0.kind == .release })
        #expect(release.domain == "high-a")
        #expect(release.roles == ["prefill": -2, "decode": -2])
        #expect(release.reason.hasPrefix("released high-a (S1, high): removed its prefill 2 (h100), decode 2 (h100): high-priority capacity is released first"))
        #expect(plan.group("late")?.placements.isEmpty == true)
        #expect(plan.group("late")?.unschedulable.map(\.count) == [1, 1])
        #expect(topo.node(named: "high-a-0")?.free == 0)
    }

    /// A placement that keeps instances keeps every role and stays near the group's ratio: removing one prefill
    /// and one decode from a 1:2 group would leave the first placement with decode only (or at 1:1), so both come
    /// from the next placement, which stays at 1:3.
    @Test func aShrunkPlacementKeepsEveryRoleAndItsRatio() throws {
        var topo = try Fixture.topology("classes.yaml")
        let plan = try topo.run([group("g", replicas: 7, affinity: .s1, roles: pd(prefill: ["h100"], decode: ["h100"], gpus: 1), placements: [
            GroupPlacement(domain: "high-b", subgroupPriority: "medium", roles: ["prefill": 1, "decode": 2]),
            GroupPlacement(domain: "low-a", subgroupPriority: "low", roles: ["prefill": 2, "decode": 4]),
        ])])
        let g = try #require(plan.group("g"))
        #expect(g.placements.map { $0.roles.mapValues(\.count) } == [["prefill": 1, "decode": 2], ["prefill": 1, "decode": 3]])
        let shrinks = g.decisions.filter { $0.kind == .shrink || $0.kind == .release }
        #expect(shrinks.map(\.domain) == ["low-a"])
        #expect(shrinks.first?.roles == ["prefill": -1, "decode": -1])
    }

    /// Scale-in takes the high-priority placement's instances first and leaves it at the group's ratio.
    @Test(arguments: [
        // (first placement, second placement, replicas) → first placement after, second after
        ([2, 4], [1, 2], 6, [1, 2], [1, 2]),   // whole units from the high-priority one
        ([2, 4], [1, 1], 5, [1, 2], [1, 1]),   // 3:5 → 2:3 (1 prefill and 2 decode go): the first stays 1:2
    ])
    func scaleInKeepsPlacementsNearTheRatio(first: [Int], second: [Int], replicas: Int, firstAfter: [Int], secondAfter: [Int]) throws {
        var topo = try Fixture.topology("classes.yaml")
        let plan = try topo.run([group("g", replicas: replicas, affinity: .s1, roles: pd(prefill: ["h100"], decode: ["h100"], gpus: 1), placements: [
            GroupPlacement(domain: "high-b", subgroupPriority: "medium", roles: ["prefill": first[0], "decode": first[1]]),
            GroupPlacement(domain: "low-a", subgroupPriority: "low", roles: ["prefill": second[0], "decode": second[1]]),
        ])])
        let g = try #require(plan.group("g"))
        let after = g.placements.map { [$0.roles["prefill"]?.count ?? 0, $0.roles["decode"]?.count ?? 0] }
        #expect(after == [firstAfter, secondAfter])
    }
}
