import Foundation
import Testing
import YAML

struct MiniAutoscaler: Codable, Equatable {
    struct Metadata: Codable, Equatable {
        var name: String
        var labels: [String: String]?
    }
    struct Source: Codable, Equatable {
        var targetMetric: String
        var targetValue: Double
        var port: UInt16?
    }
    struct Spec: Codable, Equatable {
        var minReplicas: Int32
        var maxReplicas: Int32
        var scalingStrategy: String
        var metricsSources: [Source]
        var paused: Bool?
    }
    var apiVersion: String
    var kind: String
    var metadata: Metadata
    var spec: Spec
}

enum Strategy: Codable, Equatable {
    case fixed(replicas: Int)
    case ratio(prefill: Double, decode: Double)
    case none
}

class Base: Codable {
    var id: Int
    init(id: Int) { self.id = id }
}

final class Derived: Base {
    var extra: String
    init(id: Int, extra: String) {
        self.extra = extra
        super.init(id: id)
    }
    enum CodingKeys: String, CodingKey { case extra }
    required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        extra = try c.decode(String.self, forKey: .extra)
        try super.init(from: c.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(extra, forKey: .extra)
        try super.encode(to: c.superEncoder())
    }
}

@Suite("Codable through YAML and JSONValue")
struct CodableTests {
    static let manifest = """
        apiVersion: heteroscale.io/v1alpha1
        kind: PodAutoscaler
        metadata:
          name: demo
        spec:
          maxReplicas: 5
          minReplicas: "two"
          scalingStrategy: HPA
          metricsSources: []
        """

