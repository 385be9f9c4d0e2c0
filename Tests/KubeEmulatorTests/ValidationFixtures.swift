import Foundation
import KubeClient
import YAML

/// A CRD exercising every schema feature the validation tests need, and helpers to edit copies of it.
enum WidgetFixture {
    static let crdPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    static let path = "/apis/example.com/v1/namespaces/default/widgets"
    static let quantityPattern = #"^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?%?$"#

    static let crdYAML = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec:
          group: example.com
          scope: Namespaced
          names: {plural: widgets, singular: widget, kind: Widget}
          versions:
            - name: v1
              served: true
              storage: true
              subresources:
                status: {}
                scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    metadata: {type: object}
                    spec:
                      type: object
                      required: [replicas]
                      properties:
                        replicas: {type: integer, minimum: 0, maximum: 10}
                        mode: {type: string, enum: [Fast, Slow], default: Fast}
                        name: {type: string, minLength: 1, maxLength: 5, pattern: '^[a-z]+$'}
                        ratio: {type: number, minimum: 0, exclusiveMinimum: true}
                        tags: {type: array, maxItems: 2, items: {type: string}}
                        roles:
                          type: array
                          minItems: 1
                          x-kubernetes-list-type: map
                          x-kubernetes-list-map-keys: [name]
                          items:
                            type: object
                            required: [name]
                            properties:
                              name: {type: string}
                              weight: {type: number, default: 1}
                        port:
                          x-kubernetes-int-or-string: true
                          anyOf: [{type: integer}, {type: string}]
                        target:
                          x-kubernetes-preserve-unknown-fields: true
                          pattern: '\(quantityPattern)'
                        template: {type: object, x-kubernetes-preserve-unknown-fields: true}
                        labels: {type: object, additionalProperties: {type: string}}
                        note: {type: string, nullable: true}
                    status:
                      type: object
                      properties:
                        replicas: {type: integer}
        """

    static var crd: JSONValue { try! YAML.load(crdYAML) }

    /// A valid Widget named `name` with `spec` merged over `{replicas: 1}`.
    static func widget(_ name: String = "w", spec: JSONValue = [:]) -> JSONValue {
        var s: JSONValue = ["replicas": 1]
        for e in spec.objectValue ?? JSONObject() { s[e.key] = e.value }
        return ["apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": .string(name), "namespace": "default"], "spec": s]
    }
}

/// Sets (or with nil removes) the value at a path of keys; numeric keys index arrays.
func edited(_ value: JSONValue, _ path: [String], _ new: JSONValue?) -> JSONValue {
    guard let key = path.first else { return new ?? .null }
    let rest = Array(path.dropFirst())
    switch value {
    case .array(var a):
        guard let i = Int(key), a.indices.contains(i) else { return value }
        a[i] = edited(a[i], rest, new)
        return .array(a)
    default:
        var o = value.objectValue ?? JSONObject()
        if rest.isEmpty && new == nil {
            o[key] = nil
        } else {
            o[key] = edited(o[key] ?? .object([:]), rest, new)
        }
        return .object(o)
    }
}

/// The path of the Widget CRD's spec schema properties.
let widgetSpecProps = ["spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec", "properties"]
let widgetSchema = ["spec", "versions", "0", "schema", "openAPIV3Schema"]

/// A request with raw headers and body (`fieldValidation` and friends go in the path's query).
func send(_ client: RESTClient, _ method: String, _ path: String, _ body: JSONValue,
          contentType: String = "application/json") async throws -> (status: Int, headers: HTTPHeaders, body: JSONValue) {
    let response = try await client.send(method: method, path: path, body: try body.jsonBytes(), contentType: contentType)
    return (response.status, response.headers, try JSONValue.parseJSON(response.body))
}

/// The `Warning` header values of a response.
func warnings(_ headers: HTTPHeaders) -> [String] {
    headers.filter { $0.name.lowercased() == "warning" }.map(\.value)
}
