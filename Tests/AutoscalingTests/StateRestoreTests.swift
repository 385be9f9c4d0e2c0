import Foundation
import Testing
@testable import Autoscaling

@Suite struct StateRestoreTests {
    /// A decision that was not applied keeps what it observed but not its scale action.
    @Test func withoutScaleActionRestoresOnlyTheScaleMemory() {
        let t0 = Date(timeIntervalSince1970: 1_000), t1 = Date(timeIntervalSince1970: 1_015)
        var before = AutoscalerState()
        before.hpa = HPAState(recommendations: [TimestampedRecommendation(time: t0, replicas: 2)],
                              scaleUpEvents: [TimestampedScaleEvent(time: t0, replicaChange: 1)])
        before.heteroScale = HeteroScaleState(lastScaleOutTime: t0)
        before.lastScaleTime = t0
        before.lastDesiredReplicas = 2
        var after = before
        after.hpa?.recommendations.append(TimestampedRecommendation(time: t1, replicas: 4))
        after.hpa?.scaleUpEvents.append(TimestampedScaleEvent(time: t1, replicaChange: 2))
        after.heteroScale?.lastScaleOutTime = t1
        after.lastScaleTime = t1
        after.lastDesiredReplicas = 4
        let restored = after.withoutScaleAction(restoring: before)
        #expect(restored.hpa?.recommendations.count == 2, "the observation stays")
        #expect(restored.hpa?.scaleUpEvents == before.hpa?.scaleUpEvents)
        #expect(restored.heteroScale?.lastScaleOutTime == t0)
        #expect(restored.lastScaleTime == t0 && restored.lastDesiredReplicas == 2)
    }
}