    @Test func decodeAndEncode() throws {
        let text = Self.manifest.replacingOccurrences(of: "\"two\"", with: "1")
            .replacingOccurrences(
                of: "metricsSources: []",
                with: "metricsSources:\n  - {targetMetric: kv_cache_usage_perc, targetValue: 0.5, port: 8000}")
        let pa = try YAML.decode(MiniAutoscaler.self, from: text)
        #expect(pa.spec.minReplicas == 1)
        #expect(pa.spec.metricsSources.first?.port == 8000)
        #expect(pa.metadata.labels == nil)
        let yaml = try YAML.encode(pa)
        #expect(
            yaml == """
                apiVersion: heteroscale.io/v1alpha1
                kind: PodAutoscaler
                metadata:
                  name: demo
                spec:
                  minReplicas: 1
                  maxReplicas: 5
                  scalingStrategy: HPA
                  metricsSources:
                  - targetMetric: kv_cache_usage_perc
                    targetValue: 0.5
                    port: 8000

                """)
        #expect(try YAML.decode(MiniAutoscaler.self, from: yaml) == pa)
    }

    @Test func typeMismatchNamesPathAndLine() throws {
        let error = try #require(throws: YAMLError.self) {
            try YAML.decode(MiniAutoscaler.self, from: Self.manifest)
        }
        #expect(error.path == "spec.minReplicas")
        #expect(error.mark == YAMLMark(line: 7, column: 16))
        #expect(error.description == "line 7, column 16: spec.minReplicas: expected an integer, found string \"two\"")
    }

    @Test func missingFieldNamesPathAndLine() throws {
        let text = Self.manifest.replacingOccurrences(of: "  maxReplicas: 5\n", with: "")
            .replacingOccurrences(of: "\"two\"", with: "2")
        let error = try #require(throws: YAMLError.self) { try YAML.decode(MiniAutoscaler.self, from: text) }
        #expect(error.path == "spec.maxReplicas")
        #expect(error.mark == YAMLMark(line: 6, column: 3))
        #expect(error.description.contains("spec.maxReplicas: missing required field"))
    }

    @Test func nestedArrayErrorPath() throws {
        let text = Self.manifest.replacingOccurrences(of: "\"two\"", with: "2")
            .replacingOccurrences(
                of: "metricsSources: []",
                with: """
                    metricsSources:
                      - {targetMetric: a, targetValue: 1}
                      - {targetMetric: b, targetValue: 2, port: 70000}
                    """)
        let error = try #require(throws: YAMLError.self) { try YAML.decode(MiniAutoscaler.self, from: text) }
        #expect(error.path == "spec.metricsSources[1].port")
        #expect(error.mark == YAMLMark(line: 11, column: 45))
        #expect(error.message.contains("does not fit in UInt16"))
    }

    @Test func nullAndWrongKinds() throws {
        let e1 = try #require(throws: YAMLError.self) {
            try YAML.decode(MiniAutoscaler.Metadata.self, from: "name: ~\n")
        }
        #expect(e1.description == "line 1, column 7: name: expected a string, found null")
        let e2 = try #require(throws: YAMLError.self) {
            try YAML.decode(MiniAutoscaler.Metadata.self, from: "name: x\nlabels: [a]\n")
        }
        #expect(e2.description == "line 2, column 9: labels: expected an object, found array")
        let e3 = try #require(throws: YAMLError.self) { try YAML.decode([Int].self, from: "[1, 2.5]") }
        #expect(e3.description == "line 1, column 5: [1]: expected an integer, found number 2.5")
        // Parse errors come through unchanged.
        let e4 = try #require(throws: YAMLError.self) { try YAML.decode([Int].self, from: "[1, 2") }
        #expect(e4.path == nil)
    }

    @Test func decodingFromJSONValue() throws {
        let v: JSONValue = ["name": "x", "labels": ["a": "b"]]
        let m = try v.decode(MiniAutoscaler.Metadata.self)
        #expect(m == MiniAutoscaler.Metadata(name: "x", labels: ["a": "b"]))
        let error = try #require(throws: DecodingError.self) { try (["name": 5] as JSONValue).decode(MiniAutoscaler.Metadata.self) }
        #expect(error.fieldPath == "name")
        #expect(error.summary == "name: expected a string, found integer 5")
        #expect(try JSONValue(encoding: m) == v)
    }

    @Test func numbersConvert() throws {
        #expect(try JSONValue.double(3).decode(Int.self) == 3)
        #expect(try JSONValue.int(3).decode(Double.self) == 3)
        #expect(try JSONValue.double(0.1).decode(Float.self) == 0.1)
        #expect(throws: DecodingError.self) { try JSONValue.int(300).decode(UInt8.self) }
        #expect(throws: DecodingError.self) { try JSONValue.int(-1).decode(UInt.self) }
        #expect(throws: DecodingError.self) { try JSONValue.double(1e300).decode(Int64.self) }
        #expect(throws: DecodingError.self) { try JSONValue.string("1").decode(Int.self) }
        #expect(throws: DecodingError.self) { try JSONValue.int(1).decode(Bool.self) }
        #expect(try JSONValue(encoding: Float(0.1)) == .double(0.1))
        #expect(try JSONValue(encoding: UInt64.max) == .double(Double(UInt64.max)))
        #expect(try JSONValue(encoding: Int8(-5)) == .int(-5))
    }

    @Test func keysKeepDeclarationOrderAndNilsAreOmitted() throws {
        let source = MiniAutoscaler.Source(targetMetric: "m", targetValue: 2, port: nil)
        let v = try JSONValue(encoding: source)
        #expect(v.objectValue?.keys == ["targetMetric", "targetValue"])
        #expect(identical(v["targetValue"]!, .double(2)))
        #expect(try v.jsonString() == #"{"targetMetric":"m","targetValue":2.0}"#)
    }

    @Test func foundationTypes() throws {
        struct Stamped: Codable, Equatable {
            var at: Date
            var payload: Data
            var url: URL
        }
        let s = Stamped(
            at: Date(timeIntervalSince1970: 1_700_000_000.25), payload: Data("hello".utf8),
            url: URL(string: "https://example.com/x?y=1")!)
        let v = try JSONValue(encoding: s)
        #expect(v["at"] == "2023-11-14T22:13:20.25Z")
        #expect(v["payload"] == "aGVsbG8=")
        #expect(v["url"] == "https://example.com/x?y=1")
        #expect(try v.decode(Stamped.self) == s)
        let whole = try JSONValue(encoding: Date(timeIntervalSince1970: 0))
        #expect(whole == "1970-01-01T00:00:00Z")
        let offset = try JSONValue.string("2024-02-29T12:00:00+02:00").decode(Date.self)
        #expect(offset == Date(timeIntervalSince1970: 1_709_200_800))
        #expect(try JSONValue.string("1969-12-31T23:59:59Z").decode(Date.self) == Date(timeIntervalSince1970: -1))
        #expect(throws: DecodingError.self) { try JSONValue.string("2023-02-29T00:00:00Z").decode(Date.self) }
        #expect(throws: DecodingError.self) { try JSONValue.string("yesterday").decode(Date.self) }
        #expect(throws: DecodingError.self) { try JSONValue.string("!!").decode(Data.self) }
    }

    @Test func enumsClassesAndNestedValues() throws {
        for s in [Strategy.fixed(replicas: 3), .ratio(prefill: 1, decode: 2.5), .none] {
            let text = try YAML.encode(s)
            #expect(try YAML.decode(Strategy.self, from: text) == s)
        }
        let d = Derived(id: 7, extra: "x")
        let v = try JSONValue(encoding: d)
        #expect(identical(v, ["extra": "x", "super": ["id": 7]]))
        let back = try v.decode(Derived.self)
        #expect(back.id == 7 && back.extra == "x")
    }

    @Test func jsonValueFieldsKeepTheSubtree() throws {
        struct Wrapper: Codable {
            var name: String
            var raw: JSONValue
            var object: JSONObject?
        }
        let text = "name: w\nraw: {z: 1, a: [true, null, 1.5]}\nobject: {y: 2, b: 1}\n"
        let w = try YAML.decode(Wrapper.self, from: text)
        #expect(identical(w.raw, ["z": 1, "a": [true, nil, 1.5]]))
        #expect(w.object?.keys == ["y", "b"])
        #expect(try YAML.load(YAML.encode(w)) == (try YAML.load(text)))
    }

    @Test func dictionariesAndOptionals() throws {
        let text = "a: 1\nb: null\nc: 3\n"
        let d = try YAML.decode([String: Int?].self, from: text)
        #expect(d["a"] == .some(1))
        #expect(d["b"] == .some(nil))
        let e = try #require(throws: YAMLError.self) { try YAML.decode([String: Int].self, from: "a: 1\nb: x\n") }
        #expect(e.path == "b")
        #expect(e.mark == YAMLMark(line: 2, column: 4))
    }

    @Test func documentDecode() throws {
        let docs = try YAML.loadDocuments("name: a\n---\nname: 5\n")
        #expect(try docs[0].decode(MiniAutoscaler.Metadata.self).name == "a")
        let error = try #require(throws: YAMLError.self) { try docs[1].decode(MiniAutoscaler.Metadata.self) }
        #expect(error.mark == YAMLMark(line: 3, column: 7))
    }
}
