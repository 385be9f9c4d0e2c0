import Foundation
import KubeAPI
import Testing
import YAML

/// A scenario-like type: optional sections, a map, an untyped subtree and a custom `init(from:)` that accepts
/// two spellings of one field.
private struct Settings: Decodable, Equatable {
    struct SLO: Decodable, Equatable {
        var ttftMs: Double?
        var tbtMs: Double?
    }
    struct Pool: Decodable, Equatable {
        var gpuType: String
        var count: Int
    }
    var name: String?
    var slo: SLO?
    var pools: [Pool]?
    var labels: [String: String]?
    var extra: JSONValue?
    var profiles: [String]

    enum CodingKeys: String, CodingKey { case name, slo, pools, labels, extra, profiles, profile }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        slo = try c.decodeIfPresent(SLO.self, forKey: .slo)
        pools = try c.decodeIfPresent([Pool].self, forKey: .pools)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        extra = try c.decodeIfPresent(JSONValue.self, forKey: .extra)
        if let list = try? c.decodeIfPresent([String].self, forKey: .profiles) {
            profiles = list
        } else {
            profiles = [try c.decodeIfPresent(String.self, forKey: .profile)].compactMap { $0 }
        }
    }
}

@Suite("Strict decoding: unknown keys are errors with line and the nearest valid key")
struct StrictDecodingTests {
    /// The case of issue 10: a typo inside `slo:` used to vanish (and the run reported 100 % attainment).
    @Test func aTypoInsideSLOIsReportedAtItsLineWithTheNearestKey() throws {
        let text = """
            name: demo
            slo:
              ttftMS: 1000
              tbtMs: 80
            profiles: [a.yaml]
            """
        // Lenient (the default, for objects from an API server): the typo is dropped.
        #expect(try YAML.decode(Settings.self, from: text).slo == Settings.SLO(ttftMs: nil, tbtMs: 80))
        #expect {
            _ = try YAML.decode(Settings.self, from: text, strict: true)
        } throws: { error in
            let e = error as? YAMLError
            return e?.mark == YAMLMark(line: 3, column: 3) && e?.path == "slo"
                && e?.message == #"unknown field "ttftMS", did you mean "ttftMs"?"#
                && "\(error)" == #"line 3, column 3: slo: unknown field "ttftMS", did you mean "ttftMs"?"#
        }
    }

    @Test(arguments: [
        // (document, line, column, path, message)
        ("sloo: {ttftMs: 1}\nprofiles: []", 1, 1, "", #"unknown field "sloo", did you mean "slo"?"#),
        ("profiles: []\npools:\n  - {gpuType: h100, count: 2}\n  - gpuType: h20\n    cuont: 4\n", 5, 5, "pools[1]",
         #"unknown field "cuont", did you mean "count"?"#),
        ("profiles: []\nslo: {latency: 3}", 2, 7, "slo", #"unknown field "latency"; valid fields: ttftMs, tbtMs"#),
        // A required field spelt wrong is reported as the typo, not as "missing required field".
        ("profiles: []\npools: [{gpuType: h100, counts: 2}]", 2, 25, "pools[0]", #"unknown field "counts", did you mean "count"?"#),
    ])
    func unknownKeysNameLinePathAndSuggestion(text: String, line: Int, column: Int, path: String, message: String) throws {
        #expect {
            _ = try YAML.decode(Settings.self, from: text, strict: true)
        } throws: { error in
            guard let e = error as? YAMLError else { return false }
            #expect(e.mark == YAMLMark(line: line, column: column))
            #expect((e.path ?? "") == path)
            #expect(e.message == message)
            return true
        }
    }

    @Test func whatTheTypeReadsIsAccepted() throws {
        // Maps take any key, `JSONValue` subtrees anything, and both spellings the custom init reads are valid.
        let text = """
            labels: {anything: goes, "app.kubernetes.io/name": x}
            extra: {free: {form: [1, 2]}}
            profile: one.yaml
            slo: {ttftMs: 1, tbtMs: 2}
            pools: [{gpuType: h100, count: 1}]
            """
        let s = try YAML.decode(Settings.self, from: text, strict: true)
        #expect(s.profiles == ["one.yaml"])
        #expect(s.labels?["anything"] == "goes")
        #expect(s.extra?["free"]?["form"]?[1]?.intValue == 2)
    }

    @Test func everyUnknownKeyIsCountedAndTheFirstInTheFileReported() throws {
        let text = "profiles: []\nslo: {tbtMs: 1, p99: 2}\nfoo: 1\nbar: 2\n"
        #expect {
            _ = try YAML.decode(Settings.self, from: text, strict: true)
        } throws: { error in
            let e = error as? YAMLError
            return e?.mark?.line == 2 && e?.message.contains(#"unknown field "p99""#) == true
                && e?.message.contains("(and 2 more: foo, bar)") == true
        }
        // Without positions (JSONValue.decode) the error lists them in decoding order.
        let value = try YAML.load(text)
        #expect {
            _ = try value.decode(Settings.self, strict: true)
        } throws: { error in
            let e = error as? UnknownFieldError
            return e?.fields.map(\.key).sorted() == ["bar", "foo", "p99"]
        }
    }

    @Test func mergedKeysAreCheckedToo() throws {
        let text = """
            base: &b {gpuType: h100, cnt: 3}
            profiles: []
            pools:
              - <<: *b
                count: 2
            """
        // `base` is unknown at the root and `cnt` (merged from the anchor) in pools[0].
        #expect {
            _ = try YAML.decode(Settings.self, from: text, strict: true)
        } throws: { error in
            let e = error as? YAMLError
            return e?.mark?.line == 1 && e?.message.contains(#"unknown field "base""#) == true
                && e?.message.contains("pools[0].cnt") == true
        }
    }

    @Test(arguments: [
        ("ttftMS", ["ttftMs", "tbtMs"], "ttftMs"),
        ("maxReplica", ["minReplicas", "maxReplicas"], "maxReplicas"),
        ("scaleTargteRef", ["scaleTargetRef"], "scaleTargetRef"),
        ("metricSources", ["metricsSources", "behavior"], "metricsSources"),
        ("zzz", ["ttftMs", "tbtMs"], nil),
        ("rate", ["kind", "peakRate"], nil),
    ])
    func suggestionsAreNearKeysOnly(key: String, candidates: [String], expected: String?) {
        #expect(KeySuggestion.nearest(to: key, in: candidates) == expected)
    }

    /// Kubernetes objects from files: every `metav1.ObjectMeta` field kube-apiserver accepts is valid, also
    /// those HeteroScale does not read; anything else under `metadata` is an unknown field, as kube-apiserver's
    /// strict field validation has it (`unknown field "metadata.lables"`).
    @Test func kubernetesMetadataAcceptsEveryObjectMetaFieldAndNothingElse() throws {
        let valid = """
            apiVersion: heteroscale.io/v1alpha1
            kind: PodAutoscaler
            metadata:
              name: pa
              generateName: pa-
              namespace: default
              selfLink: /apis/heteroscale.io/v1alpha1/namespaces/default/podautoscalers/pa
              uid: 0b6f2f7e-1
              resourceVersion: "42"
              generation: 3
              creationTimestamp: "2025-01-01T00:00:00Z"
              deletionTimestamp: "2025-01-02T00:00:00Z"
              deletionGracePeriodSeconds: 30
              labels: {app: llm}
              annotations: {kpa.autoscaling.aibrix.ai/scale-down-delay: 3m, note: anything}
              ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: u1, controller: true, blockOwnerDeletion: true}]
              finalizers: [example.com/keep]
              managedFields: [{manager: kubectl, operation: Apply, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {f:spec: {}}}]
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: m}
              maxReplicas: 4
              scalingStrategy: KPA
            status: {desiredScale: 2}
            """
        let pa = try YAML.decode(PodAutoscaler.self, from: valid, strict: true)
        #expect(pa.metadata.annotations?["note"] == "anything")
        let typo = valid.replacingOccurrences(of: "  labels: {app: llm}", with: "  lables: {app: llm}")
        #expect {
            _ = try YAML.decode(PodAutoscaler.self, from: typo, strict: true)
        } throws: { error in
            "\(error)" == #"line 14, column 3: metadata: unknown field "lables", did you mean "labels"?"#
        }
        let ownerTypo = valid.replacingOccurrences(of: "controller: true", with: "controler: true")
        #expect {
            _ = try YAML.decode(PodAutoscaler.self, from: ownerTypo, strict: true)
        } throws: { error in
            "\(error)".contains(#"metadata.ownerReferences[0]: unknown field "controler", did you mean "controller"?"#)
        }
    }

    @Test func aSubdocumentKeepsPositionsAndNamesTheFullPath() throws {
        let text = """
            policies:
              - name: a
                manifests:
                  - kind: PodAutoscaler
                    spec:
                      scaleTargetRef: {kind: Deployment, name: d}
                      maxReplicas: 3
                      scalingStrategy: HPA
                      minReplica: 1
            """
        let doc = try YAML.loadDocument(text)
        let manifest = try #require(doc.subdocument(at: [.key("policies"), .index(0), .key("manifests"), .index(0)]))
        #expect(manifest.value["kind"]?.stringValue == "PodAutoscaler")
        #expect {
            _ = try manifest.decode(PodAutoscaler.self, strict: true)
        } throws: { error in
            "\(error)" == #"line 9, column 11: policies[0].manifests[0].spec: unknown field "minReplica", did you mean "minReplicas"?"#
        }
        #expect(doc.subdocument(at: [.key("policies"), .index(3)]) == nil)
    }
    // MARK: The CRDs and the Swift types agree

    /// A value with every property the schema declares (first enum value, minimum, one array item, one map
    /// entry), so that strict decoding sees every field a user may write and `kubectl apply` accepts.
    static func maximal(_ schema: JSONValue) -> JSONValue {
        if schema["x-kubernetes-int-or-string"]?.boolValue == true { return "1" }
        // An untyped value (targetValue: a quantity as a string or a number).
        if schema["type"] == nil && schema["properties"] == nil && schema["x-kubernetes-preserve-unknown-fields"] != nil { return "1" }
        if let first = schema["enum"]?.arrayValue?.first { return first }
        switch schema["type"]?.stringValue {
        case "string":
            return schema["format"]?.stringValue == "date-time" ? "2025-01-01T00:00:00Z" : "1"
        case "integer": return .int(max(1, schema["minimum"]?.intValue ?? 1))
        case "number": return .double(max(1, schema["minimum"]?.doubleValue ?? 1))
        case "boolean": return true
        case "array": return [maximal(schema["items"] ?? [:])]
        default:
            var object = JSONObject()
            for e in schema["properties"]?.objectValue ?? JSONObject() { object[e.key] = maximal(e.value) }
            if let values = schema["additionalProperties"], values.objectValue != nil { object["key"] = maximal(values) }
            return .object(object)
        }
    }

    static func crdSchema(_ file: String) throws -> JSONValue {
        let url = YAMLRoundTripTests.repositoryRoot.appendingPathComponent("crds/\(file)")
        let crd = try YAML.load(try String(contentsOf: url, encoding: .utf8))
        return try #require(crd["spec"]?["versions"]?[0]?["schema"]?["openAPIV3Schema"])
    }

    /// `replay` and `simulate` decode manifests strictly: a field the CRD accepts but the Swift type does not
    /// know would make them refuse a manifest that `kubectl apply` takes.
    @Test(arguments: ["heteroscale.io_podautoscalers.yaml", "heteroscale.io_deploymentgroups.yaml"])
    func everyFieldOfTheCRDIsKnownToTheSwiftType(file: String) throws {
        var object = Self.maximal(try Self.crdSchema(file))
        object["metadata"] = ["name": "x", "labels": ["a": "b"]]
        let leaves = Self.leafCount(object)
        #expect(leaves > 30)
        if file.contains("podautoscalers") {
            _ = try object.decode(PodAutoscaler.self, strict: true)
        } else {
            _ = try object.decode(DeploymentGroup.self, strict: true)
        }
    }

    static func leafCount(_ v: JSONValue) -> Int {
        switch v {
        case .object(let o): return o.entries.reduce(0) { $0 + leafCount($1.value) }
        case .array(let a): return a.reduce(0) { $0 + leafCount($1) }
        default: return 1
        }
    }

    /// Every shipped sample manifest reads strictly (they are what users copy).
    @Test func everySampleManifestDecodesStrictly() throws {
        let dir = YAMLRoundTripTests.repositoryRoot.appendingPathComponent("samples/autoscaling")
        var decoded = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".yaml") {
            let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            for doc in try YAML.loadDocuments(text) {
                do {
                    switch doc.value["kind"]?.stringValue {
                    case "PodAutoscaler": _ = try doc.decode(PodAutoscaler.self, strict: true)
                    case "DeploymentGroup": _ = try doc.decode(DeploymentGroup.self, strict: true)
                    default: continue
                    }
                    decoded += 1
                } catch {
                    Issue.record("samples/autoscaling/\(name): \(error)")
                }
            }
        }
        #expect(decoded >= 10)
    }
}
