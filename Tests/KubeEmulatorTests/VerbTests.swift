import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

@Suite("KubeEmulator verbs")
struct VerbTests {
    @Test func discoveryListsBuiltInsAndSubresources() async throws {
        try await withEmulator { _, client in
            let version = try await client.json(path: "/version")
            #expect(version["major"]?.stringValue == "1")
            let api = try await client.json(path: "/api")
            #expect(api["versions"]?[0]?.stringValue == "v1")
            let groups = try await client.json(path: "/apis")
            let names = groups["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names.contains("apps") && names.contains("coordination.k8s.io") && names.contains("events.k8s.io"))
            let apps = try await client.json(path: "/apis/apps/v1")
            let resources = apps["resources"]?.arrayValue ?? []
            let deploy = try #require(resources.first { $0["name"]?.stringValue == "deployments" })
            #expect(deploy["shortNames"]?[0]?.stringValue == "deploy")
            #expect(deploy["namespaced"]?.boolValue == true)
            let scale = try #require(resources.first { $0["name"]?.stringValue == "deployments/scale" })
            #expect(scale["kind"]?.stringValue == "Scale" && scale["group"]?.stringValue == "autoscaling")
            #expect(resources.contains { $0["name"]?.stringValue == "deployments/status" })
        }
    }

    @Test func createGetUpdateDelete() async throws {
        try await withEmulator { _, client in
            let path = "/api/v1/namespaces/default/configmaps"
            let created = try await client.json(method: "POST", path: path, body: configMap("a"))
            let meta = try #require(created["metadata"])
            #expect(meta["uid"]?.stringValue?.isEmpty == false)
            #expect(meta["creationTimestamp"]?.stringValue?.hasSuffix("Z") == true)
            let rv1 = try #require(meta["resourceVersion"]?.stringValue.flatMap { Int($0) })

            let err = try await expectAPIError(409, "AlreadyExists") {
                _ = try await client.json(method: "POST", path: path, body: configMap("a"))
            }
            #expect(err?.message == "configmaps \"a\" already exists")

            var changed = created
            changed["data"] = ["k": "w"]
            let updated = try await client.json(method: "PUT", path: "\(path)/a", body: changed)
            let rv2 = try #require(updated["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int($0) })
            #expect(rv2 > rv1)
            #expect(try await client.json(path: "\(path)/a")["data"]?["k"]?.stringValue == "w")

            // A no-op update keeps the resourceVersion.
            let same = try await client.json(method: "PUT", path: "\(path)/a", body: updated)
            #expect(same["metadata"]?["resourceVersion"]?.stringValue == String(rv2))

            let generated = try await client.json(method: "POST", path: path,
                                                  body: ["metadata": ["generateName": "gen-"], "data": [:]])
            let genName = try #require(generated["metadata"]?["name"]?.stringValue)
            #expect(genName.hasPrefix("gen-") && genName.count == 9)

            _ = try await client.json(method: "DELETE", path: "\(path)/a")
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(path: "\(path)/a") }
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(method: "DELETE", path: "\(path)/a") }
        }
    }

    @Test func staleResourceVersionConflicts() async throws {
        try await withEmulator { _, client in
            let path = "/api/v1/namespaces/default/configmaps"
            let created = try await client.json(method: "POST", path: path, body: configMap("a"))
            var first = created
            first["data"] = ["k": "1"]
            _ = try await client.json(method: "PUT", path: "\(path)/a", body: first)
            var stale = created
            stale["data"] = ["k": "2"]
            let (code, status) = try await raw(client, "PUT", "\(path)/a", body: stale)
            #expect(code == 409)
            #expect(status["kind"]?.stringValue == "Status" && status["apiVersion"]?.stringValue == "v1")
            #expect(status["status"]?.stringValue == "Failure" && status["reason"]?.stringValue == "Conflict")
            #expect(status["message"]?.stringValue ==
                "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again")
            #expect(status["details"]?["name"]?.stringValue == "a")
            #expect(status["code"]?.intValue == 409)
        }
    }

    @Test func notFoundStatusBodyMatchesKubeAPIServer() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            let (code, status) = try await raw(client, "GET", "\(dgPath)/x")
            #expect(code == 404)
            let expected: JSONValue = [
                "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                "message": "deploymentgroups.heteroscale.io \"x\" not found", "reason": "NotFound",
                "details": ["name": "x", "group": "heteroscale.io", "kind": "deploymentgroups"], "code": 404,
            ]
            #expect(status == expected)
            let (nsCode, nsStatus) = try await raw(client, "POST", "/api/v1/namespaces/nope/configmaps", body: configMap("a", namespace: "nope"))
            #expect(nsCode == 404)
            #expect(nsStatus["message"]?.stringValue == "namespaces \"nope\" not found")
        }
    }

    @Test func generationBumpsOnSpecChangesOnly() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            var dg = try await client.json(method: "POST", path: dgPath, body: try YAML.load(dgManifest))
            #expect(dg["metadata"]?["generation"]?.intValue == 1)
            dg["metadata"]?["labels"] = ["app": "other"]
            dg = try await client.json(method: "PUT", path: "\(dgPath)/llama", body: dg)
            #expect(dg["metadata"]?["generation"]?.intValue == 1)
            dg = try await client.json(method: "PATCH", path: "\(dgPath)/llama", body: ["spec": ["replicas": 4]],
                                       contentType: "application/merge-patch+json")
            #expect(dg["metadata"]?["generation"]?.intValue == 2)
            dg = try await client.json(method: "PATCH", path: "\(dgPath)/llama/status", body: ["status": ["replicas": 4]],
                                       contentType: "application/merge-patch+json")
            #expect(dg["metadata"]?["generation"]?.intValue == 2)
        }
    }

    @Test func statusSubresourceSeparatesSpecAndStatus() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            var body = try YAML.load(dgManifest)
            body["status"] = ["replicas": 9]
            let created = try await client.json(method: "POST", path: dgPath, body: body)
            #expect(created["status"] == nil)  // dropped on create

            // A status write ignores spec changes.
            let s = try await client.json(method: "PATCH", path: "\(dgPath)/llama/status",
                                          body: ["spec": ["replicas": 7], "status": ["replicas": 1, "readyReplicas": 1]],
                                          contentType: "application/merge-patch+json")
            #expect(s["spec"]?["replicas"]?.intValue == 2)
            #expect(s["status"]?["readyReplicas"]?.intValue == 1)

            // A main-resource write ignores status changes.
            var obj = try await client.json(path: "\(dgPath)/llama")
            obj["status"] = ["replicas": 99]
            obj["spec"]?["replicas"] = 3
            let u = try await client.json(method: "PUT", path: "\(dgPath)/llama", body: obj)
            #expect(u["spec"]?["replicas"]?.intValue == 3)
            #expect(u["status"]?["replicas"]?.intValue == 1)
        }
    }

    @Test func scaleSubresourceOnCustomResource() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            let list = try await client.json(path: "/apis/heteroscale.io/v1alpha1")
            let names = list["resources"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names == ["deploymentgroups", "deploymentgroups/scale", "deploymentgroups/status"])
            _ = try await client.json(method: "POST", path: dgPath, body: try YAML.load(dgManifest))
            _ = try await client.json(method: "PATCH", path: "\(dgPath)/llama/status",
                                      body: ["status": ["replicas": 2, "selector": "app=llama"]],
                                      contentType: "application/merge-patch+json")
            var scale = try await client.json(path: "\(dgPath)/llama/scale")
            #expect(scale["kind"]?.stringValue == "Scale" && scale["apiVersion"]?.stringValue == "autoscaling/v1")
            #expect(scale["spec"]?["replicas"]?.intValue == 2)
            #expect(scale["status"]?["selector"]?.stringValue == "app=llama")
            scale["spec"]?["replicas"] = 5
            let put = try await client.json(method: "PUT", path: "\(dgPath)/llama/scale", body: scale)
            #expect(put["spec"]?["replicas"]?.intValue == 5)
            // The scale's resourceVersion is a precondition: the old one is now stale.
            _ = try await expectAPIError(409, "Conflict") {
                _ = try await client.json(method: "PUT", path: "\(dgPath)/llama/scale", body: scale)
            }
            _ = try await client.json(method: "PATCH", path: "\(dgPath)/llama/scale", body: ["spec": ["replicas": 6]],
                                      contentType: "application/merge-patch+json")
            let obj = try await client.json(path: "\(dgPath)/llama")
            #expect(obj["spec"]?["replicas"]?.intValue == 6)
            #expect(obj["metadata"]?["generation"]?.intValue == 3)
        }
    }

    @Test(arguments: [("deployments", "Deployment"), ("statefulsets", "StatefulSet"), ("replicasets", "ReplicaSet")])
    func scaleSubresourceOnWorkloads(plural: String, kind: String) async throws {
        try await withEmulator { _, client in
            let path = "/apis/apps/v1/namespaces/default/\(plural)"
            let deploy: JSONValue = [
                "apiVersion": "apps/v1", "kind": .string(kind), "metadata": ["name": "web"],
                "spec": ["selector": ["matchLabels": ["app": "web"]],
                         "template": ["metadata": ["labels": ["app": "web"]],
                                      "spec": ["containers": [["name": "c", "image": "nginx"]]]]],
            ]
            let created = try await client.json(method: "POST", path: path, body: deploy)
            #expect(created["spec"]?["replicas"]?.intValue == 1)  // defaulted
            let scale = try await client.json(method: "PATCH", path: "\(path)/web/scale",
                                              body: [["op": "replace", "path": "/spec/replicas", "value": 3]],
                                              contentType: "application/json-patch+json")
            #expect(scale["spec"]?["replicas"]?.intValue == 3)
            #expect(scale["status"]?["selector"]?.stringValue == "app=web")
            #expect(try await client.json(path: "\(path)/web")["spec"]?["replicas"]?.intValue == 3)
        }
    }

    @Test func strategicMergePatchMergesListsByKey() async throws {
        try await withEmulator { _, client in
            let path = "/api/v1/namespaces/default/pods"
            let pod: JSONValue = ["metadata": ["name": "p"],
                                  "spec": ["containers": [["name": "a", "image": "x:1", "ports": [["containerPort": 80]]],
                                                          ["name": "b", "image": "y:1"]]]]
            _ = try await client.json(method: "POST", path: path, body: pod)
            let patched = try await client.json(
                method: "PATCH", path: "\(path)/p",
                body: ["spec": ["$setElementOrder/containers": [["name": "a"], ["name": "b"]],
                                "containers": [["name": "a", "image": "x:2"]]]],
                contentType: "application/strategic-merge-patch+json")
            let containers = patched["spec"]?["containers"]?.arrayValue ?? []
            #expect(containers.count == 2)
            #expect(containers.first?["image"]?.stringValue == "x:2")
            #expect(containers.first?["ports"] != nil)
            #expect(patched["spec"]?["$setElementOrder/containers"] == nil)
        }
    }

    @Test func finalizersDeferDeletion() async throws {
        try await withEmulator { _, client in
            let path = "/api/v1/namespaces/default/configmaps"
            var cm = configMap("f")
            cm["metadata"]?["finalizers"] = ["example.com/hold"]
            _ = try await client.json(method: "POST", path: path, body: cm)
            let deleting = try await client.json(method: "DELETE", path: "\(path)/f")
            #expect(deleting["metadata"]?["deletionTimestamp"]?.stringValue != nil)
            var obj = try await client.json(path: "\(path)/f")
            obj["metadata"]?["finalizers"] = nil
            _ = try await client.json(method: "PUT", path: "\(path)/f", body: obj)
            _ = try await expectAPIError(404, "NotFound") { _ = try await client.json(path: "\(path)/f") }
        }
    }

    @Test(arguments: [
        ("app=web", ["w1", "w2"]),
        ("app!=web", ["d1", "x"]),
        ("app in (web,db)", ["d1", "w1", "w2"]),
        ("app notin (web)", ["d1", "x"]),
        ("tier", ["w1"]),
        ("!tier", ["d1", "w2", "x"]),
        ("app=web,tier=front", ["w1"]),
    ])
    func labelSelectors(selector: String, expected: [String]) async throws {
        try await withEmulator { _, client in
            let path = "/api/v1/namespaces/default/configmaps"
            for (name, labels) in [("w1", ["app": "web", "tier": "front"]), ("w2", ["app": "web"]),
                                   ("d1", ["app": "db"]), ("x", [:])] as [(String, JSONObject)] {
                _ = try await client.json(method: "POST", path: path, body: configMap(name, labels: labels))
            }
            let q = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector
            let list = try await client.json(path: "\(path)?labelSelector=\(q)")
            #expect(list["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue } == expected)
        }
    }

    @Test func fieldSelectorAndPagination() async throws {
        try await withEmulator { _, client in
            let path = "/api/v1/namespaces/default/configmaps"
            for i in 0..<5 { _ = try await client.json(method: "POST", path: path, body: configMap("c\(i)")) }
            let one = try await client.json(path: "\(path)?fieldSelector=metadata.name%3Dc3")
            #expect(one["items"]?.arrayValue?.count == 1)
            var names: [String] = []
            var token: String?
            var pages = 0
            repeat {
                var p = "\(path)?limit=2"
                if let token { p += "&continue=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
                let page = try await client.json(path: p)
                names += page["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue } ?? []
                token = page["metadata"]?["continue"]?.stringValue
                pages += 1
            } while token != nil
            #expect(pages == 3)
            #expect(names == ["c0", "c1", "c2", "c3", "c4"])
            let all = try await client.json(path: "/api/v1/configmaps")
            #expect(all["items"]?.arrayValue?.count == 5)
        }
    }

    @Test(arguments: [false, true])
    func ownerReferencesCascadeUnlessOrphaned(orphan: Bool) async throws {
        try await withEmulator { _, client in
            let path = "/api/v1/namespaces/default/configmaps"
            let owner = try await client.json(method: "POST", path: path, body: configMap("owner"))
            var child = configMap("child")
            child["metadata"]?["ownerReferences"] = [["apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                                       "uid": owner["metadata"]?["uid"] ?? ""]]
            _ = try await client.json(method: "POST", path: path, body: child)
            var grandchild = configMap("grandchild")
            grandchild["metadata"]?["ownerReferences"] = [["apiVersion": "v1", "kind": "ConfigMap", "name": "child",
                                                            "uid": try await client.json(path: "\(path)/child")["metadata"]?["uid"] ?? ""]]
            _ = try await client.json(method: "POST", path: path, body: grandchild)
            _ = try await client.json(method: "DELETE", path: "\(path)/owner" + (orphan ? "?propagationPolicy=Orphan" : ""))
            let names = try await client.json(path: path)["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue }
            #expect(names == (orphan ? ["child", "grandchild"] : []))
        }
    }

    static let schemaCRD: JSONValue = [
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": ["name": "widgets.example.com"],
        "spec": [
            "group": "example.com", "scope": "Namespaced",
            "names": ["plural": "widgets", "singular": "widget", "kind": "Widget"],
            "versions": [[
                "name": "v1", "served": true, "storage": true,
                "schema": ["openAPIV3Schema": [
                    "type": "object",
                    "properties": [
                        "spec": [
                            "type": "object", "required": ["replicas"],
                            "properties": [
                                "replicas": ["type": "integer", "minimum": 0],
                                "mode": ["type": "string", "enum": ["Fast", "Slow"], "default": "Fast"],
                                "tags": ["type": "array", "items": ["type": "string"]],
                            ],
                        ],
                    ],
                ]],
            ]],
        ],
    ]

    @Test func customResourceSchemaDefaultsAndValidation() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: Self.schemaCRD)
            let path = "/apis/example.com/v1/namespaces/default/widgets"
            let ok = try await client.json(method: "POST", path: path,
                                           body: ["apiVersion": "example.com/v1", "kind": "Widget",
                                                  "metadata": ["name": "w"], "spec": ["replicas": 1]])
            #expect(ok["spec"]?["mode"]?.stringValue == "Fast")

            let (code, status) = try await raw(client, "POST", path, body: [
                "apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "bad"],
                "spec": ["replicas": -1, "mode": "Medium", "tags": [1]],
            ])
            #expect(code == 422)
            #expect(status["reason"]?.stringValue == "Invalid")
            let fields = status["details"]?["causes"]?.arrayValue?.compactMap { $0["field"]?.stringValue }
            #expect(fields == ["spec.replicas", "spec.mode", "spec.tags[0]"])
            #expect(status["details"]?["kind"]?.stringValue == "Widget")
            #expect(status["message"]?.stringValue?.hasPrefix("Widget.example.com \"bad\" is invalid: [spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0, ") == true)

            let (missingCode, missing) = try await raw(client, "POST", path, body: [
                "apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "m"], "spec": [:],
            ])
            #expect(missingCode == 422)
            #expect(missing["message"]?.stringValue == "Widget.example.com \"m\" is invalid: spec.replicas: Required value")
            // Updates are validated too.
            _ = try await expectAPIError(422, "Invalid") {
                _ = try await client.json(method: "PATCH", path: "\(path)/w", body: ["spec": ["replicas": "two"]],
                                          contentType: "application/merge-patch+json")
            }
        }
    }

    @Test func tableOutputUsesPrinterColumns() async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                      body: try YAML.load(crdManifest))
            _ = try await client.json(method: "POST", path: dgPath, body: try YAML.load(dgManifest))
            let request = try await client.makeRequest(method: "GET", path: dgPath,
                                                       accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
            let table = try JSONValue.parseJSON(try await client.transport.send(request).body)
            #expect(table["kind"]?.stringValue == "Table")
            let cols = table["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            #expect(cols == ["Name", "Replicas", "Ready", "Age"])
            let cells = table["rows"]?[0]?["cells"]?.arrayValue ?? []
            #expect(cells.count == 4)
            #expect(cells[0].stringValue == "llama" && cells[1].intValue == 2 && cells[2].isNull)
            #expect(cells[3].stringValue?.hasSuffix("s") == true)
        }
    }
}
