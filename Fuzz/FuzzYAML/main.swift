import FuzzDriver
import KubeAPI
import YAML

/// The YAML loader (libyaml → JSONValue), all documents; what loads also decodes strictly into the CRD types
/// or fails with an error, never a crash.
@_cdecl("FuzzYAML_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        guard let docs = try? YAML.loadAll(bytes) else { return }
        for doc in docs {
            _ = try? doc.decode(PodAutoscaler.self)
            _ = try? doc.decode(DeploymentGroup.self)
        }
        _ = try? YAML.decode(PodAutoscaler.self, from: bytes, strict: true)
    }
}
