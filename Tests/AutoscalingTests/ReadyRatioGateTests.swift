import Testing
@testable import Autoscaling

@Suite struct ReadyRatioGateTests {
    /// (prefill ready, decode ready, tolerance) → (prefill admitted, decode admitted), at a 1:2 P/D ratio.
    @Test(arguments: [
        (2, 4, 0.1, 2, 4),   // balanced: everything admitted
        (4, 4, 0.1, 2, 4),   // prefill ahead: 2 decode units support 2 prefill (+10 % rounds down)
        (4, 4, 0.5, 3, 4),   // a wider tolerance lets one more through
        (1, 8, 0.1, 1, 2),   // decode ahead: one prefill unit supports 2 decode (2.2 → 2)
        (3, 0, 0.1, 0, 0),   // decode all cold: no prefill admitted, a prefill without a decode cannot serve
        (0, 3, 0.1, 0, 0),   // and the reverse
        (1, 1, 0.1, 1, 1),   // one of each: at least one admitted per role (units 0.5 would cap prefill at 0)
        (0, 0, 0.1, 0, 0),
        (5, 9, 0.0, 4, 9),   // 4.5 units: prefill capped at 4
    ])
    func gatesTheLargerRole(_ p: Int, _ d: Int, _ tolerance: Double, _ ap: Int, _ ad: Int) {
        let admitted = ReadyRatioGate.admitted(
            [.init(name: "prefill", weight: 1, ready: p), .init(name: "decode", weight: 2, ready: d)], tolerance: tolerance)
        #expect(admitted == [ap, ad])
    }

    @Test func zeroWeightRolesAndSingleRolesAreNotGated() {
        #expect(ReadyRatioGate.admitted([.init(name: "a", weight: 1, ready: 5)]) == [5])
        #expect(ReadyRatioGate.admitted([.init(name: "a", weight: 1, ready: 5), .init(name: "b", weight: 0, ready: 1)]) == [5, 1])
        #expect(ReadyRatioGate.admitted([.init(name: "a", weight: 1, ready: 5), .init(name: "b", weight: 1, ready: 2),
                                         .init(name: "c", weight: 0, ready: 7)], tolerance: 0) == [2, 2, 7])
    }

    @Test func neverAdmitsMoreThanReadyAndIsBalancedWithinTolerance() {
        var rng = HeteroScaleTestRNG(seed: 42)
        for _ in 0..<2000 {
            let roles = (0..<Int.random(in: 2...4, using: &rng)).map { i in
                ReadyRatioGate.Role(name: "r\(i)", weight: Double(Int.random(in: 1...4, using: &rng)), ready: Int.random(in: 0...20, using: &rng))
            }
            let tol = Double.random(in: 0...0.5, using: &rng)
            let admitted = ReadyRatioGate.admitted(roles, tolerance: tol)
            let units = roles.map { Double($0.ready) / $0.weight }.min()!
            for (r, a) in zip(roles, admitted) {
                #expect(a <= r.ready && a >= 0)
                #expect(Double(a) <= max(1, units * r.weight * (1 + tol) + 1e-9))
                if units > 0 { #expect(a >= 1) } else { #expect(a == 0 || r.weight == 0) }
                // The role with the fewest units is never held back.
                if Double(r.ready) / r.weight == units { #expect(a == r.ready) }
            }
        }
    }
}
