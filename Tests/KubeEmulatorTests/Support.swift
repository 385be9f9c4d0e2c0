import Foundation
import KubeClient
import KubeEmulator
import Testing
import YAML

/// Starts an emulator, hands a client for it to `body`, and stops it afterwards.
func withEmulator(_ configure: (inout KubeEmulator.Configuration) -> Void = { _ in },
                  _ body: (KubeEmulator, RESTClient) async throws -> Void) async throws {
    var config = KubeEmulator.Configuration()
    configure(&config)
    let emulator = KubeEmulator(configuration: config)
    let port = try await emulator.start()
    let client = RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(port)", source: "test"))
    do {
        try await body(emulator, client)
    } catch {
        try await emulator.stop()
        throw error
    }
    try await emulator.stop()
}

/// The Status error of a request expected to fail.
func expectAPIError(_ code: Int, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () async throws -> Void) async throws -> KubeAPIError? {
    do {
        try await body()
        Issue.record("expected \(code) \(reason), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as KubeAPIError {
        #expect(error.code == code, sourceLocation: sourceLocation)
        #expect(error.reason == reason, sourceLocation: sourceLocation)
        return error
    }
}

/// A raw request whose body is parsed whatever the status.
func raw(_ client: RESTClient, _ method: String = "GET", _ path: String, body: JSONValue? = nil,
         contentType: String = "application/json") async throws -> (Int, JSONValue) {
    let response = try await client.send(method: method, path: path, body: try body?.jsonBytes(),
                                         contentType: body == nil ? nil : contentType)
    return (response.status, try JSONValue.parseJSON(response.body))
}

/// Newline-delimited watch events read as they stream.
struct WatchStream {
    let response: HTTPStreamingResponse
    var iterator: HTTPStreamingResponse.AsyncIterator
    var buffer: [UInt8] = []

    init(_ client: RESTClient, _ path: String) async throws {
        let request = try await client.makeRequest(method: "GET", path: path, timeout: 30)
        response = try await client.transport.stream(request)
        iterator = response.makeAsyncIterator()
    }

    /// The next event, or nil when the server ends the stream.
    mutating func next() async throws -> JSONValue? {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.isEmpty { continue }
                return try JSONValue.parseJSON(line)
            }
            guard let chunk = try await iterator.next() else { return nil }
            buffer += chunk
        }
    }

    /// The next event that is not a BOOKMARK.
    mutating func nextNonBookmark() async throws -> JSONValue? {
        while let e = try await next() {
            if e["type"]?.stringValue != "BOOKMARK" { return e }
        }
        return nil
    }
}

func waitUntil(_ what: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
               _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

let crdManifest = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: deploymentgroups.heteroscale.io
spec:
  group: heteroscale.io
  scope: Namespaced
  names:
    plural: deploymentgroups
    singular: deploymentgroup
    kind: DeploymentGroup
    listKind: DeploymentGroupList
    shortNames: [dg]
    categories: [heteroscale]
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Ready
      type: integer
      jsonPath: .status.readyReplicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp

"""

let dgManifest = """
apiVersion: heteroscale.io/v1alpha1
kind: DeploymentGroup
metadata:
  name: llama
  namespace: default
  labels:
    app: llama
spec:
  replicas: 2
  roles:
  - name: prefill
    weight: 1

"""

let dgPath = "/apis/heteroscale.io/v1alpha1/namespaces/default/deploymentgroups"

func configMap(_ name: String, labels: JSONObject = [:], namespace: String = "default") -> JSONValue {
    ["apiVersion": "v1", "kind": "ConfigMap",
     "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": .object(labels)],
     "data": ["k": "v"]]
}
