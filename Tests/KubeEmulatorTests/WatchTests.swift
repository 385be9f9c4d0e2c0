import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

@Suite("KubeEmulator watch")
struct WatchTests {
    let path = "/api/v1/namespaces/default/configmaps"

    @Test func watchFromResourceVersionReceivesLaterEventsInOrder() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: path, body: configMap("before"))
            let list = try await client.json(path: path)
            let rv = try #require(list["metadata"]?["resourceVersion"]?.stringValue)
            var watch = try await WatchStream(client, "\(path)?watch=1&resourceVersion=\(rv)&timeoutSeconds=10")
            #expect(watch.response.status == 200)
            let created = try await client.json(method: "POST", path: path, body: configMap("a"))
            var changed = created
            changed["data"] = ["k": "changed"]
            let updated = try await client.json(method: "PUT", path: "\(path)/a", body: changed)
            _ = try await client.json(method: "DELETE", path: "\(path)/a")

            let e1 = try #require(try await watch.next())
            #expect(e1["type"]?.stringValue == "ADDED")
            #expect(e1["object"]?["metadata"]?["name"]?.stringValue == "a")
            #expect(e1["object"]?["metadata"]?["resourceVersion"] == created["metadata"]?["resourceVersion"])
            let e2 = try #require(try await watch.next())
            #expect(e2["type"]?.stringValue == "MODIFIED")
            #expect(e2["object"]?["metadata"]?["resourceVersion"] == updated["metadata"]?["resourceVersion"])
            let e3 = try #require(try await watch.next())
            #expect(e3["type"]?.stringValue == "DELETED")
            let rvs = [e1, e2, e3].compactMap { $0["object"]?["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int($0) } }
            #expect(rvs == rvs.sorted() && Set(rvs).count == 3)
            watch.response.cancel()
        }
    }

    @Test func watchWithoutResourceVersionStartsWithCurrentState() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: path, body: configMap("x", labels: ["app": "a"]))
            _ = try await client.json(method: "POST", path: path, body: configMap("y", labels: ["app": "b"]))
            var watch = try await WatchStream(client, "\(path)?watch=true&labelSelector=app%3Db&timeoutSeconds=10")
            let e = try #require(try await watch.next())
            #expect(e["type"]?.stringValue == "ADDED")
            #expect(e["object"]?["metadata"]?["name"]?.stringValue == "y")
            _ = try await client.json(method: "POST", path: path, body: configMap("z", labels: ["app": "a"]))
            _ = try await client.json(method: "POST", path: path, body: configMap("w", labels: ["app": "b"]))
            let next = try #require(try await watch.next())
            #expect(next["object"]?["metadata"]?["name"]?.stringValue == "w")
            watch.response.cancel()
        }
    }

    @Test func compactedResourceVersionGets410() async throws {
        try await withEmulator({ $0.historyLimit = 3 }) { _, client in
            let first = try await client.json(method: "POST", path: path, body: configMap("c0"))
            let oldRV = try #require(first["metadata"]?["resourceVersion"]?.stringValue)
            for i in 1...5 { _ = try await client.json(method: "POST", path: path, body: configMap("c\(i)")) }
            var watch = try await WatchStream(client, "\(path)?watch=1&resourceVersion=\(oldRV)")
            #expect(watch.response.status == 200)
            let e = try #require(try await watch.next())
            #expect(e["type"]?.stringValue == "ERROR")
            #expect(e["object"]?["kind"]?.stringValue == "Status")
            #expect(e["object"]?["code"]?.intValue == 410)
            #expect(e["object"]?["reason"]?.stringValue == "Expired")
            #expect(e["object"]?["message"]?.stringValue?.hasPrefix("too old resource version") == true)
            #expect(try await watch.next() == nil)  // the server ends the stream
        }
    }

    @Test func forcedCompactionExpiresEveryOlderVersion() async throws {
        try await withEmulator { emulator, client in
            let created = try await client.json(method: "POST", path: path, body: configMap("c"))
            let rv = try #require(created["metadata"]?["resourceVersion"]?.stringValue)
            _ = try await client.json(method: "POST", path: path, body: configMap("d"))
            emulator.compactHistory()
            var watch = try await WatchStream(client, "\(path)?watch=1&resourceVersion=\(rv)")
            #expect(try await watch.next()?["object"]?["code"]?.intValue == 410)
            // The current version is still fine.
            var current = try await WatchStream(client, "\(path)?watch=1&resourceVersion=\(emulator.resourceVersion)&timeoutSeconds=10")
            _ = try await client.json(method: "POST", path: path, body: configMap("e"))
            #expect(try await current.next()?["object"]?["metadata"]?["name"]?.stringValue == "e")
            current.response.cancel()
        }
    }

    @Test func bookmarksCarryOnlyTheResourceVersion() async throws {
        try await withEmulator({ $0.bookmarkInterval = .milliseconds(50) }) { emulator, client in
            _ = try await client.json(method: "POST", path: path, body: configMap("a"))
            let rv = emulator.resourceVersion
            var watch = try await WatchStream(client, "\(path)?watch=1&resourceVersion=\(rv)&allowWatchBookmarks=true&timeoutSeconds=10")
            let b = try #require(try await watch.next())
            #expect(b["type"]?.stringValue == "BOOKMARK")
            #expect(b["object"]?["metadata"]?.objectValue?.keys == ["resourceVersion"])
            #expect(b["object"]?["metadata"]?["resourceVersion"]?.stringValue == rv)
            _ = try await client.json(method: "POST", path: path, body: configMap("b"))
            let added = try #require(try await watch.nextNonBookmark())
            #expect(added["type"]?.stringValue == "ADDED")
            // The next bookmark is at least as new as the event before it.
            let b2 = try #require(try await watch.next())
            #expect(b2["type"]?.stringValue == "BOOKMARK")
            #expect(Int(b2["object"]?["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0
                >= Int(added["object"]?["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? .max)
            watch.response.cancel()
        }
    }

    @Test func watchEndsAfterTimeoutSeconds() async throws {
        try await withEmulator { emulator, client in
            var watch = try await WatchStream(client, "\(path)?watch=1&timeoutSeconds=1")
            #expect(try await watch.next() == nil)
            try await waitUntil("the watcher to be unregistered") { emulator.activeWatchCount == 0 }
        }
    }

    @Test func namespaceDeletionTerminatesThenRemovesContents() async throws {
        // Long enough that the create below lands while the namespace is Terminating, even on a loaded machine.
        try await withEmulator({ $0.namespaceTerminationDelay = .seconds(5) }) { emulator, client in
            _ = try await client.json(method: "POST", path: "/api/v1/namespaces", body: ["metadata": ["name": "demo"]])
            _ = try await client.json(method: "POST", path: "/api/v1/namespaces/demo/configmaps",
                                      body: configMap("c", namespace: "demo"))
            var watch = try await WatchStream(client, "/api/v1/configmaps?watch=1&resourceVersion=\(emulator.resourceVersion)&timeoutSeconds=60")
            let deleted = try await client.json(method: "DELETE", path: "/api/v1/namespaces/demo")
            #expect(deleted["status"]?["phase"]?.stringValue == "Terminating")
            let deletedRV = try #require(deleted["metadata"]?["resourceVersion"]?.stringValue)
            var nsWatch = try await WatchStream(client, "/api/v1/namespaces?watch=1&resourceVersion=\(deletedRV)&timeoutSeconds=60")
            let (code, status) = try await raw(client, "POST", "/api/v1/namespaces/demo/configmaps",
                                               body: configMap("d", namespace: "demo"))
            #expect(code == 403)
            #expect(status["message"]?.stringValue?.contains("because it is being terminated") == true)
            // The contents go first, then the namespace.
            let e = try #require(try await watch.next())
            #expect(e["type"]?.stringValue == "DELETED" && e["object"]?["metadata"]?["name"]?.stringValue == "c")
            let nsEvent = try #require(try await nsWatch.next())
            #expect(nsEvent["type"]?.stringValue == "DELETED" && nsEvent["object"]?["metadata"]?["name"]?.stringValue == "demo")
            nsWatch.response.cancel()
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(path: "/api/v1/namespaces/demo") }
            watch.response.cancel()
        }
    }

    @Test func crdDeletionEndsItsWatches() async throws {
        try await withEmulator { emulator, client in
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            _ = try await client.json(method: "POST", path: dgPath, body: try YAML.load(dgManifest))
            var watch = try await WatchStream(client, "\(dgPath)?watch=1&timeoutSeconds=10")
            #expect(try await watch.next()?["type"]?.stringValue == "ADDED")
            _ = try await client.json(method: "DELETE",
                                      path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/deploymentgroups.heteroscale.io")
            #expect(try await watch.next()?["type"]?.stringValue == "DELETED")
            #expect(try await watch.next() == nil)
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(path: dgPath) }
            #expect(emulator.activeWatchCount == 0)
        }
    }
}
