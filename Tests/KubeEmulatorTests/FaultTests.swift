import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

@Suite("KubeEmulator fault injection")
struct FaultTests {
    let path = "/api/v1/namespaces/default/configmaps"

    @Test(arguments: [(409, "Conflict"), (429, "TooManyRequests"), (500, "InternalError"), (503, "ServiceUnavailable")])
    func injectedFailuresAreStatusBodies(code: Int, reason: String) async throws {
        try await withEmulator { emulator, client in
            emulator.injectFault(FaultRule(method: "POST", pathContains: "/configmaps",
                                           action: .fail(code: code, retryAfterSeconds: code == 429 ? 2 : nil), count: 1))
            let error = try await expectAPIError(code, reason) {
                _ = try await client.json(method: "POST", path: path, body: configMap("a"))
            }
            if code == 429 { #expect(error?.retryAfterSeconds == 2) }
            // count: 1 → the retry succeeds.
            _ = try await client.json(method: "POST", path: path, body: configMap("a"))
            // Other requests were never affected.
            #expect(try await client.json(path: path)["items"]?.arrayValue?.count == 1)
        }
    }

    @Test func rulesLastUntilCleared() async throws {
        try await withEmulator { emulator, client in
            emulator.injectFault(FaultRule(method: "GET", watch: false, action: .fail(code: 503)))
            for _ in 0..<3 {
                _ = try await expectAPIError(503, "ServiceUnavailable") { _ = try await client.json(path: path) }
            }
            emulator.clearFaults()
            _ = try await client.json(path: path)
        }
    }

    @Test func delayedAnswersStillArrive() async throws {
        try await withEmulator { emulator, client in
            emulator.injectFault(FaultRule(action: .delay(.milliseconds(200)), count: 1))
            let start = ContinuousClock.now
            _ = try await client.json(path: "/version")
            #expect(ContinuousClock.now - start >= .milliseconds(200))
        }
    }

    @Test func closeAllWatchesEndsStreams() async throws {
        try await withEmulator { emulator, client in
            var watch = try await WatchStream(client, "\(path)?watch=1&resourceVersion=\(emulator.resourceVersion)")
            try await waitUntil("the watch") { emulator.activeWatchCount == 1 }
            emulator.closeAllWatches()
            #expect(try await watch.next() == nil)
            #expect(emulator.activeWatchCount == 0)
        }
    }
}
