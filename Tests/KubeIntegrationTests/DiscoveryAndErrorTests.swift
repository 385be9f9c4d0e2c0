import Foundation
import KubeEmulator
import Testing
import YAML

@testable import KubeClient

/// A small CRD with a schema, so the emulator validates its objects.
let widgetCRD: JSONValue = [
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": ["name": "widgets.example.io"],
    "spec": [
        "group": "example.io", "scope": "Namespaced",
        "names": ["plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]],
        "versions": [[
            "name": "v1", "served": true, "storage": true,
            "subresources": ["status": [:], "scale": ["specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"]],
            "schema": ["openAPIV3Schema": [
                "type": "object",
                "properties": ["spec": ["type": "object", "properties": ["replicas": ["type": "integer", "minimum": 0]]]],
            ]],
        ]],
    ],
]

@Suite(.serialized) struct DiscoveryTests {
    @Test func resolvesBuiltInsAndCRDsCreatedAtRunTime() async throws {
        let f = try await EmulatorFixture.start()
        let discovery = Discovery(client: f.client)
        let deploy = try await discovery.resolve(apiVersion: "apps/v1", kind: "Deployment")
        #expect(deploy.resource == GroupVersionResource.deployments)
        #expect(deploy.subresources.contains("scale"))
        let ns = try await discovery.resolve(apiVersion: "v1", kind: "Namespace")
        #expect(ns.resource.namespaced == false)
        #expect(ns.resource.path(namespace: "x", name: "y") == "/api/v1/namespaces/y")

        // Not served yet ...
        await #expect { _ = try await discovery.resolve(apiVersion: "example.io/v1", kind: "Widget") } throws: { e in
            (e as? KubeAPIError)?.isNotFound == true
        }
        // ... until the CRD is created.
        _ = try await f.client.create(GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions", namespaced: false), widgetCRD)
        let widget = try await discovery.resolve(apiVersion: "example.io/v1", kind: "Widget")
        #expect(widget.resource.resource == "widgets")
        #expect(widget.shortNames == ["wd"])
        #expect(Set(widget.subresources) == ["scale", "status"])

        // The scale subresource of any kind, through the resolved resource.
        _ = try await f.client.create(widget.resource, namespace: "default",
                                      ["apiVersion": "example.io/v1", "kind": "Widget", "metadata": ["name": "w"], "spec": ["replicas": 2]])
        let scale = try await f.client.get(widget.resource, namespace: "default", name: "w", subresource: "scale")
        #expect(scale["kind"] == "Scale")
        #expect(scale["spec"]?["replicas"] == 2)
        await f.stop()
    }
}

@Suite(.serialized) struct TypedErrorTests {
    @Test func invalidObjectsCarryTheirCauses() async throws {
        let f = try await EmulatorFixture.start()
        let crds = GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions", namespaced: false)
        _ = try await f.client.create(crds, widgetCRD)
        let widgets = GroupVersionResource(group: "example.io", version: "v1", resource: "widgets")
        do {
            _ = try await f.client.create(widgets, namespace: "default",
                                          ["apiVersion": "example.io/v1", "kind": "Widget", "metadata": ["name": "bad"], "spec": ["replicas": -1]])
            Issue.record("expected 422 Invalid")
        } catch let e as KubeAPIError {
            #expect(e.kind == .invalid)
            #expect(e.code == 422)
            #expect(e.causes.contains { $0.field.contains("spec.replicas") })
        }
        await f.stop()
    }

    @Test(arguments: [
        (404, "NotFound", KubeAPIError.Kind.notFound), (409, "AlreadyExists", .alreadyExists), (409, "Conflict", .conflict),
        (410, "Expired", .expired), (403, "Forbidden", .forbidden), (401, "Unauthorized", .unauthorized),
        (429, "TooManyRequests", .tooManyRequests), (422, "Invalid", .invalid), (500, "InternalError", .serverError),
        (503, "ServiceUnavailable", .serverError), (504, "Timeout", .timeout),
    ])
    func statusReasonsMapToKinds(code: Int, reason: String, kind: KubeAPIError.Kind) {
        let body = #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"m","reason":"\#(reason)","code":\#(code),"details":{"retryAfterSeconds":2}}"#
        let e = KubeAPIError(response: HTTPResponse(status: code, headers: [:], body: Array(body.utf8)), method: "GET", path: "/x")
        #expect(e.kind == kind)
        #expect(e.retryAfterSeconds == 2)
        #expect(e.isRetryable == [.serverError, .tooManyRequests, .timeout].contains(kind))
    }

    @Test func conflictsAreRetriedThenGiveUp() async throws {
        let f = try await EmulatorFixture.start()
        _ = try await f.client.create(.leases, namespace: "default", lease("c"))
        // Two 409s, then the write goes through on the third attempt.
        f.emulator.injectFault(FaultRule(method: "PUT", action: .fail(code: 409), count: 2))
        let client = f.client
        let attempts = Locked(0)
        let written = try await retryOnConflict {
            attempts.withLock { $0 += 1 }
            var current = try await client.get(.leases, namespace: "default", name: "c")
            current["spec"] = ["holderIdentity": "retried"]
            return try await client.update(.leases, namespace: "default", current)
        }
        #expect(written["spec"]?["holderIdentity"] == "retried")
        #expect(attempts.withLock { $0 } == 3)
        // With fewer attempts than conflicts, the Conflict reaches the caller.
        f.emulator.injectFault(FaultRule(method: "PUT", action: .fail(code: 409), count: 5))
        await #expect {
            _ = try await retryOnConflict(attempts: 2) {
                let current = try await client.get(.leases, namespace: "default", name: "c")
                return try await client.update(.leases, namespace: "default", current)
            }
        } throws: { e in (e as? KubeAPIError)?.isConflict == true }
        await f.stop()
    }
}
