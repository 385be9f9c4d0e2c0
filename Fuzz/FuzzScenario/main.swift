import FuzzDriver
import Simulation

/// The scenario loader of `heteroscale simulate`: `ScenarioSpec.parse` (strict YAML decoding; unknown keys
/// and bad values are errors with a position, never traps), then `validate` (SLO checks; the files it names
/// are looked up under a nonexistent folder, so it reports them missing).
@_cdecl("FuzzScenario_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        guard let text = String(validating: bytes, as: UTF8.self), let spec = try? ScenarioSpec.parse(text) else { return }
        _ = try? spec.validate(baseDirectory: "/nonexistent-fuzz")
    }
}
