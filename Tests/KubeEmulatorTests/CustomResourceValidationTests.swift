import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// One invalid Widget spec and the aggregate kube-apiserver reports after `Widget.example.com "w" is invalid: `.
struct InvalidWidget: Sendable, CustomTestStringConvertible {
    var name: String
    var spec: JSONValue
    var expected: String
    var testDescription: String { name }
}

/// Messages of kube-openapi (k8s.io/kube-openapi/pkg/validation/errors/schema.go: `typeFailWithData`,
/// `minIncFail`, `maxIncFail`, `minExcFail`, `tooShortMessage`, `patternFail`, `minItemsFail`) turned into field
/// errors by apiextensions-apiserver (pkg/apiserver/validation/validation.go, `kubeOpenAPIResultToFieldErrors`:
/// Required, NotSupported, TooLong, TooMany, TypeInvalid, Invalid) and rendered by apimachinery's field.Error.
let invalidWidgets: [InvalidWidget] = [
    InvalidWidget(name: "wrong type", spec: ["replicas": "two"],
                  expected: "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""),
    InvalidWidget(name: "above maximum", spec: ["replicas": 11],
                  expected: "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
    InvalidWidget(name: "below minimum", spec: ["replicas": -1],
                  expected: "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"),
    InvalidWidget(name: "not above an exclusive minimum", spec: ["ratio": 0],
                  expected: "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"),
    InvalidWidget(name: "not in the enum", spec: ["mode": "Medium"],
                  expected: "spec.mode: Unsupported value: \"Medium\": supported values: \"Fast\", \"Slow\""),
    InvalidWidget(name: "shorter than minLength", spec: ["name": ""],
                  expected: "spec.name: Invalid value: \"\": spec.name in body should be at least 1 chars long"),
    InvalidWidget(name: "longer than maxLength", spec: ["name": "abcdef"],
                  expected: "spec.name: Too long: may not be more than 5 bytes"),
    InvalidWidget(name: "not matching the pattern", spec: ["name": "ABC"],
                  expected: "spec.name: Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'"),
    InvalidWidget(name: "more than maxItems", spec: ["tags": ["a", "b", "c"]],
                  expected: "spec.tags: Too many: 3: must have at most 2 items"),
    InvalidWidget(name: "wrong item type", spec: ["tags": [1]],
                  expected: "spec.tags[0]: Invalid value: \"integer\": spec.tags[0] in body must be of type string: \"integer\""),
    InvalidWidget(name: "fewer than minItems", spec: ["roles": []],
                  expected: "spec.roles: Invalid value: 0: spec.roles in body should have at least 1 items"),
    InvalidWidget(name: "required item field", spec: ["roles": [["weight": 2]]],
                  expected: "spec.roles[0].name: Required value"),
    // The type check, then the anyOf of the int-or-string pattern with its closest failure.
    InvalidWidget(name: "int-or-string given a fraction", spec: ["port": 1.5],
                  expected: "[spec.port: Invalid value: \"number\": spec.port in body must be of type integer,string: \"number\", <nil>: Invalid value: \"\": \"spec.port\" must validate at least one schema (anyOf), spec.port: Invalid value: \"number\": spec.port in body must be of type integer: \"number\"]"),
    InvalidWidget(name: "a quantity pattern refuses text", spec: ["target": "abc"],
                  expected: "spec.target: Invalid value: \"abc\": spec.target in body should match '\(WidgetFixture.quantityPattern)'"),
    InvalidWidget(name: "additionalProperties type", spec: ["labels": ["a": 1]],
                  expected: "spec.labels.a: Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\""),
    InvalidWidget(name: "required field missing", spec: ["replicas": nil],
                  expected: "spec.replicas: Required value"),
]

@Suite("KubeEmulator custom resource validation (as kube-apiserver)")
struct CustomResourceValidationTests {
    /// Runs `body` with the Widget CRD installed.
    func withWidgets(_ body: (RESTClient) async throws -> Void) async throws {
        try await withEmulator { _, client in
            _ = try await client.json(method: "POST", path: WidgetFixture.crdPath, body: WidgetFixture.crd)
            try await body(client)
        }
    }

    @Test(arguments: invalidWidgets)
    func invalidWidgetIsRejected(_ c: InvalidWidget) async throws {
        try await withWidgets { client in
            var widget = WidgetFixture.widget()
            for e in c.spec.objectValue ?? JSONObject() { widget["spec"]?[e.key] = e.value.isNull ? nil : e.value }
            if c.spec["replicas"]?.isNull == true { widget["spec"]?["replicas"] = nil }
            let (status, _, body) = try await send(client, "POST", WidgetFixture.path + "?fieldValidation=Strict", widget)
            #expect(status == 422, "\(body)")
            #expect(body["reason"]?.stringValue == "Invalid")
            #expect(body["message"]?.stringValue == "Widget.example.com \"w\" is invalid: \(c.expected)")
            #expect(body["details"]?["group"]?.stringValue == "example.com")
            #expect(body["details"]?["kind"]?.stringValue == "Widget")
        }
    }

    @Test(arguments: [
        ("a quantity string", JSONValue.string("500m")), ("a decimal string", "0.5"), ("a plain number", 0.5),
        ("an integer", 2), ("an exponent", "1e3"), ("a percentage", "80%"),
    ])
    func quantitiesPassThePattern(_ name: String, _ target: JSONValue) async throws {
        try await withWidgets { client in
            let (status, _, body) = try await send(client, "POST", WidgetFixture.path + "?fieldValidation=Strict",
                                                   WidgetFixture.widget(spec: ["target": target]))
            #expect(status == 201, "\(name): \(body)")
            #expect(body["spec"]?["target"] == target)
        }
    }

    @Test func badObjectNameIsInvalid() async throws {
        try await withWidgets { client in
            let (status, _, body) = try await send(client, "POST", WidgetFixture.path, WidgetFixture.widget("Bad_Name"))
            #expect(status == 422)
            #expect(body["message"]?.stringValue == "Widget.example.com \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
        }
    }

    /// Defaulting (apiextensions-apiserver pkg/apiserver/schema/defaulting): missing fields and non-nullable nulls
    /// take the default; a non-nullable null without a default is dropped; a nullable null stays.
    @Test func defaultsAndNulls() async throws {
        try await withWidgets { client in
            let widget = WidgetFixture.widget(spec: ["mode": nil, "name": nil, "note": nil, "roles": [["name": "a"]]])
            let (status, _, body) = try await send(client, "POST", WidgetFixture.path, widget)
            #expect(status == 201, "\(body)")
            #expect(body["spec"]?["mode"]?.stringValue == "Fast")
            #expect(body["spec"]?["roles"]?[0]?["weight"]?.intValue == 1)
            #expect(body["spec"]?.objectValue?.keys.contains("name") == false)
            #expect(body["spec"]?["note"]?.isNull == true)
        }
    }

    // MARK: unknown fields and fieldValidation

    /// Strict (kubectl's default): 400 worded by the handlers' `transformDecodeError` around the strict decoding
    /// error of apiextensions-apiserver's `schemaCoercingDecoder` (`unknown field "spec.replica"`).
    @Test func strictRefusesUnknownFieldsOnCreate() async throws {
        try await withWidgets { client in
            var widget = WidgetFixture.widget()
            widget["spec"]?["replica"] = 3
            widget["spec"]?["roles"] = [["name": "a", "wieght": 2]]
            let (status, _, body) = try await send(client, "POST", WidgetFixture.path + "?fieldValidation=Strict", widget)
            #expect(status == 400)
            #expect(body["reason"]?.stringValue == "BadRequest")
            #expect(body["message"]?.stringValue == "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.replica\", unknown field \"spec.roles[0].wieght\"")
            let (code, _) = try await raw(client, "GET", WidgetFixture.path + "/w")
            #expect(code == 404, "nothing was stored")
        }
    }

    @Test func strictRefusesUnknownFieldsOnUpdate() async throws {
        try await withWidgets { client in
            var stored = try await client.json(method: "POST", path: WidgetFixture.path, body: WidgetFixture.widget())
            stored["spec"]?["replica"] = 3
            let (status, _, body) = try await send(client, "PUT", WidgetFixture.path + "/w?fieldValidation=Strict", stored)
            #expect(status == 400)
            #expect(body["message"]?.stringValue == "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.replica\"")
        }
    }

    /// A strict JSON merge patch fails on the `patch` field (k8s.io/apiserver pkg/endpoints/handlers/patch.go,
    /// `jsonPatcher.applyPatchToCurrentObject`), the patched object quoted as the bad value.
    @Test func strictRefusesUnknownFieldsInAPatch() async throws {
        try await withWidgets { client in
            _ = try await client.json(method: "POST", path: WidgetFixture.path, body: WidgetFixture.widget())
            let (status, _, body) = try await send(client, "PATCH", WidgetFixture.path + "/w?fieldValidation=Strict",
                                                   ["spec": ["replica": 3]], contentType: "application/merge-patch+json")
            #expect(status == 422)
            let message = body["message"]?.stringValue ?? ""
            #expect(message.hasPrefix(" \"\" is invalid: patch: Invalid value: \"{\\\"apiVersion\\\":\\\"example.com/v1\\\""), "\(message)")
            #expect(message.hasSuffix("\": strict decoding error: unknown field \"spec.replica\""), "\(message)")
            #expect(body["details"]?["causes"]?[0]?["field"]?.stringValue == "patch")
        }
    }

    /// Custom resources take JSON, merge and apply patches only (apiextensions-apiserver customresource_handler:
    /// `supportedTypes`; the answer is k8s.io/apiserver negotiation `NewUnsupportedMediaTypeError`).
    @Test func strategicMergePatchIs415() async throws {
        try await withWidgets { client in
            _ = try await client.json(method: "POST", path: WidgetFixture.path, body: WidgetFixture.widget())
            let (status, _, body) = try await send(client, "PATCH", WidgetFixture.path + "/w", ["spec": ["replicas": 2]],
                                                   contentType: "application/strategic-merge-patch+json")
            #expect(status == 415)
            #expect(body["message"]?.stringValue == "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        }
    }

    /// Warn (the server's default when the parameter is absent): the field is dropped and reported in a
    /// `Warning: 299 - "unknown field \"spec.replica\""` header.
    @Test(arguments: ["?fieldValidation=Warn", ""])
    func warnDropsAndWarns(_ query: String) async throws {
        try await withWidgets { client in
            var widget = WidgetFixture.widget()
            widget["spec"]?["replica"] = 3
            widget["metadata"]?["labelz"] = ["a": "b"]
            let (status, headers, body) = try await send(client, "POST", WidgetFixture.path + query, widget)
            #expect(status == 201)
            #expect(warnings(headers) == ["299 - \"unknown field \\\"metadata.labelz\\\"\"", "299 - \"unknown field \\\"spec.replica\\\"\""])
            #expect(body["spec"]?["replica"] == nil)
            #expect(body["metadata"]?["labelz"] == nil)
        }
    }

    @Test func ignoreDropsSilently() async throws {
        try await withWidgets { client in
            var widget = WidgetFixture.widget()
            widget["spec"]?["replica"] = 3
            widget["spec"]?["template"] = ["anything": ["goes": true]]
            let (status, headers, body) = try await send(client, "POST", WidgetFixture.path + "?fieldValidation=Ignore", widget)
            #expect(status == 201)
            #expect(warnings(headers).isEmpty)
            #expect(body["spec"]?["replica"] == nil)
            #expect(body["spec"]?["template"] == ["anything": ["goes": true]], "x-kubernetes-preserve-unknown-fields keeps its content")
        }
    }

    /// A body over 3 MiB is refused before it is decoded (k8s.io/apiserver handlers `limitedReadBody`:
    /// `errors.NewRequestEntityTooLargeError("limit is 3145728")`).
    @Test func oversizedBodiesAre413() async throws {
        try await withWidgets { client in
            let widget = WidgetFixture.widget(spec: ["template": ["blob": .string(String(repeating: "x", count: 3 * 1024 * 1024))]])
            let (status, _, body) = try await send(client, "POST", WidgetFixture.path, widget)
            #expect(status == 413)
            #expect(body["reason"]?.stringValue == "RequestEntityTooLarge")
            #expect(body["message"]?.stringValue == "Request entity too large: limit is 3145728")
            // The connection stays usable.
            let (ok, _, _) = try await send(client, "POST", WidgetFixture.path, WidgetFixture.widget())
            #expect(ok == 201)
        }
    }
}
