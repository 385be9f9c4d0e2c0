import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// One invalid CRD: an edit of the Widget CRD and the error kube-apiserver reports for it.
struct InvalidCRD: Sendable, CustomTestStringConvertible {
    var name: String
    var path: [String]
    var value: JSONValue?
    /// The aggregate after `CustomResourceDefinition.apiextensions.k8s.io "widgets.example.com" is invalid: `.
    var expected: String
    var testDescription: String { name }
}

/// Schema paths are reported as kube-apiserver's internal version has them: one version's schema and subresources
/// are hoisted to `spec.validation` and `spec.subresources` by the v1 → internal conversion.
private let schemaPath = "spec.validation.openAPIV3Schema"

/// The CRD rules of kube-apiserver, each with its message verbatim:
/// - apiextensions-apiserver pkg/apiserver/schema/validation.go (`validateStructuralInvariants`,
///   `validateStructuralMetadataInvariants`, `validateNestedValueValidation`, `validateExtensions`);
/// - apiextensions-apiserver pkg/apis/apiextensions/validation/validation.go (`ValidateCustomResourceDefinition`,
///   `validateCustomResourceDefinitionSpec`, `ValidateCustomResourceDefinitionNames`,
///   `ValidateCustomResourceDefinitionSubresources`, `ValidateCustomResourceDefinitionOpenAPISchema`);
/// - apimachinery pkg/util/validation (DNS names) and pkg/api/errors (`NewInvalid`).
let invalidCRDs: [InvalidCRD] = [
    InvalidCRD(name: "root metadata with a description", path: widgetSchema + ["properties", "metadata"],
               value: ["type": "object", "description": "Standard object metadata."],
               expected: "\(schemaPath).properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"),
    InvalidCRD(name: "root metadata restricting labels", path: widgetSchema + ["properties", "metadata"],
               value: ["type": "object", "properties": ["labels": ["type": "object"]]],
               expected: "\(schemaPath).properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"),
    InvalidCRD(name: "object field without a type", path: widgetSpecProps + ["replicas"], value: ["minimum": 0],
               expected: "\(schemaPath).properties[spec].properties[replicas].type: Required value: must not be empty for specified object fields"),
    InvalidCRD(name: "array items without a type", path: widgetSpecProps + ["tags", "items"], value: ["minLength": 1],
               expected: "\(schemaPath).properties[spec].properties[tags].items.type: Required value: must not be empty for specified array items"),
    InvalidCRD(name: "array without items", path: widgetSpecProps + ["tags"], value: ["type": "array"],
               expected: "\(schemaPath).properties[spec].properties[tags].items: Required value: must be specified"),
    InvalidCRD(name: "root that is not an object", path: widgetSchema + ["type"], value: "array",
               expected: "\(schemaPath).type: Invalid value: \"array\": must be object at the root"),
    InvalidCRD(name: "additionalProperties with properties", path: widgetSpecProps + ["labels"],
               value: ["type": "object", "properties": ["a": ["type": "string"]], "additionalProperties": ["type": "string"]],
               expected: "\(schemaPath).properties[spec].properties[labels].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"),
    InvalidCRD(name: "type inside anyOf", path: widgetSpecProps + ["port"],
               value: ["type": "string", "anyOf": [["type": "string"], ["maxLength": 3]]],
               expected: "\(schemaPath).properties[spec].properties[port].anyOf[0].type: Forbidden: must be empty to be structural"),
    InvalidCRD(name: "list type inside allOf", path: widgetSpecProps + ["tags"],
               value: ["type": "array", "items": ["type": "string"], "allOf": [["x-kubernetes-list-type": "set"]]],
               expected: "\(schemaPath).properties[spec].properties[tags].allOf[0].x-kubernetes-list-type: Forbidden: must be undefined to be structural"),
    InvalidCRD(name: "int-or-string that preserves unknown fields", path: widgetSpecProps + ["port"],
               value: ["x-kubernetes-int-or-string": true, "x-kubernetes-preserve-unknown-fields": true],
               expected: "\(schemaPath).properties[spec].properties[port].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true"),
    InvalidCRD(name: "preserve-unknown-fields false", path: widgetSpecProps + ["template"],
               value: ["type": "object", "x-kubernetes-preserve-unknown-fields": false],
               expected: "\(schemaPath).properties[spec].properties[template].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"),
    InvalidCRD(name: "map-list key that is neither required nor defaulted", path: widgetSpecProps + ["roles", "items", "required"],
               value: nil,
               expected: "\(schemaPath).properties[spec].properties[roles].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"),
    InvalidCRD(name: "map list without keys", path: widgetSpecProps + ["roles", "x-kubernetes-list-map-keys"], value: nil,
               expected: "\(schemaPath).properties[spec].properties[roles].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"),
    InvalidCRD(name: "unknown list type", path: widgetSpecProps + ["tags", "x-kubernetes-list-type"], value: "bag",
               expected: "\(schemaPath).properties[spec].properties[tags].x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"set\", \"map\""),
    InvalidCRD(name: "uniqueItems", path: widgetSpecProps + ["tags", "uniqueItems"], value: true,
               expected: "\(schemaPath).properties[spec].properties[tags].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"),
    InvalidCRD(name: "unknown type name", path: widgetSpecProps + ["ratio", "type"], value: "float",
               expected: "\(schemaPath).properties[spec].properties[ratio].type: Unsupported value: \"float\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\""),
    InvalidCRD(name: "default that breaks the schema", path: widgetSpecProps + ["mode", "default"], value: "Medium",
               expected: "\(schemaPath).properties[spec].properties[mode].default: Unsupported value: \"Medium\": supported values: \"Fast\", \"Slow\""),
    InvalidCRD(name: "CEL rule without a rule", path: widgetSchema + ["properties", "spec", "x-kubernetes-validations"],
               value: [["message": "m"]],
               expected: "\(schemaPath).properties[spec].x-kubernetes-validations[0].rule: Required value: rule is not specified"),
    InvalidCRD(name: "CEL fieldPath naming no field", path: widgetSchema + ["properties", "spec", "x-kubernetes-validations"],
               value: [["rule": "self.replicas >= 0", "fieldPath": ".replica"]],
               expected: "\(schemaPath).properties[spec].x-kubernetes-validations[0].fieldPath: Invalid value: \".replica\": fieldPath must be a valid path: does not refer to a valid field"),
    InvalidCRD(name: "name that is not plural.group", path: ["metadata", "name"], value: "widget.example.com",
               expected: "metadata.name: Invalid value: \"widget.example.com\": must be spec.names.plural+\".\"+spec.group"),
    InvalidCRD(name: "group without a dot", path: ["spec", "group"], value: "example",
               expected: "spec.group: Invalid value: \"example\": should be a domain with at least one dot"),
    InvalidCRD(name: "unknown scope", path: ["spec", "scope"], value: "Global",
               expected: "spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""),
    InvalidCRD(name: "no storage version", path: ["spec", "versions", "0", "storage"], value: false,
               expected: "must have exactly one version marked as storage version"),
    InvalidCRD(name: "version name that is not a DNS label", path: ["spec", "versions", "0", "name"], value: "V1",
               expected: "spec.versions[0].name: Invalid value: \"V1\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
    InvalidCRD(name: "version without a schema", path: ["spec", "versions", "0", "schema"], value: nil,
               expected: "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"),
    InvalidCRD(name: "plural with capitals", path: ["spec", "names", "plural"], value: "Widgets",
               expected: "spec.names.plural: Invalid value: \"Widgets\""),
    InvalidCRD(name: "kind equal to listKind", path: ["spec", "names", "listKind"], value: "Widget",
               expected: "spec.names.listKind: Invalid value: \"Widget\": kind and listKind may not be the same"),
    InvalidCRD(name: "scale spec path outside .spec", path: ["spec", "versions", "0", "subresources", "scale", "specReplicasPath"],
               value: ".replicas",
               expected: "spec.subresources.scale.specReplicasPath: Invalid value: \".replicas\": should be a json path under .spec"),
    InvalidCRD(name: "scale status path outside .status", path: ["spec", "versions", "0", "subresources", "scale", "statusReplicasPath"],
               value: ".spec.replicas",
               expected: "spec.subresources.scale.statusReplicasPath: Invalid value: \".spec.replicas\": should be a json path under .status"),
    InvalidCRD(name: "label selector path outside .spec and .status", path: ["spec", "versions", "0", "subresources", "scale", "labelSelectorPath"],
               value: ".metadata.labels",
               expected: "spec.subresources.scale.labelSelectorPath: Invalid value: \".metadata.labels\": should be a json path under either .spec or .status"),
    InvalidCRD(name: "scale without a spec path", path: ["spec", "versions", "0", "subresources", "scale", "specReplicasPath"],
               value: nil, expected: "spec.subresources.scale.specReplicasPath: Required value"),
    InvalidCRD(name: "printer column of an unknown type", path: ["spec", "versions", "0", "additionalPrinterColumns"],
               value: [["name": "R", "type": "int", "jsonPath": ".spec.replicas"]],
               expected: "spec.additionalPrinterColumns[0].type: Invalid value: \"int\": must be one of boolean,date,integer,number,string"),
]

@Suite("KubeEmulator CRD validation (as kube-apiserver)")
struct CRDValidationTests {
    @Test func theFixtureIsValid() async throws {
        try await withEmulator { _, client in
            let (status, headers, body) = try await send(client, "POST", WidgetFixture.crdPath + "?fieldValidation=Strict", WidgetFixture.crd)
            #expect(status == 201, "\(body)")
            #expect(warnings(headers).isEmpty)
            #expect(body["spec"]?["names"]?["listKind"]?.stringValue == "WidgetList", "names are defaulted")
        }
    }

    @Test(arguments: invalidCRDs)
    func invalidCRDIsRejected(_ c: InvalidCRD) async throws {
        let crd = edited(WidgetFixture.crd, c.path, c.value)
        let name = crd["metadata"]?["name"]?.stringValue ?? ""
        try await withEmulator { _, client in
            let (status, _, body) = try await send(client, "POST", WidgetFixture.crdPath, crd)
            #expect(status == 422)
            #expect(body["reason"]?.stringValue == "Invalid")
            #expect(body["details"]?["group"]?.stringValue == "apiextensions.k8s.io")
            #expect(body["details"]?["kind"]?.stringValue == "CustomResourceDefinition")
            let message = body["message"]?.stringValue ?? ""
            let prefix = "CustomResourceDefinition.apiextensions.k8s.io \"\(name)\" is invalid: "
            #expect(message.hasPrefix(prefix), "\(message)")
            #expect(message.contains(c.expected), "\(message)")
            // Nothing is served for a refused CRD.
            let (code, _) = try await raw(client, "GET", WidgetFixture.path)
            #expect(code == 404)
        }
    }

    /// The detail after the field is upstream's wording; a CRD that breaks one rule gets exactly that one error.
    @Test func oneBrokenRuleGivesExactlyOneCause() async throws {
        try await withEmulator { _, client in
            let crd = edited(WidgetFixture.crd, widgetSchema + ["properties", "metadata"], ["type": "object", "description": "d"])
            let (_, _, body) = try await send(client, "POST", WidgetFixture.crdPath, crd)
            #expect(body["message"]?.stringValue == "CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified")
            #expect(body["details"]?["causes"] == [[
                "reason": "FieldValueForbidden",
                "message": "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
                "field": "spec.validation.openAPIV3Schema.properties[metadata]",
            ]])
        }
    }

    /// Updates are validated like creates: a valid CRD cannot be broken by a PUT.
    @Test func updatesAreValidated() async throws {
        try await withEmulator { _, client in
            let created = try await client.json(method: "POST", path: WidgetFixture.crdPath, body: WidgetFixture.crd)
            let broken = edited(created, ["spec", "versions", "0", "storage"], false)
            let (status, _, body) = try await send(client, "PUT", WidgetFixture.crdPath + "/widgets.example.com", broken)
            #expect(status == 422)
            #expect(body["message"]?.stringValue?.contains("must have exactly one version marked as storage version") == true)
        }
    }

    /// Two versions with different schemas keep per-version paths (nothing is hoisted).
    @Test func perVersionSchemasKeepTheirPaths() async throws {
        var crd = WidgetFixture.crd
        var v2 = try #require(crd["spec"]?["versions"]?[0])
        v2["name"] = "v2"
        v2["storage"] = false
        v2 = edited(v2, ["schema", "openAPIV3Schema", "properties", "spec", "properties", "extra"], ["minimum": 1])
        crd = edited(crd, ["spec", "versions"], .array((crd["spec"]?["versions"]?.arrayValue ?? []) + [v2]))
        try await withEmulator { _, client in
            let (status, _, body) = try await send(client, "POST", WidgetFixture.crdPath, crd)
            #expect(status == 422)
            #expect(body["message"]?.stringValue?.contains("spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[extra].type: Required value: must not be empty for specified object fields") == true, "\(body)")
        }
    }
}
