import FuzzDriver
import KubeAPI
import YAML

/// The YAML loader (libyaml events → `JSONValue`), every document of a stream, as `kubectl apply -f`-style
/// input reaches it: malformed input throws `YAMLError`, never traps. Loading with and without source
/// positions gives the same values; `dumpAll` of what loaded loads back to the same values; each document
/// decodes strictly into the CRD types or fails with an error (whose position lookup runs too).
@_cdecl("FuzzYAML_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        guard let docs = try? YAML.loadDocuments(bytes) else { return }
        let values = docs.map(\.value)
        guard let plain = try? YAML.loadAll(bytes) else { fatalError("loads with positions but not without") }
        precondition(plain == values, "loading with positions changed the values")
        let text = YAML.dumpAll(values)
        guard let again = try? YAML.loadAll(text) else { fatalError("the dump does not load:\n\(text)") }
        precondition(again == values, "the dump round trip changed the values:\n\(text)")
        for doc in docs {
            _ = try? doc.decode(PodAutoscaler.self, strict: true)
            _ = try? doc.decode(DeploymentGroup.self, strict: true)
            _ = doc.mark(at: "spec.scaleTargetRef.name")
        }
    }
}
