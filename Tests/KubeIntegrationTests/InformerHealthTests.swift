import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

@testable import KubeRuntime

/// An informer reports an API server outage (for `/readyz`), and recovers as soon as a watch is accepted
/// again — even on an idle resource where no event or bookmark arrives.
@Suite(.serialized) struct InformerHealthTests {
    @Test func anOutageMakesTheInformerUnhealthyUntilAWatchIsAcceptedAgain() async throws {
        let f = try await EmulatorFixture.start()
        _ = try await f.client.create(.leases, namespace: "default", lease("a"))
        // The re-watch delays are 0.8 s, 1.6 s, …: the shortest backoff (random() = 0) keeps the test short.
        let informer = Informer(client: f.client, resource: .leases, namespace: "default", clock: ContinuousClock(),
                                random: { 0 }) { _ in }
        let run = Task { await informer.run() }
        await waitUntil("synced") { informer.isHealthy }
        #expect(informer.hasSynced && informer.lastError == nil)

        f.emulator.injectFault(FaultRule(watch: true, action: .fail(code: 503)))
        f.emulator.closeAllWatches()
        await waitUntil("the outage is seen") { !informer.isHealthy }
        #expect(informer.hasSynced, "the cache keeps serving its last state")
        #expect(informer.lastError?.contains("503") == true, "\(informer.lastError ?? "")")

        let watches = informer.counts.watches
        f.emulator.clearFaults()
        // No object changes: only the accepted watch itself can clear the error.
        await waitUntil("healthy again", seconds: 15) { informer.isHealthy }
        #expect(informer.isHealthy)
        #expect(informer.counts.watches > watches)
        run.cancel()
        await run.value
        await f.stop()
    }
}
