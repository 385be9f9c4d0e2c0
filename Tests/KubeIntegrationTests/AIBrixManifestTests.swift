import Autoscaling
import Foundation
import KubeAPI
import KubeClient
import Testing
import YAML

/// AIBrix's samples, with only `apiVersion` changed, are accepted by the PodAutoscaler CRD as kubectl sends them
/// (`fieldValidation=Strict`: an AIBrix field the schema lacked would be a 400 `strict decoding error`), and
/// stored without pruning anything (the schema's defaults may add fields).
@Suite(.serialized) struct AIBrixManifestTests {
    static let directory = "Tests/AutoscalingTests/Fixtures/aibrix"

    /// `sample` is within `stored`: every field of the sample is there with the same value.
    static func kept(_ sample: JSONValue, in stored: JSONValue?) -> Bool {
        guard let stored else { return false }
        if let object = sample.objectValue {
            return object.allSatisfy { kept($0.value, in: stored[$0.key]) }
        }
        if let array = sample.arrayValue, let storedArray = stored.arrayValue, array.count == storedArray.count {
            return zip(array, storedArray).allSatisfy { kept($0, in: $1) }
        }
        return sample == stored
    }

    @Test func everyAIBrixSampleIsAcceptedStrictlyAndKeptWhole() async throws {
        let files = ManifestFiles.yamlFiles(in: Self.directory)
        #expect(files.count >= 10)
        try await withCRDs { f in
            for file in files {
                let object = try #require(try ManifestFiles.documents(Self.directory, file).first)
                let (status, stored, warnings) = try await createStrictly(f.client, "/apis/heteroscale.io/v1alpha1/namespaces/default/podautoscalers", object)
                if file == "external-metrics-kpa.yaml" {
                    // An external.metrics.k8s.io source is refused at apply time, by the schema's enum.
                    #expect(status == 422)
                    #expect(stored["details"]?["causes"]?[0]?["field"] == "spec.metricsSources[0].metricSourceType")
                    continue
                }
                #expect(status == 201, "\(file): \(stored["message"]?.stringValue ?? "")")
                #expect(warnings.isEmpty, "\(file): \(warnings)")
                #expect(Self.kept(object["spec"] ?? .null, in: stored["spec"]), "\(file): \(stored["spec"] ?? .null)")
                if let annotations = object["metadata"]?["annotations"] {
                    #expect(Self.kept(annotations, in: stored["metadata"]?["annotations"]), "\(file)")
                }
            }
        }
    }
}
